#!/usr/bin/env bash
# A .kube unit end to end: the installed generator turns it (and the .network it names) into a
# service whose main process is `quadplay play`; the user's systemd starts it and waits for READY;
# the pod joins the Quadlet network and serves; stopping the unit removes the pod (`quadplay down`).
# Checks what the .kube converter wrote (Requires=/After= on the network service, NotifyAccess=main,
# --network=<resolved name>, --stop-timeout derived from TimeoutStopSec=) as systemd loaded it.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

PORT=18392
SERVICES=(qpk.service qpk-network.service)

cleanup() {
  uctl stop "${SERVICES[@]}" >/dev/null 2>&1 || true
  rm -f "$UNIT_DIR/qpk.kube" "$UNIT_DIR/qpk.network" "$UNIT_DIR/qpk.yaml"
  uctl daemon-reload >/dev/null 2>&1 || true
  uctl reset-failed "${SERVICES[@]}" >/dev/null 2>&1 || true
  upodman pod rm -f qpk >/dev/null 2>&1 || true
  upodman network rm -f systemd-qpk >/dev/null 2>&1 || true
  clear_stale_network_state
}
trap cleanup EXIT

install_quadplay
cleanup

put_file "$UNIT_DIR/qpk.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: qpk
spec:
  containers:
  - name: web
    image: localhost/busybox:latest
    command: ["sh", "-c", "echo kube-ok > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"]
    ports:
    - containerPort: 8080
      hostPort: $PORT
      hostIP: 127.0.0.1
EOF
put_unit qpk.network <<'EOF'
[Network]
Subnet=10.89.124.0/24
EOF
put_unit qpk.kube <<'EOF'
[Unit]
Description=quadplay e2e: .kube through the generator
[Kube]
Yaml=qpk.yaml
Network=qpk.network
ExitCodePropagation=any
[Service]
TimeoutStopSec=20
EOF
reload

[ "$(unit_prop qpk.service LoadState)" = loaded ] || fail "qpk.service did not load: $(unit_prop qpk.service LoadError)"
[[ $(unit_prop qpk.service Requires) == *qpk-network.service* ]] || fail "qpk lacks Requires=qpk-network.service"
[[ $(unit_prop qpk.service After) == *qpk-network.service* ]] || fail "qpk lacks After=qpk-network.service"
[ "$(unit_prop qpk.service NotifyAccess)" = main ] || fail "NotifyAccess is not main"
exec_start=$(unit_prop qpk.service ExecStart)
for want in "$PREFIX/bin/quadplay" " play " "--network=systemd-qpk" "--exit-code-propagation=any" "--stop-timeout=15" "$UNIT_DIR/qpk.yaml"; do
  [[ $exec_start == *"$want"* ]] || fail "ExecStart lacks '$want': $exec_start"
done
ok "qpk.service loaded: Requires/After on the network, NotifyAccess=main, quadplay play with resolved options"

uctl start qpk.service || { unit_debug qpk.service; fail "qpk.service did not start"; }
[ "$(unit_prop qpk.service ActiveState)" = active ] || { unit_debug qpk.service; fail "qpk not active after start returned"; }
uctl is-active --quiet qpk-network.service || fail "the network service was not pulled in"
wait_for 20 http_get "http://127.0.0.1:$PORT/index.html" || { unit_debug qpk.service; fail "nothing served on $PORT"; }
[ "$(http_get "http://127.0.0.1:$PORT/index.html")" = kube-ok ] || fail "wrong content served"
nets=$(upodman ps --filter pod=qpk --format '{{.Networks}}')
[[ $nets == *systemd-qpk* ]] || fail "pod qpk is not on network systemd-qpk: $nets"
ok "start waited for READY, the pod serves and sits on the Quadlet network"

uctl stop qpk.service
state=$(unit_prop qpk.service ActiveState)
[ "$state" = inactive ] || { unit_debug qpk.service; fail "qpk is '$state' after stop, expected inactive"; }
upodman pod exists qpk && fail "pod qpk still exists after stop"
ok "stop ran quadplay down: unit inactive, pod removed"
