//! JSON 6902 patches (`[{op, path, value}]`, in JSON or YAML), for the parts revertbot
//! renders: the name, namespace, labels and annotations, and the containers and init
//! containers of the pod spec (whole lists, one container, or one container's `name` or
//! `image`). Operations elsewhere change nothing revertbot reads and are skipped; `test` is
//! taken to pass. A patch is applied whole or not at all, as a JSON patch is.

use super::resource::{at_path, text, Id, Resource, Slot};
use crate::manifest::yaml::Node;

/// Applies a patch; `Err` with the reason (the resource is then unchanged), where kustomize
/// would fail the build or where the patch does what is not rendered here.
pub fn apply(ops: &Node, r: &mut Resource) -> Result<(), String> {
    let Node::Seq(ops) = ops else {
        return Err("a JSON 6902 patch is a list of operations".into());
    };
    let mut patched = r.clone();
    for op in ops {
        one(op, &mut patched)?;
    }
    *r = patched;
    Ok(())
}

fn one(op: &Node, r: &mut Resource) -> Result<(), String> {
    let name = op.get("op").and_then(text).unwrap_or("");
    let path = op
        .get("path")
        .and_then(text)
        .ok_or("an operation has no path")?;
    let tokens = pointer(path)?;
    let value = op.get("value");
    let pod_path = r.kind.pod_spec_path();
    let tracked = |tokens: &[String]| {
        tokens.first().is_some_and(|t| t == "metadata")
            || tokens.iter().zip(pod_path).all(|(t, p)| t == p)
    };
    let op_kind = match name {
        "test" => return Ok(()),
        "add" | "replace" => {
            let value = value.ok_or_else(|| format!("{name} {path}: no value"))?;
            if name == "add" {
                Set::Add(value)
            } else {
                Set::Replace(value)
            }
        }
        "remove" => Set::Remove,
        "move" | "copy" => {
            let from = op.get("from").and_then(text).map(pointer).transpose()?;
            if tracked(&tokens) || from.as_deref().is_some_and(tracked) {
                return Err(format!("{name} {path}: not rendered by revertbot"));
            }
            return Ok(());
        }
        other => return Err(format!("unknown operation {other:?}")),
    };
    let t: Vec<&str> = tokens.iter().map(String::as_str).collect();
    match (t.as_slice(), op_kind) {
        (["metadata", "name"], Set::Add(v) | Set::Replace(v)) => {
            let name = text(v).ok_or("metadata.name must be a string")?;
            let id = Id {
                name: name.to_string(),
                namespace: r.current().namespace.clone(),
            };
            r.set_id(id);
        }
        (["metadata", "namespace"], set) => {
            let namespace = set
                .value()
                .and_then(text)
                .filter(|ns| !ns.is_empty())
                .map(str::to_string);
            let name = r.current().name.clone();
            r.set_id(Id { name, namespace });
        }
        (["metadata", map @ ("labels" | "annotations"), key], set) => {
            let map = if *map == "labels" {
                &mut r.labels
            } else {
                &mut r.annotations
            };
            match set.value() {
                Some(v) => {
                    map.insert(key.to_string(), text(v).unwrap_or("").to_string());
                }
                None => {
                    map.remove(*key)
                        .ok_or(format!("remove {path}: no such key"))?;
                }
            }
        }
        (t, set) if t.len() <= pod_path.len() && t.iter().zip(pod_path).all(|(a, b)| a == b) => {
            // The pod spec or an object holding it is set or removed whole.
            let pod = set.value().and_then(|v| at_path(v, &pod_path[t.len()..]));
            for (key, init) in [("containers", false), ("initContainers", true)] {
                *r.slots_mut(init) = match pod.and_then(|p| p.get(key)) {
                    Some(Node::Seq(items)) => items.iter().map(Slot::from_node).collect(),
                    _ => Vec::new(),
                };
            }
        }
        (t, set) if t.starts_with(pod_path) => {
            pod_spec(&t[pod_path.len()..], set, r).map_err(|e| format!("{name} {path}: {e}"))?
        }
        _ => {}
    }
    Ok(())
}

enum Set<'a> {
    Add(&'a Node),
    Replace(&'a Node),
    Remove,
}

impl<'a> Set<'a> {
    fn value(&self) -> Option<&'a Node> {
        match self {
            Set::Add(v) | Set::Replace(v) => Some(v),
            Set::Remove => None,
        }
    }
}

/// An operation below the pod spec.
fn pod_spec(rest: &[&str], set: Set, r: &mut Resource) -> Result<(), String> {
    let (list, rest) = match rest.split_first() {
        Some((&"containers", rest)) => (false, rest),
        Some((&"initContainers", rest)) => (true, rest),
        _ => return Ok(()),
    };
    let slots = r.slots_mut(list);
    match (rest, set) {
        ([], Set::Remove) => slots.clear(),
        ([], set) => match set.value() {
            Some(Node::Seq(items)) => *slots = items.iter().map(Slot::from_node).collect(),
            _ => return Err("containers must be a list".into()),
        },
        (["-"], Set::Add(v)) => slots.push(Slot::from_node(v)),
        ([index], set) => {
            let i = index_of(index)?;
            // `add` inserts before an element (or at the end), `replace` and `remove` need one.
            match set {
                Set::Add(v) if i <= slots.len() => slots.insert(i, Slot::from_node(v)),
                Set::Replace(v) if i < slots.len() => slots[i] = Slot::from_node(v),
                Set::Remove if i < slots.len() => {
                    slots.remove(i);
                }
                _ => return Err(format!("no container at index {i}")),
            }
        }
        ([index, field @ ("image" | "name")], set) => {
            let i = index_of(index)?;
            let slot = slots
                .get_mut(i)
                .ok_or_else(|| format!("no container at index {i}"))?;
            let value = match set.value() {
                Some(v) => Some(text(v).ok_or("not a string")?.to_string()),
                None => None,
            };
            if *field == "image" {
                slot.image = value;
            } else {
                slot.name = value.unwrap_or_default();
            }
        }
        ([index, ..], _) => {
            // Another field of a container: only its existence matters here.
            let i = index_of(index)?;
            if i >= slots.len() {
                return Err(format!("no container at index {i}"));
            }
        }
    }
    Ok(())
}

/// An array index token: digits, without leading zeros.
fn index_of(token: &str) -> Result<usize, String> {
    let ok = !token.is_empty()
        && token.bytes().all(|b| b.is_ascii_digit())
        && (token == "0" || !token.starts_with('0'));
    ok.then(|| token.parse().ok())
        .flatten()
        .ok_or_else(|| format!("{token:?} is not an array index"))
}

/// The reference tokens of a JSON pointer (RFC 6901).
fn pointer(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| format!("{path:?} is not a JSON pointer"))?;
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}
