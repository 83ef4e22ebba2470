#!/usr/bin/env bash
# Resident memory of `serve` with the decision store off and on: `VmRSS` when it is ready, its
# peak through a phase of load (sampled every 0.2 s) and 4 s after the phase, with what the
# last is made of (anonymous, file-backed, shared memory: the spool's ring). Each phase runs in a
# server of its own: a closed loop (4 × 8 streams, a saturated router whose writer falls behind
# and catches up from the spool's segments), then paced at RATE calls/s. The SQLite store runs
# on a new database, then restarted on the same one (the usual case: its rule files are already
# archived). Traffic goes to 127.0.0.1 only; every loop is bounded in time.
#
# The requests are every text of tests/data in turn (16,334 on 2026-12-07), or those of
# TEXTS=FILE (JSON lines with a `text` field); TEXTS=mix sends the load generator's six. Varied
# requests are what a server sees, and its memory depends on them: each rule pattern a request
# reaches keeps some search state, which six texts never show (BENCHMARKS.md §4, 2026-12-07).
#
#   scripts/store_rss.sh
#   RATE=8000 SECONDS_PER_PHASE=6 ROUNDS=2 scripts/store_rss.sh
#   TEXTS=mix scripts/store_rss.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PHASE=${SECONDS_PER_PHASE:-6}
RATE=${RATE:-8000}
ROUNDS=${ROUNDS:-1}
PORT=${PORT:-20781}
ADDR="http://127.0.0.1:$PORT"
DATA=$(mktemp -d)
trap 'rm -rf "$DATA"' EXIT

source scripts/lib.sh
build_bins
if [ -z "${TEXTS:-}" ]; then
  TEXTS="$DATA/texts.jsonl"
  cat tests/data/*.jsonl > "$TEXTS"
  echo "requests: $(wc -l < "$TEXTS") texts of tests/data, in turn"
elif [ "$TEXTS" = mix ]; then
  TEXTS=""
  echo "requests: the load generator's six texts"
else
  echo "requests: $(wc -l < "$TEXTS") texts of $TEXTS, in turn"
fi
echo "topology: $TOPOLOGY"
machine

# run STORE RATE -> "ready=… peak=… after=… anon=… file=… shmem=…" (MB)
run() {
  "${SERVER_PIN[@]}" "$BIN" serve --listen "127.0.0.1:$PORT" --shutdown-grace-ms 0 --store "$1" >/dev/null 2>&1 &
  local server=$! ready samples="$DATA/samples" sampler out
  "${LOADGEN[@]}" "$ADDR" wait >/dev/null
  ready=$(rss_mb $server)
  (for _ in $(seq $(( (PHASE + 2) * 5 ))); do rss_kb $server 2>/dev/null || break; sleep 0.2; done >"$samples") &
  sampler=$!
  out=$("${LOADGEN[@]}" "$ADDR" route --connections 4 --streams 8 --seconds "$PHASE" --rate "$2" \
    ${TEXTS:+--texts "$TEXTS"})
  wait $sampler
  sleep 2
  echo "rps=$(echo "$out" | field rps) ready=$ready peak=$(sort -n "$samples" | tail -1 | awk '{printf "%.1f", $1/1024}')" \
    "after=$(rss_mb $server) $(awk '/^Rss(Anon|File|Shmem)/ {sub(/^Rss/, "", $1); sub(/:$/, "", $1); printf "%s=%.1f ", tolower($1), $2/1024}' /proc/$server/status)"
  kill -TERM $server; wait $server || true
}

for round in $(seq "$ROUNDS"); do
  for rate in 0 "$RATE"; do
    label=$([ "$rate" = 0 ] && echo "closed loop" || echo "paced at $rate/s")
    rm -rf "$DATA/db"
    echo "round $round, $label, store none:            $(run none "$rate")"
    echo "round $round, $label, store sqlite, new:     $(run "sqlite:$DATA/db/d.sqlite" "$rate")"
    echo "round $round, $label, store sqlite, restart: $(run "sqlite:$DATA/db/d.sqlite" "$rate")"
  done
done
