//! The hold: in the rollback commit itself, what keeps image automation from bumping straight
//! back to the bad version once the pull request merges — Flux's ImageRepository exclusion list,
//! Argo CD Image Updater's ignore list, Renovate's `allowedVersions` — wherever the repository
//! configures them. What is configured elsewhere is not edited: the report says how to hold it
//! by hand. A hold that cannot be made never stops the rollback.
//!
//! Lifting a hold (`unhold`) removes exactly what holding added.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use git2::build::TreeUpdateBuilder;
use git2::{FileMode, Oid, Repository, Tree, TreeWalkMode, TreeWalkResult};
use serde::Serialize;

use crate::gitstore::CommitInfo;
use crate::image::normalize_name;
use crate::manifest::hold::{argo, flux, pattern, renovate, Edited, HoldError};
use crate::manifest::yaml::{setter_on_line, SetterPart};
use crate::manifest::{Change, Field};

/// Whether a rollback also holds the bad version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HoldPolicy {
    /// Hold it wherever the repository configures image automation.
    #[default]
    Auto,
    /// Roll back only.
    None,
}

/// What was held (or lifted), and what must be held by hand.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct HoldReport {
    pub held: Vec<Held>,
    pub by_hand: Vec<ByHand>,
}

impl HoldReport {
    pub fn is_empty(&self) -> bool {
        self.held.is_empty() && self.by_hand.is_empty()
    }

    /// One line for people (the journal, `explain`): each hold, then what is left by hand.
    pub fn summary(&self) -> Option<String> {
        let held = self
            .held
            .iter()
            .map(|x| format!("{}: {} in {} ({})", x.tool, x.pattern, x.file, x.object));
        let by_hand = self
            .by_hand
            .iter()
            .map(|x| format!("{}: by hand, {}", x.tool, x.why));
        let parts: Vec<String> = held.chain(by_hand).collect();
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// One hold in a file of the repository.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Held {
    /// `flux`, `argocd-image-updater` or `renovate`.
    pub tool: &'static str,
    pub file: String,
    /// The object that holds it: `ImageRepository flux-system/podinfo`, ...
    pub object: String,
    /// The tag held.
    pub tag: String,
    /// What was written: the tool's pattern for the tag.
    pub pattern: String,
    /// False when the file held it already.
    pub added: bool,
}

/// A hold revertbot could not write: why, and how to make it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ByHand {
    pub tool: &'static str,
    pub why: String,
    /// The command or patch that holds it.
    pub how: String,
}

/// The commit trailer naming each hold, so that a later unhold (or a person) finds it.
pub const HOLD_TRAILER: &str = "Revertbot-Hold";
pub const UNHOLD_TRAILER: &str = "Revertbot-Unhold";

/// What to hold: the image (name without tag) and its bad tags.
pub struct Wanted<'a> {
    pub image: &'a str,
    pub tags: BTreeSet<String>,
    /// The places rolled back, as in base: their setter markers name Flux policies, and a
    /// write-back file names its Argo CD Application.
    pub places: &'a [Change],
}

impl<'a> Wanted<'a> {
    /// The tags a rollback's changes take away.
    pub fn from_changes(image: &'a str, restored: &'a [Change]) -> Wanted<'a> {
        Wanted {
            image,
            tags: restored
                .iter()
                .filter(|c| c.at.field == Field::Tag)
                .filter_map(|c| c.from.clone())
                .collect(),
            places: restored,
        }
    }
}

/// Holds `wanted` in `tree` (the rollback's tree); `base` is where the places' lines are read.
/// Returns the new tree and the report.
pub fn hold(
    repo: &Repository,
    tree: &Tree,
    base: &Tree,
    wanted: &Wanted,
    culprit: &CommitInfo,
) -> Result<(Oid, HoldReport)> {
    let mut files = Files::new(repo, tree)?;
    let mut report = HoldReport::default();
    if wanted.tags.is_empty() {
        return Ok((tree.id(), report));
    }
    flux_holds(repo, base, wanted, &mut files, &mut report, Direction::Hold)?;
    argo_holds(wanted, &mut files, &mut report, Direction::Hold)?;
    renovate_holds(
        wanted,
        Some(culprit),
        &mut files,
        &mut report,
        Direction::Hold,
    )?;
    Ok((files.write(repo, tree)?, report))
}

/// Lifts the holds of `tag` of `image` that revertbot (or a person, the same way) wrote.
pub fn unhold(repo: &Repository, tree: &Tree, image: &str, tag: &str) -> Result<(Oid, HoldReport)> {
    let mut files = Files::new(repo, tree)?;
    let mut report = HoldReport::default();
    let wanted = Wanted {
        image,
        tags: BTreeSet::from([tag.to_string()]),
        places: &[],
    };
    flux_holds(
        repo,
        tree,
        &wanted,
        &mut files,
        &mut report,
        Direction::Lift,
    )?;
    argo_holds(&wanted, &mut files, &mut report, Direction::Lift)?;
    renovate_holds(&wanted, None, &mut files, &mut report, Direction::Lift)?;
    Ok((files.write(repo, tree)?, report))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Hold,
    Lift,
}

/// The repository's files, read on demand, with the edits made so far.
struct Files<'r> {
    repo: &'r Repository,
    blobs: BTreeMap<String, Oid>,
    edited: BTreeMap<String, String>,
    /// Texts read so far: each kind of object is looked for across every YAML file.
    read: std::cell::RefCell<BTreeMap<String, Option<std::rc::Rc<str>>>>,
}

impl<'r> Files<'r> {
    fn new(repo: &'r Repository, tree: &Tree) -> Result<Files<'r>> {
        let mut blobs = BTreeMap::new();
        tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
            if entry.kind() == Some(git2::ObjectType::Blob) {
                if let Ok(name) = entry.name() {
                    blobs.insert(format!("{dir}{name}"), entry.id());
                }
            }
            TreeWalkResult::Ok
        })?;
        Ok(Files {
            repo,
            blobs,
            edited: BTreeMap::new(),
            read: Default::default(),
        })
    }

    fn text(&self, path: &str) -> Option<String> {
        if let Some(t) = self.edited.get(path) {
            return Some(t.clone());
        }
        self.original(path).map(|t| t.to_string())
    }

    /// The file as the tree has it, read once.
    fn original(&self, path: &str) -> Option<std::rc::Rc<str>> {
        if let Some(read) = self.read.borrow().get(path) {
            return read.clone();
        }
        let text = self
            .blobs
            .get(path)
            .and_then(|id| self.repo.find_blob(*id).ok())
            .and_then(|blob| {
                std::str::from_utf8(blob.content())
                    .ok()
                    .map(std::rc::Rc::from)
            });
        self.read
            .borrow_mut()
            .insert(path.to_string(), text.clone());
        text
    }

    /// YAML files whose text contains `needle`.
    fn yaml_containing(&self, needle: &str) -> Vec<(String, String)> {
        self.blobs
            .keys()
            .filter(|p| crate::manifest::is_yaml_name(p.rsplit('/').next().unwrap_or(p)))
            .filter(|p| match self.edited.get(*p) {
                Some(t) => t.contains(needle),
                None => self.original(p).is_some_and(|t| t.contains(needle)),
            })
            .filter_map(|p| Some((p.clone(), self.text(p)?)))
            .collect()
    }

    fn exists(&self, path: &str) -> bool {
        self.blobs.contains_key(path)
    }

    fn set(&mut self, path: &str, text: String) {
        self.edited.insert(path.to_string(), text);
    }

    fn write(self, repo: &Repository, tree: &Tree) -> Result<Oid> {
        if self.edited.is_empty() {
            return Ok(tree.id());
        }
        let mut update = TreeUpdateBuilder::new();
        for (path, text) in &self.edited {
            update.upsert(path, repo.blob(text.as_bytes())?, FileMode::Blob);
        }
        Ok(update.create_updated(repo, tree)?)
    }
}

fn apply_edit(
    files: &mut Files,
    path: &str,
    edited: Result<Edited, HoldError>,
) -> Result<bool, HoldError> {
    match edited? {
        Edited::Changed(text) => {
            files.set(path, text);
            Ok(true)
        }
        Edited::Unchanged => Ok(false),
    }
}

/// Flux: the policies named by the setter markers of the places rolled back (when holding),
/// or every ImageRepository of the image (when lifting).
fn flux_holds(
    repo: &Repository,
    base: &Tree,
    wanted: &Wanted,
    files: &mut Files,
    report: &mut HoldReport,
    direction: Direction,
) -> Result<()> {
    let mut policies = BTreeSet::new();
    for place in wanted.places {
        let Ok(entry) = base.get_path(std::path::Path::new(&place.at.file)) else {
            continue;
        };
        let Ok(blob) = repo.find_blob(entry.id()) else {
            continue;
        };
        let text = String::from_utf8_lossy(blob.content());
        let Some(line) = text.lines().nth(place.at.line.saturating_sub(1)) else {
            continue;
        };
        if let Some(setter) = setter_on_line(line) {
            if matches!(setter.part, SetterPart::Full | SetterPart::Tag) {
                policies.insert(setter.policy);
            }
        }
    }
    // The ImageRepositories to edit: `(namespace, name)`.
    let mut repositories = BTreeSet::new();
    match direction {
        Direction::Hold => {
            let defined = files.yaml_containing("ImagePolicy");
            for policy in &policies {
                let (ns, name) = policy.split_once(':').unwrap_or(("", policy));
                match defined
                    .iter()
                    .find_map(|(_, text)| flux::policy_repository(text, ns, name))
                {
                    Some(found) => {
                        repositories.insert(found);
                    }
                    None => {
                        for tag in &wanted.tags {
                            report.by_hand.push(ByHand {
                                tool: "flux",
                                why: format!(
                                    "the ImagePolicy {ns}/{name} is not in this repository"
                                ),
                                how: flux_by_hand(
                                    &format!(
                                        "the ImageRepository that ImagePolicy {ns}/{name} follows"
                                    ),
                                    ns,
                                    "IMAGE_REPOSITORY",
                                    tag,
                                ),
                            });
                        }
                    }
                }
            }
        }
        Direction::Lift => {
            for (_, text) in files.yaml_containing("ImageRepository") {
                for (ns, name) in flux_repositories_of(&text, wanted.image) {
                    repositories.insert((name, ns));
                }
            }
        }
    }
    for (name, ns) in repositories {
        let found = files
            .yaml_containing("ImageRepository")
            .into_iter()
            .find_map(|(path, text)| {
                let docs = flux::repository_documents(&text, &ns, &name);
                docs.first().map(|d| (path, text, *d))
            });
        let Some((path, text, document)) = found else {
            for tag in &wanted.tags {
                report.by_hand.push(ByHand {
                    tool: "flux",
                    why: format!("the ImageRepository {ns}/{name} is not in this repository"),
                    how: flux_by_hand(&format!("ImageRepository {ns}/{name}"), &ns, &name, tag),
                });
            }
            continue;
        };
        let mut current = text;
        for tag in &wanted.tags {
            let edited = match direction {
                Direction::Hold => flux::hold(&current, document, tag),
                Direction::Lift => flux::unhold(&current, document, tag),
            };
            match apply_edit(files, &path, edited) {
                Ok(added) => {
                    current = files.text(&path).unwrap_or(current);
                    if added || direction == Direction::Hold {
                        report.held.push(Held {
                            tool: "flux",
                            file: path.clone(),
                            object: format!("ImageRepository {ns}/{name}"),
                            tag: tag.clone(),
                            pattern: pattern::flux_regex(tag),
                            added,
                        });
                    }
                }
                Err(e) => report.by_hand.push(ByHand {
                    tool: "flux",
                    why: format!("{path}: {e}"),
                    how: flux_by_hand(&format!("ImageRepository {ns}/{name}"), &ns, &name, tag),
                }),
            }
        }
    }
    Ok(())
}

/// The ImageRepositories in `text` whose `spec.image` is `image`: `(namespace, name)`.
fn flux_repositories_of(text: &str, image: &str) -> Vec<(String, String)> {
    let Ok(docs) = crate::manifest::yaml::parse_documents(text) else {
        return Vec::new();
    };
    docs.iter()
        .filter(|d| {
            d.get_scalar("kind")
                .is_some_and(|k| k.value == "ImageRepository")
        })
        .filter(|d| {
            d.get("spec")
                .and_then(|s| s.get_scalar("image"))
                .is_some_and(|i| normalize_name(&i.value) == normalize_name(image))
        })
        .filter_map(|d| {
            let meta = d.get("metadata")?;
            Some((
                meta.get_scalar("namespace")
                    .map_or_else(String::new, |n| n.value.clone()),
                meta.get_scalar("name")?.value.clone(),
            ))
        })
        .collect()
}

fn flux_by_hand(what: &str, ns: &str, name: &str, tag: &str) -> String {
    let regex = pattern::flux_regex(tag);
    let json = serde_json::to_string(&regex).unwrap_or_default();
    format!(
        "Add {regex} to spec.exclusionList of {what}. If it has no exclusionList yet (Flux's default is ^.*\\.sig$, which setting the list drops):\n\
         kubectl -n {ns} patch imagerepository {name} --type=merge -p '{{\"spec\":{{\"exclusionList\":[\"^.*\\\\.sig$\",{json}]}}}}'\n\
         If it has one: kubectl -n {ns} patch imagerepository {name} --type=json -p '[{{\"op\":\"add\",\"path\":\"/spec/exclusionList/-\",\"value\":{json}}}]'"
    )
}

/// Argo CD Image Updater: the Applications (annotations) and ImageUpdater resources that name
/// the image; only the Application a write-back file belongs to, when a place is in one.
fn argo_holds(
    wanted: &Wanted,
    files: &mut Files,
    report: &mut HoldReport,
    direction: Direction,
) -> Result<()> {
    let app = wanted.places.iter().find_map(|p| {
        let name = p.at.file.rsplit('/').next()?;
        let app = name
            .strip_prefix(".argocd-source-")?
            .strip_suffix(".yaml")?;
        // `<namespace>_<app>` when the Application is not in Argo CD's own namespace.
        Some(app.rsplit('_').next().unwrap_or(app).to_string())
    });
    let mut found = false;
    for (path, text) in files.yaml_containing("argocd-image-updater") {
        let configs = argo::configs(&text, wanted.image, app.as_deref());
        for config in configs {
            found = true;
            for tag in &wanted.tags {
                let current = files.text(&path).unwrap_or_default();
                let edited = match direction {
                    Direction::Hold => argo::hold(&current, &config, tag),
                    Direction::Lift => argo::unhold(&current, &config, tag),
                };
                let object = match config.kind {
                    argo::ConfigKind::Annotations => format!("Application {}", config.name),
                    argo::ConfigKind::ImageUpdater => format!("ImageUpdater {}", config.name),
                };
                let object = if config.alias.is_empty() {
                    object
                } else {
                    format!("{object}, image alias {}", config.alias)
                };
                match apply_edit(files, &path, edited) {
                    Ok(added) => {
                        if added || direction == Direction::Hold {
                            report.held.push(Held {
                                tool: "argocd-image-updater",
                                file: path.clone(),
                                object,
                                tag: tag.clone(),
                                pattern: pattern::argo_glob(tag),
                                added,
                            });
                        }
                    }
                    Err(e) => report.by_hand.push(ByHand {
                        tool: "argocd-image-updater",
                        why: format!("{path}: {e}"),
                        how: argo_by_hand(&config.name, &config.alias, tag),
                    }),
                }
            }
        }
    }
    if let (Some(app), false, Direction::Hold) = (&app, found, direction) {
        for tag in &wanted.tags {
            report.by_hand.push(ByHand {
                tool: "argocd-image-updater",
                why: format!("the Image Updater configuration of Application {app} is not in this repository"),
                how: argo_by_hand(app, "ALIAS", tag),
            });
        }
    }
    Ok(())
}

fn argo_by_hand(app: &str, alias: &str, tag: &str) -> String {
    let glob = pattern::argo_glob(tag);
    format!(
        "With an ImageUpdater resource: add \"{glob}\" to the image's commonUpdateSettings.ignoreTags (copy the inherited patterns too: a list there replaces them). \
         With annotations: kubectl -n argocd annotate application {app} --overwrite 'argocd-image-updater.argoproj.io/{alias}.ignore-tags={glob}' (keep the patterns it has, comma-separated)"
    )
}

/// Renovate: the first config file it reads, when revertbot can edit it.
fn renovate_holds(
    wanted: &Wanted,
    culprit: Option<&CommitInfo>,
    files: &mut Files,
    report: &mut HoldReport,
    direction: Direction,
) -> Result<()> {
    let package = renovate_package(wanted.image);
    let tags: Vec<String> = wanted.tags.iter().cloned().collect();
    if let Some(path) = renovate::CONFIG_FILES.iter().find(|p| files.exists(p)) {
        for tag in &tags {
            let current = files.text(path).unwrap_or_default();
            let edited = match direction {
                Direction::Hold => renovate::hold(&current, &package, tag),
                Direction::Lift => renovate::unhold(&current, &package, tag),
            };
            match apply_edit(files, path, edited) {
                Ok(added) => {
                    if added || direction == Direction::Hold {
                        report.held.push(Held {
                            tool: "renovate",
                            file: path.to_string(),
                            object: format!("packageRules for {package}"),
                            tag: tag.clone(),
                            pattern: pattern::renovate_excluding(std::slice::from_ref(tag)),
                            added,
                        });
                    }
                }
                Err(e) => report.by_hand.push(ByHand {
                    tool: "renovate",
                    why: format!("{path}: {e}"),
                    how: renovate::rule_by_hand(&package, std::slice::from_ref(tag)),
                }),
            }
        }
        return Ok(());
    }
    if direction == Direction::Lift {
        return Ok(());
    }
    let other = renovate::OTHER_CONFIG_FILES
        .iter()
        .find(|p| files.exists(p));
    let by_renovate = culprit.is_some_and(|c| {
        [&c.author, &c.subject]
            .iter()
            .any(|s| s.to_ascii_lowercase().contains("renovate"))
    });
    let why = match other {
        Some(path) => format!("{path} is JSON5/JSONC, which revertbot does not edit"),
        None if by_renovate => {
            "the culprit came from Renovate, whose configuration is not in this repository".into()
        }
        None => return Ok(()),
    };
    report.by_hand.push(ByHand {
        tool: "renovate",
        why,
        how: format!(
            "Add this rule to packageRules:\n{}",
            renovate::rule_by_hand(&package, &tags)
        ),
    });
    Ok(())
}

/// The package name Renovate gives a docker image: the name as written, Docker Hub's short.
fn renovate_package(image: &str) -> String {
    let name = image
        .strip_prefix("docker.io/library/")
        .or_else(|| image.strip_prefix("docker.io/"))
        .unwrap_or(image);
    name.to_string()
}

/// The files a commit's holds wrote, from its `Revertbot-Hold` trailers.
pub fn held_files(message: &str) -> BTreeSet<String> {
    message
        .lines()
        .filter_map(|l| l.strip_prefix(HOLD_TRAILER)?.strip_prefix(": "))
        .filter_map(|rest| rest.split_whitespace().nth(1).map(str::to_string))
        .collect()
}

/// `tree` with the files the culprit's holds wrote as they are in `base`: reverting a rollback
/// (whole) puts the image back, not the automation loose again.
pub fn keep_holds(repo: &Repository, tree: Oid, base: &Tree, culprit_message: &str) -> Result<Oid> {
    let files = held_files(culprit_message);
    if files.is_empty() {
        return Ok(tree);
    }
    let tree = repo.find_tree(tree)?;
    let mut update = TreeUpdateBuilder::new();
    let mut changed = false;
    for file in &files {
        let path = std::path::Path::new(file);
        let ours = tree.get_path(path).ok().map(|e| e.id());
        match base.get_path(path) {
            Ok(entry) if ours != Some(entry.id()) => {
                update.upsert(file, entry.id(), FileMode::Blob);
                changed = true;
            }
            Err(_) if ours.is_some() => {
                update.remove(file);
                changed = true;
            }
            _ => {}
        }
    }
    if !changed {
        return Ok(tree.id());
    }
    Ok(update.create_updated(repo, &tree)?)
}

/// The commit message lines and trailers for the holds.
pub fn message_lines(report: &HoldReport) -> (Vec<String>, Vec<String>) {
    let mut lines = Vec::new();
    let mut trailers = Vec::new();
    for h in report.held.iter().filter(|h| h.added) {
        lines.push(format!(
            "Holds {} in {} ({}) so that {} does not bump back to it.",
            h.tag, h.file, h.object, h.tool
        ));
        trailers.push(format!("{HOLD_TRAILER}: {} {} {}", h.tool, h.file, h.tag));
    }
    (lines, trailers)
}
