#!/usr/bin/env python3
"""Writes the seed inputs of the three fuzz targets to fuzz/seeds/<target>/ (regenerable, not kept
in git; the minimized corpus in fuzz/corpus/<target>/ is).

Every seed is hand-written here or taken from the project's own files: examples/requests.jsonl
and the rule files in rules/ (their `examples` / `counterexamples` sentences, and the files
themselves for load_rules). Nothing from outside the repository.

    python3 fuzz/gen_seeds.py
"""

import json
import os
import re
import struct
import sys
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
REPO = FUZZ.parent
SEEDS = FUZZ / "seeds"


def write(target, name, data):
    d = SEEDS / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    (d / name).write_bytes(data)


# --- texts -------------------------------------------------------------------------------------

HAND_WRITTEN = [
    "小区电梯坏了三个月，物业一直不修",
    "物業費漲價了",
    "公司三个月没发工资了",
    "我家楼下饭店油烟太大，晚上还很吵",
    "着火了！快来人！３号楼冒烟",
    "有人正在打人，在人民广场",
    "我要起诉开发商，法院立案了吗",
    "您好！",
    "。。。。。。！！！？？？",
    "ＡＢＣ１２３ｘｙｚ　全角空格　",
    "zero\u200bwidth\u200cjoiner\u200d\ufeffbom\u202ebidi",
    "e\u0301\u0301\u0301 combining 한국어 ﬁ ligature ㈱ ①②③ ⅷ",
    "😀🏳️‍🌈👨‍👩‍👧 emoji 𠀀𪚥 supplementary",
    "\t\n\r\x0b\x0c\x01\x7f control",
    "标题\n正文",
    "a" * 300,
    "物业" * 200,
    "高新区新城街道某小区，2026-11-27 下午三点，噪音扰民，举报",
    "咨询：公积金怎么提取？建议增加网点；表扬一下窗口工作人员",
    "\\d+号楼 3号楼 12号楼 (.*) [a-z]+ ^$",
    "我在寒亭区开的店被罚款了，市场监管局的执法人员态度很差，我要投诉",
    "救命",
    "臺灣後來乾隆頭髮發財麵條豐收鬱悶龜裂 著作 瞭解 乾淨",
    "\uf900\uf901\ufa0e\u2f00\u2e80 compatibility ideographs and radicals",
    "\u3400\u4dbf\u9fff\U00020000\U0002a6df\U0002b740\U00030000\U0003134a extension A-G",
    "\U000e0001\U000e0020\U000e007f\ufff9\ufffb\u2066\u206f tags and annotations",
    "",
    " ",
    "\u3000\u3000\u3000",
    "\ud7ff\ue000\uffff\U0010ffff",
]


def rule_sentences():
    """`examples` / `counterexamples` sentences of the bundled rules."""
    out = []
    for path in sorted((REPO / "rules").rglob("*.yaml")):
        lines = path.read_text(encoding="utf-8").splitlines()
        in_examples = False
        for line in lines:
            s = line.strip()
            if s in ("examples:", "counterexamples:"):
                in_examples = True
                continue
            if in_examples and s.startswith("- "):
                out.append(s[2:].strip().strip("'\""))
            elif in_examples and s and not s.startswith("#"):
                in_examples = False
    return out


def corpus_requests():
    out = []
    for line in (REPO / "examples" / "requests.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.append(json.loads(line))
    return out


# --- protobuf (hand-encoded, proto/hotline/routing/v1/routing.proto) ---------------------------

def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_len(num, payload):
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def field_varint(num, n):
    return varint(num << 3) + varint(n)


def route_request(text="", request_id="", channel=0, seconds=None, nanos=0, place="", title=""):
    b = b""
    if text:
        b += field_len(1, text)
    if request_id:
        b += field_len(2, request_id)
    if channel:
        b += field_varint(3, channel)
    if seconds is not None:
        ts = field_varint(1, seconds) + (field_varint(2, nanos) if nanos else b"")
        b += field_len(4, ts)
    if place:
        b += field_len(5, place)
    if title:
        b += field_len(6, title)
    return b


def batch(requests):
    return b"".join(field_len(1, r) for r in requests)


def main():
    texts = HAND_WRITTEN + rule_sentences()
    reqs = corpus_requests()

    # route_text: text \0 title \0 place \0 received \0 id
    n = 0
    for t in dict.fromkeys(texts):
        write("route_text", f"text-{n:04}", t)
        n += 1
    for r in reqs:
        fields = [r.get("text", ""), r.get("title", ""), r.get("place", ""), r.get("received", ""), r.get("id", "")]
        write("route_text", f"req-{r['id']}", "\0".join(fields))
    write("route_text", "fields-1", "\0".join(["公司三个月没发工资了", "欠薪", "高新区", "2026-11-27", "A-1"]))
    write("route_text", "fields-2", "\0".join(["", "标题只有这个", "新城街道", "9999-12-31", "x" * 128]))
    write("route_text", "fields-3", "\0".join(["正文", "", "奎文区 东关街道", "0001-01-01", "id\x01ctl"]))
    write("route_text", "fields-4", "\0".join(["着火了", "", "", "2026-02-29", ""]))
    write("route_text", "fields-5", "\0".join(["物业费", "物业费", "峡山区" * 30, "2026-13-01", "…"]))

    # decode_request
    d = "decode_request"
    write(d, "empty", b"")
    write(d, "req-text", route_request(text="小区电梯坏了三个月，物业一直不修"))
    write(d, "req-full", route_request(text="公司三个月没发工资了", request_id="A-1", channel=1,
                                       seconds=1764345599, nanos=5, place="高新区", title="欠薪"))
    write(d, "req-ts-min", route_request(text="停水了", seconds=-62135596800))
    write(d, "req-ts-max", route_request(text="停水了", seconds=253402300799))
    write(d, "req-ts-neg1", route_request(text="停水了", seconds=-1))
    write(d, "req-ts-huge", route_request(text="停水了", seconds=(1 << 63) - 1))
    write(d, "req-ts-i64min", route_request(text="停水了", seconds=-(1 << 63)))
    write(d, "req-channel-unknown", route_request(text="停电了", channel=999))
    write(d, "req-title-only", route_request(title="物业费涨价"))
    write(d, "req-long-id", route_request(text="x", request_id="i" * 129))
    write(d, "req-unknown-fields", route_request(text="路灯不亮") + field_len(99, "junk") + field_varint(100, 7)
          + varint(101 << 3 | 5) + b"\0\0\0\0" + varint(102 << 3 | 1) + b"\0" * 8)
    write(d, "req-repeated-text", route_request(text="第一") + route_request(text="第二个文本覆盖前一个"))
    write(d, "req-bad-utf8", field_len(1, b"\xff\xfe\xe4\xbd"))
    write(d, "req-truncated", route_request(text="物业费涨价了")[:-3])
    write(d, "req-deep-group", (varint(7 << 3 | 3)) * 200)
    for i, r in enumerate(reqs[:12]):
        write(d, f"req-{i:02}", route_request(text=r.get("text", ""), request_id=r.get("id", ""),
                                               place=r.get("place", ""), title=r.get("title", "")))
    write(d, "batch-1", batch([route_request(text="小区停水了")]))
    write(d, "batch-mixed", batch([route_request(text=t, request_id=f"b{i}") for i, t in enumerate(texts[:20])]
                                  + [route_request(), route_request(text="x", seconds=-(1 << 63))]))
    write(d, "batch-empty-items", batch([b"", b"", b""]))

    # load_rules: selector byte, then YAML. Selector % 4 == 0: the text alone; else the bundled
    # file number selector / 4 % n replaced. Names sorted as the harness sorts them.
    files = sorted(str(p.relative_to(REPO / "rules")).replace(os.sep, "/")
                   for p in (REPO / "rules").rglob("*.yaml"))
    r = "load_rules"
    for k, name in enumerate(files):
        text = (REPO / "rules" / name).read_bytes()
        sel = (4 * k + 1) % 256
        assert sel % 4 != 0 and (sel // 4) % len(files) == k
        write(r, f"replace-{k:02}-{name.replace('/', '_')}", bytes([sel]) + text)
    # A whole small rule set in one file.
    small = """
departments:
  - {id: housing, name: 住房和城乡建设局, kind: government}
regulations:
  - id: 物业管理条例/第四十一条
    title: 物业管理条例
    article: 第四十一条
    text: 业主应当根据物业服务合同的约定交纳物业服务费用。
categories:
  - 城乡建设:
      - 物业服务
settings:
  threshold: 1.0
  margin: 0.15
rules:
  - id: property-fee
    topic: 物业费
    category: 城乡建设/物业服务
    department: housing
    regulations: [物业管理条例/第四十一条]
    conditions:
      all: [[物业费], [涨价, 乱收费]]
      any: [小区]
      none: [学校]
      patterns: ['\\d+号楼']
      within: 20
    examples: [物业费涨价了]
"""
    write(r, "single-small-set", b"\0" + small.encode())
    sel_of = {name: (4 * k + 1) for k, name in enumerate(files)}
    dept = sel_of.get("departments/housing.yaml", 1)
    bad_patterns = ["(", "[", "a{99999999}", "(?P<x>a)(?P<x>b)", "\\", "a**", "(?i", ".*", "",
                    "\\p{NotAClass}", "(a*)*b", "[\\d-z]", "x{2,1}", "((((((((((a))))))))))" * 50,
                    "\\u{110000}", "(?<=a)b", "\\1", "a{1000}{1000}{1000}"]
    for i, p in enumerate(bad_patterns):
        yaml = f"""rules:
  - id: bad-pattern-{i}
    topic: 坏正则
    category: 城乡建设/其他/其他
    department: housing
    regulations: [城市房地产管理法/第七条]
    conditions:
      patterns: [{json.dumps(p, ensure_ascii=False)}]
"""
        write(r, f"bad-pattern-{i:02}", bytes([dept]) + yaml.encode())
        # The same pattern in the small one-file set (fast: no full rule set to compile).
        alone = small.replace("patterns: ['\\d+号楼']", "patterns: [" + json.dumps(p, ensure_ascii=False) + "]")
        write(r, f"alone-bad-pattern-{i:02}", b"\0" + alone.encode())
    path_yaml = {
        "deep-flow-seq": "[" * 5000 + "]" * 5000,
        "deep-flow-map": "{a: " * 3000 + "b" + "}" * 3000,
        "deep-block": "".join("  " * i + "- \n" for i in range(400)),
        "alias-bomb": "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
            f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n"
            for i in range(9)),
        "alias-in-rules": "x: &r {id: a, topic: b}\nrules: [*r, *r, *r, *r]\n",
        "huge-scalar": "rules:\n  - id: " + "长" * 200000 + "\n",
        "huge-key": "? " + "k" * 100000 + "\n: v\n",
        "many-docs": "---\nrules: []\n" * 100,
        "merge-keys": "base: &b {topic: t, weight: 1}\nrules:\n  - <<: *b\n    id: m\n",
        "tags": "rules: !!binary aGVsbG8=\nsettings: !custom {threshold: !!float .nan}\n",
        "nan-inf": "settings:\n  threshold: .nan\n  margin: -.inf\n  support_override: 1e999\n",
        "big-ints": "rules:\n  - id: x\n    priority: 99999999999999999999999\n    weight: -0\n    conditions: {within: 4294967296, all: [[a],[b]]}\n",
        "dup-keys": "rules: []\nrules: []\nsettings: {threshold: 1, threshold: 2}\n",
        "bom-tabs": "\ufeffrules:\n\t- id: tab\n",
        "anchors-undefined": "rules: [*nope]\n",
        "recursive-alias": "a: &a [*a]\n",
        "complex-key": "? [a, b]\n: c\n? {x: y}\n: z\n",
        "null-everything": "rules: ~\ndepartments: null\nregulations:\nsettings: {}\n",
        "empty": "",
        "just-comment": "# nothing\n",
        "scalar-root": "just a string",
        "seq-root": "- a\n- b\n",
        "bad-indent": "rules:\n  - id: a\n   topic: b\n",
        "unterminated": "rules: [\"abc\n",
        "control-chars": "rules: \"\x01\x02\x7f\"\n",
        "calendar-weird": "calendar:\n  - year: -5\n    holidays: [0000-00-00, 2026-02-30, 99999-01-01]\n    workdays: [2026-13-01]\n",
        "places-cycle": "places:\n  - {id: a, name: 甲, kind: street, parent: b}\n  - {id: b, name: 乙, kind: street, parent: a}\n  - {id: c, name: 丙, kind: street, parent: c}\n",
        "categories-deep": "categories:\n" + "".join("  " * (i + 1) + f"- 类{i}:\n" for i in range(60)),
        "synonyms-weird": "synonyms:\n  - []\n  - [a]\n  - [物业费, 物业费]\n  - [\"\", \" \"]\n",
    }
    for name, yaml in path_yaml.items():
        write(r, f"alone-{name}", b"\0" + yaml.encode("utf-8", "surrogatepass"))
    # The same pathological texts replacing a bundled file.
    for name in ("deep-flow-seq", "alias-bomb", "huge-scalar", "recursive-alias", "nan-inf", "places-cycle",
                 "calendar-weird", "synonyms-weird", "categories-deep"):
        target = {"nan-inf": "settings.yaml", "places-cycle": "places.yaml", "calendar-weird": "calendar.yaml",
                  "synonyms-weird": "synonyms.yaml", "categories-deep": "categories.yaml"}.get(name, "departments/housing.yaml")
        write(r, f"replace-{name}", bytes([sel_of[target]]) + path_yaml[name].encode())

    total = sum(1 for _ in SEEDS.rglob("*") if _.is_file())
    print(f"wrote {total} seeds under {SEEDS}")


if __name__ == "__main__":
    sys.exit(main())
