#!/usr/bin/env bash
# `systemctl --user reload` of a .kube unit applies only what changed (issue 12, item 1).
# A 5-workload app (busybox httpd, each serving its own value of one ConfigMap through env):
# 1. one ConfigMap value edited; `play --dry-run` against the running app names that workload only;
#    the reload replaces its pod (new container, new value served) while the other four keep their
#    container IDs and answer every poll made during the reload;
# 2. that workload's image changed to one the registry does not have: the reload fails, before
#    anything is touched, the workload still serves its value, the unit stays active;
# 3. that workload's command changed to one that never serves: its readiness probe fails, the
#    replacement is rolled back alone (old value served again), the reload fails naming it;
# 4. a sixth workload added and one removed: only those change.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

UNIT=qrl.service
YAML=$UNIT_DIR/qrl.yaml
NAMES=(a b c d e)
BASE_PORT=18600
POLL_LOG=/tmp/qrl-poll.log

cleanup() {
  [ -n "${POLLER:-}" ] && kill "$POLLER" 2>/dev/null
  uctl stop "$UNIT" >/dev/null 2>&1 || true
  rm -f "$UNIT_DIR/qrl.kube" "$YAML" "$POLL_LOG"
  uctl daemon-reload >/dev/null 2>&1 || true
  uctl reset-failed "$UNIT" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# workload NAME INDEX [IMAGE] [COMMAND] — a Deployment serving its ConfigMap key on BASE_PORT+INDEX.
workload() {
  local name=$1 i=$2 image=${3:-localhost/busybox:latest}
  local cmd=${4:-'echo "$VALUE" > /tmp/index.html; exec httpd -f -p 8080 -h /tmp'}
  cat <<EOF
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: qrl-$name
spec:
  replicas: 1
  selector: {matchLabels: {app: qrl-$name}}
  template:
    metadata: {labels: {app: qrl-$name}}
    spec:
      terminationGracePeriodSeconds: 1   # httpd as PID 1 ignores SIGTERM
      containers:
      - name: web
        image: $image
        command: ["sh", "-c", '$cmd']
        env:
        - name: VALUE
          valueFrom: {configMapKeyRef: {name: qrl-values, key: $name}}
        ports:
        - {containerPort: 8080, hostPort: $((BASE_PORT + i)), hostIP: 127.0.0.1}
        readinessProbe:
          httpGet: {path: /index.html, port: 8080}
          periodSeconds: 1
          failureThreshold: 3
EOF
}
# write_app C_VALUE [C_IMAGE] [C_COMMAND] [NAMES...] — the YAML, workload c as given.
write_app() {
  local c_value=$1 c_image=${2:-} c_cmd=${3:-} i
  shift $(( $# < 3 ? $# : 3 ))
  [ $# -gt 0 ] || set -- "${NAMES[@]}"
  local names=("$@")
  {
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: qrl-values}\ndata:\n'
    for n in a b c d e f; do
      if [ "$n" = c ]; then echo "  c: $c_value"; else echo "  $n: value-$n"; fi
    done
    for n in "${names[@]}"; do
      i=$(( $(printf '%d' "'$n") - 96 ))
      if [ "$n" = c ]; then workload c "$i" "${c_image:-localhost/busybox:latest}" "$c_cmd"
      else workload "$n" "$i"; fi
    done
  } | put_file "$YAML"
}
port() { echo $((BASE_PORT + $(printf '%d' "'$1") - 96)); }
serves() { [ "$(http_get "http://127.0.0.1:$(port "$1")/index.html")" = "$2" ]; }
cid() { upodman ps --filter "pod=qrl-$1-pod" --format '{{.ID}}' --no-trunc | sort | tr '\n' ' '; }
ids_of() { local n; for n in "$@"; do printf '%s=%s\n' "$n" "$(cid "$n")"; done; }
# poll NAMES... — in the background, fetch each workload's page every 0.1 s; log every failure.
poll() {
  : > "$POLL_LOG"
  ( while :; do
      for n in "$@"; do
        serves "$n" "value-$n" 2>/dev/null || echo "$(date +%T.%N) $n did not answer" >> "$POLL_LOG"
      done
      sleep 0.1
    done ) &
  POLLER=$!
}
stop_poll() { kill "$POLLER" 2>/dev/null; wait "$POLLER" 2>/dev/null || true; POLLER=; }
polls_clean() { [ ! -s "$POLL_LOG" ] || fail "$1 stopped answering during the reload: $(head -5 "$POLL_LOG")"; }
client() { as_user env PODMAN_SYSTEMD_UNIT="$UNIT" "$PREFIX/bin/quadplay" reload "$YAML" 2>&1; }
dry_run() { as_user "$PREFIX/bin/quadplay" play --dry-run --unit "$UNIT" "$YAML" 2>&1; }

install_quadplay
cleanup

write_app value-c
put_unit qrl.kube <<'EOF'
[Unit]
Description=quadplay e2e: reload applies only the difference
[Kube]
Yaml=qrl.yaml
EOF
reload
[[ $(unit_prop "$UNIT" ExecReload) == *"quadplay reload $YAML"* ]] \
  || fail "ExecReload is not quadplay reload: $(unit_prop "$UNIT" ExecReload)"
uctl start "$UNIT" || { unit_debug "$UNIT"; fail "$UNIT did not start"; }
for n in "${NAMES[@]}"; do
  wait_for 20 serves "$n" "value-$n" || { unit_debug "$UNIT"; fail "qrl-$n does not serve value-$n"; }
done
ok "5 workloads serve their ConfigMap values; the unit has ExecReload=quadplay reload"

# 1. One ConfigMap value.
others=(a b d e)
before=$(ids_of "${others[@]}")
c_before=$(cid c)
write_app value-c2
out=$(dry_run) || fail "dry run against the running app failed: $out"
grep -q "replace pod qrl-c-pod (Deployment/qrl-c): its spec changed" <<<"$out" || fail "dry run does not name qrl-c: $out"
grep -q "1 pod(s) replaced, 0 created, 0 removed, 4 kept running untouched" <<<"$out" || fail "dry run summary: $out"
ok "play --dry-run against the running app: replace qrl-c only, 4 kept"
poll "${others[@]}"
start=$(date +%s%N)
uctl reload "$UNIT" || { stop_poll; unit_debug "$UNIT"; fail "reload failed"; }
took=$(( ($(date +%s%N) - start) / 1000000 ))
sleep 0.5; stop_poll
serves c value-c2 || fail "qrl-c does not serve the new value after the reload"
[ "$(cid c)" != "$c_before" ] || fail "qrl-c's container was not replaced"
[ "$(ids_of "${others[@]}")" = "$before" ] || fail "other containers changed: $before -> $(ids_of "${others[@]}")"
polls_clean "a workload that did not change"
[ "$(unit_prop "$UNIT" ActiveState)" = active ] || fail "unit not active after the reload"
ok "reload (${took} ms) replaced qrl-c (serves value-c2), 4 others kept their containers and answered every poll"

# 2. An image the registry does not have: nothing touched.
c_before=$(cid c)
write_app value-c3 127.0.0.1:5000/quadplay-e2e/missing:1
if uctl reload "$UNIT" 2>/dev/null; then fail "reload with a missing image succeeded"; fi
serves c value-c2 || fail "qrl-c no longer serves its old value after a failed reload"
[ "$(cid c)" = "$c_before" ] || fail "qrl-c's container changed though the reload failed before touching it"
[ "$(ids_of "${others[@]}")" = "$before" ] || fail "other containers changed on a failed reload"
[ "$(unit_prop "$UNIT" ActiveState)" = active ] || fail "unit not active after a failed reload"
# What ExecReload= runs, by hand, to see its message (journald may not run on these machines).
msg=$(client) && fail "quadplay reload with a missing image succeeded: $msg"
grep -q "Deployment/qrl-c: container web: podman pull 127.0.0.1:5000/quadplay-e2e/missing:1" <<<"$msg" \
  || fail "the failure does not name the workload, container and image: $msg"
ok "a missing image: reload fails, qrl-c still serves value-c2, nothing restarted, unit active"

# 3. A spec that never gets ready: rolled back alone.
write_app value-c4 "" "sleep 3600"
msg=$(client) && fail "reload with a never-ready workload succeeded: $msg"
grep -q "Deployment/qrl-c: the new spec failed, rolled back to the running one: Deployment/qrl-c: container web: readiness probe failed 3 times" <<<"$msg" \
  || fail "the failure does not say what was rolled back and why: $msg"
wait_for 10 serves c value-c2 || fail "qrl-c was not rolled back to value-c2"
[ "$(ids_of "${others[@]}")" = "$before" ] || fail "other containers changed during a rollback"
[ "$(unit_prop "$UNIT" ActiveState)" = active ] || fail "unit not active after a rolled-back reload"
ok "a never-ready replacement: rolled back alone, qrl-c serves value-c2 again, unit active"

# 4. Add f, remove e; c back to a good spec.
write_app value-c2 "" "" a b c d f
uctl reload "$UNIT" || { unit_debug "$UNIT"; fail "reload adding f and removing e failed"; }
wait_for 10 serves f value-f || fail "new workload qrl-f does not serve"
upodman pod exists qrl-e-pod && fail "qrl-e-pod still exists"
[ "$(ids_of a b d)" = "$(grep -v '^e=' <<<"$before" | grep -v '^$')" ] || fail "a, b, d changed when f was added"
ok "scale out/in: qrl-f created, qrl-e removed, a b d untouched"

uctl stop "$UNIT"
[ -z "$(upodman pod ps -q --filter label=io.quadplay.app=$UNIT)" ] || fail "pods left after stop"
ok "stop removes every pod, the reloaded ones included"
