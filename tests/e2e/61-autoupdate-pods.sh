#!/usr/bin/env bash
# Auto-update per pod (issue 12, item 2): a .kube unit with two workloads on different images, both
# AutoUpdate=registry. A new build of one image is pushed to the loopback registry; `quadplay
# auto-update` replaces only the pod that uses it, through the running executor: that pod serves the
# new version, the other pod keeps its container ID and answers throughout, and the unit is never
# restarted (same invocation).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

REPO_IMG=127.0.0.1:5000/qp-e2e-aupods/web
IMG=$REPO_IMG:stable          # workload "one" (4x-autoupdate-lib's build/release use these)
OTHER=127.0.0.1:5000/qp-e2e-aupods/other:stable
PORT=18611
OTHER_PORT=18612
UNIT=qpap.service
WORK=
# shellcheck source=4x-autoupdate-lib.sh
source "$(dirname "$0")/4x-autoupdate-lib.sh"

cleanup() {
  cleanup_unit "$UNIT" pod:qpap-one-pod "$UNIT_DIR/qpap.kube" "$UNIT_DIR/qpap.yaml"
  remove_images "$REPO_IMG":{v1,v2,stable} "$OTHER"
  rm -rf "$WORK"
}
trap cleanup EXIT

install_quadplay
cleanup
new_work qpap

build v1
build v2
release v1
build_image "$OTHER" other
upodman push -q "$OTHER" || fail "push $OTHER"

deployment() { # NAME IMAGE PORT
  cat <<EOF
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: qpap-$1}
spec:
  selector: {matchLabels: {app: qpap-$1}}
  template:
    metadata: {labels: {app: qpap-$1}}
    spec:
      terminationGracePeriodSeconds: 1   # httpd as PID 1 ignores SIGTERM
      containers:
      - name: web
        image: $2
        ports: [{containerPort: 8080, hostPort: $3, hostIP: 127.0.0.1}]
        readinessProbe: {httpGet: {path: /index.html, port: 8080}, periodSeconds: 1}
EOF
}
{ deployment one "$IMG" "$PORT"; deployment two "$OTHER" "$OTHER_PORT"; } | put_file "$UNIT_DIR/qpap.yaml"
put_unit qpap.kube <<'EOF'
[Unit]
Description=quadplay e2e: auto-update replaces only the pod whose image changed
[Kube]
Yaml=qpap.yaml
AutoUpdate=registry
EOF
start_serving v1
other_serves() { [ "$(http_get "http://127.0.0.1:$OTHER_PORT/index.html")" = other ]; }
wait_for 20 other_serves || fail "workload two does not serve"
cid() { upodman ps --no-trunc --filter "pod=$1" --format '{{.ID}} {{.Names}}' | grep -v -- -infra | sort; }
one_before=$(cid qpap-one-pod); two_before=$(cid qpap-two-pod)
inv=$(unit_prop "$UNIT" InvocationID)
ok "$UNIT runs two workloads: one on $IMG (v1), two on $OTHER"

release v2
# Poll workload two throughout the update.
log_file=$WORK/poll.log; : > "$log_file"
( while :; do other_serves 2>/dev/null || echo "$(date +%T.%N) two did not answer" >> "$log_file"; sleep 0.1; done ) &
poller=$!
start=$SECONDS
capture as_user "$QP" auto-update --unit "$UNIT"
kill "$poller"; wait "$poller" 2>/dev/null || true
cat "$WORK/out"; show_err
[ "$rc" = 0 ] || fail "auto-update exited $rc"
grep -q "replaced pod qpap-one-pod of $UNIT" "$WORK/out" || fail "the report does not say pod qpap-one-pod was replaced"
wait_for 10 serves v2 || fail "workload one does not serve v2"
[ "$(cid qpap-one-pod)" != "$one_before" ] || fail "pod qpap-one-pod was not replaced"
[ "$(cid qpap-two-pod)" = "$two_before" ] || fail "workload two's container changed: $two_before -> $(cid qpap-two-pod)"
[ "$(unit_prop "$UNIT" InvocationID)" = "$inv" ] || fail "$UNIT was restarted"
[ ! -s "$log_file" ] || fail "workload two stopped answering during the update: $(head -3 "$log_file")"
ok "only qpap-one-pod replaced (serves v2, $((SECONDS - start)) s with the 5 s settle); two kept its container and answered every poll; unit not restarted"
