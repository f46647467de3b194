# Shared helpers for quadplay's end-to-end tests. Sourced by tests/e2e/NN-*.sh, which run as root and
# drive the test user's real `systemd --user` and rootless Podman (brought up by setup.sh).
# The same scripts run in both environments (run.sh): Debian 12 on the host, and Debian 13 inside the
# tree of debian13.sh, where run.sh runs them again as root (E2E_ENV=debian13, E2E_INSIDE=1): paths,
# `runuser` and `systemctl --user` mean the same there; what differs is in the helpers below.
# shellcheck shell=bash
set -euo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$E2E_DIR/../.." && pwd)
eval "$("$E2E_DIR/setup.sh" env "${E2E_USER:-qtest}")"
UNIT_DIR=$E2E_HOME/.config/containers/systemd
export E2E_DIR REPO UNIT_DIR
export PREFIX=${PREFIX:-/usr/local}
TEST_NAME=$(basename "$0" .sh)

E2E_ENV=${E2E_ENV:-debian12}
export E2E_ENV
# Podman 5 warns about cgroups v1 on every command on these hybrid hosts (setup.sh).
E2E_PODMAN_ENV=(); [ "$E2E_ENV" = debian13 ] && E2E_PODMAN_ENV=(PODMAN_IGNORE_CGROUPSV1_WARNING=1)

# Run a command as the test user, in its session environment, from a directory it may read.
# In Debian 13 it first joins the user manager's cgroup (as a login session would be): netavark 1.14
# starts aardvark-dns with `systemd-run --user --scope`, which fails from any other cgroup.
as_user() {
  (cd /tmp && join_user_cgroup && runuser -u "$E2E_USER" -- env XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" \
    HOME="$E2E_HOME" DBUS_SESSION_BUS_ADDRESS="unix:path=$XDG_RUNTIME_DIR/bus" PATH="$PREFIX/bin:/usr/bin:/bin" \
    "${E2E_PODMAN_ENV[@]}" "$@")
}
# The calling (sub)shell into the cgroup setup.sh delegated to the user's manager (Debian 13 only).
join_user_cgroup() {
  [ "$E2E_ENV" = debian13 ] || return 0
  local d s=${E2E_USER}_debian13.slice   # setup.sh's cgroup_dirs
  for d in /sys/fs/cgroup/unified/"$s" /sys/fs/cgroup/"$s" /sys/fs/cgroup/systemd/"$s"; do
    [ -w "$d/cgroup.procs" ] && echo "$BASHPID" > "$d/cgroup.procs"
  done
  return 0
}
# podman_major — the test user's Podman major version (4 on Debian 12, 5 on Debian 13).
podman_major() { as_user podman version --format '{{.Client.Version}}' | cut -d. -f1; }
uctl() { as_user systemctl --user "$@"; }
# Run a command inside the user's manager (a transient unit), not as a child of this root shell.
# Podman started from here leaves processes (aardvark-dns, conmon) whose reaper is PID 1, which on
# these machines is not systemd and reaps late: an exited aardvark-dns stays a zombie, netavark takes it
# for live, and the next pods on that network get no DNS. The user manager reaps at once.
# Each unit gets a name of its own: systemd-run's default (run-u<bus id>) repeats whenever the bus
# starts again, and collides with a unit of that name still loaded.
in_manager() {
  as_user systemd-run --user --wait --pipe --quiet -p KillMode=process \
    --unit="qp-e2e-$TEST_NAME-$(date +%s%N)" -- "$@"
}
upodman() { as_user podman "$@"; }

log() { printf '[%s] %s\n' "$TEST_NAME" "$*"; }
ok() { printf '[%s] ok: %s\n' "$TEST_NAME" "$*"; }
fail() { printf '[%s] FAIL: %s\n' "$TEST_NAME" "$*" >&2; exit 1; }

# wait_for SECONDS CMD... — retry CMD every 0.2 s until it succeeds or SECONDS pass.
wait_for() {
  local secs=$1; shift
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# http_get URL — body on stdout; fails on HTTP errors and after 3 s.
http_get() { curl -fsS --max-time 3 "$1"; }

# unit_prop UNIT PROP — one property of a user unit.
unit_prop() { uctl show -p "$2" --value "$1"; }

# Dump what a failed unit left behind, to make CI failures readable.
unit_debug() {
  local u=$1
  uctl status --no-pager "$u" 2>&1 | head -40 || true
  uctl show -p ActiveState,SubState,Result,ExecMainStatus,ExecMainCode "$u" || true
  upodman ps -a --format '{{.Names}} {{.Status}}' || true
}

# put_unit FILE — write stdin to the user's Quadlet directory, owned by the user.
put_unit() {
  install -d -o "$E2E_USER" -g "$E2E_USER" "$UNIT_DIR"
  cat > "$UNIT_DIR/$1"
  chown "$E2E_USER:$E2E_USER" "$UNIT_DIR/$1"
}
# put_file PATH — write stdin to PATH (dirs created), owned by the user.
put_file() {
  install -d -o "$E2E_USER" -g "$E2E_USER" "$(dirname "$1")"
  cat > "$1"
  chown "$E2E_USER:$E2E_USER" "$1"
}

# Build and install quadplay into $PREFIX so the user manager runs our generator. E2E_PROFILE picks the
# cargo profile (default debug: it reuses `cargo test`'s build; release with LTO takes minutes on 2 cores).
# In Debian 13 run.sh installed it into the tree from the host (no Rust toolchain inside) and set
# QUADPLAY_INSTALLED.
install_quadplay() {
  if [ -z "${QUADPLAY_INSTALLED:-}" ]; then
    make -C "$REPO" install PREFIX="$PREFIX" PROFILE="${E2E_PROFILE:-debug}" >/tmp/quadplay-install.log 2>&1 \
      || { cat /tmp/quadplay-install.log >&2; fail "make install failed"; }
    export QUADPLAY_INSTALLED=1
  fi
}

# A user-manager reload that also shows generator errors (the generator logs to stderr here: no kmsg).
reload() { uctl daemon-reload; }

# Pods and containers of the test user, names only.
pod_names() { upodman pod ps --format '{{.Name}}'; }
container_names() { upodman ps -a --format '{{.Names}}'; }

# Podman's teardown of a Quadlet .container can be cut short by the unit's stop (KillMode=mixed
# SIGKILLs `podman container cleanup`): the removed network's bridge then stays in the rootless network
# namespace and its name in aardvark-dns's config. A later network given that interface name gets no
# gateway (quadplay play repairs that, test 32; Podman does not). Tests that stop .container units call
# this after removing their network, so that each test leaves the machine as it found it.
clear_stale_network_state() {
  # Podman 4 keeps the rootless namespace as netns/rootless-netns-<hash>, Podman 5 under
  # containers/networks/rootless-netns/rootless-netns; looking into one that does not exist would create it.
  compgen -G "$XDG_RUNTIME_DIR/netns/rootless-netns-*" >/dev/null \
    || [ -f "$XDG_RUNTIME_DIR/containers/networks/rootless-netns/rootless-netns" ] || return 0
  local ifaces nets b f
  ifaces=$(upodman network ls --format '{{.NetworkInterface}}' 2>/dev/null) || return 0
  nets=$(upodman network ls --format '{{.Name}}' 2>/dev/null) || return 0
  for b in $(as_user podman unshare --rootless-netns ip -o link show type bridge 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
    grep -qx "$b" <<<"$ifaces" && continue
    log "Podman left bridge $b of a removed network in the rootless namespace: deleting it"
    as_user podman unshare --rootless-netns ip link del "$b" || true
  done
  for f in "$XDG_RUNTIME_DIR"/containers/networks/aardvark-dns/*; do
    [ -f "$f" ] || continue
    case "$(basename "$f")" in aardvark.pid) continue ;; esac
    grep -qx "$(basename "$f")" <<<"$nets" && continue
    log "Podman left aardvark-dns's config of removed network $(basename "$f"): deleting it"
    rm -f "$f"
  done
}

# What a test left behind, removed so that one test's failure cannot fail the next ones (run.sh calls
# this after every test and reports what it found: a passing test should leave nothing). Between tests
# the user has no generated unit running, no Quadlet file but setup.sh's drop-in, no pod, no container.
sweep_user_state() {
  local gen="$XDG_RUNTIME_DIR/systemd/generator" u f found=()
  for u in $(uctl list-units --type=service --state=active,activating,deactivating,failed --plain --no-legend 2>/dev/null | awk '{print $1}'); do
    [ -e "$gen/$u" ] || continue
    found+=("unit $u")
    uctl stop "$u" >/dev/null 2>&1 || true
  done
  while IFS= read -r f; do
    [ "$f" = "$UNIT_DIR/container.d/50-e2e-cgroups.conf" ] && continue
    found+=("file ${f#"$UNIT_DIR"/}")
    rm -rf "$f"
  done < <(find "$UNIT_DIR" -mindepth 1 \( -type f -o -type l \) 2>/dev/null)
  find "$UNIT_DIR" -mindepth 1 -type d -empty ! -name container.d -delete 2>/dev/null || true
  [ ${#found[@]} -eq 0 ] || { uctl daemon-reload || true; }
  uctl reset-failed >/dev/null 2>&1 || true
  for f in $(pod_names 2>/dev/null); do found+=("pod $f"); done
  for f in $(container_names 2>/dev/null); do found+=("container $f"); done
  upodman pod rm -a -f -t 0 >/dev/null 2>&1 || true
  upodman rm -a -f -t 0 >/dev/null 2>&1 || true
  clear_stale_network_state >/dev/null 2>&1 || true
  [ ${#found[@]} -eq 0 ] || echo "${found[*]}"
}
