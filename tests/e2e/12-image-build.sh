#!/usr/bin/env bash
# The .build, .image and image-driver .volume kinds against the real thing: the installed generator
# turns them into services that the test user's systemd runs with rootless Podman.
# Checks: a .build builds a local image from a Containerfile (FROM the local busybox image) and a
# .container with Image=that.build runs it, the build service pulled in by Requires=/After=; a .image
# pulls from the loopback registry (the image is not there before) and a .container with
# Image=that.image starts after it; a .volume with Driver=image and Image=that.build gives a
# container the built image's files; a missing reference fails the generator naming file and key.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

REG_IMG=127.0.0.1:5000/qp-e2e-kinds/pulled:1
BUILT=localhost/qpk-built:latest
UNITS=(qpk.build qpk.image qpk-data.volume qpk-built.container qpk-pulled.container qpk-voluser.container)
SERVICES=(qpk-built.service qpk-pulled.service qpk-voluser.service qpk-data-volume.service
          qpk-build.service qpk-image.service)

cleanup() {
  uctl stop "${SERVICES[@]}" >/dev/null 2>&1 || true
  for u in "${UNITS[@]}" qpk-missing.container; do rm -f "$UNIT_DIR/$u"; done
  rm -rf "$UNIT_DIR/qpk-ctx"
  uctl daemon-reload >/dev/null 2>&1 || true
  uctl reset-failed "${SERVICES[@]}" >/dev/null 2>&1 || true
  upodman rm -f systemd-qpk-built systemd-qpk-pulled systemd-qpk-voluser >/dev/null 2>&1 || true
  upodman volume rm -f systemd-qpk-data >/dev/null 2>&1 || true
  upodman rmi -f "$BUILT" "$REG_IMG" >/dev/null 2>&1 || true
}
trap cleanup EXIT

install_quadplay
cleanup

# The registry holds an image the user does not have locally: only the .image unit can bring it.
upodman tag localhost/busybox:latest "$REG_IMG"
upodman push -q "$REG_IMG" >/dev/null || fail "could not push $REG_IMG to the loopback registry"
upodman rmi "$REG_IMG" >/dev/null
upodman image exists "$REG_IMG" && fail "$REG_IMG still present locally"

# A build context beside the units: SetWorkingDirectory=unit makes the unit dir the working dir
# and the context, so File= and COPY paths are relative to it.
put_file "$UNIT_DIR/qpk-ctx/Containerfile" <<'EOF'
FROM localhost/busybox:latest
COPY qpk-ctx/greeting.txt /srv/greeting.txt
EOF
echo "built by quadplay" | put_file "$UNIT_DIR/qpk-ctx/greeting.txt"
put_unit qpk.build <<EOF
[Build]
ImageTag=$BUILT
File=qpk-ctx/Containerfile
SetWorkingDirectory=unit
Pull=never
Label=test=qpk
EOF
put_unit qpk-built.container <<'EOF'
[Container]
Image=qpk.build
Exec=sh -c 'cat /srv/greeting.txt; exec sleep 1000'
StopTimeout=2
EOF
put_unit qpk.image <<EOF
[Image]
Image=$REG_IMG
TLSVerify=false
EOF
put_unit qpk-pulled.container <<'EOF'
[Container]
Image=qpk.image
Exec=sleep 1000
StopTimeout=2
EOF
put_unit qpk-data.volume <<'EOF'
[Volume]
Driver=image
Image=qpk.build
EOF
put_unit qpk-voluser.container <<'EOF'
[Container]
Image=localhost/busybox:latest
Volume=qpk-data.volume:/data
Exec=sh -c 'cat /data/srv/greeting.txt; exec sleep 1000'
StopTimeout=2
EOF
reload

for s in "${SERVICES[@]}"; do
  [ "$(unit_prop "$s" LoadState)" = loaded ] || fail "$s did not load: $(unit_prop "$s" LoadError)"
done
[[ $(unit_prop qpk-built.service Requires) == *qpk-build.service* ]] || fail "qpk-built lacks Requires=qpk-build.service"
[[ $(unit_prop qpk-built.service After) == *qpk-build.service* ]] || fail "qpk-built lacks After=qpk-build.service"
[[ $(unit_prop qpk-pulled.service After) == *qpk-image.service* ]] || fail "qpk-pulled lacks After=qpk-image.service"
[[ $(unit_prop qpk-data-volume.service Requires) == *qpk-build.service* ]] || fail "the image volume lacks Requires=qpk-build.service"
ok "units loaded; containers and the volume require and follow the build/image services"

# .build → .container
uctl start qpk-built.service || { unit_debug qpk-build.service; unit_debug qpk-built.service; fail "qpk-built did not start"; }
upodman image exists "$BUILT" || fail "$BUILT was not built"
[ "$(upodman image inspect "$BUILT" --format '{{index .Labels "test"}}')" = qpk ] || fail "Label= not applied to the build"
has_greeting() { upodman logs systemd-qpk-built 2>&1 | grep -qx "built by quadplay"; }
wait_for 20 has_greeting || fail "the built container did not print the file its Containerfile copied"
[ "$(upodman inspect systemd-qpk-built --format '{{.ImageName}}')" = "$BUILT" ] || fail "qpk-built does not run $BUILT"
ok "qpk.build built $BUILT from the Containerfile; Image=qpk.build runs it"

# .image → .container, in order
uctl start qpk-pulled.service || { unit_debug qpk-image.service; unit_debug qpk-pulled.service; fail "qpk-pulled did not start"; }
upodman image exists "$REG_IMG" || fail "$REG_IMG was not pulled"
[ "$(unit_prop qpk-image.service ActiveState)" = active ] || fail "qpk-image.service not active (RemainAfterExit)"
image_done=$(unit_prop qpk-image.service ExecMainExitTimestampMonotonic)
ctr_start=$(unit_prop qpk-pulled.service ExecMainStartTimestampMonotonic)
[ "$image_done" -gt 0 ] && [ "$ctr_start" -ge "$image_done" ] \
  || fail "qpk-pulled started ($ctr_start) before the pull ended ($image_done)"
[ "$(upodman inspect systemd-qpk-pulled --format '{{.ImageName}}')" = "$REG_IMG" ] || fail "qpk-pulled does not run $REG_IMG"
ok "qpk.image pulled $REG_IMG from the registry; Image=qpk.image started after the pull"

# .volume Driver=image → .container
uctl start qpk-voluser.service || { unit_debug qpk-data-volume.service; unit_debug qpk-voluser.service; fail "qpk-voluser did not start"; }
[ "$(upodman volume inspect systemd-qpk-data --format '{{.Driver}}')" = image ] || fail "volume systemd-qpk-data has not the image driver"
vol_greeting() { upodman logs systemd-qpk-voluser 2>&1 | grep -qx "built by quadplay"; }
wait_for 20 vol_greeting || fail "the image volume did not hold the built image's files"
ok "qpk-data.volume (Driver=image, Image=qpk.build) gave the container the built image's files"

# A reference to a unit that does not exist: the generator says which file and key.
put_unit qpk-missing.container <<'EOF'
[Container]
Image=nowhere.build
EOF
out=$(as_user "$PREFIX/lib/systemd/user-generators/quadplay-user-generator" -dryrun -no-kmsg-log 2>&1 >/dev/null || true)
[[ $out == *"qpk-missing.container:2: Image: requested Quadlet image nowhere.build was not found"* ]] \
  || fail "no error naming the missing reference: $out"
ok "a missing Image=x.build is reported with file, line and key"
