#!/usr/bin/env bash
# Two .kube-style units on the shared bridge: stopping the first must not take down DNS for the
# second. Podman starts the shared rootless helpers (slirp4netns, aardvark-dns) in the cgroup of
# whichever unit needed them first; KillMode=mixed would SIGKILL them with that unit. The executor
# moves them into scopes of their own (StartTransientUnit PIDs=).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/2x-executor-lib.sh"
trap qpx_cleanup EXIT
dir=$E2E_HOME/qpx-share
qpx_yaml "$dir/a.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: qpx-share-a}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: s, image: localhost/busybox:latest, command: [sleep, "100000"]}]
YAML
qpx_yaml "$dir/b.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: qpx-share-b1}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: web, image: localhost/busybox:latest, command: [sh, -c, 'echo b1 > /tmp/index.html; exec httpd -f -p 80 -h /tmp']}]
---
apiVersion: v1
kind: Pod
metadata: {name: qpx-share-b2}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: s, image: localhost/busybox:latest, command: [sleep, "100000"]}]
YAML
qpx_unit qpx-share-b "$dir/b.yaml"
qpx_unit qpx-share-a "$dir/a.yaml"
uctl start qpx-share-a.service || qpx_fail "start a failed"
uctl start qpx-share-b.service || qpx_fail "start b failed"
helpers() { pgrep -u "$E2E_USER" -x 'slirp4netns|aardvark-dns|pasta' | sort | tr '\n' ' '; }
cgroup_of() { grep -E 'name=systemd|^0::' "/proc/$1/cgroup" | head -1; }
for p in $(helpers); do
  cg=$(cgroup_of "$p")
  log "helper $p ($(cat "/proc/$p/comm")): $cg"
  case "$cg" in *qpx-share-*.service*) qpx_fail "helper $p still in a unit's cgroup: $cg";; esac
done
ok "no shared network helper left in either unit's cgroup"
before=$(helpers)
# busybox wget has no working timeout here (-T crashes it), so bound each try from the outside.
fetch() { as_user podman exec qpx-share-b2-s timeout 5 wget -q -O- http://qpx-share-b1/; }
wait_for 20 fetch || qpx_fail "b2 cannot reach b1 by name before the test"
uctl stop qpx-share-a.service
after=$(helpers)
if [ "$after" != "$before" ]; then
  for p in $after; do log "after stop: helper $p ($(cat "/proc/$p/comm")): $(cgroup_of "$p")"; done
  qpx_fail "stopping unit a killed shared helpers: before [$before], after [$after]"
fi
ok "stopping unit a left the shared helpers running (pids $after)"
# aardvark-dns before 1.11 (Debian 12 has 1.4) tears down and rebuilds its servers on every reload, which
# a container leaving the network triggers, and answers nothing for up to ~45 s (aardvark-dns#389;
# Podman's own kube down does the same here). Killed helpers would never answer again.
start=$SECONDS
if ! wait_for 90 fetch; then
  as_user podman exec qpx-share-b2-s timeout 5 nslookup qpx-share-b1 || true
  qpx_fail "stopping unit a broke name resolution for unit b"
fi
ok "after stopping unit a, unit b's pods resolve each other by name (again after $((SECONDS - start)) s)"
