//! Strategic-merge patches, for the parts revertbot renders: containers and init containers
//! are lists merged by `name` (their `patchMergeKey`), a container's `image` is replaced,
//! new containers are appended, `$patch: delete` removes one and `$patch: replace` replaces
//! the list; labels and annotations merge as maps (null deletes); `$patch: delete` on the
//! document deletes the resource.

use std::collections::BTreeMap;

use super::resource::{at_path, text, Resource, Slot};
use crate::manifest::yaml::Node;

/// What a patch did to the resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Patched,
    Deleted,
}

/// Whether a patch without a `target:` is for this resource: the same `apiVersion` and
/// `kind`, and the name and (effective) namespace of one of the ids it has had, as kustomize's
/// `GetById(patch.OrgId())` matches.
pub fn names(patch: &Node, r: &Resource) -> bool {
    let field = |path: &[&str]| at_path(patch, path).and_then(text);
    let ns = field(&["metadata", "namespace"])
        .filter(|ns| !ns.is_empty())
        .unwrap_or("default");
    field(&["apiVersion"]) == Some(r.api_version.as_str())
        && field(&["kind"]) == Some(r.kind.as_str())
        && field(&["metadata", "name"]).is_some_and(|name| {
            r.ids
                .iter()
                .any(|id| id.name == name && id.effective_namespace() == ns)
        })
}

pub fn apply(patch: &Node, r: &mut Resource) -> Outcome {
    if patch.get("$patch").and_then(text) == Some("delete") {
        return Outcome::Deleted;
    }
    if let Some(metadata) = patch.get("metadata") {
        merge_map(&mut r.labels, metadata.get("labels"));
        merge_map(&mut r.annotations, metadata.get("annotations"));
    }
    if let Some(pod) = at_path(patch, r.kind.pod_spec_path()) {
        for (key, init) in [("containers", false), ("initContainers", true)] {
            if let Some(list) = pod.get(key) {
                merge_slots(r.slots_mut(init), list);
            }
        }
    }
    if let Some(reference) = super::resource::reference_of(r.kind, patch.get("spec")) {
        r.reference = Some(reference);
    }
    Outcome::Patched
}

fn merge_map(map: &mut BTreeMap<String, String>, patch: Option<&Node>) {
    match patch {
        Some(Node::Map(entries)) => {
            for (k, v) in entries {
                let Some(k) = text(k) else { continue };
                match text(v) {
                    Some(v) => map.insert(k.to_string(), v.to_string()),
                    None => map.remove(k),
                };
            }
        }
        Some(null) if text(null).is_none() && null.as_scalar().is_some() => map.clear(),
        _ => {}
    }
}

fn merge_slots(slots: &mut Vec<Slot>, patch: &Node) {
    let items = match patch {
        Node::Seq(items) => items,
        // `containers: null` removes the list.
        null if null.as_scalar().is_some() && text(null).is_none() => {
            slots.clear();
            return;
        }
        _ => return,
    };
    let directive = |item: &Node| item.get("$patch").and_then(text).map(str::to_string);
    let is_list_directive = |item: &Node| item.get("name").is_none() && directive(item).is_some();
    if items
        .iter()
        .any(|i| is_list_directive(i) && directive(i).as_deref() == Some("replace"))
    {
        slots.clear();
    }
    for item in items.iter().filter(|i| !is_list_directive(i)) {
        let Some(name) = item.get("name").and_then(text) else {
            continue;
        };
        let at = slots.iter().position(|s| s.name == name);
        match (directive(item).as_deref(), at) {
            (Some("delete"), Some(i)) => {
                slots.remove(i);
            }
            (Some("delete"), None) => {}
            (_, Some(i)) => {
                if let Some(image) = item.get("image") {
                    slots[i].image = text(image).map(str::to_string);
                }
            }
            (_, None) => slots.push(Slot::from_node(item)),
        }
    }
}
