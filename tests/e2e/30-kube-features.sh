#!/usr/bin/env bash
# The Kubernetes model and planner against real rootless Podman: what the YAML says is what runs.
# `quadplay play --detach` of one YAML using replicas with per-replica host ports, ConfigMap env and
# files (mode, items, binaryData), a Secret as env (not in argv or inspect), `$(VAR)` expansion,
# a Service name, io.quadplay.after, a relative hostPath, a memory emptyDir; warnings name file and
# line; a --configmap file; --strict refuses and creates nothing; `quadplay down` (without the
# --configmap file) removes pods and secrets.
source "$(dirname "$0")/lib.sh"
if [ -z "${QUADPLAY_BIN:-}" ]; then install_quadplay; QUADPLAY_BIN=$PREFIX/bin/quadplay; fi
# quadplay runs in a transient unit of the user manager (KillMode=process: the pods outlive it), which
# reaps what Podman leaves behind; run from a root shell, dead aardvark-dns processes linger as
# zombies here and break name resolution for the next pods.
qp() { in_manager "$QUADPLAY_BIN" "$@"; }
P1=${KP_PORT1:-18091} P2=${KP_PORT2:-18092}
dir=$E2E_HOME/kp-e2e
yaml=$dir/app.yaml
extra=$dir/extra-configmap.yaml
SECRET=kp-S3cret-$$

cleanup() {
  qp down --force=true "$yaml" >/tmp/kp-cleanup.out 2>&1 || { log "cleanup: down failed:"; cat /tmp/kp-cleanup.out; }
  rm -rf "$dir"
}
trap cleanup EXIT

put_file "$yaml" <<YAML
apiVersion: v1
kind: ConfigMap
metadata: {name: kp-settings}
data: {MODE: prod, GREETING: hi}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: kp-site}
data:
  index.html: kp-site-page
binaryData:
  blob.bin: AAEC
---
apiVersion: v1
kind: Secret
metadata: {name: kp-creds}
stringData: {password: $SECRET}
---
apiVersion: v1
kind: Service
metadata: {name: kp-svc}
spec:
  selector: {app: kp-web}
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: kp-web
  annotations:
    io.quadplay.replica-host-ports/80: "$P1,$P2"
spec:
  replicas: 2
  selector: {matchLabels: {app: kp-web}}
  template:
    metadata: {labels: {app: kp-web}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: httpd
        image: localhost/busybox:latest
        command: [httpd, -f, -p, "80", -h, /www]
        ports: [{containerPort: 80, hostPort: 8080}]
        readinessProbe: {tcpSocket: {port: 80}, periodSeconds: 1}
        volumeMounts: [{name: site, mountPath: /www}]
      volumes:
      - name: site
        configMap:
          name: kp-site
          defaultMode: 0640
          items: [{key: index.html, path: index.html}, {key: blob.bin, path: data/blob.bin, mode: 0600}]
---
apiVersion: v1
kind: Pod
metadata:
  name: kp-client
  annotations: {io.quadplay.after: kp-web}
spec:
  terminationGracePeriodSeconds: 2
  nodeSelector: {disk: ssd}
  containers:
  - name: client
    image: localhost/busybox:latest
    command: [sh, -c, 'echo \$(MODE) > /cache/mode; exec sleep 100000']
    envFrom: [{configMapRef: {name: kp-settings}}, {configMapRef: {name: kp-extra}}]
    env:
    - {name: URL, value: 'http://kp-svc/\$(MODE)'}
    - name: PASSWORD
      valueFrom: {secretKeyRef: {name: kp-creds, key: password}}
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: cache, mountPath: /cache}
  volumes:
  - {name: data, hostPath: {path: ./data, type: DirectoryOrCreate}}
  - {name: cache, emptyDir: {medium: Memory}}
YAML

put_file "$extra" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: kp-extra}
data: {EXTRA: from-configmap-file}
YAML

# --strict: the nodeSelector is refused, nothing is created.
if qp play --detach --strict --configmap "$extra" "$yaml" >/tmp/kp-strict.out 2>&1; then
  fail "--strict accepted a YAML with an unsupported field"
fi
grep -q "app.yaml:[0-9]*:[0-9]*: Pod/kp-client: spec.nodeSelector: ignored on a single host" /tmp/kp-strict.out \
  || { cat /tmp/kp-strict.out; fail "--strict error does not name file:line, object and field"; }
[ -z "$(pod_names | grep '^kp-' || true)" ] || fail "--strict left pods behind: $(pod_names)"
ok "--strict refuses (file:line, object, field named) and creates nothing"

qp play --detach --configmap "$extra" "$yaml" >/tmp/kp-play.out 2>&1 || { cat /tmp/kp-play.out; upodman ps -a; fail "play failed"; }
grep -q "app.yaml:[0-9]*:[0-9]*: Pod/kp-client: spec.nodeSelector: ignored on a single host" /tmp/kp-play.out \
  || { cat /tmp/kp-play.out; fail "no warning for the ignored field"; }
ok "play warns about spec.nodeSelector with its file:line"

pods=$(pod_names | grep '^kp-' | sort | tr '\n' ' ')
[ "$pods" = "kp-client kp-web-pod-0 kp-web-pod-1 " ] || fail "pods are [$pods]"
ok "replicas: 2 gave pods kp-web-pod-0 and kp-web-pod-1 (+ kp-client)"

for p in $P1 $P2; do
  wait_for 20 http_get "http://127.0.0.1:$p/index.html" || fail "replica on host port $p does not answer"
  [ "$(http_get "http://127.0.0.1:$p/index.html")" = kp-site-page ] || fail "wrong page on :$p"
done
ok "each replica answers on its own host port ($P1, $P2) with the ConfigMap's file"

mode=$(upodman exec kp-web-pod-0-httpd stat -c %a /www/index.html)
[ "$mode" = 640 ] || fail "index.html mode $mode, want 640 (defaultMode 0640)"
mode=$(upodman exec kp-web-pod-0-httpd stat -c %a /www/data/blob.bin)
[ "$mode" = 600 ] || fail "blob.bin mode $mode, want 600 (items[].mode)"
[ "$(upodman exec kp-web-pod-0-httpd od -An -tx1 /www/data/blob.bin | tr -d ' \n')" = 000102 ] || fail "binaryData not decoded"
ok "ConfigMap files: defaultMode 0640, item mode 0600 under a sub path, binaryData decoded"

env_of() { upodman exec kp-client-client sh -c "echo \"\$$1\""; }
[ "$(env_of MODE)" = prod ] && [ "$(env_of GREETING)" = hi ] || fail "envFrom ConfigMap not applied"
[ "$(env_of EXTRA)" = from-configmap-file ] || fail "ConfigMap from the --configmap file not applied"
[ "$(env_of URL)" = http://kp-svc/prod ] || fail "\$(MODE) not expanded in env: $(env_of URL)"
[ "$(env_of PASSWORD)" = "$SECRET" ] || fail "secretKeyRef not in the container's environment"
wait_for 10 upodman exec kp-client-client test -s /cache/mode  # written by the command, once it runs
[ "$(upodman exec kp-client-client cat /cache/mode)" = prod ] || fail "\$(MODE) not expanded in command"
ok "env: envFrom ConfigMaps (YAML and --configmap file), \$(VAR) in env and command, Secret value inside"

# Podman itself shows an env secret in `inspect`'s Config.Env (the running spec, readable by the
# same user only); what must hold is that no command line ever carried it.
if upodman inspect kp-client-client --format '{{.Config.CreateCommand}} {{.Args}}' | grep -q "$SECRET"; then
  fail "the secret value is in the podman create command line"
fi
if ps -eo args | grep -v grep | grep -q "$SECRET"; then fail "the secret value is in a process argv"; fi
ok "the secret value is in no argv (ps, podman's recorded create command)"

# Up to a minute: aardvark-dns before 1.11 stops answering after each container joins (doctor warns).
wait_for 60 upodman exec kp-client-client sh -c 'timeout 3 wget -q -O- http://kp-svc/index.html | grep -q kp-site-page' \
  || fail "Service name kp-svc does not resolve to the web pods"
wait_for 60 upodman exec kp-client-client sh -c 'timeout 3 wget -q -O- http://kp-web/index.html | grep -q kp-site-page' \
  || fail "Deployment name kp-web does not resolve"
ok "Service name and Deployment name resolve to the replicas"

[ -d "$dir/data" ] || fail "hostPath ./data (DirectoryOrCreate) not created next to the YAML"
upodman exec kp-client-client sh -c 'echo from-container > /data/x'
[ "$(cat "$dir/data/x")" = from-container ] || fail "hostPath write not visible on the host"
[ "$(upodman exec kp-client-client sh -c 'mount | grep " /cache "' | cut -d' ' -f5)" = tmpfs ] || fail "/cache is not a tmpfs"
ok "relative hostPath resolved next to the YAML and created; memory emptyDir is a tmpfs"

client_created=$(upodman inspect kp-client-client --format '{{.Created.UnixNano}}')
for w in kp-web-pod-0-httpd kp-web-pod-1-httpd; do
  web_started=$(upodman inspect "$w" --format '{{.State.StartedAt.UnixNano}}')
  [ "$client_created" -gt "$web_started" ] || fail "kp-client was created before $w started (io.quadplay.after)"
done
ok "io.quadplay.after: kp-client was created only after both kp-web replicas had started"

qp down "$yaml" >/tmp/kp-down.out 2>&1 || { cat /tmp/kp-down.out; fail "down failed"; }
[ -z "$(pod_names | grep '^kp-' || true)" ] || fail "down left pods: $(pod_names)"
if upodman secret ls --format '{{.Name}}' | grep -q '^kp-creds'; then fail "down left the secret"; fi
ok "down removed every pod and the secret"
