#!/usr/bin/env bash
# Builds everything with the tests and runs the whole suite. Also installs what only the tests
# need, from Debian (when run as root and missing): Node.js and npm, Prometheus (promtool and the
# server), strace, curl and systemd-analyze, bubblewrap and python3 (the code metric's sandbox), the
# JSON-Schema-Test-Suite, redis-server and redis-cli (the Studio worker's tests); and the pinned
# npm packages of tests/sdk (Opik's TypeScript SDK, for the compatibility test).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for tool in npm:npm node:nodejs promtool:prometheus prometheus:prometheus strace:strace curl:curl \
            systemd-analyze:systemd bwrap:bubblewrap redis-server:redis-server redis-cli:redis-tools; do
  command -v "${tool%%:*}" >/dev/null || need+=("${tool#*:}")
done
# The sandbox sees only /usr: Debian's python3, not one earlier on PATH (pyenv's, say).
[ -x /usr/bin/python3 ] || need+=(python3)
[ -d /usr/share/json-schema-test-suite/tests ] || need+=(json-schema-test-suite)
source tools/lib/apt.sh
apt_install_missing test "${need[@]}"
[ -d tests/sdk/node_modules/opik ] || npm ci --prefix tests/sdk --no-audit --no-fund --loglevel=error
OPTD_BUILD_TESTS=ON tools/bootstrap.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j "$(nproc)" --timeout 300
