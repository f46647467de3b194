#!/usr/bin/env bash
# The `registry` policy on a Quadlet .container unit (AutoUpdate=registry -> label; Podman labels the
# container PODMAN_SYSTEMD_UNIT from the unit's environment): v2 released -> the unit is restarted onto
# it; a broken v3 (exits at once; conmon, the unit's main process, exits with it) -> the unit goes
# down within the settle time, the tag is pointed back at v2, the unit restarted, exit non-zero.
# QUADPLAY_BIN=PATH runs auto-update from another build (default: the installed $PREFIX/bin/quadplay).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

REPO_IMG=127.0.0.1:5000/qp-e2e-autoupdate/ctr
IMG=$REPO_IMG:stable
PORT=18404
UNIT=qpauc.service
WORK=
# shellcheck source=4x-autoupdate-lib.sh
source "$(dirname "$0")/4x-autoupdate-lib.sh"

cleanup() {
  cleanup_unit "$UNIT" qpauc "$UNIT_DIR/qpauc.container"
  remove_images "$REPO_IMG":{v1,v2,v3,stable}
  rm -rf "$WORK"
}
trap cleanup EXIT

install_quadplay
cleanup
new_work qpauc

au() {
  capture as_user "$QP" auto-update --unit "$UNIT" --format json "$@"
  show_err
  python3 -m json.tool "$WORK/out" >/dev/null || fail "JSON does not parse: $(cat "$WORK/out")"
}

build v1
build v2
build v3 '["sh","-c","echo broken; exit 3"]'
v2=$(image_id "$REPO_IMG:v2")
release v1

put_container_unit qpauc registry "quadplay e2e: registry auto-update of a .container unit"
start_serving v1
labels=$(upodman ps --filter name=qpauc --format '{{.Labels}}')
[[ $labels == *io.containers.autoupdate:registry* && $labels == *PODMAN_SYSTEMD_UNIT:$UNIT* ]] \
  || fail "container lacks policy or unit label: $labels"
ok "$UNIT runs v1 from the registry, labelled for auto-update"

release v2
inv=$(unit_prop "$UNIT" InvocationID)
au
[ "$rc" = 0 ] && [ "$(field Updated)" = true ] || fail "update to v2: exit $rc, Updated=$(field Updated): $(field Message)"
restarted_onto "$inv" v2
ok "v2 released: $UNIT restarted onto it"

release v3
au
rolled_back_to "$v2" v2
ok "broken v3: rolled back to v2, exit $rc: $(field Message)"
