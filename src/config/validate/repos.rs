//! `repos`: the GitOps repositories revertbot rolls back in, each named once for the rules.

use std::collections::BTreeSet;

use super::problems::Problems;
use super::pull_request::pull_request;
use crate::config::file::RepoFile;
use crate::config::model::{Hold, PullRequest, Repo};
use crate::manifest::PathFilter;

/// The repositories, and every name given (a repository refused for another reason still
/// takes its name, so that a rule naming it is not reported as well).
pub fn repos(
    files: Vec<RepoFile>,
    pull_requests: &PullRequest,
    p: &mut Problems<'_>,
) -> (Vec<Repo>, BTreeSet<String>) {
    let mut repos = Vec::new();
    let mut names = BTreeSet::new();
    if files.is_empty() {
        p.push(
            "repos",
            "give at least one repository to roll back in".into(),
        );
    }
    for (i, r) in files.into_iter().enumerate() {
        let at = |key: &str| format!("repos[{i}].{key}");
        let name = r.name.filter(|n| !n.trim().is_empty());
        let Some(name) = name else {
            p.push(
                &at("name"),
                "give the repository a name for rules to use".into(),
            );
            continue;
        };
        if !names.insert(name.clone()) {
            p.push(
                &at("name"),
                format!("{name:?} is the name of an earlier repository too"),
            );
        }
        let Some(url) = r.url.filter(|u| !u.trim().is_empty()) else {
            p.push(
                &at("url"),
                "give the repository's URL (or a local path)".into(),
            );
            continue;
        };
        if let Err(e) = PathFilter::new(&r.paths) {
            p.push(
                &at("paths"),
                e.render(&|_| String::new()).trim().to_string(),
            );
        }
        let github = match r.github {
            None => None,
            Some(g) => match g.split_once('/') {
                Some((o, n)) if !o.is_empty() && !n.is_empty() && !n.contains('/') => {
                    Some((o.to_string(), n.to_string()))
                }
                _ => {
                    p.push(&at("github"), format!("{g:?}: give OWNER/NAME"));
                    None
                }
            },
        };
        let pr = match &r.pull_request {
            Some(over) => pull_request(&at("pull_request"), over, pull_requests, p),
            None => pull_requests.clone(),
        };
        let hold = match r.hold.as_deref() {
            None | Some("auto") => Hold::Auto,
            Some("none") => Hold::None,
            Some(other) => {
                p.push(&at("hold"), format!("{other:?}: give auto or none"));
                Hold::Auto
            }
        };
        repos.push(Repo {
            name,
            url,
            branch: r.branch.filter(|b| !b.is_empty()),
            paths: r.paths,
            github,
            pull_request: pr,
            hold,
        });
    }
    (repos, names)
}
