//! The culprit for a workload: the most recent first-parent commit that changed the image the
//! workload is deployed with **as kustomize renders it** — an overlay that adds an `images:`
//! override, a patch, a second `images:` entry, a workload moved to another file — not only a
//! commit that edited a value in place.
//!
//! At `rev` every entry point is rendered (a kustomization no other one includes, or a
//! directory of plain manifests), the workload the alert names is found, and its container's
//! image taken. Then the walk goes back along first parents, and renders again only where a
//! file that took part in rendering the workload changed.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

use anyhow::{Context, Result};
use git2::{Odb, Oid, Repository};

use super::failure;
use super::query::{Located, Query};
use super::walk;
use crate::error::{Error, Kind};
use crate::gitstore::tree_files::TreeFiles;
use crate::gitstore::{resolve_commit, Blobs, CommitInfo, FirstParents};
use crate::image::ImageRef;
use crate::manifest::kustomize::{self, Files, Workload, KUSTOMIZATION_NAMES};
use crate::manifest::{changed_places, is_yaml_name, Change, Location, Moved, PathFilter};
use crate::subject::Named;

/// The workload an alert names, and where to look.
#[derive(Debug, Clone)]
pub struct WorkloadQuery {
    /// Candidates, most likely first (from the alert's labels).
    pub candidates: Vec<Named>,
    pub rev: String,
    /// Entry points must be under these paths (their closures may reach elsewhere).
    pub paths: PathFilter,
}

/// The workload found, its image, and the culprit.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WorkloadLocated {
    /// `NAMESPACE/KIND/NAME` as rendered (`*` for a namespace nothing sets).
    pub workload: String,
    pub container: String,
    /// The image as rendered at rev.
    pub image: String,
    /// The image as rendered before the culprit (`None`: the container had none).
    pub image_before: Option<String>,
    /// Where the workload's resource is written at rev.
    pub file: String,
    /// How the culprit was found.
    pub culprit_from: CulpritFrom,
    #[serde(flatten)]
    pub located: Located,
}

/// How a workload's culprit was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CulpritFrom {
    /// The commit that changed the image the workload is rendered with.
    Rendering,
    /// The workload's rendered history starts at its image already (its file renamed or
    /// moved, its kind changed): the commit that brought that image value into the repository,
    /// as `locate --image` finds it.
    ImageHistory,
}

/// No culprit: the workload is not found, or several match, or its image never changed.
pub const WORKLOAD_NOT_FOUND: &str = "workload_not_found";
pub const WORKLOAD_AMBIGUOUS: &str = "workload_ambiguous";

/// A workload with several containers and no container named: the one whose image changed
/// last — a rollout is started by the newest change of the pod template (an alert's `container`
/// label, when there is one, decides instead).
pub fn locate_workload(repo: &Repository, query: &WorkloadQuery) -> Result<WorkloadLocated> {
    let err = match locate_named(repo, query) {
        Ok(found) => return Ok(found),
        Err(err) => err,
    };
    let Some(names) = err
        .downcast_ref::<Error>()
        .and_then(|e| e.fact(CONTAINERS_FACT))
        .map(str::to_string)
    else {
        return Err(err);
    };
    let mut newest: Option<(i64, WorkloadLocated)> = None;
    for name in names.split(", ") {
        let one = WorkloadQuery {
            candidates: query
                .candidates
                .iter()
                .map(|c| Named {
                    container: Some(name.to_string()),
                    ..c.clone()
                })
                .collect(),
            rev: query.rev.clone(),
            paths: query.paths.clone(),
        };
        let Ok(found) = locate_named(repo, &one) else {
            continue;
        };
        let at = Oid::from_str(&found.located.commit.sha)
            .and_then(|id| repo.find_commit(id))
            .map(|c| c.committer().when().seconds())
            .unwrap_or(i64::MIN);
        if newest.as_ref().is_none_or(|(t, _)| at > *t) {
            newest = Some((at, found));
        }
    }
    newest.map(|(_, found)| found).ok_or(err)
}

/// The error fact that lists a workload's containers when none was named.
const CONTAINERS_FACT: &str = "containers";

fn locate_named(repo: &Repository, query: &WorkloadQuery) -> Result<WorkloadLocated> {
    let rev = resolve_commit(repo, &query.rev, None)?;
    let rev_commit = repo.find_commit(rev)?;
    let odb = repo.odb()?;
    let texts = RefCell::new(HashMap::new());
    let files = TreeFiles::new(&odb, rev_commit.tree_id(), &texts);
    let workloads = render_entry_points(&files, &query.paths);
    let (workload, container) = pick(&workloads, &query.candidates, &query.rev)?;
    let image_text = workload.containers[container].image.clone();
    let image = ImageRef::parse(&image_text).map_err(|e| {
        Error::new(Kind::NotFound).text(format!(
            "{} renders container {} with image {image_text:?}: {e}",
            describe(workload),
            workload.containers[container].name
        ))
    })?;
    let container_name = workload.containers[container].name.clone();

    // Walk back: the rendering changes only where a file of its closure changed. A root
    // rendered again gets the namespace its deployer gave it at rev.
    let inferred_namespace = workload.namespace.clone();
    let mut current = workload.clone();
    let mut current_image = image_text.clone();
    let mut closure = blob_ids(&files, &current.closure);
    let mut chain = FirstParents::new(repo, &odb, rev);
    let mut child = chain.next_commit()?.context("the walk starts at rev")?;
    let mut walked = 0;
    while let Some(parent) = chain.next_commit()? {
        walked += 1;
        let parent_files = TreeFiles::new(&odb, parent.tree, &texts);
        let changed = closure
            .iter()
            .any(|(path, id)| parent_files.blob(path) != *id);
        if changed {
            let parent_render = render_root(&parent_files, &current.root)
                .into_iter()
                .map(|mut w| {
                    if w.namespace.is_none() {
                        w.namespace = inferred_namespace.clone();
                    }
                    w
                })
                .find(|w| same_workload(w, &current))
                .or_else(|| {
                    render_entry_points(&parent_files, &query.paths)
                        .into_iter()
                        .find(|w| same_workload(w, &current))
                });
            let Some(before) = parent_render else {
                // The workload first appears here: its image was never changed after.
                return by_image_history(repo, query, workload, &container_name, &image, walked);
            };
            let before_image = before
                .containers
                .iter()
                .find(|c| c.name == container_name)
                .map(|c| c.image.clone());
            if before_image.as_deref() != Some(current_image.as_str()) {
                let culprit = repo.find_commit(child.id)?;
                let changes = changes(
                    repo,
                    &odb,
                    &texts,
                    child.tree,
                    parent.tree,
                    &current,
                    &before,
                    &image,
                    before_image.as_deref(),
                    &current_image,
                )?;
                return Ok(WorkloadLocated {
                    workload: describe(workload),
                    container: container_name,
                    image: image_text,
                    image_before: before_image.filter(|i| !i.is_empty()),
                    file: workload.file.clone(),
                    culprit_from: CulpritFrom::Rendering,
                    located: Located {
                        image: image.to_string(),
                        rev: rev.to_string(),
                        commit: CommitInfo::of(&culprit),
                        changes,
                        twins: Vec::new(),
                        commits_walked: walked,
                    },
                });
            }
            closure = blob_ids(&parent_files, &before.closure);
            current_image = before_image.unwrap_or_default();
            current = before;
        }
        child = parent;
    }
    by_image_history(repo, query, workload, &container_name, &image, walked)
}

/// A workload whose rendered history starts at the image it has now — created at the new tag
/// after its file was renamed or moved, or its kind changed — has no commit that changed its
/// image. Where that image value came into the repository is the culprit then, as `locate
/// --image` answers; without one, the workload's own answer stands.
fn by_image_history(
    repo: &Repository,
    query: &WorkloadQuery,
    workload: &Workload,
    container: &str,
    image: &ImageRef,
    walked: usize,
) -> Result<WorkloadLocated> {
    let by_image = Query {
        image: image.clone(),
        rev: query.rev.clone(),
        paths: query.paths.clone(),
    };
    match walk::locate(repo, &by_image) {
        Ok(located) => Ok(WorkloadLocated {
            workload: describe(workload),
            container: container.to_string(),
            image: image.to_string(),
            image_before: None,
            file: workload.file.clone(),
            culprit_from: CulpritFrom::ImageHistory,
            located,
        }),
        Err(_) => Err(never_changed(&describe(workload), &query.rev, walked)),
    }
}

fn never_changed(workload: &str, rev: &str, walked: usize) -> anyhow::Error {
    Error::new(Kind::NotFound)
        .text(format!(
            "{workload} at {rev}: no commit changed its image: walked {walked} commits back to where it first appears"
        ))
        .with_code(failure::NEVER_BUMPED)
        .with_fact("commits", walked)
        .into()
}

fn same_workload(a: &Workload, b: &Workload) -> bool {
    a.kind == b.kind && a.name == b.name && a.namespace == b.namespace
}

/// `NAMESPACE/KIND/NAME`.
pub fn describe(w: &Workload) -> String {
    format!(
        "{}/{}/{}",
        w.namespace.as_deref().unwrap_or("*"),
        w.kind,
        w.name
    )
}

fn blob_ids(files: &TreeFiles, paths: &[String]) -> Vec<(String, Option<Oid>)> {
    paths.iter().map(|p| (p.clone(), files.blob(p))).collect()
}

/// Renders one entry point.
fn render_root(files: &dyn Files, root: &str) -> Vec<Workload> {
    kustomize::render(files, &[root.to_string()])
}

/// Renders every entry point under `paths`: the kustomizations no other kustomization
/// includes, and the directories of plain manifests no kustomization includes.
fn render_entry_points(files: &TreeFiles, paths: &PathFilter) -> Vec<Workload> {
    let mut out = render_entry_points_as_written(files, paths);
    let deployers = deployers(files);
    for w in &mut out {
        fill_namespace(w, &deployers);
    }
    out
}

/// Where the rendered manifest sets no namespace, the one that what deploys its path applies
/// it to, when that is in the repository: an Argo CD Application (`spec.source.path`,
/// `spec.destination.namespace`) or a Flux Kustomization (`spec.path`, `spec.targetNamespace`).
fn fill_namespace(w: &mut Workload, deployers: &[(String, String)]) {
    if w.namespace.is_some() {
        return;
    }
    let deployed_by = deployers
        .iter()
        .filter(|(path, _)| {
            path.is_empty() || w.root == *path || w.root.starts_with(&format!("{path}/"))
        })
        // The most specific path wins.
        .max_by_key(|(path, _)| path.len());
    if let Some((_, namespace)) = deployed_by {
        w.namespace = Some(namespace.clone());
    }
}

/// `(path, namespace)` for each Argo CD Application and Flux Kustomization in the tree that
/// deploys a path of this repository into a namespace.
fn deployers(files: &TreeFiles) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(yaml) =
        crate::gitstore::tree::yaml_files(files.odb(), files.root(), &PathFilter::default())
    else {
        return out;
    };
    for (path, _) in yaml {
        let Some(text) = files.read(&path) else {
            continue;
        };
        // Most files are neither: skip them without parsing.
        if !(text.contains("argoproj.io") || text.contains("kustomize.toolkit.fluxcd.io")) {
            continue;
        }
        let Ok(docs) = crate::manifest::yaml::parse_documents(&text) else {
            continue;
        };
        for doc in docs {
            let scalar = |node: Option<&crate::manifest::yaml::Node>, key: &str| {
                node.and_then(|n| n.get_scalar(key))
                    .map(|s| s.value.clone())
            };
            let api = scalar(Some(&doc), "apiVersion").unwrap_or_default();
            let kind = scalar(Some(&doc), "kind").unwrap_or_default();
            let spec = doc.get("spec");
            let found = if api.starts_with("argoproj.io/") && kind == "Application" {
                let source = spec.and_then(|s| s.get("source"));
                scalar(source, "path")
                    .zip(scalar(spec.and_then(|s| s.get("destination")), "namespace"))
            } else if api.starts_with("kustomize.toolkit.fluxcd.io/") && kind == "Kustomization" {
                scalar(spec, "path").zip(scalar(spec, "targetNamespace"))
            } else {
                None
            };
            if let Some((deployed, namespace)) = found {
                if let Some(deployed) = crate::manifest::kustomize::normalize_path(&deployed) {
                    out.push((deployed, namespace));
                }
            }
        }
    }
    out
}

fn render_entry_points_as_written(files: &TreeFiles, paths: &PathFilter) -> Vec<Workload> {
    let mut kustomization_dirs = Vec::new();
    let mut plain_dirs = BTreeSet::new();
    list_dirs(files, "", &mut |dir, names| {
        if names
            .iter()
            .any(|n| KUSTOMIZATION_NAMES.contains(&n.as_str()))
        {
            kustomization_dirs.push(dir.to_string());
        } else if names.iter().any(|n| is_yaml_name(n)) {
            plain_dirs.insert(dir.to_string());
        }
    });
    let in_paths = |dir: &str, names: &[&str]| {
        names.iter().any(|n| {
            paths.matches(&if dir.is_empty() {
                n.to_string()
            } else {
                format!("{dir}/{n}")
            })
        })
    };
    let rendered: Vec<(String, Vec<Workload>)> = kustomization_dirs
        .iter()
        .filter(|d| in_paths(d, &KUSTOMIZATION_NAMES))
        .map(|d| (d.clone(), render_root(files, d)))
        .collect();
    // A kustomization that another one's rendering read is included, not an entry point.
    let read_by_others: BTreeSet<&str> = rendered
        .iter()
        .flat_map(|(root, ws)| {
            ws.iter()
                .flat_map(|w| w.closure.iter())
                // Any kustomization file but the root's own.
                .filter(move |f| {
                    let (dir, name) = f.rsplit_once('/').unwrap_or(("", f.as_str()));
                    dir != root && KUSTOMIZATION_NAMES.contains(&name)
                })
                .map(String::as_str)
        })
        .collect();
    let included_dir = |dir: &str| {
        KUSTOMIZATION_NAMES.iter().any(|n| {
            let f = if dir.is_empty() {
                n.to_string()
            } else {
                format!("{dir}/{n}")
            };
            read_by_others.contains(f.as_str())
        })
    };
    let mut out: Vec<Workload> = Vec::new();
    let mut in_closures = BTreeSet::new();
    for (root, ws) in &rendered {
        if included_dir(root) {
            continue;
        }
        for w in ws {
            in_closures.extend(w.closure.iter().cloned());
            out.push(w.clone());
        }
    }
    for dir in plain_dirs {
        let names = files.list(&dir);
        let yaml: Vec<String> = names
            .iter()
            .filter(|n| is_yaml_name(n))
            .map(|n| {
                if dir.is_empty() {
                    n.clone()
                } else {
                    format!("{dir}/{n}")
                }
            })
            .filter(|p| paths.matches(p) && !in_closures.contains(p))
            .collect();
        if yaml.is_empty() {
            continue;
        }
        for w in kustomize::render(files, &yaml) {
            out.push(w);
        }
    }
    out
}

/// Calls `visit(dir, names)` for every directory, depth first.
fn list_dirs(files: &TreeFiles, dir: &str, visit: &mut dyn FnMut(&str, &[String])) {
    let names = files.list(dir);
    visit(dir, &names);
    for name in &names {
        let path = if dir.is_empty() {
            name.clone()
        } else {
            format!("{dir}/{name}")
        };
        if matches!(
            files.entry(&path),
            Some((crate::gitstore::objects::EntryKind::Tree, _))
        ) {
            list_dirs(files, &path, visit);
        }
    }
}

/// The workload the candidates name, and the container: exactly one, else an error that
/// lists what matched.
fn pick<'w>(
    workloads: &'w [Workload],
    candidates: &[Named],
    rev: &str,
) -> Result<(&'w Workload, usize)> {
    if candidates.is_empty() {
        return Err(Error::new(Kind::NotFound)
            .text("the alert names no workload (no deployment, statefulset, daemonset, cronjob, job_name, rollout or pod label)")
            .with_code(WORKLOAD_NOT_FOUND)
            .into());
    }
    for candidate in candidates {
        let matches: Vec<&Workload> = workloads
            .iter()
            .filter(|w| {
                w.name == candidate.name
                    && candidate.kind.is_none_or(|k| k == w.kind)
                    && match (&candidate.namespace, &w.namespace) {
                        (Some(a), Some(b)) => a == b,
                        // Nothing in the repository sets it: the tool that applies it does.
                        _ => true,
                    }
            })
            .collect();
        let distinct: BTreeSet<(String, String)> = matches
            .iter()
            .map(|w| (describe(w), w.file.clone()))
            .collect();
        match distinct.len() {
            0 => continue,
            1 => {
                let w = follow(workloads, matches[0], rev)?;
                return Ok((w, container(w, candidate)?));
            }
            _ => {
                let listed: Vec<String> = distinct
                    .iter()
                    .map(|(d, f)| format!("{d} in {f}"))
                    .collect();
                return Err(Error::new(Kind::NotFound)
                    .text(format!(
                        "{} matches {} workloads at {rev}: {}; give the namespace or kind in the alert's labels",
                        named(candidate),
                        listed.len(),
                        listed.join(", ")
                    ))
                    .with_code(WORKLOAD_AMBIGUOUS)
                    .into());
            }
        }
    }
    let tried: Vec<String> = candidates.iter().map(named).collect();
    Err(Error::new(Kind::NotFound)
        .text(format!(
            "no workload {} is rendered from the repository at {rev} (looked at {} workloads)",
            tried.join(" or "),
            workloads.len()
        ))
        .with_code(WORKLOAD_NOT_FOUND)
        .into())
}

/// The workload whose pod template a Rollout (`workloadRef`) or a Canary (`targetRef`) runs:
/// its image is the one rolled out, and its history the one to walk.
fn follow<'w>(workloads: &'w [Workload], w: &'w Workload, rev: &str) -> Result<&'w Workload> {
    let Some(reference) = &w.reference else {
        return Ok(w);
    };
    let targets: Vec<&Workload> = workloads
        .iter()
        .filter(|t| {
            t.kind == reference.kind
                && t.name == reference.name
                && (t.namespace == w.namespace || t.namespace.is_none() || w.namespace.is_none())
        })
        .collect();
    // Rendered from the same root first (an overlay's copy, not the base's).
    targets
        .iter()
        .find(|t| t.root == w.root)
        .or_else(|| targets.first())
        .copied()
        .ok_or_else(|| {
            Error::new(Kind::NotFound)
                .text(format!(
                    "{} runs {} {}, which is not rendered from the repository at {rev} beside it",
                    describe(w),
                    reference.kind,
                    reference.name
                ))
                .with_code(WORKLOAD_NOT_FOUND)
                .into()
        })
}

fn named(n: &Named) -> String {
    format!(
        "{}/{}/{}",
        n.namespace.as_deref().unwrap_or("*"),
        n.kind.map_or("*".to_string(), |k| k.to_string()),
        n.name
    )
}

fn container(w: &Workload, candidate: &Named) -> Result<usize> {
    if let Some(name) = &candidate.container {
        return w
            .containers
            .iter()
            .position(|c| &c.name == name)
            .ok_or_else(|| {
                Error::new(Kind::NotFound)
                    .text(format!(
                        "{} has no container {name:?} (it has {})",
                        describe(w),
                        names(w)
                    ))
                    .with_code(WORKLOAD_NOT_FOUND)
                    .into()
            });
    }
    let main: Vec<usize> = w
        .containers
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.init && !c.image.is_empty())
        .map(|(i, _)| i)
        .collect();
    match main.as_slice() {
        [one] => Ok(*one),
        [] => Err(Error::new(Kind::NotFound)
            .text(format!("{} has no container with an image", describe(w)))
            .with_code(WORKLOAD_NOT_FOUND)
            .into()),
        _ => Err(Error::new(Kind::NotFound)
            .text(format!(
                "{} has {} containers ({}), and no culprit was found for any of their images; the alert needs a container label to say which",
                describe(w),
                main.len(),
                names(w)
            ))
            .with_code(WORKLOAD_AMBIGUOUS)
            .with_fact(
                CONTAINERS_FACT,
                main.iter()
                    .map(|i| w.containers[*i].name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
            .into()),
    }
}

fn names(w: &Workload) -> String {
    w.containers
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the culprit changed for the image, in the files of the workload's closure; when no
/// place changed in a file (a patch moved, a namespace changed), the rendered change itself.
#[allow(clippy::too_many_arguments)]
fn changes(
    repo: &Repository,
    odb: &Odb,
    texts: &RefCell<HashMap<Oid, Option<Rc<str>>>>,
    tree: Oid,
    parent_tree: Oid,
    after: &Workload,
    before: &Workload,
    image: &ImageRef,
    from: Option<&str>,
    to: &str,
) -> Result<Vec<Change>> {
    let new_files = TreeFiles::new(odb, tree, texts);
    let old_files = TreeFiles::new(odb, parent_tree, texts);
    let mut blobs = Blobs::new(repo)?;
    let name = image.normalized_name();
    let mut out = Vec::new();
    let paths: BTreeSet<&String> = after.closure.iter().chain(before.closure.iter()).collect();
    for path in paths {
        let (new, old) = (new_files.blob(path), old_files.blob(path));
        if new == old {
            continue;
        }
        let mut refs = |id: Option<Oid>| -> Result<Rc<[crate::manifest::Reference]>> {
            match id {
                Some(id) => blobs.all_refs(id, path, None),
                None => Ok(Rc::from(Vec::new())),
            }
        };
        // Any name the container's image had on either side: a registry move changes it.
        let (new_refs, old_refs) = (refs(new)?, refs(old)?);
        out.extend(
            changed_places(&name, &new_refs, &old_refs)
                .iter()
                .filter_map(|p| p.change(path)),
        );
    }
    if out.is_empty() {
        let split = |s: &str| ImageRef::parse(s).ok().and_then(|i| i.tag.or(i.digest));
        let name_of = |s: &str| ImageRef::parse(s).ok().map(|i| i.normalized_name());
        out.push(Change {
            at: Location {
                file: after.file.clone(),
                document: after.document,
                yaml_path: format!("(rendered) {}", describe(after)),
                line: 0,
                field: crate::manifest::Field::Tag,
            },
            from: from.and_then(split),
            to: split(to),
            moved: from
                .filter(|from| name_of(from) != name_of(to))
                .map(|from| Moved {
                    from: from.to_string(),
                    to: to.to_string(),
                }),
        });
    }
    Ok(out)
}
