//! `eval` on a small corpus written for this test (the development corpus stays in ../shared).

use std::path::Path;

use hotline_router::authoring::eval::{evaluate, read_corpus};
use hotline_router::load_dir;

const CORPUS: &str = r#"{"id": 1, "title": "拖欠工资", "text": "公司三个月没发工资了，老板跑了", "label": "劳动和社会保障"}
{"id": 2, "title": "", "text": "楼下饭店油烟直排，呛得窗户都不敢开", "label": "城乡建设"}
{"id": 3, "title": "咨询", "text": "我想反映一个情况", "label": "教育文体"}
{"id": 4, "text": "离职后住房公积金怎么提取", "label": "城乡建设"}
{"id": 5, "text": "", "label": "城乡建设"}
not json
"#;

#[test]
fn eval_counts_coverage_accuracy_and_confusion() {
    let set = load_dir(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))).unwrap();
    let (corpus, skipped) = read_corpus(CORPUS.as_bytes(), "label").unwrap();
    assert_eq!(corpus.len(), 4);
    assert_eq!(
        skipped,
        vec![5, 6],
        "the lines without text and without JSON"
    );
    // A line that is not UTF-8 is skipped and named; the rest of the file is read.
    let mut bytes = CORPUS.as_bytes().to_vec();
    bytes.extend_from_slice(b"{\"id\": 7, \"text\": \"\xff\xfe\", \"label\": \"x\"}\n");
    bytes.extend_from_slice(
        "{\"id\": 8, \"text\": \"小区电梯坏了\", \"label\": \"城乡建设\"}\n".as_bytes(),
    );
    let (more, skipped_more) = read_corpus(bytes.as_slice(), "label").unwrap();
    assert_eq!((more.len(), skipped_more), (5, vec![5, 6, 7]));
    let r = evaluate(&set, &corpus, 10);
    assert_eq!(r.total, 4);
    assert_eq!(r.manual, 1, "{}", r.render_text());
    assert_eq!(r.dispatched, 3);
    // Labour → 劳动和社会保障 (right); fumes → the rule's category; fund → 城乡建设 (right).
    let labour = r
        .categories
        .iter()
        .find(|c| c.label == "劳动和社会保障")
        .unwrap();
    assert_eq!((labour.support, labour.correct, labour.recall), (1, 1, 1.0));
    assert_eq!(r.confusion["教育文体"]["(manual)"], 1);
    assert!((r.overall_accuracy - r.dispatched_accuracy * 0.75).abs() < 1e-3);
    assert!(r.render_text().contains("overall accuracy"));
}
