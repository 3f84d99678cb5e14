//! The crate's modules import one way: no cycle among sibling modules at any level, and the
//! top-level modules keep to the declared layer order.

use ddlgate_layout::Crate;

/// Top-level modules, lowest layer first. A module imports only from earlier layers; the
/// modules of one layer do not import each other.
const LAYERS: &[&[&str]] = &[
    // Text: tokens, statement spans, first keywords, quoting, lock modes.
    &["lexer", "quote", "locks"],
    &[
        "split",
        "classify",
        "redact",
        "dynamic",
        "search_path",
        "client_text",
        "guard_effects",
        "role_change",
        "partition_text",
    ],
    // The project-owned statement representation.
    &["ir"],
    // Text → IR: sqlparser, the fallback table, transaction and session commands.
    &["convert", "fallback", "session"],
    &["parse"],
    // What the caller knows; the transaction as analysis tracks it.
    &["facts", "tx"],
    // The lock/rewrite model.
    &["model"],
    // The rule catalogue and the safe plans (independent of each other).
    &["rules", "plan"],
    &["decision"],
    &["suppress", "targets"],
    &["analyze"],
    &["as_sent"],
    &["lint"],
];

fn krate() -> Crate {
    Crate::load(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))
}

#[test]
fn sibling_modules_import_each_other_one_way() {
    let cycles = krate().cycles();
    let shown: String = cycles.iter().map(|c| format!("\n  {c}")).collect();
    assert!(cycles.is_empty(), "import cycles:{shown}");
}

#[test]
fn top_level_modules_import_only_earlier_layers() {
    let layer = |m: &str| LAYERS.iter().position(|l| l.contains(&m));
    let wrong: String = krate()
        .edges()
        .iter()
        .filter(|e| e.parent.is_empty())
        .filter(|e| match (layer(&e.from), layer(&e.to)) {
            (Some(from), Some(to)) => to >= from,
            _ => true,
        })
        .map(|e| format!("\n  {e}"))
        .collect();
    assert!(
        wrong.is_empty(),
        "imports against the layer order (or of a module missing from LAYERS):{wrong}"
    );
}
