#!/usr/bin/env bash
# The Debian package, end to end: `make deb` builds it here (offline), `dpkg -i` installs it, Podman's
# Quadlet generator is masked, and the package's own user generator — with nothing else done —
# turns a .kube file (converted from examples/compose.yaml) into a service the real user manager
# loads; when the executor is built, the service starts and the two pods serve through each other.
# `dpkg --purge` removes every file and the masks.
source "$(dirname "$0")/lib.sh"
app=qdeb
deb_installed_before=$(dpkg-query -W -f='${Status}' quadplay 2>/dev/null || true)
local_gen=/usr/local/lib/systemd/user-generators/quadplay-user-generator
moved=""
cleanup() {
  uctl stop "$app.service" >/dev/null 2>&1 || true
  rm -f "$UNIT_DIR/$app.kube" "$UNIT_DIR/$app.yaml"
  if [ -n "$moved" ]; then mv -f "$moved" "$local_gen"; fi
  uctl daemon-reload >/dev/null 2>&1 || true
  case $deb_installed_before in *" installed") ;; *) dpkg --purge quadplay >/dev/null 2>&1 || true ;; esac
}
trap cleanup EXIT

# The package tools, like setup.sh's packages, are installed when missing.
need=(); [ -n "${E2E_DEB:-}" ] || for p in debhelper dpkg-dev; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
start=$SECONDS
if [ -n "${E2E_DEB:-}" ]; then  # Debian 13: run.sh built it on the host (no Rust toolchain in the tree)
  deb=$E2E_DEB
  ok "the package built on the Debian 12 host: $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB)"
else
  make -C "$REPO" deb >/tmp/52-deb-build.log 2>&1 || { tail -30 /tmp/52-deb-build.log; fail "make deb failed"; }
  deb=$(ls "$REPO"/dist/quadplay_*_*.deb | head -n1)
  ok "make deb built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB) in $((SECONDS - start)) s"
fi

dpkg -i "$deb" >/tmp/52-deb-install.log 2>&1 || { cat /tmp/52-deb-install.log; fail "dpkg -i failed"; }
for f in /usr/bin/quadplay /usr/libexec/quadplay/quadplay-generator /usr/share/man/man5/quadplay.kube.5.gz \
         /usr/share/bash-completion/completions/quadplay; do
  [ -e "$f" ] || fail "$f not installed"
done
[ "$(readlink -f /usr/lib/systemd/user-generators/quadplay-user-generator)" = /usr/libexec/quadplay/quadplay-generator ] \
  || fail "user generator link does not lead to the generator"
for k in system user; do
  [ "$(readlink /etc/systemd/$k-generators/podman-$k-generator)" = /dev/null ] || fail "podman-$k-generator not masked"
done
err=$(man -l /usr/share/man/man5/quadplay.kube.5.gz 2>&1 >/dev/null) && [ -z "$err" ] || fail "man quadplay.kube: $err"
ok "dpkg -i: binaries, generator links, man pages, completions, Podman's generator masked"

# The user's files: the quickstart compose file converted by the packaged binary (other host ports,
# so that this test does not meet another's).
sed -e 's/"8081:80"/"18081:80"/' -e 's/"8082:80"/"18082:80"/' "$REPO/examples/compose.yaml" > /tmp/52-compose.yaml
as_user /usr/bin/quadplay convert /tmp/52-compose.yaml --name "$app" -o "$UNIT_DIR" >/dev/null 2>/tmp/52-convert.err \
  || fail "convert: $(cat /tmp/52-convert.err)"

# Only the package's generator may run: a `make install` copy in /usr/local would shadow it.
if [ -e "$local_gen" ] || [ -L "$local_gen" ]; then
  # Out of the directory: systemd runs every executable in it, whatever its name.
  moved=/usr/local/lib/systemd/.quadplay-user-generator.52-deb-aside; mv "$local_gen" "$moved"
fi
uctl daemon-reload
gen=$XDG_RUNTIME_DIR/systemd/generator/$app.service
[ -f "$gen" ] || fail "the package's generator wrote no $gen"
grep -q '^ExecStart=/usr/bin/quadplay play' "$gen" || fail "ExecStart is not the packaged quadplay: $(grep ExecStart "$gen")"
[ -L "$XDG_RUNTIME_DIR/systemd/generator/default.target.wants/$app.service" ] || fail "no default.target.wants link"
[ "$(unit_prop "$app.service" LoadState)" = loaded ] || fail "$app.service not loaded"
ok "package generator: $app.service loaded (ExecStart=/usr/bin/quadplay play ..., WantedBy=default.target)"

probe=$(as_user /usr/bin/quadplay play /nonexistent.yaml 2>&1 || true)
if ! grep -q 'not built yet' <<<"$probe"; then
  uctl start "$app.service" || { unit_debug "$app.service"; fail "start $app.service"; }
  wait_for 60 bash -c "curl -fsS --max-time 3 http://127.0.0.1:18081/ | grep -q 'hello from back'" \
    || { unit_debug "$app.service"; fail "front (18081) never served back's page"; }
  ok "systemctl --user start $app.service: front on 18081 serves 'hello from back' fetched by name"
  uctl stop "$app.service"
  [ -z "$(upodman pod ps -q --filter name=$app-back --filter name=$app-front)" ] || fail "pods left after stop"
  ok "stop removed the pods"
else
  log "executor not built yet on this branch: the unit loads, it is not started"
fi

if [ -n "$moved" ]; then mv -f "$moved" "$local_gen"; moved=""; fi
rm -f "$UNIT_DIR/$app.kube" "$UNIT_DIR/$app.yaml"
case $deb_installed_before in *" installed") log "quadplay was installed before this test: left installed";;
*)
  dpkg --purge quadplay >/dev/null
  for f in /usr/bin/quadplay /usr/libexec/quadplay /usr/lib/systemd/user-generators/quadplay-user-generator \
           /etc/systemd/user-generators/podman-user-generator /etc/systemd/system-generators/podman-system-generator \
           /var/lib/quadplay; do
    { [ -e "$f" ] || [ -L "$f" ]; } && fail "$f left after dpkg --purge"
  done
  ok "dpkg --purge removed the files and the masks it made";;
esac
