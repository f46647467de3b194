#!/usr/bin/env bash
# Reload benchmark on a real systemd --user + rootless Podman (run as root, after
# tests/e2e/setup.sh up): a .kube unit with 12 Deployments (24 containers; busybox httpd + a
# sidecar, each reading its own value of one ConfigMap through env). Per round:
#   * `systemctl --user reload` after one ConfigMap value changed (one pod replaced, 11 untouched);
#   * `systemctl --user reload` with nothing changed (plan + compare only);
#   * `systemctl --user restart` of the same unit (every pod stopped, removed and created again);
# and checks after each reload that exactly the expected pods got new containers.
# Usage: sudo benches/reload.sh [ROUNDS] (default 3). Prints figures and the load average; asserts
# nothing beyond the check above. E2E_ENV=debian13 runs it in the Debian 13 tree (Podman 5.4).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ "${E2E_ENV:-}" = debian13 ] && [ -z "${E2E_INSIDE:-}" ]; then
  "$here/../tests/e2e/setup.sh" up "${E2E_USER:-qtest}"
  make -C "$here/.." install PREFIX="${PREFIX:-/usr/local}" DESTDIR="$("$here/../tests/e2e/debian13.sh" root)" \
    >/tmp/quadplay-install-d13.log 2>&1 || { cat /tmp/quadplay-install-d13.log >&2; exit 1; }
  exec "$here/../tests/e2e/debian13.sh" enter -- "$here/reload.sh" "$@"
fi
source "$here/../tests/e2e/lib.sh"
ROUNDS=${1:-3}
install_quadplay
UNIT=qpr-bench.service
YAML=$UNIT_DIR/qpr-bench.yaml

cleanup() {
  uctl stop "$UNIT" >/dev/null 2>&1 || true
  rm -f "$UNIT_DIR/qpr-bench.kube" "$YAML"
  uctl daemon-reload >/dev/null 2>&1 || true
}
trap cleanup EXIT

# write_app VALUE7 — the YAML; workload 07 reads VALUE7, the others a fixed value.
write_app() {
  {
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: qpr-values}\ndata:\n'
    for i in $(seq -w 1 12); do
      if [ "$i" = 07 ]; then echo "  w$i: \"$1\""; else echo "  w$i: fixed-$i"; fi
    done
    for i in $(seq -w 1 12); do
      cat <<YAML
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: qpr-$i}
spec:
  template:
    metadata: {labels: {app: qpr-$i}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: web
        image: localhost/busybox:latest
        command: [sh, -c, 'trap "exit 0" TERM; echo "\$VALUE" > /tmp/index.html; httpd -f -p 80 -h /tmp & wait']
        env:
        - {name: VALUE, valueFrom: {configMapKeyRef: {name: qpr-values, key: w$i}}}
      - name: side
        image: localhost/busybox:latest
        command: [sh, -c, 'trap "exit 0" TERM; sleep 100000 & wait']
YAML
    done
  } | put_file "$YAML"
}
ms_of() { local t0; t0=$(date +%s%N); "$@" >/dev/null; echo $(( ($(date +%s%N) - t0) / 1000000 )); }
ids() { upodman ps --no-trunc --filter label=io.quadplay.app=$UNIT --format '{{.Names}} {{.ID}}' | grep -v infra | sort; }
changed() { diff <(echo "$1") <(echo "$2") | grep -c '^>' || true; }
stats() { sort -n | awk '{a[NR]=$1} END {printf "min %d ms, median %d ms, max %d ms (n=%d)", a[1], a[int((NR+1)/2)], a[NR], NR}'; }

cleanup
write_app v0
put_unit qpr-bench.kube <<'EOF'
[Unit]
Description=quadplay reload benchmark
[Kube]
Yaml=qpr-bench.yaml
EOF
uctl daemon-reload
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; $(as_user podman --version)"
start_ms=$(ms_of uctl start "$UNIT")
echo "start (12 pods, 24 containers): $start_ms ms"
one=(); none=(); full=()
for r in $(seq 1 "$ROUNDS"); do
  before=$(ids)
  write_app "v$r"
  one+=("$(ms_of uctl reload "$UNIT")")
  after=$(ids)
  n=$(changed "$before" "$after")
  [ "$n" = 2 ] || echo "round $r: WARNING: $n containers changed on a one-workload reload (expected 2)"
  none+=("$(ms_of uctl reload "$UNIT")")
  [ "$(ids)" = "$after" ] || echo "round $r: WARNING: a no-change reload changed containers"
  full+=("$(ms_of uctl restart "$UNIT")")
done
echo "reload, one workload changed (1 of 12 pods replaced): $(printf '%s\n' "${one[@]}" | stats)"
echo "reload, nothing changed:                              $(printf '%s\n' "${none[@]}" | stats)"
echo "restart of the whole unit (12 pods):                  $(printf '%s\n' "${full[@]}" | stats)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
