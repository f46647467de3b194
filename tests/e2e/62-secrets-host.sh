#!/usr/bin/env bash
# Secret values from the host (issue 12, item 4): a Secret takes one key from a systemd credential
# (`LoadCredential=` in the .kube's [Service], `io.quadplay.credentials`) and one from an existing
# Podman secret (`io.quadplay.podman-secrets`); no value is in the YAML. The container gets both as
# env (secretKeyRef) and as files (a Secret volume) and serves them; then neither value may appear in
# any process's argv, in `podman inspect`'s Args/Cmd/Entrypoint/CreateCommand, in a unit file, or in
# the unit's output (journald does not run on these machines: the unit appends its output to a file;
# the journal is searched too where it answers). What Podman itself does with an env-type secret's
# value (`podman inspect` Config.Env) is reported, not failed. Also: the user's Podman secret survives
# stop; a start without the credential, or without the Podman secret, fails with a located message
# and leaves no pod, container or secret; a reload re-reads $CREDENTIALS_DIRECTORY.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

UNIT=qsc.service
YAML=$UNIT_DIR/qsc.yaml
PORT=18720
PRIVATE=$E2E_HOME/.qsc                     # the credential's source file and the unit's output
CRED_FILE=$PRIVATE/db-password
UNIT_LOG=$PRIVATE/unit.log
PSECRET=qsc-vendor-token
rand() { head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
CRED_VALUE=cred-$(rand)
PSEC_VALUE=psec-$(rand)

cleanup() {
  uctl stop "$UNIT" >/dev/null 2>&1 || true
  rm -f "$UNIT_DIR/qsc.kube" "$YAML"
  rm -rf "$PRIVATE"
  uctl daemon-reload >/dev/null 2>&1 || true
  uctl reset-failed "$UNIT" >/dev/null 2>&1 || true
  upodman secret rm "$PSECRET" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# kube_unit [WITH_CREDENTIAL] — the .kube, passing the credential unless told "no".
kube_unit() {
  {
    printf '[Unit]\nDescription=quadplay e2e: secret values from the host\n[Kube]\nYaml=qsc.yaml\n[Service]\n'
    [ "${1:-yes}" = no ] || echo "LoadCredential=db-password:$CRED_FILE"
    echo "StandardOutput=append:$UNIT_LOG"
    echo "StandardError=append:$UNIT_LOG"
  } | put_unit qsc.kube
  reload
}
serves() { [ "$(http_get "http://127.0.0.1:$PORT/$1")" = "$2" ]; }
# The places no value may be; prints each one that holds VALUE.
leaks() {
  local value=$1 f
  for f in /proc/[0-9]*/cmdline; do   # processes come and go while this runs
    if { tr '\0' ' ' < "$f"; } 2>/dev/null | grep -qF -- "$value"; then
      echo "argv of pid $(basename "$(dirname "$f")"): $({ tr '\0' ' ' < "$f"; } 2>/dev/null | cut -c1-200)"
    fi
  done
  grep -rlF -- "$value" "$XDG_RUNTIME_DIR/systemd/generator" "$UNIT_DIR" 2>/dev/null | sed 's/^/unit file: /'
  uctl cat "$UNIT" 2>/dev/null | grep -qF -- "$value" && echo "systemctl --user cat $UNIT"
  uctl show "$UNIT" 2>/dev/null | grep -qF -- "$value" && echo "systemctl --user show $UNIT"
  local c
  for c in $(upodman ps -a --format '{{.Names}}' --filter "label=io.quadplay.app=$UNIT"); do
    upodman inspect "$c" --format '{{json .Args}} {{json .Config.Cmd}} {{json .Config.Entrypoint}} {{json .Config.CreateCommand}} {{json .Config.Labels}} {{json .Config.Annotations}}' \
      | grep -qF -- "$value" && echo "podman inspect $c: Args/Cmd/Entrypoint/CreateCommand/Labels/Annotations"
    upodman logs "$c" 2>&1 | grep -qF -- "$value" && echo "podman logs $c"
  done
  grep -qF -- "$value" "$UNIT_LOG" 2>/dev/null && echo "the unit's output ($UNIT_LOG)"
  if uctl is-system-running >/dev/null 2>&1 && as_user journalctl --user -u "$UNIT" -q -o cat >/dev/null 2>&1; then
    as_user journalctl --user -u "$UNIT" -o cat 2>/dev/null | grep -qF -- "$value" && echo "journalctl --user -u $UNIT"
  fi
  return 0
}

install_quadplay
cleanup
install -d -m 0700 -o "$E2E_USER" -g "$E2E_USER" "$PRIVATE"
printf %s "$CRED_VALUE" | put_file "$CRED_FILE"
chmod 0600 "$CRED_FILE"
printf %s "$PSEC_VALUE" | as_user podman secret create "$PSECRET" - >/dev/null \
  || fail "podman secret create $PSECRET failed"
put_file "$YAML" <<EOF
apiVersion: v1
kind: Secret
metadata:
  name: qsc-db
  annotations:
    io.quadplay.credentials: "password=db-password"
    io.quadplay.podman-secrets: "token=$PSECRET"
stringData:
  user: shop
---
apiVersion: v1
kind: Pod
metadata:
  name: qsc-web
spec:
  terminationGracePeriodSeconds: 1   # httpd as PID 1 ignores SIGTERM
  containers:
  - name: web
    image: localhost/busybox:latest
    command: ["sh", "-c", 'mkdir -p /tmp/www && cd /tmp/www && echo "\$DB_PASSWORD" > env && echo "\$TOKEN" > token-env && cat /etc/qsc/password > file && cat /etc/qsc/token > token-file && ls -ln /etc/qsc > ls && exec httpd -f -p 8080 -h /tmp/www']
    env:
    - name: DB_PASSWORD
      valueFrom: {secretKeyRef: {name: qsc-db, key: password}}
    - name: TOKEN
      valueFrom: {secretKeyRef: {name: qsc-db, key: token}}
    volumeMounts:
    - {name: creds, mountPath: /etc/qsc}
    ports:
    - {containerPort: 8080, hostPort: $PORT, hostIP: 127.0.0.1}
    readinessProbe:
      httpGet: {path: /env, port: 8080}
      periodSeconds: 1
  volumes:
  - name: creds
    secret: {secretName: qsc-db, defaultMode: 0440}
EOF
grep -qF -e "$CRED_VALUE" -e "$PSEC_VALUE" "$YAML" && fail "the test's YAML holds a value"

# 1. The credential and the Podman secret reach the container, as env and as files.
kube_unit
uctl start "$UNIT" || { cat "$UNIT_LOG" >&2; unit_debug "$UNIT"; fail "$UNIT did not start"; }
wait_for 20 serves env "$CRED_VALUE" || { cat "$UNIT_LOG" >&2; fail "the credential is not in the container's env"; }
serves file "$CRED_VALUE" || fail "the credential is not in the Secret volume's file"
serves token-env "$PSEC_VALUE" || fail "the Podman secret is not in the container's env"
serves token-file "$PSEC_VALUE" || fail "the Podman secret is not in the Secret volume's file"
[ "$(upodman exec qsc-web-web cat /etc/qsc/password)" = "$CRED_VALUE" ] || fail "podman exec cat /etc/qsc/password"
[ "$(upodman exec qsc-web-web cat /etc/qsc/user)" = shop ] || fail "the YAML's own key is not mounted beside them"
log "files in the Secret volume: $(http_get "http://127.0.0.1:$PORT/ls" | tr '\n' ';')"
ok "LoadCredential= value and Podman secret reach the container as env (secretKeyRef) and as files (secret volume)"

# 2. Nowhere else.
for v in "$CRED_VALUE" "$PSEC_VALUE"; do
  found=$(leaks "$v")
  [ -z "$found" ] || fail "a secret value leaked: $found"
done
ok "neither value in any argv (/proc/*/cmdline), podman inspect Args/Cmd/Entrypoint/CreateCommand, unit file, systemctl cat/show, container or unit output"
podman_version=$(upodman version --format '{{.Client.Version}}')
if upodman inspect qsc-web-web --format '{{json .Config.Env}}' | grep -qF -e "$CRED_VALUE" -e "$PSEC_VALUE"; then
  log "note: Podman $podman_version shows env-type secrets' values in podman inspect's Config.Env (Podman's own doing; the user's own containers only)"
else
  log "note: Podman $podman_version keeps env-type secrets' values out of podman inspect's Config.Env"
fi

# 3. The dry run shows the sources, never the values.
out=$(as_user "$PREFIX/bin/quadplay" play --dry-run --unit "$UNIT" "$YAML" 2>&1) || { echo "$out" >&2; fail "dry run failed"; }
grep -qF -e "$CRED_VALUE" -e "$PSEC_VALUE" <<<"$out" && fail "the dry run printed a value: $out"
creds_dir=$XDG_RUNTIME_DIR/credentials/$UNIT
if [ -d "$creds_dir" ]; then
  grep -q "0 pod(s) replaced, 0 created, 0 removed, 1 kept running untouched" <<<"$out" \
    || fail "dry run against the running app (credentials read from $creds_dir): $out"
  ok "dry run reads the running unit's credentials ($creds_dir): nothing to change, no value printed"
else
  log "no $creds_dir: the dry run plans without the credential's value"
fi

# 4. A reload reads $CREDENTIALS_DIRECTORY again: the app serves what systemd holds there.
printf %s "$CRED_VALUE-rotated" | put_file "$CRED_FILE"
uctl reload "$UNIT" || { cat "$UNIT_LOG" >&2; fail "reload failed"; }
main=$(unit_prop "$UNIT" MainPID)
seen_dir=$(tr '\0' '\n' < "/proc/$main/environ" | sed -n 's/^CREDENTIALS_DIRECTORY=//p')
held=$(cat "$seen_dir/db-password")
wait_for 20 serves env "$held" || fail "after the reload the app does not serve the credential systemd holds"
if [ "$held" = "$CRED_VALUE-rotated" ]; then
  ok "reload: systemd refreshed the credential and the pod serves the new value"
else
  ok "reload: systemd $(uctl --version | head -1 | cut -d' ' -f2) keeps the credential of the start in $seen_dir; the pod serves it, unchanged"
fi
uctl restart "$UNIT" || { cat "$UNIT_LOG" >&2; fail "restart failed"; }
wait_for 20 serves env "$CRED_VALUE-rotated" || fail "after a restart the app does not serve the new credential"
found=$(leaks "$CRED_VALUE-rotated")
[ -z "$found" ] || fail "the rotated value leaked: $found"
ok "restart: the new credential value is served, and leaks nowhere"

# 5. Stop: quadplay's own secrets go, the user's Podman secret stays.
uctl stop "$UNIT"
upodman secret inspect "$PSECRET" >/dev/null 2>&1 || fail "stop removed the user's Podman secret $PSECRET"
upodman secret ls --format '{{.Name}}' | grep -q '^qsc-db-' && fail "quadplay's secrets left after stop: $(upodman secret ls --format '{{.Name}}')"
ok "stop removes quadplay's secrets and keeps the user's $PSECRET"

# 6. Without the credential: a located error naming what to add; nothing left behind.
kube_unit no
: > "$UNIT_LOG"
uctl start "$UNIT" 2>/dev/null && fail "$UNIT started without its credential"
grep -qF 'qsc.yaml:6:30: Secret/qsc-db: metadata.annotations["io.quadplay.credentials"]: key `password`: credential `db-password`' "$UNIT_LOG" \
  || fail "the missing credential is not located: $(cat "$UNIT_LOG")"
grep -qF 'LoadCredential=db-password:' "$UNIT_LOG" || fail "the message does not say what to add: $(cat "$UNIT_LOG")"
[ -z "$(pod_names)" ] || fail "pods left after a failed start: $(pod_names)"
ok "no credential: the start fails at $(grep -o 'qsc.yaml:6:30' "$UNIT_LOG" | head -1) saying to add LoadCredential=, nothing created"
uctl reset-failed "$UNIT" >/dev/null 2>&1 || true

# 7. Without the Podman secret: found before anything is created.
kube_unit
upodman secret rm "$PSECRET" >/dev/null
: > "$UNIT_LOG"
uctl start "$UNIT" 2>/dev/null && fail "$UNIT started without the Podman secret"
grep -qF "Podman secret \`$PSECRET\` does not exist" "$UNIT_LOG" || fail "the missing Podman secret is not named: $(cat "$UNIT_LOG")"
grep -qF 'metadata.annotations["io.quadplay.podman-secrets"]' "$UNIT_LOG" || fail "the message is not located: $(cat "$UNIT_LOG")"
[ -z "$(pod_names)" ] && [ -z "$(container_names)" ] || fail "pods/containers left: $(pod_names) $(container_names)"
upodman secret ls --format '{{.Name}}' | grep -q '^qsc-db-' && fail "secrets created before the check: $(upodman secret ls --format '{{.Name}}')"
grep -qF -e "$CRED_VALUE" -e "$PSEC_VALUE" "$UNIT_LOG" && fail "a value in the unit's output"
ok "no Podman secret: the start fails naming it and its annotation, before any pod, container or secret exists"
