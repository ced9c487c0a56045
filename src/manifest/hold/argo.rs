//! Argo CD Image Updater: hold a tag in the ignore list Image Updater reads for an image, and
//! lift it again. Two places configure it: the `argocd-image-updater.argoproj.io/*` annotations
//! on an Application (`<alias>.ignore-tags`, one comma-separated string) and, since v1.0, an
//! `ImageUpdater` resource (`applicationRefs[].images[].commonUpdateSettings.ignoreTags`, a
//! list). Patterns are Go `filepath.Match` globs matched against the whole tag (`argo_glob`).
//!
//! Image Updater never merges ignore lists: the most specific one that exists replaces the
//! others (the alias annotation over the app-wide one; an image's list over its
//! applicationRef's over the spec's). A hold that creates a more specific list therefore copies
//! the inherited patterns into it, or it would stop ignoring them.
//!
//! Every edit inserts or removes bytes and keeps all others; the result is parsed again and
//! must ignore exactly what was meant, with every other value of the file unchanged.

use yaml_rust2::scanner::TScalarStyle;

use super::glob;
use super::pattern::argo_glob;
use super::{Edited, HoldError};
use crate::image::normalize_name;
use crate::manifest::splice::{
    dash_indent, double_quoted, entry_end, escaped, insert_lines_after, is_block_map, line_end,
    line_start, parse, plain_ok, remove_entry, remove_item, scalar_span, splice,
};
use crate::manifest::yaml::{entry, parse_documents, Node, Scalar};

const PREFIX: &str = "argocd-image-updater.argoproj.io/";
const IMAGE_LIST: &str = "argocd-image-updater.argoproj.io/image-list";
const APP_WIDE_IGNORE: &str = "argocd-image-updater.argoproj.io/ignore-tags";

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
    fn noun(self) -> &'static str {
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

/// Adds `tag` to the ignore list of that config; Unchanged when it is there already (in the
/// list Image Updater uses for the image, which may be an inherited one).
pub fn hold(text: &str, config: &Config, tag: &str) -> Result<Edited, HoldError> {
    check_tag(tag)?;
    let glob = argo_glob(tag);
    let docs = parse(text)?;
    let place = locate(text, &docs, config)?;
    let mut expected = place.effective();
    if expected.contains(&glob) {
        return Ok(Edited::Unchanged);
    }
    let out = match &place {
        Place::App(p) => hold_app(text, p, &glob)?,
        Place::Updater(p) => hold_updater(text, p, &glob)?,
    };
    expected.push(glob);
    verify(text, &out, config, &expected)?;
    Ok(Edited::Changed(out))
}

/// Removes exactly what `hold` added: the line or list it created, or the item it appended
/// (the first text that `hold` turns back into `text`, largest removal first). A list edited
/// since, or written by hand, loses the one pattern only; a list of the image's own that would
/// then say no more than the inherited one goes. Unchanged when the config's own list does not
/// name the tag, even if an inherited one does: `hold` added nothing there.
pub fn unhold(text: &str, config: &Config, tag: &str) -> Result<Edited, HoldError> {
    check_tag(tag)?;
    let glob = argo_glob(tag);
    let docs = parse(text)?;
    let place = locate(text, &docs, config)?;
    let mut expected = place.effective();
    // Held only through an inherited list: hold added nothing here, so there is nothing to lift.
    let (Some(at), true) = (expected.iter().position(|g| *g == glob), place.owns_list()) else {
        return Ok(Edited::Unchanged);
    };
    expected.remove(at);
    let candidates = match &place {
        Place::App(p) => {
            flow_check(p)?;
            unhold_app_candidates(text, p, &glob)
        }
        Place::Updater(p) => unhold_updater_candidates(text, p, &glob),
    };
    for (candidate, check) in candidates {
        let reproduces =
            || matches!(hold(&candidate, config, tag), Ok(Edited::Changed(t)) if t == text);
        let acceptable = match check {
            Check::Reproduces => reproduces(),
            Check::ReadsBack => true,
        };
        if acceptable && verify(text, &candidate, config, &expected).is_ok() {
            return Ok(Edited::Changed(candidate));
        }
    }
    Err(HoldError(format!(
        "{} `{}`: cannot take `{glob}` out of the ignore list of `{}` without changing what else \
         it ignores; remove it by hand",
        config.kind.noun(),
        config.name,
        alias_label(&config.alias)
    )))
}

// ---------------------------------------------------------------------------------------------
// Finding configurations

fn kind_of(doc: &Node) -> Option<ConfigKind> {
    let kind = doc.get_scalar("kind")?.value.as_str();
    let api = doc.get_scalar("apiVersion")?.value.as_str();
    match kind {
        "Application" if api.starts_with("argoproj.io/") => Some(ConfigKind::Annotations),
        "ImageUpdater" if api.starts_with(PREFIX) => Some(ConfigKind::ImageUpdater),
        _ => None,
    }
}

fn doc_name(doc: &Node) -> &str {
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
fn image_list(value: &str) -> Vec<(String, String)> {
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

// ---------------------------------------------------------------------------------------------
// Where a config's ignore list is, in one parse of the file

/// An Application's annotations: the key the hold goes into and what it inherits.
struct AppPlace<'a> {
    document: usize,
    /// Whether the annotations are a block mapping (a flow one is left to a person).
    block: bool,
    /// The image-list annotation's key: a new key goes right after its entry.
    image_list: &'a Scalar,
    /// `<prefix><alias>.ignore-tags`, or the app-wide `<prefix>ignore-tags` for no alias.
    key: String,
    own: Option<(&'a Scalar, &'a Scalar)>,
    /// The app-wide patterns an alias key would replace.
    inherited: Vec<String>,
}

/// An ImageUpdater image entry, with its settings and what it inherits.
struct UpdaterPlace<'a> {
    document: usize,
    ref_index: usize,
    image_index: usize,
    image: &'a [(Node, Node)],
    settings: Option<(&'a Scalar, &'a Node)>,
    own: Option<(&'a Scalar, &'a Node)>,
    /// The applicationRef's list, else the spec's: what the image's own list replaces.
    inherited: Vec<String>,
}

enum Place<'a> {
    App(AppPlace<'a>),
    Updater(UpdaterPlace<'a>),
}

impl Place<'_> {
    /// The patterns Image Updater ignores for the image.
    fn effective(&self) -> Vec<String> {
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
    fn owns_list(&self) -> bool {
        match self {
            Place::App(p) => p.own.is_some(),
            Place::Updater(p) => matches!(p.own, Some((_, Node::Seq(_)))),
        }
    }

    /// Where the list is in the tree: the values that an edit may change.
    fn path(&self) -> Vec<Seg> {
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

fn locate<'a>(text: &str, docs: &'a [Node], config: &Config) -> Result<Place<'a>, HoldError> {
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

fn list_values(list: &[Node]) -> Vec<String> {
    list.iter()
        .map(|n| {
            n.as_scalar()
                .map_or_else(|| "?".into(), |s| s.value.clone())
        })
        .collect()
}

/// The patterns of an ignore-tags annotation, split and trimmed as Image Updater does.
fn items(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn alias_label(alias: &str) -> String {
    if alias.is_empty() {
        "without an alias".into()
    } else {
        format!("aliased `{alias}`")
    }
}

// ---------------------------------------------------------------------------------------------
// Holding

fn hold_app(text: &str, p: &AppPlace, glob: &str) -> Result<String, HoldError> {
    flow_check(p)?;
    if let Some((key, value)) = p.own {
        return append_to_annotation(text, key, value, glob);
    }
    // A new key after the image-list entry, carrying what the app-wide key ignored: the alias
    // key replaces it for this image.
    let mut patterns = p.inherited.clone();
    patterns.push(glob.to_string());
    if !p
        .key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'))
    {
        return Err(HoldError(format!(
            "annotation key {:?} would need quoting; add it by hand",
            p.key
        )));
    }
    let indent = p.image_list.column - 1;
    let line = format!(
        "{}{}: {}",
        " ".repeat(indent),
        p.key,
        double_quoted(&patterns.join(", "))
    );
    let last = entry_end(text, p.image_list.line, indent);
    Ok(insert_lines_after(text, last, &[line]))
}

/// Flow-style annotations (`{a: b, ...}`) are left to a person: new lines do not fit in them.
fn flow_check(p: &AppPlace) -> Result<(), HoldError> {
    if p.block {
        return Ok(());
    }
    Err(HoldError(format!(
        "line {}: the annotations are written in flow style; edit `{}` in them by hand",
        p.image_list.line, p.key
    )))
}

/// Appends `, glob` to an annotation's value, inside its quotes, in its style.
fn append_to_annotation(
    text: &str,
    key: &Scalar,
    value: &Scalar,
    glob: &str,
) -> Result<String, HoldError> {
    let sep = if value.value.trim().is_empty() {
        ""
    } else {
        ", "
    };
    if value.style == TScalarStyle::Plain {
        if value.value.is_empty() {
            return Err(HoldError(format!(
                "line {}: annotation {} has no value; write it by hand",
                key.line, key.value
            )));
        }
        let new = format!("{}{sep}{glob}", value.value);
        if !plain_ok(&new) {
            let (start, end) = span(text, value)?;
            return Ok(splice(text, start, end, &double_quoted(&new)));
        }
    }
    let at = append_point(text, key, value)?;
    let added = format!("{sep}{}", escaped(value.style, glob));
    Ok(splice(text, at, at, &added))
}

fn hold_updater(text: &str, p: &UpdaterPlace, glob: &str) -> Result<String, HoldError> {
    let mut patterns = p.inherited.clone();
    patterns.push(glob.to_string());
    match (p.own, p.settings) {
        (Some((key, Node::Seq(list))), _) => append_to_list(text, key, list, glob),
        (Some((key, _)), _) => Err(HoldError(format!(
            "line {}: ignoreTags is not a list; write it as one, or add the hold by hand",
            key.line
        ))),
        (None, Some((_, Node::Map(entries)))) if is_block_map(text, entries) => {
            // `commonUpdateSettings` without ignoreTags: add the key after its last entry.
            let (first, last) = first_last_keys(entries)?;
            let indent = first.column - 1;
            let mut lines = vec![format!("{}ignoreTags:", " ".repeat(indent))];
            lines.extend(item_lines(indent + 2, &patterns));
            Ok(insert_lines_after(
                text,
                entry_end(text, last.line, indent),
                &lines,
            ))
        }
        (None, Some((key, _))) => Err(HoldError(format!(
            "line {}: commonUpdateSettings is empty or written in flow style; add ignoreTags to \
             it by hand",
            key.line
        ))),
        (None, None) => {
            if !is_block_map(text, p.image) {
                return Err(HoldError(
                    "the image entry is written in flow style; add commonUpdateSettings.ignoreTags \
                     to it by hand"
                        .into(),
                ));
            }
            let (first, last) = first_last_keys(p.image)?;
            let indent = first.column - 1;
            let mut lines = vec![
                format!("{}commonUpdateSettings:", " ".repeat(indent)),
                format!("{}ignoreTags:", " ".repeat(indent + 2)),
            ];
            lines.extend(item_lines(indent + 4, &patterns));
            Ok(insert_lines_after(
                text,
                entry_end(text, last.line, indent),
                &lines,
            ))
        }
    }
}

/// Appends `"glob"` to a list: a `- ` line like the last item's, or into `[...]`.
fn append_to_list(
    text: &str,
    key: &Scalar,
    list: &[Node],
    glob: &str,
) -> Result<String, HoldError> {
    let scalars: Vec<&Scalar> = list.iter().filter_map(Node::as_scalar).collect();
    if scalars.len() != list.len() {
        return Err(HoldError(format!(
            "line {}: ignoreTags holds something other than strings; add the hold by hand",
            key.line
        )));
    }
    let Some(last) = scalars.last() else {
        // `[]`: the only way to write an empty list.
        let open = empty_flow_open(text, key)?;
        return Ok(splice(text, open, open, &double_quoted(glob)));
    };
    if let Some(dash) = dash_indent(text, scalars[0]) {
        let line = item_lines(dash, &[glob.to_string()]);
        return Ok(insert_lines_after(
            text,
            entry_end(text, last.line, dash),
            &line,
        ));
    }
    let (_, end) = span(text, last)?;
    Ok(splice(
        text,
        end,
        end,
        &format!(", {}", double_quoted(glob)),
    ))
}

fn item_lines(indent: usize, patterns: &[String]) -> Vec<String> {
    patterns
        .iter()
        .map(|p| format!("{}- {}", " ".repeat(indent), double_quoted(p)))
        .collect()
}

/// Just past the `[` of an empty flow list written as `key: []`.
fn empty_flow_open(text: &str, key: &Scalar) -> Result<usize, HoldError> {
    let (_, end) = span(text, key)?;
    let rest = &text[end..];
    let after_colon = rest.trim_start_matches(' ').strip_prefix(':');
    let open = after_colon
        .map(|r| r.trim_start_matches(' '))
        .and_then(|r| {
            let inner = r.strip_prefix('[')?;
            inner.trim_start().starts_with(']').then_some(r)
        });
    match open {
        Some(r) => Ok(text.len() - r.len() + 1),
        None => Err(HoldError(format!(
            "line {}: ignoreTags is an empty list written in an unusual way; add the hold by hand",
            key.line
        ))),
    }
}

// ---------------------------------------------------------------------------------------------
// Lifting

/// How a candidate for `unhold` is accepted (besides reading back right).
#[derive(Clone, Copy)]
enum Check {
    /// Holding the tag in the candidate gives the current text back, byte for byte: the
    /// candidate is what the file was before `hold`.
    Reproduces,
    /// Reading back right is enough: the file was edited since, or the hold was by hand.
    ReadsBack,
}

/// The texts unhold may return, most of what hold can have added first.
fn unhold_app_candidates(text: &str, p: &AppPlace, glob: &str) -> Vec<(String, Check)> {
    let Some((key, value)) = p.own else {
        return Vec::new();
    };
    let mut exact = Vec::new();
    exact.extend(remove_entry(text, key));
    for sep in [", ", ""] {
        let suffix = format!("{sep}{}", escaped(value.style, glob));
        if let Ok(at) = append_point(text, key, value) {
            if text[..at].ends_with(&suffix) {
                exact.push(splice(text, at - suffix.len(), at, ""));
            }
        }
    }
    let mut loose = Vec::new();
    if let Some(rest) = without_item(&value.value, glob) {
        if !rest.trim().is_empty() {
            loose.extend(rewrite_scalar(text, value, &rest).ok());
        }
        loose.extend(remove_entry(text, key));
        loose.extend(rewrite_scalar(text, value, "").ok());
    }
    tagged(exact, loose)
}

fn unhold_updater_candidates(text: &str, p: &UpdaterPlace, glob: &str) -> Vec<(String, Check)> {
    let (Some((list_key, Node::Seq(list))), Some((settings_key, Node::Map(settings)))) =
        (p.own, p.settings)
    else {
        return Vec::new();
    };
    let mut all = Vec::new();
    if settings.len() == 1 {
        all.extend(remove_entry(text, settings_key));
    } else {
        all.extend(remove_entry(text, list_key));
    }
    if let Some(at) = list
        .iter()
        .position(|n| n.as_scalar().is_some_and(|s| s.value == glob))
    {
        all.extend(remove_item(text, list, at));
    }
    tagged(all.clone(), all)
}

fn tagged(exact: Vec<String>, loose: Vec<String>) -> Vec<(String, Check)> {
    let exact = exact.into_iter().map(|t| (t, Check::Reproduces));
    let loose = loose.into_iter().map(|t| (t, Check::ReadsBack));
    exact.chain(loose).collect()
}

/// An annotation value without one pattern (and the comma that joined it to the others).
fn without_item(value: &str, glob: &str) -> Option<String> {
    let parts: Vec<&str> = value.split(',').collect();
    let at = parts.iter().position(|p| p.trim() == glob)?;
    let mut rest = parts.clone();
    rest.remove(at);
    let joined = rest.join(",");
    Some(if at == 0 {
        joined.trim_start().to_string()
    } else {
        joined
    })
}

/// The scalar's bytes replaced by `value` in the scalar's style (plain only when plain reads
/// back as the same string).
fn rewrite_scalar(text: &str, scalar: &Scalar, value: &str) -> Result<String, HoldError> {
    let (start, end) = span(text, scalar)?;
    let raw = match scalar.style {
        TScalarStyle::Plain if plain_ok(value) => value.to_string(),
        TScalarStyle::SingleQuoted => format!("'{}'", value.replace('\'', "''")),
        _ => double_quoted(value),
    };
    Ok(splice(text, start, end, &raw))
}

// ---------------------------------------------------------------------------------------------
// Reading back

/// One step of a path into the YAML tree.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// `after` ignores `expected` at the config's place, and every other value of the file is
/// what it was in `before`.
fn verify(
    before: &str,
    after: &str,
    config: &Config,
    expected: &[String],
) -> Result<(), HoldError> {
    let wrong = |why: String| {
        HoldError(format!(
            "{} `{}`: the edited file {why}; add the hold by hand",
            config.kind.noun(),
            config.name
        ))
    };
    let old = parse(before)?;
    let new = parse_documents(after).map_err(|e| wrong(format!("is not valid YAML ({})", e.0)))?;
    let old_place = locate(before, &old, config)?;
    let new_place =
        locate(after, &new, config).map_err(|e| wrong(format!("reads differently: {}", e.0)))?;
    let got = new_place.effective();
    if got != expected {
        return Err(wrong(format!("ignores {got:?} instead of {expected:?}")));
    }
    if values_except(&old, &old_place.path()) != values_except(&new, &new_place.path()) {
        return Err(wrong("changes other values".into()));
    }
    Ok(())
}

/// Every scalar of the file with its path, except those under `skip`.
fn values_except(docs: &[Node], skip: &[Seg]) -> Vec<(Vec<Seg>, String)> {
    fn walk(node: &Node, path: &mut Vec<Seg>, skip: &[Seg], out: &mut Vec<(Vec<Seg>, String)>) {
        if path.as_slice() == skip {
            return;
        }
        match node {
            Node::Scalar(s) => out.push((path.clone(), s.value.clone())),
            Node::Alias => out.push((path.clone(), "*".into())),
            Node::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    walk(item, path, skip, out);
                    path.pop();
                }
            }
            Node::Map(entries) => {
                for (k, v) in entries {
                    let key = k.as_scalar().map_or("?", |k| k.value.as_str());
                    path.push(Seg::Key(key.to_string()));
                    walk(v, path, skip, out);
                    path.pop();
                }
            }
        }
    }
    let mut out = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        walk(doc, &mut vec![Seg::Index(i)], skip, &mut out);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Text helpers

/// A tag goes into a comma-separated annotation and a YAML string: no commas, no blanks.
fn check_tag(tag: &str) -> Result<(), HoldError> {
    if tag.is_empty()
        || tag
            .chars()
            .any(|c| c == ',' || c.is_whitespace() || c.is_control())
    {
        return Err(HoldError(format!(
            "tag {tag:?} cannot go into an Argo CD Image Updater ignore list (empty, or it holds a \
             comma, a blank or a control character)"
        )));
    }
    Ok(())
}

fn first_last_keys(entries: &[(Node, Node)]) -> Result<(&Scalar, &Scalar), HoldError> {
    fn key(e: Option<&(Node, Node)>) -> Option<&Scalar> {
        e.and_then(|(k, _)| k.as_scalar())
    }
    key(entries.first())
        .zip(key(entries.last()))
        .ok_or_else(|| HoldError("a mapping with a complex key; add the hold by hand".into()))
}

/// The bytes of a scalar, or why an edit there is left to a person.
fn span(text: &str, s: &Scalar) -> Result<(usize, usize), HoldError> {
    scalar_span(text, s).ok_or_else(|| {
        HoldError(format!(
            "line {}: {:?} is written over several lines or as a block; edit it by hand",
            s.line, s.value
        ))
    })
}

/// Where `hold` appends to an annotation's value: before its closing quote, after a plain
/// value, or at the end of a block scalar's last line.
fn append_point(text: &str, key: &Scalar, value: &Scalar) -> Result<usize, HoldError> {
    match value.style {
        TScalarStyle::Literal | TScalarStyle::Folded => {
            let last = entry_end(text, key.line, key.column - 1);
            if last == key.line {
                return Err(HoldError(format!(
                    "line {}: annotation {} is an empty block scalar; write it by hand",
                    key.line, key.value
                )));
            }
            let end = line_end(text, last);
            let content = text[line_start(text, last)..end].trim_end_matches(['\n', '\r']);
            Ok(line_start(text, last) + content.len())
        }
        TScalarStyle::DoubleQuoted | TScalarStyle::SingleQuoted => Ok(span(text, value)?.1 - 1),
        _ => Ok(span(text, value)?.1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: &str = "\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
  namespace: argocd
  annotations:
    argocd-image-updater.argoproj.io/image-list: web=ghcr.io/acme/web:~1.5
    argocd-image-updater.argoproj.io/web.update-strategy: semver # keep
spec:
  project: default
";

    const UPDATER: &str = "\
apiVersion: argocd-image-updater.argoproj.io/v1alpha1
kind: ImageUpdater
metadata:
  name: updater
  namespace: argocd
spec:
  commonUpdateSettings:
    updateStrategy: semver
    ignoreTags: [\"latest\", \"dev\"]
  applicationRefs:
    - namePattern: \"web-*\"
      images:
        - alias: web
          imageName: ghcr.io/acme/web:~1.5
        - alias: api
          imageName: ghcr.io/acme/api
    - namePattern: web-prod
      images:
        - alias: web-prod
          imageName: ghcr.io/acme/web:1.x
";

    fn app(name: &str, alias: &str) -> Config {
        Config {
            document: 0,
            kind: ConfigKind::Annotations,
            name: name.into(),
            alias: alias.into(),
        }
    }

    fn updater(alias: &str) -> Config {
        Config {
            document: 0,
            kind: ConfigKind::ImageUpdater,
            name: "updater".into(),
            alias: alias.into(),
        }
    }

    fn changed(edit: Result<Edited, HoldError>) -> String {
        match edit {
            Ok(Edited::Changed(text)) => text,
            other => panic!("expected a change, got {other:?}"),
        }
    }

    /// Holds, checks holding again changes nothing and that lifting gives `text` back byte for
    /// byte (and lifting again changes nothing); returns the held text.
    fn round_trip(text: &str, config: &Config, tag: &str) -> String {
        let held = changed(hold(text, config, tag));
        assert_eq!(hold(&held, config, tag), Ok(Edited::Unchanged));
        assert_eq!(
            changed(unhold(&held, config, tag)),
            text,
            "unhold of:\n{held}"
        );
        assert_eq!(unhold(text, config, tag), Ok(Edited::Unchanged));
        held
    }

    #[test]
    fn inserts_an_alias_key_after_the_image_list() {
        let held = round_trip(APP, &app("web", "web"), "1.5.0");
        assert_eq!(
            held,
            "\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
  namespace: argocd
  annotations:
    argocd-image-updater.argoproj.io/image-list: web=ghcr.io/acme/web:~1.5
    argocd-image-updater.argoproj.io/web.ignore-tags: \"1.5.0\"
    argocd-image-updater.argoproj.io/web.update-strategy: semver # keep
spec:
  project: default
"
        );
    }

    #[test]
    fn appends_to_an_existing_alias_key_in_its_style() {
        for (written, expected) in [
            ("\"latest\"", "\"latest, 1.5.0\""),
            ("'latest'", "'latest, 1.5.0'"),
            ("latest", "latest, 1.5.0"),
            ("\"\"", "\"1.5.0\""),
            ("\"lat\\u0065st\"  # why", "\"lat\\u0065st, 1.5.0\"  # why"),
        ] {
            let line = format!("    argocd-image-updater.argoproj.io/web.ignore-tags: {written}\n");
            let text = APP.replace("spec:\n", &format!("{line}spec:\n"));
            let held = round_trip(&text, &app("web", "web"), "1.5.0");
            let want = line.replace(written, expected);
            assert_eq!(held, text.replace(&line, &want));
        }
    }

    #[test]
    fn a_plain_value_that_would_need_quotes_becomes_double_quoted() {
        let line = "    argocd-image-updater.argoproj.io/web.ignore-tags: dev\n";
        let text = APP.replace("spec:\n", &format!("{line}spec:\n"));
        let config = app("web", "web");
        let held = changed(hold(&text, &config, "x:"));
        assert_eq!(
            held,
            text.replace(
                line,
                "    argocd-image-updater.argoproj.io/web.ignore-tags: \"dev, x:\"\n"
            )
        );
        // `"dev"` and `dev` both give that text: lifting keeps the quotes.
        let lifted = changed(unhold(&held, &config, "x:"));
        assert_eq!(lifted, text.replace(" dev\n", " \"dev\"\n"));
    }

    #[test]
    fn holds_only_the_image_asked_for_among_several_aliases() {
        let text = "\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: shop
  annotations:
    argocd-image-updater.argoproj.io/image-list: frontend=ghcr.io/acme/frontend:~1.5, api=ghcr.io/acme/api
    argocd-image-updater.argoproj.io/frontend.ignore-tags: latest
    argocd-image-updater.argoproj.io/api.ignore-tags: dev
";
        let found = configs(text, "ghcr.io/acme/api", None);
        assert_eq!(found, [app("shop", "api")]);
        let held = round_trip(text, &found[0], "2.0.1");
        assert_eq!(
            held,
            "\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: shop
  annotations:
    argocd-image-updater.argoproj.io/image-list: frontend=ghcr.io/acme/frontend:~1.5, api=ghcr.io/acme/api
    argocd-image-updater.argoproj.io/frontend.ignore-tags: latest
    argocd-image-updater.argoproj.io/api.ignore-tags: dev, 2.0.1
"
        );
        assert_eq!(
            configs(text, "ghcr.io/acme/frontend", Some("shop")),
            [app("shop", "frontend")]
        );
        assert!(configs(text, "ghcr.io/acme/frontend", Some("other")).is_empty());
    }

    #[test]
    fn finds_the_application_in_a_later_document() {
        let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n";
        let text = format!("{deployment}---\n{APP}");
        let found = configs(&text, "ghcr.io/acme/web", Some("web"));
        let config = Config {
            document: 1,
            ..app("web", "web")
        };
        assert_eq!(found, std::slice::from_ref(&config));
        let held = round_trip(&text, &config, "1.5.0");
        assert!(held.starts_with(deployment));
        assert!(held.contains(
            "web:~1.5\n    argocd-image-updater.argoproj.io/web.ignore-tags: \"1.5.0\"\n"
        ));
        let wrong = Config {
            document: 0,
            ..config
        };
        assert!(hold(&text, &wrong, "1.5.0").is_err());
    }

    #[test]
    fn an_image_without_alias_uses_the_app_wide_key() {
        let text = "\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: proxy
  annotations:
    argocd-image-updater.argoproj.io/image-list: docker.io/library/nginx:~1.25
spec: {}
";
        // Docker Hub spellings are one image.
        let found = configs(text, "nginx", None);
        assert_eq!(found, [app("proxy", "")]);
        let held = round_trip(text, &found[0], "1.25.4");
        assert_eq!(
            held,
            text.replace(
                "nginx:~1.25\n",
                "nginx:~1.25\n    argocd-image-updater.argoproj.io/ignore-tags: \"1.25.4\"\n"
            )
        );
        // An existing app-wide key gets the pattern appended.
        let held2 = round_trip(&held, &found[0], "1.25.5");
        assert!(
            held2.contains("/ignore-tags: \"1.25.4, 1.25.5\"\n"),
            "{held2}"
        );
    }

    #[test]
    fn a_new_alias_key_keeps_what_the_app_wide_key_ignored() {
        let text = APP.replace(
            "spec:\n",
            "    argocd-image-updater.argoproj.io/ignore-tags: latest, dev\nspec:\n",
        );
        let held = round_trip(&text, &app("web", "web"), "1.5.0");
        assert!(held.contains(
            "web:~1.5\n    argocd-image-updater.argoproj.io/web.ignore-tags: \"latest, dev, 1.5.0\"\n"
        ));
        // Ignored app-wide already: nothing to add, and nothing of ours to lift.
        assert_eq!(
            hold(&text, &app("web", "web"), "dev"),
            Ok(Edited::Unchanged)
        );
        assert_eq!(
            unhold(&text, &app("web", "web"), "dev"),
            Ok(Edited::Unchanged)
        );
    }

    #[test]
    fn escapes_glob_metacharacters_of_a_tag() {
        let held = round_trip(APP, &app("web", "web"), "v1.*[rc]");
        assert!(
            held.contains("web.ignore-tags: \"v1.\\\\*\\\\[rc\\\\]\"\n"),
            "{held}"
        );
        let docs = parse_documents(&held).unwrap();
        let value = docs[0]
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get_scalar("argocd-image-updater.argoproj.io/web.ignore-tags"))
            .unwrap();
        assert_eq!(value.value, r"v1.\*\[rc\]");
        let plain = APP.replace(
            "spec:\n",
            "    argocd-image-updater.argoproj.io/web.ignore-tags: latest\nspec:\n",
        );
        let held = round_trip(&plain, &app("web", "web"), "v1.*");
        assert!(held.contains("web.ignore-tags: latest, v1.\\*\n"), "{held}");
    }

    #[test]
    fn inserts_after_a_multi_line_image_list() {
        let text = "\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: shop
  annotations:
    argocd-image-updater.argoproj.io/image-list: >-
      web=ghcr.io/acme/web,
      api=registry.local:5000/acme/api:1.x

    argocd-image-updater.argoproj.io/write-back-method: git
";
        let found = configs(text, "registry.local:5000/acme/api", None);
        assert_eq!(found, [app("shop", "api")]);
        let held = round_trip(text, &found[0], "1.2.3");
        assert_eq!(
            held,
            text.replace(
                "1.x\n",
                "1.x\n    argocd-image-updater.argoproj.io/api.ignore-tags: \"1.2.3\"\n"
            )
        );
        let quoted = text
            .replace(
                ">-\n      web=ghcr.io/acme/web,\n      api",
                "\"web=ghcr.io/acme/web,\n      api",
            )
            .replace("1.x\n", "1.x\"\n");
        let held = round_trip(&quoted, &found[0], "1.2.3");
        assert!(held
            .contains("1.x\"\n    argocd-image-updater.argoproj.io/api.ignore-tags: \"1.2.3\"\n"));
    }

    #[test]
    fn appends_to_a_block_scalar_value() {
        let text = APP.replace(
            "spec:\n",
            "    argocd-image-updater.argoproj.io/web.ignore-tags: |\n      latest, dev\nspec:\n",
        );
        let held = round_trip(&text, &app("web", "web"), "1.5.0");
        assert!(
            held.contains("|\n      latest, dev, 1.5.0\nspec:"),
            "{held}"
        );
    }

    #[test]
    fn keeps_crlf_and_a_missing_final_newline() {
        let crlf = APP.replace('\n', "\r\n");
        let held = round_trip(&crlf, &app("web", "web"), "1.5.0");
        assert!(held.contains(
            "~1.5\r\n    argocd-image-updater.argoproj.io/web.ignore-tags: \"1.5.0\"\r\n"
        ));
        let short = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web\n  annotations:\n    argocd-image-updater.argoproj.io/image-list: web=ghcr.io/acme/web";
        let held = round_trip(short, &app("web", "web"), "1.5.0");
        assert!(held.ends_with(
            "acme/web\n    argocd-image-updater.argoproj.io/web.ignore-tags: \"1.5.0\""
        ));
    }

    #[test]
    fn flow_annotations_are_left_to_a_person() {
        let text = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web\n  annotations: {argocd-image-updater.argoproj.io/image-list: web=ghcr.io/acme/web}\n";
        assert_eq!(configs(text, "ghcr.io/acme/web", None), [app("web", "web")]);
        let err = hold(text, &app("web", "web"), "1.5.0").unwrap_err();
        assert!(err.0.contains("flow style"), "{err}");
    }

    #[test]
    fn unhold_of_a_hold_made_by_hand_takes_out_the_one_pattern() {
        let with = |value: &str| {
            APP.replace(
                "spec:\n",
                &format!("    argocd-image-updater.argoproj.io/web.ignore-tags: {value}\nspec:\n"),
            )
        };
        let config = app("web", "web");
        let out = changed(unhold(&with("1.5.0, latest,dev"), &config, "1.5.0"));
        assert_eq!(out, with("latest,dev"));
        let out = changed(unhold(&with("'latest , 1.5.0, dev'"), &config, "1.5.0"));
        assert_eq!(out, with("'latest , dev'"));
        // The only pattern, with an app-wide key below: an empty alias key keeps it unread.
        let both = with("\"1.5.0\"").replace(
            "spec:\n",
            "    argocd-image-updater.argoproj.io/ignore-tags: latest\nspec:\n",
        );
        let out = changed(unhold(&both, &config, "1.5.0"));
        assert!(out.contains("web.ignore-tags: \"\"\n"), "{out}");
        // Without one, the key goes; but `""` is what a hold into `""` came from.
        assert_eq!(changed(unhold(&with("1.5.0"), &config, "1.5.0")), APP);
        let out = changed(unhold(&with("\"1.5.0\""), &config, "1.5.0"));
        assert_eq!(out, with("\"\""));
    }

    #[test]
    fn image_updater_copies_the_inherited_list_into_a_new_image_list() {
        let held = round_trip(UPDATER, &updater("web"), "1.5.0");
        assert_eq!(
            held,
            "\
apiVersion: argocd-image-updater.argoproj.io/v1alpha1
kind: ImageUpdater
metadata:
  name: updater
  namespace: argocd
spec:
  commonUpdateSettings:
    updateStrategy: semver
    ignoreTags: [\"latest\", \"dev\"]
  applicationRefs:
    - namePattern: \"web-*\"
      images:
        - alias: web
          imageName: ghcr.io/acme/web:~1.5
          commonUpdateSettings:
            ignoreTags:
              - \"latest\"
              - \"dev\"
              - \"1.5.0\"
        - alias: api
          imageName: ghcr.io/acme/api
    - namePattern: web-prod
      images:
        - alias: web-prod
          imageName: ghcr.io/acme/web:1.x
"
        );
        let crlf = UPDATER.replace('\n', "\r\n");
        assert_eq!(
            round_trip(&crlf, &updater("web"), "1.5.0"),
            held.replace('\n', "\r\n")
        );
        // Ignored through the spec's list already.
        assert_eq!(hold(UPDATER, &updater("web"), "dev"), Ok(Edited::Unchanged));
        assert_eq!(
            unhold(UPDATER, &updater("web"), "dev"),
            Ok(Edited::Unchanged)
        );
    }

    #[test]
    fn image_updater_prefers_the_application_refs_list_to_the_specs() {
        let text = UPDATER.replace(
            "    - namePattern: \"web-*\"\n",
            "    - namePattern: \"web-*\"\n      commonUpdateSettings:\n        ignoreTags:\n          - nightly\n",
        );
        let held = round_trip(&text, &updater("api"), "2.0.0");
        assert!(
            held.contains(
                "imageName: ghcr.io/acme/api
          commonUpdateSettings:
            ignoreTags:
              - \"nightly\"
              - \"2.0.0\"
    - namePattern: web-prod"
            ),
            "{held}"
        );
    }

    #[test]
    fn image_updater_appends_to_the_images_own_list() {
        let block = UPDATER.replace(
            "          imageName: ghcr.io/acme/api\n",
            "          imageName: ghcr.io/acme/api\n          commonUpdateSettings:\n            ignoreTags:\n            - 'old'  # why\n",
        );
        let held = round_trip(&block, &updater("api"), "2.0.0");
        assert_eq!(
            held,
            block.replace("# why\n", "# why\n            - \"2.0.0\"\n")
        );
        let flow = UPDATER.replace(
            "          imageName: ghcr.io/acme/api\n",
            "          imageName: ghcr.io/acme/api\n          commonUpdateSettings:\n            ignoreTags: [old, \"beta\" ]\n",
        );
        let held = round_trip(&flow, &updater("api"), "2.0.0");
        assert_eq!(held, flow.replace("\"beta\" ]", "\"beta\", \"2.0.0\" ]"));
        let multi_line = flow.replace(
            "[old, \"beta\" ]",
            "[\n              old,\n              beta,\n            ]",
        );
        let held = round_trip(&multi_line, &updater("api"), "2.0.0");
        assert_eq!(held, multi_line.replace("beta,", "beta, \"2.0.0\","));
        let empty = flow.replace("[old, \"beta\" ]", "[]");
        let held = round_trip(&empty, &updater("api"), "2.0.0");
        assert_eq!(held, empty.replace("[]", "[\"2.0.0\"]"));
    }

    #[test]
    fn image_updater_adds_ignore_tags_to_existing_settings() {
        let text = UPDATER.replace(
            "          imageName: ghcr.io/acme/api\n",
            "          imageName: ghcr.io/acme/api\n          commonUpdateSettings:\n            updateStrategy: digest\n",
        );
        let held = round_trip(&text, &updater("api"), "2.0.0");
        assert_eq!(
            held,
            text.replace(
                "updateStrategy: digest\n",
                "updateStrategy: digest
            ignoreTags:
              - \"latest\"
              - \"dev\"
              - \"2.0.0\"
"
            )
        );
    }

    #[test]
    fn image_updater_without_any_ignore_list() {
        let text = UPDATER.replace(
            "  commonUpdateSettings:\n    updateStrategy: semver\n    ignoreTags: [\"latest\", \"dev\"]\n",
            "",
        );
        let held = round_trip(&text, &updater("web-prod"), "1.5.0");
        assert!(held.ends_with(
            "imageName: ghcr.io/acme/web:1.x
          commonUpdateSettings:
            ignoreTags:
              - \"1.5.0\"
"
        ));
    }

    #[test]
    fn image_updater_lift_of_a_hand_written_hold() {
        let text = UPDATER.replace(
            "          imageName: ghcr.io/acme/api\n",
            "          imageName: ghcr.io/acme/api\n          commonUpdateSettings:\n            ignoreTags:\n              - latest\n              - 2.0.0\n              - dev\n",
        );
        let out = changed(unhold(&text, &updater("api"), "2.0.0"));
        // What is left is what the spec ignores: the image's own list is redundant and goes.
        assert_eq!(out, UPDATER);
        let kept = text.replace("- dev\n", "- beta\n");
        let out = changed(unhold(&kept, &updater("api"), "2.0.0"));
        assert_eq!(out, kept.replace("              - 2.0.0\n", ""));
    }

    #[test]
    fn image_updater_configs_follow_the_name_pattern() {
        let web = "ghcr.io/acme/web";
        assert_eq!(
            configs(UPDATER, web, None),
            [updater("web"), updater("web-prod")]
        );
        // The exact name beats the wildcard.
        assert_eq!(
            configs(UPDATER, web, Some("web-prod")),
            [updater("web-prod")]
        );
        assert_eq!(configs(UPDATER, web, Some("web-staging")), [updater("web")]);
        assert!(configs(UPDATER, web, Some("shop")).is_empty());
        assert_eq!(
            configs(UPDATER, "ghcr.io/acme/api", Some("web-1")),
            [updater("api")]
        );
        assert!(configs(UPDATER, "ghcr.io/acme/other", None).is_empty());
        assert!(configs("a: [", web, None).is_empty());
    }

    #[test]
    fn image_updater_alias_in_two_refs_is_ambiguous() {
        let text = UPDATER.replace("alias: web-prod", "alias: web");
        let err = hold(&text, &updater("web"), "1.5.0").unwrap_err();
        assert!(err.0.contains("2 images aliased `web`"), "{err}");
    }

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

    #[test]
    fn verification_refuses_a_file_that_says_something_else() {
        let config = app("web", "web");
        let held = changed(hold(APP, &config, "1.5.0"));
        let want = ["1.5.0".to_string()];
        assert_eq!(verify(APP, &held, &config, &want), Ok(()));
        let other = held.replace("semver", "latest");
        let err = verify(APP, &other, &config, &want).unwrap_err();
        assert!(err.0.contains("changes other values"), "{err}");
        let err = verify(APP, &held, &config, &["1.5.1".to_string()]).unwrap_err();
        assert!(err.0.contains("instead of"), "{err}");
        let err = verify(APP, "a: [", &config, &want).unwrap_err();
        assert!(err.0.contains("not valid YAML"), "{err}");
    }

    #[test]
    fn an_alias_with_a_slash_uses_an_underscore_in_its_key() {
        let text = APP.replace("web=ghcr", "team/web=ghcr");
        let found = configs(&text, "ghcr.io/acme/web", None);
        assert_eq!(found, [app("web", "team/web")]);
        let held = round_trip(&text, &found[0], "1.5.0");
        assert!(held.contains("argocd-image-updater.argoproj.io/team_web.ignore-tags: \"1.5.0\"\n"));
    }

    #[test]
    fn no_prefix_of_a_file_panics() {
        let fixtures = [
            APP.to_string(),
            UPDATER.to_string(),
            APP.replace("web:~1.5", "web:~1.5\n    argocd-image-updater.argoproj.io/web.ignore-tags: >\n      a,\n      \"b\""),
            UPDATER.replace("[\"latest\", \"dev\"]", "[\"la\\\"t\", 'd''v', ]"),
        ];
        for text in &fixtures {
            for end in (0..=text.len()).filter(|i| text.is_char_boundary(*i)) {
                let part = &text[..end];
                for config in [app("web", "web"), updater("web"), updater("api")] {
                    let _ = configs(part, "ghcr.io/acme/web", Some("web"));
                    if let Ok(Edited::Changed(held)) = hold(part, &config, "1.5.0") {
                        assert_eq!(
                            unhold(&held, &config, "1.5.0"),
                            Ok(Edited::Changed(part.into()))
                        );
                    }
                    let _ = unhold(part, &config, "dev");
                }
            }
        }
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(hold("a: [", &app("web", "web"), "1").is_err());
        assert!(hold(APP, &app("web", "web"), "").is_err());
        assert!(hold(APP, &app("web", "web"), "a,b").is_err());
        assert!(hold(APP, &app("web", "other"), "1").is_err());
        assert!(hold(APP, &app("api", "web"), "1").is_err());
        assert!(hold(APP, &updater("web"), "1").is_err());
        let null = UPDATER.replace(
            "          imageName: ghcr.io/acme/api\n",
            "          imageName: ghcr.io/acme/api\n          commonUpdateSettings:\n",
        );
        assert!(hold(&null, &updater("api"), "2.0.0").is_err());
        let flow_image = UPDATER.replace(
            "        - alias: api\n          imageName: ghcr.io/acme/api\n",
            "        - {alias: api, imageName: ghcr.io/acme/api}\n",
        );
        assert!(hold(&flow_image, &updater("api"), "2.0.0").is_err());
    }
}
