//! The proxy crate's layout, checked: the relay moves bytes and calls the gate, modules import
//! one way, functions and files stay small (see the README's architecture section).

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
fn production_functions_stay_short() {
    let long = krate().long_functions(80);
    let shown: Vec<String> = long
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
    assert!(
        long.is_empty(),
        "functions over 80 lines:\n{}",
        shown.join("\n")
    );
}

#[test]
fn files_stay_small() {
    let long = krate().long_files(500);
    let shown: Vec<String> = long
        .iter()
        .map(|f| format!("{} ({} lines)", f.file.display(), f.lines))
        .collect();
    assert!(
        long.is_empty(),
        "files over 500 lines:\n{}",
        shown.join("\n")
    );
}

#[test]
fn the_relay_only_moves_bytes() {
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src/relay");
    let mut stack = vec![std::path::PathBuf::from(src)];
    let mut offenders = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("relay dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("source");
            for banned in [
                "crate::exec",
                "crate::jobs",
                "crate::enforce",
                "ddlgate_ddl",
            ] {
                if text.contains(banned) {
                    offenders.push(format!("{} uses {banned}", path.display()));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}
