//! A workload while it is being rendered: what kustomize's transformers read and change
//! (its identity over time, labels, annotations, containers), read from one YAML document.

use std::collections::{BTreeMap, BTreeSet};

use yaml_rust2::scanner::TScalarStyle;

use super::workload::{Container, Reference, Workload, WorkloadKind};
use crate::manifest::yaml::Node;

/// A name and namespace a resource had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Id {
    pub name: String,
    pub namespace: Option<String>,
}

impl Id {
    /// kustomize compares ids by effective namespace: unset is `default`.
    pub fn effective_namespace(&self) -> &str {
        self.namespace
            .as_deref()
            .filter(|ns| !ns.is_empty())
            .unwrap_or("default")
    }
}

/// A container while rendering; its image may be unset until a patch sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub name: String,
    pub image: Option<String>,
}

impl Slot {
    /// A container as written in YAML (`{name, image, ...}`).
    pub fn from_node(node: &Node) -> Slot {
        Slot {
            name: node
                .get("name")
                .and_then(text)
                .unwrap_or_default()
                .to_string(),
            image: node.get("image").and_then(text).map(str::to_string),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub kind: WorkloadKind,
    pub api_version: String,
    /// Every id the resource has had, oldest first; the last is the current one. kustomize
    /// matches patches against these (`PrevIds`), so an overlay's patch may name a base
    /// resource by its name before the base's `namePrefix`.
    pub ids: Vec<Id>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub containers: Vec<Slot>,
    pub init_containers: Vec<Slot>,
    /// The object whose pod template this one runs: an Argo Rollout's `spec.workloadRef`, a
    /// Flagger Canary's `spec.targetRef`.
    pub reference: Option<Reference>,
    pub file: String,
    pub document: usize,
    pub closure: BTreeSet<String>,
}

impl Resource {
    /// The workload a document describes, if it describes one.
    pub fn from_document(doc: &Node, file: &str, document: usize) -> Option<Resource> {
        let kind = WorkloadKind::from_type(
            doc.get("apiVersion").and_then(text)?,
            doc.get("kind").and_then(text)?,
        )?;
        let metadata = doc.get("metadata");
        let name = metadata.and_then(|m| m.get("name")).and_then(text)?;
        let namespace = metadata
            .and_then(|m| m.get("namespace"))
            .and_then(text)
            .filter(|ns| !ns.is_empty());
        let pod = at_path(doc, kind.pod_spec_path());
        let slots = |key: &str| match pod.and_then(|p| p.get(key)) {
            Some(Node::Seq(items)) => items.iter().map(Slot::from_node).collect(),
            _ => Vec::new(),
        };
        let reference = reference_of(kind, doc.get("spec"));
        Some(Resource {
            kind,
            api_version: doc.get("apiVersion").and_then(text)?.to_string(),
            ids: vec![Id {
                name: name.to_string(),
                namespace: namespace.map(str::to_string),
            }],
            labels: string_map(metadata.and_then(|m| m.get("labels"))),
            annotations: string_map(metadata.and_then(|m| m.get("annotations"))),
            containers: slots("containers"),
            init_containers: slots("initContainers"),
            reference,
            file: file.to_string(),
            document,
            closure: BTreeSet::from([file.to_string()]),
        })
    }

    pub fn current(&self) -> &Id {
        self.ids.last().expect("a resource always has an id")
    }

    pub fn original(&self) -> &Id {
        self.ids.first().expect("a resource always has an id")
    }

    /// Gives the resource a new id, keeping the old one in its history.
    pub fn set_id(&mut self, id: Id) {
        if *self.current() != id {
            self.ids.push(id);
        }
    }

    pub fn slots_mut(&mut self, init: bool) -> &mut Vec<Slot> {
        if init {
            &mut self.init_containers
        } else {
            &mut self.containers
        }
    }

    pub fn into_workload(self, root: &str) -> Workload {
        let id = self.current().clone();
        let containers = if self.reference.is_some() {
            Vec::new()
        } else {
            let of = |slots: Vec<Slot>, init: bool| {
                slots.into_iter().map(move |s| Container {
                    name: s.name,
                    image: s.image.unwrap_or_default(),
                    init,
                })
            };
            of(self.containers, false)
                .chain(of(self.init_containers, true))
                .collect()
        };
        Workload {
            reference: self.reference,
            kind: self.kind,
            name: id.name,
            namespace: id.namespace,
            containers,
            file: self.file,
            document: self.document,
            closure: self.closure.into_iter().collect(),
            root: root.to_string(),
        }
    }
}

/// Where a Rollout (`workloadRef`) or a Canary (`targetRef`) takes its pod template from.
pub fn reference_of(kind: WorkloadKind, spec: Option<&Node>) -> Option<Reference> {
    let key = match kind {
        WorkloadKind::Rollout => "workloadRef",
        WorkloadKind::Canary => "targetRef",
        _ => return None,
    };
    let r = spec?.get(key)?;
    let target = WorkloadKind::from_type(
        r.get("apiVersion").and_then(text).unwrap_or("apps/v1"),
        r.get("kind").and_then(text)?,
    )?;
    Some(Reference {
        kind: target,
        name: r.get("name").and_then(text)?.to_string(),
    })
}

/// The node at a path of mapping keys.
pub fn at_path<'n>(node: &'n Node, path: &[&str]) -> Option<&'n Node> {
    path.iter().try_fold(node, |n, key| n.get(key))
}

/// A scalar's text, unless it is YAML null (`~`, `null`, or nothing at all).
pub fn text(node: &Node) -> Option<&str> {
    let s = node.as_scalar()?;
    let null = s.style == TScalarStyle::Plain
        && matches!(s.value.as_str(), "" | "~" | "null" | "Null" | "NULL");
    (!null).then_some(s.value.as_str())
}

/// A mapping of strings (labels, annotations); entries that are not scalars are left out.
pub fn string_map(node: Option<&Node>) -> BTreeMap<String, String> {
    match node {
        Some(Node::Map(entries)) => entries
            .iter()
            .filter_map(|(k, v)| Some((text(k)?.to_string(), text(v).unwrap_or("").to_string())))
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// The scalars of a sequence (`resources:`, `components:`).
pub fn string_list(node: Option<&Node>) -> Vec<String> {
    match node {
        Some(Node::Seq(items)) => items.iter().filter_map(text).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}
