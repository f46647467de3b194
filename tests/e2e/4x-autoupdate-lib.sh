# Helpers shared by the auto-update end-to-end tests (tests/e2e/4N-autoupdate-*.sh); sourced after
# lib.sh. The name does not match run.sh's [0-9][0-9]-*.sh, so it is not run as a test itself.
# The sourcing test sets UNIT (the unit under test), PORT (where it serves), WORK (scratch dir, see
# new_work), and IMG (the tag the unit runs) / REPO_IMG (registry repository of the versions).
# shellcheck shell=bash

# auto-update from another build when QUADPLAY_BIN is set (default: the installed one).
QP=${QUADPLAY_BIN:-$PREFIX/bin/quadplay}
# The command every serving test image runs: busybox httpd serving /www on 8080.
HTTPD_CMD='["httpd","-f","-p","8080","-h","/www"]'

# new_work PREFIX — a fresh scratch dir the test user can read, in $WORK.
new_work() {
  WORK=$(mktemp -d "/tmp/$1.XXXXXX")
  chmod 755 "$WORK"
}

# cleanup_unit UNIT NAME FILE... — stop UNIT, remove its Quadlet FILEs, forget it, remove container
# or pod NAME (pod when NAME is "pod:..."). Best effort: runs from traps, before and after a test.
cleanup_unit() {
  local unit=$1 name=$2; shift 2
  uctl stop "$unit" >/dev/null 2>&1 || true
  rm -f "$@"
  uctl daemon-reload >/dev/null 2>&1 || true
  uctl reset-failed "$unit" >/dev/null 2>&1 || true
  case $name in
    pod:*) upodman pod rm -f "${name#pod:}" >/dev/null 2>&1 || true ;;
    *) upodman rm -f "$name" >/dev/null 2>&1 || true ;;
  esac
}
# remove_images TAG... — best effort.
remove_images() {
  local t
  for t in "$@"; do upodman rmi -f "$t" >/dev/null 2>&1 || true; done
}

# build_image TAG CONTENT [CMD-JSON] — an image from the local busybox that serves "CONTENT"
# (or runs CMD), tagged TAG.
build_image() {
  local tag=$1 v=$2 cmd=${3:-$HTTPD_CMD}
  mkdir -p "$WORK/$v"
  echo "$v" > "$WORK/$v/index.html"
  printf 'FROM localhost/busybox:latest\nCOPY index.html /www/index.html\nCMD %s\n' "$cmd" > "$WORK/$v/Containerfile"
  chmod -R a+rX "$WORK/$v"
  upodman build -q -t "$tag" "$WORK/$v" >/dev/null || fail "podman build $v"
}
# build VERSION [CMD-JSON] — build_image as $REPO_IMG:VERSION, serving "VERSION".
build() { build_image "$REPO_IMG:$1" "$1" "${2:-$HTTPD_CMD}"; }
# rebuild CONTENT — (re)build the local tag $IMG, serving CONTENT.
rebuild() { build_image "$IMG" "$1"; }
# release VERSION — push that build to the registry's :stable tag (the machine's own tag stays).
release() { upodman push -q "$REPO_IMG:$1" "$IMG" || fail "push $1 as stable"; }
image_id() { upodman image inspect --format '{{.Id}}' "$1"; }
serves() { [ "$(http_get "http://127.0.0.1:$PORT/index.html")" = "$1" ]; }

# put_container_unit NAME POLICY [DESCRIPTION] — NAME.container running $IMG as container NAME,
# published on $PORT, with AutoUpdate=POLICY.
put_container_unit() {
  local name=$1 policy=$2 desc=${3:-}
  {
    [ -z "$desc" ] || printf '[Unit]\nDescription=%s\n' "$desc"
    cat <<EOF
[Container]
ContainerName=$name
Image=$IMG
AutoUpdate=$policy
PublishPort=127.0.0.1:$PORT:8080
StopTimeout=2
# This host runs cgroups v1 without systemd as PID 1, where Quadlet's default --cgroups=split
# cannot work; real systemd hosts (cgroups v2) do not need this line.
CgroupsMode=enabled
EOF
  } | put_unit "$name.container"
}

# start_serving CONTENT — reload, start $UNIT, wait until it serves CONTENT.
start_serving() {
  reload
  uctl start "$UNIT" || { unit_debug "$UNIT"; fail "$UNIT did not start"; }
  wait_for 20 serves "$1" || { unit_debug "$UNIT"; fail "'$1' not served"; }
}

# capture CMD... — run CMD with stdout in $WORK/out, stderr in $WORK/err, exit status in $rc.
capture() {
  set +e
  "$@" > "$WORK/out" 2> "$WORK/err"
  rc=$?
  set -e
}
# show_err — the captured stderr, indented, if any.
show_err() {
  [ -s "$WORK/err" ] && sed 's/^/  stderr: /' "$WORK/err"
  return 0
}
# field KEY — that key of this unit's (first) JSON entry in $WORK/out.
field() { python3 -c "import json; e=[x for x in json.load(open('$WORK/out')) if x['Unit']=='$UNIT']; print(e[0]['$1'] if e else 'NO-ENTRY')"; }

# restarted_onto INVOCATION CONTENT — $UNIT has a new invocation and serves CONTENT.
restarted_onto() {
  [ "$(unit_prop "$UNIT" InvocationID)" != "$1" ] || fail "$UNIT was not restarted"
  wait_for 10 serves "$2" || fail "'$2' not served after the update"
}
# rolled_back_to IMAGE-ID CONTENT — the last JSON run rolled back: non-zero exit, "rolled back",
# $UNIT active and serving CONTENT, the local tag $IMG back at IMAGE-ID.
rolled_back_to() {
  [ "$rc" != 0 ] || fail "a rolled-back update must exit non-zero"
  [ "$(field Updated)" = "rolled back" ] || fail "expected 'rolled back', got $(field Updated): $(field Message)"
  [ "$(unit_prop "$UNIT" ActiveState)" = active ] || { unit_debug "$UNIT"; fail "$UNIT not active after rollback"; }
  wait_for 10 serves "$2" || fail "$2 not served after rollback"
  [ "$(image_id "$IMG")" = "$1" ] || fail "local tag not pointed back at $2"
}
