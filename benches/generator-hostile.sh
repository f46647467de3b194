#!/usr/bin/env bash
# Benchmark of quadplay-generator on hostile and huge input (issue 13): for each case, the wall
# time, peak RSS and exit status of one run of the release binary, and how many bytes it wrote to
# stderr. Not a test: figures only (the behaviour is tested in tests/generator_bounds.rs).
#
#   benches/generator-hostile.sh
#   GEN=/path/to/quadplay-generator benches/generator-hostile.sh    (skip the build)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${GEN:-}" ]; then
  cargo build --release --quiet --bin quadplay-generator --manifest-path "$repo/Cargo.toml"
  GEN=${CARGO_TARGET_DIR:-$repo/target}/release/quadplay-generator
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# case NAME SETUP: SETUP fills $tmp/NAME/units; the run searches it (or $DIRS when set).
case_dir() { mkdir -p "$tmp/$1/units"; echo "$tmp/$1/units"; }
good() { printf '[Kube]\nYaml=app.yaml\n' > "$1/good.kube"; }
run() {
  local name=$1 dirs=$2
  local out=$tmp/$name/out err=$tmp/$name/stderr
  local t0 t1 status
  t0=$(date +%s%N)
  status=0
  /usr/bin/time -f '%M' -o "$tmp/$name/rss" env -i QUADLET_UNIT_DIRS="$dirs" \
    QUADPLAY_PODMAN_VERSION=4.3.1 "$GEN" -no-kmsg-log "$out" 2>"$err" || status=$?
  t1=$(date +%s%N)
  printf '%-34s %8.3f s %8s KiB  exit %s  stderr %s bytes  services %s\n' "$name" \
    "$(echo "($t1 - $t0) / 1000000000" | bc -l)" "$(tail -1 "$tmp/$name/rss")" "$status" \
    "$(wc -c < "$err")" "$(find "$out" -maxdepth 1 -name '*.service' 2>/dev/null | wc -l)"
}

d=$(case_dir groups-100000); good "$d"
python3 -c 'import sys; sys.stdout.write("[Kube]\nYaml=app.yaml\n" + "".join("[X-%d]\n" % i for i in range(100000)))' > "$d/many.kube"
run groups-100000 "$d"

d=$(case_dir keys-50000-service); good "$d"
python3 -c 'import sys; sys.stdout.write("[Kube]\nYaml=app.yaml\n[Service]\n" + "".join("Environment=K%d=v\n" % i for i in range(50000)))' > "$d/many.kube"
run keys-50000-service "$d"

d=$(case_dir keys-50000-unit-deps); good "$d"
python3 -c 'import sys; sys.stdout.write("[Kube]\nYaml=app.yaml\n[Unit]\n" + "".join("After=a%d.service\n" % i for i in range(50000)))' > "$d/many.kube"
run keys-50000-unit-deps "$d"

d=$(case_dir file-1.5GB-sparse); good "$d"
truncate -s 1500000000 "$d/big.container"
run file-1.5GB-sparse "$d"

d=$(case_dir line-900KB-bad); good "$d"
python3 -c 'import sys; sys.stdout.write("[Kube]\n" + "x" * 900000 + "\n")' > "$d/bad.kube"
run line-900KB-bad "$d"

d=$(case_dir unit-dirs-proc); good "$d"
run unit-dirs-proc "/proc:$d"

d=$(case_dir symlink-to-root); good "$d"
ln -s / "$d/root"
run symlink-to-root "$d"

d=$(case_dir dirs-deep-wide); good "$d"
for i in $(seq 1 200); do mkdir -p "$d/w$i/$(printf 'd/%.0s' $(seq 1 20))"; done
run dirs-deep-wide "$d"
