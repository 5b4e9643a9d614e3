#!/usr/bin/env bash
# The closed loop (issue 12), bounded: bench/closed_loop.sh at engine --speed 4 on 90 s of
# the 2024-10-16 window (30% of its rows: 70 requests, 41 with images) at two loads:
# `sim --profile` of the engine's profile against what `bench` measures on it, p50/p99
# TTFT and TPOT. ~60-90 s (the profile ~15 s, bench 22 + 11 s of replay).
# Bounds, and why (docs/live.md has the measured tables): 25% on TTFT, 50% on TPOT; every
# metric counted, no known misses. This is a guard against gross errors, not the
# measurement (that is bench/closed_loop.sh: 10%, more requests). Measured after the
# client's TCP_NODELAY fix (net_client.c), on the shared 2-core machine at load averages
# 5-8 (other jobs' builds): eight release runs at --speed 4 within 10.1% on TTFT; TPOT
# within 10.7% but in two runs, where a lagging machine slowed the engine's decode steps
# during bench: p50 and p99 at load 2 -29.5% in one, p99 -41.1% in the other (bench 11.9
# ms against 7.0-8.0; TPOT p99 of 70 requests is the second-worst request's decode); at
# --speed 2 TPOT p99 read -34% in one of two runs, so a slower speed buys no tighter
# bound. Two ASan runs within 17.7% (ASan's CPU per step, a larger share of a ~0.8 ms
# decode step at --speed 4). The bounds still fail a
# unit slip (times not divided by --speed: 100% or more), a lost stage (the encode is 34
# of TTFT p50's ~42 ms) and the Nagle stall this test used to carry as four known misses
# (a 40 ms delayed-ACK wait in the profile's multi-image encode rows; the old client, run
# through this test at load average 6: TPOT p99 at load 2 +331%).
set -u
here=$(cd "$(dirname "$0")" && pwd)
MS_CLOSED_LOOP_TOL="0.25 tpot_p50=0.5 tpot_p99=0.5" MS_PROFILE_ARGS="--repeats 3" \
	timeout 300 bash "$here/../../bench/closed_loop.sh" "$(dirname "${MS_BIN:?}")" 4 \
	"$here/../data/azure-lmm-2025-windows/window-2024-10-16T0836.csv" 270s 360s 0.3 "1 2"
