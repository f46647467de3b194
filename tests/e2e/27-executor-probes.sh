#!/usr/bin/env bash
# Init containers, startup/readiness probes, liveness restarts and restartPolicy restarts (both by the
# executor, with back-off), under a real unit.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/2x-executor-lib.sh"
trap qpx_cleanup EXIT
yaml=$E2E_HOME/qpx-probe/app.yaml
qpx_yaml "$yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: qpx-probe}
spec:
  restartPolicy: Always
  terminationGracePeriodSeconds: 1
  initContainers:
  - name: init
    image: localhost/busybox:latest
    command: [sh, -c, 'echo from-init > /shared/init.txt']
    volumeMounts: [{name: shared, mountPath: /shared}]
  containers:
  - name: web
    image: localhost/busybox:latest
    command: [sh, -c, 'sleep 2; touch /tmp/alive; cp /shared/init.txt /tmp/index.html; exec httpd -f -p 80 -h /tmp']
    volumeMounts: [{name: shared, mountPath: /shared}]
    startupProbe: {tcpSocket: {port: 80}, periodSeconds: 1, failureThreshold: 30}
    readinessProbe: {httpGet: {path: /index.html, port: 80}, periodSeconds: 1}
    livenessProbe: {exec: {command: [test, -f, /tmp/alive]}, periodSeconds: 1, failureThreshold: 2}
  - name: crashy
    image: localhost/busybox:latest
    command: [sh, -c, 'if [ ! -f /shared/crashed ]; then touch /shared/crashed; exit 3; fi; exec sleep 100000']
    volumeMounts: [{name: shared, mountPath: /shared}]
  volumes:
  - {name: shared, emptyDir: {}}
YAML
qpx_unit qpx-probe "$yaml"
t0=$SECONDS
uctl start qpx-probe.service || qpx_fail "start failed"
took=$((SECONDS - t0))
[ "$took" -ge 2 ] || qpx_fail "start returned after ${took}s, before the startup probe could pass"
[ "$(upodman exec qpx-probe-web wget -q -O- http://localhost/index.html)" = from-init ] \
  || qpx_fail "the init container's output is not served"
ok "start waited for the startup and readiness probes (${took}s); the init container ran first"
upodman container exists qpx-probe-init && qpx_fail "the init container was not removed after success"
ok "the successful init container was removed"

# The executor restarts it (a loop's first restart is at once, as the kubelet's); Podman's --restart is "no".
wait_for 30 bash -c "grep -q 'qpx-probe/crashy: restarting (restart 1, exit code 3)' $QPX_LOG_DIR/qpx-probe.err" \
  || qpx_fail "crashing container was not restarted by the executor"
wait_for 10 bash -c "[ \"\$(cd /tmp && runuser -u $E2E_USER -- env XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR podman inspect qpx-probe-crashy --format '{{.State.Status}}')\" = running ]" \
  || qpx_fail "crashy not running after restart"
[ "$(upodman inspect qpx-probe-crashy --format '{{.HostConfig.RestartPolicy.Name}}')" = no ] \
  || qpx_fail "Podman's own restart policy is set: restarts would not back off"
ok "restartPolicy Always: the executor restarted the crashed container"

started=$(upodman inspect qpx-probe-web --format '{{.State.StartedAt}}')
upodman exec qpx-probe-web rm /tmp/alive
wait_for 30 bash -c "[ \"\$(cd /tmp && runuser -u $E2E_USER -- env XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR podman inspect qpx-probe-web --format '{{.State.StartedAt}}')\" != '$started' ]" \
  || qpx_fail "liveness failure did not restart the container"
wait_for 20 as_user podman exec qpx-probe-web test -f /tmp/alive || qpx_fail "restarted container not healthy"
ok "liveness probe failure made the executor restart the container"
[ "$(unit_prop qpx-probe.service ActiveState)" = active ] || qpx_fail "unit not active"
grep -q "liveness probe failed" "$QPX_LOG_DIR/qpx-probe.err" || qpx_fail "no liveness message in the executor's output"
uctl stop qpx-probe.service
[ -z "$(qpx_leftovers qpx-probe)" ] || qpx_fail "left: $(qpx_leftovers qpx-probe)"
ok "stopped clean"
