#!/usr/bin/env bash
# The whole test suite: a release build and an ASan+UBSan build, each running every CTest test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
(cd build && ctest --output-on-failure -j2)
bash scripts/build.sh --asan
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j2 -LE slow)
