#!/usr/bin/env bash
# What recording adds to each Route call, from the server's own histogram
# (`hotline_store_record_duration_seconds`), with the spool's ring in /dev/shm and without it
# (`--spool-ring-kib 0`: every frame into the mapped segments on disk), alternated. One router
# with `--store sqlite:…`, pinned, paced; optionally while another process writes and syncs the
# disk. Traffic goes to 127.0.0.1 only; every loop is bounded in time.
#
#   scripts/store_ring.sh                         # 3 pairs, 4,000 calls/s, 10 s each
#   PRESSURE=1 scripts/store_ring.sh              # with `dd … conv=fsync` in a loop meanwhile
#   PAIRS=5 RATE=8000 SECONDS_PER_PHASE=5 scripts/store_ring.sh
#   RING_KIB=4096 scripts/store_ring.sh           # a ring of another size (default: the router's, 1024)
set -euo pipefail
cd "$(dirname "$0")/.."

RATE=${RATE:-4000}
PHASE=${SECONDS_PER_PHASE:-10}
PAIRS=${PAIRS:-3}
RING_KIB=${RING_KIB:-1024}
PORT=${PORT:-20796}
ADDR="http://127.0.0.1:$PORT"
DATA=$(mktemp -d)
PRESSURE_PID=""
cleanup() {
  if [ -n "$PRESSURE_PID" ]; then kill "$PRESSURE_PID" 2>/dev/null || true; wait "$PRESSURE_PID" 2>/dev/null || true; fi
  rm -rf "$DATA"
}
trap cleanup EXIT

source scripts/lib.sh
build_bins
echo "topology: $TOPOLOGY"
machine

if [ "${PRESSURE:-0}" = 1 ]; then
  # Bounded: at most one hour of 64 MiB synced writes, stopped by the trap.
  ( end=$((SECONDS + 3600)); while (( SECONDS < end )); do
      "${CLIENT_PIN[@]}" dd if=/dev/zero of="$DATA/pressure" bs=1M count=64 conv=fsync status=none; done ) &
  PRESSURE_PID=$!
  echo "disk pressure: dd 64 MiB conv=fsync in a loop, on the load generator's core"
fi

# phase RING_KIB -> one paced phase; prints the loadgen line and the histogram's counts.
phase() {
  "${SERVER_PIN[@]}" "$BIN" serve --listen "127.0.0.1:$PORT" --metrics-listen "127.0.0.1:$((PORT + 1))" \
    --shutdown-grace-ms 0 --store "sqlite:$DATA/r$1-$2.sqlite" --spool-ring-kib "$1" >/dev/null 2>&1 &
  local server=$! out buckets
  "${LOADGEN[@]}" "$ADDR" wait >/dev/null
  out=$("${LOADGEN[@]}" "$ADDR" route --connections 16 --streams 32 --seconds "$PHASE" --rate "$RATE")
  buckets=$(curl -s "http://127.0.0.1:$((PORT + 1))/metrics" | grep '^hotline_store_record_duration_seconds_bucket')
  kill -TERM $server; wait $server || true
  echo "$buckets" | awk -v ring="$1" -v p99="$(echo "$out" | field p99_us)" '
    { split($0, a, "\""); n[a[2]] = $NF }
    END { printf "ring_kib=%s calls=%d recording_over_10us=%d over_100us=%d over_1ms=%d end_to_end_p99_us=%s\n",
          ring, n["+Inf"], n["+Inf"] - n["0.00001"], n["+Inf"] - n["0.0001"], n["+Inf"] - n["0.001"], p99 }'
}

for pair in $(seq "$PAIRS"); do
  phase "$RING_KIB" "$pair"
  phase 0 "$pair"
done
