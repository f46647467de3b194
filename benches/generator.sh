#!/usr/bin/env bash
# Benchmark of quadplay-generator: a tree of 1,000+ mixed Quadlet units (networks, volumes, pods,
# containers, kubes, images, builds) with drop-ins of every kind, generated RUNS times by the release
# binary. Prints wall time per run (min/median/max) and the peak RSS, next to the I/O floor: `cp -a`
# of the same output tree (one process that only writes the same files and links). Fails if a run
# fails or writes the wrong number of services. Not a test: figures only.
#
#   benches/generator.sh [GROUPS] [RUNS]     (default 150 groups x 7 units = 1,050 units, 20 runs)
#   GEN=/path/to/quadplay-generator benches/generator.sh    (skip the build)
set -euo pipefail
groups=${1:-150}
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
  cat > "$d/app$i.image" <<UNIT
[Image]
Image=registry.example.org/app$i/web:1
ImageTag=localhost/app$i-web:current
UNIT
  cat > "$d/app$i.build" <<UNIT
[Build]
ImageTag=localhost/app$i-tools:latest
File=Containerfile.app$i
SetWorkingDirectory=unit
Volume=app$i.volume:/cache
UNIT
  # Half the containers run the pulled image, half the built one.
  image=app$i.image
  ((i % 2 == 0)) || image=app$i.build
  cat > "$d/app$i-web.container" <<UNIT
[Unit]
Description=web of app$i
[Container]
Image=$image
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
for t in container kube network volume pod image build; do
  mkdir -p "$units/$t.d"
  printf '[Unit]\nDocumentation=https://example.invalid/%s\n' "$t" > "$units/$t.d/50-docs.conf"
  dropin_files=$((dropin_files + 1))
done
total=$((groups * 7))
echo "tree: $total units ($groups networks, volumes, pods, containers, kubes, images and builds) and $dropin_files drop-in files"

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
    return statistics.median(walls)

def floor(reference):
    """`cp -a` of a finished output tree: the cost of only writing the same files and links."""
    walls, cpus, rss = [], [], []
    for r in range(runs):
        out = os.path.join(tmp, f"floor{r}")
        cmd = ["/usr/bin/time", "-f", "%U %S %M", "-o", tfile, "cp", "-a", reference, out]
        start = time.perf_counter()
        subprocess.run(cmd, check=True)
        walls.append((time.perf_counter() - start) * 1000)
        user, system, kib = open(tfile).read().split()[-3:]
        cpus.append((float(user) + float(system)) * 1000)
        rss.append(int(kib))
        subprocess.run(["rm", "-rf", out], check=True)
    walls.sort()
    print(f"  wall ms: min {walls[0]:.1f}  median {statistics.median(walls):.1f}  max {walls[-1]:.1f}")
    print(f"  cpu ms (user+sys, 10 ms ticks): median {statistics.median(cpus):.0f}  max {max(cpus):.0f}")
    print(f"  peak RSS: {max(rss) / 1024:.1f} MiB")
    return statistics.median(walls)

print(f"generator: {gen} ({os.path.getsize(gen) // 1024} KiB); {runs} runs, {total} services each")
podman = "installed" if os.access("/usr/bin/podman", os.X_OK) else "NOT installed"
print(f"as at boot (Podman {podman}; the version comes from the package database, no podman exec):")
boot = measure(base)
print("Podman version pinned (QUADPLAY_PODMAN_VERSION=4.3.1):")
pinned = measure(dict(base, QUADPLAY_PODMAN_VERSION="4.3.1"))
ref = os.path.join(tmp, "reference")
subprocess.run([gen, "-no-kmsg-log", ref], env=base, check=True, stderr=subprocess.DEVNULL)
print("I/O floor (cp -a of the same output tree):")
io = floor(ref)
print(f"ratio to the floor (median wall): as at boot {boot / io:.2f}x, pinned {pinned / io:.2f}x"
      f"  (min wall: see above; on a busy machine the medians measure the scheduler)")
PY
