//! The pull request's title, body and follow-up comments (pure), in the dialect of the forge
//! they go to. Everything that comes from an alert or a commit is untrusted and goes through
//! [`markdown`].

use std::fmt::Write;

use super::markdown::{self, code, inline, quote, Dialect};
use crate::alert::{Alert, Payload};
use crate::gitstore::commit::short_str;
use crate::locate::CulpritFrom;
use crate::manifest::Change;
use crate::revert::{RevertReport, Strategy};

/// Marks revertbot's pull requests and comments, and which commit a pull request reverts.
pub const MARKER: &str = "<!-- revertbot";

/// Caps per field, in characters.
const SHORT: usize = 200;
const LONG: usize = 4_000;
const LABELS: usize = 40;
/// Room kept free under the forge's limit for the parts written after the alert.
const AFTER_ALERT: usize = 4_096;
/// Room kept free under the forge's limit for the mark a cut body ends with.
const CUT_MARK: usize = 100;

/// The alert a pull request answers.
#[derive(Clone, Copy)]
pub struct AlertContext<'a> {
    pub payload: &'a Payload,
    pub alert: &'a Alert,
}

impl<'a> AlertContext<'a> {
    pub fn of(payload: &'a Payload) -> Option<AlertContext<'a>> {
        Some(AlertContext {
            payload,
            alert: payload.primary()?,
        })
    }
}

/// Where links to the repository on the web go, e.g. `https://github.com/acme/gitops`, and
/// the forge whose pages they are, whose Markdown the text is written in.
pub struct Links<'a> {
    pub repo_web_url: &'a str,
    pub dialect: Dialect,
}

/// `Revert <image> to <old version>`, plus the alert name when there is one.
pub fn title(report: &RevertReport, alert: Option<AlertContext>, dialect: Dialect) -> String {
    let image = report
        .image
        .as_deref()
        .map(|i| crate::image::ImageRef::parse(i).map_or(i.to_string(), |r| r.name))
        .unwrap_or_else(|| format!("commit {}", short_str(&report.reverted)));
    // A place the culprit added (an `images:` override) goes back to no version there: what
    // runs then is whatever else sets it, so the title names no version for it.
    let rendered_before = report
        .rendered_before
        .as_deref()
        .and_then(|i| crate::image::ImageRef::parse(i).ok())
        .and_then(|i| i.tag.or(i.digest));
    let mut versions: Vec<&str> = unique(report.restored.iter().filter_map(|r| r.to.as_deref()));
    // A workload's rollback deploys again what was rendered before the culprit.
    if versions.is_empty() {
        versions.extend(rendered_before.as_deref());
    }
    let mut title = if versions.is_empty() {
        format!("Revert {image}")
    } else {
        format!("Revert {image} to {}", versions.join(", "))
    };
    if let Some(name) = alert.map(|a| a.alert.name()).filter(|n| !n.is_empty()) {
        write!(title, " ({})", markdown::one_line(name, 100)).ok();
    }
    markdown::title_text(&title, 250, dialect)
}

fn unique<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// `notice`: what is said right after the first paragraph and the registry's warnings (the
/// auto-merge policy).
pub fn body(
    report: &RevertReport,
    links: &Links,
    alert: Option<AlertContext>,
    notice: Option<&str>,
) -> String {
    let d = links.dialect;
    let mut b = String::new();
    let c = &report.culprit;
    writeln!(b, "{MARKER} reverts {} -->", report.reverted).ok();
    let image = report.image.as_deref().unwrap_or("");
    if image.is_empty() {
        writeln!(
            b,
            "Rolls back commit `{}` through git.\n",
            short_str(&report.reverted)
        )
        .ok();
    } else {
        writeln!(
            b,
            "Rolls {} back through git, by reverting the commit that bumped it.\n",
            code(image, SHORT)
        )
        .ok();
    }
    // What the registries could not confirm goes first: a reviewer must see it before merging.
    for check in report.registry.iter().filter(|c| c.exists != Some(true)) {
        let said = inline(check.error.as_deref().unwrap_or("no answer"), SHORT, d);
        let line = if check.exists == Some(false) {
            format!(
                "> **Warning:** {} is not in {} any more ({said}): merging this deploys an image that cannot be pulled. Push it again, or close this pull request.\n\n",
                code(&format!("{}:{}", check.image, check.reference), SHORT),
                code(&check.registry, SHORT),
            )
        } else {
            format!(
                "> **Warning:** not checked: whether {} is still in {} ({said}); check it before merging.\n\n",
                code(&format!("{}:{}", check.image, check.reference), SHORT),
                code(&check.registry, SHORT),
            )
        };
        b.push_str(&line);
    }
    if let Some(notice) = notice {
        b.push_str(notice);
    }

    if let Some(alert) = alert {
        b.push_str("### Why\n\n");
        why(&mut b, alert, d);
    }
    let budget = d.body_limit() - AFTER_ALERT;
    if b.len() > budget {
        b = markdown::truncate(&b, budget).into_owned();
        b.push('\n');
    }

    b.push_str("\n### What\n\n");
    let commit_url = d.commit_url(links.repo_web_url, &report.reverted);
    writeln!(
        b,
        "- Culprit: [`{}`]({commit_url}) {} by {}, {}",
        short_str(&report.reverted),
        inline(&c.subject, SHORT, d),
        inline(&c.author, SHORT, d),
        inline(&c.time, SHORT, d)
    )
    .ok();
    if let Some(workload) = &report.workload {
        let deployed = report.image.as_deref().unwrap_or("");
        let again = match &report.rendered_before {
            Some(before) => format!("; the rollback deploys {} again", code(before, SHORT)),
            None => String::new(),
        };
        writeln!(
            b,
            "- Workload: {}, deployed with {} as kustomize renders it{again}",
            code(workload, SHORT),
            code(deployed, SHORT)
        )
        .ok();
        if report.culprit_from == Some(CulpritFrom::ImageHistory) {
            writeln!(
                b,
                "- Found by the image's history: the workload's rendering starts at {} already (its file renamed or moved, or its kind changed), so the culprit is the commit that brought that image into the repository",
                code(deployed, SHORT)
            )
            .ok();
        }
    }
    for r in &report.restored {
        writeln!(
            b,
            "- {} {}: {}",
            code(&r.at.file, SHORT),
            code(&r.at.yaml_path, SHORT),
            versions(r)
        )
        .ok();
    }
    let strategy = match report.strategy {
        Some(Strategy::Revert) => "revert (the whole commit, like `git revert`)",
        Some(Strategy::Partial) => "partial (only this image's places of the commit are reverted)",
        Some(Strategy::Semantic) => {
            "semantic (later commits touched these lines without changing the version, so only the version scalars were set back; every other byte is kept)"
        }
        None => "none",
    };
    for check in report.registry.iter().filter(|c| c.exists == Some(true)) {
        writeln!(
            b,
            "- Registry: {} is {} in {}, checked at {}",
            code(&check.reference, SHORT),
            code(check.digest.as_deref().unwrap_or(""), SHORT),
            code(&check.registry, SHORT),
            check.checked_at
        )
        .ok();
    }
    writeln!(b, "- Strategy: {strategy}").ok();
    writeln!(
        b,
        "- Base: {} at `{}`",
        code(&report.base, SHORT),
        short_str(&report.base_sha)
    )
    .ok();
    signed(&mut b, report.signed_by.as_deref());

    if !report.twins.is_empty() || !report.left_bumped.is_empty() {
        b.push_str("\n### Warnings\n\n");
        for t in &report.twins {
            writeln!(
                b,
                "- {} {} still holds {} {}: the same version came there by another commit, and this rollback does not change it.",
                code(&t.at.file, SHORT),
                code(&t.at.yaml_path, SHORT),
                t.at.field.as_str(),
                code(t.value.as_deref().unwrap_or("none"), SHORT)
            )
            .ok();
        }
        for l in &report.left_bumped {
            writeln!(
                b,
                "- The culprit also bumped {} in {} ({}); this rollback leaves it as it is.",
                code(&l.image, SHORT),
                code(&l.change.at.file, SHORT),
                versions(&l.change)
            )
            .ok();
        }
    }

    hold(&mut b, report, d);
    write!(
        b,
        "\n### After merging\n\n\
         {}\n\n\
         ### Wrong culprit?\n\n\
         Close this {} without merging: revertbot will not open it again for this commit.\n",
        undo_hint(d),
        d.pull_noun()
    )
    .ok();
    cap(b, d.body_limit())
}

/// How to undo a merged rollback on the forge.
fn undo_hint(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::GitHub => "To undo this rollback, revert its merge commit (GitHub's **Revert** button on this pull request).",
        Dialect::GitLab => "To undo this rollback, revert its merge commit (GitLab's **Revert** button on this merge request).",
        // No button is named: Gitea and Forgejo have none on a pull request.
        Dialect::Gitea => "To undo this rollback, revert its merge commit.",
    }
}

/// `text`, cut to `limit` characters with room for the cut's mark.
fn cap(text: String, limit: usize) -> String {
    if text.chars().count() > limit {
        markdown::truncate(&text, limit - CUT_MARK).into_owned()
    } else {
        text
    }
}

/// The Hold section: what this pull request holds where, what must be held by hand, and how to
/// lift it; without holds, what image automation will do.
fn hold(b: &mut String, report: &RevertReport, d: Dialect) {
    let h = &report.hold;
    b.push_str("\n### Hold\n\n");
    if h.is_empty() {
        b.push_str(
            "Nothing in this repository holds the bad version: image automation may bump straight back to the newest tag on its next run. \
             For Flux, add the bad tag to the ImageRepository's `spec.exclusionList` (setting it drops the default `^.*\\.sig$`, keep that one); \
             for Argo CD Image Updater, to the image's ignore list; for Renovate, to `allowedVersions` as a negated regex.\n",
        );
        return;
    }
    if !h.held.is_empty() {
        b.push_str(
            "Merging this also holds the bad version, so that image automation does not bump straight back to it:\n\n",
        );
        for held in &h.held {
            writeln!(
                b,
                "- {}: {} in {} ({}), as {}{}",
                held.tool,
                code(&held.tag, SHORT),
                code(&held.file, SHORT),
                inline(&held.object, SHORT, d),
                code(&held.pattern, SHORT),
                if held.added { "" } else { " (held already)" }
            )
            .ok();
        }
    }
    if !h.by_hand.is_empty() {
        writeln!(
            b,
            "\nNot held by this {} — hold it where it is configured:\n",
            d.pull_noun()
        )
        .ok();
        for by_hand in &h.by_hand {
            writeln!(b, "- {}: {}", by_hand.tool, inline(&by_hand.why, SHORT, d)).ok();
            b.push_str(&fenced(&by_hand.how));
        }
    }
    let image = report
        .image
        .as_deref()
        .map(|i| i.rsplit_once(':').map_or(i, |(name, _)| name))
        .unwrap_or("IMAGE");
    let tags: std::collections::BTreeSet<&str> = h.held.iter().map(|x| x.tag.as_str()).collect();
    for tag in tags {
        let command =
            format!("revertbot unhold --repo REPO --image {image} --tag {tag} --push --pr");
        writeln!(
            b,
            "\nOnce a fixed version exists, lift the hold: {} opens the {} that removes it, and only it.",
            code(&command, SHORT * 2),
            d.pull_noun()
        )
        .ok();
    }
}

/// A fenced block inside a list item, its fence longer than any run of backticks in it.
fn fenced(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let body: Vec<String> = text.lines().map(|l| format!("  {l}")).collect();
    format!("\n  {fence}\n{}\n  {fence}\n", body.join("\n"))
}

/// The commit's signature, for a reviewer to match with the key the forge shows as verified.
fn signed(b: &mut String, fingerprint: Option<&str>) {
    if let Some(fingerprint) = fingerprint {
        writeln!(
            b,
            "- Signed: the commit is signed by key {}",
            code(fingerprint, SHORT)
        )
        .ok();
    }
}

/// The body of the pull request that lifts a hold.
pub fn unhold_body(report: &crate::revert::UnholdReport, dialect: Dialect) -> String {
    let mut b = String::new();
    writeln!(
        b,
        "Lifts the hold on {} so that image automation may propose it again: a fixed version exists.\n",
        code(&format!("{}:{}", report.image, report.tag), SHORT)
    )
    .ok();
    b.push_str("### What\n\n");
    for h in &report.lifted.held {
        writeln!(
            b,
            "- {}: removes {} from {} ({})",
            h.tool,
            code(&h.pattern, SHORT),
            code(&h.file, SHORT),
            inline(&h.object, SHORT, dialect)
        )
        .ok();
    }
    signed(&mut b, report.signed_by.as_deref());
    writeln!(
        b,
        "\nBased on {} at {}. Nothing else changes.",
        code(&report.base, SHORT),
        short_str(&report.base_sha)
    )
    .ok();
    b
}

/// `tag `1.5.0` → `1.4.0``, or `image `ghcr.io/acme/api:1.4.0` → `old.io/acme/api:1.4.0``
/// where the image moved: a change's versions, as code spans.
fn versions(c: &Change) -> String {
    if let Some(moved) = &c.moved {
        return format!(
            "image {} → {}",
            code(&moved.from, SHORT),
            code(&moved.to, SHORT)
        );
    }
    let version = |v: &Option<String>| code(v.as_deref().unwrap_or("none"), SHORT);
    format!(
        "{} {} → {}",
        c.at.field.as_str(),
        version(&c.from),
        version(&c.to)
    )
}

fn why(b: &mut String, ctx: AlertContext, d: Dialect) {
    let a = ctx.alert;
    let severity = a
        .labels
        .get("severity")
        .map(|s| format!(" (severity {})", inline(s, SHORT, d)))
        .unwrap_or_default();
    let since = if a.starts_at.is_empty() {
        String::new()
    } else {
        format!(", firing since {}", inline(&a.starts_at, SHORT, d))
    };
    // The others firing in the same group (two pods of one workload): counted, not listed.
    let others = ctx
        .payload
        .alerts
        .iter()
        .filter(|o| o.status == crate::alert::Status::Firing && !std::ptr::eq(*o, a))
        .count();
    let more = if others > 0 {
        format!(", +{others} more firing in this group")
    } else {
        String::new()
    };
    writeln!(
        b,
        "Alert **{}**{severity}{since}{more}.\n",
        inline(a.name(), SHORT, d)
    )
    .ok();
    for key in ["summary", "description"] {
        if let Some(text) = a.annotations.get(key) {
            writeln!(b, "{}\n", quote(text, LONG, d)).ok();
        }
    }
    if !a.labels.is_empty() {
        b.push_str("| label | value |\n| --- | --- |\n");
        for (k, v) in a.labels.iter().take(LABELS) {
            writeln!(b, "| {} | {} |", inline(k, SHORT, d), inline(v, SHORT, d)).ok();
        }
        if a.labels.len() > LABELS {
            writeln!(b, "| … | {} more labels |", a.labels.len() - LABELS).ok();
        }
        b.push('\n');
    }
    canary_note(b, a);
    let mut links = Vec::new();
    if let Some(url) = markdown::url(&a.generator_url) {
        links.push(format!("[Alert source](<{url}>)"));
    }
    if let Some(url) = silence_url(ctx.payload, a) {
        links.push(format!("[Silence this alert](<{url}>)"));
    }
    if !links.is_empty() {
        writeln!(b, "{}", links.join(" · ")).ok();
    }
}

/// For an abort by a progressive delivery tool: what it did in the cluster, and what merging
/// this does in git.
fn canary_note(b: &mut String, a: &Alert) {
    let source = a.labels.get("source").map(String::as_str);
    let note = match source {
        Some(crate::alert::canary::ARGO_ROLLOUTS) => {
            let mut details = Vec::new();
            for (key, what) in [
                ("stable_replicaset", "stable ReplicaSet"),
                ("canary_pod_hash", "canary pod hash"),
                ("phase", "phase"),
                ("images", "images rolled out"),
                ("workload_ref", "pod template from"),
            ] {
                if let Some(v) = a.annotations.get(key) {
                    details.push(format!("{what} {}", code(v, SHORT)));
                }
            }
            let details = if details.is_empty() {
                String::new()
            } else {
                format!(" ({})", details.join(", "))
            };
            format!(
                "Argo Rollouts aborted the canary{details} and sent traffic back to the stable ReplicaSet, in the cluster only: git still says the bad version. \
                 Merging this puts the Rollout's desired template back to the stable one, so Argo Rollouts returns to Healthy without running the canary steps again, \
                 and the next sync or a rebuilt cluster does not roll the bad version out again."
            )
        }
        Some(crate::alert::canary::FLAGGER) => "Flagger failed the canary analysis and routed traffic back to the primary, in the cluster only: git still says the bad version. \
             Merging this makes git say the primary's version again, so the next sync or a rebuilt cluster does not roll the failed version out again."
            .to_string(),
        _ => return,
    };
    writeln!(b, "{note}\n").ok();
}

/// Alertmanager's "new silence" page, pre-filled with the alert's labels.
pub fn silence_url(payload: &Payload, alert: &Alert) -> Option<String> {
    let base = markdown::url(&payload.external_url)?;
    let matchers: Vec<String> = alert
        .labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    let filter = format!("{{{}}}", matchers.join(", "));
    Some(format!(
        "{}/#/silences/new?filter={}",
        base.trim_end_matches('/'),
        markdown::query_component(&filter)
    ))
}

/// The comment added to an open pull request when the alert fires again.
pub fn occurrence_comment(alert: Option<AlertContext>, now: &str, dialect: Dialect) -> String {
    let mut c = format!("{MARKER}:occurrence -->\n");
    match alert {
        Some(ctx) => {
            writeln!(
                c,
                "The alert **{}** fired again ({}).",
                inline(ctx.alert.name(), SHORT, dialect),
                inline(now, SHORT, dialect)
            )
            .ok();
            if let Some(summary) = ctx.alert.annotations.get("summary") {
                writeln!(c, "\n{}", quote(summary, LONG, dialect)).ok();
            }
        }
        None => {
            writeln!(
                c,
                "revertbot was asked again for this rollback ({}).",
                inline(now, SHORT, dialect)
            )
            .ok();
        }
    }
    cap(c, dialect.comment_limit())
}

/// The comment added to a rollback's pull request when its alert resolves: the rollback may
/// still be wanted (the alert may have resolved because a person rolled back by hand), so the
/// pull request stays for people to decide. When it was merged already (`merged_at`, as its
/// forge told), there is nothing to decide: the comment says how long the service took to
/// recover after the merge instead, up to the alert's `endsAt`, or `now` when it says none.
pub fn resolved_comment(
    alert: Option<AlertContext>,
    now: chrono::DateTime<chrono::Utc>,
    merged_at: Option<chrono::DateTime<chrono::Utc>>,
    dialect: Dialect,
) -> String {
    let now_text = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut c = format!("{MARKER}:resolved -->\n");
    let name = alert.map_or("", |ctx| ctx.alert.name());
    let resolved_at = alert
        .map(|ctx| ctx.alert.ends_at.as_str())
        .filter(|t| !t.is_empty() && !t.starts_with("0001-"))
        .unwrap_or(&now_text);
    if name.is_empty() {
        writeln!(
            c,
            "The alert resolved at {}.",
            inline(resolved_at, SHORT, dialect)
        )
        .ok();
    } else {
        writeln!(
            c,
            "The alert **{}** resolved at {}.",
            inline(name, SHORT, dialect),
            inline(resolved_at, SHORT, dialect)
        )
        .ok();
    }
    match merged_at {
        Some(merged_at) => {
            let ended = alert
                .and_then(|ctx| crate::alert::rules::ended_at(ctx.alert))
                .unwrap_or(now);
            writeln!(c, "\n{}", recovered_after_merge(merged_at, ended, dialect)).ok();
        }
        None => {
            writeln!(
                c,
                "\nThis {} stays open: merge it if the version it rolls back is still bad, or close it if not.",
                dialect.pull_noun()
            )
            .ok();
        }
    }
    cap(c, dialect.comment_limit())
}

/// `Recovered N min after the rollback merged (at …).`, in whole minutes, rounded; an alert
/// that ended before the merge is said so: the rollback did not end it.
fn recovered_after_merge(
    merged_at: chrono::DateTime<chrono::Utc>,
    ended: chrono::DateTime<chrono::Utc>,
    dialect: Dialect,
) -> String {
    let at = merged_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let at = inline(&at, SHORT, dialect);
    let seconds = (ended - merged_at).num_seconds();
    let minutes = |s: i64| match (s + 30) / 60 {
        0 => "under 1 min".to_string(),
        m => format!("{m} min"),
    };
    if seconds >= 0 {
        format!(
            "Recovered {} after the rollback merged (at {at}).",
            minutes(seconds)
        )
    } else {
        format!(
            "It resolved {} before the rollback merged (at {at}).",
            minutes(-seconds)
        )
    }
}

/// Whether the "fired again" note is due on a pull request opened at `opened_at` whose notes
/// are `notes` (text and time): when revertbot's last notice — the pull request itself, or a
/// note of its own (it starts with [`MARKER`]) — is at least `interval` old.
pub fn notice_due<'a>(
    notes: impl IntoIterator<Item = (&'a str, chrono::DateTime<chrono::Utc>)>,
    opened_at: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
    interval: std::time::Duration,
) -> bool {
    let last_notice = notes
        .into_iter()
        .filter(|(text, _)| text.starts_with(MARKER))
        .map(|(_, at)| at)
        .chain([opened_at])
        .max()
        .unwrap_or(opened_at);
    let interval = chrono::Duration::from_std(interval).unwrap_or(chrono::Duration::MAX);
    now - last_notice >= interval
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn recovery_after_a_merge_is_said_in_rounded_minutes_and_an_earlier_end_is_told_apart() {
        let at = |s: i64| chrono::DateTime::from_timestamp(1_796_551_200 + s, 0).unwrap();
        let said = |s: i64| recovered_after_merge(at(0), at(s), Dialect::GitHub);
        assert_eq!(
            said(14 * 60 + 29),
            "Recovered 14 min after the rollback merged (at 2026-12-06T10:00:00Z)."
        );
        assert!(said(14 * 60 + 30).starts_with("Recovered 15 min after"));
        assert!(said(125 * 60).starts_with("Recovered 125 min after"));
        assert!(said(29).starts_with("Recovered under 1 min after"));
        assert!(said(-600).starts_with("It resolved 10 min before the rollback merged"));
    }

    #[test]
    fn a_notice_is_due_once_the_last_one_is_old_enough() {
        let at = |s: i64| chrono::DateTime::from_timestamp(s, 0).unwrap();
        let hour = Duration::from_secs(3600);
        let ours = format!("{MARKER}:occurrence -->\nfired again");
        assert!(notice_due([], at(0), at(3600), hour));
        assert!(!notice_due([], at(0), at(3599), hour));
        assert!(
            !notice_due([(ours.as_str(), at(3000))], at(0), at(3700), hour),
            "our own note an hour ago counts"
        );
        assert!(
            notice_due([("a person's comment", at(3000))], at(0), at(3700), hour),
            "a person's comment does not"
        );
        assert!(!notice_due([], at(0), at(10), Duration::MAX));
    }
}
