#!/usr/bin/env bash
# The compose oracle: every compose project of tests/compose_oracle/corpus (written by us, shaped like
# vendor apps) is loaded by docker compose 2.x (`docker-compose config --format json`, compose-go, the
# Compose spec's reference implementation) and converted by `quadplay convert`; the services are
# compared normalized (image, entrypoint, command, environment, ports, volumes, secrets, configs,
# healthcheck, depends_on, restart, replicas, profiles selected). Any difference fails the test.
# Runs where docker compose 2 is installed: in the Debian 13 environment (E2E_ENV=debian13); Debian
# 12's docker-compose is the 1.x Python one, which is not the reference, so there it says so and passes.
source "$(dirname "$0")/lib.sh"
install_quadplay
if ! docker-compose version 2>/dev/null | grep -Eq 'version v?2\.'; then
  ok "no docker compose 2.x in $E2E_ENV: the oracle runs in the Debian 13 environment"
  exit 0
fi
out=$(python3 "$REPO/tests/compose_oracle/oracle.py" --quadplay "$PREFIX/bin/quadplay" \
  --work /tmp/quadplay-compose-oracle 2>&1) || { echo "$out"; fail "quadplay convert differs from docker compose"; }
echo "$out" | sed 's/^/  /'
ok "$(docker-compose version --short 2>/dev/null): $(tail -n1 <<<"$out")"
