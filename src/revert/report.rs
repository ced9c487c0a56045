//! Text rendering of a `revert` answer, for people. (`--output json` serialises the report.)

use std::fmt::Write;

use super::{Outcome, RevertReport};
use crate::forge::github::PullState;

pub fn render_text(r: &RevertReport) -> String {
    let mut out = String::new();
    let c = &r.culprit;
    let _ = writeln!(out, "reverted  {}  {}", &c.sha[..12], c.subject);
    let _ = writeln!(out, "base      {} ({})", r.base, &r.base_sha[..12]);
    if r.outcome == Outcome::NothingToDo {
        let by = match &r.already_reverted_by {
            Some(by) => format!(": {} {} put it back", &by.sha[..12], by.subject),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "\nnothing to do: {} already holds the old version{by}",
            r.base
        );
        return out;
    }
    if let Some(strategy) = r.strategy {
        let _ = writeln!(
            out,
            "strategy  {}",
            serde_json::to_value(strategy)
                .unwrap_or_default()
                .as_str()
                .unwrap_or("")
        );
    }
    if let Some(branch) = &r.branch {
        let state = match r.outcome {
            Outcome::Created => "created",
            Outcome::Reused => "already there, reused",
            Outcome::DryRun => "dry run, not written",
            Outcome::NothingToDo => "",
        };
        let _ = writeln!(out, "branch    {branch} ({state})");
    }
    if let Some(commit) = &r.commit {
        let _ = writeln!(out, "commit    {commit}");
    }
    match (&r.remote, r.pushed) {
        (Some(remote), true) => {
            let _ = writeln!(out, "pushed    {remote}");
        }
        _ => {
            let _ = writeln!(out, "pushed    no");
        }
    }
    for p in &r.restored {
        let _ = writeln!(
            out,
            "restored  {}  {}  {} {} -> {}",
            p.file,
            p.yaml_path,
            p.field.as_str(),
            p.from.as_deref().unwrap_or("(none)"),
            p.to.as_deref().unwrap_or("(none)")
        );
    }
    if let Some(pr) = &r.pull_request {
        let state = match pr.state {
            PullState::Created => "opened",
            PullState::Found if pr.commented => "already open; commented",
            PullState::Found => "already open",
            PullState::Declined => "closed without merging earlier; not reopened",
            PullState::Merged => "already merged",
        };
        let _ = writeln!(out, "pull      #{} {} ({state})", pr.number, pr.url);
        for w in &pr.warnings {
            let _ = writeln!(out, "warning   {w}");
        }
    }
    if !r.diff.is_empty() {
        let _ = writeln!(out, "\n{}", r.diff.trim_end());
    }
    out
}
