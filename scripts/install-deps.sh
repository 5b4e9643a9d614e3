#!/usr/bin/env bash
# Installs the Debian 12 packages modserve builds, tests and plots with (scripts/debian-packages.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
# shellcheck disable=SC2046
$SUDO apt-get install -y -qq --no-install-recommends $(cat scripts/debian-packages.txt) >/dev/null
