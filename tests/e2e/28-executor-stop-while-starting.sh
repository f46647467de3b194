#!/usr/bin/env bash
# `systemctl --user stop` while the app is still starting (a readiness probe that never passes):
# the executor rolls back what it made, the stop is clean and nothing is left.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/2x-executor-lib.sh"
trap qpx_cleanup EXIT
yaml=$E2E_HOME/qpx-slow/app.yaml
qpx_yaml "$yaml" <<YAML
apiVersion: v1
kind: Secret
metadata: {name: qpx-slow-sec}
data: {k: $(printf v | base64 -w0)}
---
apiVersion: v1
kind: Pod
metadata: {name: qpx-slow}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: localhost/busybox:latest
    command: [sleep, "100000"]
    env: [{name: K, valueFrom: {secretKeyRef: {name: qpx-slow-sec, key: k}}}]
    readinessProbe: {exec: {command: ["false"]}, periodSeconds: 1}
YAML
qpx_unit qpx-slow "$yaml"
uctl start --no-block qpx-slow.service
wait_for 30 as_user podman container exists qpx-slow-app || qpx_fail "container never created"
[ "$(unit_prop qpx-slow.service ActiveState)" = activating ] || qpx_fail "not activating while the probe fails"
ok "unit stays 'activating' while the readiness probe fails (no READY=1)"
t0=$SECONDS
uctl stop qpx-slow.service
log "stop returned after $((SECONDS - t0))s: Result=$(unit_prop qpx-slow.service Result)"
[ -z "$(qpx_leftovers qpx-slow)" ] || qpx_fail "left after stop during start: $(qpx_leftovers qpx-slow)"
ok "stop during start rolled back: no pod, container or secret left"
