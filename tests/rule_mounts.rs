//! Rules directories as they are deployed: folders that are symlinks, symlink loops, Kubernetes'
//! ConfigMap layout (`..data` → `..<timestamp>`, files as links into it) and its atomic swap,
//! folders that hold no dispatch rules at all, and the bundled rules as an author's slip leaves
//! them (a hand-off file renamed or emptied, an example indented under the one above).

use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Duration;

mod common;

use common::server::Server;
use hotline_router::load_dir;

/// Copies `from` into `to`, recursively.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Writes one ConfigMap version of `rules` under `mount` and points `..data` at it, the way the
/// kubelet's atomic writer does: a new `..<timestamp>` folder, a `..data_tmp` link renamed over
/// `..data`, and top-level links into `..data` for each entry.
fn configmap_version(mount: &Path, stamp: &str, rules: &Path) {
    let version = format!("..{stamp}");
    copy_tree(rules, &mount.join(&version));
    let tmp = mount.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp);
    symlink(&version, &tmp).unwrap();
    std::fs::rename(&tmp, mount.join("..data")).unwrap();
    for e in std::fs::read_dir(rules).unwrap() {
        let name = e.unwrap().file_name();
        let link = mount.join(&name);
        if std::fs::symlink_metadata(&link).is_err() {
            symlink(Path::new("..data").join(&name), &link).unwrap();
        }
    }
}

#[test]
fn a_folder_that_is_a_symlink_is_loaded() {
    let bundled = common::bundled();
    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("rules");
    copy_tree(&common::bundled_dir(), &rules);
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::rename(rules.join("departments"), &elsewhere).unwrap();
    symlink(&elsewhere, rules.join("departments")).unwrap();
    let set = load_dir(&rules).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(set.rules().len(), bundled.rules().len());
    // Same files under the same names: the same rule set, whatever the links.
    assert_eq!(set.version(), bundled.version());
}

#[test]
fn a_symlink_loop_is_reported_not_walked() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("rules");
    copy_tree(&common::bundled_dir(), &rules);
    symlink(&rules, rules.join("departments").join("again")).unwrap();
    let err = load_dir(&rules)
        .err()
        .expect("a loop is an error")
        .to_string();
    assert!(err.contains("symlink loop"), "{err}");
    assert!(err.contains("again"), "{err}");
}

#[test]
fn a_broken_symlink_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("rules");
    copy_tree(&common::bundled_dir(), &rules);
    symlink(tmp.path().join("gone"), rules.join("topics")).unwrap();
    let err = load_dir(&rules)
        .err()
        .expect("a dangling link is an error")
        .to_string();
    assert!(err.contains("cannot follow the symlink"), "{err}");
}

#[test]
fn the_configmap_layout_loads_as_the_same_rule_set() {
    let tmp = tempfile::tempdir().unwrap();
    let mount = tmp.path().join("rules");
    std::fs::create_dir(&mount).unwrap();
    configmap_version(
        &mount,
        "2026_12_01_10_00_00.000000001",
        &common::bundled_dir(),
    );
    let set = load_dir(&mount).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(set.version(), common::bundled().version());
}

#[test]
fn a_folder_without_dispatch_rules_is_a_load_error() {
    let dir = common::rules_dir_with(common::CORE_FILES);
    let err = load_dir(dir.path())
        .err()
        .expect("no dispatch rules")
        .to_string();
    assert!(err.contains("error[E0108]"), "{err}");
    assert!(err.contains("no dispatch rules"), "{err}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hotline-router"))
        .args(["check", "--rules"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "check must fail, not say ok");
}

#[tokio::test]
async fn swapping_the_configmap_reloads_the_server() {
    let tmp = tempfile::tempdir().unwrap();
    let mount = tmp.path().join("rules");
    std::fs::create_dir(&mount).unwrap();
    let bundled = common::bundled_dir();
    configmap_version(&mount, "2026_12_01_10_00_00.000000001", &bundled);
    let server = Server::start(&["--store", "none", "--rules", mount.to_str().unwrap()]);
    let mut c = server.client().await;
    let before = c
        .get_rule_set(hotline_router::proto::v1::GetRuleSetRequest {})
        .await
        .unwrap()
        .into_inner()
        .version;
    assert_eq!(before, common::bundled().version());

    // The next version: one file edited (a comment is enough to be a new version).
    let next = tmp.path().join("next");
    copy_tree(&bundled, &next);
    let settings = next.join("settings.yaml");
    let text = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(&settings, format!("{text}\n# 2026-12-01 更新\n")).unwrap();
    configmap_version(&mount, "2026_12_01_11_00_00.000000002", &next);
    std::fs::remove_dir_all(mount.join("..2026_12_01_10_00_00.000000001")).unwrap();

    let mut after = before.clone();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        after = c
            .get_rule_set(hotline_router::proto::v1::GetRuleSetRequest {})
            .await
            .unwrap()
            .into_inner()
            .version;
        if after != before {
            break;
        }
    }
    assert_ne!(
        after, before,
        "the swap of ..data was not picked up in 20 s"
    );
    let reloaded = load_dir(&mount).unwrap();
    assert_eq!(after, reloaded.version());
}

#[test]
fn an_emptied_rule_file_is_an_error_at_its_place_not_a_set_without_its_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("rules");
    copy_tree(&common::bundled_dir(), &rules);
    std::fs::write(rules.join("handoffs.yaml"), "").unwrap();
    std::fs::write(
        rules.join("departments").join("hrss.yaml"),
        "# 人社局的规则\n---\n\n",
    )
    .unwrap();
    let err = load_dir(&rules)
        .err()
        .expect("an emptied file is an error")
        .to_string();
    assert!(
        err.contains("handoffs.yaml:1:1: error[E0109]"),
        "the emptied hand-off file is not named: {err}"
    );
    assert!(
        err.contains("departments/hrss.yaml:1:1: error[E0109]"),
        "a file of comments only is not named: {err}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hotline-router"))
        .args(["check", "--rules"])
        .arg(&rules)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "check must fail, not say ok");
}

/// Loads `rules` on a thread: a reader that waits forever fails the test instead of hanging it.
fn load_within(rules: &Path, secs: u64) -> String {
    let rules = rules.to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(load_dir(&rules).err().map(|e| e.to_string()));
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .expect("loading the rules did not end: a file was read that never ends")
        .expect("the set loaded")
}

#[test]
fn a_fifo_or_a_device_among_the_rule_files_is_reported_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("rules");
    copy_tree(&common::bundled_dir(), &rules);
    let fifo = rules.join("departments").join("fifo.yaml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if made {
        let err = load_within(&rules, 30);
        assert!(
            err.contains("departments/fifo.yaml") && err.contains("not a regular file"),
            "{err}"
        );
        std::fs::remove_file(&fifo).unwrap();
    } else {
        println!("skipped the FIFO case: mkfifo is not available here");
    }
    // A link to a device that never ends, and reports no size.
    symlink("/dev/zero", rules.join("departments").join("zero.yaml")).unwrap();
    let err = load_within(&rules, 30);
    assert!(
        err.contains("departments/zero.yaml") && err.contains("not a regular file"),
        "{err}"
    );
}

/// The first error of the server's last failed load, waited for up to 20 s.
async fn first_load_error(
    c: &mut hotline_router::proto::v1::routing_service_client::RoutingServiceClient<
        tonic::transport::Channel,
    >,
) -> Option<hotline_router::proto::v1::Diagnostic> {
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let errors = c
            .get_rule_set(hotline_router::proto::v1::GetRuleSetRequest {})
            .await
            .unwrap()
            .into_inner()
            .last_load_errors;
        if let Some(e) = errors.into_iter().next() {
            return Some(e);
        }
    }
    None
}

#[test]
fn a_set_without_a_hand_off_file_loads_with_a_warning_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("rules");
    copy_tree(&common::bundled_dir(), &rules);
    std::fs::rename(rules.join("handoffs.yaml"), rules.join("handoffs.yaml.bak")).unwrap();
    let set = hotline_router::load_dir(&rules).expect("a set without hand-offs still loads");
    let warning = set
        .warnings()
        .iter()
        .find(|w| w.code.as_str() == "W0107")
        .expect("no warning about the missing hand-offs");
    assert_eq!(warning.location.file, "handoffs.yaml");
    assert!(
        warning.message.contains("no hand-offs") && warning.message.contains("110, 119, 120, 122"),
        "{}",
        warning.message
    );
    // The bundled set hands off to every line: no warning.
    let bundled = hotline_router::load_dir(&common::bundled_dir()).unwrap();
    assert!(
        bundled
            .warnings()
            .iter()
            .all(|w| w.code.as_str() != "W0107"),
        "{:?}",
        bundled.warnings()
    );
}

#[test]
fn an_example_indented_under_the_one_above_is_a_warning_at_its_place() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("rules");
    copy_tree(&common::bundled_dir(), &rules);
    let path = rules.join("departments").join("housing.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    // The first example's "-" moved two columns left: the next two lines fold into it.
    let edited = text.replacen(
        "      - 我在高新区买的房子还没过户",
        "    - 我在高新区买的房子还没过户",
        1,
    );
    assert_ne!(edited, text);
    std::fs::write(&path, edited).unwrap();
    let set = load_dir(&rules).expect("the folded example still loads");
    let w: Vec<_> = set
        .warnings()
        .iter()
        .filter(|w| w.code.as_str() == "W0108")
        .collect();
    assert_eq!(w.len(), 1, "{:?}", set.warnings());
    assert_eq!(
        (w[0].location.file.as_str(), w[0].location.line),
        ("departments/housing.yaml", 35)
    );
    assert!(
        w[0].message.contains("property-fee-unsold")
            && w[0].message.contains(" - 房子都还没交房呢"),
        "{}",
        w[0].message
    );
}

/// A server on a copy of the bundled rules; `edit` applied to the copy must leave it serving
/// the same set, the fire still handed off to 119. The reload's error.
async fn a_hand_off_edit_keeps_the_serving_set(
    edit: impl FnOnce(&Path),
) -> hotline_router::proto::v1::Diagnostic {
    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("rules");
    copy_tree(&common::bundled_dir(), &rules);
    let server = Server::start(&["--store", "none", "--rules", rules.to_str().unwrap()]);
    let mut c = server.client().await;
    let fire = || hotline_router::proto::v1::RouteRequest {
        text: "楼下着火了，浓烟滚滚，快来人".into(),
        ..Default::default()
    };
    let before = c.route(fire()).await.unwrap().into_inner();
    assert_eq!(
        before.handoff.as_ref().map(|h| h.line.as_str()),
        Some("119")
    );
    edit(&rules);
    let err = first_load_error(&mut c)
        .await
        .expect("the edit never showed as a load error");
    let after = c.route(fire()).await.unwrap().into_inner();
    assert_eq!(
        after.handoff.as_ref().map(|h| h.line.as_str()),
        Some("119"),
        "the fire is no longer handed off"
    );
    assert_eq!(after.rules_version, before.rules_version);
    err
}

#[tokio::test]
async fn renaming_the_hand_off_file_keeps_the_serving_hand_offs() {
    // A backup kept by renaming: the set without it is valid, and would hand off nothing.
    let err = a_hand_off_edit_keeps_the_serving_set(|rules| {
        std::fs::rename(rules.join("handoffs.yaml"), rules.join("handoffs.yaml.bak")).unwrap()
    })
    .await;
    assert_eq!(err.code, "E0110", "{err:?}");
    assert!(
        err.message.contains("110, 119, 120, 122") && err.message.contains("handoffs.yaml"),
        "{err:?}"
    );
}

#[tokio::test]
async fn emptying_the_hand_off_file_keeps_the_serving_hand_offs() {
    let err = a_hand_off_edit_keeps_the_serving_set(|rules| {
        std::fs::write(rules.join("handoffs.yaml"), "").unwrap()
    })
    .await;
    assert_eq!(err.code, "E0109", "{err:?}");
}
