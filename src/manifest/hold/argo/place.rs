//! Where a configuration's ignore list is, in one parse of the file: the key or list a hold
//! goes into, and the list it inherits (Image Updater uses the most specific one that exists).

use super::config::{
    doc_name, image_list, kind_of, Config, ConfigKind, APP_WIDE_IGNORE, IMAGE_LIST, PREFIX,
};
use crate::manifest::hold::HoldError;
use crate::manifest::splice::is_block_map;
use crate::manifest::yaml::{entry, Node, Scalar};

/// One step of a path into the YAML tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Seg {
    Key(String),
    Index(usize),
}

/// An Application's annotations: the key the hold goes into and what it inherits.
pub(super) struct AppPlace<'a> {
    pub(super) document: usize,
    /// Whether the annotations are a block mapping (a flow one is left to a person).
    pub(super) block: bool,
    /// The image-list annotation's key: a new key goes right after its entry.
    pub(super) image_list: &'a Scalar,
    /// `<prefix><alias>.ignore-tags`, or the app-wide `<prefix>ignore-tags` for no alias.
    pub(super) key: String,
    pub(super) own: Option<(&'a Scalar, &'a Scalar)>,
    /// The app-wide patterns an alias key would replace.
    pub(super) inherited: Vec<String>,
}

/// An ImageUpdater image entry, with its settings and what it inherits.
pub(super) struct UpdaterPlace<'a> {
    pub(super) document: usize,
    pub(super) ref_index: usize,
    pub(super) image_index: usize,
    pub(super) image: &'a [(Node, Node)],
    pub(super) settings: Option<(&'a Scalar, &'a Node)>,
    pub(super) own: Option<(&'a Scalar, &'a Node)>,
    /// The applicationRef's list, else the spec's: what the image's own list replaces.
    pub(super) inherited: Vec<String>,
}

pub(super) enum Place<'a> {
    App(AppPlace<'a>),
    Updater(UpdaterPlace<'a>),
}

impl Place<'_> {
    /// The patterns Image Updater ignores for the image.
    pub(super) fn effective(&self) -> Vec<String> {
        match self {
            Place::App(p) => p
                .own
                .map_or_else(|| p.inherited.clone(), |(_, v)| items(&v.value)),
            Place::Updater(p) => match p.own {
                Some((_, Node::Seq(list))) => list_values(list),
                _ => p.inherited.clone(),
            },
        }
    }

    /// Whether the config has a list of its own (and does not merely inherit one).
    pub(super) fn owns_list(&self) -> bool {
        match self {
            Place::App(p) => p.own.is_some(),
            Place::Updater(p) => matches!(p.own, Some((_, Node::Seq(_)))),
        }
    }

    /// Where the list is in the tree: the values that an edit may change.
    pub(super) fn path(&self) -> Vec<Seg> {
        let key = |k: &str| Seg::Key(k.to_string());
        match self {
            Place::App(p) => vec![
                Seg::Index(p.document),
                key("metadata"),
                key("annotations"),
                key(&p.key),
            ],
            Place::Updater(p) => vec![
                Seg::Index(p.document),
                key("spec"),
                key("applicationRefs"),
                Seg::Index(p.ref_index),
                key("images"),
                Seg::Index(p.image_index),
                key("commonUpdateSettings"),
                key("ignoreTags"),
            ],
        }
    }
}

pub(super) fn locate<'a>(
    text: &str,
    docs: &'a [Node],
    config: &Config,
) -> Result<Place<'a>, HoldError> {
    let again = "; look the configuration up again";
    let doc = docs.get(config.document).ok_or_else(|| {
        HoldError(format!(
            "the file has no document {}{again}",
            config.document + 1
        ))
    })?;
    let noun = config.kind.noun();
    if kind_of(doc) != Some(config.kind) || doc_name(doc) != config.name {
        return Err(HoldError(format!(
            "document {} of the file is not {noun} `{}`{again}",
            config.document + 1,
            config.name
        )));
    }
    match config.kind {
        ConfigKind::Annotations => locate_app(text, doc, config).map(Place::App),
        ConfigKind::ImageUpdater => locate_updater(doc, config).map(Place::Updater),
    }
}

fn locate_app<'a>(text: &str, doc: &'a Node, config: &Config) -> Result<AppPlace<'a>, HoldError> {
    let name = &config.name;
    let annotations = doc
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(Node::entries)
        .ok_or_else(|| HoldError(format!("Application `{name}` has no annotations mapping")))?;
    let (image_list_key, list) = entry(annotations, IMAGE_LIST)
        .and_then(|(k, v)| Some((k, v.as_scalar()?)))
        .ok_or_else(|| {
            HoldError(format!(
                "Application `{name}` has no {IMAGE_LIST} annotation; look the configuration up again"
            ))
        })?;
    if !image_list(&list.value)
        .iter()
        .any(|(alias, _)| *alias == config.alias)
    {
        return Err(HoldError(format!(
            "the image-list of Application `{name}` names no image {}; look the configuration up again",
            alias_label(&config.alias)
        )));
    }
    let annotation = |key: &str| -> Result<Option<(&'a Scalar, &'a Scalar)>, HoldError> {
        match entry(annotations, key) {
            None => Ok(None),
            Some((k, Node::Scalar(v))) => Ok(Some((k, v))),
            Some((k, _)) => Err(HoldError(format!(
                "line {}: annotation {key} is not a string; fix it, or hold the tag by hand",
                k.line
            ))),
        }
    };
    // Image Updater reads `<alias>.ignore-tags` first and the app-wide key only when that is
    // absent. An image without an alias has no key of its own (its alias key would be
    // `<prefix>.ignore-tags`), so its hold goes into the app-wide key, which then also applies
    // to every other image of the Application that has no alias key.
    let app_wide = annotation(APP_WIDE_IGNORE)?;
    let (key, own, inherited) = if config.alias.is_empty() {
        (APP_WIDE_IGNORE.to_string(), app_wide, Vec::new())
    } else {
        let key = format!("{PREFIX}{}.ignore-tags", config.alias.replace('/', "_"));
        let own = annotation(&key)?;
        let inherited = app_wide.map_or_else(Vec::new, |(_, v)| items(&v.value));
        (key, own, inherited)
    };
    Ok(AppPlace {
        document: config.document,
        block: is_block_map(text, annotations),
        image_list: image_list_key,
        key,
        own,
        inherited,
    })
}

fn locate_updater<'a>(doc: &'a Node, config: &Config) -> Result<UpdaterPlace<'a>, HoldError> {
    let name = &config.name;
    let spec = doc.get("spec");
    let refs = spec
        .and_then(|s| s.get("applicationRefs"))
        .map_or(&[][..], Node::items);
    let mut found = Vec::new();
    for (ref_index, r) in refs.iter().enumerate() {
        for (image_index, image) in r
            .get("images")
            .map_or(&[][..], Node::items)
            .iter()
            .enumerate()
        {
            if image
                .get_scalar("alias")
                .is_some_and(|a| a.value == config.alias)
            {
                found.push((ref_index, r, image_index, image));
            }
        }
    }
    let (ref_index, app_ref, image_index, image) = match found.as_slice() {
        [one] => *one,
        [] => {
            return Err(HoldError(format!(
                "ImageUpdater `{name}` has no image aliased `{}`; look the configuration up again",
                config.alias
            )))
        }
        many => {
            return Err(HoldError(format!(
                "ImageUpdater `{name}` has {} images aliased `{}` (in different applicationRefs); \
                 add the hold by hand to the one that applies",
                many.len(),
                config.alias
            )))
        }
    };
    let image = Node::entries(image).ok_or_else(|| {
        HoldError(format!(
            "ImageUpdater `{name}`: image `{}` is not a mapping",
            config.alias
        ))
    })?;
    let settings = entry(image, "commonUpdateSettings");
    let own = settings.and_then(|(_, s)| Node::entries(s).and_then(|s| entry(s, "ignoreTags")));
    let inherited = ignore_list(app_ref.get("commonUpdateSettings"))
        .or_else(|| ignore_list(spec.and_then(|s| s.get("commonUpdateSettings"))))
        .unwrap_or_default();
    Ok(UpdaterPlace {
        document: config.document,
        ref_index,
        image_index,
        image,
        settings,
        own,
        inherited,
    })
}

/// A settings block's `ignoreTags` list; `None` when it has none (absent or null: inherited).
fn ignore_list(settings: Option<&Node>) -> Option<Vec<String>> {
    match settings?.get("ignoreTags")? {
        Node::Seq(list) => Some(list_values(list)),
        _ => None,
    }
}

pub(super) fn list_values(list: &[Node]) -> Vec<String> {
    list.iter()
        .map(|n| {
            n.as_scalar()
                .map_or_else(|| "?".into(), |s| s.value.clone())
        })
        .collect()
}

/// The patterns of an ignore-tags annotation, split and trimmed as Image Updater does.
pub(super) fn items(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

pub(super) fn alias_label(alias: &str) -> String {
    if alias.is_empty() {
        "without an alias".into()
    } else {
        format!("aliased `{alias}`")
    }
}
