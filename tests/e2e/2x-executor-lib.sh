# Helpers shared by the executor's end-to-end tests (tests/e2e/2N-*.sh); sourced after lib.sh.
# The name does not match run.sh's [0-9][0-9]-*.sh, so it is not run as a test itself.
# shellcheck shell=bash

# The executor under test: the installed one (make install), or $QUADPLAY_BIN to skip the build.
if [ -z "${QUADPLAY_BIN:-}" ]; then
  install_quadplay
  QUADPLAY_BIN=$PREFIX/bin/quadplay
fi
USER_UNIT_DIR=$E2E_HOME/.config/systemd/user
QPX_LOG_DIR=/tmp/qpx-logs
install -d -o "$E2E_USER" -g "$E2E_USER" "$QPX_LOG_DIR" "$USER_UNIT_DIR"
QPX_UNITS=()
QPX_FILES=()

# qpx_yaml PATH — stdin to a YAML file the test user can read.
qpx_yaml() { put_file "$1"; QPX_FILES+=("$1"); }

# qpx_unit NAME YAML [PLAY OPTIONS...] — a hand-written .service exactly as the generator writes a
# .kube one (Type=notify, NotifyAccess=main, KillMode=mixed, ExecStopPost=down), plus stderr to a
# file because this machine has no journald. Extra [Service] lines come from $QPX_SERVICE_EXTRA.
qpx_unit() {
  local name=$1 yaml=$2; shift 2
  local opts="$*"
  put_file "$USER_UNIT_DIR/$name.service" <<UNIT
[Unit]
Description=quadplay e2e $name

[Service]
Type=notify
NotifyAccess=main
KillMode=mixed
Environment=PODMAN_SYSTEMD_UNIT=%n
TimeoutStartSec=120
TimeoutStopSec=90
StandardError=append:$QPX_LOG_DIR/$name.err
ExecStart=$QUADPLAY_BIN play $opts $yaml
ExecStopPost=$QUADPLAY_BIN down $yaml
${QPX_SERVICE_EXTRA:-}
UNIT
  QPX_UNITS+=("$name")
  : > "$QPX_LOG_DIR/$name.err"; chown "$E2E_USER:$E2E_USER" "$QPX_LOG_DIR/$name.err"
  uctl daemon-reload
}

qpx_err() { cat "$QPX_LOG_DIR/$1.err" 2>/dev/null || true; }

# Fails with the unit's state and its stderr.
qpx_fail() {
  local u=${QPX_UNITS[0]:-}
  [ -n "$u" ] && { unit_debug "$u.service"; echo "--- stderr of $u:"; qpx_err "$u"; } >&2
  fail "$*"
}

# Objects of the test user whose names contain PATTERN (pods, containers, secrets).
qpx_leftovers() {
  { upodman pod ps --format '{{.Name}}'; upodman ps -a --format '{{.Names}}'
    upodman secret ls --format '{{.Name}}'; } 2>/dev/null | grep -E -- "$1" || true
}

qpx_cleanup() {
  local u
  for u in "${QPX_UNITS[@]}"; do
    uctl stop "$u.service" >/dev/null 2>&1 || true
    uctl reset-failed "$u.service" >/dev/null 2>&1 || true
    rm -f "$USER_UNIT_DIR/$u.service"
  done
  uctl daemon-reload >/dev/null 2>&1 || true
  for f in "${QPX_FILES[@]}"; do rm -rf "$f"; done
}
