#!/usr/bin/env bash
# What recording a decision asks of the disk: the bytes the server writes per decision
# (`write_bytes` of /proc/PID/io: the WAL, its checkpoints and the spool) and the writer thread's
# CPU per decision, at paced rates, with `--store sqlite:…` in a fresh database on the file
# system of STORE_DIR. A hotline's real rate is tens of decisions a second, where each of the
# writer's windows holds one decision or a few; the load scripts' rates are thousands. Traffic
# goes to 127.0.0.1 only; every loop is bounded in time.
#
#   scripts/store_bytes.sh                        # 100, 1,000 and 10,000 decisions/s, 8 s each
#   RATES="50 500" SECONDS_PER_PHASE=20 ROUNDS=2 scripts/store_bytes.sh
#   STORE_DIR=/dev/shm/x scripts/store_bytes.sh   # another file system
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${CONNS:-4}
STREAMS=${STREAMS:-8}
PHASE=${SECONDS_PER_PHASE:-8}
ROUNDS=${ROUNDS:-1}
RATES=${RATES:-100 1000 10000}
PORT=${PORT:-20797}
ADDR="http://127.0.0.1:$PORT"
mkdir -p "${STORE_DIR:-/tmp}"
DATA=$(mktemp -d -p "${STORE_DIR:-/tmp}")
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$DATA"' EXIT

source scripts/lib.sh
build_bins
echo "topology: $TOPOLOGY (the store's writer thread runs with the server)"
machine
command -v sqlite3 >/dev/null || { echo "sqlite3 is needed to count the decisions stored (Debian: apt-get install sqlite3)" >&2; exit 1; }

# writer_ticks PID -> the store writer thread's CPU time in clock ticks; 0 before the thread
# starts (with the first decision).
writer_ticks() { thread_cpu "$1" | awk '$1 == "hotline-store" {s += $2} END {print s + 0}'; }
written() { awk '/^write_bytes/ {print $2}' "/proc/$1/io"; }

for round in $(seq 1 "$ROUNDS"); do
  for rate in $RATES; do
    db="$DATA/r$round-$rate.sqlite"
    "${SERVER_PIN[@]}" "$BIN" serve --listen "127.0.0.1:$PORT" --shutdown-grace-ms 0 --store "sqlite:$db" >/dev/null 2>&1 &
    server=$!
    "${LOADGEN[@]}" "$ADDR" wait >/dev/null
    w0=$(written $server); t0=$(writer_ticks $server)
    out=$("${LOADGEN[@]}" "$ADDR" route --connections "$CONNS" --streams "$STREAMS" --seconds "$PHASE" --rate "$rate")
    sleep 2 # the writer's last windows and a checkpoint
    w1=$(written $server); t1=$(writer_ticks $server)
    kill -TERM $server; wait $server || true
    server=
    n=$(sqlite3 "$db" 'select count(*) from decisions') # the health check records nothing
    awk -v r="$round" -v rate="$rate" -v n="$n" -v w="$((w1 - w0))" -v t="$((t1 - t0))" \
      -v hz="$(getconf CLK_TCK)" -v page="$(sqlite3 "$db" 'pragma page_size')" -v p99="$(echo "$out" | field p99_us)" \
      'BEGIN {printf "round %d, %d/s: %d decisions, %.0f bytes written per decision, writer %.1f µs per decision, p99 %d µs (page %d bytes)\n",
              r, rate, n, (n ? w / n : 0), (n ? t / hz * 1e6 / n : 0), p99, page}'
  done
done
