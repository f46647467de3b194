#!/usr/bin/env bash
# The README's quickstart command, examples/quickstart.sh, run as the user (quadplay already installed
# by the harness): it must convert, start hello.service and print both pages, front's fetched by name.
source "$(dirname "$0")/lib.sh"
install_quadplay
cleanup() { as_user env NAME=qs "$REPO/examples/quickstart.sh" --remove >/dev/null 2>&1 || true; }
trap cleanup EXIT
# The user must be able to read the checkout (CI clones under /root or /tmp).
copy=$E2E_HOME/quickstart-repo
rm -rf "$copy"; mkdir -p "$copy"
cp -r "$REPO/examples" "$copy/"; chown -R "$E2E_USER:$E2E_USER" "$copy"
out=$(as_user env NAME=qs QUICKSTART_SKIP_INSTALL=1 PREFIX="$PREFIX" "$copy/examples/quickstart.sh" 2>&1) \
  || { echo "$out"; unit_debug qs.service; fail "quickstart.sh failed"; }
grep -q "hello from back" <<<"$out" || { echo "$out"; fail "back's page not shown"; }
[ "$(grep -c 'hello from back' <<<"$out")" -ge 2 ] || { echo "$out"; fail "front did not serve back's page"; }
[ "$(unit_prop qs.service ActiveState)" = active ] || fail "qs.service not active"
ok "quickstart.sh: qs.service active, front serves what it fetched from back by name"
as_user env NAME=qs "$copy/examples/quickstart.sh" --remove >/dev/null
[ -z "$(pod_names | grep '^qs-' || true)" ] || fail "pods left after --remove"
ok "quickstart.sh --remove leaves no pod"
rm -rf "$copy"
