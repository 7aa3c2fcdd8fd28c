#!/usr/bin/env bash
# Builds everything with the tests and runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
OPTD_BUILD_TESTS=ON tools/bootstrap.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j "$(nproc)" --timeout 300
