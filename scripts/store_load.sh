#!/usr/bin/env bash
# What recording decisions costs a serving router: Route throughput (closed loop) and p99 latency
# at half load (paced at half the no-store throughput), with `--store none` and with
# `--store sqlite:…`, in one run on the same machine. Traffic goes to 127.0.0.1 only; every loop is
# bounded in time.
#
#   scripts/store_load.sh                          # 16 connections × 32 streams, 10 s per phase
#   CONNS=8 STREAMS=16 SECONDS_PER_PHASE=5 scripts/store_load.sh
#   PIN=0 scripts/store_load.sh                  # server and load generator share both cores
#   ROUNDS=5 scripts/store_load.sh                 # five rounds, none and sqlite alternated; medians
#   ROUNDS=8 SECONDS_PER_PHASE=4 PACED=0 scripts/store_load.sh   # throughput only, eight rounds
#   STORE_DIR=/dev/shm/x scripts/store_load.sh     # the database and its spool on another file system
#
# On a shared machine whose speed moves from minute to minute, one round says little: each round
# measures none and sqlite back to back (in turn first, so that a steady drift in the machine's
# speed favours neither), and the medians of the rounds' ratios and differences
# are the figures.
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${CONNS:-16}
STREAMS=${STREAMS:-32}
PHASE=${SECONDS_PER_PHASE:-10}
PORT=${PORT:-20778}
ROUNDS=${ROUNDS:-1}
PACED=${PACED:-1}
ADDR="http://127.0.0.1:$PORT"
mkdir -p "${STORE_DIR:-/tmp}"
DATA=$(mktemp -d -p "${STORE_DIR:-/tmp}")
trap 'rm -rf "$DATA"' EXIT

source scripts/lib.sh
build_bins
echo "topology: $TOPOLOGY (the store's writer thread runs with the server)"
machine

MPORT=$((PORT + 1))

# measure STORE [RATE] -> prints "rps=… p99_us=…" of a closed-loop phase, or of a paced one, and
# the server's own figures from its histograms: routing (route_p99_le_us) and, with a store, what
# recording added to each call (record_mean_us, record_p99_le_us); p99s are their buckets' upper bounds.
measure() {
  "${SERVER_PIN[@]}" "$BIN" serve --listen "127.0.0.1:$PORT" --metrics-listen "127.0.0.1:$MPORT" \
    --shutdown-grace-ms 0 --store "$1" >/dev/null 2>&1 &
  local server=$!
  "${LOADGEN[@]}" "$ADDR" wait >/dev/null
  local out metrics
  out=$("${LOADGEN[@]}" "$ADDR" route --connections "$CONNS" --streams "$STREAMS" --seconds "$PHASE" --rate "${2:-0}")
  metrics=$(curl -s "http://127.0.0.1:$MPORT/metrics" || true)
  kill -TERM $server; wait $server || true
  echo "$out route_p99_le_us=$(echo "$metrics" | hist_p99 hotline_route_duration_seconds) record_p99_le_us=$(echo "$metrics" | hist_p99 hotline_store_record_duration_seconds) record_mean_us=$(echo "$metrics" | hist_mean hotline_store_record_duration_seconds)"
}

# recording MEASURE_LINE -> what recording cost each call of that phase, in words.
recording() {
  echo "recording took $(echo "$1" | field record_mean_us) µs per call on average, at most $(echo "$1" | field record_p99_le_us) µs for 99% of calls"
}

ratios=(); diffs=()
for round in $(seq 1 "$ROUNDS"); do
  [ "$ROUNDS" -gt 1 ] && echo "round $round of $ROUNDS"
  if [ $((round % 2)) = 1 ]; then
    none=$(measure none); echo "store none, closed loop:   $none"
    sqlite=$(measure "sqlite:$DATA/a$round.sqlite"); echo "store sqlite, closed loop: $sqlite"
  else
    sqlite=$(measure "sqlite:$DATA/a$round.sqlite"); echo "store sqlite, closed loop: $sqlite"
    none=$(measure none); echo "store none, closed loop:   $none"
  fi
  n_rps=$(echo "$none" | field rps); s_rps=$(echo "$sqlite" | field rps)
  ratio=$(awk -v s="$s_rps" -v n="$n_rps" 'BEGIN {printf "%.3f", s/n}')
  ratios+=("$ratio")
  echo "throughput sqlite / none: $ratio (target ≥ 0.90)"
  echo "  in the server: $(recording "$sqlite")"
  echo "decisions recorded: $(sqlite3 "$DATA/a$round.sqlite" 'select count(*) from decisions' 2>/dev/null || echo '(sqlite3 not installed)')"
  [ "$PACED" = 1 ] || continue
  half=$(awk -v r="$n_rps" 'BEGIN {printf "%d", r/2}')
  none_p=$(measure none "$half"); echo "store none, paced at $half/s:   $none_p"
  sqlite_p=$(measure "sqlite:$DATA/b$round.sqlite" "$half"); echo "store sqlite, paced at $half/s: $sqlite_p"
  n_p99=$(echo "$none_p" | field p99_us); s_p99=$(echo "$sqlite_p" | field p99_us)
  diff=$(awk -v s="$s_p99" -v n="$n_p99" 'BEGIN {printf "%+.0f", s-n}')
  diffs+=("$diff")
  echo "p99 at half load: none $n_p99 µs, sqlite $s_p99 µs, difference $diff µs (target ≤ +200 µs)"
  echo "  in the server: $(recording "$sqlite_p"); routing p99 ≤ $(echo "$none_p" | field route_p99_le_us) µs (none), ≤ $(echo "$sqlite_p" | field route_p99_le_us) µs (sqlite)"
done
if [ "$ROUNDS" -gt 1 ]; then
  echo "ratios: ${ratios[*]}; median $(printf '%s\n' "${ratios[@]}" | median) (target ≥ 0.90)"
  if [ "$PACED" = 1 ]; then
    echo "p99 differences: ${diffs[*]} µs; median $(printf '%s\n' "${diffs[@]}" | median) µs (target ≤ +200 µs)"
  fi
fi
