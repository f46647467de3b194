#!/usr/bin/env bash
# Failure: a host port already taken (found before anything is created), a missing image, and a
# container whose command does not exist (found midway, after pods were created). The unit fails
# promptly, nothing is leaked (pods, containers, secrets, volumes made by the run, names in
# aardvark-dns's table), and the error names the workload, the container or port (with the YAML's
# file:line for a port), and the cause.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/2x-executor-lib.sh"
PORT=${QPX_FAIL_PORT:-28090}
blocker=""
cleanup() {
  qpx_cleanup
  [ -n "$blocker" ] && kill "$blocker" 2>/dev/null
  upodman volume rm -f qpx-fail-vol >/dev/null 2>&1 || true
}
trap cleanup EXIT
python3 -c "import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', $PORT)); s.listen(); time.sleep(300)" &
blocker=$!
wait_for 5 bash -c "ss -ltn | grep -q ':$PORT '" || fail "could not take port $PORT"

dir=$E2E_HOME/qpx-fail
common() {
  cat <<YAML
apiVersion: v1
kind: Secret
metadata: {name: qpx-fail-sec}
data: {token: $(printf 'fail-secret' | base64 -w0)}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: qpx-fail-vol}
---
apiVersion: v1
kind: Pod
metadata: {name: qpx-fail-ok}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: localhost/busybox:latest
    command: [httpd, -f, -p, "80"]
    env: [{name: TOKEN, valueFrom: {secretKeyRef: {name: qpx-fail-sec, key: token}}}]
    volumeMounts: [{name: v, mountPath: /v}]
  volumes: [{name: v, persistentVolumeClaim: {claimName: qpx-fail-vol}}]
---
YAML
}

# run_case NAME EXPECTED-PATTERN... — start must fail fast with an error matching every pattern.
run_case() {
  local name=$1; shift
  qpx_unit "$name" "$dir/$name.yaml"
  local t0=$SECONDS
  uctl start "$name.service" 2>/dev/null && qpx_fail "$name: start succeeded"
  local took=$((SECONDS - t0))
  local result; result=$(unit_prop "$name.service" Result)
  [ "$result" = exit-code ] || qpx_fail "$name: Result=$result (wanted exit-code, not a timeout)"
  local err; err=$(qpx_err "$name")
  for p in "$@"; do grep -q -- "$p" <<<"$err" || qpx_fail "$name: error lacks '$p': $err"; done
  log "$name: failed in ${took}s: $(grep -v warning <<<"$err" | head -1)"
  local left; left=$(qpx_leftovers 'qpx-fail')
  [ -z "$left" ] || qpx_fail "$name: leaked: $left"
  # Podman 4.3 keeps the DNS name of a container whose port forwarding failed: a later start of the
  # same app would resolve that name to a dead address as well.
  if grep -s -q "$name" "$XDG_RUNTIME_DIR"/containers/networks/aardvark-dns/*; then
    qpx_fail "$name: its name was left in aardvark-dns's table: $(grep -h "$name" "$XDG_RUNTIME_DIR"/containers/networks/aardvark-dns/*)"
  fi
  upodman volume exists qpx-fail-vol && qpx_fail "$name: leaked the volume this run created"
  ok "$name: unit failed, error names workload, container and Podman's message; nothing leaked"
  uctl reset-failed "$name.service" 2>/dev/null || true
}

{ common; cat <<YAML; } | qpx_yaml "$dir/qpx-fail-port.yaml"
apiVersion: v1
kind: Pod
metadata: {name: qpx-fail-port}
spec:
  containers:
  - name: web
    image: localhost/busybox:latest
    command: [httpd, -f, -p, "80"]
    ports: [{containerPort: 80, hostPort: $PORT}]
YAML
# The error points at the hostPort value: line 31 (22 lines of common objects, then this pod), column 43.
run_case qpx-fail-port \
  "qpx-fail-port.yaml:31:43: Pod/qpx-fail-port: spec.containers\[0\].ports\[0\].hostPort: host port 0.0.0.0:$PORT/tcp" \
  "already in use"

{ common; cat <<YAML; } | qpx_yaml "$dir/qpx-fail-image.yaml"
apiVersion: apps/v1
kind: Deployment
metadata: {name: qpx-fail-image}
spec:
  template:
    spec:
      containers:
      - {name: app, image: "127.0.0.1:5000/qpx/does-not-exist:1", command: [sleep, "1000"]}
YAML
run_case qpx-fail-image "Deployment/qpx-fail-image" "container app" "does-not-exist"

{ common; cat <<YAML; } | qpx_yaml "$dir/qpx-fail-exec.yaml"
apiVersion: v1
kind: Pod
metadata: {name: qpx-fail-exec}
spec:
  containers:
  - {name: app, image: localhost/busybox:latest, command: [/no/such/binary]}
YAML
run_case qpx-fail-exec "Pod/qpx-fail-exec" "container app" "/no/such/binary"
