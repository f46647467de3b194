#!/usr/bin/env bash
# Benchmark of quadplay-generator: a tree of 1,000+ mixed Quadlet units (networks, volumes, pods,
# containers, kubes) with drop-ins of every kind, generated RUNS times by the release binary.
# Prints wall time per run (min/median/max) and the peak RSS; fails if a run fails or writes
# the wrong number of services. Not a test: figures only.
#
#   benches/generator.sh [GROUPS] [RUNS]     (default 210 groups x 5 units = 1,050 units, 20 runs)
#   GEN=/path/to/quadplay-generator benches/generator.sh    (skip the build)
set -euo pipefail
groups=${1:-210}
runs=${2:-20}
repo=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${GEN:-}" ]; then
  cargo build --release --quiet --bin quadplay-generator --manifest-path "$repo/Cargo.toml"
  GEN=${CARGO_TARGET_DIR:-$repo/target}/release/quadplay-generator
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
units=$tmp/units

# Ten sub-directories (the walk recurses), five units per group spread over them.
dropin_files=0
for ((i = 0; i < groups; i++)); do
  d=$units/team$((i % 10))
  mkdir -p "$d"
  cat > "$d/app$i.network" <<UNIT
[Network]
Subnet=10.$((i / 250)).$((i % 250)).0/24
UNIT
  cat > "$d/app$i.volume" <<UNIT
[Volume]
Label=app=app$i
UNIT
  cat > "$d/app$i.pod" <<UNIT
[Pod]
Network=app$i.network
PublishPort=$((20000 + i)):80
UNIT
  cat > "$d/app$i-web.container" <<UNIT
[Unit]
Description=web of app$i
[Container]
Image=localhost/busybox:latest
Pod=app$i.pod
Volume=app$i.volume:/data
Environment=APP=app$i
Exec=httpd -f -p 80
[Install]
WantedBy=default.target
UNIT
  cat > "$d/app$i.kube" <<UNIT
[Kube]
Yaml=app$i.yaml
Network=app$i.network
[Install]
WantedBy=default.target
UNIT
  # Per-unit and dash-truncated drop-ins for every third group.
  if ((i % 3 == 0)); then
    mkdir -p "$d/app$i-web.container.d" "$d/app$i-.container.d"
    printf '[Container]\nEnvironment=TIER=web\n' > "$d/app$i-web.container.d/10-tier.conf"
    printf '[Unit]\nDescription=overridden\n' > "$d/app$i-.container.d/20-desc.conf"
    dropin_files=$((dropin_files + 2))
  fi
done
# Type-wide drop-ins that every unit of the type reads.
for t in container kube network volume pod; do
  mkdir -p "$units/$t.d"
  printf '[Unit]\nDocumentation=https://example.invalid/%s\n' "$t" > "$units/$t.d/50-docs.conf"
  dropin_files=$((dropin_files + 1))
done
total=$((groups * 5))
echo "tree: $total units ($groups networks, volumes, pods, containers and kubes) and $dropin_files drop-in files"

# systemd's generator dirs are on /run, a tmpfs: write the output to a tmpfs too (OUT_BASE overrides),
# or every fsync of the atomic writes would measure the disk instead of the generator.
out_base=${OUT_BASE:-/dev/shm}
[ -d "$out_base" ] && [ -w "$out_base" ] || out_base=$tmp
outs=$(mktemp -d -p "$out_base")
trap 'rm -rf "$tmp" "$outs"' EXIT
echo "output under $out_base ($(stat -f -c %T "$out_base"))"

[ -x /usr/bin/time ] || { echo "benches/generator.sh needs GNU time (/usr/bin/time, package time)" >&2; exit 1; }
python3 - "$GEN" "$units" "$outs" "$runs" "$total" <<'PY'
import os, statistics, subprocess, sys, time
gen, units, tmp, runs, total = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
base = {"QUADLET_UNIT_DIRS": units, "PODMAN": "/usr/bin/podman", "QUADPLAY": "/usr/bin/quadplay"}
tfile = os.path.join(tmp, "time")

def measure(env, rss_note=""):
    walls, cpus, rss = [], [], []
    for r in range(runs):
        out = os.path.join(tmp, f"out{r}")
        # GNU time reports the generator's own CPU time and peak RSS (getrusage of a child
        # forked from Python would count Python's pages in the peak).
        cmd = ["/usr/bin/time", "-f", "%U %S %M", "-o", tfile, gen, "-no-kmsg-log", out]
        start = time.perf_counter()
        proc = subprocess.run(cmd, env=env, stderr=subprocess.PIPE)
        walls.append((time.perf_counter() - start) * 1000)
        if proc.returncode != 0:
            sys.exit(f"run {r}: exit {proc.returncode}: {proc.stderr.decode()[-2000:]}")
        user, system, kib = open(tfile).read().split()[-3:]
        cpus.append((float(user) + float(system)) * 1000)
        rss.append(int(kib))
        written = sum(1 for n in os.listdir(out) if n.endswith(".service"))
        if written != total:
            sys.exit(f"run {r}: {written} services written, expected {total}")
        subprocess.run(["rm", "-rf", out], check=True)
    walls.sort()
    print(f"  wall ms: min {walls[0]:.1f}  median {statistics.median(walls):.1f}  max {walls[-1]:.1f}"
          f"  ({statistics.median(walls) * 1000 / total:.0f} us per unit, median run)")
    print(f"  cpu ms (user+sys, 10 ms ticks): median {statistics.median(cpus):.0f}  max {max(cpus):.0f}")
    print(f"  peak RSS: {max(rss) / 1024:.1f} MiB{rss_note}")

print(f"generator: {gen} ({os.path.getsize(gen) // 1024} KiB); {runs} runs, {total} services each")
if os.access("/usr/bin/podman", os.X_OK):
    print("as at boot (asks /usr/bin/podman --version once, for the networks and volumes):")
    measure(base, " (the larger of the generator and its podman child)")
print("Podman version pinned (QUADPLAY_PODMAN_VERSION=4.3.1, no podman exec):")
measure(dict(base, QUADPLAY_PODMAN_VERSION="4.3.1"))
PY
