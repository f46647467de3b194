#!/usr/bin/env bash
# What a pod spec asks of the runtime reaches rootless Podman: init containers in order, securityContext
# (pod defaults, container overrides, capabilities, read-only root, no-new-privileges), annotations
# whose values hold commas and quotes, resource limits, a Secret volume read by the non-root app
# (files get the YAML's modes, directories 0755, only the per-app directory on the host 0700), a PVC
# whose Podman annotations set the owner, and `down` keeping the PVC unless forced.
source "$(dirname "$0")/lib.sh"
if [ -z "${QUADPLAY_BIN:-}" ]; then install_quadplay; QUADPLAY_BIN=$PREFIX/bin/quadplay; fi
# quadplay runs in a transient unit of the user manager (KillMode=process: the pods outlive it), which
# reaps what Podman leaves behind; run from a root shell, dead aardvark-dns processes linger as
# zombies here and break name resolution for the next pods.
qp() { in_manager "$QUADPLAY_BIN" "$@"; }
dir=$E2E_HOME/kp-rt
yaml=$dir/app.yaml

cleanup() {
  qp down --force=true "$yaml" >/tmp/kp-rt-cleanup.out 2>&1 \
    || { log "cleanup: down failed:"; cat /tmp/kp-rt-cleanup.out; }
  upodman volume rm -f kp-rt-data >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

put_file "$yaml" <<'YAML'
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: kp-rt-data
  annotations:
    volume.podman.io/uid: "1234"
    volume.podman.io/gid: "1234"
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Secret
metadata: {name: kp-rt-tls}
data:
  key.pem: UFJJVkFURQ==
---
apiVersion: v1
kind: Pod
metadata:
  name: kp-rt
  annotations:
    example.com/owners: "alice,bob"
    example.com/note: 'say "hi", then leave'
spec:
  terminationGracePeriodSeconds: 1
  securityContext:
    runAsUser: 1234
    runAsGroup: 1234
    supplementalGroups: [4321]
  initContainers:
  - name: first
    image: localhost/busybox:latest
    command: [sh, -c, 'echo first >> /data/order']
    volumeMounts: [{name: data, mountPath: /data}]
  - name: second
    image: localhost/busybox:latest
    command: [sh, -c, 'echo second >> /data/order']
    volumeMounts: [{name: data, mountPath: /data}]
  containers:
  - name: app
    image: localhost/busybox:latest
    command: [sh, -c, 'echo app >> /data/order; exec sleep 100000']
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}
    resources:
      limits: {memory: 64Mi, cpu: 250m}
      requests: {memory: 32Mi}
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: tls, mountPath: /tls, readOnly: true}
  - name: reader
    image: localhost/busybox:latest
    command: [sleep, "100000"]
    securityContext: {runAsUser: 0, runAsGroup: 0}
    volumeMounts:
    - {name: tls, mountPath: /tls, readOnly: true}
  volumes:
  - {name: data, persistentVolumeClaim: {claimName: kp-rt-data}}
  - name: tls
    secret:
      secretName: kp-rt-tls
      items:
      - {key: key.pem, path: key.pem}
      - {key: key.pem, path: private/key.pem, mode: 0400}
YAML

qp play --detach "$yaml" >/tmp/kp-rt-play.out 2>&1 \
  || { cat /tmp/kp-rt-play.out; upodman ps -a; fail "play failed"; }
# The init containers' lines are in the file before the app runs: wait for the app's own line.
wait_for 20 upodman exec kp-rt-app grep -qx app /data/order \
  || fail "app did not start: order [$(upodman exec kp-rt-app cat /data/order 2>&1 | tr '\n' ' ')]"
order=$(upodman exec kp-rt-app cat /data/order | tr '\n' ' ')
[ "$order" = "first second app " ] || fail "init containers/app ran as [$order]"
ok "init containers ran in order, then the app: $order"

[ "$(upodman exec kp-rt-app id -u)" = 1234 ] && [ "$(upodman exec kp-rt-app id -g)" = 1234 ] \
  || fail "runAsUser/runAsGroup not applied: $(upodman exec kp-rt-app id)"
upodman exec kp-rt-app id -G | tr ' ' '\n' | grep -qx 4321 || fail "supplementalGroups not applied: $(upodman exec kp-rt-app id -G)"
[ "$(upodman exec kp-rt-app stat -c %u /data)" = 1234 ] || fail "PVC volume.podman.io/uid not applied"
ok "pod securityContext: uid/gid 1234, supplemental group 4321; the PVC is owned by uid 1234"

if upodman exec kp-rt-app sh -c 'touch /rootfs-write' 2>/dev/null; then fail "root filesystem is writable"; fi
caps=$(upodman exec kp-rt-app grep CapBnd /proc/self/status | awk '{print $2}')
[ "$caps" = 0000000000000400 ] || fail "bounding capabilities $caps, want only NET_BIND_SERVICE (0x400)"
[ "$(upodman exec kp-rt-app grep NoNewPrivs /proc/self/status | awk '{print $2}')" = 1 ] || fail "no_new_privs not set"
ok "readOnlyRootFilesystem, capabilities drop ALL + add NET_BIND_SERVICE, allowPrivilegeEscalation: false"

create=$(upodman inspect kp-rt-app --format '{{join .Config.CreateCommand " "}}')
for want in "--memory 67108864b" "--memory-reservation 33554432b" "--cpus 0.250"; do
  case " $create " in *" $want "*) ;; *) fail "podman create lacks '$want': $create" ;; esac
done
if [ "$(upodman info --format '{{.Host.CgroupsVersion}}')" = v1 ]; then
  # Rootless Podman ignores resource limits on cgroup v1 (this machine): the request is all we can see.
  ok "limits.memory 64Mi, requests.memory 32Mi, limits.cpu 250m passed to podman create (cgroup v1: not enforced rootless)"
else
  mem=$(upodman inspect kp-rt-app --format '{{.HostConfig.Memory}} {{.HostConfig.MemoryReservation}}')
  [ "$mem" = "67108864 33554432" ] || fail "memory limit/reservation are $mem"
  ok "limits.memory 64Mi, requests.memory 32Mi reach Podman ($mem); limits.cpu passed as --cpus 0.250"
fi

# A container-level securityContext overrides the pod's (runAsUser: 0 here).
[ "$(upodman exec kp-rt-reader id -u)" = 0 ] || fail "container runAsUser did not override the pod's"
ok "container securityContext overrides the pod's (runAsUser: 0)"

# Podman splits --annotation values on commas unless the executor quotes them.
for pair in 'example.com/owners=alice,bob' 'example.com/note=say "hi", then leave'; do
  key=${pair%%=*}
  got=$(upodman inspect kp-rt-app --format "{{index .Config.Annotations \"$key\"}}")
  [ "$got" = "${pair#*=}" ] || fail "annotation $key is [$got], want [${pair#*=}]"
done
ok "annotations with commas and quotes reach the container verbatim"

# The Secret volume as Kubernetes makes it: the app runs as uid 1234 (rootless: a subuid, not the
# files' owner), so it reads through the "other" bits of the default mode 0644.
got=$(upodman exec kp-rt-app cat /tls/key.pem 2>&1) || fail "non-root app cannot read its Secret volume: $got"
[ "$got" = PRIVATE ] || fail "secret volume content wrong: $got"
modes=$(upodman exec kp-rt-app stat -c %a /tls /tls/key.pem /tls/private /tls/private/key.pem | tr '\n' ' ')
[ "$modes" = "755 644 755 400 " ] || fail "secret volume modes are [$modes], want [755 644 755 400]"
if upodman exec kp-rt-app cat /tls/private/key.pem >/dev/null 2>&1; then
  fail "items[].mode 0400 did not keep uid 1234 out"
fi
[ "$(upodman exec kp-rt-reader cat /tls/private/key.pem)" = PRIVATE ] || fail "the owner (container root) cannot read a 0400 item"
if upodman exec kp-rt-reader sh -c 'echo x > /tls/key.pem' 2>/dev/null; then fail "secret volume is writable"; fi
set -- "$XDG_RUNTIME_DIR"/quadplay/*/kp-rt/tls
[ $# = 1 ] && [ -d "$1" ] || fail "no single file-set directory for kp-rt/tls: $*"
appdir=$(dirname "$(dirname "$1")")
host=$(stat -c '%a' "$appdir" "$appdir/kp-rt" "$1" | tr '\n' ' ')
[ "$host" = "700 755 755 " ] || fail "host modes app/pod/volume dirs are [$host], want [700 755 755]"
if runuser -u nobody -- cat "$1/key.pem" >/dev/null 2>&1; then fail "another host user read the secret"; fi
ok "Secret volume: read by non-root uid 1234 (modes $modes), 0400 item closed to it; host: app dir 0700, others 0755; other host users kept out"

qp down "$yaml" >/tmp/kp-rt-down.out 2>&1 || { cat /tmp/kp-rt-down.out; fail "down failed"; }
upodman volume exists kp-rt-data || fail "down without --force removed the PVC volume"
qp down --force=true "$yaml" >/tmp/kp-rt-down.out 2>&1 || { cat /tmp/kp-rt-down.out; fail "down --force failed"; }
if upodman volume exists kp-rt-data; then fail "down --force kept the PVC volume"; fi
ok "down keeps the PVC volume; down --force removes it"
