#!/usr/bin/env bash
# The seed scenario: two pods on the shared bridge, each binding container port 80, published on host
# ports 8081/8082; the second fetches from the first by its Service name. `systemctl --user start`
# must return only once both answer; `stop` must leave no pod, container or secret.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/2x-executor-lib.sh"
trap qpx_cleanup EXIT
P1=${QPX_PORT1:-8081} P2=${QPX_PORT2:-8082}
yaml=$E2E_HOME/qpx-seed/app.yaml
qpx_yaml "$yaml" <<YAML
apiVersion: v1
kind: Service
metadata: {name: qpx-front}
spec:
  selector: {app: qpx-web1}
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: qpx-web1}
spec:
  selector: {matchLabels: {app: qpx-web1}}
  template:
    metadata: {labels: {app: qpx-web1}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: httpd
        image: localhost/busybox:latest
        command: [sh, -c, 'mkdir -p /www && echo hello-from-web1 > /www/index.html && exec httpd -f -p 80 -h /www']
        ports: [{containerPort: 80, hostPort: $P1}]
        readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: qpx-web2}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: httpd
    image: localhost/busybox:latest
    command:
    - sh
    - -c
    - |
      mkdir -p /www; echo web2 > /www/index.html
      (while true; do wget -q -O /www/f.tmp http://qpx-front/ && mv /www/f.tmp /www/from-web1.html; sleep 1; done) &
      exec httpd -f -p 80 -h /www
    ports: [{containerPort: 80, hostPort: $P2}]
    readinessProbe: {exec: {command: [test, -s, /www/from-web1.html]}, periodSeconds: 1}
YAML
qpx_unit qpx-seed "$yaml"

# While starting, sample what web2 sees every 5 s: printed only if the start fails.
sampler() {
  set +e
  local t0=$SECONDS
  while sleep 5; do
    echo "--- $((SECONDS - t0)) s: $(upodman pod ps --format '{{.Name}}:{{.Status}}' 2>&1 | tr '\n' ' ')"
    upodman exec qpx-web2-httpd sh -c 'ls -l /www; ps; timeout 4 nslookup qpx-front' 2>&1 | grep -v '^$'
  done
}
sampler > /tmp/qpx-seed-sampler.log 2>&1 &
sampler_pid=$!
start=$(date +%s.%N)
if ! uctl start qpx-seed.service; then
  kill "$sampler_pid" 2>/dev/null; cat /tmp/qpx-seed-sampler.log; qpx_fail "start failed"
fi
kill "$sampler_pid" 2>/dev/null || true
took=$(awk "BEGIN{printf \"%.2f\", $(date +%s.%N) - $start}")
log "systemctl --user start returned after ${took}s"
# No waiting: READY=1 promised both answer.
[ "$(http_get "http://127.0.0.1:$P1/")" = hello-from-web1 ] || qpx_fail "web1 does not answer on :$P1 right after start"
ok "web1 answers on host port $P1 as soon as start returned"
[ "$(http_get "http://127.0.0.1:$P2/")" = web2 ] || qpx_fail "web2 does not answer on :$P2 right after start"
[ "$(http_get "http://127.0.0.1:$P2/from-web1.html")" = hello-from-web1 ] \
  || qpx_fail "web2 did not fetch from web1 by its Service name"
ok "web2 answers on host port $P2 and fetched web1's page by the Service name qpx-front"

main=$(unit_prop qpx-seed.service MainPID)
[ "$(cat "/proc/$main/comm")" = quadplay ] || qpx_fail "MainPID $main is $(cat "/proc/$main/comm")"
ok "the unit's main process is quadplay (pid $main)"
[ "$(unit_prop qpx-seed.service ActiveState)" = active ] || qpx_fail "unit not active"
pods=$(qpx_leftovers 'qpx-web' | sort | tr '\n' ' ')
log "while running: $pods"
upodman pod inspect qpx-web1-pod --format '{{.Labels}}' | grep -q 'io.quadplay.app' \
  || qpx_fail "pod lacks the io.quadplay.app label"

start=$(date +%s.%N)
uctl stop qpx-seed.service
took=$(awk "BEGIN{printf \"%.2f\", $(date +%s.%N) - $start}")
log "systemctl --user stop returned after ${took}s"
left=$(qpx_leftovers 'qpx-')
[ -z "$left" ] || qpx_fail "left behind after stop: $left"
ok "stop left no pod, container or secret"
res=$(unit_prop qpx-seed.service Result)
[ "$res" = success ] || qpx_fail "Result=$res after stop"
ok "unit stopped with Result=success"
