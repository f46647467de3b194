#!/usr/bin/env bash
# The second e2e environment: Debian 13 (Podman 5.4, systemd 257, netavark 1.14 with nftables, pasta)
# on a Debian 12 host, in a directory tree built with debootstrap and entered through a private mount
# namespace. run.sh uses it when E2E_ENV=debian13: the same test scripts then run as root *inside*
# the tree, where setup.sh brings up the test user's own `systemd --user` and rootless Podman 5.
#
#   sudo tests/e2e/debian13.sh up                # build the tree (once, ~2 min) and start the namespace
#   sudo tests/e2e/debian13.sh sync REPO         # copy the checkout (no target/, no .git) to the same path inside
#   sudo tests/e2e/debian13.sh enter -- CMD…     # CMD as root inside (clean environment, E2E_* kept)
#   sudo tests/e2e/debian13.sh uid USER          # a uid for USER inside that no host account uses
#   sudo tests/e2e/debian13.sh destroy           # end the namespace (the tree stays)
#
# Facts worked around (seen on these machines):
#  * The kernel refuses user namespaces to a chrooted process, and rootless Podman needs them: the tree
#    becomes the root of a private mount namespace with pivot_root. A holder process (`sleep infinity`)
#    keeps that namespace; `enter` joins it with nsenter. The network and PID namespaces stay the
#    host's: ports published inside answer on the host's 127.0.0.1 (and collide with the host's).
#  * /run inside is a tmpfs of the namespace, with /run/systemd/system so that `systemd --user` starts.
#  * The tree's users share the host's kernel uids: a test user inside gets a uid no host account has,
#    or `pkill -u` inside would reach a host user's processes.
# D13_ROOT (default /var/tmp/quadplay-debian13) and D13_HOLDER override where the tree and pid file live.
set -euo pipefail

ROOT=${D13_ROOT:-/var/tmp/quadplay-debian13}
HOLDER=${D13_HOLDER:-/run/quadplay-debian13.pid}
# What the tests use inside: Podman 5 and its helpers, the user manager and its bus, the tools the test
# scripts call (curl, python3, ss, pgrep, flock, man/groff/col, zsh, fish), docker-compose (the oracle).
pkgs=dbus,dbus-daemon,dbus-user-session,systemd,podman,uidmap,slirp4netns,passt,catatonit,netavark
pkgs+=,aardvark-dns,crun,runc,iptables,nftables,busybox-static,curl,procps,iproute2,python3
pkgs+=,docker-compose,man-db,groff-base,bsdextrautils,zsh,fish,make,ca-certificates

# detached CMD… — CMD in a session of its own with no open file but stdin/out/err: a daemon started
# here outlives the script and must not keep what it inherited, above all the fd of the e2e lock
# (`flock LOCK cmd` hands it to cmd; a manager or registry holding it keeps every later run waiting).
detached() {
  setsid bash -c 'for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"; done 2>/dev/null; exec "$@"' detached "$@"
}

need_root() { [ "$(id -u)" = 0 ] || { echo "debian13.sh: run as root" >&2; exit 1; }; }

mirror() { # the Debian mirror apt already uses on this host
  local u
  u=$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -1 | awk '{print $2}')
  [ -n "$u" ] || u=$(grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | grep -v security | head -1 | awk '{print $2}')
  [ -n "$u" ] || { echo "debian13.sh: no Debian mirror in apt's sources" >&2; exit 1; }
  echo "$u"
}

holder_pid() {
  local p; p=$(cat "$HOLDER" 2>/dev/null) || return 1
  [ "$(cat "/proc/$p/comm" 2>/dev/null)" = sleep ] && [ -d "/proc/$p/root/run/systemd/system" ] && echo "$p"
}

make_tree() {
  [ -f "$ROOT/.quadplay-tree-complete" ] && return 0
  command -v debootstrap >/dev/null || {
    apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
  rm -rf "$ROOT"; mkdir -p "$ROOT"
  local start=$SECONDS
  echo "debian13.sh: debootstrap Debian 13 into $ROOT (a few minutes, once)" >&2
  debootstrap --variant=minbase --include="$pkgs" trixie "$ROOT" "$(mirror)" > "$ROOT.debootstrap.log" 2>&1 \
    || { tail -20 "$ROOT.debootstrap.log" >&2; echo "debian13.sh: debootstrap failed; see $ROOT.debootstrap.log" >&2; exit 1; }
  touch "$ROOT/.quadplay-tree-complete"
  echo "debian13.sh: tree built in $((SECONDS - start)) s" >&2
}

start_holder() {
  holder_pid >/dev/null && return 0
  rm -f "$HOLDER"
  # The holder writes its own pid (that bash execs sleep, keeping it): \$! would be the pid of a
  # wrapper whenever bash or setsid fork on the way.
  detached unshare -m bash -c "
    set -e
    echo \$\$ > '$HOLDER'
    mount --make-rprivate /
    mount --bind '$ROOT' '$ROOT'
    mount -t proc proc '$ROOT/proc'
    mount --rbind /sys '$ROOT/sys'
    mount --rbind /dev '$ROOT/dev'
    mount -t tmpfs tmpfs '$ROOT/run'
    mkdir -p '$ROOT/run/systemd/system' '$ROOT/run/user' '$ROOT/oldroot'
    cp /etc/resolv.conf '$ROOT/etc/resolv.conf' 2>/dev/null || true
    cd '$ROOT'; pivot_root . oldroot; umount -l /oldroot
    exec sleep infinity" > "$ROOT.holder.log" 2>&1 < /dev/null &
  for _ in $(seq 1 50); do holder_pid >/dev/null && return 0; sleep 0.1; done
  echo "debian13.sh: the namespace did not come up; see $ROOT.holder.log" >&2; exit 1
}

# enter CMD… — CMD as root inside, with a clean environment but the E2E_*/QUADPLAY_* variables kept.
enter() {
  local p kept=() v
  p=$(holder_pid) || { echo "debian13.sh: the namespace is not up (run: $0 up)" >&2; exit 1; }
  while IFS='=' read -r v _; do
    case $v in E2E_*|QUADPLAY_*|PREFIX|D13_*) kept+=("$v=${!v}") ;; esac
  done < <(env)
  nsenter -t "$p" -m -r -w env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" E2E_ENV=debian13 E2E_INSIDE=1 "${kept[@]}" "$@"
}

# sync REPO — the checkout at the same absolute path inside, so that the tests' paths hold there too.
sync_repo() {
  local repo=$1 dest=$ROOT$1
  rm -rf "$dest"; mkdir -p "$dest"
  tar -C "$repo" --exclude=./target --exclude=./.git --exclude=./dist -cf - . | tar -C "$dest" -xf -
}

# uid USER — USER's uid inside if it exists, else the first uid from 61000 that neither the host nor the
# tree uses and whose subordinate range (setup.sh: uid % 1000) no host user has either.
free_uid() {
  local user=$1 u
  u=$(awk -F: -v n="$user" '$1 == n {print $3}' "$ROOT/etc/passwd") && [ -n "$u" ] && { echo "$u"; return; }
  for u in $(seq 61000 61999); do
    getent passwd "$u" >/dev/null && continue
    awk -F: -v u="$u" '$3 == u {f=1} END {exit !f}' "$ROOT/etc/passwd" && continue
    getent passwd | awk -F: -v m=$((u % 1000)) '$3 % 1000 == m {f=1} END {exit !f}' && continue
    echo "$u"; return
  done
  echo "debian13.sh: no free uid" >&2; exit 1
}

cmd=${1:-up}; shift || true
case "$cmd" in
  up) need_root; make_tree; start_holder; echo "debian13.sh: ready: root=$ROOT holder=$(holder_pid)" >&2 ;;
  sync) need_root; sync_repo "$1" ;;
  enter) need_root; [ "${1:-}" = -- ] && shift; enter "$@" ;;
  uid) free_uid "$1" ;;
  root) echo "$ROOT" ;;
  destroy) need_root; p=$(holder_pid) && kill "$p"; rm -f "$HOLDER"; echo "namespace ended; the tree stays in $ROOT" ;;
  *) echo "usage: $0 up|sync REPO|enter -- CMD…|uid USER|root|destroy" >&2; exit 2 ;;
esac
