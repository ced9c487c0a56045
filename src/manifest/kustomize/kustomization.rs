//! The fields of a kustomization file that decide which workloads are rendered and with which
//! names, namespaces and images (`api/types/kustomization.go`). Deprecated spellings are
//! folded in as kustomize's `FixKustomization` does: `bases:` after `resources:`,
//! `imageTags:` after `images:`.

use super::images::ImageOverride;
use super::resource::{string_list, string_map, text};
use super::selector::Selector;
use crate::manifest::yaml::{parse_documents, Node};

/// Where a patch's text is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchText {
    /// A file, relative to the kustomization's directory.
    File(String),
    Inline(String),
}

#[derive(Debug, Clone)]
pub struct PatchEntry {
    pub text: PatchText,
    pub target: Option<Selector>,
}

#[derive(Debug, Clone, Default)]
pub struct Kustomization {
    /// `resources:` then `bases:`.
    pub resources: Vec<String>,
    pub components: Vec<String>,
    pub namespace: Option<String>,
    pub name_prefix: String,
    pub name_suffix: String,
    /// `commonLabels:` and every `labels[].pairs`.
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
    pub images: Vec<ImageOverride>,
    /// `patchesStrategicMerge:` (files or inline text).
    pub strategic_merge: Vec<PatchText>,
    /// `patches:` (strategic-merge or JSON 6902, told apart by their text).
    pub patches: Vec<PatchEntry>,
    /// `patchesJson6902:`.
    pub json6902: Vec<PatchEntry>,
}

impl Kustomization {
    /// Reads a kustomization file; `Err` with the reason when it is not YAML or not a mapping.
    pub fn parse(src: &str) -> Result<Kustomization, String> {
        let docs = parse_documents(src).map_err(|e| format!("not valid YAML: {}", e.0))?;
        let doc = match docs.as_slice() {
            [doc @ Node::Map(_)] => doc,
            [] => return Ok(Kustomization::default()),
            _ => return Err("not a kustomization: expected one YAML mapping".into()),
        };
        let mut k = Kustomization {
            resources: string_list(doc.get("resources")),
            components: string_list(doc.get("components")),
            namespace: doc
                .get("namespace")
                .and_then(text)
                .filter(|ns| !ns.is_empty())
                .map(str::to_string),
            name_prefix: doc.get("namePrefix").and_then(text).unwrap_or("").into(),
            name_suffix: doc.get("nameSuffix").and_then(text).unwrap_or("").into(),
            ..Kustomization::default()
        };
        k.resources.extend(string_list(doc.get("bases")));
        k.labels.extend(string_map(doc.get("commonLabels")));
        if let Some(Node::Seq(labels)) = doc.get("labels") {
            for l in labels {
                k.labels.extend(string_map(l.get("pairs")));
            }
        }
        k.annotations
            .extend(string_map(doc.get("commonAnnotations")));
        for key in ["images", "imageTags"] {
            if let Some(Node::Seq(entries)) = doc.get(key) {
                k.images.extend(entries.iter().map(|e| {
                    let field = |f: &str| e.get(f).and_then(text).unwrap_or("");
                    ImageOverride::new(
                        field("name"),
                        field("newName"),
                        field("newTag"),
                        field("digest"),
                    )
                }));
            }
        }
        if let Some(Node::Seq(entries)) = doc.get("patchesStrategicMerge") {
            k.strategic_merge = entries.iter().filter_map(text).map(patch_text).collect();
        }
        for (key, list) in [
            ("patches", &mut k.patches),
            ("patchesJson6902", &mut k.json6902),
        ] {
            if let Some(Node::Seq(entries)) = doc.get(key) {
                list.extend(entries.iter().filter_map(patch_entry));
            }
        }
        Ok(k)
    }
}

/// A `patchesStrategicMerge:` string: kustomize first tries it as patch text, then as a path.
fn patch_text(s: &str) -> PatchText {
    let inline =
        parse_documents(s).is_ok_and(|docs| docs.iter().any(|d| matches!(d, Node::Map(_))));
    if inline {
        PatchText::Inline(s.to_string())
    } else {
        PatchText::File(s.trim().to_string())
    }
}

/// A `patches:` or `patchesJson6902:` entry: `{path | patch, target}`; a bare string is a
/// patch file (the oldest kustomize spelling).
fn patch_entry(node: &Node) -> Option<PatchEntry> {
    if let Some(path) = text(node) {
        return Some(PatchEntry {
            text: PatchText::File(path.to_string()),
            target: None,
        });
    }
    let text = match (
        node.get("path").and_then(text),
        node.get("patch").and_then(text),
    ) {
        (Some(path), None) => PatchText::File(path.to_string()),
        (None, Some(patch)) => PatchText::Inline(patch.to_string()),
        // Neither, or both: kustomize refuses the entry.
        _ => return None,
    };
    Some(PatchEntry {
        text,
        target: node.get("target").map(Selector::from_node),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_field_and_folds_deprecated_ones_in() {
        let k = Kustomization::parse(
            "resources: [deploy.yaml, ../base]\nbases: [../old]\ncomponents: [../c]\n\
             namespace: prod\nnamePrefix: p-\nnameSuffix: -s\ncommonLabels: {a: b}\n\
             labels: [{pairs: {c: d}}]\n\
             images: [{name: app, newTag: '2'}]\nimageTags: [{name: old, newTag: '3'}]\n\
             patchesStrategicMerge:\n- patch.yaml\n- |\n  kind: Deployment\n  metadata: {name: web}\n\
             patches:\n- path: p.yaml\n  target: {kind: Deployment, name: web}\n- patch: '[]'\n- {}\n\
             patchesJson6902:\n- path: j.yaml\n  target: {kind: Deployment, name: web}\n",
        )
        .unwrap();
        assert_eq!(k.resources, ["deploy.yaml", "../base", "../old"]);
        assert_eq!(k.components, ["../c"]);
        assert_eq!(k.namespace.as_deref(), Some("prod"));
        assert_eq!(
            (k.name_prefix.as_str(), k.name_suffix.as_str()),
            ("p-", "-s")
        );
        assert_eq!(k.labels.len(), 2);
        let images: Vec<Option<String>> = k.images.iter().map(|i| i.apply("old:1")).collect();
        assert_eq!(images, [None, Some("old:3".to_string())]);
        assert_eq!(k.strategic_merge[0], PatchText::File("patch.yaml".into()));
        assert!(matches!(k.strategic_merge[1], PatchText::Inline(_)));
        assert_eq!(
            k.patches.len(),
            2,
            "the entry with neither path nor patch is dropped"
        );
        assert_eq!(k.patches[0].target.as_ref().unwrap().name, "web");
        assert_eq!(k.json6902[0].text, PatchText::File("j.yaml".into()));
    }

    #[test]
    fn an_empty_file_is_an_empty_kustomization_and_garbage_is_an_error() {
        assert!(Kustomization::parse("").unwrap().resources.is_empty());
        assert!(Kustomization::parse("resources: [a").is_err());
        assert!(Kustomization::parse("- a\n- b\n").is_err());
    }
}
