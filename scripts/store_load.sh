#!/usr/bin/env bash
# What recording decisions costs a serving router: Route throughput (closed loop) and p99 latency
# at half load (paced at half the no-store throughput), with `--store none` and with
# `--store sqlite:…`, in one run on the same machine. Traffic goes to 127.0.0.1 only; every loop is
# bounded in time.
#
#   scripts/store_load.sh                          # 16 connections × 32 streams, 10 s per phase
#   CONNS=8 STREAMS=16 SECONDS_PER_PHASE=5 scripts/store_load.sh
#   PIN=0 scripts/store_load.sh                  # server and load generator share both cores
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${CONNS:-16}
STREAMS=${STREAMS:-32}
PHASE=${SECONDS_PER_PHASE:-10}
PORT=${PORT:-50778}
ADDR="http://127.0.0.1:$PORT"
DATA=$(mktemp -d)
trap 'rm -rf "$DATA"' EXIT

source scripts/lib.sh
build_bins
echo "topology: $TOPOLOGY (the store's writer thread runs with the server)"
machine

# measure STORE [RATE] -> prints "rps=… p99_us=…" of a closed-loop phase, or of a paced one.
measure() {
  "${SERVER_PIN[@]}" "$BIN" serve --listen "127.0.0.1:$PORT" --shutdown-grace-ms 0 --store "$1" >/dev/null 2>&1 &
  local server=$!
  "${LOADGEN[@]}" "$ADDR" wait >/dev/null
  local out
  out=$("${LOADGEN[@]}" "$ADDR" route --connections "$CONNS" --streams "$STREAMS" --seconds "$PHASE" --rate "${2:-0}")
  kill -TERM $server; wait $server || true
  echo "$out"
}

none=$(measure none); echo "store none, closed loop:   $none"
sqlite=$(measure "sqlite:$DATA/a.sqlite"); echo "store sqlite, closed loop: $sqlite"
n_rps=$(echo "$none" | field rps); s_rps=$(echo "$sqlite" | field rps)
echo "throughput sqlite / none: $(awk -v s="$s_rps" -v n="$n_rps" 'BEGIN {printf "%.2f", s/n}') (target ≥ 0.90)"
half=$(awk -v r="$n_rps" 'BEGIN {printf "%d", r/2}')
none_p=$(measure none "$half"); echo "store none, paced at $half/s:   $none_p"
sqlite_p=$(measure "sqlite:$DATA/b.sqlite" "$half"); echo "store sqlite, paced at $half/s: $sqlite_p"
n_p99=$(echo "$none_p" | field p99_us); s_p99=$(echo "$sqlite_p" | field p99_us)
echo "p99 at half load: none $n_p99 µs, sqlite $s_p99 µs, difference $(awk -v s="$s_p99" -v n="$n_p99" 'BEGIN {printf "%+.0f", s-n}') µs (target ≤ +200 µs)"
echo "decisions recorded: $(sqlite3 "$DATA/a.sqlite" 'select count(*) from decisions' 2>/dev/null || echo '(sqlite3 not installed)')"
