#!/usr/bin/env bash
# A vendor-sized app end to end (examples/vendor: 21 services from the local busybox image, most on
# port 80, a 22nd behind a profile): `quadplay convert` → daemon-reload → `systemctl --user start`,
# then over HTTP from the host through the router, which finds every backend by service name: each
# backend answers with the bind-mounted config *file* it was given (hostPath File), auth proves it
# read the secret from its file, legacy_db is reached by that name (Kubernetes forbids it as an object
# name), the profile-gated service did not start, and the store's named volume keeps its count across
# a restart. Prints the start time (systemctl start returns once every pod is ready, the router last).
source "$(dirname "$0")/lib.sh"
install_quadplay
app=vendor
port=28190
qp=$PREFIX/bin/quadplay
work=$E2E_HOME/vendor-app
cleanup() {
  uctl stop "$app.service" >/dev/null 2>&1 || true
  as_user "$qp" down "$UNIT_DIR/$app.yaml" --force >/dev/null 2>&1 || true
  rm -f "$UNIT_DIR/$app.kube" "$UNIT_DIR/$app.yaml"; rm -rf "$work"
  uctl daemon-reload >/dev/null 2>&1 || true
}
trap cleanup EXIT
rm -rf "$work"; cp -a "$REPO/examples/vendor" "$work"; chown -R "$E2E_USER:$E2E_USER" "$work"

as_user env ROUTER_PORT=$port "$qp" convert "$work/compose.yaml" -o "$UNIT_DIR" >/dev/null 2>"$work/convert.log" \
  || fail "convert: $(cat "$work/convert.log")"
pods=$(grep -c '^kind: Pod' "$UNIT_DIR/$app.yaml")
[ "$pods" -eq 21 ] || fail "expected 21 pods, the YAML has $pods"
grep -q 'type: File' "$UNIT_DIR/$app.yaml" || fail "bind-mounted files are not hostPath File"
ok "converted: $pods pods; warnings: $(grep -c warning "$work/convert.log" || true)"

# The dry run says a start would succeed, and changes nothing.
as_user env ROUTER_PORT=$port "$qp" convert "$work/compose.yaml" --check >"$work/check.log" 2>&1 \
  || fail "convert --check: $(cat "$work/check.log")"
grep -q '^dry run: a start would get past' "$work/check.log" || fail "check said: $(tail -3 "$work/check.log")"
[ -z "$(pod_names | grep "^$app-" || true)" ] || fail "--check created pods"
ok "convert --check: $(grep -c '^  pod ' "$work/check.log") pods would be created; exit 0"
upodman volume rm -f "$app-store-data" >/dev/null 2>&1 || true   # a count from an earlier run
uctl daemon-reload
start=$(date +%s.%N)
uctl start "$app.service" || { unit_debug "$app.service"; fail "start $app.service"; }
secs=$(echo "$(date +%s.%N) - $start" | bc 2>/dev/null || python3 -c "print(round($(date +%s.%N) - $start, 1))")
ok "systemctl --user start $app.service returned (ready) after ${secs} s"

route() { curl -fsS --max-time 5 "http://127.0.0.1:$port/cgi-bin/route?$1"; }
for svc in web catalog cart checkout payments search reviews users admin inventory shipping pricing media reports notify; do
  got=$(route "$svc") || { unit_debug "$app.service"; fail "router: $svc"; }
  [ "$got" = "$svc ok conf-v1" ] || fail "$svc answered '$got' (want '$svc ok conf-v1')"
done
ok "the router reached 15 backends by service name; each read its bind-mounted config file"
[ "$(route auth)" = "auth secret-ok" ] || fail "auth: $(route auth)"
ok "auth read its secret from /run/secrets/api_token"
[ "$(route legacy_db)" = "legacy_db ok" ] || fail "legacy_db by name: $(route legacy_db)"
ok "legacy_db is reachable by its compose name"
! upodman pod exists "$app-debug" 2>/dev/null || fail "the profile-gated debug service started"
[ "$(route store)" = "store starts=1" ] || fail "store: $(route store)"

uctl restart "$app.service" || { unit_debug "$app.service"; fail "restart"; }
[ "$(route store)" = "store starts=2" ] || fail "store after restart: $(route store) (volume lost?)"
ok "the store's named volume survived the restart (starts=2)"
uctl stop "$app.service"
left=$(upodman pod ps --format '{{.Name}}' | grep -c "^$app-" || true)
[ "$left" -eq 0 ] || fail "$left pods left after stop"
ok "stop removed all pods"
