#!/usr/bin/env bash
# `quadplay status UNIT|YAML` and `quadplay logs UNIT|YAML [WORKLOAD] [-f]` against a running .kube unit
# (issue 12 item 5): each container with its state, readiness, restarts, published port and image
# digest; the logs of both pods merged, each line prefixed `pod/container`; a workload filter; -f.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
PORT=18395
cleanup() {
  uctl stop qsl.service >/dev/null 2>&1 || true
  rm -f "$UNIT_DIR/qsl.kube" "$UNIT_DIR/qsl.yaml"
  uctl daemon-reload >/dev/null 2>&1 || true
  uctl reset-failed qsl.service >/dev/null 2>&1 || true
}
trap cleanup EXIT
install_quadplay
cleanup
put_file "$UNIT_DIR/qsl.yaml" <<EOF2
apiVersion: v1
kind: Pod
metadata: {name: qsl-web}
spec:
  containers:
  - name: web
    image: localhost/busybox:latest
    command: [sh, -c, 'echo web-started; echo ok > /tmp/index.html; exec httpd -f -p 80 -h /tmp']
    ports: [{containerPort: 80, hostPort: $PORT, hostIP: 127.0.0.1}]
    readinessProbe: {httpGet: {path: /index.html, port: 80}, periodSeconds: 1}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: qsl-tick}
spec:
  selector: {matchLabels: {app: tick}}
  template:
    metadata: {labels: {app: tick}}
    spec:
      containers:
      - {name: tick, image: localhost/busybox:latest, command: [sh, -c, 'i=0; while true; do i=\$((i+1)); echo tick-\$i; sleep 1; done']}
EOF2
put_unit qsl.kube <<'EOF2'
[Kube]
Yaml=qsl.yaml
EOF2
reload
uctl start qsl.service || { unit_debug qsl.service; fail "qsl.service did not start"; }
qp() { as_user "$PREFIX/bin/quadplay" "$@"; }
out=$(qp status qsl) || fail "status qsl exited $?: $out"
echo "$out" | sed 's/^/    /'
echo "$out" | grep -Eq "^qsl-web/web +running +yes +0 +127\.0\.0\.1:$PORT->80/tcp +localhost/busybox:latest +sha256:[0-9a-f]{12}" \
  || fail "status lacks the web row with state, readiness, restarts, port, image and digest"
echo "$out" | grep -Eq "^qsl-tick-pod/tick +running +yes +0 " || fail "status lacks the tick row"
ok "status by unit: both containers, running, ready, port and digest"
out=$(qp status "$UNIT_DIR/qsl.yaml") || fail "status by YAML exited $?: $out"
echo "$out" | grep -Eq "^qsl-web/web +running +yes " || fail "status by YAML lacks web: $out"
ok "status by YAML (the readiness probe ran and passed)"
sleep 2
out=$(qp logs qsl) || fail "logs exited $?"
sed -n '1,4s/^/    /p' <<<"$out"   # not echo | head: under pipefail, echo can die of SIGPIPE once head has its lines
echo "$out" | grep -Eq '^qsl-web/web +\| web-started$' || fail "logs lack the web line"
echo "$out" | grep -Eq '^qsl-tick-pod/tick +\| tick-1$' || fail "logs lack tick-1"
out=$(qp logs qsl qsl-tick) || fail "logs qsl qsl-tick exited $?"
echo "$out" | grep -q web-started && fail "the workload filter let web through"
ok "logs merged with pod/container prefixes; the workload filter keeps only qsl-tick"
# timeout ends the follower (exit 124): -f never ends on its own while the container runs.
as_user timeout 4 "$PREFIX/bin/quadplay" logs -f qsl qsl-tick > /tmp/qsl-follow.txt 2>&1 && fail "logs -f ended by itself"
before=$(grep -c '| tick-' /tmp/qsl-follow.txt || true)
n=$before
last=$(tail -n1 /tmp/qsl-follow.txt)
[ "$n" -ge 5 ] || fail "logs -f printed $n lines in 4 s"
ok "logs -f followed new lines ($n in 4 s, last: $last)"
uctl stop qsl.service
