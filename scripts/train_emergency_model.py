#!/usr/bin/env python3
"""Trains the emergency check (rules/emergency.model) and measures it honestly.

    python3 scripts/train_emergency_model.py                      # writes rules/emergency.model
    cargo build --release --example route_unchecked             # for --corpus-folds
    python3 scripts/train_emergency_model.py --corpus-folds 5     # corpus rows it flags (and hand-offs it doubts), held out
    python3 scripts/train_emergency_model.py --held-out           # the held-out sets, per file
    python3 scripts/train_emergency_model.py --threshold-folds 5  # choose the threshold on the rows read

The bundled rules/emergency.model is this script's output at the commit that last changed it,
byte for byte (docs/accuracy.md, "Since 2026-12-08, 02:45 UTC: the check trained on every set
read").

The model is `hotline-router train`'s classifier with the labels 110 / 119 / 120 / 122 (an
emergency's first line) and `none` (an ordinary request). Its rows:

- emergencies: every set of tests/data that tests/data/held-out.txt does not hold out from the
  check, in file-name order: the even lines of emergencies.jsonl, the sets read while writing the
  hand-off rules, and the sets of five authors nobody read (-thirteenth to -seventeenth: held out
  from the rules, not from the check); and the hand-offs' examples in the rule files (labelled
  with the hand-off's line). Until 2026-12-08 only the sets read by 2026-12-05 (to -twentieth)
  were rows: added one at a time then, -twenty-first made the check flag more held-out ordinary
  requests, and -twenty-fourth and -twenty-fifth left more held-out emergencies in the ordinary
  queue. With every set read by 2026-12-08 (sixty-three more) and the titles below, the held-out
  emergencies left in the ordinary queue fell from 40 to 12 of 5,605;
- ordinary requests: the non-emergency sets of the same authors, the other examples of the rule
  files (those of dispatch rules and out-of-scope matters, and the hand-offs' counterexamples),
  and every row of the development corpus (../shared/data), and each corpus row's title again on
  its own (a short ordinary request; see `training_rows`). The corpus's text is never copied
  into the project: only the trained weights are.

The rule files' examples are among the rows because `check` refuses a rule set whose examples do
not route to their rule, and a check trained without them flagged three (a family down with
diarrhoea after a meal, a sewer overflowing, fireworks stored beside houses).

Never trained on, so that they measure it: the odd lines of emergencies.jsonl and the sets of
both kinds that tests/data/held-out.txt marks `rules+check`. `--held-out` routes them with the
rules and the model and counts, per file, the emergencies handed off by the rules, flagged by the
check, and missed, and the ordinary requests handed off or flagged, and the hand-offs the check
doubts (`settings.model.handoff_doubt`). `--corpus-folds K` scores the
corpus K times, each fifth by a model trained without it. Python's standard library only.
"""
import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data")
CORPUS = os.path.join(ROOT, "..", "shared", "data", "citizen-messages-dev.jsonl")


def held_out_from_both():
    """The parts that tests/data/held-out.txt holds out from the rules and the check."""
    with open(os.path.join(DATA, "held-out.txt"), encoding="utf-8") as f:
        return [l.split()[0] for l in f if l.strip() and not l.startswith("#")
                and l.split()[1:] == ["rules+check"]]


def training_sets():
    """The sets the check is trained on (emergencies-NAME.jsonl and non-emergencies-NAME.jsonl),
    beside the even lines of emergencies.jsonl and all of non-emergencies.jsonl: every NAME that
    is not held out from the check, in file-name order."""
    held = set(held_out_from_both())
    names = sorted(m.group(1) for m in (re.match(r"emergencies-(.+)\.jsonl$", f)
                                        for f in os.listdir(DATA)) if m)
    return [n for n in names if n not in held]


TRAINING_SETS = training_sets()
# The id suffix of a corpus title's row (`training_rows`).
TITLE = "-title"
EXAMPLE = re.compile(r"^(?:ok|FAIL)\s+(\S+?):\d+:\d+ (example|counterexample) of (\S+): (.*)$")


def held_out_from_check():
    """The held-out files the check is never trained on (tests/data/held-out.txt: `rules+check`),
    with the odd lines of emergencies.jsonl first; the emergency files, then the ordinary ones."""
    parts = held_out_from_both()
    return ([("emergencies.jsonl", "odd")]
            + [(f"emergencies-{p}.jsonl", None) for p in parts]
            + [(f"non-emergencies-{p}.jsonl", None) for p in parts])


HELD_OUT = held_out_from_check()
NONE = "none"
# What choosing the threshold weighs (--threshold-folds): an emergency left in the ordinary queue
# against ordinary requests put before an operator at once. A miss may cost a life; a false flag
# costs an operator a minute and delays one dispatch. Ten to one is the weighing.
MISS_COST = 10
# The kind of a training row, by its id's prefix (corpus rows keep the corpus's ids).
KINDS = {"em": "emergency", "ord": "ordinary set", "rule": "rule example"}


def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def emergency_cases():
    """The emergencies the model is trained on, as the test sets hold them (text, lines)."""
    em = load(os.path.join(DATA, "emergencies.jsonl"))
    pos = [c for i, c in enumerate(em) if i % 2 == 0]
    for name in TRAINING_SETS:
        pos += load(os.path.join(DATA, f"emergencies-{name}.jsonl"))
    return pos


def rule_examples(binary):
    """(text, label) of the rule files' examples, as `hotline-router test -v` lists them: a
    hand-off's examples labelled with its line (the last part of its id: fire-119), the
    hand-offs' counterexamples and every other rule's examples `none`. Dispatch rules'
    counterexamples are left out: one may be an emergency that belongs to a hand-off."""
    out = subprocess.run([binary, "test", "--rules", os.path.join(ROOT, "rules"), "-v"],
                         capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        m = EXAMPLE.match(line)
        if not m:
            continue
        path, kind, rule, text = m.groups()
        if path == "handoffs.yaml":
            rows.append((text, rule.rsplit("-", 1)[1] if kind == "example" else NONE))
        elif kind == "example":
            rows.append((text, NONE))
    if not rows:
        sys.exit(f"`{binary} test -v` listed no example")
    return rows


def training_rows(corpus, binary):
    """The rows of the model: (id, title, text, label)."""
    neg = []
    for name in [""] + [f"-{n}" for n in TRAINING_SETS]:
        neg += load(os.path.join(DATA, f"non-emergencies{name}.jsonl"))
    rows = [(f"em-{i}", "", c["text"], c["lines"][0]) for i, c in enumerate(emergency_cases())]
    rows += [(f"ord-{i}", "", c["text"], NONE) for i, c in enumerate(neg)]
    rows += [(f"rule-{i}", "", text, label)
             for i, (text, label) in enumerate(rule_examples(binary))]
    rows += [(r["id"], r.get("title", ""), r.get("text", ""), NONE) for r in corpus]
    # Each corpus title again as a row of its own: a short ordinary request. A text of a few
    # words carries little evidence, and the check then falls back on the mix of its rows, which
    # the read sets made nearly half emergencies: "小区停电了" was flagged (0.30), "手机" nearly
    # (0.27). With the titles, 0.17 and 0.18.
    rows += [(r["id"] + TITLE, "", r["title"], NONE) for r in corpus if r.get("title")]
    return rows


def corpus_rows():
    if not os.path.exists(CORPUS):
        sys.exit(f"{CORPUS} is missing: the model's ordinary requests come from it")
    return [r for r in load(CORPUS) if r.get("text") or r.get("title")]


# 2^16 hash buckets. Cross-validated on the training rows, 2^12..2^16 give accuracy 0.9536, 0.9599,
# 0.9632, 0.9653, 0.9637 (log loss 0.127 .. 0.096); 2^15 would halve the table, but its model flags
# a rule's example (a power line hanging down near people, `power-facilities`), so that `check`
# refuses the rules.
BITS = 16


def train(binary, rows, out):
    # A fixed file name: the model records its training command, and the same rows must give
    # the same bytes.
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "emergency-training.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for id_, title, text, label in rows:
                f.write(json.dumps({"id": id_, "title": title, "text": text, "label": label},
                                   ensure_ascii=False) + "\n")
        subprocess.run([binary, "train", "--input", path, "--out", out, "--bits", str(BITS)],
                       check=True, stdout=subprocess.DEVNULL)


def route(command, rows):
    """Decisions of `command` (reading JSON lines) for rows of (id, title, text), in order."""
    lines = "".join(json.dumps({"id": i, "title": t, "text": x}, ensure_ascii=False) + "\n"
                    for i, t, x in rows)
    done = subprocess.run(command, input=lines, capture_output=True, text=True)
    # Exit status 1: some lines were refused; each has an "error" in its output line.
    if done.returncode not in (0, 1):
        raise subprocess.CalledProcessError(done.returncode, command, done.stdout, done.stderr)
    out = done.stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def rules_with(model, tmp, threshold=None):
    """A copy of rules/ whose emergency check is `model` (and its threshold `threshold`)."""
    rules = os.path.join(tmp, "rules")
    shutil.copytree(os.path.join(ROOT, "rules"), rules)
    shutil.copy(model, os.path.join(rules, "emergency.model"))
    if threshold is not None:
        path = os.path.join(rules, "settings.yaml")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        with open(path, "w", encoding="utf-8") as f:
            f.write(re.sub(r"(?m)^    emergency: [0-9.]+$", f"    emergency: {threshold}", text))
    return rules


def threshold_folds(a, corpus, k):
    """Each fifth of the rows read scored by a check trained on the rest, at threshold 0 (every
    request the rules do not hand off gets its probability); then, per threshold, the share of
    emergencies handed off to a right line or flagged, and of ordinary requests flagged."""
    rows = training_rows(corpus, a.bin)
    lines = {f"em-{i}": c["lines"] for i, c in enumerate(emergency_cases())}
    # A corpus row and its title (`training_rows`) fall in the same fold, so that no title is
    # scored by a check trained on the row it comes from.
    groups = sorted({r[0].removesuffix(TITLE) for r in rows})
    random.Random(11).shuffle(groups)
    fold_of = {g: i % k for i, g in enumerate(groups)}
    scored = []  # (kind, right line by the rules, p or None when handed off)
    unchecked_bin = os.path.join(os.path.dirname(a.bin), "examples", "route_unchecked")
    for f in range(k):
        test = {i for i, r in enumerate(rows) if fold_of[r[0].removesuffix(TITLE)] == f}
        with tempfile.TemporaryDirectory() as tmp:
            model = os.path.join(tmp, "emergency.model")
            train(a.bin, [r for i, r in enumerate(rows) if i not in test], model)
            part = [rows[i] for i in sorted(test)]
            ds = route([unchecked_bin, rules_with(model, tmp, 0.0)],
                       [(r[0], r[1], r[2]) for r in part])
        for r, d in zip(part, ds):
            # The rule files' examples train every fold's check and are not scored.
            kind = KINDS.get(r[0].split("-", 1)[0], "corpus")
            right = (d.get("outcome") == "OUTCOME_HANDOFF"
                     and d.get("handoff", {}).get("line") in lines.get(r[0], []))
            p = d.get("possibleEmergency", {}).get("probability")
            scored.append((kind, right, p))
    print(f"{k}-fold over the {len(rows)} rows read (each scored by a check trained without it)")
    print("threshold  emergencies right line or flagged  ordinary sets flagged  corpus flagged"
          f"  missed  flagged  cost (missed x {MISS_COST} + flagged)")
    for t in [0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]:
        def share(kind, hit):
            xs = [x for x in scored if x[0] == kind]
            return sum(hit(x) for x in xs) / len(xs), len(xs)
        e, ne = share("emergency", lambda x: x[1] or (x[2] is not None and x[2] >= t))
        o, no = share("ordinary set", lambda x: x[2] is not None and x[2] >= t)
        c, nc = share("corpus", lambda x: x[2] is not None and x[2] >= t)
        missed = round((1 - e) * ne)
        false = round(o * no + c * nc)
        print(f"{t:9.2f}  {e:33.1%}  {o:21.1%}  {c:14.2%}  {missed:6d}  {false:7d}"
              f"  {missed * MISS_COST + false:5d}")
    print(f"(emergencies {ne}, ordinary requests of the sets {no}, corpus rows {nc})")


def flagged(d):
    return d.get("decidedBy") == "DECIDED_BY_EMERGENCY_CHECK" or "possibleEmergency" in d


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "hotline-router"))
    ap.add_argument("--out", default=os.path.join(ROOT, "rules", "emergency.model"))
    ap.add_argument("--corpus-folds", type=int, default=0)
    ap.add_argument("--held-out", action="store_true")
    ap.add_argument("--threshold-folds", type=int, default=0)
    a = ap.parse_args()
    corpus = corpus_rows()
    if a.threshold_folds:
        threshold_folds(a, corpus, a.threshold_folds)
        return
    if a.corpus_folds:
        idx = list(range(len(corpus)))
        random.Random(7).shuffle(idx)
        total = handed = doubted = 0
        for k in range(a.corpus_folds):
            test = set(idx[k::a.corpus_folds])
            kept = [r for i, r in enumerate(corpus) if i not in test]
            with tempfile.TemporaryDirectory() as tmp:
                model = os.path.join(tmp, "emergency.model")
                train(a.bin, training_rows(kept, a.bin), model)
                rows = [(corpus[i]["id"], corpus[i].get("title", ""), corpus[i].get("text", ""))
                        for i in sorted(test)]
                # A fold's model may move a rule's example, which `route` would refuse; the
                # example tool routes without running them.
                unchecked = [os.path.join(os.path.dirname(a.bin), "examples", "route_unchecked"),
                             rules_with(model, tmp)]
                ds = route(unchecked, rows)
                n = sum(flagged(d) for d in ds)
                h = sum(d.get("outcome") == "OUTCOME_HANDOFF" for d in ds)
                dd = sum("handoffDoubt" in d for d in ds)
            print(f"fold {k + 1}/{a.corpus_folds}: {n} of {len(test)} corpus rows flagged; "
                  f"{h} handed off, {dd} of them doubted")
            total += n
            handed += h
            doubted += dd
        print(f"corpus rows flagged, each by a model trained without it: {total}/{len(corpus)}"
              f" = {total / len(corpus):.4f}")
        print(f"corpus rows handed off by the rules: {handed}; doubted by a model trained "
              f"without them: {doubted}")
        return
    if a.held_out:
        for name, lines in HELD_OUT:
            cases = load(os.path.join(DATA, name))
            if lines == "odd":
                cases = [c for i, c in enumerate(cases) if i % 2 == 1]
            ds = route([a.bin, "route", "--rules", os.path.join(ROOT, "rules"), "--jsonl"],
                       [(f"h{i}", "", c["text"]) for i, c in enumerate(cases)])
            handed = [d.get("outcome") == "OUTCOME_HANDOFF" for d in ds]
            doubted = sum("handoffDoubt" in d for d in ds)
            flags = [flagged(d) for d in ds]
            n = len(cases)
            what = f"{name}{' (odd lines)' if lines else ''}"
            if name.startswith("emergencies"):
                # A right line: the primary line of the hand-off is one of the case's lines (as
                # tests/emergencies.rs counts it).
                right = [d.get("outcome") == "OUTCOME_HANDOFF"
                         and d.get("handoff", {}).get("line") in c["lines"]
                         for c, d in zip(cases, ds)]
                urgent = sum(r or f for r, f in zip(right, flags))
                print(f"{what}: {n} emergencies, {sum(right)} handed off to a right line and "
                      f"{sum(handed) - sum(right)} to another ({doubted} of the hand-offs "
                      f"doubted), {sum(flags)} flagged by the check: {urgent} ({urgent / n:.1%}) "
                      f"to a right line or flagged, "
                      f"{n - sum(h or f for h, f in zip(handed, flags))} in the ordinary queue")
            else:
                print(f"{what}: {n} ordinary requests, {sum(handed)} handed off "
                      f"({doubted} of them doubted), {sum(flags)} flagged "
                      f"({(sum(handed) + sum(flags)) / n:.1%})")
        return
    train(a.bin, training_rows(corpus, a.bin), a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
