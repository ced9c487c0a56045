//! A kustomization's patches applied to the resources it holds, as kustomize's
//! `PatchStrategicMergeTransformer`, `PatchTransformer` and `PatchJson6902Transformer` do:
//! a strategic-merge patch without a `target:` applies to the one resource it names; with a
//! target, to every resource the target selects; a JSON 6902 patch needs a target. A patch
//! file that applied joins the resource's closure.
//!
//! Where kustomize would fail the build (no resource or several for a patch, a JSON patch
//! without a target, a patch that is not YAML), the patch is skipped with a note.

use super::files::{join, Files};
use super::json6902;
use super::kustomization::{PatchEntry, PatchText};
use super::resource::{text, Resource};
use super::selector::Selector;
use super::strategic::{self, Outcome};
use super::workload::{Note, WorkloadKind};
use crate::manifest::yaml::{parse_documents, Node};

/// Where patches are read from: the kustomization's directory and file.
pub struct Patcher<'a> {
    pub files: &'a dyn Files,
    pub dir: &'a str,
    pub kustomization: &'a str,
}

/// A patch read and parsed, with the file it came from.
struct Loaded {
    docs: Vec<Node>,
    file: Option<String>,
    /// For notes: the patch file, or the kustomization holding an inline patch.
    at: String,
}

enum Form {
    Strategic,
    Json,
}

impl Patcher<'_> {
    /// `patchesStrategicMerge:`.
    pub fn strategic_merge(
        &self,
        texts: &[PatchText],
        rs: &mut Vec<Resource>,
        notes: &mut Vec<Note>,
    ) {
        for t in texts {
            let Some(patch) = self.load(t, notes) else {
                continue;
            };
            match form(&patch.docs) {
                Some(Form::Strategic) => self.by_name(&patch, rs, notes),
                _ => note(notes, &patch.at, "not a strategic-merge patch"),
            }
        }
    }

    /// `patches:`.
    pub fn patches(&self, entries: &[PatchEntry], rs: &mut Vec<Resource>, notes: &mut Vec<Note>) {
        for e in entries {
            let Some(patch) = self.load(&e.text, notes) else {
                continue;
            };
            match (form(&patch.docs), &e.target) {
                (Some(Form::Strategic), None) => self.by_name(&patch, rs, notes),
                (Some(Form::Strategic), Some(target)) => {
                    if let [doc] = patch.docs.as_slice() {
                        self.on_target(target, &patch, rs, notes, |r| Ok(strategic::apply(doc, r)));
                    } else {
                        note(
                            notes,
                            &patch.at,
                            "several strategic-merge patches with one target",
                        );
                    }
                }
                (Some(Form::Json), target) => self.json(target.as_ref(), &patch, rs, notes),
                (None, _) => note(
                    notes,
                    &patch.at,
                    "neither a strategic-merge nor a JSON 6902 patch",
                ),
            }
        }
    }

    /// `patchesJson6902:`.
    pub fn json6902(&self, entries: &[PatchEntry], rs: &mut Vec<Resource>, notes: &mut Vec<Note>) {
        for e in entries {
            let Some(patch) = self.load(&e.text, notes) else {
                continue;
            };
            match form(&patch.docs) {
                Some(Form::Json) => self.json(e.target.as_ref(), &patch, rs, notes),
                _ => note(notes, &patch.at, "not a JSON 6902 patch"),
            }
        }
    }

    fn load(&self, t: &PatchText, notes: &mut Vec<Note>) -> Option<Loaded> {
        let (src, file) = match t {
            PatchText::Inline(src) => (src.as_str().into(), None),
            PatchText::File(rel) => {
                let Some(path) = join(self.dir, rel) else {
                    note(
                        notes,
                        self.kustomization,
                        &format!("patch {rel}: outside the repository"),
                    );
                    return None;
                };
                let Some(src) = self.files.read(&path) else {
                    note(
                        notes,
                        self.kustomization,
                        &format!("patch {path}: no such file"),
                    );
                    return None;
                };
                (src, Some(path))
            }
        };
        let at = file
            .clone()
            .unwrap_or_else(|| self.kustomization.to_string());
        match parse_documents(&src) {
            Ok(docs) => Some(Loaded { docs, file, at }),
            Err(e) => {
                note(notes, &at, &format!("patch is not valid YAML: {}", e.0));
                None
            }
        }
    }

    /// Strategic-merge patches without a target: each document applies to the one resource
    /// it names.
    fn by_name(&self, patch: &Loaded, rs: &mut Vec<Resource>, notes: &mut Vec<Note>) {
        for doc in &patch.docs {
            let matching: Vec<usize> = (0..rs.len())
                .filter(|&i| strategic::names(doc, &rs[i]))
                .collect();
            let i = match matching.as_slice() {
                [i] => *i,
                [] => {
                    // Patches for objects that are not workloads have nothing to apply to here.
                    let kind = |k: &str| doc.get(k).and_then(text).unwrap_or("");
                    if WorkloadKind::from_type(kind("apiVersion"), kind("kind")).is_some() {
                        note(
                            notes,
                            &patch.at,
                            &format!(
                                "no resource matches the patch for {} {}",
                                kind("kind"),
                                patched_name(doc)
                            ),
                        );
                    }
                    continue;
                }
                _ => {
                    note(
                        notes,
                        &patch.at,
                        &format!(
                            "several resources match the patch for {}",
                            patched_name(doc)
                        ),
                    );
                    continue;
                }
            };
            self.record(patch, &mut rs[i]);
            if strategic::apply(doc, &mut rs[i]) == Outcome::Deleted {
                rs.remove(i);
            }
        }
    }

    fn json(
        &self,
        target: Option<&Selector>,
        patch: &Loaded,
        rs: &mut Vec<Resource>,
        notes: &mut Vec<Note>,
    ) {
        let Some(target) = target else {
            note(notes, &patch.at, "a JSON 6902 patch needs a target");
            return;
        };
        let ops = &patch.docs[0];
        self.on_target(target, patch, rs, notes, |r| {
            json6902::apply(ops, r).map(|()| Outcome::Patched)
        });
    }

    fn on_target(
        &self,
        target: &Selector,
        patch: &Loaded,
        rs: &mut Vec<Resource>,
        notes: &mut Vec<Note>,
        apply: impl Fn(&mut Resource) -> Result<Outcome, String>,
    ) {
        let mut deleted = Vec::new();
        for (i, r) in rs.iter_mut().enumerate().filter(|(_, r)| target.matches(r)) {
            match apply(r) {
                Ok(outcome) => {
                    self.record(patch, r);
                    if outcome == Outcome::Deleted {
                        deleted.push(i);
                    }
                }
                Err(e) => note(
                    notes,
                    &patch.at,
                    &format!("{} {}: {e}", r.kind, r.current().name),
                ),
            }
        }
        for i in deleted.into_iter().rev() {
            rs.remove(i);
        }
    }

    fn record(&self, patch: &Loaded, r: &mut Resource) {
        if let Some(file) = &patch.file {
            r.closure.insert(file.clone());
        }
    }
}

/// A JSON 6902 patch is one list of operations; a strategic-merge patch is one or more
/// objects.
fn form(docs: &[Node]) -> Option<Form> {
    match docs {
        [Node::Seq(_)] => Some(Form::Json),
        [] => None,
        docs if docs.iter().all(|d| matches!(d, Node::Map(_))) => Some(Form::Strategic),
        _ => None,
    }
}

fn patched_name(doc: &Node) -> &str {
    doc.get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(text)
        .unwrap_or("(unnamed)")
}

fn note(notes: &mut Vec<Note>, path: &str, message: &str) {
    notes.push(Note {
        path: path.to_string(),
        message: message.to_string(),
    });
}
