#!/usr/bin/env bash
# Benchmark of quadplay-generator: a tree of 1,000+ mixed Quadlet units (networks, volumes, pods,
# containers, kubes, images, builds) with drop-ins of every kind, generated RUNS times by the release
# binary. Prints wall time per run (min/median/max), CPU time and peak RSS, next to the I/O floors
# measured in the same rounds (benches/io_floor.c, built with cc): `write` makes the same output
# tree (same directories, files, bytes and symlinks) and does nothing else; `read+write` first reads
# every input unit file, as any generator must. `cp -a` of the output tree is shown for reference,
# and the floor as issue 11 words it, "a script that only writes the same files": a bash script
# (builtin printf per file, contents inline) and the same as a python3 script. Each floor is
# checked once to make exactly the generator's tree.
# Every round runs each contender once, in turn, so that the machine's load falls on all of them
# alike; the load average is printed with the figures, and the paired ratio (median over rounds of
# generator/floor) is the figure to quote on a busy machine. Fails if a run fails or writes the
# wrong number of services. Not a test: figures only.
#
#   benches/generator.sh [GROUPS] [RUNS]     (default 150 groups x 7 units = 1,050 units, 20 runs)
#   GEN=/path/to/quadplay-generator benches/generator.sh    (skip the build)
#   BASELINE=/path/to/older/quadplay-generator benches/generator.sh   (before/after in the same
#       rounds: the older binary runs as one more contender, as at boot, its output checked too)
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
cc -O2 -o "$tmp/io_floor" "$repo/benches/io_floor.c"
python3 - "$GEN" "$units" "$outs" "$runs" "$total" "$tmp/io_floor" "${BASELINE:-}" <<'PY'
import os, statistics, subprocess, sys, time
gen, units, tmp, runs, total, io_floor, baseline = sys.argv[1:8]
runs, total = int(runs), int(total)
base = {"QUADLET_UNIT_DIRS": units, "PODMAN": "/usr/bin/podman", "QUADPLAY": "/usr/bin/quadplay"}
tfile = os.path.join(tmp, "time")

def describe(root, dest, argv0=None):
    """The output tree as io_floor's TREE records, parents before children (a header naming
    `argv0` as the program that generated the files is read as naming `gen`)."""
    with open(dest, "wb") as f:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            rel = os.path.relpath(dirpath, root)
            if rel != ".":
                f.write(f"d {rel}\n".encode())
            for name in sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]):
                path = os.path.join(dirpath, name)
                relname = os.path.normpath(os.path.join(rel, name))
                if os.path.islink(path):
                    f.write(f"l {relname}\t{os.readlink(path)}\n".encode())
                else:
                    data = open(path, "rb").read()
                    if argv0:
                        data = data.replace(f"generated by {argv0}\n".encode(), f"generated by {gen}\n".encode())
                    f.write(f"f {relname}\t{len(data)}\n".encode() + data)

def services(out):
    return sum(1 for n in os.listdir(out) if n.endswith(".service"))

def run_once(name, argv, env, out):
    """Wall ms, CPU ms and peak RSS KiB of one run. GNU time reports the peak RSS of the
    program alone (Python's own pages would count in a child forked from it); the CPU time
    comes from wait4's rusage of that time process (it and the program: GNU time's own share is
    a fraction of a millisecond), which is exact where time's own print is in 10 ms ticks."""
    start = time.perf_counter()
    proc = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", tfile] + argv,
                            env=env, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - start) * 1000
    err = proc.stderr.read().decode()
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{name}: exit {proc.returncode}: {err[-2000:]}")
    if services(out) != total:
        sys.exit(f"{name}: {services(out)} services written, expected {total}")
    kib = open(tfile).read().split()[-1]
    subprocess.run(["rm", "-rf", out], check=True)
    return wall, (usage.ru_utime + usage.ru_stime) * 1000, int(kib)

print(f"generator: {gen} ({os.path.getsize(gen) // 1024} KiB); {runs} rounds, {total} services each")
podman = "installed" if os.access("/usr/bin/podman", os.X_OK) else "NOT installed"
ref = os.path.join(tmp, "reference")
subprocess.run([gen, "-no-kmsg-log", ref], env=base, check=True, stderr=subprocess.DEVNULL)
tree = os.path.join(tmp, "tree")
describe(ref, tree)

def entries(root):
    """(kind, relative path, data or link target) of the output tree, parents before children."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel = os.path.relpath(dirpath, root)
        if rel != ".":
            yield "d", rel, None
        for name in sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]):
            path = os.path.join(dirpath, name)
            relname = os.path.normpath(os.path.join(rel, name))
            if os.path.islink(path):
                yield "l", relname, os.readlink(path)
            else:
                yield "f", relname, open(path, "rb").read().decode()

def bash_floor(root, dest):
    """The issue's own floor, literally: a script that only writes the same files. Bash, with
    the contents inline: `printf` is a builtin (no process per file); the directories are made
    by one `mkdir -p` and the links by one `ln -s` per directory (links named as their target)."""
    q = lambda s: "'" + s.replace("'", "'\\''") + "'"
    dirs, files, batched, single = [], [], {}, []
    for kind, rel, data in entries(root):
        if kind == "d":
            dirs.append(rel)
        elif kind == "f":
            files.append(f"printf '%s' {q(data)} > {q(rel)}")
        elif os.path.basename(data) == os.path.basename(rel):
            batched.setdefault(os.path.dirname(rel) or ".", []).append(data)
        else:
            single.append(f"ln -s {q(data)} {q(rel)}")
    lines = ["set -e", 'mkdir -p "$1"', 'cd "$1"']
    if dirs:
        lines.append("mkdir -p " + " ".join(q(d) for d in dirs))
    lines += files
    lines += [f"ln -s {' '.join(q(t) for t in ts)} {q(d)}/" for d, ts in batched.items()]
    lines += single
    with open(dest, "w") as f:
        f.write("\n".join(lines) + "\n")

def python_floor(root, dest):
    """The same floor as a Python script: contents inline, open/write, os.symlink, os.mkdir."""
    lines = ["import os, sys", "os.makedirs(sys.argv[1])", "os.chdir(sys.argv[1])"]
    for kind, rel, data in entries(root):
        if kind == "d":
            lines.append(f"os.mkdir({rel!r})")
        elif kind == "f":
            lines.append(f"open({rel!r}, 'w').write({data!r})")
        else:
            lines.append(f"os.symlink({data!r}, {rel!r})")
    with open(dest, "w") as f:
        f.write("\n".join(lines) + "\n")

bash_script, python_script = os.path.join(tmp, "floor.sh"), os.path.join(tmp, "floor.py")
bash_floor(ref, bash_script)
python_floor(ref, python_script)
out = os.path.join(tmp, "out")
contenders = [
    (f"generator as at boot (Podman {podman}; version from the package database, no exec)",
     [gen, "-no-kmsg-log", out], base),
    ("generator, version pinned (QUADPLAY_PODMAN_VERSION=4.3.1)",
     [gen, "-no-kmsg-log", out], dict(base, QUADPLAY_PODMAN_VERSION="4.3.1")),
    ("floor: write the same tree (io_floor write)", [io_floor, "write", tree, out], base),
    ("floor: read the inputs, write the same tree (io_floor read+write)",
     [io_floor, "read+write", tree, out, units], base),
    ("reference: cp -a of the output tree", ["cp", "-a", ref, out], base),
    ("floor as the issue words it: a bash script that only writes the same files",
     ["bash", bash_script, out], base),
    ("the same floor as a python3 script", ["python3", python_script, out], base),
]
if baseline:
    contenders.append((f"baseline generator {baseline}, as at boot", [baseline, "-no-kmsg-log", out], base))
# Every floor (and the baseline) must make exactly the generator's tree (names, bytes, links).
for name, argv, env in contenders[2:]:
    subprocess.run(argv, env=env, check=True)
    check = os.path.join(tmp, "check")
    describe(out, check, argv[0] if argv[0] == baseline else None)
    if open(check, "rb").read() != open(tree, "rb").read():
        sys.exit(f"{name}: does not make the generator's output tree")
    subprocess.run(["rm", "-rf", out], check=True)
results = [[] for _ in contenders]
load_before = os.getloadavg()
for r in range(runs):
    for i, (name, argv, env) in enumerate(contenders):
        results[i].append(run_once(name, argv, env, out))
load_after = os.getloadavg()
print("load average (1, 5, 15 min): before {:.2f} {:.2f} {:.2f}, after {:.2f} {:.2f} {:.2f}  ({} cores)"
      .format(*load_before, *load_after, os.cpu_count()))
for (name, _, _), res in zip(contenders, results):
    walls = sorted(w for w, _, _ in res)
    print(f"{name}:")
    print(f"  wall ms: min {walls[0]:.1f}  median {statistics.median(walls):.1f}  max {walls[-1]:.1f}"
          f"  ({statistics.median(walls) * 1000 / total:.0f} us per unit, median run)")
    cpus = sorted(c for _, c, _ in res)
    print(f"  cpu ms (user+sys): min {cpus[0]:.1f}  median {statistics.median(cpus):.1f}"
          f"  max {cpus[-1]:.1f};  peak RSS {max(k for _, _, k in res) / 1024:.1f} MiB")

def ratio(a, b):
    paired = statistics.median(x[0] / y[0] for x, y in zip(results[a], results[b]))
    medians = statistics.median(x[0] for x in results[a]) / statistics.median(y[0] for y in results[b])
    mins = min(x[0] for x in results[a]) / min(y[0] for y in results[b])
    cpu = statistics.median(x[1] for x in results[a]) / statistics.median(y[1] for y in results[b])
    return (f"wall paired {paired:.2f}x, of medians {medians:.2f}x, of minima {mins:.2f}x;"
            f" cpu of medians {cpu:.2f}x")
anchors = ((2, "C write floor"), (3, "C read+write floor"), (4, "cp -a"), (5, "bash script floor"),
           (6, "python3 script floor"))
generators = [(0, "as at boot"), (1, "pinned")]
if baseline:
    generators.append((7, "baseline"))
    print(f"ratio as at boot / baseline: {ratio(0, 7)}")
for g, gname in generators:
    for a, aname in anchors:
        print(f"ratio {gname} / {aname}: {ratio(g, a)}")
PY
