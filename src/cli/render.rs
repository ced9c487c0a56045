//! Text answers for people. (`--output json` serialises the engine's reports as they are.)

use std::fmt::Write;

use revertbot::forge::pulls::{PullOutcome, PullState};
use revertbot::locate::Located;
use revertbot::manifest::place::NO_VERSION;
use revertbot::manifest::{Location, Place};
use revertbot::revert::{HoldReport, Outcome, RevertReport, UnholdReport};

/// `locate`'s answer.
pub fn located(l: &Located) -> String {
    let mut out = String::new();
    let c = &l.commit;
    let _ = writeln!(out, "culprit  {}  {}", c.short_sha(), c.subject);
    let _ = writeln!(out, "author   {} <{}>", c.author, c.email);
    let _ = writeln!(out, "date     {}", c.time);
    let _ = writeln!(out, "image    {}", l.image);
    let _ = writeln!(out, "rev      {}", l.rev);
    let _ = writeln!(out, "\nchanged ({}):", l.changes.len());
    for change in &l.changes {
        let _ = writeln!(out, "  {}  {}", location(&change.at), change.versions());
    }
    if !l.twins.is_empty() {
        let _ = writeln!(
            out,
            "\ntwins: also hold the new value, not changed by this commit ({}):",
            l.twins.len()
        );
        for twin in &l.twins {
            let _ = writeln!(out, "  {}", place(twin));
        }
    }
    let _ = writeln!(out, "\nwalked {} commits", l.commits_walked);
    out
}

/// `locate --workload`'s answer: the workload and its image, then the culprit.
pub fn workload_located(w: &revertbot::locate::WorkloadLocated) -> String {
    format!(
        "workload {}\ncontainer {}\nrendered {}  ({})\n\n{}",
        w.workload,
        w.container,
        w.image,
        w.file,
        located(&w.located)
    )
}

fn location(at: &Location) -> String {
    if at.document == 0 {
        format!("{}:{}  {}", at.file, at.line, at.yaml_path)
    } else {
        format!(
            "{}:{}  (document {}) {}",
            at.file,
            at.line,
            at.document + 1,
            at.yaml_path
        )
    }
}

fn place(p: &Place) -> String {
    format!(
        "{}  {} {}",
        location(&p.at),
        p.at.field.as_str(),
        p.value.as_deref().unwrap_or(NO_VERSION)
    )
}

/// `revert`'s answer, with the pull request when one was opened or found.
pub fn reverted(r: &RevertReport, pull: Option<&PullOutcome>) -> String {
    let mut out = String::new();
    let c = &r.culprit;
    let base_sha = revertbot::gitstore::commit::short_str(&r.base_sha);
    let _ = writeln!(out, "reverted  {}  {}", c.short_sha(), c.subject);
    let _ = writeln!(out, "base      {} ({base_sha})", r.base);
    if r.outcome == Outcome::NothingToDo {
        let by = match &r.already_reverted_by {
            Some(by) => format!(": {} {} put it back", by.short_sha(), by.subject),
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
        let _ = writeln!(out, "strategy  {}", strategy.as_str());
    }
    written(
        &mut out, r.outcome, &r.branch, &r.commit, &r.remote, r.pushed,
    );
    signed(&mut out, &r.signed_by);
    for p in &r.restored {
        let _ = writeln!(
            out,
            "restored  {}  {}  {}",
            p.at.file,
            p.at.yaml_path,
            p.versions()
        );
    }
    holds(&mut out, &r.hold, "held");
    pull_line(&mut out, pull);
    if !r.diff.is_empty() {
        let _ = writeln!(out, "\n{}", r.diff.trim_end());
    }
    out
}

/// What `unhold` did.
pub fn unheld(r: &UnholdReport, pull: Option<&PullOutcome>) -> String {
    let mut out = String::new();
    let base_sha = revertbot::gitstore::commit::short_str(&r.base_sha);
    let _ = writeln!(out, "unhold    {}:{}", r.image, r.tag);
    let _ = writeln!(out, "base      {} ({base_sha})", r.base);
    if r.outcome == Outcome::NothingToDo {
        let _ = writeln!(
            out,
            "\nnothing to do: nothing in {} holds {}:{}",
            r.base, r.image, r.tag
        );
        return out;
    }
    written(
        &mut out, r.outcome, &r.branch, &r.commit, &r.remote, r.pushed,
    );
    signed(&mut out, &r.signed_by);
    holds(&mut out, &r.lifted, "lifted");
    pull_line(&mut out, pull);
    if !r.diff.is_empty() {
        let _ = writeln!(out, "\n{}", r.diff.trim_end());
    }
    out
}

/// Where a change went (a rollback's or a lifted hold's): its branch, its commit, and the
/// remote it was pushed to.
fn written(
    out: &mut String,
    outcome: Outcome,
    branch: &Option<String>,
    commit: &Option<String>,
    remote: &Option<String>,
    pushed: bool,
) {
    if let Some(branch) = branch {
        let _ = writeln!(out, "branch    {branch} ({})", state(outcome));
    }
    if let Some(commit) = commit {
        let _ = writeln!(out, "commit    {commit}");
    }
    match remote {
        Some(remote) if pushed => {
            let _ = writeln!(out, "pushed    {remote}");
        }
        _ => {
            let _ = writeln!(out, "pushed    no");
        }
    }
}

/// The key the commit is signed with (`--signing-key`), by its fingerprint.
fn signed(out: &mut String, fingerprint: &Option<String>) {
    if let Some(fingerprint) = fingerprint {
        let _ = writeln!(out, "signed    {fingerprint}");
    }
}

fn state(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Created => "created",
        Outcome::Reused => "already there, reused",
        Outcome::DryRun => "dry run, not written",
        Outcome::NothingToDo => "",
    }
}

fn holds(out: &mut String, h: &HoldReport, verb: &str) {
    for held in &h.held {
        let note = if held.added { "" } else { " (already)" };
        let _ = writeln!(
            out,
            "{verb:<9} {}  {}  {}  {}{note}",
            held.tool, held.file, held.object, held.pattern
        );
    }
    for by_hand in &h.by_hand {
        let _ = writeln!(out, "by hand   {}: {}", by_hand.tool, by_hand.why);
        for line in by_hand.how.lines() {
            let _ = writeln!(out, "            {line}");
        }
    }
}

fn pull_line(out: &mut String, pull: Option<&PullOutcome>) {
    if let Some(pr) = pull {
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
}
