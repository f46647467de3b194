#!/bin/bash
# Runs one fuzz target for a fixed time, politely (nice 19), and keeps going past findings
# (libFuzzer fork mode: crashes, OOMs and timeouts are saved to fuzz/artifacts/TARGET/ and the
# campaign continues). The process runs in a private mount namespace where / is read-only
# except the corpus, the artifacts and a scratch dir, so that a path escape found by the
# generator target cannot touch the machine (it fails and is reported instead).
#
# Usage (as root, after `cargo fuzz build -s none`; see README.md "Fuzzing"):
#   fuzz/run-campaign.sh TARGET SECONDS [extra libFuzzer flags]
# Env: FUZZ_BIN_DIR (default fuzz/target/x86_64-unknown-linux-gnu/release).
set -euo pipefail
target=$1
seconds=$2
shift 2
fuzz=$(cd "$(dirname "$0")" && pwd)
bin=${FUZZ_BIN_DIR:-$fuzz/target/x86_64-unknown-linux-gnu/release}/$target
corpus=$fuzz/corpus/$target
artifacts=$fuzz/artifacts/$target
scratch=$fuzz/scratch/$target
logs=$fuzz/logs
mkdir -p "$corpus" "$artifacts" "$scratch" "$logs"
[ -x "$bin" ] || { echo "no $bin: run cargo fuzz build -s none first" >&2; exit 2; }
[ -n "$(ls -A "$corpus")" ] || "$fuzz/seed-corpora.sh"

unshare --mount --propagation private -- bash -c '
    set -e
    for d in "$1" "$2" "$3" "$4"; do mount --bind "$d" "$d"; done
    mount -o remount,bind,ro /
    mount -o remount,bind,ro /dev/shm 2>/dev/null || true
    cd "$3"
    shift 4
    exec env TMPDIR="$PWD" nice -n 19 "$@"
' campaign "$corpus" "$artifacts" "$scratch" "$logs" \
    "$bin" "$corpus" -artifact_prefix="$artifacts/" -max_total_time="$seconds" \
    -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 \
    -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 "$@" \
    2>&1 | tee "$logs/$target.log"
