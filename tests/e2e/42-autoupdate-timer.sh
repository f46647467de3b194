#!/usr/bin/env bash
# units/quadplay-auto-update.{service,timer} in the real user manager: both verify in the user and the
# system manager; the timer loads and is scheduled (list-timers); the service, started by the user
# manager itself, updates a unit (local policy) and succeeds. The shipped files are used as
# installed by `make install` if they are there, else copied into the user's runtime unit dir with
# /usr/bin/ rewritten to $PREFIX/bin/ (as the Makefile does). A drop-in limits the run to this
# test's unit (other tests' containers may carry policies too) and sends the report to a file
# (there is no journald here).
# QUADPLAY_BIN=PATH runs auto-update from another build (default: the installed $PREFIX/bin/quadplay).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

IMG=localhost/qp-e2e-autoupdate-timer:latest
PORT=18403
UNIT=qpaut.service
RUNTIME_UNITS=$XDG_RUNTIME_DIR/systemd/user
DROPIN=$RUNTIME_UNITS/quadplay-auto-update.service.d
WORK=$(mktemp -d /tmp/qpaut.XXXXXX)
copied=()

cleanup() {
  uctl stop quadplay-auto-update.timer "$UNIT" >/dev/null 2>&1 || true
  rm -f "$UNIT_DIR/qpaut.container" "${copied[@]}"
  rm -rf "$DROPIN"
  uctl daemon-reload >/dev/null 2>&1 || true
  uctl reset-failed "$UNIT" quadplay-auto-update.service >/dev/null 2>&1 || true
  upodman rm -f qpaut >/dev/null 2>&1 || true
  upodman rmi -f "$IMG" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

install_quadplay
cleanup
WORK=$(mktemp -d /tmp/qpaut.XXXXXX)
chmod 755 "$WORK"

installed=$PREFIX/lib/systemd/user
if [ -f "$installed/quadplay-auto-update.timer" ] && [ -f "$installed/quadplay-auto-update.service" ]; then
  unit_src=$installed
  log "using the installed units in $installed"
else
  unit_src=$RUNTIME_UNITS
  install -d -o "$E2E_USER" -g "$E2E_USER" "$RUNTIME_UNITS"
  for f in quadplay-auto-update.service quadplay-auto-update.timer; do
    sed "s|/usr/bin/|$PREFIX/bin/|g" "$REPO/units/$f" > "$RUNTIME_UNITS/$f"
    copied+=("$RUNTIME_UNITS/$f")
  done
  log "units not installed by make; using copies in $RUNTIME_UNITS"
fi
grep -q "^ExecStart=$PREFIX/bin/quadplay auto-update$" "$unit_src/quadplay-auto-update.service" \
  || fail "service does not run $PREFIX/bin/quadplay auto-update"

# Valid for both managers (--man=no: the man page may not be installed on a test host).
verify_dir=$WORK/verify
mkdir -p "$verify_dir"
cp "$unit_src"/quadplay-auto-update.{service,timer} "$verify_dir/"
chmod -R a+rX "$verify_dir"
as_user env SYSTEMD_UNIT_PATH="$verify_dir:" systemd-analyze --user --man=no verify \
  "$verify_dir/quadplay-auto-update.timer" "$verify_dir/quadplay-auto-update.service" \
  || fail "systemd-analyze --user verify"
XDG_RUNTIME_DIR=$WORK SYSTEMD_UNIT_PATH="$verify_dir:" systemd-analyze --man=no verify \
  "$verify_dir/quadplay-auto-update.timer" "$verify_dir/quadplay-auto-update.service" \
  || fail "systemd-analyze verify (system manager)"
ok "service and timer verify for the user and the system manager"

# Before the timer is ever started: should it fire, it only touches this test's unit.
install -d -o "$E2E_USER" -g "$E2E_USER" "$DROPIN"
touch "$WORK/report"; chown "$E2E_USER" "$WORK/report"
cat > "$DROPIN/e2e.conf" <<EOF
[Service]
ExecStart=
ExecStart=${QUADPLAY_BIN:-$PREFIX/bin/quadplay} auto-update --unit $UNIT --settle 2
StandardOutput=file:$WORK/report
EOF
reload
[ "$(unit_prop quadplay-auto-update.timer LoadState)" = loaded ] || fail "timer not loaded"
[ "$(unit_prop quadplay-auto-update.service Type)" = oneshot ] || fail "service is not Type=oneshot"
uctl start quadplay-auto-update.timer || fail "cannot start the timer"
timers=$(uctl list-timers --all --no-pager)
grep -q "quadplay-auto-update.timer.*quadplay-auto-update.service" <<<"$timers" || fail "not in list-timers: $timers"
[ -n "$(unit_prop quadplay-auto-update.timer NextElapseUSecRealtime)" ] || fail "timer has no next elapse"
[ "$(unit_prop quadplay-auto-update.timer Persistent)" = yes ] || fail "timer is not Persistent"
[ "$(unit_prop quadplay-auto-update.timer RandomizedDelayUSec)" = 15min ] || fail "RandomizedDelaySec is not 900"
ok "timer loads and is scheduled: $(grep quadplay-auto-update <<<"$timers" | tr -s ' ')"
uctl stop quadplay-auto-update.timer

rebuild() {
  mkdir -p "$WORK/$1"
  echo "$1" > "$WORK/$1/index.html"
  printf 'FROM localhost/busybox:latest\nCOPY index.html /www/index.html\nCMD ["httpd","-f","-p","8080","-h","/www"]\n' > "$WORK/$1/Containerfile"
  chmod -R a+rX "$WORK/$1"
  upodman build -q -t "$IMG" "$WORK/$1" >/dev/null || fail "podman build $1"
}
serves() { [ "$(http_get "http://127.0.0.1:$PORT/index.html")" = "$1" ]; }

rebuild one
put_unit qpaut.container <<EOF
[Container]
ContainerName=qpaut
Image=$IMG
AutoUpdate=local
PublishPort=127.0.0.1:$PORT:8080
StopTimeout=2
# This host runs cgroups v1 without systemd as PID 1, where Quadlet's default --cgroups=split
# cannot work; real systemd hosts (cgroups v2) do not need this line.
CgroupsMode=enabled
EOF
reload
uctl start "$UNIT" || { unit_debug "$UNIT"; fail "$UNIT did not start"; }
wait_for 20 serves one || { unit_debug "$UNIT"; fail "'one' not served"; }

rebuild two
inv=$(unit_prop "$UNIT" InvocationID)
uctl start quadplay-auto-update.service || { cat "$WORK/report"; unit_debug quadplay-auto-update.service; fail "the auto-update service failed"; }
cat "$WORK/report"
[ "$(unit_prop quadplay-auto-update.service Result)" = success ] || fail "service result is not success"
grep -q "$UNIT .* true " "$WORK/report" || fail "report does not show $UNIT updated"
[ "$(unit_prop "$UNIT" InvocationID)" != "$inv" ] || fail "$UNIT was not restarted"
wait_for 10 serves two || fail "'two' not served after the service ran"
ok "quadplay-auto-update.service, run by the user manager, restarted $UNIT onto the rebuilt image"
