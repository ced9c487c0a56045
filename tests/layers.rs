//! The shape of the code: layers, each importing only from the layers below it, and no import
//! loops between files. `ARCHITECTURE.md` says which layer each module is in; this test keeps
//! the code to it as it grows.
//!
//! An import is any path a file names: `use` trees, and `crate::…`, `super::…`, `self::…` or a
//! child module's `name::…` written in code (the binary's `revertbot::…` is the library's
//! `crate::…`). Each is resolved to the file of the deepest module it names. Comments and
//! `#[cfg(test)] mod tests` blocks are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Layers, bottom first. A module is in the layer of its top-level name; the binary (`main`
/// and `cli/`) is the front.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "pure",
        &[
            "error",
            "clock",
            "image",
            "manifest",
            "matcher",
            "alert",
            "config",
            "subject",
            "remote_url",
        ],
    ),
    ("git", &["gitstore"]),
    (
        "engine",
        &[
            "https", "registry", "locate", "revert", "forge", "journal", "demo",
        ],
    ),
    ("pipeline", &["pipeline"]),
    ("fronts", &["main", "cli", "service"]),
];

/// A source file as the checker sees it: which crate it is in and its module path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Module {
    /// `true` for the binary (`src/main.rs`, `src/cli/`).
    binary: bool,
    path: Vec<String>,
}

impl Module {
    fn name(&self) -> String {
        let crate_name = if self.binary { "bin" } else { "lib" };
        if self.path.is_empty() {
            crate_name.to_string()
        } else {
            format!("{crate_name}::{}", self.path.join("::"))
        }
    }

    fn layer(&self) -> Option<usize> {
        let top = if self.binary {
            "main"
        } else {
            self.path.first()?.as_str()
        };
        LAYERS.iter().position(|(_, names)| names.contains(&top))
    }
}

fn module_of(relative: &str) -> Module {
    let stem = relative.trim_end_matches(".rs");
    let stem = stem.strip_suffix("/mod").unwrap_or(stem);
    let binary = stem == "main" || stem == "cli" || stem.starts_with("cli/");
    let path = match stem {
        "lib" | "main" => Vec::new(),
        _ => stem.split('/').map(str::to_string).collect(),
    };
    Module { binary, path }
}

/// The code of a file without comments and test modules.
fn code_of(source: &str) -> String {
    let source = match source.find("#[cfg(test)]\nmod tests") {
        Some(i) => &source[..i],
        None => source,
    };
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("/*") {
            rest = after.find("*/").map_or("", |end| &after[end + 2..]);
        } else if rest.starts_with("//") {
            rest = rest.find('\n').map_or("", |end| &rest[end..]);
        } else if rest.starts_with('"') {
            // Skip string literals: their text is not code.
            let bytes = rest.as_bytes();
            let mut i = 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            out.push_str("\"\"");
            rest = rest.get(i + 1..).unwrap_or("");
        } else if let Some(after) = rest.strip_prefix("r#\"") {
            rest = after.find("\"#").map_or("", |end| &after[end + 2..]);
            out.push_str("\"\"");
        } else {
            let c = rest.chars().next().expect("not empty");
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Expands a `use` tree (`a::{b, c::{d, e}}`) into its paths.
fn expand(tree: &str) -> Vec<Vec<String>> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let mut out = Vec::new();
    expand_into(&tree, &mut Vec::new(), &mut out);
    out
}

fn expand_into(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let (head, group) = match tree.find('{') {
        Some(open) if tree.ends_with('}') => (&tree[..open], Some(&tree[open + 1..tree.len() - 1])),
        _ => (tree, None),
    };
    let len = prefix.len();
    for seg in head.split("::").filter(|s| !s.is_empty()) {
        let seg = seg.split(" as ").next().unwrap_or(seg);
        let seg: String = seg.chars().take_while(|c| is_ident(*c)).collect();
        if !seg.is_empty() {
            prefix.push(seg);
        }
    }
    match group {
        // `a::{self, b}`: `self` is `a`.
        None if prefix.last().is_some_and(|s| s == "self") && prefix.len() > 1 => {
            out.push(prefix[..prefix.len() - 1].to_vec())
        }
        None => out.push(prefix.clone()),
        Some(group) => {
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand_into(&group[start..i], prefix, out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            if start < group.len() {
                expand_into(&group[start..], prefix, out);
            }
        }
    }
    prefix.truncate(len);
}

/// Every path a file's code names that may lead to another module.
fn paths_in(code: &str, children: &BTreeSet<String>) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    // `use` trees.
    let mut rest = code;
    while let Some(i) = rest.find("use ") {
        let before_ok = rest[..i].chars().next_back().is_none_or(|c| !is_ident(c));
        let after = &rest[i + 4..];
        let Some(end) = after.find(';') else { break };
        if before_ok {
            out.extend(expand(&after[..end]));
        }
        rest = &after[end..];
    }
    // Paths written in code.
    let bytes = code.as_bytes();
    for (i, _) in code.match_indices("::") {
        let start = code[..i]
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_ident(*c))
            .last()
            .map_or(i, |(j, _)| j);
        if start == i
            || (start > 0 && (bytes[start - 1] == b':' || is_ident(bytes[start - 1] as char)))
        {
            continue;
        }
        let first = &code[start..i];
        if !matches!(first, "crate" | "super" | "self" | "revertbot") && !children.contains(first) {
            continue;
        }
        let mut path = vec![first.to_string()];
        let mut tail = &code[i..];
        while let Some(after) = tail.strip_prefix("::") {
            let seg: String = after.chars().take_while(|c| is_ident(*c)).collect();
            if seg.is_empty() {
                break;
            }
            tail = &after[seg.len()..];
            path.push(seg);
        }
        // `super::{a, b}` is a `use` tree, read above.
        if path.len() > 1 {
            out.push(path);
        }
    }
    out
}

/// The module file a path names, from the file `from`.
fn resolve(from: &Module, path: &[String], modules: &BTreeSet<Module>) -> Option<Module> {
    let (mut base, binary, rest) = match path.first()?.as_str() {
        "crate" => (Vec::new(), from.binary, &path[1..]),
        "revertbot" if from.binary => (Vec::new(), false, &path[1..]),
        "self" => (from.path.clone(), from.binary, &path[1..]),
        "super" => {
            let mut base = from.path.clone();
            let mut rest = path;
            while rest.first().is_some_and(|s| s == "super") {
                base.pop();
                rest = &rest[1..];
            }
            (base, from.binary, rest)
        }
        // A child module of this one, named directly.
        _ => (from.path.clone(), from.binary, path),
    };
    let mut found = Some(Module {
        binary,
        path: base.clone(),
    })
    .filter(|m| modules.contains(m));
    for seg in rest {
        base.push(seg.clone());
        let candidate = Module {
            binary,
            path: base.clone(),
        };
        if modules.contains(&candidate) {
            found = Some(candidate);
        } else {
            break;
        }
    }
    found
}

/// What is wrong with the shape of a source tree given as (path under `src/`, text).
fn problems(files: &[(String, String)]) -> Vec<String> {
    let modules: BTreeSet<Module> = files.iter().map(|(p, _)| module_of(p)).collect();
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    let mut out = Vec::new();
    for (path, text) in files {
        let from = module_of(path);
        if from.path.is_empty() {
            // lib.rs and main.rs only declare modules.
            continue;
        }
        let children: BTreeSet<String> = modules
            .iter()
            .filter(|m| {
                m.binary == from.binary
                    && m.path.len() == from.path.len() + 1
                    && m.path.starts_with(&from.path)
            })
            .map(|m| m.path.last().expect("a child has a name").clone())
            .collect();
        for p in paths_in(&code_of(text), &children) {
            let Some(to) = resolve(&from, &p, &modules) else {
                continue;
            };
            if to == from {
                continue;
            }
            if let (Some(a), Some(b)) = (from.layer(), to.layer()) {
                if b > a {
                    out.push(format!(
                        "{} ({}) imports {} ({}), a layer above it: `{}`",
                        from.name(),
                        LAYERS[a].0,
                        to.name(),
                        LAYERS[b].0,
                        p.join("::")
                    ));
                }
            }
            edges.entry(from.clone()).or_default().insert(to);
        }
        if from.layer().is_none() {
            out.push(format!(
                "{} is in no layer: add its top-level name to LAYERS and to ARCHITECTURE.md",
                from.name()
            ));
        }
    }
    for cycle in cycles(&edges) {
        let names: Vec<String> = cycle.iter().map(Module::name).collect();
        out.push(format!("import loop: {}", names.join(" -> ")));
    }
    out.sort();
    out.dedup();
    out
}

/// One loop through each group of files that import each other (Tarjan's strongly connected
/// components; a group of more than one file holds a loop).
fn cycles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct Tarjan<'a> {
        edges: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        on_stack: BTreeSet<&'a Module>,
        groups: Vec<Vec<Module>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a Module) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.edges.get(v).into_iter().flatten() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut group = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    group.push(w.clone());
                    if w == v {
                        break;
                    }
                }
                if group.len() > 1 {
                    group.reverse();
                    self.groups.push(group);
                }
            }
        }
    }
    let mut t = Tarjan {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        groups: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v) {
            t.visit(v);
        }
    }
    t.groups
}

fn read_tree(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            read_tree(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.push((relative, std::fs::read_to_string(&path).unwrap()));
        }
    }
}

#[test]
fn no_module_imports_from_a_layer_above_and_no_import_loops() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    read_tree(&src, &src, &mut files);
    assert!(
        files.len() > 20,
        "read the source tree: {} files",
        files.len()
    );
    let problems = problems(&files);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn tree(files: &[(&str, &str)]) -> Vec<(String, String)> {
    files
        .iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect()
}

#[test]
fn the_check_finds_upward_imports_in_every_spelling() {
    let files = tree(&[
        ("lib.rs", "pub mod image; pub mod pipeline; pub mod locate;"),
        ("pipeline.rs", "pub struct Engine;"),
        ("locate/mod.rs", "mod walk;"),
        ("locate/walk.rs", "fn f() { let e = crate::pipeline::Engine; }"),
        (
            "image.rs",
            "// use crate::pipeline::Engine; in a comment is not an import\nuse crate::{locate::{self, walk}, pipeline::Engine};\nconst S: &str = \"crate::pipeline::Engine\";",
        ),
        ("main.rs", "mod cli; use revertbot::pipeline::Engine;"),
        ("cli/mod.rs", "use revertbot::image;"),
    ]);
    let found = problems(&files);
    assert_eq!(
        found,
        [
            "lib::image (pure) imports lib::locate (engine), a layer above it: `crate::locate`",
            "lib::image (pure) imports lib::locate::walk (engine), a layer above it: `crate::locate::walk`",
            "lib::image (pure) imports lib::pipeline (pipeline), a layer above it: `crate::pipeline::Engine`",
            "lib::locate::walk (engine) imports lib::pipeline (pipeline), a layer above it: `crate::pipeline::Engine`",
        ],
    );
}

#[test]
fn the_check_finds_import_loops_through_super_and_child_modules() {
    let files = tree(&[
        ("lib.rs", "pub mod revert;"),
        (
            "revert/mod.rs",
            "mod branch; pub struct Report; pub use branch::push;",
        ),
        ("revert/branch.rs", "use super::Report; pub fn push() {}"),
        ("revert/plan.rs", "use super::branch::push;"),
    ]);
    assert_eq!(
        problems(&files),
        ["import loop: lib::revert -> lib::revert::branch"]
    );
    // Importing the sibling that owns the item, not the parent that re-exports it, is no loop.
    let files = tree(&[
        ("lib.rs", "pub mod revert;"),
        (
            "revert/mod.rs",
            "mod branch; mod report; pub use branch::push;",
        ),
        ("revert/report.rs", "pub struct Report;"),
        (
            "revert/branch.rs",
            "use super::report::Report; pub fn push() {}",
        ),
    ]);
    assert_eq!(problems(&files), Vec::<String>::new());
}

#[test]
fn every_module_is_in_a_layer() {
    let files = tree(&[("lib.rs", "pub mod telemetry;"), ("telemetry.rs", "")]);
    assert_eq!(
        problems(&files),
        ["lib::telemetry is in no layer: add its top-level name to LAYERS and to ARCHITECTURE.md"]
    );
}
