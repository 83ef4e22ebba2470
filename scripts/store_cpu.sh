#!/usr/bin/env bash
# What recording decisions costs the server's core, per call, by thread: a closed-loop Route
# phase against the pinned server (`--store none`, then `--store sqlite:…`), the server's CPU
# time read from /proc/PID/task/*/stat before and after. Steadier than store_load.sh's throughput
# ratio on a shared machine, where the no-store throughput itself moves by 2× between runs.
# Traffic goes to 127.0.0.1 only; every loop is bounded in time.
#
#   scripts/store_cpu.sh                  # 8 s per phase, 3 rounds
#   ROUNDS=5 SECONDS_PER_PHASE=6 scripts/store_cpu.sh
#   RATE=15700 scripts/store_cpu.sh       # paced at 15,700 calls/s instead: how busy the core is
#                                         # (busy=: the server's CPU time / the phase) and the p99
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${CONNS:-16}
STREAMS=${STREAMS:-32}
PHASE=${SECONDS_PER_PHASE:-8}
ROUNDS=${ROUNDS:-3}
RATE=${RATE:-0}
PORT=${PORT:-20779}
ADDR="http://127.0.0.1:$PORT"
DATA=$(mktemp -d)
trap 'rm -rf "$DATA"' EXIT

source scripts/lib.sh
build_bins
echo "topology: $TOPOLOGY"
machine

# measure STORE -> "rps=… p99_us=… busy=… cpu_us_per_call=… THREAD=… …" of a phase (closed loop,
# or paced at RATE).
measure() {
  "${SERVER_PIN[@]}" "$BIN" serve --listen "127.0.0.1:$PORT" --shutdown-grace-ms 0 --store "$1" >/dev/null 2>&1 &
  local server=$!
  "${LOADGEN[@]}" "$ADDR" wait >/dev/null
  local before after out calls
  before=$(thread_cpu $server)
  out=$("${LOADGEN[@]}" "$ADDR" route --connections "$CONNS" --streams "$STREAMS" --seconds "$PHASE" --rate "$RATE")
  sleep 1.5 # the writer's last batch
  after=$(thread_cpu $server)
  kill -TERM $server; wait $server || true
  calls=$(echo "$out" | field calls)
  join <(echo "$before") <(echo "$after") | awk -v c="$calls" -v hz="$(getconf CLK_TCK)" \
    -v rps="$(echo "$out" | field rps)" -v p99="$(echo "$out" | field p99_us)" -v s="$(echo "$out" | field seconds)" '
    { d = ($3 - $2) / hz * 1e6 / c; total += d; if (d >= 0.05) threads = threads sprintf(" %s=%.1f", $1, d) }
    END { printf "rps=%s p99_us=%s busy=%.0f%% cpu_us_per_call=%.1f%s\n", rps, p99, total * c / s / 1e4, total, threads }'
}

for round in $(seq "$ROUNDS"); do
  echo "round $round, store none:   $(measure none)"
  echo "round $round, store sqlite: $(measure "sqlite:$DATA/r$round.sqlite")"
done
