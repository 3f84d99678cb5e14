//! The static rule table, the docs pages and the fixture directories agree, and every
//! fixture behaves: `bad.sql` triggers its rule, `good.sql` does not.

#![allow(clippy::unwrap_used)]

use ddlgate_ddl::{analyze, AnalysisConfig, Facts, RuleId, RULES};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn names_in(dir: &Path, strip: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .trim_end_matches(strip)
                .to_owned()
        })
        .collect()
}

#[test]
fn table_docs_and_fixtures_agree() {
    let root = repo_root();
    let ids: BTreeSet<String> = RULES.iter().map(|r| r.id.as_str().to_owned()).collect();
    assert_eq!(ids.len(), RULES.len(), "duplicate rule ids");
    for (i, r) in RULES.iter().enumerate() {
        assert_eq!(RuleId::ALL[i], r.id, "RULES and RuleId::ALL out of order");
        assert_eq!(r.id.def().id, r.id);
        let id = r.id.as_str();
        assert!(
            id.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{id} is not kebab-case"
        );
        assert_eq!(serde_json::to_string(&r.id).unwrap(), format!("\"{id}\""));
        assert_eq!(RuleId::from_id(id), Some(r.id));
        assert_eq!(r.id.docs_path(), format!("docs/rules/{id}.md"));
        assert!(
            root.join(r.id.docs_path()).is_file(),
            "{}",
            r.id.docs_path()
        );
        for a in r.aliases {
            assert_eq!(RuleId::from_id(a), Some(r.id), "alias {a}");
        }
    }
    assert_eq!(
        names_in(&root.join("docs/rules"), ".md"),
        ids,
        "docs/rules/*.md vs RULES"
    );
    assert_eq!(
        names_in(&root.join("tests/fixtures/ddl"), ""),
        ids,
        "tests/fixtures/ddl/* vs RULES"
    );
    for id in &ids {
        let doc = read(&root.join(format!("docs/rules/{id}.md")));
        assert!(doc.starts_with(&format!("# {id}\n")), "{id}.md title");
        for section in [
            "## Why it is dangerous",
            "## Safe alternative",
            "## Bad",
            "## Good",
        ] {
            assert!(doc.contains(section), "{id}.md lacks {section}");
        }
        for f in ["bad.sql", "good.sql"] {
            let sql = read(&root.join(format!("tests/fixtures/ddl/{id}/{f}")));
            assert!(doc.contains(&sql), "{id}.md does not show {f} verbatim");
        }
    }
}

fn facts_for(sql: &str) -> Facts {
    let mut facts = Facts::default();
    for line in sql.lines() {
        if let Some(v) = line.strip_prefix("-- fixture-pg: ") {
            facts.server_version_num = v.trim().parse().unwrap();
        }
    }
    facts
}

fn triggered(sql: &str, rule: RuleId) -> bool {
    let cfg = AnalysisConfig {
        honor_suppressions: true,
        ..AnalysisConfig::default()
    };
    analyze(sql, &facts_for(sql), &cfg)
        .iter()
        .any(|d| d.findings.iter().any(|f| f.rule == rule))
}

#[test]
fn fixtures_trigger_their_rule() {
    let root = repo_root();
    let mut failures = Vec::new();
    for r in RULES {
        let dir = root.join(format!("tests/fixtures/ddl/{}", r.id));
        let bad = read(&dir.join("bad.sql"));
        let good = read(&dir.join("good.sql"));
        if !triggered(&bad, r.id) {
            failures.push(format!("{}: bad.sql does not trigger it", r.id));
        }
        if triggered(&good, r.id) {
            failures.push(format!("{}: good.sql triggers it", r.id));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
