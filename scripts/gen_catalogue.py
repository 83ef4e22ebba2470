#!/usr/bin/env python3
"""Generates rules/regulations.yaml and rules/categories.yaml from ../shared (a developer tool).

The regulation catalogue quotes every article verbatim: from ../shared/domain/topics.json (the
35 frequent topics) and, for the EXTRA articles below, from the law files in ../shared/laws/.
The category tree comes from ../shared/data/categories.csv. The outputs are committed, so the
project builds and tests without ../shared; rerun this after changing EXTRA:

    python3 scripts/gen_catalogue.py [--shared ../shared] [--show FILE ARTICLE]
"""
import argparse, csv, glob, json, os, re, sys

NUM = "零〇一二三四五六七八九十百千"
ARTICLE_START = re.compile(r"^第([" + NUM + r"]+)条(之[" + NUM + r"]+)?[\s\u3000]+")

# Articles beyond topics.json: (law file under laws/, article).
EXTRA = [
    ("行政法/城乡规划法(2019-04-23).md", "第二十二条"),
    ("行政法/气象法(2016-11-07).md", "第五条"),
    ("行政法/气象法(2016-11-07).md", "第三十一条"),
    ("行政法规/粮食流通管理条例(2021-02-15).md", "第五条"),
    ("经济法/广告法(2021-04-29).md", "第十八条"),
    # The taxonomy's city-level categories beyond the corpus (fourth session).
    ("行政法规/宗教事务条例(2017-08-26).md", "第六条"),
    ("社会法/工会法(2021-12-24).md", "第六条"),
    ("社会法/妇女权益保障法(2022-10-30).md", "第六条"),
    ("行政法/兵役法(2021-08-20).md", "第十五条"),
    ("社会法/归侨侨眷权益保护法(2009-08-27).md", "第四条"),
    ("行政法/网络安全法(2016-11-07).md", "第八条"),
    ("民法商法/保险法(2015-04-24).md", "第九条"),
    ("经济法/企业国有资产法(2008-10-28).md", "第十一条"),
    ("行政法/能源法(2024-11-08).md", "第十二条"),
    ("行政法/科学技术进步法(2021-12-24).md", "第十六条"),
    ("行政法规/国务院关于在线政务服务的若干规定(2019-04-26).md", "第四条"),
    ("经济法/草原法(2021-04-29).md", "第八条"),
    ("经济法/农业法(2012-12-28).md", "第九十八条"),
    ("行政法/公共文化服务保障法(2016-12-25).md", "第二十七条"),
    ("行政法/人民警察法(2012-10-26).md", "第四十七条"),
    ("行政法/社区矫正法(2019-12-28).md", "第八条"),
    ("宪法相关法/地方各级人民代表大会和地方各级人民政府组织法(2022-03-11).md", "第七十三条"),
    ("宪法相关法/地方各级人民代表大会和地方各级人民政府组织法(2022-03-11).md", "第八十条"),
    ("宪法相关法/监察法(2024-12-25).md", "第十一条"),
    ("诉讼与非诉讼程序法/行政复议法(2023-09-01).md", "第二条"),
    ("诉讼与非诉讼程序法/劳动争议调解仲裁法(2007-12-29).md", "第五条"),
    ("民法商法/企业破产法(2006-08-27).md", "第三条"),
    ("行政法规/粮食流通管理条例(2021-02-15).md", "第六条"),
    ("社会法/安全生产法(2021-06-10).md", "第十条"),
    ("行政法规/建设工程安全生产管理条例(2003-11-24).md", "第四十条"),
    ("行政法规/城镇排水与污水处理条例(2013-10-02).md", "第五条"),
    ("行政法规/婚姻登记条例(2003-08-08).md", "第二条"),
    ("行政法规/殡葬管理条例(2012-11-09).md", "第三条"),
    ("社会法/残疾人保障法(2018-10-26).md", "第四十八条"),
    ("行政法规/电信条例(2016-02-06).md", "第三条"),
    ("社会法/慈善法(2023-12-29).md", "第六条"),
    ("社会法/慈善法(2023-12-29).md", "第二十二条"),
    ("行政法规/社会团体登记管理条例(2016-02-06).md", "第六条"),
    ("行政法规/大中型水利水电工程建设征地补偿和移民安置条例(2017-04-14).md", "第五条"),
    ("诉讼与非诉讼程序法/人民调解法(2010-08-28).md", "第五条"),
    ("行政法/法律援助法(2021-08-20).md", "第五条"),
    ("经济法/种子法(2021-12-24).md", "第三条"),
    ("行政法规/农药管理条例(2022-03-29).md", "第三条"),
    ("经济法/野生动物保护法(2022-12-30).md", "第七条"),
    ("行政法规/地名管理条例(2022-03-30).md", "第七条"),
    ("行政法规/地名管理条例(2022-03-30).md", "第八条"),
    ("宪法相关法/城市居民委员会组织法(2018-12-29).md", "第二条"),
    ("经济法/森林法(2019-12-28).md", "第九条"),
    ("经济法/森林法(2019-12-28).md", "第五十六条"),
    ("宪法相关法/村民委员会组织法(2018-12-29).md", "第三十条"),
    ("宪法相关法/村民委员会组织法(2018-12-29).md", "第三十一条"),
    ("行政法/土地管理法(2019-08-26).md", "第四十八条"),
    ("经济法/乡村振兴促进法(2021-04-29).md", "第五十九条"),
    ("社会法/社会保险法(2018-12-29).md", "第九十六条"),
    ("行政法规/城市市容和环境卫生管理条例(2017-03-01).md", "第二十条"),
    ("民法商法/招标投标法(2017-12-27).md", "第七条"),
    ("民法商法/招标投标法(2017-12-27).md", "第三十二条"),
    ("经济法/建筑法(2019-04-23).md", "第六条"),
    ("经济法/建筑法(2019-04-23).md", "第十三条"),
    ("经济法/环境保护法(2014-04-24).md", "第十条"),
    ("经济法/水污染防治法(2017-06-27).md", "第九条"),
    ("经济法/土壤污染防治法(2018-08-31).md", "第七条"),
    ("行政法/旅游法(2018-10-26).md", "第九十一条"),
    ("行政法/旅游法(2018-10-26).md", "第九十二条"),
    ("行政法/教育法(2021-04-29).md", "第十五条"),
    ("行政法/教师法(2009-08-27).md", "第三十九条"),
    ("行政法/民办教育促进法(2018-12-29).md", "第八条"),
    ("行政法/人口与计划生育法(2021-08-20).md", "第六条"),
    ("行政法/疫苗管理法(2019-06-29).md", "第八条"),
    ("行政法/传染病防治法(2013-06-29).md", "第六条"),
    ("行政法/药品管理法(2019-08-26).md", "第八条"),
    ("社会法/就业促进法(2015-04-24).md", "第六条"),
    ("社会法/老年人权益保障法(2018-12-29).md", "第六条"),
    ("经济法/广告法(2021-04-29).md", "第六条"),
    ("经济法/产品质量法(2018-12-29).md", "第八条"),
    ("经济法/税收征收管理法(2015-04-24).md", "第五条"),
    ("经济法/邮政法(2015-04-24).md", "第四条"),
    ("经济法/土地管理法(2019-08-26).md", "第五条"),
    ("行政法/体育法(2022-06-24).md", "第四条"),
    ("社会法/劳动法(2018-12-29).md", "第九条"),
    ("经济法/农产品质量安全法(2018-10-26).md", "第三条"),
    ("地方性法规/北京市接诉即办工作条例(2021-09-24).md", "第十一条"),
    ("地方性法规/潍坊市12345政务服务便民热线条例(2021-12-06).md", "第十九条"),
    ("行政法规/信访工作条例(2022-02-25).md", "第三十一条"),
    ("行政法/消防法(2021-04-29).md", "第四十四条"),
    ("社会法/基本医疗卫生与健康促进法(2019-12-28).md", "第七条"),
    ("行政法/城乡规划法(2019-04-23).md", "第十一条"),
    ("社会法/公共文化服务保障法(2016-12-25).md", "第七条"),
    ("经济法/动物防疫法(2021-01-22).md", "第九条"),
    ("经济法/价格法(1997-12-29).md", "第十二条"),
    ("经济法/广告法(2021-04-29).md", "第四十六条"),
    ("行政法/公务员法(2018-12-29).md", "第二十四条"),
    ("行政法规/事业单位人事管理条例(2014-04-25).md", "第三条"),
    ("行政法规/事业单位人事管理条例(2014-04-25).md", "第八条"),
    ("社会法/特种设备安全法(2013-06-29).md", "第十四条"),
    ("经济法/计量法(2018-10-26).md", "第九条"),
    ("行政法规/生猪屠宰管理条例(2021-06-25).md", "第三条"),
    ("经济法/环境保护法(2014-04-24).md", "第四十二条"),
    ("经济法/反垄断法(2022-06-24).md", "第七条"),
    ("经济法/反垄断法(2022-06-24).md", "第三十九条"),
    ("行政法规/女职工劳动保护特别规定(2012-04-28).md", "第七条"),
    ("社会法/劳动法(2018-12-29).md", "第六十二条"),
    ("行政法/医师法(2021-08-20).md", "第四条"),
    ("行政法规/乡村医生从业管理条例(2003-08-05).md", "第三条"),
    ("行政法规/医疗机构管理条例(2016-02-06).md", "第五条"),
    ("经济法/大气污染防治法(2018-10-26).md", "第七十七条"),
    ("经济法/大气污染防治法(2018-10-26).md", "第一百一十九条"),
    ("经济法/对外贸易法(2022-12-30).md", "第三条"),
    ("民法商法/电子商务法(2018-08-31).md", "第六条"),
    ("行政法规/报废机动车回收管理办法(2019-04-22).md", "第四条"),
    ("行政法/教育法(2021-04-29).md", "第二十一条"),
    ("行政法/义务教育法(2018-12-29).md", "第七条"),
    ("行政法/义务教育法(2018-12-29).md", "第十一条"),
    ("行政法/文物保护法(2024-11-08).md", "第九条"),
    ("民法商法/农村土地承包法(2018-12-29).md", "第十二条"),
    ("经济法/矿产资源法(2024-11-08).md", "第十四条"),
    ("经济法/水法(2016-07-02).md", "第十二条"),
    ("民法商法/商标法(2019-04-23).md", "第六十条"),
    ("社会法/退役军人保障法(2020-11-11).md", "第七条"),
    ("行政法规/防范和处置非法集资条例(2021-01-26).md", "第五条"),
]


def short_title(title):
    return title[len("中华人民共和国"):] if title.startswith("中华人民共和国") else title


def find_law(shared, rel):
    path = os.path.join(shared, "laws", rel)
    if os.path.exists(path):
        return path, rel
    # Folders differ between collections; find the file by name anywhere under laws/.
    name = os.path.basename(rel)
    hits = glob.glob(os.path.join(shared, "laws", "**", name), recursive=True)
    if not hits:
        sys.exit(f"law file not found: {rel}")
    return hits[0], os.path.relpath(hits[0], os.path.join(shared, "laws"))


def extract(path, article):
    lines = open(path, encoding="utf-8").read().split("\n")
    out, inside = [], False
    for line in lines:
        m = ARTICLE_START.match(line)
        if m:
            if inside:
                break
            if line.startswith(article) and ARTICLE_START.match(line).group(0).strip() == article:
                inside = True
                out.append(line[m.end():].strip())
                continue
        elif inside:
            if line.startswith("#"):
                break
            if line.strip():
                out.append(line.strip())
    if not out:
        sys.exit(f"{article} not found in {path}")
    return "\n".join(out)


def title_of(path):
    with open(path, encoding="utf-8") as f:
        first = f.readline().strip()
    return first.lstrip("# ").strip()


def yaml_str(s):
    return json.dumps(s, ensure_ascii=False)


def block(s, indent):
    pad = " " * indent
    return "|-\n" + "\n".join(pad + l for l in s.split("\n"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "rules"))
    ap.add_argument("--show", nargs=2, metavar=("FILE", "ARTICLE"))
    a = ap.parse_args()
    if a.show:
        path, _ = find_law(a.shared, a.show[0])
        print(title_of(path), a.show[1]); print(extract(path, a.show[1])); return

    regs, seen = [], set()
    topics = json.load(open(os.path.join(a.shared, "domain", "topics.json"), encoding="utf-8"))
    for t in topics["topics"]:
        for c in t["citations"]:
            title = re.search(r"《(.+?)》", c["law"]).group(1)
            rid = f"{short_title(title)}/{c['article']}"
            if rid in seen:
                continue
            seen.add(rid)
            rev = re.search(r"\((\d{4}-\d{2}-\d{2})\)", c["repo_path"])
            regs.append(dict(id=rid, title=title, article=c["article"], text=c["text"].strip(),
                             revision=rev.group(1) if rev else "", source="laws/" + c["repo_path"]))
    for rel, art in EXTRA:
        path, rel = find_law(a.shared, rel)
        title = title_of(path)
        rid = f"{short_title(title)}/{art}"
        if rid in seen:
            continue
        seen.add(rid)
        rev = re.search(r"\((\d{4}-\d{2}-\d{2})\)", rel)
        regs.append(dict(id=rid, title=title, article=art, text=extract(path, art),
                         revision=rev.group(1) if rev else "", source="laws/" + rel))

    with open(os.path.join(a.out, "regulations.yaml"), "w", encoding="utf-8") as f:
        f.write("# yaml-language-server: $schema=./schema.json\n")
        f.write("# 法规条文目录：由 scripts/gen_catalogue.py 从 ../shared 逐字生成，请勿手改条文。\n")
        f.write("# Regulation catalogue, quoted verbatim by scripts/gen_catalogue.py; do not edit the texts by hand.\n")
        f.write("regulations:\n")
        for r in regs:
            f.write(f"  - id: {yaml_str(r['id'])}\n    title: {yaml_str(r['title'])}\n    article: {yaml_str(r['article'])}\n")
            f.write(f"    text: {block(r['text'], 6)}\n")
            if r["revision"]:
                f.write(f"    revision_date: {yaml_str(r['revision'])}\n")
            f.write(f"    source: {yaml_str(r['source'])}\n")

    # Categories a city hotline does not dispatch to a department, and why (written into
    # categories.yaml as `not_dispatched`; no dispatch rule may file under them).
    OUT = "依法应当通过{}解决的事项，热线不派单，告知诉求人法定途径（北京市接诉即办工作条例第十一条、潍坊市12345政务服务便民热线条例第十九条）"
    NOT_DISPATCHED = {
        ("纪检监察", None): OUT.format("纪检监察（纪委监委，12388）"),
        ("政法", "诉讼"): OUT.format("诉讼（人民法院）"),
        ("政法", "行政复议"): OUT.format("行政复议（行政复议机关）"),
        ("政法", "仲裁与调解"): OUT.format("仲裁、司法调解和法院执行（仲裁机构、人民法院）"),
        ("经济管理", "企业破产"): "破产案件由债务人住所地人民法院管辖（企业破产法第三条），热线告知诉求人向法院或破产管理人申报",
        ("党务政务", "党的建设"): "党组织和党员的组织关系、党建工作由党的组织系统办理，不经政府热线派单",
        ("党务政务", "政治体制"): "人大、政协、统战工作和政治体制改革的意见，由人大、政协和党委有关部门通过其渠道办理",
        ("经济管理", "安全生产"): "与 城乡建设/安全生产 的三级分类相同，规则统一归在 城乡建设/安全生产",
        ("交通运输", "交通运输"): "唯一的三级分类“出租车管理”与 交通运输/出租车管理 重复，规则统一归在 交通运输/出租车管理",
    }
    tree = {}
    with open(os.path.join(a.shared, "data", "categories.csv"), encoding="utf-8") as f:
        for row in csv.DictReader(f):
            tree.setdefault(row["一级分类"], {}).setdefault(row["二级分类"], []).append(row["三级分类"])
    with open(os.path.join(a.out, "categories.yaml"), "w", encoding="utf-8") as f:
        f.write("# yaml-language-server: $schema=./schema.json\n")
        f.write("# 诉求分类树（一级 / 二级 / 三级），由 scripts/gen_catalogue.py 从 categories.csv 生成。\n")
        f.write("categories:\n")
        for l1, l2s in tree.items():
            f.write(f"  - name: {yaml_str(l1)}\n")
            if (l1, None) in NOT_DISPATCHED:
                f.write(f"    not_dispatched: {yaml_str(NOT_DISPATCHED[(l1, None)])}\n")
            f.write("    children:\n")
            for l2, l3s in l2s.items():
                leaves = ", ".join(yaml_str(x) for x in dict.fromkeys(l3s))
                f.write(f"      - name: {yaml_str(l2)}\n")
                if (l1, l2) in NOT_DISPATCHED:
                    f.write(f"        not_dispatched: {yaml_str(NOT_DISPATCHED[(l1, l2)])}\n")
                f.write(f"        leaves: [{leaves}]\n")
        unknown = [k for k in NOT_DISPATCHED if k[0] not in tree or (k[1] and k[1] not in tree[k[0]])]
        if unknown:
            sys.exit(f"NOT_DISPATCHED names categories the tree lacks: {unknown}")
    print(f"{len(regs)} regulations, {sum(len(v) for v in tree.values())} level-2 categories")


if __name__ == "__main__":
    main()
