#!/usr/bin/env bash
# Stalled uploads against the real server: STALLS connections, each with one Route call that
# announces 4 MiB and sends 1 KiB, held open while a paced Route load measures latency; resident
# memory before, during and after. The body deadline is raised (BODY_TIMEOUT_MS) so that the
# stalls are still open while measured; with the default (10 s) they are answered
# DEADLINE_EXCEEDED and freed after 10 s, which the last phase shows.
#
#   scripts/stall_load.sh                      # 2,000 stalls, 20 s hold
#   STALLS=500 HOLD=10 scripts/stall_load.sh
set -euo pipefail
cd "$(dirname "$0")/.."

STALLS=${STALLS:-2000}
HOLD=${HOLD:-20}
RATE=${RATE:-2000}
PORT=${PORT:-20778}
ADDR="http://127.0.0.1:$PORT"
BODY_TIMEOUT_MS=${BODY_TIMEOUT_MS:-120000}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
source scripts/lib.sh
build_bins --example stall
STALL=("${CLIENT_PIN[@]}" "./target/$PROFILE/examples/stall")
echo "$(machine); stalls=$STALLS hold=${HOLD}s rate=$RATE/s"
"${SERVER_PIN[@]}" "$BIN" serve --listen "127.0.0.1:$PORT" --store none --shutdown-grace-ms 0 \
  --body-timeout-ms "$BODY_TIMEOUT_MS" >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
"${LOADGEN[@]}" "$ADDR" wait >/dev/null
"${LOADGEN[@]}" "$ADDR" route --connections 4 --streams 4 --seconds 3 >/dev/null
echo "RSS idle (after warm-up): $(rss_mb $SERVER) MB"
idle=$("${LOADGEN[@]}" "$ADDR" route --connections 4 --streams 4 --seconds 10 --rate "$RATE")
echo "paced Route, idle server:   $idle"

"${STALL[@]}" "$ADDR" --connections "$STALLS" --hold "$HOLD" > /tmp/stall.out &
STALLER=$!
# Wait for the connections to open before measuring.
for _ in $(seq 1 120); do grep -q '^opened=' /tmp/stall.out 2>/dev/null && break; sleep 0.5; done
echo "stalls: $(head -1 /tmp/stall.out)"
echo "RSS with the stalls open: $(rss_mb $SERVER) MB"
busy=$("${LOADGEN[@]}" "$ADDR" route --connections 4 --streams 4 --seconds 10 --rate "$RATE")
echo "paced Route, stalls open:   $busy"
echo "RSS with the stalls open, after the paced load: $(rss_mb $SERVER) MB"
echo "p99: idle $(echo "$idle" | field p99_us) µs, with stalls $(echo "$busy" | field p99_us) µs (target ≤ 2×)"
wait $STALLER
echo "stalls: $(tail -1 /tmp/stall.out)"
sleep 3
echo "RSS 3 s after the stalled clients left: $(rss_mb $SERVER) MB; server connections open: $(ss -Htn state established "( sport = :$PORT )" 2>/dev/null | wc -l)"
# An idle server returns freed memory at its allocator's next purge, which comes with activity:
# in a deployment, the readiness probe (deploy/kubernetes: one health Check a second).
"${LOADGEN[@]}" "$ADDR" health --connections 1 --streams 1 --seconds 15 --rate 1 >/dev/null
echo "RSS after 15 s of health checks at 1/s (the readiness probe's rate): $(rss_mb $SERVER) MB"
