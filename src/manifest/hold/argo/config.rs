//! Which Argo CD Image Updater configurations in a file name an image: an Application's
//! `image-list` annotation, or an `ImageUpdater`'s applicationRefs.

use crate::image::normalize_name;
use crate::manifest::hold::glob;
use crate::manifest::yaml::{parse_documents, Node};

pub(super) const PREFIX: &str = "argocd-image-updater.argoproj.io/";
pub(super) const IMAGE_LIST: &str = "argocd-image-updater.argoproj.io/image-list";
pub(super) const APP_WIDE_IGNORE: &str = "argocd-image-updater.argoproj.io/ignore-tags";

/// An Argo CD Image Updater configuration in a file that names an image: where a hold can go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Which YAML document of the file (0-based).
    pub document: usize,
    pub kind: ConfigKind,
    /// Application name, or ImageUpdater name
    pub name: String,
    /// the image's alias there
    pub alias: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigKind {
    /// `argocd-image-updater.argoproj.io/*` annotations on an Application
    Annotations,
    /// an `ImageUpdater` resource's `applicationRefs[].images[]`
    ImageUpdater,
}

impl ConfigKind {
    pub(super) fn noun(self) -> &'static str {
        match self {
            ConfigKind::Annotations => "Application",
            ConfigKind::ImageUpdater => "ImageUpdater",
        }
    }
}

/// Every place in `text` (a YAML file, possibly multi-document) that configures Image Updater
/// for `image` (a name without tag, compared after `normalize_name`). With `app`, only the
/// Application of that `metadata.name`, and in an ImageUpdater only the applicationRef that
/// would select that Application by its `namePattern` (the most specific one: Image Updater
/// uses the first match after sorting by specificity; label selectors are not known here and
/// are not considered). A file that is not YAML has none.
pub fn configs(text: &str, image: &str, app: Option<&str>) -> Vec<Config> {
    let Ok(docs) = parse_documents(text) else {
        return Vec::new();
    };
    let wanted = normalize_name(image);
    let mut found = Vec::new();
    for (document, doc) in docs.iter().enumerate() {
        let Some(kind) = kind_of(doc) else { continue };
        let name = doc_name(doc);
        let aliases = match kind {
            ConfigKind::Annotations if app.is_none_or(|a| a == name) => {
                application_aliases(doc, &wanted)
            }
            ConfigKind::Annotations => Vec::new(),
            ConfigKind::ImageUpdater => updater_aliases(doc, &wanted, app),
        };
        for alias in aliases {
            let config = Config {
                document,
                kind,
                name: name.to_string(),
                alias,
            };
            if !found.contains(&config) {
                found.push(config);
            }
        }
    }
    found
}

pub(super) fn kind_of(doc: &Node) -> Option<ConfigKind> {
    let kind = doc.get_scalar("kind")?.value.as_str();
    let api = doc.get_scalar("apiVersion")?.value.as_str();
    match kind {
        "Application" if api.starts_with("argoproj.io/") => Some(ConfigKind::Annotations),
        "ImageUpdater" if api.starts_with(PREFIX) => Some(ConfigKind::ImageUpdater),
        _ => None,
    }
}

pub(super) fn doc_name(doc: &Node) -> &str {
    doc.get("metadata")
        .and_then(|m| m.get_scalar("name"))
        .map_or("", |s| s.value.as_str())
}

/// The aliases under which an Application's image-list names the image ("" for no alias).
fn application_aliases(doc: &Node, wanted: &str) -> Vec<String> {
    let list = doc
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get_scalar(IMAGE_LIST));
    list.map_or_else(Vec::new, |list| {
        image_list(&list.value)
            .into_iter()
            .filter(|(_, name)| normalize_name(name) == wanted)
            .map(|(alias, _)| alias)
            .collect()
    })
}

/// `[alias=]image[:constraint]`, comma-separated, as Image Updater splits it: at the first `=`.
pub(super) fn image_list(value: &str) -> Vec<(String, String)> {
    value
        .split(',')
        .map(str::trim)
        .filter(|spec| !spec.is_empty())
        .map(|spec| match spec.split_once('=') {
            Some((alias, path)) => (alias.trim().to_string(), image_name(path.trim())),
            None => (String::new(), image_name(spec)),
        })
        .collect()
}

/// The repository of `image[:constraint][@digest]`: a `:` ends it only after the last `/`, so
/// a registry port (`host:5000/app:1.x`) stays part of the name.
fn image_name(spec: &str) -> String {
    let spec = spec.split('@').next().unwrap_or(spec);
    let last_slash = spec.rfind('/').map_or(0, |i| i + 1);
    match spec[last_slash..].find(':') {
        Some(i) => spec[..last_slash + i].to_string(),
        None => spec.to_string(),
    }
}

/// The aliases of the image in an ImageUpdater's applicationRefs (the one that selects `app`).
fn updater_aliases(doc: &Node, wanted: &str, app: Option<&str>) -> Vec<String> {
    let refs = doc
        .get("spec")
        .and_then(|s| s.get("applicationRefs"))
        .map_or(&[][..], Node::items);
    let chosen: Vec<&Node> = match app {
        None => refs.iter().collect(),
        Some(app) => selecting_ref(refs, app).into_iter().collect(),
    };
    chosen
        .into_iter()
        .flat_map(|r| r.get("images").map_or(&[][..], Node::items))
        .filter(|image| {
            image
                .get_scalar("imageName")
                .is_some_and(|n| normalize_name(&image_name(&n.value)) == wanted)
        })
        .filter_map(|image| image.get_scalar("alias").map(|a| a.value.clone()))
        .collect()
}

/// The applicationRef that selects Application `app`: among those whose namePattern matches,
/// an exact name first, then the one with the most literal characters; the first on a tie.
fn selecting_ref<'a>(refs: &'a [Node], app: &str) -> Option<&'a Node> {
    let mut best: Option<((bool, usize), &Node)> = None;
    for r in refs {
        let Some(pattern) = r.get_scalar("namePattern").map(|p| p.value.as_str()) else {
            continue;
        };
        if !glob::matches(pattern, app) {
            continue;
        }
        let literal = pattern
            .chars()
            .filter(|c| !matches!(c, '*' | '?' | '[' | ']' | '\\'))
            .count();
        let score = (pattern == app, literal);
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, r));
        }
    }
    best.map(|(_, r)| r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_in_an_image_list() {
        let list = "a=nginx, b=host:5000/x/y:1.x, ghcr.io/acme/z@sha256:abc, c = quay.io/q:>=1.0";
        assert_eq!(
            image_list(list),
            [
                ("a".to_string(), "nginx".to_string()),
                ("b".to_string(), "host:5000/x/y".to_string()),
                (String::new(), "ghcr.io/acme/z".to_string()),
                ("c".to_string(), "quay.io/q".to_string()),
            ]
        );
    }
}
