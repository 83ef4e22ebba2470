#!/usr/bin/env python3
"""Where the hand-off rules lose held-out emergencies: each part of the hand-offs switched off
in turn, and what that does to the sets the rules were never written from. Counts only: no text
of a held-out set is printed, so that they stay held out.

    cargo build --release --bin hotline-router
    python3 scripts/handoff_ablation.py                 # the bundled rules
    python3 scripts/handoff_ablation.py --rules DIR --corpus ../shared/data/citizen-messages-dev.jsonl

Needs PyYAML (Debian: python3-yaml). The variants, each a copy of the rules directory:

- as shipped;
- no vetoes: `handoffs_none` and every hand-off's `none` emptied;
- no `within`: the hand-offs' `all` groups may be any distance apart;
- for each hand-off with two `all` groups: its second group (the words that say it is happening
  now) dropped, and with it its `within`.

Every copy has its rules' `examples` and `counterexamples` removed, the shipped one too: a
variant's examples no longer route as written, and the loader refuses a rule set whose examples
fail. Examples decide nothing, which the script checks: the shipped copy must give the same
counts as the rules as they are.

Per variant, over the held-out emergency and ordinary sets (`tests/data/held-out.txt` and the
odd-numbered lines of `tests/data/emergencies.jsonl`, as `tests/emergencies.rs` reads them):
emergencies handed off to a right primary line, to a wrong one, flagged by the emergency check
and not handed off, and neither; ordinary requests handed off; with `--corpus`, the corpus
requests handed off (none of them is an emergency).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:
    sys.exit("handoff_ablation.py needs PyYAML (Debian: apt-get install python3-yaml)")

DATA = "tests/data"


def held_out_parts():
    parts = []
    with open(os.path.join(DATA, "held-out.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                parts.append(line.split()[0])
    return parts


def rows(path, odd_only=False):
    with open(path, encoding="utf-8") as f:
        out = [json.loads(l) for l in f if l.strip()]
    return [r for i, r in enumerate(out) if i % 2 == 1] if odd_only else out


def strip_examples(node):
    if isinstance(node, dict):
        node.pop("examples", None)
        node.pop("counterexamples", None)
        for v in node.values():
            strip_examples(v)
    elif isinstance(node, list):
        for v in node:
            strip_examples(v)


def copy_rules(src, dst, edit=None):
    """A copy of the rules without examples; `edit(handoffs_yaml)` changes the hand-offs file."""
    shutil.copytree(src, dst)
    for root, _, files in os.walk(dst):
        for name in files:
            if not name.endswith(".yaml"):
                continue
            path = os.path.join(root, name)
            with open(path, encoding="utf-8") as f:
                doc = yaml.safe_load(f)
            strip_examples(doc)
            if edit is not None and isinstance(doc, dict) and "handoffs" in doc:
                edit(doc)
            with open(path, "w", encoding="utf-8") as f:
                yaml.safe_dump(doc, f, allow_unicode=True, sort_keys=False)


def route(binary, rules, texts):
    lines = "".join(
        json.dumps({"id": str(i), "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(texts)
    )
    done = subprocess.run(
        [binary, "route", "--rules", rules, "--jsonl"], input=lines, capture_output=True, text=True
    )
    out = [json.loads(l) for l in done.stdout.splitlines()]
    if len(out) != len(texts):
        sys.exit(f"{rules}: {len(out)} decisions for {len(texts)} texts\n{done.stderr}")
    return out


def counts(binary, rules, emergencies, ordinary, corpus):
    decided = route(binary, rules, [r["text"] for r in emergencies])
    right = wrong = flagged = neither = 0
    for case, d in zip(emergencies, decided):
        handoff = d.get("handoff")
        if handoff:
            if handoff["line"] in case["lines"]:
                right += 1
            else:
                wrong += 1
        elif d.get("possibleEmergency"):
            flagged += 1
        else:
            neither += 1
    handed = sum(1 for d in route(binary, rules, [r["text"] for r in ordinary]) if d.get("handoff"))
    corpus_handed = None
    if corpus:
        texts = ["\n".join(x for x in (r.get("title"), r.get("text")) if x) for r in corpus]
        corpus_handed = sum(1 for d in route(binary, rules, texts) if d.get("handoff"))
    return right, wrong, flagged, neither, handed, corpus_handed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rules", default="rules")
    ap.add_argument("--bin", default="target/release/hotline-router")
    ap.add_argument("--corpus", help="a labelled corpus (JSON lines): count its hand-offs too")
    args = ap.parse_args()

    emergencies, ordinary = [], []
    for part in held_out_parts():
        emergencies += rows(os.path.join(DATA, f"emergencies-{part}.jsonl"))
        ordinary += rows(os.path.join(DATA, f"non-emergencies-{part}.jsonl"))
    emergencies += rows(os.path.join(DATA, "emergencies.jsonl"), odd_only=True)
    corpus = rows(args.corpus) if args.corpus else None

    with open(os.path.join(args.rules, "handoffs.yaml"), encoding="utf-8") as f:
        handoffs = yaml.safe_load(f)["handoffs"]
    two_groups = [h["id"] for h in handoffs if len(h["conditions"].get("all", [])) > 1]

    def no_vetoes(doc):
        doc["handoffs_none"] = []
        for h in doc["handoffs"]:
            h["conditions"].pop("none", None)

    def no_within(doc):
        for h in doc["handoffs"]:
            h["conditions"].pop("within", None)

    def first_group_of(rule_id):
        def edit(doc):
            for h in doc["handoffs"]:
                if h["id"] == rule_id:
                    h["conditions"]["all"] = h["conditions"]["all"][:1]
                    h["conditions"].pop("within", None)

        return edit

    variants = [("as shipped", None), ("no vetoes", no_vetoes), ("no within", no_within)]
    variants += [(f"{r}: first group only", first_group_of(r)) for r in two_groups]

    print(
        f"held out: {len(emergencies)} emergencies, {len(ordinary)} ordinary requests"
        + (f"; corpus {len(corpus)} requests" if corpus else "")
    )
    header = "variant | to a right line | wrong line | flagged | neither | ordinary handed off"
    print(header + (" | corpus handed off" if corpus else ""))
    with tempfile.TemporaryDirectory() as tmp:
        reference = counts(args.bin, args.rules, emergencies, ordinary, corpus)
        for i, (name, edit) in enumerate(variants):
            dst = os.path.join(tmp, str(i))
            copy_rules(args.rules, dst, edit)
            c = counts(args.bin, dst, emergencies, ordinary, corpus)
            if edit is None and c != reference:
                sys.exit(f"the copy without examples decides differently: {c} against {reference}")
            cells = [name, *(str(x) for x in c[:5])]
            if corpus:
                cells.append(str(c[5]))
            print(" | ".join(cells))


if __name__ == "__main__":
    main()
