#!/usr/bin/env bash
# Builds everything with the tests and runs the whole suite. Also installs what only the tests
# need: Node.js and npm (Debian's, when missing) and the pinned npm packages of tests/sdk (Opik's
# TypeScript SDK, for the compatibility test).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null; then
  if [[ $(id -u) -eq 0 ]]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  else
    echo "test: npm is missing; run: sudo apt-get install nodejs npm" >&2
    exit 1
  fi
fi
[ -d tests/sdk/node_modules/opik ] || npm ci --prefix tests/sdk --no-audit --no-fund --loglevel=error
OPTD_BUILD_TESTS=ON tools/bootstrap.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j "$(nproc)" --timeout 300
