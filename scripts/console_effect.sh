#!/usr/bin/env bash
# What an idle web console costs gRPC Route throughput: closed-loop Route phases against a server
# with `--console-listen off` and one with the console on (listening, nobody reading it),
# alternated ROUNDS times on the same machine so that drift hits both alike; the median of each.
# Traffic goes to 127.0.0.1 only; every phase is bounded in time.
#
#   scripts/console_effect.sh                       # 5 rounds × 2 phases of 10 s
#   ROUNDS=3 SECONDS_PER_PHASE=5 PROFILE=ci scripts/console_effect.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${CONNS:-16}
STREAMS=${STREAMS:-32}
PHASE=${SECONDS_PER_PHASE:-10}
ROUNDS=${ROUNDS:-5}
PORT=${PORT:-20780}
CONSOLE_PORT=${CONSOLE_PORT:-20781}
ADDR="http://127.0.0.1:$PORT"
source scripts/lib.sh
build_bins
echo "topology: $TOPOLOGY"
machine

# measure CONSOLE_FLAG -> the loadgen summary of one closed-loop phase on a fresh server.
measure() {
  "${SERVER_PIN[@]}" "$BIN" serve --listen "127.0.0.1:$PORT" --store none --shutdown-grace-ms 0 \
    --console-listen "$1" >/dev/null 2>&1 &
  local server=$!
  "${LOADGEN[@]}" "$ADDR" wait >/dev/null
  if [ "$1" != off ]; then
    # The console answers before the phase starts: it is really there.
    curl -sf -o /dev/null "http://$1/rules" || { echo "console not answering on $1" >&2; exit 1; }
  fi
  "${LOADGEN[@]}" "$ADDR" route --connections 4 --streams 4 --seconds 2 >/dev/null
  local out
  out=$("${LOADGEN[@]}" "$ADDR" route --connections "$CONNS" --streams "$STREAMS" --seconds "$PHASE")
  kill -TERM $server; wait $server || true
  echo "$out"
}

off=(); on=()
for r in $(seq 1 "$ROUNDS"); do
  a=$(measure off); b=$(measure "127.0.0.1:$CONSOLE_PORT")
  off+=("$(echo "$a" | field rps)"); on+=("$(echo "$b" | field rps)")
  echo "round $r: console off $(echo "$a" | field rps)/s, console on (idle) $(echo "$b" | field rps)/s"
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
m_off=$(median "${off[@]}"); m_on=$(median "${on[@]}")
echo "median Route throughput: console off $m_off/s, console on (idle) $m_on/s, on/off $(awk -v a="$m_on" -v b="$m_off" 'BEGIN {printf "%.3f", a/b}')"
echo "spread: off $(printf '%s\n' "${off[@]}" | sort -n | head -1)–$(printf '%s\n' "${off[@]}" | sort -n | tail -1)/s, on $(printf '%s\n' "${on[@]}" | sort -n | head -1)–$(printf '%s\n' "${on[@]}" | sort -n | tail -1)/s"
