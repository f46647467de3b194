#!/usr/bin/env bash
# Bring up (or tear down) a real rootless test machine for quadplay's end-to-end tests, on a Debian 12
# host where systemd is NOT PID 1 (containers, CI runners): an unprivileged user with its own
# `systemd --user` manager, rootless Podman, a tiny local image and a registry on loopback.
#
#   sudo tests/e2e/setup.sh up   [USER]   # default USER=qtest; idempotent, ~1 s once packages exist
#   sudo tests/e2e/setup.sh down [USER]
#   sudo tests/e2e/setup.sh env  [USER]   # print the exports tests use
#   E2E_ENV=debian13 sudo tests/e2e/setup.sh up [USER]   # the same, in the Debian 13 tree (debian13.sh)
#
# On a machine where systemd is PID 1 and the user has a real session (loginctl enable-linger), none of
# the workarounds below are needed; this script is for the test machines.
# Facts worked around (all seen on these machines):
#  * crun refuses cgroup v1/v2 hybrid mode -> runtime = "runc".
#  * CAP_SYS_RESOURCE is missing, so Podman's default RLIMIT_NPROC/NOFILE (raised above the hard limit)
#    fail -> default_ulimits set below the hard limit.
#  * /dev/net/tun is 0600 -> rootless networking (slirp4netns) needs it 0666.
#  * `systemd --user` refuses to start unless /run/systemd/system exists, and needs a cgroup it may write
#    -> it runs in a private mount namespace that has that directory, inside a cgroup delegated to the user.
#  * No journald: units' output is not in the journal; tests read unit properties instead.
# With E2E_ENV=debian13 (Podman 5.4, systemd 257) the host part (the tree and its namespace, the
# registry, a uid no host account has) runs here, and the rest of this script runs again inside the
# tree, where every package is already in place (debian13.sh lists them). Facts worked around there:
#  * Podman 5 warns on every command about cgroups v1 (these hosts are hybrid):
#    PODMAN_IGNORE_CGROUPSV1_WARNING=1 in the manager's and the tests' environment.
#  * No system manager runs inside, so network-online.target never comes and Podman 5's
#    podman-user-wait-network-online.service would hold every unit that waits for it 90 s: the test
#    user masks it (quadplay doctor reports it, `before`/`after`, see the README).
#  * netavark 1.14 starts aardvark-dns through `systemd-run --user --scope`, which works only from a
#    process already in the user manager's cgroup: lib.sh's as_user moves itself there first.
set -euo pipefail
E2E_ENV=${E2E_ENV:-debian12}
here=$(cd "$(dirname "$0")" && pwd)

cmd=${1:-up}
user=${2:-qtest}
registry_port=5000
pkgs=(podman runc slirp4netns uidmap dbus dbus-user-session busybox-static iptables catatonit netavark
      aardvark-dns docker-registry python3 curl)

# detached CMD… — CMD in a session of its own with no open file but stdin/out/err: a daemon started
# here outlives the script and must not keep what it inherited, above all the fd of the e2e lock
# (`flock LOCK cmd` hands it to cmd; a manager or registry holding it keeps every later run waiting).
detached() {
  setsid bash -c 'for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"; done 2>/dev/null; exec "$@"' detached "$@"
}

need_root() { [ "$(id -u)" = 0 ] || { echo "setup.sh: run as root" >&2; exit 1; }; }
as_user() { (cd /tmp && runuser -u "$user" -- env XDG_RUNTIME_DIR="$rt" HOME="$home" $podman5_env "$@"); }
podman5_env=""; [ "$E2E_ENV" = debian13 ] && podman5_env=PODMAN_IGNORE_CGROUPSV1_WARNING=1

manager_up() {
  case "$(as_user systemctl --user show --property=SystemState --value 2>/dev/null)" in
    running|degraded) return 0;; *) return 1;;
  esac
}

install_pkgs() {
  local missing=()
  for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ "$E2E_ENV" = debian13 ]; then   # inside the tree: debootstrap put everything there but the registry
    missing=("${missing[@]/docker-registry}"); missing=(${missing[@]})
    [ ${#missing[@]} -eq 0 ] || { echo "setup.sh: the Debian 13 tree lacks ${missing[*]} (debian13.sh's list)" >&2; exit 1; }
    return 0
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # The registry package starts a system service on real systems; here we run our own instance.
}

# The manager's cgroup: one per user *and* environment. The Debian 13 tree shares the host's cgroup
# file system, and two managers of a user named alike (CI runs qtest in both) in one cgroup break each
# other's units (status 219/CGROUP for every start, seen when Debian 12 ran after Debian 13).
cgroup_dirs() {
  local slice=$user.slice; [ "$E2E_ENV" = debian13 ] && slice=${user}_debian13.slice
  if [ -d /sys/fs/cgroup/unified ]; then echo /sys/fs/cgroup/unified/"$slice"; else echo /sys/fs/cgroup/"$slice"; fi
  [ -d /sys/fs/cgroup/systemd ] && echo /sys/fs/cgroup/systemd/"$slice"
  return 0
}

podman_config() {
  mkdir -p /etc/containers
  grep -qs 'runtime = "runc"' /etc/containers/containers.conf || printf '[engine]\nruntime = "runc"\n' >> /etc/containers/containers.conf
  install -d -o "$user" -g "$user" -m 700 "$rt"
  install -d -o "$user" -g "$user" "$home/.config" "$home/.config/containers" "$home/.config/containers/systemd"
  cat > "$home/.config/containers/containers.conf" <<CONF
[containers]
default_ulimits = ["nproc=4096:4096", "nofile=4096:4096"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
CONF
  # The loopback registry speaks plain HTTP.
  cat > "$home/.config/containers/registries.conf" <<CONF
unqualified-search-registries = []
[[registry]]
location = "127.0.0.1:$registry_port"
insecure = true
CONF
  # Quadlet's default `--cgroups=split` needs systemd's cgroup layout, which a manager that is not under
  # a systemd PID 1 (and on hybrid cgroups) does not have: podman fails "could not find cgroup mount".
  # Real hosts keep Quadlet's default; the test user gets a drop-in for every .container.
  install -d -o "$user" -g "$user" "$home/.config/containers/systemd/container.d"
  printf '[Container]\nCgroupsMode=enabled\n' > "$home/.config/containers/systemd/container.d/50-e2e-cgroups.conf"
  chown "$user:$user" "$home/.config/containers/containers.conf" "$home/.config/containers/registries.conf" \
    "$home/.config/containers/systemd/container.d/50-e2e-cgroups.conf"
}

# Podman 5's podman-user-wait-network-online.service waits for a system network-online.target that no
# system manager here will ever reach: masked for the test user (a real host needs nothing).
mask_wait_online() {
  install -d -o "$user" -g "$user" "$home/.config/systemd" "$home/.config/systemd/user"
  ln -sfn /dev/null "$home/.config/systemd/user/podman-user-wait-network-online.service"
  chown -h "$user:$user" "$home/.config/systemd/user/podman-user-wait-network-online.service"
}

# What logind does when a user's first session starts after the last one ended (or after a boot, when
# /run is empty): a new, empty runtime dir. These machines keep /run/user/UID across restarts while the
# processes are gone, and what a dead manager and Podman left there breaks the next ones: transient unit
# files in systemd/transient are loaded again as fragments (`systemd-run` then fails "Unit run-u30.service
# was already loaded or has a fragment file" once the new bus hands out :1.30 again), and libpod's
# pause.pid, netns files and rootless-netns name dead processes ("invalid internal status").
fresh_runtime_dir() {
  # No manager runs: what still runs as the user is left over from one that died.
  pkill -KILL -u "$user" 2>/dev/null || true
  for _ in $(seq 1 50); do pgrep -u "$user" >/dev/null || break; sleep 0.1; done
  # Mounts under the runtime dir (netns bind mounts of a dead Podman), innermost first.
  awk -v rt="$rt" '$5 == rt || index($5, rt "/") == 1 {print $5}' /proc/self/mountinfo | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$rt"
  install -d -o "$user" -g "$user" -m 700 "$rt"
}

# Containers and pods of the dedicated test user outlive its manager in Podman's storage; after a fresh
# runtime dir Podman sees them as after a reboot (stopped). Tests start from none; `down` leaves none.
remove_leftover_containers() {
  as_user podman pod rm -a -f -t 0 >/dev/null 2>&1 || true
  as_user podman rm -a -f -t 0 >/dev/null 2>&1 || true
}

start_manager() {
  manager_up && return 0
  fresh_runtime_dir
  for d in $(cgroup_dirs); do mkdir -p "$d"; chown -R "$user:$user" "$d"; done
  local procs=""; for d in $(cgroup_dirs); do procs="$procs $d/cgroup.procs"; done
  # A private mount namespace gets /run/systemd/system so that the host stays as it is.
  detached unshare -m --propagation private bash -c "
    for f in $procs; do echo \$\$ > \$f; done
    mount -t tmpfs tmpfs /run/systemd 2>/dev/null || { mkdir -p /run/systemd && mount -t tmpfs tmpfs /run/systemd; }
    mkdir -p /run/systemd/system
    exec runuser -u $user -- env XDG_RUNTIME_DIR=$rt HOME=$home $podman5_env /lib/systemd/systemd --user
  " > "/tmp/systemd-user-$user.log" 2>&1 < /dev/null &
  for _ in $(seq 1 100); do manager_up && break; sleep 0.2; done
  manager_up || { echo "systemd --user did not come up; see /tmp/systemd-user-$user.log" >&2; exit 1; }
}

# The session bus for D-Bus clients (quadplay auto-update): dbus-user-session's dbus.socket in the user
# manager; the manager's private socket works too, and auto-update falls back to it.
start_session_bus() {
  [ -S "$rt/bus" ] && return 0
  as_user systemctl --user daemon-reload
  as_user systemctl --user start dbus.socket
  for _ in $(seq 1 50); do [ -S "$rt/bus" ] && break; sleep 0.1; done
}

build_image() {
  as_user podman image exists localhost/busybox:latest 2>/dev/null && return 0
  local tmp; tmp=$(mktemp -d); mkdir -p "$tmp/root/bin" "$tmp/root/tmp" "$tmp/root/etc" "$tmp/root/var/www"
  cp /bin/busybox "$tmp/root/bin/busybox"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$tmp/root/bin/$a"; done
  echo "root:x:0:0:root:/root:/bin/sh" > "$tmp/root/etc/passwd"
  echo "root:x:0:" > "$tmp/root/etc/group"
  tar -C "$tmp/root" -cf "$tmp/busybox.tar" .
  chmod -R a+rx "$tmp"
  as_user podman import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' "$tmp/busybox.tar" localhost/busybox:latest >/dev/null
  rm -rf "$tmp"
}

start_registry() {
  if [ -n "${E2E_INSIDE:-}" ]; then  # inside the tree: the host's, started before entering (same network)
    curl -fsS "http://127.0.0.1:$registry_port/v2/" >/dev/null || { echo "setup.sh: no registry on the host" >&2; exit 1; }
    return 0
  fi
  if ! curl -fsS "http://127.0.0.1:$registry_port/v2/" >/dev/null 2>&1; then
    mkdir -p /var/tmp/quadplay-registry
    cat > /var/tmp/quadplay-registry/config.yml <<CONF
version: 0.1
storage:
  filesystem:
    rootdirectory: /var/tmp/quadplay-registry/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$registry_port
CONF
    detached docker-registry serve /var/tmp/quadplay-registry/config.yml >/tmp/quadplay-registry.log 2>&1 < /dev/null &
    for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$registry_port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  curl -fsS "http://127.0.0.1:$registry_port/v2/" >/dev/null || { echo "registry did not start; see /tmp/quadplay-registry.log" >&2; exit 1; }
}

up() {
  need_root
  install_pkgs
  id "$user" >/dev/null 2>&1 || useradd ${E2E_D13_UID:+-u "$E2E_D13_UID"} -m -s /bin/bash "$user"
  uid=$(id -u "$user"); home=$(getent passwd "$user" | cut -d: -f6); rt=/run/user/$uid
  # Each test user gets its own subordinate range, so that two users' containers never share ids.
  local base=$((200000 + (uid % 1000) * 65536))
  grep -q "^$user:" /etc/subuid || echo "$user:$base:65536" >> /etc/subuid
  grep -q "^$user:" /etc/subgid || echo "$user:$base:65536" >> /etc/subgid
  chmod 666 /dev/net/tun 2>/dev/null || true
  podman_config
  [ "$E2E_ENV" = debian13 ] && mask_wait_online
  local was_up=1; manager_up || was_up=0
  start_manager
  start_session_bus
  [ "$was_up" = 1 ] || remove_leftover_containers
  build_image
  start_registry
  echo "ready: user=$user uid=$uid XDG_RUNTIME_DIR=$rt unit dir=$home/.config/containers/systemd registry=127.0.0.1:$registry_port"
}

down() {
  need_root
  uid=$(id -u "$user"); home=$(getent passwd "$user" | cut -d: -f6); rt=/run/user/$uid
  remove_leftover_containers
  as_user systemctl --user exit >/dev/null 2>&1 || true
  sleep 1
  fresh_runtime_dir   # logind removes it after the last session: nothing stale for the next `up`
  echo "stopped systemd --user of $user"
}

envout() {
  uid=$(id -u "$user"); home=$(getent passwd "$user" | cut -d: -f6)
  echo "export E2E_USER=$user E2E_UID=$uid E2E_HOME=$home XDG_RUNTIME_DIR=/run/user/$uid E2E_REGISTRY=127.0.0.1:$registry_port"
}

# The Debian 13 environment from the host: the tree, the registry (on the host: same network), a uid
# unused on the host, the checkout copied in; then this script again, inside.
debian13_from_host() {
  need_root
  local repo; repo=$(cd "$here/../.." && pwd)
  if [ "$cmd" = up ]; then
    "$here/debian13.sh" up
    command -v docker-registry >/dev/null || { pkgs=(docker-registry curl); E2E_ENV=debian12 install_pkgs; }
    start_registry
    "$here/debian13.sh" sync "$repo"
    E2E_D13_UID=$("$here/debian13.sh" uid "$user") "$here/debian13.sh" enter -- "$repo/tests/e2e/setup.sh" up "$user"
  else
    "$here/debian13.sh" enter -- "$repo/tests/e2e/setup.sh" "$cmd" "$user"
  fi
}

if [ "$E2E_ENV" = debian13 ] && [ -z "${E2E_INSIDE:-}" ]; then debian13_from_host; exit; fi
case "$cmd" in
  up) up ;;
  down) down ;;
  env) envout ;;
  *) echo "usage: $0 up|down|env [USER]" >&2; exit 2 ;;
esac
