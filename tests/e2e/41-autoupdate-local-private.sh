#!/usr/bin/env bash
# The `local` policy on a Quadlet .container unit (AutoUpdate=local -> label), with quadplay reaching
# the user manager through its private socket only ($XDG_RUNTIME_DIR/systemd/private, peer-to-peer,
# no bus): the image's local tag is rebuilt -> auto-update restarts the unit onto it; run again ->
# nothing to do; while another run holds the lock, a run is refused. The private-socket run sees an
# XDG_RUNTIME_DIR that holds only that socket (and no DBUS_SESSION_BUS_ADDRESS); Podman itself is
# given the real runtime dir through $PODMAN.
# QUADPLAY_BIN=PATH runs auto-update from another build (default: the installed $PREFIX/bin/quadplay).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

IMG=localhost/qp-e2e-autoupdate-local:latest
PORT=18402
UNIT=qpaul.service
WORK=
# shellcheck source=4x-autoupdate-lib.sh
source "$(dirname "$0")/4x-autoupdate-lib.sh"

cleanup() {
  cleanup_unit "$UNIT" qpaul "$UNIT_DIR/qpaul.container"
  remove_images "$IMG"
  rm -rf "$WORK"
}
trap cleanup EXIT

install_quadplay
cleanup
new_work qpaul

# A runtime dir with nothing but the manager's private socket, and a podman that uses the real one.
fake_rt=$WORK/rt
mkdir -p "$fake_rt/systemd"
ln -s "$XDG_RUNTIME_DIR/systemd/private" "$fake_rt/systemd/private"
printf '#!/bin/sh\nexec env XDG_RUNTIME_DIR=%s podman "$@"\n' "$XDG_RUNTIME_DIR" > "$WORK/podman"
chmod 755 "$WORK/podman"
chown -R "$E2E_USER:$E2E_USER" "$fake_rt"
[ ! -e "$fake_rt/bus" ] && [ -S "$fake_rt/systemd/private" ] || fail "fake runtime dir is not private-socket-only"
as_private_user() {
  (cd /tmp && runuser -u "$E2E_USER" -- env -u DBUS_SESSION_BUS_ADDRESS XDG_RUNTIME_DIR="$fake_rt" \
    HOME="$E2E_HOME" PATH="$PREFIX/bin:/usr/bin:/bin" PODMAN="$WORK/podman" "$@")
}
au_private() {
  capture as_private_user timeout 120 "$QP" auto-update --unit "$UNIT" --settle 2 "$@"
  cat "$WORK/out"
  show_err
}

rebuild one
put_container_unit qpaul local "quadplay e2e: local auto-update of a .container unit"
start_serving one
labels=$(upodman ps --filter name=qpaul --format '{{.Labels}}')
[[ $labels == *io.containers.autoupdate:local* ]] || fail "container lacks io.containers.autoupdate=local: $labels"
ok "$UNIT runs the local image, labelled io.containers.autoupdate=local"

rebuild two
inv=$(unit_prop "$UNIT" InvocationID)
au_private --format table
[ "$rc" = 0 ] || fail "local update over the private socket exited $rc"
grep -Eq "^$UNIT .* local +true " "$WORK/out" || fail "table does not show $UNIT updated"
grep -q "systemd reached through unix:path=$fake_rt/systemd/private (private socket)" "$WORK/out" \
  || fail "the run did not go through the private socket"
restarted_onto "$inv" two
ok "rebuilt tag: restarted through the private socket (no bus), serves the new build"

au_private --format json
[ "$rc" = 0 ] && [ "$(field Updated)" = false ] || fail "second run: expected Updated=false exit 0, got $(field Updated) exit $rc"
ok "second run: nothing to do"

# One run at a time: while another holds the lock, a (non-dry) run refuses to start.
(cd /tmp && runuser -u "$E2E_USER" -- flock "$fake_rt/quadplay-auto-update.lock" sleep 3) &
holder=$!
wait_for 2 test -e "$fake_rt/quadplay-auto-update.lock"
sleep 0.3
au_private --format json
wait "$holder" || true
[ "$rc" != 0 ] && grep -q "another quadplay auto-update is running" "$WORK/err" \
  || fail "a second concurrent run was not refused (exit $rc)"
ok "a concurrent run is refused while the lock is held"
