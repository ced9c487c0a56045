//! What the service did with the demo's alert, read from its journal and told.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use revertbot::demo::DEMO_IMAGE;
use revertbot::journal::{self, DeliveryRecord, JobDetail, LocalPull};

use super::layout::Layout;

/// How long the demo waits for the service's rollback.
const JOB_TIMEOUT: Duration = Duration::from_secs(120);

/// What the service did with the demo's alert.
pub(super) struct Story {
    pub(super) delivery: DeliveryRecord,
    pub(super) job: JobDetail,
    pub(super) pull: Option<LocalPull>,
}

/// Reads the journal until the demo's job has ended.
pub(super) async fn wait_for_story(data_dir: &Path) -> Result<Story> {
    let location = journal::Location::Sqlite {
        data_dir: data_dir.to_path_buf(),
    };
    let journal = journal::Handle::open(location).await?;
    let started = Instant::now();
    loop {
        if let Some(story) = read_story(&journal).await? {
            return Ok(story);
        }
        if started.elapsed() > JOB_TIMEOUT {
            bail!(
                "the demo's rollback did not end within {} s; see the status page",
                JOB_TIMEOUT.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The first delivery, its job and its pull request, once the job has ended.
async fn read_story(journal: &journal::Handle) -> Result<Option<Story>> {
    let Some(delivery) = journal.deliveries(1).await?.into_iter().next() else {
        return Ok(None);
    };
    let Some(id) = delivery.alerts.first().and_then(|a| a.job) else {
        bail!(
            "the service took the demo's alert but made no job: {}",
            delivery
                .alerts
                .first()
                .and_then(|a| a.reason.clone())
                .unwrap_or_default()
        );
    };
    let Some(job) = journal.job(id).await? else {
        return Ok(None);
    };
    if !matches!(job.job.state.as_str(), "done" | "failed") {
        return Ok(None);
    }
    let pull = match job.job.pr_number {
        Some(n) => journal.local_pull(n).await?,
        None => None,
    };
    Ok(Some(Story {
        delivery,
        job,
        pull,
    }))
}

pub(super) fn write_story(
    out: &mut dyn Write,
    layout: &Layout,
    base: &str,
    answer: &str,
    story: &Story,
) -> Result<()> {
    let j = &story.job.job;
    writeln!(
        out,
        "revertbot demo: the service, on loopback, with the local forge\n"
    )?;
    writeln!(out, "repository   {}", layout.repo.display())?;
    writeln!(out, "remote       {}", layout.remote_url())?;
    writeln!(out, "config       {}", layout.config.display())?;
    writeln!(out, "listening    {base}\n")?;
    writeln!(
        out,
        "POST {base}/alerts  FrontendHighErrorRate: {DEMO_IMAGE} is failing in prod"
    )?;
    writeln!(out, "answer       {answer}\n")?;
    if let Some(a) = story.delivery.alerts.first() {
        writeln!(
            out,
            "rule         {} ({})",
            a.rule.as_deref().unwrap_or("none"),
            a.decision
        )?;
    }
    writeln!(
        out,
        "job          {} {}: {}",
        j.id,
        j.state,
        j.outcome.as_deref().unwrap_or("")
    )?;
    if let Some(culprit) = &j.culprit {
        writeln!(
            out,
            "culprit      {}",
            culprit_line(&layout.remote, culprit)
        )?;
    }
    if let Some(strategy) = &j.strategy {
        writeln!(out, "strategy     {strategy}")?;
    }
    if let Some(hold) = &j.hold {
        writeln!(out, "hold         {hold}")?;
    }
    if let Some(branch) = &j.branch {
        let pushed = git2::Repository::open_bare(&layout.remote)
            .and_then(|r| {
                r.find_reference(&format!("refs/heads/{branch}"))
                    .map(|_| ())
            })
            .is_ok();
        let to = if pushed {
            format!("pushed to {}", layout.remote_url())
        } else {
            "not pushed".to_string()
        };
        writeln!(out, "branch       {branch}, {to}")?;
    }
    if let (Some(kind), Some(error)) = (&j.error_kind, &j.error) {
        writeln!(out, "error        {kind}: {error}")?;
    }
    if let Some(diff) = &story.job.diff {
        writeln!(out, "\n{}", diff.trim_end())?;
    }
    if let Some(pull) = &story.pull {
        writeln!(
            out,
            "\npull request #{} (kept by revertbot: forge: local)  {base}/pulls/{}\n",
            pull.number, pull.number
        )?;
        writeln!(out, "{}\n", pull.title)?;
        writeln!(out, "{}", pull.body.trim_end())?;
    }
    let token = std::fs::read_to_string(&layout.token).unwrap_or_default();
    let with_login = base.replacen("http://", &format!("http://revertbot:{}@", token.trim()), 1);
    writeln!(
        out,
        "\nStatus page: {base}/ (user revertbot, the token in {} as password: {with_login}/)",
        layout.token.display()
    )?;
    writeln!(
        out,
        "Send the alert again (the pull request is found, not opened twice):"
    )?;
    writeln!(
        out,
        "  curl -H \"Authorization: Bearer $(cat {})\" -H 'Content-Type: application/json' --data @{} {base}/alerts",
        layout.token.display(),
        layout.alert.display()
    )?;
    Ok(())
}

/// `SHORT-SHA  summary (author, date)` of the culprit, from the remote.
fn culprit_line(remote: &Path, sha: &str) -> String {
    let short = &sha[..sha.len().min(12)];
    let described = git2::Repository::open_bare(remote).ok().and_then(|repo| {
        let commit = repo.find_commit(git2::Oid::from_str(sha).ok()?).ok()?;
        let when = chrono::DateTime::from_timestamp(commit.author().when().seconds(), 0)?;
        Some(format!(
            "{short}  {} ({}, {})",
            commit.summary().ok().flatten().unwrap_or(""),
            commit.author().name().unwrap_or(""),
            when.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ))
    });
    described.unwrap_or_else(|| short.to_string())
}
