#!/usr/bin/env bash
# Installs the Debian packages and builds build/modserve.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
