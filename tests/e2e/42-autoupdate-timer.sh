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
WORK=
copied=()
# shellcheck source=4x-autoupdate-lib.sh
source "$(dirname "$0")/4x-autoupdate-lib.sh"

cleanup() {
  uctl stop quadplay-auto-update.timer >/dev/null 2>&1 || true
  rm -rf "$DROPIN"
  cleanup_unit "$UNIT" qpaut "$UNIT_DIR/qpaut.container" "${copied[@]}"
  uctl reset-failed quadplay-auto-update.service >/dev/null 2>&1 || true
  remove_images "$IMG"
  rm -rf "$WORK"
}
trap cleanup EXIT

install_quadplay
cleanup
new_work qpaut

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
ExecStart=$QP auto-update --unit $UNIT --settle 2
StandardOutput=file:$WORK/report
EOF
reload
[ "$(unit_prop quadplay-auto-update.timer LoadState)" = loaded ] || fail "timer not loaded"
[ "$(unit_prop quadplay-auto-update.service Type)" = oneshot ] || fail "service is not Type=oneshot"
uctl start quadplay-auto-update.timer || fail "cannot start the timer"
timers=$(uctl list-timers --all --no-pager)
grep -q "quadplay-auto-update.timer.*quadplay-auto-update.service" <<<"$timers" || fail "not in list-timers: $timers"
# Persistent=true: a user whose last run was before midnight gets a catch-up run at once, and the
# timer has no next elapse until that run ends (seen on the first run after midnight).
next_elapse() { [ -n "$(unit_prop quadplay-auto-update.timer NextElapseUSecRealtime)" ]; }
wait_for 30 next_elapse || fail "timer has no next elapse"
[ "$(unit_prop quadplay-auto-update.timer Persistent)" = yes ] || fail "timer is not Persistent"
[ "$(unit_prop quadplay-auto-update.timer RandomizedDelayUSec)" = 15min ] || fail "RandomizedDelaySec is not 900"
ok "timer loads and is scheduled: $(grep quadplay-auto-update <<<"$timers" | tr -s ' ')"
uctl stop quadplay-auto-update.timer

rebuild one
put_container_unit qpaut local
start_serving one

rebuild two
inv=$(unit_prop "$UNIT" InvocationID)
uctl start quadplay-auto-update.service || { cat "$WORK/report"; unit_debug quadplay-auto-update.service; fail "the auto-update service failed"; }
cat "$WORK/report"
[ "$(unit_prop quadplay-auto-update.service Result)" = success ] || fail "service result is not success"
grep -q "$UNIT .* true " "$WORK/report" || fail "report does not show $UNIT updated"
restarted_onto "$inv" two
ok "quadplay-auto-update.service, run by the user manager, restarted $UNIT onto the rebuilt image"
