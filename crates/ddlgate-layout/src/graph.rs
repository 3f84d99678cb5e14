//! The import graph between sibling modules, and its cycles.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use syn::visit::Visit;

use crate::source::{is_test_only, Crate};

/// A module path from the crate root (`[]` is the root).
pub type Module = Vec<String>;

/// Sibling modules that import each other in a cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle {
    /// The parent module of the siblings.
    pub parent: Module,
    /// The siblings in the cycle.
    pub members: Vec<String>,
    /// The imports among them: (from, to).
    pub edges: Vec<(String, String)>,
}

impl fmt::Display for Cycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parent = if self.parent.is_empty() {
            "crate".to_owned()
        } else {
            format!("crate::{}", self.parent.join("::"))
        };
        write!(f, "in {parent}: {{{}}} via", self.members.join(", "))?;
        for (a, b) in &self.edges {
            write!(f, " {a}→{b}")?;
        }
        Ok(())
    }
}

/// An import between sibling modules: `from` (or a module inside it) names `to` (or a
/// module inside it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    /// The parent module of the two siblings.
    pub parent: Module,
    /// The importing sibling.
    pub from: String,
    /// The imported sibling.
    pub to: String,
}

impl fmt::Display for Edge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.parent.is_empty() {
            write!(f, "crate: {}→{}", self.from, self.to)
        } else {
            write!(
                f,
                "crate::{}: {}→{}",
                self.parent.join("::"),
                self.from,
                self.to
            )
        }
    }
}

/// Every `crate::`/`super::`/`self::` path a module mentions, and what its `use` items name.
#[derive(Default)]
struct Mentions {
    paths: Vec<Vec<String>>,
    /// Name brought into scope by a `use` → the path it names (unresolved).
    uses: BTreeMap<String, Vec<String>>,
}

impl<'ast> Visit<'ast> for Mentions {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if !is_test_only(&m.attrs) {
            syn::visit::visit_item_mod(self, m);
        }
    }
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if !is_test_only(&f.attrs) {
            syn::visit::visit_item_fn(self, f);
        }
    }
    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        if !is_test_only(&i.attrs) {
            syn::visit::visit_item_impl(self, i);
        }
    }
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        if is_test_only(&u.attrs) {
            return;
        }
        let mut leaves = Vec::new();
        flatten(&u.tree, Vec::new(), &mut leaves);
        for (name, path) in leaves {
            if let Some(name) = name {
                self.uses.insert(name, path.clone());
            }
            self.paths.push(path);
        }
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        // A macro's arguments are tokens, not a syntax tree: find the paths in them by hand.
        token_paths(m.tokens.clone(), &mut self.paths);
        syn::visit::visit_macro(self, m);
    }
    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segs: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        self.paths.push(segs);
        syn::visit::visit_path(self, p);
    }
}

/// Collects the `crate::…`/`super::…`/`self::…` paths written in a macro's tokens.
fn token_paths(tokens: proc_macro2::TokenStream, out: &mut Vec<Vec<String>>) {
    use proc_macro2::{Spacing, TokenTree};
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let colons = |i: usize| {
        matches!((tokens.get(i), tokens.get(i + 1)),
            (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
                if a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':')
    };
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Group(g) => token_paths(g.stream(), out),
            TokenTree::Ident(id)
                if matches!(id.to_string().as_str(), "crate" | "super" | "self") =>
            {
                let mut path = vec![id.to_string()];
                while colons(i + 1) {
                    let Some(TokenTree::Ident(next)) = tokens.get(i + 3) else {
                        break;
                    };
                    path.push(next.to_string());
                    i += 3;
                }
                if path.len() > 1 {
                    out.push(path);
                }
            }
            _ => {}
        }
        i += 1;
    }
}

/// Flattens a use tree into (name in scope, full path) leaves; a glob has no name.
fn flatten(tree: &syn::UseTree, prefix: Vec<String>, out: &mut Vec<(Option<String>, Vec<String>)>) {
    let with = |s: &syn::Ident| {
        let mut p = prefix.clone();
        p.push(s.to_string());
        p
    };
    match tree {
        syn::UseTree::Path(p) => flatten(&p.tree, with(&p.ident), out),
        syn::UseTree::Name(n) if n.ident == "self" => {
            out.push((prefix.last().cloned(), prefix.clone()))
        }
        syn::UseTree::Name(n) => out.push((Some(n.ident.to_string()), with(&n.ident))),
        syn::UseTree::Rename(r) if r.ident == "self" => {
            out.push((Some(r.rename.to_string()), prefix.clone()))
        }
        syn::UseTree::Rename(r) => out.push((Some(r.rename.to_string()), with(&r.ident))),
        syn::UseTree::Glob(_) => out.push((None, prefix.clone())),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                flatten(t, prefix.clone(), out);
            }
        }
    }
}

struct Resolver<'a> {
    modules: &'a BTreeSet<Module>,
    mentions: &'a BTreeMap<Module, Mentions>,
}

impl Resolver<'_> {
    /// The module a path mentioned in `from` leads into, if it stays inside the crate.
    fn resolve(&self, from: &Module, path: &[String], depth: usize) -> Option<Module> {
        let (mut abs, rest) = match path.first().map(String::as_str) {
            Some("crate") => (Vec::new(), &path[1..]),
            Some("self") => (from.clone(), &path[1..]),
            Some("super") => {
                let mut m = from.clone();
                let mut i = 0;
                while path.get(i).map(String::as_str) == Some("super") {
                    m.pop()?;
                    i += 1;
                }
                (m, &path[i..])
            }
            _ => return None,
        };
        let mut i = 0;
        while let Some(seg) = rest.get(i) {
            let mut next = abs.clone();
            next.push(seg.clone());
            if self.modules.contains(&next) {
                abs = next;
                i += 1;
                continue;
            }
            // An item the module brought in with `use`: follow it (bounded).
            if depth < 8 {
                if let Some(target) = self.mentions.get(&abs).and_then(|m| m.uses.get(seg)) {
                    if let Some(t) = self.resolve(&abs, target, depth + 1) {
                        return Some(t);
                    }
                    // `use child::Item` written relative to the module.
                    let mut rel = vec!["self".to_owned()];
                    rel.extend(target.iter().cloned());
                    return self.resolve(&abs, &rel, depth + 1).or(Some(abs));
                }
            }
            break;
        }
        Some(abs)
    }
}

/// Parent → (importing child → imported children), at every level of the module tree.
type SiblingGraph = BTreeMap<Module, BTreeMap<String, BTreeSet<String>>>;

fn sibling_graph(krate: &Crate) -> SiblingGraph {
    let modules: BTreeSet<Module> = krate.files.keys().cloned().collect();
    let mentions: BTreeMap<Module, Mentions> = krate
        .files
        .iter()
        .map(|(m, f)| {
            let mut v = Mentions::default();
            v.visit_file(&f.ast);
            (m.clone(), v)
        })
        .collect();
    let resolver = Resolver {
        modules: &modules,
        mentions: &mentions,
    };
    let mut edges = SiblingGraph::new();
    for (from, m) in &mentions {
        for path in &m.paths {
            let Some(to) = resolver.resolve(from, path, 0) else {
                continue;
            };
            let k = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
            if k == from.len() || k == to.len() {
                continue; // ancestor and descendant
            }
            edges
                .entry(from[..k].to_vec())
                .or_default()
                .entry(from[k].clone())
                .or_default()
                .insert(to[k].clone());
        }
    }
    edges
}

pub(crate) fn edges(krate: &Crate) -> Vec<Edge> {
    let mut found = Vec::new();
    for (parent, graph) in sibling_graph(krate) {
        for (from, tos) in graph {
            found.extend(tos.into_iter().map(|to| Edge {
                parent: parent.clone(),
                from: from.clone(),
                to,
            }));
        }
    }
    found
}

pub(crate) fn cycles(krate: &Crate) -> Vec<Cycle> {
    let mut found = Vec::new();
    for (parent, graph) in sibling_graph(krate) {
        found.extend(strongly_connected(&graph).into_iter().map(|members| {
            let edges = members
                .iter()
                .flat_map(|a| {
                    graph[a]
                        .iter()
                        .filter(|b| members.contains(*b))
                        .map(move |b| (a.clone(), b.clone()))
                })
                .collect();
            Cycle {
                parent: parent.clone(),
                members: members.into_iter().collect(),
                edges,
            }
        }));
    }
    found
}

/// Groups of two or more nodes that reach each other.
fn strongly_connected(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    let reach = |start: &String| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start.clone()];
        while let Some(n) = stack.pop() {
            for next in graph.get(&n).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&String, BTreeSet<String>> =
        graph.keys().map(|k| (k, reach(k))).collect();
    let mut groups: Vec<BTreeSet<String>> = Vec::new();
    for (node, r) in &reaches {
        if !r.contains(*node) || groups.iter().any(|g| g.contains(*node)) {
            continue;
        }
        let group: BTreeSet<String> = r
            .iter()
            .filter(|o| reaches.get(o).is_some_and(|back| back.contains(*node)))
            .cloned()
            .collect();
        groups.push(group);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;
    use std::path::PathBuf;

    fn krate(files: &[(&str, &str)]) -> Crate {
        let files = files
            .iter()
            .map(|(m, text)| {
                let module: Module = if m.is_empty() {
                    Vec::new()
                } else {
                    m.split("::").map(str::to_owned).collect()
                };
                let file = SourceFile {
                    path: PathBuf::from(format!("{m}.rs")),
                    lines: text.lines().count(),
                    ast: syn::parse_file(text).expect("parses"),
                };
                (module, file)
            })
            .collect();
        Crate { files }
    }

    #[test]
    fn a_one_way_crate_has_no_cycle() {
        let k = krate(&[
            ("", "mod a; mod b;"),
            ("a", "use crate::b::X; fn f() { super::b::g(); }"),
            ("b", "pub struct X; pub fn g() {}"),
        ]);
        assert!(k.cycles().is_empty());
    }

    #[test]
    fn a_cycle_through_paths_and_uses_is_found() {
        let k = krate(&[
            ("", "mod a; mod b; mod c;"),
            ("a", "use crate::b::X;"),
            ("b", "fn f() { super::c::g(); }"),
            ("c", "fn g() -> crate::a::Y { todo!() }"),
        ]);
        let c = k.cycles();
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].members, vec!["a", "b", "c"]);
    }

    #[test]
    fn re_exports_of_the_parent_are_followed() {
        let k = krate(&[
            ("", "mod relay;"),
            ("relay", "mod a; mod b; pub use b::Gate;"),
            ("relay::a", "use super::Gate;"),
            ("relay::b", "use super::a::Pump;"),
        ]);
        let c = k.cycles();
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].parent, vec!["relay"]);
    }

    #[test]
    fn children_using_their_parent_and_test_code_make_no_edge() {
        let k = krate(&[
            ("", "mod a; mod b; pub struct Root;"),
            ("a", "use crate::Root; use super::b;"),
            (
                "b",
                "#[cfg(test)] mod tests { use crate::a::X; } #[cfg(test)] fn t() { crate::a::f(); }",
            ),
        ]);
        assert!(k.cycles().is_empty(), "{:?}", k.cycles());
    }

    #[test]
    fn paths_inside_macro_arguments_are_edges() {
        let k = krate(&[
            ("", "mod a; mod b;"),
            ("a", "fn f(x: u8) -> bool { matches!(x, crate::b::X) }"),
            ("b", "const X: u8 = 0; fn g() { assert!(super::a::f(0)); }"),
        ]);
        let c = k.cycles();
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].members, vec!["a", "b"]);
    }

    #[test]
    fn edges_list_every_sibling_import_once() {
        let k = krate(&[
            ("", "mod a; mod b; mod c;"),
            (
                "a",
                "use crate::b::X; fn f() { crate::b::g(); super::c::h(); }",
            ),
            ("b", "mod inner; pub struct X; pub fn g() {}"),
            ("b::inner", "use crate::c::h;"),
            ("c", "pub fn h() {}"),
        ]);
        let shown: Vec<String> = k.edges().iter().map(ToString::to_string).collect();
        assert_eq!(shown, vec!["crate: a→b", "crate: a→c", "crate: b→c"]);
        assert!(k.cycles().is_empty());
    }

    #[test]
    fn long_functions_and_files_are_measured() {
        let body = "    let x = 1;\n".repeat(10);
        let text = format!("fn short() {{}}\nfn long() {{\n{body}}}\n#[cfg(test)]\nmod tests {{ fn t() {{\n{body}}} }}\n");
        let k = krate(&[("a", &text)]);
        let long = k.long_functions(5);
        assert_eq!(long.len(), 1);
        assert_eq!(long[0].name, "long");
        assert_eq!(long[0].lines, 12);
        assert_eq!(k.long_files(20).len(), 1);
        assert!(k.long_files(100).is_empty());
    }
}
