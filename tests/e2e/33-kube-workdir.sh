#!/usr/bin/env bash
# A workingDir the image lacks is created, as Kubernetes runtimes do (issue 13, item 10): Podman
# (4.3 and 5.4) refuses to start a container in it ("workdir … does not exist"), so the executor
# makes the directory in the created container and starts it again. An init container and an app
# container of one pod each run in a directory busybox does not have, and write a file there.
source "$(dirname "$0")/lib.sh"
if [ -z "${QUADPLAY_BIN:-}" ]; then install_quadplay; QUADPLAY_BIN=$PREFIX/bin/quadplay; fi
qp() { in_manager "$QUADPLAY_BIN" "$@"; }
dir=$E2E_HOME/kp-wd
yaml=$dir/app.yaml

cleanup() {
  qp down "$yaml" >/tmp/kp-wd-cleanup.out 2>&1 \
    || { log "cleanup: down failed:"; cat /tmp/kp-wd-cleanup.out; }
  rm -rf "$dir"
}
trap cleanup EXIT

for d in /srv/app/data /srv/init; do
  if upodman run --rm localhost/busybox:latest test -e "$d"; then fail "the image has $d: the test proves nothing"; fi
done
put_file "$yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata:
  name: kp-wd
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
  - name: prepare
    image: localhost/busybox:latest
    workingDir: /srv/init
    command: [sh, -c, 'pwd > /shared/init-pwd && echo from-init > made-by-init']
    volumeMounts: [{name: shared, mountPath: /shared}]
  containers:
  - name: app
    image: localhost/busybox:latest
    workingDir: /srv/app/data
    command: [sh, -c, 'echo written-here > note && exec sleep 100000']
    volumeMounts: [{name: shared, mountPath: /shared}]
  volumes:
  - {name: shared, emptyDir: {}}
YAML
qp play --detach "$yaml" >/tmp/kp-wd-play.out 2>&1 \
  || { cat /tmp/kp-wd-play.out; upodman ps -a; fail "play failed"; }
wait_for 20 upodman exec kp-wd-app test -s /srv/app/data/note \
  || fail "the app wrote nothing into its working directory: $(upodman logs kp-wd-app 2>&1 | tail -3)"
[ "$(upodman exec kp-wd-app cat /srv/app/data/note)" = written-here ] || fail "note has the wrong content"
[ "$(upodman exec kp-wd-app readlink /proc/1/cwd)" = /srv/app/data ] \
  || fail "the app's process runs in $(upodman exec kp-wd-app readlink /proc/1/cwd)"
ok "app container: workingDir /srv/app/data created, the process runs there and wrote a file"
[ "$(upodman exec kp-wd-app cat /shared/init-pwd)" = /srv/init ] \
  || fail "init container ran in [$(upodman exec kp-wd-app cat /shared/init-pwd 2>&1)], want /srv/init"
ok "init container: workingDir /srv/init created, it ran and wrote there"
[ "$(upodman exec kp-wd-app stat -c '%a %u' /srv/app/data)" = "755 0" ] \
  || fail "the working directory is $(upodman exec kp-wd-app stat -c '%a %u' /srv/app/data), want 755 owned by root"
ok "the directory is mode 755, owned by the container's user (root)"
qp down "$yaml" >/tmp/kp-wd-down.out 2>&1 || { cat /tmp/kp-wd-down.out; fail "down failed"; }
if upodman pod exists kp-wd; then fail "pod left after down"; fi
ok "down removes the pod"
