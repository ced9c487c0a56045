//! `rules`: which alerts roll back in which repository, and how the image is found.

use std::collections::BTreeSet;

use super::problems::Problems;
use crate::config::file::RuleFile;
use crate::config::model::{MergeMethod, Rule};
use crate::matcher;

/// The rules; `repos` are the names the repositories were given.
pub fn rules(files: Vec<RuleFile>, repos: &BTreeSet<String>, p: &mut Problems<'_>) -> Vec<Rule> {
    let mut rules = Vec::new();
    let mut rule_names = BTreeSet::new();
    if files.is_empty() {
        p.push(
            "rules",
            "give at least one rule mapping alerts to a repository".into(),
        );
    }
    for (i, r) in files.into_iter().enumerate() {
        let at = |key: &str| format!("rules[{i}].{key}");
        let name = r
            .name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("rules[{i}]"));
        if !rule_names.insert(name.clone()) {
            p.push(
                &at("name"),
                format!("{name:?} is the name of an earlier rule too"),
            );
        }
        let mut matchers = Vec::new();
        for (j, m) in r.matchers.iter().enumerate() {
            match matcher::parse(m) {
                Ok(parsed) => matchers.extend(parsed),
                Err(e) => p.push(&format!("rules[{i}].matchers[{j}]"), e),
            }
        }
        let repo = match r.repo {
            Some(repo) if repos.contains(&repo) => repo,
            Some(repo) => {
                p.push(
                    &at("repo"),
                    format!(
                        "{repo:?} is not a repository in repos (they are: {})",
                        list(repos)
                    ),
                );
                continue;
            }
            None => {
                p.push(&at("repo"), "give the name of a repository in repos".into());
                continue;
            }
        };
        let image_label = r.image_label.filter(|l| !l.is_empty());
        if let Some(label) = &image_label {
            if !is_label_name(label) {
                p.push(&at("image_label"), format!("{label:?} is not a label name"));
            }
        }
        let workload = r.workload.unwrap_or(false);
        if image_label.is_none() && !workload {
            p.push(
                &at("image_label"),
                "give image_label, or set workload: true, or both: the rule must say how to find the image".into(),
            );
        }
        let auto_merge = match r.auto_merge.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(method) => {
                let parsed = MergeMethod::parse(method);
                if parsed.is_none() {
                    p.push(
                        &at("auto_merge"),
                        format!("{method:?}: give merge, squash or rebase (or leave it out: the rollback waits for review)"),
                    );
                }
                parsed
            }
        };
        rules.push(Rule {
            name,
            matchers,
            repo,
            image_label,
            workload,
            auto_merge,
        });
    }
    rules
}

fn list(names: &BTreeSet<String>) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
