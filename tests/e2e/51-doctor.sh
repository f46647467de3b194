#!/usr/bin/env bash
# `quadplay doctor` on the real machine: for the set-up test user every check that matters passes
# (generator installed, user manager reachable, subordinate IDs, Podman); for a fresh user without
# subordinate IDs and lingering it reports those failures with their fixes and exits 1, and after the
# fixes are applied they disappear.
source "$(dirname "$0")/lib.sh"
install_quadplay
qp=$PREFIX/bin/quadplay
fresh=qdoctor$$
cleanup() {
  # podman info (run by doctor) leaves the user's rootless pause process behind; end it by pid.
  for pid in $(ps -u "$fresh" -o pid= 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
  sleep 0.5
  userdel -r "$fresh" >/dev/null 2>&1 || true; rm -f "/var/lib/systemd/linger/$fresh"
  sed -i "/^$fresh:/d" /etc/subuid /etc/subgid   # userdel leaves them
  rm -f "$UNIT_DIR/qdoctor-bad.kube"
}
trap cleanup EXIT

as_user "$qp" doctor --format json > /tmp/51-doctor.json || true
python3 - /tmp/51-doctor.json <<'PY' || fail "doctor report for $E2E_USER: $(cat /tmp/51-doctor.json)"
import json, sys
r = json.load(open(sys.argv[1]))
st = {c["id"]: c["status"] for c in r["checks"]}
summary = {c["id"]: c["summary"] for c in r["checks"]}
for want in ("subuid", "subgid", "uidmap", "tun", "podman", "bridges", "generator", "podman-quadlet", "units", "manager"):
    assert st[want] == "ok", (want, st[want])
# Debian 12's aardvark-dns 1.4 pauses name resolution on every reload: a warning, with the version.
assert st["network"] == "ok" or "aardvark-dns#389" in summary["network"], summary["network"]
print("checks:", " ".join(f"{k}={v}" for k, v in st.items()))
PY
ok "doctor: every check that matters passes for $E2E_USER"

# A unit file that does not convert is a failure that names file and key.
printf '[Kube]\nPublishPort=8080:80\n' | put_unit qdoctor-bad.kube
set +e; out=$(as_user "$qp" doctor); rc=$?; set -e
rm -f "$UNIT_DIR/qdoctor-bad.kube"
[ "$rc" = 1 ] || fail "doctor exited $rc with a broken unit file, want 1"
grep -q '^FAIL  units .*qdoctor-bad.kube.*Yaml' <<<"$out" || fail "no units failure naming the file: $(grep units <<<"$out")"
ok "broken unit file: $(grep '^FAIL  units' <<<"$out" | cut -c1-150)"

# A fresh user: no subordinate IDs, no lingering, no session.
useradd -m -s /bin/bash "$fresh"
usermod --del-subuids 1-4294967294 --del-subgids 1-4294967294 "$fresh" 2>/dev/null || true
sed -i "/^$fresh:/d" /etc/subuid /etc/subgid
# A clean environment, as after `su` without a PAM session: no XDG_RUNTIME_DIR, no session bus.
run_fresh() {
  (cd /tmp && runuser -u "$fresh" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="/home/$fresh" USER="$fresh" \
    "$qp" doctor "$@")
}
set +e; out=$(run_fresh); rc=$?; set -e
echo "$out" | sed 's/^/    /'
[ "$rc" = 1 ] || fail "doctor exited $rc for a user without subordinate IDs, want 1"
grep -q '^FAIL  subuid' <<<"$out" || fail "no subuid failure"
grep -q 'fix: usermod --add-subuids' <<<"$out" || fail "no usermod fix"
grep -q '^WARN  linger .*' <<<"$out" && grep -q "fix: loginctl enable-linger $fresh" <<<"$out" || fail "no linger warning"
grep -q '^FAIL  manager .*XDG_RUNTIME_DIR' <<<"$out" || fail "no manager failure"
ok "fresh user: subuid/subgid/manager FAIL, linger WARN, exit 1"

# Apply the fixes doctor printed (the user manager part needs a session: XDG_RUNTIME_DIR given).
# A range no other user has (doctor warns about overlaps): above every range already given out.
base=$(awk -F: '{ e = $2 + $3; if (e > m) m = e } END { print (m > 300000 ? m : 300000) }' /etc/subuid /etc/subgid)
usermod --add-subuids "$base-$((base + 65535))" --add-subgids "$base-$((base + 65535))" "$fresh"
mkdir -p /var/lib/systemd/linger && touch "/var/lib/systemd/linger/$fresh"
out=$(run_fresh --format json) || true  # manager still fails: no session
python3 -c '
import json, sys
st = {c["id"]: c["status"] for c in json.loads(sys.argv[1])["checks"]}
assert st["subuid"] == st["subgid"] == st["linger"] == "ok", st
' "$out" || fail "fixes did not clear the checks: $out"
ok "after usermod --add-subuids and enable-linger: subuid, subgid, linger ok"
