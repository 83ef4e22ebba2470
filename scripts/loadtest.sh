#!/usr/bin/env bash
# Load test of the real server (issue #5): start-up to SERVING, health Check throughput (the
# transport ceiling) and Route throughput with a realistic mix over the same connections and
# streams, their ratio, latency at half the Route throughput, resident memory, and memory growth
# over a soak of SOAK_CALLS Route calls. Traffic goes to 127.0.0.1 only; every loop is bounded.
#
#   scripts/loadtest.sh                 # defaults: 16 connections × 32 streams, 10 s per phase
#   CONNS=8 STREAMS=16 SECONDS_PER_PHASE=5 SOAK_CALLS=1000000 scripts/loadtest.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${CONNS:-16}
STREAMS=${STREAMS:-32}
PHASE=${SECONDS_PER_PHASE:-10}
SOAK_CALLS=${SOAK_CALLS:-1000000}
PORT=${PORT:-20777}
ADDR="http://127.0.0.1:$PORT"

source scripts/lib.sh
build_bins
# The server logs every call at the default level (info), to /dev/null, as in production.
echo "topology: $TOPOLOGY"
machine
start_ns=$(date +%s%N)
"${SERVER_PIN[@]}" "$BIN" serve --listen "127.0.0.1:$PORT" --shutdown-grace-ms 0 --store none >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
"${LOADGEN[@]}" "$ADDR" wait >/dev/null
ready_ns=$(date +%s%N)
echo "start-up to SERVING: $(( (ready_ns - start_ns) / 1000000 )) ms (process start → health SERVING)"
echo "resident memory after start-up: $(( $(rss_kb $SERVER) / 1024 )) MB"

health=$("${LOADGEN[@]}" "$ADDR" health --connections "$CONNS" --streams "$STREAMS" --seconds "$PHASE")
echo "health Check: $health"
route=$("${LOADGEN[@]}" "$ADDR" route --connections "$CONNS" --streams "$STREAMS" --seconds "$PHASE")
echo "Route (mix): $route"
h_rps=$(echo "$health" | field rps); r_rps=$(echo "$route" | field rps)
echo "Route / health throughput: $(awk -v r="$r_rps" -v h="$h_rps" 'BEGIN {printf "%.2f", r/h}') (target ≥ 0.80)"

half=$(awk -v r="$r_rps" 'BEGIN {printf "%d", r/2}')
paced=$("${LOADGEN[@]}" "$ADDR" route --connections "$CONNS" --streams "$STREAMS" --seconds "$PHASE" --rate "$half")
echo "Route at half throughput ($half/s, paced): $paced"
echo "  p99 latency: $(echo "$paced" | field p99_us) µs (target ≤ 2000 µs)"

before=$(rss_kb $SERVER)
soak_seconds=$(awk -v n="$SOAK_CALLS" -v r="$r_rps" 'BEGIN {printf "%.0f", n/r + 1}')
soak=$("${LOADGEN[@]}" "$ADDR" route --connections "$CONNS" --streams "$STREAMS" --seconds "$soak_seconds")
after=$(rss_kb $SERVER)
echo "soak: $soak"
echo "resident memory before/after soak: $((before / 1024)) MB → $((after / 1024)) MB (growth $(( (after - before) / 1024 )) MB)"

kill -TERM $SERVER; wait $SERVER; trap - EXIT
echo "server exited $? after SIGTERM"
