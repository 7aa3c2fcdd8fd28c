#!/usr/bin/env bash
# Installs what optd needs from Debian 12 (when run as root and something is missing), then
# configures and builds. Environment knobs:
#   BUILD_DIR (build), CMAKE_BUILD_TYPE (RelWithDebInfo), OPTD_SANITIZE (""),
#   OPTD_WARNINGS_AS_ERRORS (OFF), OPTD_BUILD_TESTS (ON), BUILD_TARGETS (all).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ cmake ninja-build pkg-config libboost1.81-dev libssl-dev libyaml-cpp-dev nlohmann-json3-dev
          libsqlite3-dev libcli11-dev libgtest-dev libgmock-dev ca-certificates prometheus-cpp-dev libsystemd-dev
          libvalijson-dev zlib1g-dev libhiredis-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
source tools/lib/apt.sh
apt_install_missing bootstrap "${missing[@]}"

build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-RelWithDebInfo}" \
  -DOPTD_SANITIZE="${OPTD_SANITIZE:-}" \
  -DOPTD_WARNINGS_AS_ERRORS="${OPTD_WARNINGS_AS_ERRORS:-OFF}" \
  -DOPTD_BUILD_TESTS="${OPTD_BUILD_TESTS:-ON}" >/dev/null
# shellcheck disable=SC2086
cmake --build "$build_dir" -j "$(nproc)" ${BUILD_TARGETS:+--target $BUILD_TARGETS}
