#!/usr/bin/env bash
# Configures and builds modserve into build/ (release) or, with --asan, build-asan/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--asan" ]; then
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMS_SANITIZE=ON -DMS_FUZZ_RUN=OFF >/dev/null
	cmake --build build-asan -j"$(nproc)"
else
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j"$(nproc)"
fi
