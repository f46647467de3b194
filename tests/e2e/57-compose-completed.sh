#!/usr/bin/env bash
# compose's `depends_on: condition: service_completed_successfully` for real (issue 9): a one-shot
# migration job must have exited with status 0 before the app's pod is created. db (healthy) →
# migrate (runs 3 s, writes the schema version into the shared named volume, exits) → app (serves
# that version, and exits at once if it is missing). `systemctl --user start` returns with the app
# serving "schema v2"; the migrate pod stays exited (code 0) while the app keeps running. Then the
# same app with a migration that exits 3: the start fails with a message naming app, migrate and
# the code, the app's pod is never created, and nothing is left behind. A second job runs as uid
# 999 and reads a secret compose gives to uid 999 with mode 0400 (kept as mode 0404).
source "$(dirname "$0")/lib.sh"
install_quadplay
app=jobs
port=28195
qp=$PREFIX/bin/quadplay
work=$E2E_HOME/jobs-app
cleanup() {
  uctl stop "$app.service" >/dev/null 2>&1 || true
  as_user "$qp" down "$UNIT_DIR/$app.yaml" --force >/dev/null 2>&1 || true
  rm -f "$UNIT_DIR/$app.kube" "$UNIT_DIR/$app.yaml"; rm -rf "$work"
  uctl daemon-reload >/dev/null 2>&1 || true
}
trap cleanup EXIT
rm -rf "$work"
put_file "$work/compose.yaml" <<EOF2
name: $app
x-busybox: &busybox
  image: localhost/busybox:latest
  volumes: ["data:/data"]
services:
  db:
    <<: *busybox
    command: ["sh", "-c", "echo up > /data/db && exec sleep 3600"]
    healthcheck: {test: ["CMD-SHELL", "test -f /data/db"], interval: 1s, retries: 30}
  migrate:
    <<: *busybox
    depends_on: {db: {condition: service_healthy}}
    command: ["sh", "-c", "sleep 3 && echo v2 > /data/schema && exit \${MIGRATE_EXIT:-0}"]
  # A job as another user, reading a secret compose gives to that uid with mode 0400.
  tokencheck:
    image: localhost/busybox:latest
    user: "999:999"
    command: ["sh", "-c", "test \"\$\$(cat /run/secrets/token)\" = t0k3n"]
    secrets: [{source: token, uid: "999", gid: "999", mode: 0400}]
  app:
    <<: *busybox
    depends_on:
      migrate: {condition: service_completed_successfully}
      tokencheck: {condition: service_completed_successfully}
    command: ["sh", "-c", "test -f /data/schema || exit 1; mkdir -p /www; echo \"schema \$\$(cat /data/schema)\" > /www/index.html; exec httpd -f -p 80 -h /www"]
    ports: ["$port:80"]
volumes:
  data: {}
secrets:
  token: {content: t0k3n}
EOF2

as_user "$qp" convert "$work/compose.yaml" -o "$UNIT_DIR" >/dev/null 2>"$work/convert.log" \
  || fail "convert: $(cat "$work/convert.log")"
grep -q 'io.quadplay.after-completed: jobs-migrate,jobs-tokencheck' "$UNIT_DIR/$app.yaml" || fail "no after-completed annotation"
! grep -q 'service_completed_successfully' "$work/convert.log" || fail "still a warning: $(cat "$work/convert.log")"
as_user "$qp" play --dry-run "$UNIT_DIR/$app.yaml" >"$work/check.log" 2>&1 || fail "dry run: $(cat "$work/check.log")"
grep -q 'after jobs-migrate (completed)' "$work/check.log" || fail "dry run does not show the wait: $(cat "$work/check.log")"
ok "converted: app waits for migrate to complete (io.quadplay.after-completed)"

upodman volume rm -f "$app-data" >/dev/null 2>&1 || true
uctl daemon-reload
start=$SECONDS
uctl start "$app.service" || { unit_debug "$app.service"; fail "start $app.service"; }
got=$(http_get "http://127.0.0.1:$port/") || { unit_debug "$app.service"; fail "app not serving"; }
[ "$got" = "schema v2" ] || fail "app answered '$got' (want 'schema v2': it started before the migration ended?)"
ok "start returned after $((SECONDS - start)) s with the app serving '$got' (migrate ran first, ~3 s)"
state=$(upodman inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$app-migrate-migrate")
[ "$state" = "exited 0" ] || fail "migrate container: '$state' (want 'exited 0')"
sleep 2
[ "$(unit_prop "$app.service" ActiveState)" = active ] || { unit_debug "$app.service"; fail "the unit did not stay active after the job ended"; }
[ "$(http_get "http://127.0.0.1:$port/")" = "schema v2" ] || fail "app stopped serving"
state=$(upodman inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$app-tokencheck-tokencheck")
[ "$state" = "exited 0" ] || fail "tokencheck (uid 999 reading its 0400 secret): '$state'"
ok "the jobs stay exited 0 (uid 999 read the secret given to it with mode 0400), the app keeps running"
uctl stop "$app.service"

# A migration that fails: the app never starts and the message names who and why.
as_user env MIGRATE_EXIT=3 "$qp" convert "$work/compose.yaml" -o "$UNIT_DIR" >/dev/null 2>&1 || fail "convert (failing job)"
upodman volume rm -f "$app-data" >/dev/null 2>&1 || true
if in_manager "$qp" play "$UNIT_DIR/$app.yaml" >"$work/play.log" 2>&1; then fail "play succeeded with a failing migration"; fi
grep -q 'Pod/jobs-app: waits for Pod/jobs-migrate to complete, but its container jobs-migrate-migrate exited with code 3' "$work/play.log" \
  || fail "message: $(cat "$work/play.log")"
left=$(upodman pod ps --format '{{.Name}}' | grep -c "^$app-" || true)
[ "$left" -eq 0 ] || fail "$left pods left after the failed start"
ok "a migration exiting 3 fails the start: $(grep -o 'Pod/jobs-app: waits.*code 3' "$work/play.log"); nothing left"
