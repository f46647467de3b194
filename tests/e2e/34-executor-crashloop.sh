#!/usr/bin/env bash
# Crash loops reach systemd (issue 12 item 3): a .kube unit with `MaxRestarts=3` whose container exits
# 1 at once. The executor restarts it with the kubelet's back-off (at once, then after 10 s and 20 s),
# STATUS= names the loop ("qcl/crash: CrashLoopBackOff, 1 restart"), and the exit after the third
# restart stops the app and fails the unit (Result=exit-code), where Restart=/OnFailure= and monitoring
# see it. Its healthy sibling pod is removed with it.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

cleanup() {
  uctl stop qcl.service >/dev/null 2>&1 || true
  rm -f "$UNIT_DIR/qcl.kube" "$UNIT_DIR/qcl.yaml"
  uctl daemon-reload >/dev/null 2>&1 || true
  uctl reset-failed qcl.service >/dev/null 2>&1 || true
  upodman pod rm -f qcl qcl-ok >/dev/null 2>&1 || true
}
trap cleanup EXIT
install_quadplay
cleanup

put_file "$UNIT_DIR/qcl.yaml" <<'EOF2'
apiVersion: v1
kind: Pod
metadata: {name: qcl}
spec:
  restartPolicy: Always
  containers:
  - {name: crash, image: localhost/busybox:latest, command: [sh, -c, 'echo crashing now; exit 1']}
---
apiVersion: v1
kind: Pod
metadata: {name: qcl-ok}
spec:
  containers:
  - {name: idle, image: localhost/busybox:latest, command: [sleep, "100000"]}
EOF2
put_unit qcl.kube <<'EOF2'
[Kube]
Yaml=qcl.yaml
MaxRestarts=3
EOF2
reload
exec_start=$(unit_prop qcl.service ExecStart)
[[ $exec_start == *"--max-restarts=3 "* ]] || fail "ExecStart lacks --max-restarts=3: $exec_start"
ok "MaxRestarts=3 is in the generated ExecStart"

t0=$SECONDS
uctl start qcl.service || { unit_debug qcl.service; fail "qcl.service did not start"; }
# Sample STATUS= until the unit leaves active (10 s + 20 s of back-off, then the fourth exit).
seen=$(mktemp)
for _ in $(seq 1 200); do
  state=$(unit_prop qcl.service ActiveState)
  unit_prop qcl.service StatusText >> "$seen"
  case $state in active|activating|deactivating) sleep 0.5 ;; *) break ;; esac
done
took=$((SECONDS - t0))
sort -u "$seen" | sed 's/^/    STATUS=/'
grep -q '^qcl/crash: CrashLoopBackOff, 1 restart$' "$seen" || fail "STATUS= never showed the loop after one restart"
grep -q '^qcl/crash: CrashLoopBackOff, 2 restarts$' "$seen" || fail "STATUS= never showed the loop after two restarts"
grep -q '^qcl/crash: CrashLoopBackOff, 3 restarts: --max-restarts reached, stopping$' "$seen" || fail "STATUS= never said the limit was reached"
ok "STATUS= showed the crash loop (sampled every 0.5 s)"
[ "$(unit_prop qcl.service ActiveState)" = failed ] || { unit_debug qcl.service; fail "unit not failed after the limit: $(unit_prop qcl.service ActiveState)"; }
[ "$(unit_prop qcl.service Result)" = exit-code ] || fail "Result=$(unit_prop qcl.service Result), not exit-code"
[ "$took" -ge 30 ] || fail "failed after ${took}s: the back-off (10 s + 20 s) was not waited"
[ "$took" -le 60 ] || fail "failed only after ${took}s"
ok "after 3 restarts the unit failed (${took}s after start, Result=exit-code, ExecMainStatus=$(unit_prop qcl.service ExecMainStatus))"
left=$( { upodman pod ps --format '{{.Name}}'; upodman ps -a --format '{{.Names}}'; } | grep -E '^qcl' || true)
[ -z "$left" ] || fail "left behind: $left"
ok "both pods were removed"
