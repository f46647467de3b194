#!/usr/bin/env bash
# Run every end-to-end test (tests/e2e/NN-*.sh) as root against a real systemd --user + rootless Podman.
# Usage: sudo tests/e2e/run.sh [PATTERN]   (PATTERN selects tests by file name, e.g. 2 or 21-seed)
#        sudo E2E_ENV=debian13 tests/e2e/run.sh [PATTERN]   (the same tests in Debian 13: Podman 5.4)
# In Debian 13 this script builds and installs quadplay into the tree from the host (the tree has no
# Rust toolchain; Debian 12's binaries run on Debian 13's newer glibc), then runs itself inside.
set -uo pipefail
dir=$(cd "$(dirname "$0")" && pwd)
E2E_ENV=${E2E_ENV:-debian12}
export E2E_ENV
case $E2E_ENV in debian12|debian13) ;; *) echo "run.sh: E2E_ENV is debian12 or debian13, not $E2E_ENV" >&2; exit 2 ;; esac
if [ "$E2E_ENV" = debian13 ] && [ -z "${E2E_INSIDE:-}" ]; then
  "$dir/setup.sh" up "${E2E_USER:-qtest}" || exit 1
  repo=$(cd "$dir/../.." && pwd)
  tree=$("$dir/debian13.sh" root)
  # Debian 13's podman ships its own Quadlet generator (Debian 12's does not): masked, as the README
  # tells users to do, or both would write the same services.
  make -C "$repo" install PREFIX="${PREFIX:-/usr/local}" PROFILE="${E2E_PROFILE:-debug}" DESTDIR="$tree" \
    MASK_PODMAN_QUADLET=1 >/tmp/quadplay-install-d13.log 2>&1 \
    || { cat /tmp/quadplay-install-d13.log >&2; echo "run.sh: make install into $tree failed" >&2; exit 1; }
  # 52-deb installs the package built here (the same one a Debian 12 build host makes).
  if [[ "52-deb" == *"${1:-}"* ]]; then
    need=(); for p in debhelper dpkg-dev; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
    if [ ${#need[@]} -gt 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    fi
    make -C "$repo" deb >/tmp/quadplay-deb-d13.log 2>&1 || { tail -30 /tmp/quadplay-deb-d13.log >&2; exit 1; }
    deb=$(ls -t "$repo"/dist/quadplay_*_*.deb | head -n1)
    cp "$deb" "$tree/tmp/"; export E2E_DEB=/tmp/$(basename "$deb")
  fi
  QUADPLAY_INSTALLED=1 exec "$dir/debian13.sh" enter -- "$repo/tests/e2e/run.sh" "$@"
fi
"$dir/setup.sh" up "${E2E_USER:-qtest}" || exit 1
# shellcheck source=lib.sh
source "$dir/lib.sh"
set +e
install_quadplay
pattern=${1:-}
passed=(); failed=(); left_behind=(); known_failed=()
# Known failures, each with its open issue and reason. They still run and are reported, but do not fail
# the run; one that passes is reported so that it is taken off this list.
# Entries look like [debian13:NN-name]="issue N: why"; none today.
declare -A known=()
# Each test's output is kept, and a failed test's is printed again at the end: CI shows the tail of
# the log, and the reason for a failure must be in it.
logs=$(mktemp -d /tmp/quadplay-e2e.XXXXXX)
for t in "$dir"/[0-9][0-9]-*.sh; do
  name=$(basename "$t" .sh)
  [ -n "$pattern" ] && [[ "$name" != *"$pattern"* ]] && continue
  echo "=== $name"
  start=$SECONDS
  if timeout 600 bash "$t" 2>&1 | tee "$logs/$name.log"; [ "${PIPESTATUS[0]}" -eq 0 ]; then
    passed+=("$name"); echo "=== $name: PASS ($((SECONDS - start)) s)"
    [ -z "${known[$E2E_ENV:$name]:-}" ] || echo "=== $name passes in $E2E_ENV: take it off run.sh's known failures"
  elif [ -n "${known[$E2E_ENV:$name]:-}" ]; then
    known_failed+=("$name"); echo "=== $name: KNOWN FAILURE in $E2E_ENV ($((SECONDS - start)) s): ${known[$E2E_ENV:$name]}"
  else failed+=("$name"); echo "=== $name: FAIL ($((SECONDS - start)) s)"; fi
  # Each test starts from a clean user, whatever the one before it did.
  left=$(TEST_NAME=$name sweep_user_state)
  [ -z "$left" ] || { echo "=== $name left behind (removed): $left"; left_behind+=("$name"); }
done
# CI shows the end of the log: each failed test's last lines, then one line per failure with its reason.
for name in "${failed[@]}"; do
  echo "--- $name failed; the end of its output ($logs/$name.log):"
  tail -n 30 "$logs/$name.log"
done
for name in "${failed[@]}"; do
  why=$(grep -m1 -E '\] FAIL: ' "$logs/$name.log" | cut -c1-400)
  echo "--- $name: ${why:-no FAIL line: timed out or a command failed (see its log)}"
done
[ ${#left_behind[@]} -eq 0 ] || echo "e2e ($E2E_ENV): left things behind: ${left_behind[*]}"
echo "e2e ($E2E_ENV): ${#passed[@]} passed, ${#failed[@]} failed${failed[*]:+ (${failed[*]})}, ${#known_failed[@]} known failures${known_failed[*]:+ (${known_failed[*]})}"
[ ${#failed[@]} -eq 0 ]
