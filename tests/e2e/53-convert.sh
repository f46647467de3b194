#!/usr/bin/env bash
# The README quickstart, as a user would type it: `quadplay convert` turns examples/compose.yaml (two
# services, each on container port 80) into Kubernetes YAML plus a .kube unit in the user's Quadlet
# directory; `systemctl --user daemon-reload` + `start` runs it, the front pod serves what it fetched
# from the back pod by name, the unit is wanted by default.target (starts at login, at boot with
# linger), and stop leaves no pod. Also: the YAML is accepted by Podman's own `kube play` (valid
# Kubernetes for another implementation), and a broken compose file is refused with file:line and
# writes nothing.
source "$(dirname "$0")/lib.sh"
install_quadplay
app=qconv
qp=$PREFIX/bin/quadplay
work=$E2E_HOME/qconv-work
cleanup() {
  uctl stop "$app.service" >/dev/null 2>&1 || true
  in_manager podman kube down "$work/podman-check.yaml" >/dev/null 2>&1 || true
  rm -f "$UNIT_DIR/$app.kube" "$UNIT_DIR/$app.yaml"; rm -rf "$work"
  uctl daemon-reload >/dev/null 2>&1 || true
}
trap cleanup EXIT
install -d -o "$E2E_USER" -g "$E2E_USER" "$work"
sed -e 's/"8081:80"/"28081:80"/' -e 's/"8082:80"/"28082:80"/' "$REPO/examples/compose.yaml" | put_file "$work/compose.yaml"

# Bad input: error names file and line, nothing is written.
printf 'services:\n  web:\n    image: x\n    ports:\n      - "80:http"\n' | put_file "$work/bad.yaml"
if out=$(as_user "$qp" convert "$work/bad.yaml" -o "$work/out" 2>&1); then fail "bad compose accepted"; fi
grep -q "bad.yaml:5:9: services.web.ports\[0\]: cannot read port" <<<"$out" || fail "error lacks file:line:key: $out"
[ ! -e "$work/out" ] || fail "a refused conversion wrote $(ls "$work/out")"
ok "bad compose refused: $out"

# Without -o the YAML goes to stdout; Podman's own kube play accepts it (then it is taken down).
as_user "$qp" convert "$work/compose.yaml" --name qconvchk > "$work/podman-check.yaml" 2>/dev/null
sed -i -e 's/hostPort: 28081/hostPort: 28091/' -e 's/hostPort: 28082/hostPort: 28092/' "$work/podman-check.yaml"
in_manager podman kube play "$work/podman-check.yaml" >/tmp/53-podman.log 2>&1 || { cat /tmp/53-podman.log; fail "podman kube play rejected the YAML"; }
wait_for 20 bash -c "curl -fsS --max-time 3 http://127.0.0.1:28092/ | grep -q 'hello from back'" || fail "podman kube play: back not serving"
in_manager podman kube down "$work/podman-check.yaml" >/dev/null
ok "podman kube play (Podman's own parser) runs the converted YAML"

# The quickstart.
start=$SECONDS
as_user "$qp" convert "$work/compose.yaml" --name "$app" -o "$UNIT_DIR" 2>"$work/warnings" >/dev/null \
  || fail "convert: $(cat "$work/warnings")"
[ -f "$UNIT_DIR/$app.yaml" ] && [ -f "$UNIT_DIR/$app.kube" ] || fail "convert -o wrote no yaml/kube"
grep -q '^WantedBy=default.target' "$UNIT_DIR/$app.kube" || fail "no WantedBy=default.target"
uctl daemon-reload
[ "$(unit_prop "$app.service" LoadState)" = loaded ] || fail "$app.service not loaded"
[ -L "$XDG_RUNTIME_DIR/systemd/generator/default.target.wants/$app.service" ] || fail "not wanted by default.target"
uctl start "$app.service" || { unit_debug "$app.service"; fail "start $app.service"; }
wait_for 60 bash -c "curl -fsS --max-time 3 http://127.0.0.1:28081/ | grep -q 'hello from back'" \
  || { unit_debug "$app.service"; fail "front never served back's page"; }
ok "convert -> daemon-reload -> start: front (28081) serves 'hello from back' in $((SECONDS - start)) s"
[ "$(curl -fsS --max-time 3 http://127.0.0.1:28082/)" = "hello from back" ] || fail "back (28082) not serving"
uctl stop "$app.service"
left=$(upodman pod ps --format '{{.Name}}' | grep -Ex "$app-back|$app-front" || true)
[ -z "$left" ] || fail "pods left after stop: $left"
ok "stop removed both pods"
