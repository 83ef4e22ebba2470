#!/usr/bin/env bash
# One fuzz campaign: seeds → afl-cmin → afl-fuzz per target (one process, one core, one target at
# a time) → afl-cmin of the queue into corpus/<target>/ → replay of the corpus without AFL.
#
#   bash fuzz/campaign.sh [SECONDS_ROUTE_TEXT] [SECONDS_DECODE_REQUEST] [SECONDS_LOAD_RULES]
#
# Defaults: 900 600 300 (seconds). Needs `cargo install cargo-afl` (AFL++ is built by its first run or by
# `cargo afl config --build`). Output: out/<target>/default/fuzzer_stats (execs_done,
# execs_per_sec, saved_crashes, saved_hangs), crashes and hangs under out/<target>/default/.
set -euo pipefail
cd "$(dirname "$0")"

SECS=("${1:-900}" "${2:-600}" "${3:-300}")
TARGETS=(route_text decode_request load_rules)
# Hang budget per input (afl-fuzz -t, ms): routing 1 s; loading a whole rule set 5 s.
TIMEOUTS=(1000 1000 5000)

export AFL_SKIP_CPUFREQ=1
export AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_NO_UI=1
export AFL_NO_AFFINITY=1          # one process on a shared 2-core machine: let the scheduler place it
export AFL_FUZZER_LOOPCOUNT=10000 # persistent-mode iterations per forked child
export AFL_TESTCACHE_SIZE=200

cargo afl build --release
python3 gen_seeds.py

for i in 0 1 2; do
  t=${TARGETS[$i]}
  rm -rf "in/$t" "out/$t"
  mkdir -p out  # afl-fuzz creates out/<target>, not its parent (absent in a fresh clone)
  # Seeds that add no coverage are dropped; a previous campaign's corpus is merged in.
  mkdir -p "in/$t.all"
  if [ "$t" = load_rules ]; then
    # The replace-* seeds compile the whole bundled set (about 1 s each): calibration only.
    # The alias bomb (2 s) and the huge scalars (200-600 kB) would take the whole run; `replay`
    # runs them (below).
    cp seeds/"$t"/alone-* seeds/"$t"/single-* "in/$t.all/"
    rm -f "in/$t.all/alone-alias-bomb" "in/$t.all"/alone-huge-*
  else
    cp seeds/"$t"/* "in/$t.all/"
  fi
  if [ -d "corpus/$t" ]; then cp corpus/"$t"/* "in/$t.all/" 2>/dev/null || true; fi
  cargo afl cmin -i "in/$t.all" -o "in/$t" -t $((TIMEOUTS[$i] * 5)) -- "target/release/$t"
  rm -rf "in/$t.all"
  cargo afl fuzz -i "in/$t" -o "out/$t" -t "${TIMEOUTS[$i]}" -V "${SECS[$i]}" -- "target/release/$t"
  grep -E '^(run_time|execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs|bitmap_cvg)' \
    "out/$t/default/fuzzer_stats"
done

for i in 0 1 2; do
  t=${TARGETS[$i]}
  rm -rf "corpus/$t"
  cargo afl cmin -i "out/$t/default/queue" -o "corpus/$t" -t $((TIMEOUTS[$i] * 5)) -- "target/release/$t"
  # Content-hash names (AFL's contain ':' and ',').
  for f in corpus/"$t"/*; do mv "$f" "corpus/$t/$(sha1sum "$f" | cut -c1-16)"; done
  target/release/replay "$t" "corpus/$t"
done
target/release/replay load_rules seeds/load_rules
