#!/usr/bin/env bash
# An unclean teardown never blocks the next start: a bridge left in the rootless network namespace
# by a removed network (its teardown SIGKILLed, as a .container unit's stop can do) under the
# interface name the shared network now uses. netavark would attach the new pods to it without
# their gateway: no DNS, no routes, no published ports (test 21 once hung on this for its whole
# start timeout). The executor deletes such a bridge when no container uses it, and refuses with
# the fix when one does.
# Podman 5 keeps the rootless namespace only while a container uses it (a reference count under
# $XDG_RUNTIME_DIR/containers/networks/rootless-netns/): the namespace, and a stale bridge in it,
# outlive a cut-short teardown (its count never drops) or while other containers run. Podman 4 keeps
# it until logout. So this test first starts a keeper on a network of its own, as another app would
# be: without it, Podman 5 would make a new namespace for each `podman unshare` and drop it after.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/2x-executor-lib.sh"
netns() { as_user podman unshare --rootless-netns "$@"; }
net=podman-default-kube-network
keep_net=qpx-stale-keep
iface=""
cleanup() {
  qpx_cleanup
  in_manager podman rm -f -t 0 qpx-stale-user >/dev/null 2>&1 || true
  if [ -n "$iface" ]; then
    netns ip link del qpx-stale-v0 >/dev/null 2>&1 || true
    # A failure midway must not leave the stale bridge for the next tests.
    if netns ip -o -4 addr show dev "$iface" 2>/dev/null | grep -q 10.89.251.1; then
      netns ip link del "$iface" >/dev/null 2>&1 || true
    fi
  fi
  in_manager podman rm -f -t 0 qpx-stale-keeper >/dev/null 2>&1 || true
  upodman network rm -f "$keep_net" >/dev/null 2>&1 || true
}
trap cleanup EXIT

upodman network exists "$net" || upodman network create "$net" >/dev/null
iface=$(upodman network inspect "$net" --format '{{.NetworkInterface}}')
gateway=$(upodman network inspect "$net" --format '{{range .Subnets}}{{.Gateway}}{{end}}')
users=$(upodman ps --filter "network=$net" --format '{{.Names}}')
[ -z "$users" ] || fail "containers of earlier tests still run on $net: $users"
upodman network create --disable-dns "$keep_net" >/dev/null
in_manager podman run -d --name qpx-stale-keeper --network "$keep_net" localhost/busybox:latest sleep 100000 >/dev/null
# What a killed teardown leaves: the bridge, up, with a removed network's address.
stale_bridge() {
  netns ip link del "$iface" >/dev/null 2>&1 || true
  netns sh -c "ip link add $iface type bridge && ip addr add 10.89.251.1/24 dev $iface && ip link set $iface up"
}

qpx_yaml "$E2E_HOME/qpx-stale/app.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: qpx-stale-a}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: web, image: localhost/busybox:latest, command: [sh, -c, 'echo stale-a > /tmp/index.html; exec httpd -f -p 80 -h /tmp']}]
---
apiVersion: v1
kind: Pod
metadata: {name: qpx-stale-b}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: s, image: localhost/busybox:latest, command: [sleep, "100000"]}]
YAML
qpx_unit qpx-stale "$E2E_HOME/qpx-stale/app.yaml"

# A stale bridge that running containers of the network use is not touched: a clear refusal. Podman 4
# attaches new containers to such a bridge; Podman 5 refuses to start them (aardvark-dns cannot bind
# the missing gateway), so here the bridge's address changes under a running container instead: the
# state each leaves is the same.
in_manager podman run -d --name qpx-stale-user --network "$net" localhost/busybox:latest sleep 100000 >/dev/null
netns sh -c "ip addr flush dev $iface && ip addr add 10.89.251.1/24 dev $iface"
uctl start qpx-stale.service 2>/dev/null && qpx_fail "started on a bridge with a foreign address in use"
grep -q "bridge $iface in the rootless network namespace carries 10.89.251.1.*podman stop --all" \
  <<<"$(qpx_err qpx-stale)" || qpx_fail "refusal does not explain the bridge: $(qpx_err qpx-stale)"
[ -z "$(qpx_leftovers 'qpx-stale-[ab]')" ] || qpx_fail "refusal left $(qpx_leftovers 'qpx-stale-[ab]')"
ok "a stale bridge in use by a running container: start refused, naming the bridge, its address and the fix; nothing created"
in_manager podman rm -f -t 0 qpx-stale-user >/dev/null
uctl reset-failed qpx-stale.service

# Unused (the gone container's interface still enslaved): removed, Podman builds it again, the pods
# find each other by name.
: > "$QPX_LOG_DIR/qpx-stale.err"
stale_bridge
netns sh -c "ip link add qpx-stale-v0 type veth peer name qpx-stale-v1 && ip link set qpx-stale-v0 master $iface"
uctl start qpx-stale.service || qpx_fail "start failed on a stale unused bridge"
grep -q "removed bridge $iface" <<<"$(qpx_err qpx-stale)" || qpx_fail "no warning about the removed bridge: $(qpx_err qpx-stale)"
addrs=$(netns ip -o -4 addr show dev "$iface" | awk '{print $4}')
[ "$addrs" = "${gateway}/24" ] || qpx_fail "bridge $iface carries [$addrs], want ${gateway}/24"
fetch() { as_user podman exec qpx-stale-b-s timeout 5 wget -q -O- http://qpx-stale-a/; }
wait_for 60 fetch || qpx_fail "pods on the rebuilt bridge do not resolve each other"
ok "a stale unused bridge ($iface with 10.89.251.1): removed with a warning, rebuilt with $gateway; pods resolve each other by name"
uctl stop qpx-stale.service
