//! Generated rule sets for benchmarks and load tests (not for production use): the bundled rules
//! plus `n` synthetic dispatch rules with distinct two-character keywords, one in 30 of them with
//! a regular-expression pattern, each with an example that the rule must win.

use std::fmt::Write as _;
use std::path::Path;

/// Characters the synthetic keywords are made of: rare enough in real requests that generated
/// rules do not change the bundled rules' decisions.
const CHARS: &str = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥乾坤震巽坎离艮兑琴棋书画梅兰竹菊松柏桐梧鹤鹿龟麟凤凰虬螭貔貅麒骐骥骅骝";

/// Copies the bundled rules from `bundled` into `dir` and writes `n` generated rules beside them
/// (in files of 1,000). Returns the number of generated rules.
pub fn write_rules(bundled: &Path, dir: &Path, n: usize) -> std::io::Result<usize> {
    copy_dir(bundled, dir)?;
    let chars: Vec<char> = CHARS.chars().collect();
    let mut made = 0;
    let mut file = String::new();
    let mut file_no = 0;
    for i in 0..n {
        if i % 1000 == 0 {
            flush(dir, &mut file, &mut file_no)?;
            file.push_str("rules:\n");
        }
        let a = chars[i % chars.len()];
        let b = chars[(i / chars.len()) % chars.len()];
        let c = chars[(i / (chars.len() * chars.len())) % chars.len()];
        let kw = format!("{a}{b}{c}");
        let _ = write!(
            file,
            "  - id: gen-{i}\n    topic: 生成规则{i}\n    category: 城乡建设/其他/其他\n    department: housing\n    \
             regulations: [物业管理条例/第五条]\n    conditions:\n      all: [[{kw}]]\n"
        );
        if i % 30 == 0 {
            let _ = writeln!(file, "      patterns: ['{kw}\\d{{2,4}}号']");
        }
        // The example reads as a housing matter to the classifier too, so that the bundled
        // cross-check (`settings.model.cross_check`) lets the generated rule win it.
        let _ = writeln!(file, "    examples: ['小区里{kw}的问题一直没人管']");
        made += 1;
    }
    flush(dir, &mut file, &mut file_no)?;
    Ok(made)
}

fn flush(dir: &Path, file: &mut String, no: &mut usize) -> std::io::Result<()> {
    if !file.is_empty() {
        std::fs::write(dir.join(format!("generated-{no:03}.yaml")), &file)?;
        *no += 1;
        file.clear();
    }
    Ok(())
}

/// Copies the directory tree `from` into `to` (created if missing).
pub(crate) fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// Benchmarks and load tests load these sets and stop at the first failing example, so the
    /// generated rules must pass `check` with the bundled settings (the classifier's cross-check
    /// included).
    #[test]
    fn a_generated_rule_set_loads_with_the_bundled_rules() {
        let dir = tempfile::tempdir().unwrap();
        let bundled = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        assert_eq!(
            super::write_rules(&bundled, dir.path(), 1_000).unwrap(),
            1_000
        );
        let set = crate::load_dir(dir.path()).map_err(|e| e.to_string());
        let set = set.unwrap_or_else(|e| panic!("{}", e.chars().take(2_000).collect::<String>()));
        assert!(set.rules().iter().any(|r| r.id == "gen-999"));
    }
}
