//! The status page: recent jobs and deliveries from the journal, newest first, and a page per
//! job with its diff and timeline. Server-rendered HTML with no script and no external asset,
//! readable on a phone. Alert text is untrusted: everything shown is escaped.

use std::fmt::Write;

use chrono::{DateTime, SecondsFormat};

use super::markdown;
use crate::alert::Payload;
use crate::forge::local::LOCAL_PULLS;
use crate::journal::{DeliveryRecord, Fate, JobDetail, JobRecord, LocalPull, RollbackSummary};

/// The front page's summary covers this many days, up to now.
pub const SUMMARY_DAYS: i64 = 7;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:0.75rem;color:#1b1f23}\
h1{font-size:1.3rem}h2{font-size:1.1rem;margin-top:1.5rem}\
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:0.9rem}\
th,td{border-bottom:1px solid #ddd;padding:0.3rem 0.4rem;text-align:left;vertical-align:top}\
code,pre{font-family:ui-monospace,monospace;font-size:0.85rem}pre{background:#f6f8fa;padding:0.6rem;overflow-x:auto}\
.forge{font-size:0.75rem;background:#eaeef2;border-radius:0.6rem;padding:0 0.4rem;white-space:nowrap}\
.done,.merged{color:#1a7f37}.closed{color:#cf222e}.open{color:#9a6700}.fate{font-size:0.8rem}\
.summary{display:flex;flex-wrap:wrap;gap:0.3rem 1.2rem;margin:0}.summary div{display:flex;gap:0.4rem}.summary dt{font-weight:400}.summary dd{font-weight:600}\
.done{color:#1a7f37}.failed{color:#cf222e}.running,.queued{color:#9a6700}\
.pull,.comment{border:1px solid #ddd;border-radius:6px;padding:0 0.8rem;margin:0.6rem 0;overflow-wrap:anywhere}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:0.2rem 0.8rem}dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}";

/// `&`, `<`, `>`, `"` and `'` as entities: text and attribute values both.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        escape(title)
    )
}

fn at(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

/// A link to the pull request, when its URL is an http(s) one or a local pull request's page;
/// else its number.
fn pull_link(job: &JobRecord) -> String {
    match (&job.pr_url, job.pr_number) {
        (Some(url), Some(n))
            if url.starts_with("https://")
                || url.starts_with("http://")
                || url.starts_with(LOCAL_PULLS) =>
        {
            format!("<a href=\"{}\">#{n}</a>", escape(url))
        }
        (_, Some(n)) => format!("#{n}"),
        _ => String::new(),
    }
}

/// A small tag naming the forge the pull request went to; none for a job that recorded none.
fn forge_tag(job: &JobRecord) -> String {
    job.forge
        .as_deref()
        .map(|f| format!(" <span class=\"forge\">{}</span>", escape(f)))
        .unwrap_or_default()
}

/// What became of a rollback's pull request, in words: `merged by dana at …`, `closed by sam
/// at …`, `open`; what the forge did not tell is left out. Empty for a job with none.
fn fate_text(job: &JobRecord) -> String {
    let Some(fate) = job.fate() else {
        return String::new();
    };
    let (at_ms, by) = match fate {
        Fate::Open => (None, None),
        Fate::Merged { at, by } | Fate::Closed { at, by } => (at, by),
    };
    let mut text = fate.as_str().to_string();
    if let Some(by) = by {
        let _ = write!(text, " by {}", escape(by));
    }
    if let Some(ms) = at_ms {
        let _ = write!(text, " at {}", at(ms));
    }
    text
}

/// The fate under the pull request's link, coloured by its kind.
fn fate_tag(job: &JobRecord) -> String {
    match job.fate() {
        Some(fate) => format!(
            "<div class=\"fate {}\">{}</div>",
            fate.as_str(),
            fate_text(job)
        ),
        None => String::new(),
    }
}

/// A length of time as people read it: `under 1 min`, `14 min`, `2 h 5 min`.
fn span(ms: i64) -> String {
    let minutes = (ms.max(0) + 30_000) / 60_000;
    match minutes {
        0 => "under 1 min".into(),
        1..=59 => format!("{minutes} min"),
        _ => format!("{} h {} min", minutes / 60, minutes % 60),
    }
}

/// The rollbacks of the last days: how many pull requests were opened, merged and closed
/// unmerged, and how long a merge took, the median.
fn summary(s: &RollbackSummary) -> String {
    let median = s.median_to_merge_ms.map_or("–".to_string(), span);
    format!(
        "<h2>Rollbacks, last {SUMMARY_DAYS} days</h2><dl class=\"summary\">\
         <div><dt>opened</dt><dd>{}</dd></div><div><dt>merged</dt><dd>{}</dd></div>\
         <div><dt>closed</dt><dd>{}</dd></div><div><dt>median time to merge</dt><dd>{median}</dd></div></dl>",
        s.opened, s.merged, s.closed
    )
}

/// The list: the last days' summary, jobs, then deliveries.
pub fn index(
    rollbacks: &RollbackSummary,
    jobs: &[JobRecord],
    deliveries: &[DeliveryRecord],
) -> String {
    let mut b = String::from("<h1>revertbot</h1>");
    b.push_str(&summary(rollbacks));
    let _ = write!(
        b,
        "<h2>Jobs ({})</h2><div class=\"scroll\"><table><tr>",
        jobs.len()
    );
    for h in [
        "job",
        "state",
        "repository",
        "target",
        "culprit",
        "outcome",
        "strategy",
        "hold",
        "pull request",
        "error",
        "updated",
    ] {
        let _ = write!(b, "<th>{h}</th>");
    }
    b.push_str("</tr>");
    for j in jobs {
        let error = match (&j.error_kind, &j.error) {
            (Some(kind), Some(e)) => format!("{}: {}", escape(kind), escape(e)),
            _ => String::new(),
        };
        let _ = write!(
            b,
            "<tr><td><a href=\"/jobs/{id}\">{id}</a> {kind}</td><td class=\"{state}\">{state}</td><td>{repo}</td>\
             <td><code>{target}</code></td><td><code>{culprit}</code></td><td>{outcome}</td><td>{strategy}</td>\
             <td>{hold}</td><td>{pull}{forge}{fate}</td><td>{error}</td><td>{updated}</td></tr>",
            id = j.id,
            kind = escape(j.kind.as_str()),
            state = escape(&j.state),
            repo = escape(&j.repo),
            target = escape(&j.target),
            culprit = escape(short(j.culprit.as_deref().unwrap_or(""))),
            outcome = escape(j.outcome.as_deref().unwrap_or("")),
            strategy = escape(j.strategy.as_deref().unwrap_or("")),
            hold = escape(j.hold.as_deref().unwrap_or("")),
            pull = pull_link(j),
            forge = forge_tag(j),
            fate = fate_tag(j),
            updated = at(j.updated_at),
        );
    }
    b.push_str("</table></div>");
    let _ = write!(b, "<h2>Deliveries ({})</h2><div class=\"scroll\"><table><tr><th>received</th><th>receiver</th><th>status</th><th>alerts</th></tr>", deliveries.len());
    for d in deliveries {
        let mut alerts = String::new();
        for a in &d.alerts {
            let job = a
                .job
                .map(|id| format!(" → <a href=\"/jobs/{id}\">job {id}</a>"))
                .unwrap_or_default();
            let reason = a
                .reason
                .as_deref()
                .map(|r| format!(": {}", escape(r)))
                .unwrap_or_default();
            let _ = write!(
                alerts,
                "<div>{} <em>{}</em> {}{reason}{job}</div>",
                escape(&a.alertname),
                escape(&a.status),
                escape(&a.decision)
            );
        }
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{alerts}</td></tr>",
            at(d.received_at),
            escape(&d.receiver),
            escape(&d.status)
        );
    }
    b.push_str("</table></div>");
    page("revertbot", &b)
}

/// One job: what it is, its timeline, its alert, its diff.
pub fn job(detail: &JobDetail) -> String {
    let j = &detail.job;
    let mut b = format!(
        "<p><a href=\"/\">← all jobs</a></p><h1>Job {} <span class=\"{}\">{}</span></h1><dl>",
        j.id,
        escape(&j.state),
        escape(&j.state)
    );
    let mut row = |k: &str, v: String| {
        if !v.is_empty() {
            let _ = write!(b, "<dt>{k}</dt><dd>{v}</dd>");
        }
    };
    row("kind", escape(j.kind.as_str()));
    row("repository", escape(&j.repo));
    row("target", format!("<code>{}</code>", escape(&j.target)));
    row(
        "culprit",
        format!(
            "<code>{}</code>",
            escape(j.culprit.as_deref().unwrap_or(""))
        ),
    );
    row("outcome", escape(j.outcome.as_deref().unwrap_or("")));
    row("strategy", escape(j.strategy.as_deref().unwrap_or("")));
    row(
        "branch",
        format!("<code>{}</code>", escape(j.branch.as_deref().unwrap_or(""))),
    );
    row("hold", escape(j.hold.as_deref().unwrap_or("")));
    row("auto-merge", escape(j.auto_merge.as_deref().unwrap_or("")));
    row("pull request", pull_link(j));
    row("forge", escape(j.forge.as_deref().unwrap_or("")));
    row(
        "registry",
        escape(j.registry.as_deref().unwrap_or("")).replace('\n', "<br>"),
    );
    row(
        "pull request state",
        escape(j.pr_state.as_deref().unwrap_or("")),
    );
    row("fate", fate_text(j));
    row(
        "error",
        match (&j.error_kind, &j.error) {
            (Some(kind), Some(e)) => format!(
                "{}{}: {}",
                escape(kind),
                detail
                    .error_code
                    .as_deref()
                    .map(|c| format!(" ({})", escape(c)))
                    .unwrap_or_default(),
                escape(e)
            ),
            _ => String::new(),
        },
    );
    row("attempts", j.attempts.to_string());
    row("ran by", escape(j.ran_by.as_deref().unwrap_or("")));
    b.push_str("</dl><h2>Timeline</h2><dl>");
    if let Some(received) = detail.received_at {
        let _ = write!(b, "<dt>received</dt><dd>{}</dd>", at(received));
    }
    let _ = write!(b, "<dt>queued</dt><dd>{}</dd>", at(j.created_at));
    let last = match j.state.as_str() {
        "done" | "failed" => "ended",
        _ => "last update",
    };
    let mut what = Vec::new();
    if let (Some(branch), Some("created" | "reused" | "found" | "merged" | "declined")) =
        (&j.branch, j.outcome.as_deref())
    {
        what.push(format!("branch <code>{}</code> pushed", escape(branch)));
    }
    if j.pr_number.is_some() {
        what.push(format!("pull request {}", pull_link(j)));
    }
    let what = if what.is_empty() {
        String::new()
    } else {
        format!(" ({})", what.join(", "))
    };
    let _ = write!(b, "<dt>{last}</dt><dd>{}{what}</dd>", at(j.updated_at));
    // After the job, what its forge told: the merge, or the close.
    if let Some(Fate::Merged { at: Some(t), .. } | Fate::Closed { at: Some(t), .. }) = j.fate() {
        let fate = j.fate().map_or("", |f| f.as_str());
        let _ = write!(b, "<dt>{fate}</dt><dd>{}</dd>", at(t));
    }
    b.push_str("</dl>");
    if let Ok(payload) = Payload::from_json(detail.alert.as_bytes()) {
        if let Some(alert) = payload.primary() {
            let _ = write!(b, "<h2>Alert {}</h2><dl>", escape(alert.name()));
            for (k, v) in alert.labels.iter().chain(alert.annotations.iter()) {
                let _ = write!(b, "<dt>{}</dt><dd>{}</dd>", escape(k), escape(v));
            }
            b.push_str("</dl>");
        }
    }
    if let Some(diff) = detail.diff.as_deref().filter(|d| !d.is_empty()) {
        let _ = write!(b, "<h2>Diff</h2><pre class=\"diff\">{}</pre>", escape(diff));
    }
    page(&format!("revertbot job {}", j.id), &b)
}

/// A pull request the local forge keeps: its text as GitHub would show it, and its comments.
pub fn pull(p: &LocalPull) -> String {
    let mut b = format!(
        "<p><a href=\"/\">← all jobs</a></p><h1>{} <span>#{}</span></h1>\
         <p><span class=\"done\">{}</span> · {} wants to merge <code>{}</code> into <code>{}</code> · \
         opened {} · kept by revertbot (<code>forge: local</code>): not on GitHub</p>\
         <div class=\"pull\">{}</div>",
        escape(&p.title),
        p.number,
        escape(&p.state),
        escape(&p.repo),
        escape(&p.head),
        escape(&p.base),
        at(p.created_at),
        markdown::to_html(&p.body),
    );
    if !p.comments.is_empty() {
        let _ = write!(b, "<h2>Comments ({})</h2>", p.comments.len());
    }
    for c in &p.comments {
        let _ = write!(
            b,
            "<div class=\"comment\"><p><em>{}</em></p>{}</div>",
            at(c.created_at),
            markdown::to_html(&c.body)
        );
    }
    page(&format!("{} #{}", p.title, p.number), &b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: i64, forge: Option<&str>) -> JobRecord {
        JobRecord {
            id,
            kind: crate::journal::JobKind::Rollback,
            repo: "gitops".into(),
            target: "app:2".into(),
            state: "done".into(),
            attempts: 1,
            created_at: 0,
            updated_at: 0,
            outcome: Some("created".into()),
            error_kind: None,
            error: None,
            culprit: None,
            branch: None,
            strategy: None,
            pr_number: Some(7),
            pr_url: Some("https://gitlab.example/acme/gitops/-/merge_requests/7".into()),
            alerts: 1,
            ran_by: None,
            hold: None,
            forge: forge.map(str::to_string),
            registry: None,
            pr_merged_at: None,
            pr_closed_at: None,
            pr_closed_by: None,
            pr_state: None,
            auto_merge: None,
        }
    }

    #[test]
    fn a_jobs_forge_is_tagged_beside_its_pull_request_and_an_old_job_has_none() {
        let page = index(
            &RollbackSummary::default(),
            &[record(2, Some("gitlab")), record(1, None)],
            &[],
        );
        assert_eq!(page.matches("class=\"forge\">").count(), 1, "{page}");
        assert!(
            page.contains("#7</a> <span class=\"forge\">gitlab</span><div"),
            "{page}"
        );
    }

    #[test]
    fn a_rollbacks_fate_is_said_on_its_row_and_page_with_who_and_when() {
        let mut merged = record(3, Some("github"));
        merged.pr_state = Some("merged".into());
        merged.pr_merged_at = Some(1_796_551_440_000);
        merged.pr_closed_at = merged.pr_merged_at;
        merged.pr_closed_by = Some("<dana>".into());
        let mut closed = record(2, Some("github"));
        closed.pr_state = Some("closed".into());
        closed.pr_closed_at = Some(1_796_551_440_000);
        closed.pr_closed_by = Some("sam".into());
        let page = index(
            &RollbackSummary::default(),
            &[merged.clone(), closed, record(1, None)],
            &[],
        );
        assert!(
            page.contains(
                "<div class=\"fate merged\">merged by &lt;dana&gt; at 2026-12-06T10:04:00Z</div>"
            ),
            "{page}"
        );
        assert!(
            page.contains("<div class=\"fate closed\">closed by sam at 2026-12-06T10:04:00Z</div>"),
            "{page}"
        );
        assert!(
            page.contains("<div class=\"fate open\">open</div>"),
            "{page}"
        );
        merged.auto_merge = Some("squash (rule <critical>)".into());
        let detail = job(&JobDetail {
            job: merged,
            error_code: None,
            diff: None,
            alert: String::new(),
            received_at: None,
        });
        assert!(
            detail.contains("<dt>fate</dt><dd>merged by &lt;dana&gt; at 2026-12-06T10:04:00Z</dd>"),
            "{detail}"
        );
        assert!(
            detail.contains("<dt>auto-merge</dt><dd>squash (rule &lt;critical&gt;)</dd>"),
            "{detail}"
        );
        assert!(
            detail.contains("<dt>merged</dt><dd>2026-12-06T10:04:00Z</dd>"),
            "{detail}"
        );
    }

    #[test]
    fn the_summary_gives_the_weeks_figures_and_the_median_in_minutes_or_hours() {
        let page = index(
            &RollbackSummary {
                since: 0,
                opened: 4,
                merged: 2,
                closed: 1,
                median_to_merge_ms: Some(125 * 60_000 + 10_000),
            },
            &[],
            &[],
        );
        assert!(
            page.contains("<dt>opened</dt><dd>4</dd></div><div><dt>merged</dt><dd>2</dd></div><div><dt>closed</dt><dd>1</dd></div><div><dt>median time to merge</dt><dd>2 h 5 min</dd>"),
            "{page}"
        );
        assert_eq!(span(29_000), "under 1 min");
        assert_eq!(span(14 * 60_000 + 31_000), "15 min");
        assert!(index(&RollbackSummary::default(), &[], &[])
            .contains("<dt>median time to merge</dt><dd>–</dd>"));
    }

    #[test]
    fn everything_shown_is_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }
}
