#!/usr/bin/env bash
# Executor benchmark on a real systemd --user + rootless Podman (run as root, after
# tests/e2e/setup.sh up): a 12-pod, 24-container YAML.
#   * quadplay: `systemctl --user start` (returns at READY=1) and `stop` (returns once stopped and
#     removed) of a Type=notify unit whose main process is `quadplay play`;
#   * Podman: `podman kube play --replace` and `podman kube down` of the same YAML, same run;
#   * the supervising executor's resident memory and CPU time while the app idles (and those of a
#     `podman events` child, if the executor had to fall back to one).
# Usage: sudo benches/executor.sh [ROUNDS] (default 3). QUADPLAY_BIN picks the binary (default: the
# installed /usr/local/bin/quadplay). Prints each round, the medians and the load average before and
# after (the machine is shared: read the figures with it); asserts nothing.
# E2E_ENV=debian13 runs it in the Debian 13 tree (Podman 5.4): set up and installed from the host,
# as tests/e2e/run.sh does, then this script again inside.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ "${E2E_ENV:-}" = debian13 ] && [ -z "${E2E_INSIDE:-}" ]; then
  "$here/../tests/e2e/setup.sh" up "${E2E_USER:-qtest}"
  make -C "$here/.." install PREFIX="${PREFIX:-/usr/local}" DESTDIR="$("$here/../tests/e2e/debian13.sh" root)" \
    >/tmp/quadplay-install-d13.log 2>&1 || { cat /tmp/quadplay-install-d13.log >&2; exit 1; }
  exec "$here/../tests/e2e/debian13.sh" enter -- "$here/executor.sh" "$@"
fi
source "$here/../tests/e2e/lib.sh"
ROUNDS=${1:-3}
IDLE=${IDLE_SECONDS:-30}
QUADPLAY_BIN=${QUADPLAY_BIN:-$PREFIX/bin/quadplay}
[ -x "$QUADPLAY_BIN" ] || { install_quadplay; QUADPLAY_BIN=$PREFIX/bin/quadplay; }
unit=qpx-bench
unit_file=$E2E_HOME/.config/systemd/user/$unit.service
yaml=$E2E_HOME/qpx-bench/app.yaml

cleanup() {
  uctl stop "$unit.service" >/dev/null 2>&1 || true
  rm -f "$unit_file"; uctl daemon-reload >/dev/null 2>&1 || true
  upodman kube down "$yaml" >/dev/null 2>&1 || true
}
trap cleanup EXIT

{
  for i in $(seq -w 1 12); do
    cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: qpx-bench-$i}
spec:
  template:
    metadata: {labels: {app: qpx-bench-$i}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: web
        image: localhost/busybox:latest
        command: [sh, -c, 'trap "exit 0" TERM; httpd -f -p 80 & wait']
      - name: side
        image: localhost/busybox:latest
        command: [sh, -c, 'trap "exit 0" TERM; sleep 100000 & wait']
---
YAML
  done
} | put_file "$yaml"

put_file "$unit_file" <<UNIT
[Service]
Type=notify
NotifyAccess=main
KillMode=mixed
Environment=PODMAN_SYSTEMD_UNIT=%n
TimeoutStartSec=300
ExecStart=$QUADPLAY_BIN play $yaml
ExecStopPost=$QUADPLAY_BIN down $yaml
UNIT
uctl daemon-reload

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}'; }
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)

load() { cut -d' ' -f1-3 /proc/loadavg; }
# median FILE — the median of the numbers in FILE, one a line.
median() { sort -n "$1" | awk '{v[NR]=$1} END {if (NR % 2) print v[(NR+1)/2]; else printf "%.2f\n", (v[NR/2]+v[NR/2+1])/2}'; }
samples=$(mktemp -d)
echo "executor benchmark: 12 pods / 24 containers, $ROUNDS round(s), $(nproc) cores, $(upodman version --format '{{.Client.Version}}'), load average $(load)"
printf '%-6s %14s %14s %16s %14s\n' round quadplay-ready quadplay-stop kube-play-replace kube-down
for r in $(seq 1 "$ROUNDS"); do
  t=$(now); uctl start "$unit.service"; a=$(since "$t")
  [ "$(upodman ps --filter label=io.quadplay.app=$unit.service --format '{{.Names}}' | grep -vc -- '-infra$')" = 24 ] \
    || echo "warning: not 24 running containers at READY" >&2
  if [ "$r" = 1 ]; then
    main=$(unit_prop "$unit.service" MainPID)
    events=$(pgrep -P "$main" -f 'podman events' | head -1 || true)
    c0=$(ticks "$main"); e0=$( [ -n "$events" ] && ticks "$events" || echo 0)
    sleep "$IDLE"
    c1=$(ticks "$main"); e1=$( [ -n "$events" ] && ticks "$events" || echo 0)
    idle_cpu=$(awk -v d=$((c1 - c0)) -v hz="$hz" -v s="$IDLE" 'BEGIN{printf "%.2f ms/s", d*1000/hz/s}')
    total_cpu=$(awk -v t="$c1" -v hz="$hz" 'BEGIN{printf "%.2f s", t/hz}')
    rss=$(rss_kib "$main")
    ev_rss=$( [ -n "$events" ] && rss_kib "$events" || echo n/a)
    ev_cpu=$(awk -v d=$((e1 - e0)) -v hz="$hz" -v s="$IDLE" 'BEGIN{printf "%.2f ms/s", d*1000/hz/s}')
  fi
  t=$(now); uctl stop "$unit.service"; b=$(since "$t")
  t=$(now); upodman kube play --replace "$yaml" >/dev/null; c=$(since "$t")
  t=$(now); upodman kube down "$yaml" >/dev/null; d=$(since "$t")
  printf '%-6s %13ss %13ss %15ss %13ss\n' "$r" "$a" "$b" "$c" "$d"
  echo "$a" >> "$samples/a"; echo "$b" >> "$samples/b"; echo "$c" >> "$samples/c"; echo "$d" >> "$samples/d"
done
printf '%-6s %13ss %13ss %15ss %13ss\n' median "$(median "$samples/a")" "$(median "$samples/b")" \
  "$(median "$samples/c")" "$(median "$samples/d")"
rm -rf "$samples"
echo "load average after: $(load)"
echo "supervising executor (pid $main): RSS ${rss} KiB, CPU while idle ${idle_cpu} over ${IDLE}s, CPU total incl. start ${total_cpu}"
if [ -n "$events" ]; then
  echo "its podman events child (fallback watch): RSS ${ev_rss} KiB, CPU while idle ${ev_cpu}"
else
  echo "no helper process: container deaths come from an inotify watch on conmon's exit directory"
fi
