#!/usr/bin/env bash
# ExitCodePropagation none/any/all with containers (restartPolicy Never) exiting 0 and 1: the unit's
# result as systemd reports it once every container is done.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/2x-executor-lib.sh"
trap qpx_cleanup EXIT
dir=$E2E_HOME/qpx-exit

# yaml NAME CODE1 CODE2 — two pods, one container each, exiting with the given codes.
make_yaml() {
  qpx_yaml "$dir/$1.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1-a}
spec:
  restartPolicy: Never
  containers:
  - {name: job, image: localhost/busybox:latest, command: [sh, -c, 'sleep 1; exit $2']}
---
apiVersion: v1
kind: Pod
metadata: {name: $1-b}
spec:
  restartPolicy: Never
  containers:
  - {name: job, image: localhost/busybox:latest, command: [sh, -c, 'sleep 2; exit $3']}
YAML
}

# case NAME POLICY CODE1 CODE2 EXPECTED_RESULT EXPECTED_STATUS
check_case() {
  local name=$1 policy=$2 result status
  make_yaml "$name" "$3" "$4"
  qpx_unit "$name" "$dir/$name.yaml" --exit-code-propagation="$policy"
  uctl start "$name.service" || qpx_fail "$name: start failed"
  wait_for 60 bash -c "[ \"\$(runuser -u $E2E_USER -- env XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR systemctl --user show -p ActiveState --value $name.service)\" != active ]" \
    || qpx_fail "$name: unit still active after its containers exited"
  wait_for 30 bash -c "case \"\$(runuser -u $E2E_USER -- env XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR systemctl --user show -p ActiveState --value $name.service)\" in inactive|failed) exit 0;; *) exit 1;; esac" || true
  result=$(unit_prop "$name.service" Result)
  status=$(unit_prop "$name.service" ExecMainStatus)
  [ "$result" = "$5" ] && [ "$status" = "$6" ] \
    || qpx_fail "$name: policy $policy, exits ($3,$4): Result=$result ExecMainStatus=$status, wanted $5/$6"
  [ -z "$(qpx_leftovers "^$name-")" ] || qpx_fail "$name: left behind: $(qpx_leftovers "^$name-")"
  ok "policy $policy, containers exit ($3,$4) -> Result=$result ExecMainStatus=$status, nothing left"
}

check_case qpx-exit-none none 0 1 success 0
check_case qpx-exit-any1 any 0 1 exit-code 1
check_case qpx-exit-any0 any 0 0 success 0
check_case qpx-exit-all1 all 0 1 success 0
check_case qpx-exit-all2 all 3 1 exit-code 3

# restartPolicy Always means always, as in Kubernetes: a `podman stop` behind the unit's back is an
# exit like any other, and the executor starts the container again after its back-off (10 s); the
# unit stays active. (`systemctl stop` is how the app is stopped.)
qpx_yaml "$dir/qpx-exit-stop.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: qpx-exit-stop}
spec:
  restartPolicy: Always
  containers:
  - {name: s, image: localhost/busybox:latest, command: [sleep, "100000"]}
YAML
qpx_unit qpx-exit-stop "$dir/qpx-exit-stop.yaml" --exit-code-propagation=any
uctl start qpx-exit-stop.service || qpx_fail "qpx-exit-stop: start failed"
started=$(upodman inspect qpx-exit-stop-s --format '{{.State.StartedAt}}')
upodman stop -t 0 qpx-exit-stop-s >/dev/null
restarted() { [ "$(upodman inspect qpx-exit-stop-s --format '{{.State.Status}} {{.State.StartedAt}}')" != "running $started" ] \
  && [ "$(upodman inspect qpx-exit-stop-s --format '{{.State.Status}}')" = running ]; }
wait_for 30 restarted \
  || qpx_fail "qpx-exit-stop: the stopped Always container was not started again"
[ "$(unit_prop qpx-exit-stop.service ActiveState)" = active ] || qpx_fail "qpx-exit-stop: unit not active"
ok "podman stop of an Always container: started again by the executor, unit still active"
uctl stop qpx-exit-stop.service
