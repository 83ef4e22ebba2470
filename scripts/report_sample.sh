#!/usr/bin/env bash
# The synthetic store behind README.md's sample of `report`: examples/requests.jsonl routed with
# --store, then outcome events made up from the decisions (every dispatch accepted, three
# returned, four resolved, three satisfaction scores, two operators' choices for manual triage),
# and the report of the month printed as text.
#
#   scripts/report_sample.sh [FORMAT]      # text (default), csv, json or html
#
# Nothing here comes from a corpus: the requests are the project's own examples.
set -eo pipefail
cd "$(dirname "$0")/.."
format=${1:-text}
cargo build --release --quiet --bin hotline-router
bin=target/release/hotline-router
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
store="sqlite:$dir/decisions.sqlite"

"$bin" route --jsonl --store "$store" < examples/requests.jsonl > "$dir/decisions.jsonl"

python3 - "$dir/decisions.jsonl" > "$dir/events.jsonl" <<'PY'
import datetime, json, sys

decisions = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
china = datetime.timezone(datetime.timedelta(hours=8))
now = datetime.datetime.now(china).replace(microsecond=0)
# Seconds after the decisions, which were made just now (an event may not precede its decision).
def at(seconds):
    return (now + datetime.timedelta(seconds=seconds)).isoformat()

events = []
def event(ticket, kind, seconds, **fields):
    events.append(dict(eventId=f"{ticket}-{kind.lower()}", requestId=ticket, kind=kind,
                       at=at(seconds), **fields))

dispatched = [d for d in decisions if d["outcome"] == "OUTCOME_DISPATCH"]
manual = [d for d in decisions if d["outcome"] == "OUTCOME_MANUAL"]
for d in dispatched:
    event(d["id"], "ACCEPTED", 5)
# Returned: the first dispatch of each of three rules, to a department other than its own.
returns = {"wage-arrears": "housing", "construction-noise": "urban-management",
           "water-outage": "water"}
returned = set()
for d in dispatched:
    to = returns.pop(d["ruleId"], None)
    if to and to != d["department"]["id"]:
        event(d["id"], "RETURNED", 10, departmentId=to, reason="非本部门职责")
        returned.add(d["id"])
kept = [d for d in dispatched if d["id"] not in returned]
for d, score in zip(kept[:4], [5, 5, 2, None]):
    event(d["id"], "RESOLVED", 20)
    if score is not None:
        event(d["id"], "SATISFACTION", 25, satisfaction=score)
for d in manual[:2]:
    event(d["id"], "REASSIGNED", 15, departmentId="market-regulation", operator="值班员")
for e in events:
    print(json.dumps(e, ensure_ascii=False))
PY

"$bin" outcomes --store "$store" --input "$dir/events.jsonl" | tail -3 >&2
echo "# $(wc -l < examples/requests.jsonl) requests, $(wc -l < "$dir/events.jsonl") events" >&2
today=$(TZ=Asia/Shanghai date +%F)
"$bin" report --store "$store" --from "${today:0:8}01" --to "$(TZ=Asia/Shanghai date -d "${today:0:8}01 + 1 month" +%F)" --format "$format"
