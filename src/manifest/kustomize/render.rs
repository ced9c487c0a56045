//! The walk: roots to workloads. A directory with a kustomization is built as kustomize builds
//! it (`api/internal/target/kusttarget.go`): its `resources:` (files, or directories with
//! their own kustomization, built first), then its `components:`, then its transformers in
//! kustomize's order (`configureBuiltinTransformers`): `patchesStrategicMerge`, `patches`,
//! `namespace`, `namePrefix`, `nameSuffix`, labels, annotations, `patchesJson6902`, `images`.
//! So an outer kustomization acts on what the inner one rendered: its namespace wins, its
//! prefix goes in front, its `images:` see the inner one's output.
//!
//! A directory without a kustomization is applied as Argo CD and Flux apply one: its YAML
//! files as they are; its subdirectories likewise, each one with a kustomization built on its
//! own (Flux's generated kustomization does the same).

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use super::files::{is_remote, join, kustomization_files, normalize, Files};
use super::kustomization::Kustomization;
use super::patches::Patcher;
use super::resource::{text, Id, Resource};
use super::workload::{Note, Rendering, Workload};
use crate::manifest::yaml::{parse_documents, Node};

/// Renders every workload under `roots` (directories, repo-relative, `""` for the root).
pub fn render(files: &dyn Files, roots: &[String]) -> Vec<Workload> {
    render_with_notes(files, roots).workloads
}

/// [`render`], with notes on what was left out: remote resources, missing files, files that
/// are not YAML, resource cycles, patches that match nothing.
pub fn render_with_notes(files: &dyn Files, roots: &[String]) -> Rendering {
    let mut r = Renderer {
        files,
        loaded: HashMap::new(),
        out: Rendering::default(),
    };
    for root in roots {
        match normalize(root) {
            // A root may name one manifest file.
            Some(file) if files.read(&file).is_some() => {
                let rs = r.load(&file);
                r.emit(rs.iter().cloned(), &file);
            }
            Some(dir) if files.list(&dir).is_empty() => r.note(root, "no such directory"),
            Some(dir) => r.directory(&dir),
            None => r.note(root, "outside the repository"),
        }
    }
    // Overlapping roots render some workloads twice.
    let mut seen = HashSet::new();
    r.out.workloads.retain(|w| seen.insert(w.clone()));
    r.out
}

struct Renderer<'f> {
    files: &'f dyn Files,
    /// Each file's workloads as written, read once.
    loaded: HashMap<String, Rc<Vec<Resource>>>,
    out: Rendering,
}

/// kustomize leaves out of its output what is marked as local configuration.
const LOCAL_CONFIG: &str = "config.kubernetes.io/local-config";

impl Renderer<'_> {
    /// A root or a directory under a plain root.
    fn directory(&mut self, dir: &str) {
        if !kustomization_files(self.files, dir).is_empty() {
            let rs = self.build(dir, &mut Vec::new(), Vec::new());
            let rendered = rs
                .into_iter()
                .filter(|r| r.annotations.get(LOCAL_CONFIG).map(String::as_str) != Some("true"));
            self.emit(rendered, dir);
            return;
        }
        let mut entries = self.files.list(dir);
        entries.sort();
        for name in entries {
            let Some(path) = join(dir, &name) else {
                continue;
            };
            // Only YAML files are read: a whole repository's other blobs stay unread.
            let yaml = name.ends_with(".yaml") || name.ends_with(".yml");
            if yaml && self.files.read(&path).is_some() {
                let rs = self.load(&path);
                self.emit(rs.iter().cloned(), dir);
            } else if !self.files.list(&path).is_empty() {
                self.directory(&path);
            }
        }
    }

    fn emit(&mut self, rs: impl Iterator<Item = Resource>, root: &str) {
        self.out.workloads.extend(rs.map(|r| r.into_workload(root)));
    }

    /// Builds the kustomization in `dir` on top of `acc`: empty for a kustomization, the
    /// including kustomization's resources for a component (whose transformers act on them).
    /// `stack` holds the directories being built, to stop at a cycle.
    fn build(&mut self, dir: &str, stack: &mut Vec<String>, acc: Vec<Resource>) -> Vec<Resource> {
        let found = kustomization_files(self.files, dir);
        let Some(path) = found.first() else {
            self.note(dir, "a directory without a kustomization file");
            return acc;
        };
        if found.len() > 1 {
            self.note(
                dir,
                &format!("several kustomization files (kustomize refuses); read {path}"),
            );
        }
        if stack.iter().any(|d| d == dir) {
            let cycle = format!("resource cycle: {} -> {dir}", stack.join(" -> "));
            self.note(path, &cycle);
            return acc;
        }
        let src = self.files.read(path).unwrap_or_default();
        let k = match Kustomization::parse(&src) {
            Ok(k) => k,
            Err(e) => {
                self.note(path, &e);
                return acc;
            }
        };
        stack.push(dir.to_string());
        let mut rs = acc;
        for entry in &k.resources {
            let more = self.resource(dir, path, entry, stack);
            rs.extend(more);
        }
        for entry in &k.components {
            match join(dir, entry).filter(|_| !is_remote(entry)) {
                Some(component) => rs = self.build(&component, stack, rs),
                None => self.note(path, &format!("component {entry}: not in the repository")),
            }
        }
        stack.pop();
        for r in &mut rs {
            r.closure.insert(path.clone());
        }
        self.transform(&k, dir, path, &mut rs);
        rs
    }

    /// One `resources:` entry: a file, or a directory with a kustomization.
    fn resource(
        &mut self,
        dir: &str,
        kustomization: &str,
        entry: &str,
        stack: &mut Vec<String>,
    ) -> Vec<Resource> {
        if is_remote(entry) {
            self.note(
                kustomization,
                &format!("remote resource {entry}: not in the repository, not rendered"),
            );
            return Vec::new();
        }
        let Some(path) = join(dir, entry) else {
            self.note(
                kustomization,
                &format!("resource {entry}: outside the repository"),
            );
            return Vec::new();
        };
        if self.files.read(&path).is_some() {
            return self.load(&path).as_ref().clone();
        }
        if !kustomization_files(self.files, &path).is_empty() {
            return self.build(&path, stack, Vec::new());
        }
        let why = if self.files.list(&path).is_empty() {
            "no such file or directory"
        } else {
            "a directory without a kustomization file"
        };
        self.note(kustomization, &format!("resource {entry}: {why}"));
        Vec::new()
    }

    fn transform(&mut self, k: &Kustomization, dir: &str, path: &str, rs: &mut Vec<Resource>) {
        let patcher = Patcher {
            files: self.files,
            dir,
            kustomization: path,
        };
        let notes = &mut self.out.notes;
        patcher.strategic_merge(&k.strategic_merge, rs, notes);
        patcher.patches(&k.patches, rs, notes);
        for r in rs.iter_mut() {
            if let Some(namespace) = &k.namespace {
                let name = r.current().name.clone();
                r.set_id(Id {
                    name,
                    namespace: Some(namespace.clone()),
                });
            }
            for (prefix, suffix) in [(k.name_prefix.as_str(), ""), ("", k.name_suffix.as_str())] {
                let id = r.current();
                let renamed = Id {
                    name: format!("{prefix}{}{suffix}", id.name),
                    namespace: id.namespace.clone(),
                };
                r.set_id(renamed);
            }
            r.labels.extend(k.labels.iter().cloned());
            r.annotations.extend(k.annotations.iter().cloned());
        }
        patcher.json6902(&k.json6902, rs, notes);
        for image in &k.images {
            for r in rs.iter_mut() {
                for slot in r.containers.iter_mut().chain(r.init_containers.iter_mut()) {
                    if let Some(new) = slot.image.as_deref().and_then(|i| image.apply(i)) {
                        slot.image = Some(new);
                    }
                }
            }
        }
    }

    /// The workloads written in a file, read and parsed once per rendering.
    fn load(&mut self, path: &str) -> Rc<Vec<Resource>> {
        if let Some(rs) = self.loaded.get(path) {
            return rs.clone();
        }
        let src = self.files.read(path).unwrap_or_default();
        let rs = match parse_documents(&src) {
            Ok(docs) => {
                let mut rs = Vec::new();
                for (i, doc) in docs.iter().enumerate() {
                    for object in objects(doc) {
                        rs.extend(Resource::from_document(object, path, i));
                    }
                }
                rs
            }
            Err(e) => {
                self.note(path, &format!("not valid YAML: {}", e.0));
                Vec::new()
            }
        };
        let rs = Rc::new(rs);
        self.loaded.insert(path.to_string(), rs.clone());
        rs
    }

    fn note(&mut self, path: &str, message: &str) {
        self.out.notes.push(Note {
            path: path.to_string(),
            message: message.to_string(),
        });
    }
}

/// The objects a document holds: itself, or the items of a `List` (`v1/List`,
/// `DeploymentList`...), which kustomize and kubectl unpack.
fn objects(doc: &Node) -> Vec<&Node> {
    let is_list = doc
        .get("kind")
        .and_then(text)
        .is_some_and(|k| k.ends_with("List"));
    match doc.get("items") {
        Some(Node::Seq(items)) if is_list => items.iter().collect(),
        _ => vec![doc],
    }
}
