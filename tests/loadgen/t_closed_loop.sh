#!/usr/bin/env bash
# The closed loop (issue 12), bounded: bench/closed_loop.sh at engine --speed 4 on 90 s of
# the 2024-10-16 window (30% of its rows: 70 requests, 41 with images) at two loads:
# `sim --profile` of the engine's profile against what `bench` measures on it, p50/p99
# TTFT and TPOT. ~60-90 s (the profile ~15 s, bench 22 + 11 s of replay).
# Bound, and why (docs/live.md has the measured tables): 25% on all eight metrics, no
# known misses. This is a guard against gross errors, not the measurement (that is
# bench/closed_loop.sh: 10%, more requests). Measured after the client's TCP_NODELAY fix
# (net_client.c) and the engine's own clock (engine.c: a host's lag is made up), on the
# 2-core machine: three release runs quiet (load average < 1) within 1.4%, two with four
# busy loops beside them (load average 1.3-3.8) within 13.9% (TPOT p99 at load 2: the
# profile's decode rows read high under load), one ASan run within 5.8%. Before the
# engine's clock, TPOT at load 2 moved by -30..-41% in two of eight runs at load average
# 5-8 (bench's decode steps lagged). The bound still fails a unit slip (times not divided
# by --speed: 100% or more), a lost stage (the encode is 34 of TTFT p50's ~42 ms) and the
# Nagle stall this test used to carry as four known misses (a 40 ms delayed-ACK wait in
# the profile's multi-image encode rows; the old client, run through this test at load
# average 6: TPOT p99 at load 2 +331%).
set -u
here=$(cd "$(dirname "$0")" && pwd)
MS_CLOSED_LOOP_TOL=0.25 MS_PROFILE_ARGS="--repeats 3" \
	timeout 300 bash "$here/../../bench/closed_loop.sh" "$(dirname "${MS_BIN:?}")" 4 \
	"$here/../data/azure-lmm-2025-windows/window-2024-10-16T0836.csv" 270s 360s 0.3 "1 2"
