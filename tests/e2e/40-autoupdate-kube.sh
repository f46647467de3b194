#!/usr/bin/env bash
# Auto-update of a .kube unit against a real registry (loopback), over the user manager's D-Bus API.
# An image is released by pushing a build to the :stable tag that the pod runs:
#   v1 running -> v2 released: --dry-run reports "pending" and changes nothing; JSON parses
#              -> real run: the pod is replaced inside the running unit (same invocation: a .kube
#                 unit's pods are updated one by one through its executor) and serves v2, exit 0
#   v3 released (exits at once; the unit itself stays active: restartPolicy Always lets Podman restart it)
#              -> the run sees the container fail (exit code or restart count) within the settle time,
#                 retags v2, replaces the pod again, the unit (never restarted) serves v2 again, exit non-zero, report says "rolled back".
# QUADPLAY_BIN=PATH runs auto-update from another build (default: the installed $PREFIX/bin/quadplay).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

REPO_IMG=127.0.0.1:5000/qp-e2e-autoupdate/web
IMG=$REPO_IMG:stable
PORT=18401
UNIT=qpau.service
WORK=
# shellcheck source=4x-autoupdate-lib.sh
source "$(dirname "$0")/4x-autoupdate-lib.sh"

cleanup() {
  cleanup_unit "$UNIT" pod:qpau "$UNIT_DIR/qpau.kube" "$UNIT_DIR/qpau.yaml"
  remove_images "$REPO_IMG":{v1,v2,v3,stable}
  rm -rf "$WORK"
}
trap cleanup EXIT
# KEEP=1 leaves the unit and images in place for inspection.
[ -n "${KEEP:-}" ] && trap - EXIT

install_quadplay
cleanup
new_work qpau

ctr_image() { upodman ps --no-trunc --filter pod=qpau --filter label=io.containers.autoupdate --format '{{.ImageID}}'; }
# au ARGS... — quadplay auto-update as the user, for this unit only (other tests' containers may
# carry policies too); output in $WORK/out, exit status in $rc.
au() {
  capture as_user "$QP" auto-update --unit "$UNIT" "$@"
  cat "$WORK/out"
  show_err
}

build v1
build v2
build v3 '["sh","-c","echo broken; exit 3"]'
v1=$(image_id "$REPO_IMG:v1"); v2=$(image_id "$REPO_IMG:v2"); v3=$(image_id "$REPO_IMG:v3")
release v1

put_file "$UNIT_DIR/qpau.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: qpau
spec:
  # httpd as PID 1 ignores SIGTERM: do not wait out a long grace period at each restart.
  terminationGracePeriodSeconds: 2
  containers:
  - name: web
    image: $IMG
    ports:
    - containerPort: 8080
      hostPort: $PORT
      hostIP: 127.0.0.1
EOF
put_unit qpau.kube <<'EOF'
[Unit]
Description=quadplay e2e: auto-update of a .kube unit
[Kube]
Yaml=qpau.yaml
AutoUpdate=registry
[Service]
TimeoutStopSec=20
EOF
start_serving v1
labels=$(upodman ps --filter pod=qpau --format '{{.Names}} {{.Labels}}' | grep -v infra || true)
[[ $labels == *io.containers.autoupdate:registry* ]] || fail "container lacks the policy label: $labels"
[[ $labels == *PODMAN_SYSTEMD_UNIT:$UNIT* ]] || fail "container lacks PODMAN_SYSTEMD_UNIT=$UNIT: $labels"
[ "$(ctr_image)" = "$v1" ] || fail "container does not run v1"
ok "$UNIT runs v1 pulled from the registry; its container carries policy and unit labels"

au --format json
[ "$rc" = 0 ] || fail "auto-update with nothing new exited $rc"
python3 -m json.tool "$WORK/out" >/dev/null || fail "JSON does not parse"
[ "$(field Updated)" = false ] || fail "expected Updated=false with v1 everywhere, got $(field Updated)"
ok "nothing new: Updated=false, exit 0, JSON parses"

release v2
inv=$(unit_prop "$UNIT" InvocationID)
au --dry-run --format json
[ "$rc" = 0 ] || fail "dry run exited $rc"
python3 -m json.tool "$WORK/out" >/dev/null || fail "dry-run JSON does not parse"
[ "$(field Updated)" = pending ] || fail "dry run: expected pending, got $(field Updated)"
[ "$(unit_prop "$UNIT" InvocationID)" = "$inv" ] || fail "dry run restarted the unit"
[ "$(ctr_image)" = "$v1" ] || fail "dry run changed the container"
[ "$(image_id "$IMG")" = "$v1" ] || fail "dry run moved the local tag"
au --dry-run
grep -q "pending" "$WORK/out" && grep -q "would replace pod qpau of $UNIT" "$WORK/out" || fail "dry-run table does not say what it would do"
ok "v2 released: --dry-run says pending / would replace pod qpau, changes nothing (unit, container, tag)"

start=$SECONDS
au
[ "$rc" = 0 ] || fail "update to v2 exited $rc"
grep -Eq "^$UNIT .* registry +true " "$WORK/out" || fail "table does not report the update"
grep -q "systemd reached through unix:path=$XDG_RUNTIME_DIR/bus" "$WORK/out" || fail "the run did not use the session bus"
[ "$(unit_prop "$UNIT" ActiveState)" = active ] || { unit_debug "$UNIT"; fail "$UNIT not active after update"; }
[ "$(unit_prop "$UNIT" InvocationID)" = "$inv" ] || fail "$UNIT was restarted: a .kube unit's pod is replaced in place"
wait_for 10 serves v2 || fail "v2 not served after the update"
[ "$(ctr_image)" = "$v2" ] || fail "container does not run v2"
ok "update: pod qpau replaced onto v2 inside the running $UNIT, serves it ($((SECONDS - start)) s including the 5 s settle)"

release v3
inv=$(unit_prop "$UNIT" InvocationID)
start=$SECONDS
au --format json
python3 -m json.tool "$WORK/out" >/dev/null || fail "JSON does not parse"
rolled_back_to "$v2" v2
[ "$(unit_prop "$UNIT" InvocationID)" = "$inv" ] || fail "$UNIT was restarted during the rollback"
[ "$(ctr_image)" = "$v2" ] || fail "container does not run v2 after rollback"
[ "$v3" != "$v2" ] || fail "v3 and v2 are the same image"
ok "broken v3: rolled back to v2, unit active and serving, exit $rc ($((SECONDS - start)) s): $(field Message)"
