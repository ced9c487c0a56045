//! Property test: `locate` against a brute-force reference of the culprit rule (issue 2, "The
//! culprit (exact semantics)").
//!
//! Random first-parent histories (2–25 commits, 1–4 YAML files, 2–3 images) are built from
//! operations: version bumps (one place, or every place of an image at once: twins), edits that
//! keep the value (comments, Flux setter markers, quoting, flow style, Docker Hub spellings,
//! re-ordered entries), renames (plain, or with a small edit), new and deleted files, added and
//! removed entries, registry moves that keep the versions (one image, or every image of a
//! file), commits that make a file invalid YAML or not UTF-8 (and repair it), files replaced by
//! symlinks, and operations merged from a side branch with a merge commit. Files use kustomize
//! `images` (`name`, or `name` + `newName`), container strings, Helm values (in a values file or
//! a HelmRelease, with or without Flux setter markers or a `registry` key), Argo CD write-back
//! `kustomize.images` and `helm.parameters`, with tags and digests; and ConfigMaps that only
//! mention images in text.
//!
//! The reference follows the rule literally, with no caching and no shortcuts: at each step of
//! the first-parent walk it takes every YAML file of the commit and of its first parent, finds
//! renames with git's rename detection on the whole trees, and compares values. It never asks
//! the engine's parser: each file's references (image, tag or digest, document, YAML path) come
//! from the generator's model, which knows what it wrote; and the parser is checked on its own
//! against the model, file by file, commit by commit. Queries are
//! made at HEAD and at two earlier commits, for each image under its name before and after a
//! registry move, without a version, with each tag and digest held there, and with a tag not
//! held there. The culprit, commits walked, changed files and their (field, from, to), or the
//! kind of "no culprit" must equal the engine's; twins are checked for soundness.
//!
//! Cases: 64 by default, `PROPTEST_CASES` to change. Failing cases are kept in
//! `proptest-regressions/locate_property.txt` and replayed first.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use git2::{Delta, DiffFindOptions, Oid, Repository, Tree};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, TestCaseError};
use revertbot::error::Error;
use revertbot::gitstore::RepoWriter;
use revertbot::image::ImageRef;
use revertbot::locate::{self, Query};
use revertbot::manifest::{references, Field, PathFilter, Place};

// ---------------------------------------------------------------------------------------------
// The model of a GitOps repository.

/// Images: the spellings of each name before and after a registry move. The Docker Hub
/// spellings are one name; `web` and `web-worker` are the prefix trap.
const IMAGES: [[&[&str]; 2]; 4] = [
    [&["ghcr.io/acme/web"], &["registry.acme.io/acme/web"]],
    [
        &[
            "nginx",
            "library/nginx",
            "docker.io/library/nginx",
            "index.docker.io/library/nginx",
        ],
        &["mirror.gcr.io/library/nginx"],
    ],
    [
        &["ghcr.io/acme/web-worker"],
        &["registry.acme.io/acme/web-worker"],
    ],
    [&["registry.example.com/team/api"], &["ghcr.io/team/api"]],
];

/// Each image's name as an image reference means it (registry, repository; Docker Hub's
/// official images under `library/`), before and after the move: what every spelling of
/// `IMAGES` stands for, written out here rather than asked of the engine.
const CANONICAL: [[&str; 2]; 4] = [
    ["ghcr.io/acme/web", "registry.acme.io/acme/web"],
    ["docker.io/library/nginx", "mirror.gcr.io/library/nginx"],
    [
        "ghcr.io/acme/web-worker",
        "registry.acme.io/acme/web-worker",
    ],
    ["registry.example.com/team/api", "ghcr.io/team/api"],
];

const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

/// Versions (tag, digest); the empty one is a reference without a version.
const VERSIONS: [(Option<&str>, Option<&str>); 8] = [
    (Some("1.0.0"), None),
    (Some("1.1.0"), None),
    (Some("1.2.0"), None),
    (Some("2.0.0"), None),
    (Some("v3"), None),
    (None, None),
    (Some("1.2.0"), Some(D1)),
    (None, Some(D2)),
];

const DIRS: [&str; 4] = ["apps/web", "apps/api", "clusters/prod", "clusters/staging"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// kustomize `images:`; the variant picks the file name.
    Kustomize(u8),
    /// Deployments (one or two documents) with `image: repo:tag` containers.
    Deploy,
    /// Helm `image: {registry?, repository, tag, digest}`, optionally with Flux setter
    /// markers; in a values file (variant 0) or a HelmRelease's `spec.values`.
    Helm(u8),
    /// Argo CD Image Updater write-back: `kustomize.images` strings (variant 0) or
    /// `helm.parameters` name/tag pairs.
    Argo(u8),
    /// A ConfigMap that mentions images in text only: no references.
    Plain,
}

impl Kind {
    fn from_code(code: u8) -> Kind {
        let variant = code / 6;
        match code % 6 {
            0 | 5 => Kind::Kustomize(variant % 3),
            1 => Kind::Deploy,
            2 => Kind::Helm(variant % 2),
            3 => Kind::Argo(variant % 2),
            _ => Kind::Plain,
        }
    }

    fn base(self) -> &'static str {
        match self {
            Kind::Kustomize(0) => "kustomization.yaml",
            Kind::Kustomize(1) => "kustomization.yml",
            Kind::Kustomize(_) => "Kustomization",
            Kind::Deploy => "deploy.yaml",
            Kind::Helm(0) => "values.yaml",
            Kind::Helm(_) => "release.yaml",
            Kind::Argo(_) => ".argocd-source-app.yaml",
            Kind::Plain => "notes.yml",
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    /// Index into `IMAGES`.
    img: usize,
    /// Spelled with the registry after the move.
    moved: bool,
    spelling: usize,
    tag: Option<&'static str>,
    digest: Option<&'static str>,
    quoted: bool,
    comment: bool,
    /// A Flux setter marker; in a kustomization, `name` + `newName` instead.
    marker: bool,
    /// Flow style (kustomize, containers) or a separate `registry:` key (Helm).
    flow: bool,
    /// Document of a Deployment file.
    doc: usize,
}

impl Entry {
    fn new(img: usize, version: usize, style: u8, doc: usize) -> Entry {
        let (tag, digest) = VERSIONS[version % VERSIONS.len()];
        Entry {
            img,
            moved: false,
            spelling: usize::from(style >> 4),
            tag,
            digest,
            quoted: style & 1 != 0,
            comment: style & 2 != 0,
            marker: style & 4 != 0,
            flow: style & 8 != 0,
            doc: doc % 2,
        }
    }

    fn set_version(&mut self, version: usize) {
        (self.tag, self.digest) = VERSIONS[version % VERSIONS.len()];
    }

    fn name(&self) -> &'static str {
        let spellings = IMAGES[self.img][usize::from(self.moved)];
        spellings[self.spelling % spellings.len()]
    }

    /// `name[:tag][@digest]`.
    fn full(&self) -> String {
        let mut s = self.name().to_string();
        if let Some(t) = self.tag {
            s.push_str(&format!(":{t}"));
        }
        if let Some(d) = self.digest {
            s.push_str(&format!("@{d}"));
        }
        s
    }

    /// The name every spelling of this entry's image stands for.
    fn canonical(&self) -> String {
        CANONICAL[self.img][usize::from(self.moved)].to_string()
    }

    /// What a full `name[:tag][@digest]` string holds: its tag (none when it has neither a tag
    /// nor a digest), and its digest.
    fn versions(&self) -> Vec<(Field, Option<String>)> {
        let mut out = Vec::new();
        if self.tag.is_some() || self.digest.is_none() {
            out.push((Field::Tag, self.tag.map(str::to_string)));
        }
        if let Some(d) = self.digest {
            out.push((Field::Digest, Some(d.to_string())));
        }
        out
    }

    fn quote(&self, s: &str) -> String {
        if self.quoted {
            format!("\"{s}\"")
        } else {
            s.to_string()
        }
    }

    fn setter(&self, part: &str) -> String {
        format!(
            " # {{\"$imagepolicy\": \"flux-system:p{}{part}\"}}",
            self.img
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Broken {
    No,
    /// Not valid YAML.
    Yaml,
    /// Not UTF-8.
    Utf8,
}

#[derive(Debug, Clone)]
struct File {
    id: usize,
    kind: Kind,
    path: String,
    entries: Vec<Entry>,
    header: usize,
    broken: Broken,
    /// Replaced by a symlink (which holds no references).
    link: bool,
}

impl File {
    fn render(&self) -> Vec<u8> {
        let mut s = String::new();
        for i in 0..self.header {
            s.push_str(&format!("# note {i}\n"));
        }
        match self.kind {
            Kind::Kustomize(_) => self.render_kustomize(&mut s),
            Kind::Deploy => self.render_deploy(&mut s),
            Kind::Helm(v) => self.render_helm(&mut s, v),
            Kind::Argo(0) => self.render_argo(&mut s),
            Kind::Argo(_) => self.render_argo_helm(&mut s),
            Kind::Plain => self.render_plain(&mut s),
        }
        let mut bytes = s.into_bytes();
        match self.broken {
            Broken::No => {}
            Broken::Yaml => bytes.extend_from_slice(b"broken: [unclosed\n"),
            Broken::Utf8 => bytes.extend_from_slice(b"# caf\xe9\n"),
        }
        bytes
    }

    fn render_kustomize(&self, s: &mut String) {
        s.push_str("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n");
        s.push_str(&format!(
            "namePrefix: f{}-\nresources:\n  - deploy.yaml\n",
            self.id
        ));
        if self.entries.is_empty() {
            s.push_str("images: []\n");
            return;
        }
        s.push_str("images:\n");
        for e in &self.entries {
            if e.comment {
                s.push_str("  # pinned by ops\n");
            }
            let mut fields = match e.marker {
                true => vec![
                    ("name", format!("app{}", e.img)),
                    ("newName", e.name().to_string()),
                ],
                false => vec![("name", e.name().to_string())],
            };
            if let Some(t) = e.tag {
                fields.push(("newTag", e.quote(t)));
            }
            if let Some(d) = e.digest {
                fields.push(("digest", e.quote(d)));
            }
            let fields: Vec<String> = fields.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            if e.flow {
                s.push_str(&format!("  - {{{}}}\n", fields.join(", ")));
            } else {
                s.push_str(&format!("  - {}\n", fields.join("\n    ")));
            }
        }
    }

    fn render_deploy(&self, s: &mut String) {
        let docs = if self.entries.iter().any(|e| e.doc == 1) {
            2
        } else {
            1
        };
        for doc in 0..docs {
            if doc > 0 {
                s.push_str("---\n");
            }
            s.push_str(&format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{}-{doc}\nspec:\n  template:\n    spec:\n",
                self.id
            ));
            let entries: Vec<&Entry> = self.entries.iter().filter(|e| e.doc == doc).collect();
            if entries.is_empty() {
                s.push_str("      containers: []\n");
                continue;
            }
            s.push_str("      containers:\n");
            for (i, e) in entries.iter().enumerate() {
                if e.comment {
                    s.push_str("        # pinned by ops\n");
                }
                let image = e.quote(&e.full());
                if e.flow {
                    s.push_str(&format!("        - {{name: c{i}, image: {image}}}\n"));
                } else {
                    s.push_str(&format!("        - name: c{i}\n          image: {image}"));
                    if e.marker {
                        s.push_str(&e.setter(""));
                    }
                    s.push('\n');
                }
            }
        }
    }

    fn render_helm(&self, s: &mut String, variant: u8) {
        let indent = if variant == 0 {
            s.push_str(&format!("fullnameOverride: f{}\n", self.id));
            ""
        } else {
            s.push_str(&format!(
                "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: f{}\nspec:\n  chart:\n    spec:\n      chart: app\n  values:\n",
                self.id
            ));
            if self.entries.is_empty() {
                s.push_str("    replicas: 1\n");
            }
            "    "
        };
        for (i, e) in self.entries.iter().enumerate() {
            s.push_str(&format!("{indent}app{i}:\n{indent}  image:\n"));
            let name = e.name();
            let split = name
                .split_once('/')
                .filter(|(first, _)| e.flow && first.contains('.'));
            match split {
                Some((registry, repository)) => s.push_str(&format!(
                    "{indent}    registry: {registry}\n{indent}    repository: {repository}\n"
                )),
                None => {
                    s.push_str(&format!("{indent}    repository: {name}"));
                    if e.marker {
                        s.push_str(&e.setter(":name"));
                    }
                    s.push('\n');
                }
            }
            if e.comment {
                s.push_str(&format!("{indent}    # pinned by ops\n"));
            }
            if let Some(t) = e.tag {
                s.push_str(&format!("{indent}    tag: {}", e.quote(t)));
                if e.marker {
                    s.push_str(&e.setter(":tag"));
                }
                s.push('\n');
            }
            if let Some(d) = e.digest {
                s.push_str(&format!("{indent}    digest: {}\n", e.quote(d)));
            }
        }
    }

    fn render_argo(&self, s: &mut String) {
        s.push_str(&format!("# app f{}\nkustomize:\n", self.id));
        if self.entries.is_empty() {
            s.push_str("  images: []\n");
            return;
        }
        s.push_str("  images:\n");
        for e in &self.entries {
            if e.comment {
                s.push_str("  # pinned by ops\n");
            }
            s.push_str(&format!("  - {}", e.quote(&e.full())));
            if e.marker {
                s.push_str(&e.setter(""));
            }
            s.push('\n');
        }
    }

    fn render_argo_helm(&self, s: &mut String) {
        s.push_str(&format!("# app f{}\nhelm:\n", self.id));
        if self.entries.is_empty() {
            s.push_str("  parameters: []\n");
            return;
        }
        s.push_str("  parameters:\n");
        for (i, e) in self.entries.iter().enumerate() {
            if e.comment {
                s.push_str("  # pinned by ops\n");
            }
            let key = if e.flow { "repository" } else { "name" };
            let mut params = vec![(key, e.name())];
            params.extend(e.tag.map(|t| ("tag", t)));
            params.extend(e.digest.map(|d| ("digest", d)));
            for (k, v) in params {
                s.push_str(&format!(
                    "  - name: app{i}.image.{k}\n    value: {}\n    forcestring: true\n",
                    e.quote(v)
                ));
            }
        }
    }

    /// The references the model puts in this file, in the order the file holds them: what the
    /// engine's parser must find (checked), and what the brute-force reference walks with. None
    /// for a symlink (not a YAML file to read); none inside a file that is not YAML or UTF-8.
    fn refs(&self) -> Option<Vec<Ref>> {
        if self.link {
            return None;
        }
        let mut out = Vec::new();
        if self.broken != Broken::No {
            return Some(out);
        }
        // Where each place is in the file, (document, entry, line within the entry), to put
        // them in file order at the end, a tag before a digest; the names of one place (a
        // kustomize `name` and `newName`) keep the order they came in.
        let mut placed: Vec<((usize, usize, u8, Field), Ref)> = Vec::new();
        let mut push =
            |image: &str, field: Field, value: Option<String>, doc: usize, path: String| {
                let last = path.rsplit('.').next().unwrap_or_default();
                let line = match last {
                    "newTag" | "tag" => 1,
                    "digest" => 2,
                    _ => 0,
                };
                // The entry: the first index in the path, or the `appN` key of a Helm value.
                let entry = path
                    .split(['[', ']'])
                    .nth(1)
                    .and_then(|i| i.parse().ok())
                    .or_else(|| {
                        let key = path.trim_start_matches("spec.values.").split('.').next()?;
                        key.strip_prefix("app")?.parse().ok()
                    })
                    .unwrap_or(0);
                placed.push((
                    (doc, entry, line, field),
                    Ref {
                        image: image.to_string(),
                        field,
                        value,
                        document: doc,
                        yaml_path: path,
                    },
                ))
            };
        match self.kind {
            Kind::Kustomize(_) => {
                for (i, e) in self.entries.iter().enumerate() {
                    let at = format!("images[{i}]");
                    // With a marker the entry is `name: appN` + `newName`: both names match.
                    let mut names = vec![e.canonical()];
                    if e.marker {
                        names.insert(0, format!("docker.io/library/app{}", e.img));
                    } else if e.tag.is_none() && e.digest.is_none() {
                        // `name` alone changes no image.
                        continue;
                    }
                    for name in &names {
                        if let Some(t) = e.tag {
                            push(name, Field::Tag, Some(t.into()), 0, format!("{at}.newTag"));
                        }
                        if let Some(d) = e.digest {
                            push(
                                name,
                                Field::Digest,
                                Some(d.into()),
                                0,
                                format!("{at}.digest"),
                            );
                        }
                        if e.tag.is_none() && e.digest.is_none() {
                            push(name, Field::Tag, None, 0, format!("{at}.newName"));
                        }
                    }
                }
            }
            Kind::Deploy => {
                for doc in 0..2 {
                    let entries = self.entries.iter().filter(|e| e.doc == doc);
                    for (i, e) in entries.enumerate() {
                        let at = format!("spec.template.spec.containers[{i}].image");
                        // A setter marker on it changes nothing: one place, one reference.
                        for (field, value) in e.versions() {
                            push(&e.canonical(), field, value, doc, at.clone());
                        }
                    }
                }
            }
            Kind::Helm(v) => {
                let prefix = if v == 0 { "" } else { "spec.values." };
                for (i, e) in self.entries.iter().enumerate() {
                    let at = format!("{prefix}app{i}.image");
                    let name = e.canonical();
                    if let Some(t) = e.tag {
                        push(&name, Field::Tag, Some(t.into()), 0, format!("{at}.tag"));
                    }
                    if let Some(d) = e.digest {
                        push(
                            &name,
                            Field::Digest,
                            Some(d.into()),
                            0,
                            format!("{at}.digest"),
                        );
                    }
                    if e.tag.is_none() && e.digest.is_none() {
                        push(&name, Field::Tag, None, 0, format!("{at}.repository"));
                    }
                }
            }
            Kind::Argo(0) => {
                for (i, e) in self.entries.iter().enumerate() {
                    for (field, value) in e.versions() {
                        push(
                            &e.canonical(),
                            field,
                            value,
                            0,
                            format!("kustomize.images[{i}]"),
                        );
                    }
                }
            }
            Kind::Argo(_) => {
                let mut k = 0;
                for e in &self.entries {
                    k += 1; // the name or repository parameter
                    let versions = e
                        .tag
                        .map(|t| (Field::Tag, t))
                        .into_iter()
                        .chain(e.digest.map(|d| (Field::Digest, d)));
                    for (field, value) in versions {
                        let at = format!("helm.parameters[{k}].value");
                        push(&e.canonical(), field, Some(value.into()), 0, at);
                        k += 1;
                    }
                }
            }
            Kind::Plain => {}
        }
        placed.sort_by_key(|(at, _)| *at);
        out.extend(placed.into_iter().map(|(_, r)| r));
        Some(out)
    }

    fn render_plain(&self, s: &mut String) {
        s.push_str(&format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-{}\ndata:\n  owner: platform\n",
            self.id
        ));
        for (i, e) in self.entries.iter().enumerate() {
            s.push_str(&format!("  e{i}: \"deployed {}\"\n", e.full()));
        }
    }
}

/// A file to create: kind code, entries (image choice, version, style bits, document).
#[derive(Debug, Clone)]
struct NewFile {
    kind: u8,
    entries: Vec<(usize, usize, u8, usize)>,
}

#[derive(Debug, Clone)]
enum Op {
    /// Sets the version of one entry.
    Bump {
        file: usize,
        entry: usize,
        version: usize,
    },
    /// Sets the version of every entry of an image, in every file (twins, Flux v1 "multiple").
    BumpImage {
        img: usize,
        version: usize,
    },
    /// An edit that keeps the value: 0 quote, 1 comment, 2 setter marker, 3 flow style or
    /// registry key, 4 another spelling of the name.
    Style {
        file: usize,
        entry: usize,
        what: u8,
    },
    /// Adds or removes a comment line at the top.
    Header {
        file: usize,
        add: bool,
    },
    /// Moves the first entry to the end.
    Reorder {
        file: usize,
    },
    /// Renames a file (to another directory or another name), optionally with a small edit.
    Rename {
        file: usize,
        edit: bool,
    },
    Create(NewFile),
    Delete {
        file: usize,
    },
    AddEntry {
        file: usize,
        img: usize,
        version: usize,
        style: u8,
    },
    RemoveEntry {
        file: usize,
        entry: usize,
    },
    /// Registry move of every entry of an image in a file, keeping the tags.
    Move {
        file: usize,
        img: usize,
    },
    /// Registry migration: every image of a file moves (or moves back), keeping the tags.
    MoveAll {
        file: usize,
    },
    /// Makes a file invalid YAML (or not UTF-8), or repairs it.
    Break {
        file: usize,
        utf8: bool,
    },
    /// Replaces a file with a symlink, or a symlink with the file again.
    Link {
        file: usize,
    },
    /// The operation made on a side branch, merged with a merge commit.
    Merged(Box<Op>),
}

#[derive(Debug, Clone)]
struct Case {
    /// Indices into `IMAGES`.
    images: Vec<usize>,
    initial: Vec<NewFile>,
    ops: Vec<Op>,
    /// Picks the second revision queried (besides HEAD).
    mid: usize,
}

struct Model {
    images: Vec<usize>,
    files: Vec<File>,
    next_id: usize,
    renames: usize,
}

impl Model {
    fn create(&mut self, spec: &NewFile) {
        let id = self.next_id;
        self.next_id += 1;
        let kind = Kind::from_code(spec.kind);
        let entries = spec
            .entries
            .iter()
            .map(|&(img, version, style, doc)| {
                Entry::new(self.images[img % self.images.len()], version, style, doc)
            })
            .collect();
        self.files.push(File {
            id,
            kind,
            path: format!("{}/f{id}/{}", DIRS[id % DIRS.len()], kind.base()),
            entries,
            header: 0,
            broken: Broken::No,
            link: false,
        });
    }

    fn file(&mut self, i: usize) -> Option<&mut File> {
        let n = self.files.len();
        self.files.get_mut(i % n.max(1))
    }

    fn entry(&mut self, file: usize, entry: usize) -> Option<&mut Entry> {
        let f = self.file(file)?;
        let n = f.entries.len();
        f.entries.get_mut(entry % n.max(1))
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::Bump {
                file,
                entry,
                version,
            } => {
                if let Some(e) = self.entry(*file, *entry) {
                    e.set_version(*version);
                }
            }
            Op::BumpImage { img, version } => {
                let img = self.images[img % self.images.len()];
                for f in &mut self.files {
                    for e in f.entries.iter_mut().filter(|e| e.img == img) {
                        e.set_version(*version);
                    }
                }
            }
            Op::Style { file, entry, what } => {
                if let Some(e) = self.entry(*file, *entry) {
                    match what % 5 {
                        0 => e.quoted = !e.quoted,
                        1 => e.comment = !e.comment,
                        2 => e.marker = !e.marker,
                        3 => e.flow = !e.flow,
                        _ => e.spelling += 1,
                    }
                }
            }
            Op::Header { file, add } => {
                if let Some(f) = self.file(*file) {
                    if *add {
                        f.header += 1;
                    } else {
                        f.header = f.header.saturating_sub(1);
                    }
                }
            }
            Op::Reorder { file } => {
                if let Some(f) = self.file(*file) {
                    if !f.entries.is_empty() {
                        f.entries.rotate_left(1);
                    }
                }
            }
            Op::Rename { file, edit } => {
                let n = self.renames;
                self.renames += 1;
                if let Some(f) = self.file(*file) {
                    let base = match (f.kind, n % 3) {
                        (Kind::Deploy, 1) => "deployment.yaml",
                        (Kind::Helm(0), 1) => "values-prod.yaml",
                        (Kind::Plain, 1) => "notes.yaml",
                        (kind, _) => kind.base(),
                    };
                    f.path = format!("{}/f{}r{n}/{base}", DIRS[(f.id + n + 1) % DIRS.len()], f.id);
                    if *edit {
                        f.header += 1;
                    }
                }
            }
            Op::Create(spec) => self.create(spec),
            Op::Delete { file } => {
                if !self.files.is_empty() {
                    let i = file % self.files.len();
                    self.files.remove(i);
                }
            }
            Op::AddEntry {
                file,
                img,
                version,
                style,
            } => {
                let img = self.images[img % self.images.len()];
                if let Some(f) = self.file(*file) {
                    let e = Entry::new(img, *version, *style, usize::from(style >> 7));
                    f.entries.push(e);
                }
            }
            Op::RemoveEntry { file, entry } => {
                if let Some(f) = self.file(*file) {
                    if !f.entries.is_empty() {
                        let i = entry % f.entries.len();
                        f.entries.remove(i);
                    }
                }
            }
            Op::Move { file, img } => {
                let img = self.images[img % self.images.len()];
                if let Some(f) = self.file(*file) {
                    if let Some(first) = f.entries.iter().find(|e| e.img == img) {
                        let moved = !first.moved;
                        for e in f.entries.iter_mut().filter(|e| e.img == img) {
                            e.moved = moved;
                        }
                    }
                }
            }
            Op::MoveAll { file } => {
                if let Some(f) = self.file(*file) {
                    if let Some(first) = f.entries.first() {
                        let moved = !first.moved;
                        for e in &mut f.entries {
                            e.moved = moved;
                        }
                    }
                }
            }
            Op::Break { file, utf8 } => {
                if let Some(f) = self.file(*file) {
                    f.broken = match (f.broken, utf8) {
                        (Broken::No, false) => Broken::Yaml,
                        (Broken::No, true) => Broken::Utf8,
                        _ => Broken::No,
                    };
                }
            }
            Op::Link { file } => {
                if let Some(f) = self.file(*file) {
                    f.link = !f.link;
                }
            }
            Op::Merged(op) => self.apply(op),
        }
    }

    fn render(&self) -> Snapshot {
        self.files
            .iter()
            .map(|f| {
                let content = match f.link {
                    true => Content::Link(format!("../f{}.yaml", f.id)),
                    false => Content::File(f.render()),
                };
                (f.path.clone(), content)
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Content {
    File(Vec<u8>),
    Link(String),
}

/// The files of a commit.
type Snapshot = BTreeMap<String, Content>;

/// A built history: the repository and, per first-parent commit (oldest first), what it did
/// and the files it holds (to print a failing case).
struct History {
    _dir: tempfile::TempDir,
    writer: RepoWriter,
    chain: Vec<(Oid, String, Snapshot)>,
    /// Per first-parent commit: every YAML file and the references the model put in it.
    refs: HashMap<Oid, Refs>,
}

/// Every YAML file of a commit (symlinks are not) and its references.
type Refs = BTreeMap<String, Vec<Ref>>;

/// A reference to an image at one place of a file, as the model writes it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Ref {
    /// The canonical name (see `CANONICAL`).
    image: String,
    field: Field,
    value: Option<String>,
    document: usize,
    yaml_path: String,
}

impl Model {
    fn refs(&self) -> Refs {
        self.files
            .iter()
            .filter_map(|f| Some((f.path.clone(), f.refs()?)))
            .collect()
    }
}

impl History {
    fn build(case: &Case) -> History {
        let dir = scratch_dir();
        let mut writer = RepoWriter::init(dir.path()).unwrap();
        let mut model = Model {
            images: case.images.clone(),
            files: Vec::new(),
            next_id: 0,
            renames: 0,
        };
        for spec in &case.initial {
            model.create(spec);
        }
        let mut written = Snapshot::new();
        let files = model.render();
        sync(&mut writer, &mut written, &files);
        let root = writer.commit("initial").unwrap();
        let mut chain = vec![(root, "initial".to_string(), files)];
        let mut refs = HashMap::from([(root, model.refs())]);
        for op in &case.ops {
            model.apply(op);
            let files = model.render();
            let id = if let Op::Merged(_) = op {
                let main = writer.head().unwrap();
                sync(&mut writer, &mut written, &files);
                let side = writer.commit("side branch").unwrap();
                writer.checkout(main).unwrap();
                written = chain.last().unwrap().2.clone();
                sync(&mut writer, &mut written, &files);
                writer.merge(side, "Merge pull request").unwrap()
            } else {
                sync(&mut writer, &mut written, &files);
                writer.commit(&format!("{op:?}")).unwrap()
            };
            chain.push((id, format!("{op:?}"), files));
            refs.insert(id, model.refs());
        }
        History {
            _dir: dir,
            writer,
            chain,
            refs,
        }
    }

    /// The model's references at a first-parent commit.
    fn refs_at(&self, commit: Oid) -> &Refs {
        &self.refs[&commit]
    }

    /// The engine's parser finds, in every file of every commit, exactly the references the
    /// model wrote there, in file order.
    fn check_parser(&self) -> Result<(), String> {
        for (id, op, files) in &self.chain {
            for (path, expected) in self.refs_at(*id) {
                let Some(Content::File(bytes)) = files.get(path) else {
                    return Err(format!("{path} is not a file at {id}"));
                };
                let found: Vec<Ref> = std::str::from_utf8(bytes)
                    .ok()
                    .and_then(|text| references(text).ok())
                    .unwrap_or_default()
                    .into_iter()
                    .map(|r| Ref {
                        image: r.image,
                        field: r.field,
                        value: r.value,
                        document: r.document,
                        yaml_path: r.yaml_path,
                    })
                    .collect();
                if &found != expected {
                    return Err(format!(
                        "references of {path} after {op}:\nengine: {found:#?}\nmodel:  {expected:#?}\n--- file\n{}",
                        String::from_utf8_lossy(bytes)
                    ));
                }
            }
        }
        Ok(())
    }

    /// Every commit of the first-parent chain with the files it changed.
    fn describe(&self) -> String {
        let mut s = String::new();
        let mut before = Snapshot::new();
        for (id, op, files) in &self.chain {
            s.push_str(&format!("=== commit {id}: {op}\n"));
            for (path, content) in files {
                if before.get(path) == Some(content) {
                    continue;
                }
                match content {
                    Content::File(bytes) => {
                        s.push_str(&format!("--- {path}\n{}", String::from_utf8_lossy(bytes)))
                    }
                    Content::Link(target) => {
                        s.push_str(&format!("--- {path} (symlink to {target})\n"))
                    }
                }
            }
            for path in before.keys().filter(|p| !files.contains_key(*p)) {
                s.push_str(&format!("--- {path} (deleted)\n"));
            }
            before = files.clone();
        }
        s
    }
}

/// Makes the writer's files equal to `files`.
fn sync(writer: &mut RepoWriter, written: &mut Snapshot, files: &Snapshot) {
    for path in written.keys() {
        if !files.contains_key(path) {
            writer.remove(path);
        }
    }
    for (path, content) in files {
        match content {
            Content::File(bytes) => writer.write_bytes(path, bytes),
            Content::Link(target) => writer.symlink(path, target),
        };
    }
    *written = files.clone();
}

// ---------------------------------------------------------------------------------------------
// The brute-force reference.

type Values = BTreeSet<(Field, Option<String>)>;
/// (file at the culprit, field, from, to).
type ChangeKey = (String, Field, Option<String>, Option<String>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Found {
        sha: String,
        walked: usize,
        files: BTreeSet<String>,
        changes: Vec<ChangeKey>,
    },
    NotReferenced {
        files: usize,
    },
    NeverBumped {
        files: usize,
        commits: usize,
    },
    Stale,
}

/// The reference's answer, with what the twins check needs.
struct Answer {
    outcome: Outcome,
    /// Every YAML file at rev and its references to the image.
    at_rev: BTreeMap<String, Vec<Ref>>,
    /// Paths at rev of the files the culprit changed.
    changed_rev_paths: BTreeSet<String>,
}

enum Origin {
    Added,
    RenamedFrom(String),
}

/// What git's rename detection says about the new side of every added or renamed file.
fn origins(repo: &Repository, parent: &Tree, tree: &Tree) -> HashMap<String, Origin> {
    let mut diff = repo
        .diff_tree_to_tree(Some(parent), Some(tree), None)
        .unwrap();
    let mut find = DiffFindOptions::new();
    find.renames(true);
    diff.find_similar(Some(&mut find)).unwrap();
    let mut out = HashMap::new();
    for delta in diff.deltas() {
        let new = delta
            .new_file()
            .path()
            .map(|p| p.to_str().unwrap().to_string());
        let old = delta
            .old_file()
            .path()
            .map(|p| p.to_str().unwrap().to_string());
        match (delta.status(), new, old) {
            (Delta::Added, Some(new), _) => {
                out.insert(new, Origin::Added);
            }
            (Delta::Renamed, Some(new), Some(old)) => {
                out.insert(new, Origin::RenamedFrom(old));
            }
            _ => {}
        }
    }
    out
}

fn to_image(refs: &[Ref], image: &str) -> Vec<Ref> {
    refs.iter().filter(|r| r.image == image).cloned().collect()
}

fn values(refs: &[Ref]) -> Values {
    refs.iter().map(|r| (r.field, r.value.clone())).collect()
}

/// A name change that keeps the versions: a name the parent's file references with exactly
/// the followed values and that the commit's file no longer references, or references only on
/// the same scalars as the followed name (a `newName` added beside `name`). Among several, the
/// one with the same repository (last path segment) as the followed name.
fn moved_from(cur: &[Ref], par: &[Ref], image: &str, vals: &Values) -> Option<String> {
    // A scalar is one place: (document, YAML path).
    let followed_places: HashSet<(usize, &str)> = cur
        .iter()
        .filter(|r| r.image == image)
        .map(|r| (r.document, r.yaml_path.as_str()))
        .collect();
    let gone_or_alias = |n: &str| {
        let now: Vec<&Ref> = cur.iter().filter(|r| r.image == n).collect();
        now.is_empty()
            || now
                .iter()
                .any(|r| followed_places.contains(&(r.document, r.yaml_path.as_str())))
    };
    let candidates: BTreeSet<&str> = par
        .iter()
        .map(|r| r.image.as_str())
        .filter(|n| *n != image && gone_or_alias(n))
        .filter(|n| &values(&to_image(par, n)) == vals)
        .collect();
    let last = |n: &str| n.rsplit('/').next().unwrap_or(n).to_string();
    match candidates.len() {
        0 => None,
        1 => candidates.into_iter().next().map(str::to_string),
        _ => {
            let same: Vec<&str> = candidates
                .into_iter()
                .filter(|n| last(n) == last(image))
                .collect();
            (same.len() == 1).then(|| same[0].to_string())
        }
    }
}

/// The places whose value differs between a file at the culprit and at its parent: places are
/// paired by (document, YAML path, field), then by field in file order; unpaired places were
/// added or removed.
fn changes_of(file: &str, cur: &[Ref], par: &[Ref]) -> Vec<ChangeKey> {
    let mut par_left: Vec<Option<&Ref>> = par.iter().map(Some).collect();
    let mut pairs: Vec<(&Ref, Option<&Ref>)> = Vec::new();
    let mut unpaired = Vec::new();
    for r in cur {
        let found = par_left.iter().position(|p| {
            p.is_some_and(|p| {
                (p.document, &p.yaml_path, p.field) == (r.document, &r.yaml_path, r.field)
            })
        });
        match found {
            Some(i) => pairs.push((r, par_left[i].take())),
            None => unpaired.push(r),
        }
    }
    for r in unpaired {
        let found = par_left
            .iter()
            .position(|p| p.is_some_and(|p| p.field == r.field));
        pairs.push((r, found.and_then(|i| par_left[i].take())));
    }
    let mut out: Vec<ChangeKey> = pairs
        .into_iter()
        .filter(|(r, p)| p.is_none_or(|p| p.value != r.value))
        .map(|(r, p)| {
            (
                file.to_string(),
                r.field,
                p.and_then(|p| p.value.clone()),
                r.value.clone(),
            )
        })
        .collect();
    out.extend(
        par_left
            .into_iter()
            .flatten()
            .map(|p| (file.to_string(), p.field, p.value.clone(), None)),
    );
    out
}

struct Followed {
    rev_path: String,
    path: String,
    image: String,
    values: Values,
}

/// The culprit for `query` (whose name stands for `image`) at `rev`, by the rule, from the
/// model's references.
fn reference(history: &History, rev: Oid, image: &str, query: &ImageRef) -> Answer {
    let repo = &history.writer.repo;
    let image = image.to_string();
    let rev_commit = repo.find_commit(rev).unwrap();
    let all_at_rev = history.refs_at(rev);
    let at_rev: BTreeMap<String, Vec<Ref>> = all_at_rev
        .iter()
        .map(|(path, refs)| (path.clone(), to_image(refs, &image)))
        .filter(|(_, refs)| !refs.is_empty())
        .collect();
    let answer = |outcome| Answer {
        outcome,
        at_rev: at_rev.clone(),
        changed_rev_paths: BTreeSet::new(),
    };
    if at_rev.is_empty() {
        return answer(Outcome::NotReferenced {
            files: all_at_rev.len(),
        });
    }
    let holds = |r: &Ref| match r.field {
        Field::Tag => query.tag.is_some() && r.value == query.tag,
        Field::Digest => query.digest.is_some() && r.value == query.digest,
    };
    let versioned = query.tag.is_some() || query.digest.is_some();
    let mut followed: Vec<Followed> = at_rev
        .iter()
        .filter(|(_, refs)| !versioned || refs.iter().any(holds))
        .map(|(path, refs)| Followed {
            rev_path: path.clone(),
            path: path.clone(),
            image: image.clone(),
            values: values(refs),
        })
        .collect();
    if followed.is_empty() {
        return answer(Outcome::Stale);
    }
    let files = followed.len();

    let mut commit = rev_commit;
    let mut walked = 0;
    while let Ok(parent) = commit.parent(0) {
        walked += 1;
        let (tree, parent_tree) = (commit.tree().unwrap(), parent.tree().unwrap());
        let cur_files = history.refs_at(commit.id());
        let par_files = history.refs_at(parent.id());
        let origins = origins(repo, &parent_tree, &tree);
        let mut next = Vec::new();
        let mut changed = Vec::new();
        for f in followed {
            let parent_path = match origins.get(&f.path) {
                Some(Origin::Added) => continue,
                Some(Origin::RenamedFrom(old)) => old.clone(),
                None => f.path.clone(),
            };
            let cur_all = &cur_files[&f.path];
            let par_all = par_files.get(&parent_path).cloned().unwrap_or_default();
            let cur = to_image(cur_all, &f.image);
            assert_eq!(values(&cur), f.values, "reference lost track of {}", f.path);
            let par = to_image(&par_all, &f.image);
            if par.is_empty() {
                if let Some(old) = moved_from(cur_all, &par_all, &f.image, &f.values) {
                    next.push(Followed {
                        path: parent_path,
                        image: old,
                        ..f
                    });
                }
                continue;
            }
            if values(&par) != f.values {
                changed.push((f, cur, par));
            } else {
                next.push(Followed {
                    path: parent_path,
                    ..f
                });
            }
        }
        if !changed.is_empty() {
            let mut changes = Vec::new();
            for (f, cur, par) in &changed {
                changes.extend(changes_of(&f.path, cur, par));
            }
            changes.sort();
            return Answer {
                outcome: Outcome::Found {
                    sha: commit.id().to_string(),
                    walked,
                    files: changed.iter().map(|(f, _, _)| f.path.clone()).collect(),
                    changes,
                },
                at_rev: at_rev.clone(),
                changed_rev_paths: changed.iter().map(|(f, _, _)| f.rev_path.clone()).collect(),
            };
        }
        followed = next;
        if followed.is_empty() {
            break;
        }
        commit = parent;
    }
    answer(Outcome::NeverBumped {
        files,
        commits: walked,
    })
}

// ---------------------------------------------------------------------------------------------
// The engine, and the comparison.

fn engine(repo: &Repository, rev: Oid, query: &ImageRef) -> (Outcome, Vec<Place>) {
    let q = Query {
        image: query.clone(),
        rev: rev.to_string(),
        paths: PathFilter::default(),
    };
    match locate::locate(repo, &q) {
        Ok(l) => {
            assert_eq!(l.rev, rev.to_string());
            let mut changes: Vec<ChangeKey> = l
                .changes
                .iter()
                .map(|c| (c.at.file.clone(), c.at.field, c.from.clone(), c.to.clone()))
                .collect();
            changes.sort();
            let outcome = Outcome::Found {
                sha: l.commit.sha.clone(),
                walked: l.commits_walked,
                files: l.changes.iter().map(|c| c.at.file.clone()).collect(),
                changes,
            };
            (outcome, l.twins)
        }
        Err(e) => {
            let fact = |err: &Error, key: &str| -> usize {
                err.fact(key)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| panic!("{key} is a count of {err}"))
            };
            let outcome = match e.downcast_ref::<Error>() {
                Some(err) if err.code() == Some(locate::NOT_REFERENCED) => Outcome::NotReferenced {
                    files: fact(err, "files"),
                },
                Some(err) if err.code() == Some(locate::NEVER_BUMPED) => Outcome::NeverBumped {
                    files: fact(err, "files"),
                    commits: fact(err, "commits"),
                },
                Some(err) if err.code() == Some(locate::STALE) => Outcome::Stale,
                _ => panic!("locate {query} at {rev} failed: {e:#}"),
            };
            (outcome, Vec::new())
        }
    }
}

/// Twins: every twin is a place at rev holding a new value of the culprit, and every file at
/// rev that holds a new value but was not changed by the culprit has one.
fn check_twins(answer: &Answer, twins: &[Place]) -> Result<(), String> {
    let Outcome::Found { changes, .. } = &answer.outcome else {
        return Ok(());
    };
    let new_values: BTreeSet<(Field, &str)> = changes
        .iter()
        .filter_map(|(_, field, _, to)| Some((*field, to.as_deref()?)))
        .collect();
    let holds_new = |r: &Ref| {
        r.value
            .as_deref()
            .is_some_and(|v| new_values.contains(&(r.field, v)))
    };
    for t in twins {
        let ok = answer.at_rev.get(&t.at.file).is_some_and(|refs| {
            refs.iter().any(|r| {
                holds_new(r)
                    && (r.document, &r.yaml_path, r.field, &r.value)
                        == (t.at.document, &t.at.yaml_path, t.at.field, &t.value)
            })
        });
        if !ok {
            return Err(format!(
                "twin {t:?} is not a place at rev holding a new value"
            ));
        }
    }
    for (path, refs) in &answer.at_rev {
        if answer.changed_rev_paths.contains(path) || !refs.iter().any(holds_new) {
            continue;
        }
        if !twins.iter().any(|t| &t.at.file == path) {
            return Err(format!("{path} holds a new value at rev but has no twin"));
        }
    }
    Ok(())
}

fn check(case: &Case) -> Result<(), TestCaseError> {
    let history = History::build(case);
    if let Err(e) = history.check_parser() {
        return Err(TestCaseError::fail(format!(
            "{e}\nhistory:\n{}",
            history.describe()
        )));
    }
    let repo = &history.writer.repo;
    let chain = &history.chain;
    let mut revs = vec![chain.last().unwrap().0];
    for pick in [case.mid, case.mid / 7] {
        let rev = chain[pick % chain.len()].0;
        if !revs.contains(&rev) {
            revs.push(rev);
        }
    }
    for rev in revs {
        let at_rev = history.refs_at(rev);
        for &img in &case.images {
            for moved in [false, true] {
                let spellings = IMAGES[img][usize::from(moved)];
                let name = spellings[case.mid % spellings.len()];
                // No version; every tag and digest held at rev; one tag not held there.
                let held: BTreeSet<(Field, &str)> = at_rev
                    .values()
                    .flatten()
                    .filter(|r| r.image == CANONICAL[img][usize::from(moved)])
                    .filter_map(|r| Some((r.field, r.value.as_deref()?)))
                    .collect();
                let other = VERSIONS
                    .iter()
                    .filter_map(|v| v.0)
                    .find(|t| !held.contains(&(Field::Tag, t)));
                let versions = held.iter().copied().chain(other.map(|t| (Field::Tag, t)));
                let mut queries = vec![ImageRef::parse(name).unwrap()];
                for (field, value) in versions {
                    let sep = if field == Field::Tag { ':' } else { '@' };
                    queries.push(ImageRef::parse(&format!("{name}{sep}{value}")).unwrap());
                }
                for query in queries {
                    let canonical = CANONICAL[img][usize::from(moved)];
                    let answer = reference(&history, rev, canonical, &query);
                    let (outcome, twins) = engine(repo, rev, &query);
                    let twins_ok = check_twins(&answer, &twins);
                    if outcome != answer.outcome || twins_ok.is_err() {
                        return Err(TestCaseError::fail(format!(
                            "locate {query} at {rev}\nengine:    {outcome:?}\nreference: {:?}\ntwins: {twins_ok:?}\nhistory:\n{}",
                            answer.outcome,
                            history.describe()
                        )));
                    }
                }
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Strategies.

/// An index into `VERSIONS`: mostly plain tags.
fn version() -> impl Strategy<Value = usize> {
    prop_oneof![12 => 0..5usize, 1 => Just(5usize), 3 => 6..8usize]
}

fn new_file() -> impl Strategy<Value = NewFile> {
    (
        any::<u8>(),
        prop::collection::vec((0..3usize, version(), any::<u8>(), 0..2usize), 0..=4),
    )
        .prop_map(|(kind, entries)| NewFile { kind, entries })
}

fn op() -> impl Strategy<Value = Op> {
    let idx = || 0..8usize;
    let leaf = prop_oneof![
        8 => (idx(), idx(), version())
            .prop_map(|(file, entry, version)| Op::Bump { file, entry, version }),
        3 => (idx(), version()).prop_map(|(img, version)| Op::BumpImage { img, version }),
        6 => (idx(), idx(), 0..5u8).prop_map(|(file, entry, what)| Op::Style { file, entry, what }),
        1 => (idx(), any::<bool>()).prop_map(|(file, add)| Op::Header { file, add }),
        2 => idx().prop_map(|file| Op::Reorder { file }),
        2 => (idx(), any::<bool>()).prop_map(|(file, edit)| Op::Rename { file, edit }),
        2 => new_file().prop_map(Op::Create),
        1 => idx().prop_map(|file| Op::Delete { file }),
        2 => (idx(), idx(), version(), any::<u8>())
            .prop_map(|(file, img, version, style)| Op::AddEntry { file, img, version, style }),
        1 => (idx(), idx()).prop_map(|(file, entry)| Op::RemoveEntry { file, entry }),
        2 => (idx(), idx()).prop_map(|(file, img)| Op::Move { file, img }),
        1 => idx().prop_map(|file| Op::MoveAll { file }),
        1 => (idx(), any::<bool>()).prop_map(|(file, utf8)| Op::Break { file, utf8 }),
        1 => idx().prop_map(|file| Op::Link { file }),
    ];
    prop_oneof![
        12 => leaf.clone(),
        1 => leaf.prop_map(|op| Op::Merged(Box::new(op))),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::sample::subsequence(vec![0usize, 1, 2, 3], 2..=3),
        prop::collection::vec(new_file(), 1..=4),
        prop::collection::vec(op(), 1..=24),
        0..64usize,
    )
        .prop_map(|(images, initial, ops, mid)| Case {
            images,
            initial,
            ops,
            mid,
        })
}

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64);
    ProptestConfig {
        cases,
        // Failing cases are replayed first on every run.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/locate_property.txt",
        ))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn locate_agrees_with_a_brute_force_reference(case in case()) {
        check(&case)?;
    }
}

/// A temp dir, in memory where the system has one: the reference reads every blob of every
/// commit it walks, and on a slow disk the opens dominate the run time.
fn scratch_dir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::tempdir_in(shm) {
            return dir;
        }
    }
    tempfile::tempdir().unwrap()
}
