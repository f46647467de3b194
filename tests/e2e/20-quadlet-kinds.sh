#!/usr/bin/env bash
# The Quadlet conversions against the real thing: a .network, a .volume, a .pod and two .container
# units in the test user's Quadlet directory, turned into services by the installed generator and
# run by the user's systemd with rootless Podman.
# Checks: the units load with the dependencies the converters wrote; starting the pod starts its
# container (Wants=), which creates the network and volume (Requires=); the container serves a file
# it wrote into the volume through the pod's published port, with its Environment= intact; a second
# container gets its fixed IP on the network; restarting the network/volume units succeeds while the
# objects exist (the create-unless-exists form that works on Podman 4.3); stopping the pod stops
# its container (BindsTo=).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

PORT=18391
UNITS=(qps.network qps.volume qps.pod qps-web.container qps-solo.container)
SERVICES=(qps-solo.service qps-web.service qps-pod.service qps-network.service qps-volume.service)

cleanup() {
  uctl stop "${SERVICES[@]}" >/dev/null 2>&1 || true
  for u in "${UNITS[@]}"; do rm -f "$UNIT_DIR/$u"; done
  uctl daemon-reload >/dev/null 2>&1 || true
  uctl reset-failed "${SERVICES[@]}" >/dev/null 2>&1 || true
  upodman pod rm -f systemd-qps >/dev/null 2>&1 || true
  upodman rm -f systemd-qps-web systemd-qps-solo >/dev/null 2>&1 || true
  upodman network rm -f systemd-qps >/dev/null 2>&1 || true
  upodman volume rm -f systemd-qps >/dev/null 2>&1 || true
  clear_stale_network_state
}
trap cleanup EXIT

install_quadplay
cleanup

# A subnet of its own per run: netavark's IPAM database can keep a fixed address allocated after a
# container whose cleanup was killed (seen after earlier runs on the same user), and the next run's
# `ip=` would then be refused.
octet=$((100 + RANDOM % 150))
put_unit qps.network <<EOF
[Network]
Subnet=10.89.$octet.0/24
Label=test=qps
EOF
put_unit qps.volume <<'EOF'
[Volume]
Label=test=qps
EOF
put_unit qps.pod <<EOF
[Pod]
Network=qps.network
PublishPort=127.0.0.1:$PORT:8080
EOF
put_unit qps-web.container <<'EOF'
[Container]
Image=localhost/busybox:latest
Pod=qps.pod
Volume=qps.volume:/data
Environment="GREETING=hello from qps" PLAIN=1
# This host runs cgroups v1 without systemd as PID 1, where Quadlet's default --cgroups=split
# cannot work; real systemd hosts (cgroups v2) do not need this line.
CgroupsMode=enabled
# `$$` is systemd's literal `$`: the shell inside the container expands it.
Exec=sh -c 'echo "$$GREETING" > /data/index.html; exec httpd -f -p 8080 -h /data'
EOF
put_unit qps-solo.container <<EOF
[Unit]
After=qps-web.container
[Container]
Image=localhost/busybox:latest
Network=qps.network:ip=10.89.$octet.50
CgroupsMode=enabled
StopTimeout=2
Exec=sleep 1000
EOF
reload

# The dependencies the converters wrote, as systemd loaded them.
for s in "${SERVICES[@]}"; do
  [ "$(unit_prop "$s" LoadState)" = loaded ] || fail "$s did not load: $(unit_prop "$s" LoadError)"
done
requires=$(unit_prop qps-pod.service Requires)
[[ $requires == *qps-network.service* ]] || fail "qps-pod Requires= lacks the network: $requires"
wants=$(unit_prop qps-pod.service Wants)
[[ $wants == *qps-web.service* ]] || fail "qps-pod Wants= lacks its container: $wants"
[[ $(unit_prop qps-web.service BindsTo) == *qps-pod.service* ]] || fail "qps-web not bound to the pod"
[[ $(unit_prop qps-web.service Requires) == *qps-volume.service* ]] || fail "qps-web lacks Requires=qps-volume"
[[ $(unit_prop qps-solo.service After) == *qps-web.service* ]] || fail "After=qps-web.container not translated"
ok "units loaded with Requires/Wants/BindsTo/After from the converters"

uctl start qps-pod.service || { unit_debug qps-pod.service; unit_debug qps-web.service; fail "qps-pod did not start"; }
wait_for 30 uctl is-active --quiet qps-web.service || { unit_debug qps-web.service; fail "qps-web not started with its pod"; }
upodman network exists systemd-qps || fail "network systemd-qps missing"
[ "$(upodman network inspect systemd-qps --format '{{range .Subnets}}{{.Subnet}}{{end}}')" = "10.89.$octet.0/24" ] \
  || fail "network has the wrong subnet"
upodman volume exists systemd-qps || fail "volume systemd-qps missing"
[ "$(upodman inspect systemd-qps-web --format '{{.Pod}}')" = "$(upodman pod inspect systemd-qps --format '{{.Id}}')" ] \
  || fail "qps-web is not in pod systemd-qps"
ok "pod start pulled in its container, the network and the volume"

wait_for 20 http_get "http://127.0.0.1:$PORT/index.html" || fail "nothing served on port $PORT"
body=$(http_get "http://127.0.0.1:$PORT/index.html")
[ "$body" = "hello from qps" ] || fail "served '$body', expected 'hello from qps'"
ok "container served a file from the volume through the pod's port, Environment= quoting intact"

uctl start qps-solo.service || { unit_debug qps-solo.service; fail "qps-solo did not start"; }
ip=$(upodman inspect systemd-qps-solo --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}')
[ "$ip" = "10.89.$octet.50" ] || fail "qps-solo has IP '$ip', expected 10.89.$octet.50"
ok "Network=qps.network:ip=… gave the container its fixed address"

uctl restart qps-network.service qps-volume.service || fail "restarting network/volume units failed while they exist"
uctl is-active --quiet qps-network.service qps-volume.service || fail "network/volume units not active after restart"
ok "network/volume units restart cleanly while the objects exist"

uctl stop qps-pod.service
web_gone() { ! upodman container exists systemd-qps-web; }
wait_for 20 web_gone || fail "qps-web container still exists after the pod stopped"
uctl is-active --quiet qps-web.service && fail "qps-web still active after its pod stopped"
ok "stopping the pod stopped its container (BindsTo=)"
