#!/usr/bin/env bash
# What recording decisions costs a serving router, measured on two routers at once: one with
# `--store none` and one with `--store sqlite:…`, both pinned to the same core, driven by one load
# generator (pinned to the other core) that gives each the same streams, or the same paced rate,
# at the same moments. Traffic goes to 127.0.0.1 only; every loop is bounded in time.
#
#   scripts/store_paired.sh                        # 6 rounds, 10 s per phase
#   ROUNDS=3 SECONDS_PER_PHASE=5 scripts/store_paired.sh
#   CONNS=8 STREAMS=16 scripts/store_paired.sh
#
# Why pairs. `scripts/store_load.sh` measures the two routers one after the other; on a shared
# machine whose speed moves by ±20% from minute to minute, that difference is larger than the one
# measured (BENCHMARKS.md §6). Here both routers see the same machine at the same moment:
# - closed loop: both are saturated and share their core; the scheduler gives each the same CPU
#   time, so the ratio of their throughputs is the ratio of their CPU cost per call, which is what
#   `--store` adds;
# - paced: each is offered the same rate, chosen so that the two together keep the core half busy
#   (r = a·b/(a+b) from the closed-loop throughputs a and b), so each call sees a core at half
#   load, as a lone router at half its throughput does; their sends alternate.
# Each round reports the ratio and the p99 difference; the medians over rounds are the figures
# (an even number of rounds gives each router the first place equally often).
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${CONNS:-16}
STREAMS=${STREAMS:-32}
PHASE=${SECONDS_PER_PHASE:-10}
PORT=${PORT:-20788}
ROUNDS=${ROUNDS:-6}
DATA=$(mktemp -d -p "${STORE_DIR:-/tmp}")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$DATA"
}
trap cleanup EXIT

source scripts/lib.sh
build_bins
echo "topology: $TOPOLOGY; both routers on the server's core (the store's writer thread with its router)"
machine

A_NONE="127.0.0.1:$PORT"; A_SQLITE="127.0.0.1:$((PORT + 2))"
M_NONE=$((PORT + 1)); M_SQLITE=$((PORT + 3))

# start STORE LISTEN METRICS_PORT -> starts a router in the background (pid in PIDS).
start() {
  "${SERVER_PIN[@]}" "$BIN" serve --listen "$2" --metrics-listen "127.0.0.1:$3" \
    --shutdown-grace-ms 0 --store "$1" >/dev/null 2>&1 &
  PIDS+=($!)
}
# phase LABEL RATE -> drives both routers (RATE 0: closed loop) and sets `none` and `sqlite` to
# their loadgen lines.
phase() {
  local out
  out=$("${LOADGEN[@]}" "$TARGETS" route --connections "$CONNS" \
    --streams "$STREAMS" --seconds "$PHASE" --rate "$2")
  none=$(echo "$out" | grep "^target=http://$A_NONE ")
  sqlite=$(echo "$out" | grep "^target=http://$A_SQLITE ")
  echo "$1, store none:   $none"
  echo "$1, store sqlite: $sqlite"
}

ratios=(); diffs=()
for round in $(seq 1 "$ROUNDS"); do
  # The load generator's first target sends first in each period (the second half a period
  # later); which router that is alternates from round to round, so that neither is favoured.
  if (( round % 2 )); then
    TARGETS="http://$A_NONE,http://$A_SQLITE"; first=none
  else
    TARGETS="http://$A_SQLITE,http://$A_NONE"; first=sqlite
  fi
  echo "round $round of $ROUNDS ($first sends first)"
  PIDS=()
  start none "$A_NONE" "$M_NONE"
  start "sqlite:$DATA/r$round.sqlite" "$A_SQLITE" "$M_SQLITE"
  "${LOADGEN[@]}" "http://$A_NONE" wait >/dev/null
  "${LOADGEN[@]}" "http://$A_SQLITE" wait >/dev/null

  phase "closed loop" 0
  a=$(echo "$none" | field rps); b=$(echo "$sqlite" | field rps)
  ratio=$(awk -v s="$b" -v n="$a" 'BEGIN {printf "%.3f", s/n}')
  ratios+=("$ratio")
  echo "throughput sqlite / none: $ratio (target ≥ 0.90)"

  rate=$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%d", a*b/(a+b)}')
  phase "paced at $rate/s each" "$rate"
  n_p99=$(echo "$none" | field p99_us); s_p99=$(echo "$sqlite" | field p99_us)
  diff=$(awk -v s="$s_p99" -v n="$n_p99" 'BEGIN {printf "%+.0f", s-n}')
  diffs+=("$diff")
  echo "p99 at half load: none $n_p99 µs, sqlite $s_p99 µs, difference $diff µs (target ≤ +200 µs)"
  metrics=$(curl -s "http://127.0.0.1:$M_SQLITE/metrics" || true)
  echo "  in the sqlite router over both phases: recording took $(echo "$metrics" | hist_mean hotline_store_record_duration_seconds) µs per call on average, at most $(echo "$metrics" | hist_p99 hotline_store_record_duration_seconds) µs for 99% of calls"
  for p in "${PIDS[@]}"; do kill -TERM "$p"; wait "$p" || true; done
  PIDS=()
  echo "decisions recorded: $(sqlite3 "$DATA/r$round.sqlite" 'select count(*) from decisions' 2>/dev/null || echo '(sqlite3 not installed)')"
done
echo "ratios: ${ratios[*]}; median $(printf '%s\n' "${ratios[@]}" | median) (target ≥ 0.90)"
echo "p99 differences: ${diffs[*]} µs; median $(printf '%s\n' "${diffs[@]}" | median) µs (target ≤ +200 µs)"
