#!/usr/bin/env bash
# Memory under a long soak: a warm-up, then ROUNDS rounds of closed-loop Route calls (the
# loadgen mix), the server's resident memory after each. Traffic goes to 127.0.0.1 only.
#
#   scripts/soak.sh                          # warm-up 1 M calls, then 5 rounds of 1 M
#   WARMUP=500000 PER_ROUND=1000000 ROUNDS=5 PROFILE=ci scripts/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."

WARMUP=${WARMUP:-1000000}
PER_ROUND=${PER_ROUND:-1000000}
ROUNDS=${ROUNDS:-5}
CONNS=${CONNS:-16}
STREAMS=${STREAMS:-32}
PORT=${PORT:-20779}
ADDR="http://127.0.0.1:$PORT"
source scripts/lib.sh
build_bins
machine
"${SERVER_PIN[@]}" "$BIN" serve --listen "127.0.0.1:$PORT" --store none --shutdown-grace-ms 0 >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
"${LOADGEN[@]}" "$ADDR" wait >/dev/null
echo "RSS after start-up: $(( $(rss_kb $SERVER) / 1024 )) MB"

# Calls per second, to turn call counts into durations.
probe=$("${LOADGEN[@]}" "$ADDR" route --connections "$CONNS" --streams "$STREAMS" --seconds 5)
rps=$(echo "$probe" | field rps)
served=$(echo "$probe" | field calls)
# Serves at least N calls: runs of the duration the last measured rate says, until N are served
# (the rate moves with whatever else the machine is doing).
run_calls() {
  local want=$1 done_=0 secs out
  while [ "$done_" -lt "$want" ]; do
    secs=$(awk -v n="$((want - done_))" -v r="$rps" 'BEGIN {printf "%.0f", n/r + 1}')
    out=$("${LOADGEN[@]}" "$ADDR" route --connections "$CONNS" --streams "$STREAMS" --seconds "$secs")
    done_=$((done_ + $(echo "$out" | field calls)))
    rps=$(echo "$out" | field rps)
    errors=$(echo "$out" | field errors)
  done
  served=$((served + done_))
}
run_calls "$WARMUP"
base=$(rss_kb $SERVER)
echo "after warm-up: $served calls, RSS $((base / 1024)) MB (errors $errors)"
echo "| calls served | RSS (MB) | growth since warm-up (MB) |"
echo "| --- | --- | --- |"
printf "| %s | %.1f | 0 |\n" "$served" "$(awk -v k="$base" 'BEGIN {print k/1024}')"
start=$served
for _ in $(seq 1 "$ROUNDS"); do
  run_calls "$PER_ROUND"
  now=$(rss_kb $SERVER)
  printf "| %s | %.1f | %+.1f |\n" "$served" "$(awk -v k="$now" 'BEGIN {print k/1024}')" \
    "$(awk -v a="$now" -v b="$base" 'BEGIN {print (a-b)/1024}')"
done
echo "calls after warm-up: $((served - start)); errors in the last round: $errors"
