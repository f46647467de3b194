#!/usr/bin/env bash
# An unclean shutdown never blocks the next start: (1) leftovers of a `play` outside systemd and a
# same-named pod from `podman kube play` are replaced; (2) after `kill -9` of the executor the unit
# starts again cleanly.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/2x-executor-lib.sh"
trap qpx_cleanup EXIT
P=${QPX_KILL_PORT:-28083}
yaml=$E2E_HOME/qpx-kill/app.yaml
qpx_yaml "$yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: qpx-kill}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: localhost/busybox:latest
    command: [sh, -c, 'echo up > /tmp/index.html; exec httpd -f -p 80 -h /tmp']
    ports: [{containerPort: 80, hostPort: $P}]
    readinessProbe: {tcpSocket: {port: 80}, periodSeconds: 1}
YAML
qpx_unit qpx-kill "$yaml"

# (1) Leftovers: a detached run of the same app (as after a crash), and an unlabelled same-named pod.
as_user "$QUADPLAY_BIN" play --detach --unit qpx-kill.service "$yaml" || fail "detached play failed"
old=$(upodman pod inspect qpx-kill --format '{{.ID}}')
uctl start qpx-kill.service || qpx_fail "start over leftovers failed"
new=$(upodman pod inspect qpx-kill --format '{{.ID}}')
[ "$old" != "$new" ] || qpx_fail "the leftover pod was not replaced"
[ "$(http_get "http://127.0.0.1:$P/")" = up ] || qpx_fail "not answering after start over leftovers"
ok "start over a crashed run's leftovers replaced them (pod $old -> $new)"
uctl stop qpx-kill.service
upodman pod create --name qpx-kill >/dev/null || fail "could not create a same-named pod"
uctl start qpx-kill.service || qpx_fail "start over a same-named foreign pod failed"
ok "start over a same-named pod without our labels succeeded"

# (2) kill -9 of the executor.
main=$(unit_prop qpx-kill.service MainPID)
kill -9 "$main"
wait_for 30 bash -c "[ \"\$(runuser -u $E2E_USER -- env XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR systemctl --user show -p ActiveState --value qpx-kill.service)\" != active ]" \
  || qpx_fail "unit still active after kill -9 of its main process"
log "after kill -9: Result=$(unit_prop qpx-kill.service Result), left: $(qpx_leftovers qpx-kill | tr '\n' ' ')"
uctl reset-failed qpx-kill.service 2>/dev/null || true
uctl start qpx-kill.service || qpx_fail "start after kill -9 failed"
[ "$(http_get "http://127.0.0.1:$P/")" = up ] || qpx_fail "not answering after restart"
ok "after kill -9 the unit started again cleanly and answers"
uctl stop qpx-kill.service
[ -z "$(qpx_leftovers qpx-kill)" ] || qpx_fail "left after stop: $(qpx_leftovers qpx-kill)"
ok "nothing left after the final stop"
