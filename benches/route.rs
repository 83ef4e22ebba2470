//! In-process routing cost (issue #5): `route()` against jieba segmentation of the same text,
//! on requests of about 20, 80, 200 and 600 characters, with the bundled rules and with 10,000
//! generated rules. Run: `cargo bench --bench route`; figures go to BENCHMARKS.md.

/// mimalloc rather than glibc malloc: the engine allocates many small, short-lived strings per
/// request, and glibc's free lists degrade once a large rule set has been built (28% of the time
/// in `_int_malloc` with 10,000 rules; see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;
use std::path::Path;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hotline_router::{RouteInput, load_dir};

/// Requests written for the benchmark (not from any corpus), as citizens phrase them.
pub const REQUESTS: [(&str, &str); 4] = [
    ("20", "物业费没过户应该谁交啊？我想问一下"),
    (
        "80",
        "你好，我在高新区买的房子还没过户，物业公司一直打电话催我交物业费，说不交就要起诉我，未过户的房产物业费到底应该由谁来交？我已经问过物业和开发商好几次了都说不清楚",
    ),
    (
        "200",
        "领导您好，我是城东花园小区的业主。我们小区旁边的工地最近一个月每天晚上施工到凌晨两三点，打桩机和混凝土搅拌车的声音特别大，老人孩子根本睡不着觉。我们打过好几次电话给施工方，他们说有夜间施工许可，但是从来没有在工地门口公示过。请问夜间施工到底需要什么手续？这种噪音扰民的情况应该找哪个部门处理？希望尽快派人来看看，谢谢。",
    ),
    (
        "600",
        "尊敬的领导：您好！我是一名在本市务工的农民工，老家在外省。去年三月份经老乡介绍到开发区的一个建筑工地干木工，包工头姓王，当时口头约定每天工资三百元，年底统一结算。我们班组一共有二十三个人，从三月一直干到十二月底，中间只发过两次生活费，每次一千元。到了年底结算的时候，包工头说总包单位没有给他拨款，让我们先回家过年，年后再说。今年过完年我们又去找他，他先是说项目部在走流程，后来干脆电话也不接了。我们去项目部问，项目部的人说工程款早就拨给劳务公司了，是包工头自己的问题，让我们去找劳务公司。劳务公司又说他们和包工头之间还有账没算清，要等审计结束。就这样来回踢皮球，已经拖了五个多月。我们这些人都是靠打工养家的，家里有老人要看病、孩子要上学，现在一分钱都拿不到，实在没有办法了。听说国家有保障农民工工资支付的条例，建设单位和施工总承包单位要对拖欠的工资负责，请问我们应该去哪里投诉？需要准备哪些材料？劳动保障监察部门能不能帮我们把工资要回来？恳请领导帮帮我们，万分感谢！",
    ),
];

fn bundled(c: &mut Criterion) {
    // The server's memory regime (see `server::forgo_huge_pages`).
    hotline_router::server::forgo_huge_pages();
    let set =
        load_dir(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))).expect("bundled rules");
    let jieba = jieba_rs::Jieba::new();
    let mut group = c.benchmark_group("bundled");
    for (name, text) in REQUESTS {
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(BenchmarkId::new("route", name), text, |b, t| {
            b.iter(|| set.route(&RouteInput::text(black_box(t))))
        });
        group.bench_with_input(BenchmarkId::new("jieba_cut", name), text, |b, t| {
            b.iter(|| jieba.cut(black_box(t), false))
        });
    }
    group.finish();
}

/// The same requests against the bundled rules plus 10,000 generated rules.
fn scaled(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let bundled = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"));
    hotline_router::synthetic::write_rules(bundled, dir.path(), 10_000).expect("generated rules");
    let started = std::time::Instant::now();
    let set = load_dir(dir.path()).expect("10,000 rules load");
    eprintln!(
        "loaded {} rules in {:?}",
        set.rules().len(),
        started.elapsed()
    );
    let mut group = c.benchmark_group("rules10k");
    for (name, text) in REQUESTS {
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(BenchmarkId::new("route", name), text, |b, t| {
            b.iter(|| set.route(&RouteInput::text(black_box(t))))
        });
    }
    group.finish();
}

criterion_group!(benches, bundled, scaled);
criterion_main!(benches);
