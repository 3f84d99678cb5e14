//! Loading a crate's files and measuring them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use syn::spanned::Spanned;
use syn::visit::Visit;

use crate::graph::{self, Cycle, Edge, Module};

/// A crate's parsed source.
pub struct Crate {
    /// Module path (e.g. `["relay", "client"]`) → its file.
    pub(crate) files: BTreeMap<Module, SourceFile>,
}

pub(crate) struct SourceFile {
    pub(crate) path: PathBuf,
    pub(crate) lines: usize,
    pub(crate) ast: syn::File,
}

/// A function longer than the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongFunction {
    /// File it is in.
    pub file: PathBuf,
    /// Function name.
    pub name: String,
    /// First line.
    pub line: usize,
    /// Lines from signature to closing brace.
    pub lines: usize,
}

/// A file longer than the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongFile {
    /// The file.
    pub file: PathBuf,
    /// Its lines, test modules included.
    pub lines: usize,
}

impl Crate {
    /// Reads every `.rs` file under `src` (a crate's `src/` directory).
    ///
    /// # Panics
    /// When a file cannot be read or parsed: this runs in tests.
    pub fn load(src: impl AsRef<Path>) -> Self {
        let src = src.as_ref();
        let mut files = BTreeMap::new();
        let mut stack = vec![src.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let entries = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
            for entry in entries {
                let path = entry.expect("directory entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path)
                        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
                    let ast = syn::parse_file(&text)
                        .unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
                    let module = module_of(src, &path);
                    let lines = text.lines().count();
                    files.insert(module, SourceFile { path, lines, ast });
                }
            }
        }
        Crate { files }
    }

    /// Cycles among sibling modules, at every level of the module tree.
    pub fn cycles(&self) -> Vec<Cycle> {
        graph::cycles(self)
    }

    /// Imports between sibling modules, at every level of the module tree, sorted by
    /// parent, then importing module, then imported module.
    pub fn edges(&self) -> Vec<Edge> {
        graph::edges(self)
    }

    /// Production functions (and methods) longer than `max` lines.
    pub fn long_functions(&self, max: usize) -> Vec<LongFunction> {
        let mut found = Vec::new();
        for file in self.files.values() {
            let mut v = FnLengths {
                file: &file.path,
                max,
                found: &mut found,
            };
            v.visit_file(&file.ast);
        }
        found
    }

    /// Files longer than `max` lines.
    pub fn long_files(&self, max: usize) -> Vec<LongFile> {
        self.files
            .values()
            .filter(|f| f.lines > max)
            .map(|f| LongFile {
                file: f.path.clone(),
                lines: f.lines,
            })
            .collect()
    }
}

/// `src/lib.rs` → `[]`, `src/a.rs` and `src/a/mod.rs` → `[a]`, `src/a/b.rs` → `[a, b]`.
fn module_of(src: &Path, path: &Path) -> Module {
    let rel = path.strip_prefix(src).expect("file under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("file name");
    let stem = last.trim_end_matches(".rs");
    if !matches!(stem, "mod" | "lib" | "main") || !parts.is_empty() && stem != "mod" {
        parts.push(stem.to_owned());
    }
    parts
}

/// Whether an item carries `#[cfg(test)]`.
pub(crate) fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Meta>()
                .is_ok_and(|m| m.path().is_ident("test"))
    })
}

struct FnLengths<'a> {
    file: &'a Path,
    max: usize,
    found: &'a mut Vec<LongFunction>,
}

impl FnLengths<'_> {
    fn check(&mut self, name: &syn::Ident, span: proc_macro2::Span) {
        let (start, end) = (span.start().line, span.end().line);
        let lines = end + 1 - start;
        if lines > self.max {
            self.found.push(LongFunction {
                file: self.file.to_path_buf(),
                name: name.to_string(),
                line: start,
                lines,
            });
        }
    }
}

impl<'ast> Visit<'ast> for FnLengths<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if !is_test_only(&m.attrs) {
            syn::visit::visit_item_mod(self, m);
        }
    }
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if is_test_only(&f.attrs) {
            return;
        }
        self.check(&f.sig.ident, f.span());
        syn::visit::visit_item_fn(self, f);
    }
    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if is_test_only(&f.attrs) {
            return;
        }
        self.check(&f.sig.ident, f.span());
        syn::visit::visit_impl_item_fn(self, f);
    }
    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        if !is_test_only(&i.attrs) {
            syn::visit::visit_item_impl(self, i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_paths_follow_the_file_layout() {
        let src = Path::new("/x/src");
        let m = |p: &str| module_of(src, Path::new(p));
        assert_eq!(m("/x/src/lib.rs"), Vec::<String>::new());
        assert_eq!(m("/x/src/main.rs"), Vec::<String>::new());
        assert_eq!(m("/x/src/relay.rs"), vec!["relay"]);
        assert_eq!(m("/x/src/relay/mod.rs"), vec!["relay"]);
        assert_eq!(m("/x/src/relay/client.rs"), vec!["relay", "client"]);
        assert_eq!(m("/x/src/relay/lib.rs"), vec!["relay", "lib"]);
    }
}
