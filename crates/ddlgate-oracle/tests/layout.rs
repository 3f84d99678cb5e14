//! The oracle crate's layout, checked: modules import one way, functions and files stay small.

use ddlgate_layout::Crate;

fn krate() -> Crate {
    Crate::load(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))
}

#[test]
fn sibling_modules_import_one_way() {
    let cycles = krate().cycles();
    let shown: Vec<String> = cycles.iter().map(ToString::to_string).collect();
    assert!(cycles.is_empty(), "import cycles:\n{}", shown.join("\n"));
}

#[test]
fn functions_and_files_stay_small() {
    let krate = krate();
    let functions: Vec<String> = krate
        .long_functions(80)
        .iter()
        .map(|f| {
            format!(
                "{}:{} {} ({} lines)",
                f.file.display(),
                f.line,
                f.name,
                f.lines
            )
        })
        .collect();
    let files: Vec<String> = krate
        .long_files(500)
        .iter()
        .map(|f| format!("{} ({} lines)", f.file.display(), f.lines))
        .collect();
    assert!(
        functions.is_empty(),
        "functions over 80 lines:\n{}",
        functions.join("\n")
    );
    assert!(
        files.is_empty(),
        "files over 500 lines:\n{}",
        files.join("\n")
    );
}
