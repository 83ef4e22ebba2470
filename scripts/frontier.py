#!/usr/bin/env python3
"""Where rules and classifier can meet the accuracy targets: the held-out decisions of
`eval --folds K --rows FILE`, read back.

    hotline-router eval --input ../shared/data/citizen-messages-dev.jsonl --folds 5 --rows rows.jsonl
    python3 scripts/frontier.py rows.jsonl

Prints, on the rows of every held-out fold:

1. the decision as settings.yaml configures the classifier (what `eval --folds` reports for
   "rules + model (settings.yaml)", recomputed from the rows as a check of the file);
2. how the rules' dispatches and the classifier agree: where both are wrong nothing that only
   chooses between the two can be right, and a request whose category no fired rule has cannot be
   dispatched on the rules' grounds;
3. the best that a learned combination of the two reaches: a conditional logit over the
   categories of the rules that fired (features: the classifier's log probability, the log of
   the best fired rule's score, whether the rules chose it), trained on the other folds' rows and
   scored on each fold (the classifier's probabilities are themselves held out), then sent to a
   person below a confidence threshold, for a range of thresholds: coverage, accuracy on
   dispatched, overall. It is a bound to compare the shipped settings with, not a setting.

Pure Python, deterministic (the same file gives the same figures). The rows carry ids, labels and
decisions, never text. A label may be a level-1 category or a department id (as `eval` reads it);
the combination chooses among categories, so it needs a corpus labelled with categories.
"""

import json
import math
import random
import sys
from collections import Counter

FEATURES = ("logp", "score", "chosen")


def load(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{n}: not JSON ({e}); write it with `eval --folds K --rows FILE`")
    if not rows:
        sys.exit(f"{path}: no rows")
    return rows


def figures(decisions, n):
    """(coverage, accuracy on dispatched, overall) of (dispatched?, right?) pairs over n rows."""
    dispatched = sum(1 for d, _ in decisions if d)
    right = sum(1 for d, r in decisions if d and r)
    return dispatched / n, right / dispatched if dispatched else 0.0, right / n


def top_label(r):
    """The classifier's most probable label for row r (the first of equals, in its label order)."""
    probs = dict(r["classifier"])
    return max(probs, key=probs.get) if probs else None


def agreement(rows):
    table = Counter()
    for r in rows:
        top = top_label(r)
        model_right = top == r["label"]
        if r["rules"]["outcome"] == "dispatch":
            agree = r["rules"]["category"] == top
            rules_right = r["label"] in (r["rules"]["category"], r["rules"]["department"])
            table[("dispatched by the rules", "agree" if agree else "disagree",
                   "rules right" if rules_right else "rules wrong",
                   "classifier right" if model_right else "classifier wrong")] += 1
        else:
            table[(f"{r['rules']['outcome']} by the rules", "", "",
                   "classifier right" if model_right else "classifier wrong")] += 1
    return table


def candidates(r, labels):
    """Per category of the classifier's: the best score of the rules that fired for it."""
    best = {}
    for f in r["fired"]:
        if f["category"] in labels:
            best[f["category"]] = max(best.get(f["category"], 0.0), f["score"])
    return best


def features(r, labels):
    probs = dict(r["classifier"])
    best = candidates(r, labels)
    chosen = r["rules"]["category"] if r["rules"]["outcome"] == "dispatch" else None
    return {
        c: (math.log(max(probs.get(c, 0.0), 1e-6)), math.log1p(best[c]), 1.0 if c == chosen else 0.0)
        for c in best
    }


def choice(w, feats):
    """The categories of feats, in order, and the conditional logit's probability of each."""
    cats = sorted(feats)
    scores = [sum(wi * xi for wi, xi in zip(w, feats[c])) for c in cats]
    top = max(scores)
    exp = [math.exp(s - top) for s in scores]
    z = sum(exp)
    return cats, [e / z for e in exp]


def fit(examples, epochs=30, rate=0.05, l2=1e-4):
    """Stochastic gradient descent on the conditional logit; examples: (features by category, gold)."""
    w = [0.0] * len(FEATURES)
    examples = list(examples)
    rng = random.Random(7)
    for epoch in range(epochs):
        rng.shuffle(examples)
        for feats, gold in examples:
            cats, probs = choice(w, feats)
            for c, p in zip(cats, probs):
                g = p - (1.0 if c == gold else 0.0)
                for i, x in enumerate(feats[c]):
                    w[i] -= rate * (g * x + l2 * w[i])
    return w


def combined(rows, labels):
    """Per row: (confidence, category) of the combination, held out by fold; None without a fired rule."""
    folds = sorted({r["fold"] for r in rows})
    out = [None] * len(rows)
    weights = {}
    for f in folds:
        train = [(features(r, labels), r["label"]) for r in rows
                 if r["fold"] != f and r["label"] in candidates(r, labels)]
        w = fit(train)
        weights[f] = w
        for i, r in enumerate(rows):
            if r["fold"] != f:
                continue
            feats = features(r, labels)
            if not feats:
                continue
            cats, probs = choice(w, feats)
            k = max(range(len(cats)), key=lambda j: (probs[j], cats[j]))
            out[i] = (probs[k], cats[k])
    return out, weights


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    rows = load(sys.argv[1])
    n = len(rows)
    labels = {c for r in rows for c, _ in r["classifier"]}

    def right(d, label):
        return d["outcome"] == "dispatch" and label in (d["category"], d["department"])

    print(f"{n} held-out rows, {len({r['fold'] for r in rows})} folds\n")
    print("coverage / accuracy on dispatched / overall")
    for name, key in (("rules alone", "rules"), ("as settings.yaml configures the classifier", "configured")):
        decisions = []
        for r in rows:
            d = r[key]
            decisions.append((d["outcome"] == "dispatch", right(d, r["label"])))
        print("  %-44s %.4f / %.4f / %.4f" % ((name,) + figures(decisions, n)))

    print("\nrules and classifier (the classifier's top label):")
    for key, count in sorted(agreement(rows).items()):
        print("  %5d  %s" % (count, ", ".join(k for k in key if k)))
    either = sum(1 for r in rows if right(r["rules"], r["label"]) or top_label(r) == r["label"])
    fired = sum(1 for r in rows if r["label"] in candidates(r, labels))
    print(f"  rules or classifier right: {either} ({either / n:.4f}); "
          f"the right category among the fired rules': {fired} ({fired / n:.4f})")

    if not any(r["label"] == f["category"] for r in rows for f in r["fired"]):
        print("\nno row's label is the category of a rule that fired: the labels are not level-1 "
              "categories (a corpus of departments?), and the combination, which chooses among "
              "categories, is left out")
        return
    out, weights = combined(rows, labels)
    print("\nlearned combination over the fired rules' categories, held out by fold "
          "(weights of %s per fold: %s)" % ("/".join(FEATURES), "; ".join(
              "/".join(f"{x:.2f}" for x in weights[f]) for f in sorted(weights))))
    print("  dispatch when confidence >=   coverage  dispatched  overall")
    for t in (0.0, 0.4, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9):
        decisions = [(o is not None and o[0] >= t, o is not None and o[0] >= t and o[1] == r["label"])
                     for o, r in zip(out, rows)]
        print("  %-28s %9.4f %11.4f %8.4f" % ((f"{t:.2f}",) + figures(decisions, n)))


if __name__ == "__main__":
    main()
