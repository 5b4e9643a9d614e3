#!/usr/bin/env bash
# Installs the Debian 12 packages modserve builds, tests and plots with (run as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
	build-essential cmake pkg-config ca-certificates \
	zlib1g-dev libisal-dev libjansson-dev libcurl4-openssl-dev libcmocka-dev \
	gnuplot-nox fonts-dejavu-core clang libclang-rt-14-dev python3 python3-pandas >/dev/null
