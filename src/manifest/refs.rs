//! Which places of a YAML file reference which image, and with what tag or digest.
//!
//! Pure: works on the text of one file. The five forms recognised are described in the README
//! ("Where an image is referenced"). Every reference names the image by its normalised name.

use std::collections::HashMap;

use serde::Serialize;
use yaml_rust2::scanner::TScalarStyle;

use super::yaml::{parse_documents, setter_on_line, Node, Scalar, Setter, SetterPart, YamlError};
use crate::image::{normalize_name, ImageRef};

/// What a place holds for an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    Tag,
    Digest,
}

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Tag => "tag",
            Field::Digest => "digest",
        }
    }
}

/// The syntactic form a reference was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Form {
    /// A kustomize `images:` entry (`name`/`newName` with `newTag`/`digest`).
    Kustomize,
    /// A string `image: repo[:tag][@digest]`.
    Container,
    /// A scalar carrying a Flux `{"$imagepolicy": ...}` setter marker.
    Setter,
    /// A Helm-values mapping `image: {registry, repository, tag, digest}`.
    HelmValues,
    /// An Argo CD `kustomize.images` string `[name=]newname[:tag][@digest]`.
    ArgoKustomize,
    /// An Argo CD `helm.parameters` name/tag pair.
    ArgoHelm,
}

/// One place in a file that references an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    /// Normalised image name (see [`crate::image::normalize_name`]).
    pub image: String,
    pub field: Field,
    /// The tag or digest held there; `None` when the reference carries no version.
    pub value: Option<String>,
    /// 0-based index of the YAML document within the file.
    pub document: usize,
    /// Path of the scalar, e.g. `spec.template.spec.containers[0].image`.
    pub yaml_path: String,
    pub line: usize,
    pub column: usize,
    /// Byte offset of the scalar that holds the value.
    #[serde(skip)]
    pub offset: usize,
    #[serde(skip)]
    pub form: Form,
}

impl Reference {
    /// The image and the version held here as one reference (`ghcr.io/acme/api:1.4.0`,
    /// `ghcr.io/acme/api@sha256:…`); the bare name where the place holds no version.
    pub fn full(&self) -> String {
        match (self.field, &self.value) {
            (_, None) => self.image.clone(),
            (Field::Tag, Some(tag)) => format!("{}:{tag}", self.image),
            (Field::Digest, Some(digest)) => format!("{}@{digest}", self.image),
        }
    }
}

/// Every image reference in a YAML file, in file order.
pub fn references(src: &str) -> Result<Vec<Reference>, YamlError> {
    let docs = parse_documents(src)?;
    let setters: HashMap<usize, Setter> = if src.contains("$imagepolicy") {
        src.lines()
            .enumerate()
            .filter_map(|(i, line)| setter_on_line(line).map(|s| (i + 1, s)))
            .collect()
    } else {
        HashMap::new()
    };
    let mut out = Vec::new();
    for (document, doc) in docs.iter().enumerate() {
        let mut policy_names = HashMap::new();
        if !setters.is_empty() {
            collect_policy_names(doc, &setters, &mut policy_names);
        }
        let mut walker = Walker {
            document,
            setters: &setters,
            policy_names,
            out: &mut out,
        };
        walker.walk(doc, &mut Vec::new(), None);
    }
    out.sort_by_key(|r| (r.document, r.offset, r.field));
    out.dedup_by(|a, b| {
        a.document == b.document && a.offset == b.offset && a.field == b.field && a.image == b.image
    });
    Ok(out)
}

#[derive(Debug, Clone)]
enum Segment {
    Key(String),
    Index(usize),
}

fn render_path(path: &[Segment]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Segment::Key(k) if k.contains(['.', '[', ']', ' ']) || k.is_empty() => {
                s.push_str(&format!("[{k:?}]"))
            }
            Segment::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Segment::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

struct Walker<'a> {
    document: usize,
    setters: &'a HashMap<usize, Setter>,
    /// `ns:policy` → image name, from `:name` setter markers anywhere in the document.
    policy_names: HashMap<String, String>,
    out: &'a mut Vec<Reference>,
}

impl Walker<'_> {
    fn walk(&mut self, node: &Node, path: &mut Vec<Segment>, parent_key: Option<&str>) {
        match node {
            Node::Map(entries) => {
                if !self.setters.is_empty() {
                    self.setters_in_map(node, entries, path);
                }
                for (k, v) in entries {
                    let Some(key) = k.as_scalar() else { continue };
                    path.push(Segment::Key(key.value.clone()));
                    match (key.value.as_str(), v) {
                        ("image", Node::Scalar(s)) => self.image_string(s, path, Form::Container),
                        (k, Node::Map(_)) if k.to_ascii_lowercase().ends_with("image") => {
                            self.helm_image(v, path)
                        }
                        ("images", Node::Seq(items)) => {
                            self.images_list(items, path, parent_key == Some("kustomize"))
                        }
                        ("parameters", Node::Seq(items)) if parent_key == Some("helm") => {
                            self.helm_parameters(items, path)
                        }
                        _ => {}
                    }
                    self.walk(v, path, Some(&key.value));
                    path.pop();
                }
            }
            Node::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(Segment::Index(i));
                    if let Node::Scalar(s) = item {
                        if let Some(setter) = self.setter_of(s).cloned() {
                            self.setter_scalar(s, &setter, None, path);
                        }
                    }
                    self.walk(item, path, parent_key);
                    path.pop();
                }
            }
            Node::Scalar(_) | Node::Alias => {}
        }
    }

    fn emit(
        &mut self,
        image: &str,
        field: Field,
        value: Option<&str>,
        at: &Scalar,
        path: &[Segment],
        form: Form,
    ) {
        self.out.push(Reference {
            image: normalize_name(image),
            field,
            value: value.filter(|v| !v.is_empty()).map(str::to_string),
            document: self.document,
            yaml_path: render_path(path),
            line: at.line,
            column: at.column,
            offset: at.offset,
            form,
        });
    }

    /// Emits the references of a scalar holding a full image reference.
    fn image_string(&mut self, s: &Scalar, path: &[Segment], form: Form) {
        if is_null(s) {
            return;
        }
        let Ok(image) = ImageRef::parse(&s.value) else {
            return;
        };
        self.emit_ref(&image.name, &image, s, path, form);
    }

    fn emit_ref(
        &mut self,
        name: &str,
        image: &ImageRef,
        at: &Scalar,
        path: &[Segment],
        form: Form,
    ) {
        if image.tag.is_some() || image.digest.is_none() {
            self.emit(name, Field::Tag, image.tag.as_deref(), at, path, form);
        }
        if let Some(digest) = &image.digest {
            self.emit(name, Field::Digest, Some(digest), at, path, form);
        }
    }

    /// `image: {registry?, repository | name, tag?, digest?}` (Helm values).
    fn helm_image(&mut self, node: &Node, path: &mut Vec<Segment>) {
        let Some(repo) = node
            .get_scalar("repository")
            .or_else(|| node.get_scalar("name"))
        else {
            return;
        };
        let name = match node.get_scalar("registry").filter(|r| !is_null(r)) {
            Some(registry) => format!("{}/{}", registry.value.trim_end_matches('/'), repo.value),
            None => repo.value.clone(),
        };
        let Ok(image) = ImageRef::parse(&name) else {
            return;
        };
        let tag = node.get_scalar("tag").filter(|t| !is_null(t));
        let digest = node.get_scalar("digest").filter(|d| !is_null(d));
        if let Some(tag) = tag {
            path.push(Segment::Key("tag".into()));
            // Some charts accept `tag: 1.2@sha256:...`.
            match tag.value.split_once('@') {
                Some((t, d)) => {
                    self.emit(
                        &image.name,
                        Field::Tag,
                        Some(t),
                        tag,
                        path,
                        Form::HelmValues,
                    );
                    self.emit(
                        &image.name,
                        Field::Digest,
                        Some(d),
                        tag,
                        path,
                        Form::HelmValues,
                    );
                }
                None => self.emit(
                    &image.name,
                    Field::Tag,
                    Some(&tag.value),
                    tag,
                    path,
                    Form::HelmValues,
                ),
            }
            path.pop();
        }
        if let Some(digest) = digest {
            path.push(Segment::Key("digest".into()));
            self.emit(
                &image.name,
                Field::Digest,
                Some(&digest.value),
                digest,
                path,
                Form::HelmValues,
            );
            path.pop();
        }
        if tag.is_none() && digest.is_none() {
            let key = if node.get_scalar("repository").is_some() {
                "repository"
            } else {
                "name"
            };
            path.push(Segment::Key(key.into()));
            self.emit(&image.name, Field::Tag, None, repo, path, Form::HelmValues);
            path.pop();
        }
    }

    /// kustomize `images:` entries, or Argo CD `kustomize.images` strings.
    fn images_list(&mut self, items: &[Node], path: &mut Vec<Segment>, argo_strings: bool) {
        for (i, item) in items.iter().enumerate() {
            path.push(Segment::Index(i));
            match item {
                Node::Map(_) => self.kustomize_entry(item, path),
                Node::Scalar(s) if argo_strings => self.argo_image_string(s, path),
                _ => {}
            }
            path.pop();
        }
    }

    fn kustomize_entry(&mut self, entry: &Node, path: &mut Vec<Segment>) {
        let Some(name) = entry.get_scalar("name") else {
            return;
        };
        let new_name = entry.get_scalar("newName").filter(|n| !is_null(n));
        let new_tag = entry.get_scalar("newTag").filter(|t| !is_null(t));
        let digest = entry.get_scalar("digest").filter(|d| !is_null(d));
        if new_name.is_none() && new_tag.is_none() && digest.is_none() {
            return;
        }
        let mut names = vec![name.value.as_str()];
        if let Some(n) = new_name {
            if normalize_name(&n.value) != normalize_name(&name.value) {
                names.push(&n.value);
            }
        }
        for image in names {
            if ImageRef::parse(image).is_err() {
                continue;
            }
            if let Some(tag) = new_tag {
                path.push(Segment::Key("newTag".into()));
                self.emit(
                    image,
                    Field::Tag,
                    Some(&tag.value),
                    tag,
                    path,
                    Form::Kustomize,
                );
                path.pop();
            }
            if let Some(digest) = digest {
                path.push(Segment::Key("digest".into()));
                self.emit(
                    image,
                    Field::Digest,
                    Some(&digest.value),
                    digest,
                    path,
                    Form::Kustomize,
                );
                path.pop();
            }
            if new_tag.is_none() && digest.is_none() {
                let (key, at) = match new_name {
                    Some(n) => ("newName", n),
                    None => ("name", name),
                };
                path.push(Segment::Key(key.into()));
                self.emit(image, Field::Tag, None, at, path, Form::Kustomize);
                path.pop();
            }
        }
    }

    /// Argo CD's `[old_name=]new_name[:tag][@digest]`; matches on either name.
    fn argo_image_string(&mut self, s: &Scalar, path: &[Segment]) {
        let (alias, spec) = match s.value.split_once('=') {
            Some((alias, spec)) => (Some(alias), spec),
            None => (None, s.value.as_str()),
        };
        let Ok(image) = ImageRef::parse(spec) else {
            return;
        };
        self.emit_ref(&image.name, &image, s, path, Form::ArgoKustomize);
        if let Some(alias) = alias.and_then(|a| ImageRef::parse(a).ok()) {
            if normalize_name(&alias.name) != normalize_name(&image.name) {
                self.emit_ref(&alias.name, &image, s, path, Form::ArgoKustomize);
            }
        }
    }

    /// Argo CD Image Updater `helm.parameters`: `{name: X.name|X.repository, value}` paired with
    /// `{name: X.tag, value}` (and `X.digest`).
    fn helm_parameters(&mut self, items: &[Node], path: &mut Vec<Segment>) {
        let params: Vec<(usize, &str, &Scalar)> = items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                Some((
                    i,
                    item.get_scalar("name")?.value.as_str(),
                    item.get_scalar("value")?,
                ))
            })
            .collect();
        let image_name = |prefix: &str| {
            params.iter().find_map(|(_, name, value)| {
                let suffix = name.strip_prefix(prefix)?;
                matches!(suffix, "name" | "repository").then(|| value.value.as_str())
            })
        };
        for (i, name, value) in &params {
            let (prefix, field) = if let Some(p) = name.strip_suffix("tag") {
                (p, Field::Tag)
            } else if let Some(p) = name.strip_suffix("digest") {
                (p, Field::Digest)
            } else {
                continue;
            };
            if !(prefix.is_empty() || prefix.ends_with('.')) {
                continue;
            }
            let Some(image) = image_name(prefix).and_then(|n| ImageRef::parse(n).ok()) else {
                continue;
            };
            path.push(Segment::Index(*i));
            path.push(Segment::Key("value".into()));
            self.emit(
                &image.name,
                field,
                Some(&value.value),
                value,
                path,
                Form::ArgoHelm,
            );
            path.pop();
            path.pop();
        }
    }

    fn setter_of(&self, s: &Scalar) -> Option<&Setter> {
        self.setters.get(&s.line)
    }

    /// Setter-marked values of one mapping.
    fn setters_in_map(&mut self, map: &Node, entries: &[(Node, Node)], path: &mut Vec<Segment>) {
        for (k, v) in entries {
            let (Some(key), Some(value)) = (k.as_scalar(), v.as_scalar()) else {
                continue;
            };
            let Some(setter) = self.setter_of(value).cloned() else {
                continue;
            };
            path.push(Segment::Key(key.value.clone()));
            self.setter_scalar(value, &setter, Some(map), path);
            path.pop();
        }
    }

    fn setter_scalar(&mut self, s: &Scalar, setter: &Setter, map: Option<&Node>, path: &[Segment]) {
        let field = match setter.part {
            SetterPart::Full => return self.image_string(s, path, Form::Setter),
            SetterPart::Name => return,
            SetterPart::Tag => Field::Tag,
            SetterPart::Digest => Field::Digest,
        };
        if is_null(s) {
            return;
        }
        let Some(name) = map
            .and_then(|m| self.sibling_name(m, &setter.policy))
            .or_else(|| self.policy_names.get(&setter.policy).cloned())
        else {
            return;
        };
        self.emit(&name, field, Some(&s.value), s, path, Form::Setter);
    }

    /// The image a `:tag`/`:digest` marker belongs to: its sibling `:name` scalar, or the
    /// mapping's `repository` (with `registry`).
    fn sibling_name(&self, map: &Node, policy: &str) -> Option<String> {
        let Node::Map(entries) = map else { return None };
        let named = entries.iter().find_map(|(_, v)| {
            let s = v.as_scalar()?;
            let setter = self.setter_of(s)?;
            (setter.policy == policy && setter.part == SetterPart::Name).then(|| s.value.clone())
        });
        let name = named.or_else(|| {
            let repo = map.get_scalar("repository")?;
            Some(match map.get_scalar("registry").filter(|r| !is_null(r)) {
                Some(registry) => {
                    format!("{}/{}", registry.value.trim_end_matches('/'), repo.value)
                }
                None => repo.value.clone(),
            })
        })?;
        ImageRef::parse(&name).ok().map(|i| i.name)
    }
}

fn collect_policy_names(
    node: &Node,
    setters: &HashMap<usize, Setter>,
    out: &mut HashMap<String, String>,
) {
    match node {
        Node::Map(entries) => {
            for (_, v) in entries {
                collect_policy_names(v, setters, out);
            }
        }
        Node::Seq(items) => {
            for item in items {
                collect_policy_names(item, setters, out);
            }
        }
        Node::Scalar(s) => {
            if let Some(setter) = setters.get(&s.line) {
                if setter.part == SetterPart::Name {
                    if let Ok(image) = ImageRef::parse(&s.value) {
                        out.entry(setter.policy.clone()).or_insert(image.name);
                    }
                }
            }
        }
        Node::Alias => {}
    }
}

fn is_null(s: &Scalar) -> bool {
    s.value.is_empty()
        || (s.style == TScalarStyle::Plain
            && matches!(s.value.as_str(), "~" | "null" | "Null" | "NULL"))
}
