#!/usr/bin/env bash
# Resident memory of `serve` across hot reloads: the bundled rules copied to a directory of their
# own, four edits of the copy 5 s apart (the file watch reloads), `VmRSS` 5 s after each edit and
# 10 s after the last, `VmHWM` (the peak) at the end. Two kinds of edit:
#
#   same  a comment line appended to regulations.yaml: the set's terms, patterns and phrases stay
#         the same (as an article's wording, a department, an example, a setting or a model);
#   term  a word added to the 物业费 group of synonyms.yaml (物业费测试1, …), which rules use, so
#         it becomes a new term of the segmenter and the automaton.
#
#   scripts/reload_rss.sh                      # both edits, store none and sqlite, one round
#   EDITS=term STORES=none ROUNDS=2 scripts/reload_rss.sh
set -euo pipefail
cd "$(dirname "$0")/.."

EDITS=${EDITS:-"same term"}
STORES=${STORES:-"none sqlite"}
ROUNDS=${ROUNDS:-1}
PORT=${PORT:-20782}
DATA=$(mktemp -d)
trap 'rm -rf "$DATA"' EXIT

source scripts/lib.sh
build_bins
machine

# run EDIT STORE -> "start=… after=a/b/c/d idle=… peak=…" (MB)
run() {
  local rules="$DATA/rules" store server after=()
  rm -rf "$rules" "$DATA/db"; cp -r rules "$rules"; mkdir -p "$DATA/db"
  store=$([ "$2" = none ] && echo none || echo "sqlite:$DATA/db/d.sqlite")
  "${SERVER_PIN[@]}" "$BIN" serve --rules "$rules" --listen "127.0.0.1:$PORT" --console-listen off \
    --shutdown-grace-ms 0 --store "$store" >"$DATA/log" 2>&1 &
  server=$!
  "${LOADGEN[@]}" "http://127.0.0.1:$PORT" wait >/dev/null
  sleep 2
  local start; start=$(rss_mb $server)
  for i in 1 2 3 4; do
    if [ "$1" = same ]; then
      printf '\n# 注释 %s\n' "$i" >>"$rules/regulations.yaml"
    else
      sed -i "s/\[物业费, /[物业费, 物业费测试$i, /" "$rules/synonyms.yaml"
    fi
    sleep 5
    after+=("$(rss_mb $server)")
  done
  sleep 5
  local reloads; reloads=$(grep -c "rules reloaded" "$DATA/log" || true)
  echo "start=$start after=$(IFS=/; echo "${after[*]}") idle=$(rss_mb $server)" \
    "peak=$(awk '/^VmHWM/ {printf "%.1f", $2/1024}' /proc/$server/status) reloads=$reloads"
  kill -TERM $server; wait $server || true
}

for round in $(seq "$ROUNDS"); do
  for edit in $EDITS; do
    for store in $STORES; do
      echo "round $round, edit $edit, store $store: $(run "$edit" "$store")"
    done
  done
done
