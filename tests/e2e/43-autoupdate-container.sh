#!/usr/bin/env bash
# The `registry` policy on a Quadlet .container unit (AutoUpdate=registry -> label; Podman labels the
# container PODMAN_SYSTEMD_UNIT from the unit's environment): v2 released -> the unit is restarted onto
# it; a broken v3 (exits at once; conmon, the unit's main process, exits with it) -> the unit goes
# down within the settle time, the tag is pointed back at v2, the unit restarted, exit non-zero.
# QUADPLAY_BIN=PATH runs auto-update from another build (default: the installed $PREFIX/bin/quadplay).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

QP=${QUADPLAY_BIN:-$PREFIX/bin/quadplay}
REPO_IMG=127.0.0.1:5000/qp-e2e-autoupdate/ctr
IMG=$REPO_IMG:stable
PORT=18404
UNIT=qpauc.service
WORK=$(mktemp -d /tmp/qpauc.XXXXXX)

cleanup() {
  uctl stop "$UNIT" >/dev/null 2>&1 || true
  rm -f "$UNIT_DIR/qpauc.container"
  uctl daemon-reload >/dev/null 2>&1 || true
  uctl reset-failed "$UNIT" >/dev/null 2>&1 || true
  upodman rm -f qpauc >/dev/null 2>&1 || true
  for t in v1 v2 v3 stable; do upodman rmi -f "$REPO_IMG:$t" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

install_quadplay
cleanup
WORK=$(mktemp -d /tmp/qpauc.XXXXXX)
chmod 755 "$WORK"

build() {
  local v=$1 cmd=$2
  mkdir -p "$WORK/$v"
  echo "$v" > "$WORK/$v/index.html"
  printf 'FROM localhost/busybox:latest\nCOPY index.html /www/index.html\nCMD %s\n' "$cmd" > "$WORK/$v/Containerfile"
  chmod -R a+rX "$WORK/$v"
  upodman build -q -t "$REPO_IMG:$v" "$WORK/$v" >/dev/null || fail "podman build $v"
}
release() { upodman push -q "$REPO_IMG:$1" "$IMG" || fail "push $1 as stable"; }
image_id() { upodman image inspect --format '{{.Id}}' "$1"; }
serves() { [ "$(http_get "http://127.0.0.1:$PORT/index.html")" = "$1" ]; }
au() {
  set +e
  as_user "$QP" auto-update --unit "$UNIT" --format json "$@" > "$WORK/out" 2> "$WORK/err"
  rc=$?
  set -e
  [ -s "$WORK/err" ] && sed 's/^/  stderr: /' "$WORK/err"
  python3 -m json.tool "$WORK/out" >/dev/null || fail "JSON does not parse: $(cat "$WORK/out")"
  return 0
}
field() { python3 -c "import json; e=[x for x in json.load(open('$WORK/out')) if x['Unit']=='$UNIT']; print(e[0]['$1'] if e else 'NO-ENTRY')"; }

build v1 '["httpd","-f","-p","8080","-h","/www"]'
build v2 '["httpd","-f","-p","8080","-h","/www"]'
build v3 '["sh","-c","echo broken; exit 3"]'
v2=$(image_id "$REPO_IMG:v2")
release v1

put_unit qpauc.container <<EOF
[Unit]
Description=quadplay e2e: registry auto-update of a .container unit
[Container]
ContainerName=qpauc
Image=$IMG
AutoUpdate=registry
PublishPort=127.0.0.1:$PORT:8080
StopTimeout=2
# This host runs cgroups v1 without systemd as PID 1, where Quadlet's default --cgroups=split
# cannot work; real systemd hosts (cgroups v2) do not need this line.
CgroupsMode=enabled
EOF
reload
uctl start "$UNIT" || { unit_debug "$UNIT"; fail "$UNIT did not start"; }
wait_for 20 serves v1 || { unit_debug "$UNIT"; fail "v1 not served"; }
labels=$(upodman ps --filter name=qpauc --format '{{.Labels}}')
[[ $labels == *io.containers.autoupdate:registry* && $labels == *PODMAN_SYSTEMD_UNIT:$UNIT* ]] \
  || fail "container lacks policy or unit label: $labels"
ok "$UNIT runs v1 from the registry, labelled for auto-update"

release v2
inv=$(unit_prop "$UNIT" InvocationID)
au
[ "$rc" = 0 ] && [ "$(field Updated)" = true ] || fail "update to v2: exit $rc, Updated=$(field Updated): $(field Message)"
[ "$(unit_prop "$UNIT" InvocationID)" != "$inv" ] || fail "$UNIT was not restarted"
wait_for 10 serves v2 || fail "v2 not served"
ok "v2 released: $UNIT restarted onto it"

release v3
au
[ "$rc" != 0 ] || fail "rollback must exit non-zero"
[ "$(field Updated)" = "rolled back" ] || fail "expected 'rolled back', got $(field Updated): $(field Message)"
[ "$(unit_prop "$UNIT" ActiveState)" = active ] || { unit_debug "$UNIT"; fail "$UNIT not active after rollback"; }
wait_for 10 serves v2 || fail "v2 not served after rollback"
[ "$(image_id "$IMG")" = "$v2" ] || fail "local tag not pointed back at v2"
ok "broken v3: rolled back to v2, exit $rc: $(field Message)"
