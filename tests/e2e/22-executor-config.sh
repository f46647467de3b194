#!/usr/bin/env bash
# ConfigMap envFrom, Secret secretKeyRef and Secret volume (seen inside the container; absent from
# `ps`, the unit file and the executor's output), hostPath file and directory, and PVC data that
# survives a restart of the unit (and goes only with `down --force`).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/2x-executor-lib.sh"
cleanup() {
  qpx_cleanup
  upodman volume rm -f qpx-data >/dev/null 2>&1 || true
  rm -rf "$E2E_HOME/qpx-cfg"
}
trap cleanup EXIT
SECRET_VALUE=s3cr3t-qpx-$RANDOM$RANDOM
dir=$E2E_HOME/qpx-cfg
put_file "$dir/dir/hello.txt" <<<"hello-from-host-dir"
put_file "$dir/file.txt" <<<"hello-from-host-file"
yaml=$dir/app.yaml
qpx_yaml "$yaml" <<YAML
apiVersion: v1
kind: ConfigMap
metadata: {name: qpx-cfg}
data: {GREETING: hello-config, COLOR: blue}
---
apiVersion: v1
kind: Secret
metadata: {name: qpx-sec}
data: {password: $(printf %s "$SECRET_VALUE" | base64 -w0)}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: qpx-data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 10Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: qpx-cfg}
spec:
  restartPolicy: Always
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: localhost/busybox:latest
    command: [sh, -c, 'test -s /data/first || cat /proc/sys/kernel/random/uuid > /data/first; exec sleep 100000']
    envFrom: [{configMapRef: {name: qpx-cfg}}]
    env:
    - name: PASSWORD
      valueFrom: {secretKeyRef: {name: qpx-sec, key: password}}
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: hdir, mountPath: /mnt/dir}
    - {name: hfile, mountPath: /mnt/file.txt}
    - {name: secvol, mountPath: /etc/sec}
  volumes:
  - {name: data, persistentVolumeClaim: {claimName: qpx-data}}
  - {name: hdir, hostPath: {path: $dir/dir, type: Directory}}
  - {name: hfile, hostPath: {path: $dir/file.txt, type: File}}
  - {name: secvol, secret: {secretName: qpx-sec}}
YAML
qpx_unit qpx-cfg "$yaml"
uctl start qpx-cfg.service || qpx_fail "start failed"
ctr=qpx-cfg-app
env1=$(upodman exec "$ctr" cat /proc/1/environ | tr '\0' '\n')
grep -qx 'GREETING=hello-config' <<<"$env1" || qpx_fail "ConfigMap envFrom not in the environment: $env1"
grep -qx 'COLOR=blue' <<<"$env1" || qpx_fail "ConfigMap envFrom COLOR missing"
ok "ConfigMap envFrom reached the container's environment"
grep -qx "PASSWORD=$SECRET_VALUE" <<<"$env1" || qpx_fail "secretKeyRef not in the environment"
ok "Secret secretKeyRef reached the container's environment"
[ "$(upodman exec "$ctr" cat /etc/sec/password)" = "$SECRET_VALUE" ] || qpx_fail "Secret volume file wrong"
ok "Secret volume file readable inside the container"
secret_file=$(find "$XDG_RUNTIME_DIR/quadplay/qpx-cfg.service" -type f -name password | head -1)
[ -n "$secret_file" ] || qpx_fail "no secret file set under $XDG_RUNTIME_DIR/quadplay/qpx-cfg.service"
# As Kubernetes writes it (defaultMode 0644, directories 0755) so that non-root containers can read
# it; the per-app directory alone (0700) keeps other host users out.
[ "$(stat -c %a "$secret_file")" = 644 ] || qpx_fail "secret file mode $(stat -c %a "$secret_file")"
[ "$(stat -c %a "$(dirname "$secret_file")")" = 755 ] || qpx_fail "secret volume dir not 0755"
[ "$(stat -c %a "$XDG_RUNTIME_DIR/quadplay/qpx-cfg.service")" = 700 ] || qpx_fail "per-app dir not 0700"
if runuser -u nobody -- cat "$secret_file" >/dev/null 2>&1; then qpx_fail "another host user read the secret file"; fi
ok "secret file set on the host: 0644 file, 0755 dir, inside a 0700 per-app directory no other user can enter"

if ps -eo args | grep -v grep | grep -q -- "$SECRET_VALUE"; then qpx_fail "secret value visible in ps"; fi
grep -rq -- "$SECRET_VALUE" "$USER_UNIT_DIR" && qpx_fail "secret value in a unit file"
grep -q -- "$SECRET_VALUE" "$QPX_LOG_DIR/qpx-cfg.err" && qpx_fail "secret value in the executor's output"
upodman inspect "$ctr" | grep -q -- "$SECRET_VALUE" && log "note: podman inspect shows the secret value (Podman's own behaviour)"
ok "secret value absent from ps, the unit file and the executor's output"

[ "$(upodman exec "$ctr" cat /mnt/dir/hello.txt)" = hello-from-host-dir ] || qpx_fail "hostPath directory"
[ "$(upodman exec "$ctr" cat /mnt/file.txt)" = hello-from-host-file ] || qpx_fail "hostPath file"
ok "hostPath directory and file mounted"

first=$(upodman exec "$ctr" cat /data/first)
uctl restart qpx-cfg.service || qpx_fail "restart failed"
second=$(upodman exec "$ctr" cat /data/first)
[ -n "$first" ] && [ "$first" = "$second" ] || qpx_fail "PVC data lost across restart: '$first' vs '$second'"
ok "PVC data survived a restart of the unit ($first)"

uctl stop qpx-cfg.service
upodman secret ls --format '{{.Name}}' | grep -q qpx-sec && qpx_fail "Podman secret left after stop"
[ -z "$(qpx_leftovers 'qpx-cfg')" ] || qpx_fail "left after stop: $(qpx_leftovers 'qpx-cfg')"
[ -e "$secret_file" ] && qpx_fail "secret file set left after stop"
upodman volume exists qpx-data || qpx_fail "PVC volume removed by a plain stop"
ok "stop removed pod, container, secret and secret files; the PVC volume stays"
as_user "$QUADPLAY_BIN" down --unit qpx-cfg.service --force "$yaml" || qpx_fail "down --force failed"
upodman volume exists qpx-data && qpx_fail "down --force kept the PVC volume"
as_user "$QUADPLAY_BIN" down --unit qpx-cfg.service --force "$yaml" || qpx_fail "second down not idempotent"
ok "down --force removed the PVC volume; a second down is a no-op"
