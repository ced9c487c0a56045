//! What goes into the journal and what comes out of it.

use serde::Serialize;

use crate::subject::Subject;

/// A delivery to record, with the decision for each of its alerts.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub received_at: i64,
    pub receiver: String,
    pub group_key: String,
    pub status: String,
    /// The JSON as received.
    pub payload: String,
    pub alerts: Vec<NewAlert>,
}

#[derive(Debug, Clone)]
pub struct NewAlert {
    pub fingerprint: String,
    pub alertname: String,
    pub status: String,
    pub starts_at: String,
    pub rule: Option<String>,
    pub decision: Decision,
}

/// What to do with one alert.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// A job for the target: a new one, or the one queued or running for it already.
    Job(NewJob),
    /// No rule matched.
    Unmatched,
    /// A rule matched but the alert is not acted on: the reason (a guard, a missing label...).
    Skipped {
        repo: Option<String>,
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub kind: JobKind,
    pub repo: String,
    /// What to roll back, stored as it was routed.
    pub subject: Subject,
    /// What open jobs are keyed (and coalesced) by: [`Subject::key`].
    pub target: String,
    /// The v4 payload with only this alert, for the pull request's story.
    pub alert: String,
    pub alert_start: Option<i64>,
}

impl NewJob {
    pub fn new(
        kind: JobKind,
        repo: String,
        subject: Subject,
        alert: String,
        alert_start: Option<i64>,
    ) -> NewJob {
        NewJob {
            kind,
            repo,
            target: subject.key(),
            subject,
            alert,
            alert_start,
        }
    }
}

impl NewAlert {
    /// What its row records beside the alert itself. For a job, `job` opens or finds it and
    /// says which (`queued` or `coalesced`) and its id.
    pub(super) fn columns<'a, E>(
        &'a self,
        job: impl FnOnce(&'a NewJob) -> Result<(&'static str, i64), E>,
    ) -> Result<AlertColumns<'a>, E> {
        Ok(match &self.decision {
            Decision::Unmatched => AlertColumns {
                decision: "unmatched",
                repo: None,
                target: None,
                reason: None,
                job: None,
            },
            Decision::Skipped { repo, reason } => AlertColumns {
                decision: "skipped",
                repo: repo.as_deref(),
                target: None,
                reason: Some(reason),
                job: None,
            },
            Decision::Job(j) => {
                let (decision, id) = job(j)?;
                AlertColumns {
                    decision,
                    repo: Some(&j.repo),
                    target: Some(&j.target),
                    reason: None,
                    job: Some(id),
                }
            }
        })
    }
}

/// An alert row's columns after the alert's own: see [`NewAlert::columns`].
pub(super) struct AlertColumns<'a> {
    pub decision: &'static str,
    pub repo: Option<&'a str>,
    pub target: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub job: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    /// Roll the image back (or comment on the pull request that does).
    Rollback,
    /// The alert resolved: say so on the open pull request.
    Resolved,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Rollback => "rollback",
            JobKind::Resolved => "resolved",
        }
    }

    pub(super) fn parse(s: &str) -> JobKind {
        if s == "resolved" {
            JobKind::Resolved
        } else {
            JobKind::Rollback
        }
    }
}

/// What the journal did with each alert of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub delivery: i64,
    /// Per alert, in order: `queued`, `coalesced`, `unmatched` or `skipped`.
    pub decisions: Vec<&'static str>,
    /// Jobs made by this delivery.
    pub new_jobs: usize,
}

/// A job a worker took.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub kind: JobKind,
    pub repo: String,
    /// The key it was recorded under ([`NewJob::target`]).
    pub target: String,
    /// What to roll back, as routed; an error for a row this revertbot cannot read.
    pub subject: Result<Subject, String>,
    pub alert: String,
    pub alert_start: Option<i64>,
    /// Tries so far, this one included.
    pub attempt: u32,
    /// When the delivery that made it was recorded.
    pub created_at: i64,
}

/// How a job ended.
#[derive(Debug, Clone, Default)]
pub struct Finished {
    /// `created`, `reused`, `nothing-to-do`, `dry-run`, `commented`, ... or the error label.
    pub outcome: String,
    pub culprit: Option<String>,
    pub branch: Option<String>,
    pub strategy: Option<String>,
    pub pr_number: Option<u64>,
    pub pr_url: Option<String>,
    pub pr_state: Option<String>,
    pub diff: Option<String>,
    /// What the rollback holds (and what must be held by hand), for people.
    pub hold: Option<String>,
    /// The forge its pull request went to (`github`, `gitlab`, `gitea`, `local`); `None`: no
    /// pull request (a dry run, a resolution's note).
    pub forge: Option<String>,
    /// What the registries said of the images the rollback deploys again, a line each;
    /// `None`: not checked.
    pub registry: Option<String>,
    /// What came of the auto-merge a rule asked for, one line; `None`: none asked.
    pub auto_merge: Option<String>,
    /// The merge method, only when the forge's auto-merge was turned on.
    pub auto_merge_method: Option<String>,
}

/// What a forge told of a pull request (a webhook delivery, or a poll's answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullEvent {
    /// `github`, `gitlab`, `gitea`.
    pub forge: String,
    /// The forge's delivery id (`X-GitHub-Delivery`); a poll makes one of its own.
    pub delivery: String,
    /// `pull_request closed`, `pull_request reopened`...
    pub event: String,
    /// The pull request's web address, as the jobs recorded it.
    pub pull_url: String,
    /// `open`, `merged` or `closed` (unmerged).
    pub state: String,
    pub merged_at: Option<i64>,
    pub closed_at: Option<i64>,
    /// Who merged or closed it.
    pub closed_by: Option<String>,
}

/// What recording a [`PullEvent`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PullEventRecorded {
    /// The delivery was recorded before: nothing changed.
    pub replayed: bool,
    /// The jobs of that pull request brought up to date; 0: not a pull request revertbot
    /// opened.
    pub jobs: u64,
    /// It is merged now and was not before: a merge to count.
    pub newly_merged: bool,
}

/// A pull request jobs recorded open, on a forge, to be asked what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPull {
    /// Its web address, as the jobs recorded it.
    pub url: String,
    /// The configured repository (`repos[].name`) it was opened for.
    pub repo: String,
    /// `github`, `gitlab`, `gitea`.
    pub forge: String,
    pub number: u64,
}

/// Why a job failed.
#[derive(Debug, Clone)]
pub struct Failure {
    pub kind: String,
    pub code: Option<String>,
    pub message: String,
    /// When to try again; `None`: never.
    pub retry_at: Option<i64>,
}

/// One job, for `history` and the status page.
#[derive(Debug, Clone, Serialize)]
pub struct JobRecord {
    pub id: i64,
    pub kind: JobKind,
    pub repo: String,
    pub target: String,
    pub state: String,
    pub attempts: u32,
    pub created_at: i64,
    pub updated_at: i64,
    pub outcome: Option<String>,
    pub error_kind: Option<String>,
    pub error: Option<String>,
    pub culprit: Option<String>,
    pub branch: Option<String>,
    pub strategy: Option<String>,
    pub pr_number: Option<u64>,
    pub pr_url: Option<String>,
    pub alerts: u32,
    /// The worker (`host-pid/n`) that last took the job.
    pub ran_by: Option<String>,
    /// What the rollback holds, for people.
    pub hold: Option<String>,
    /// The forge its pull request went to (`github`, `gitlab`, `gitea`, `local`); `None`: no
    /// pull request, or a job finished before the journal recorded it.
    pub forge: Option<String>,
    /// What the registries said of the images the rollback deploys again, a line each.
    pub registry: Option<String>,
    /// When its pull request was merged, or closed unmerged, and by whom, as the forge told
    /// (milliseconds since the epoch).
    pub pr_merged_at: Option<i64>,
    pub pr_closed_at: Option<i64>,
    pub pr_closed_by: Option<String>,
    /// The pull request's state as last known: as the job left it (`created`, `found`,
    /// `declined`, `merged`), then as its forge told (`open`, `merged`, `closed`).
    pub pr_state: Option<String>,
    /// What came of the auto-merge a rule asked for: `squash (rule critical)` when the forge's
    /// auto-merge was turned on, `off (rule critical): why` when not; `None`: none asked.
    pub auto_merge: Option<String>,
}

/// One job in full, for the status page.
#[derive(Debug, Clone, Serialize)]
pub struct JobDetail {
    #[serde(flatten)]
    pub job: JobRecord,
    pub error_code: Option<String>,
    pub diff: Option<String>,
    /// The v4 payload with the one alert the job answers.
    pub alert: String,
    /// When the first delivery that asked for it was received.
    pub received_at: Option<i64>,
}

/// One delivery, for `history`.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryRecord {
    pub id: i64,
    pub received_at: i64,
    pub receiver: String,
    pub status: String,
    pub alerts: Vec<AlertRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlertRecord {
    pub fingerprint: String,
    pub alertname: String,
    pub status: String,
    pub rule: Option<String>,
    pub repo: Option<String>,
    pub target: Option<String>,
    pub decision: String,
    pub reason: Option<String>,
    pub job: Option<i64>,
}

/// What one [`crate::journal::Journal::prune`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Deliveries, with their alerts.
    pub deliveries: u64,
    pub jobs: u64,
}

impl Pruned {
    pub fn is_empty(&self) -> bool {
        self.deliveries == 0 && self.jobs == 0
    }
}

/// The latest pull request of a target's rollbacks, as its job recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastPull {
    pub number: u64,
    pub branch: String,
    /// Where it is: GitHub's web address, or the local forge's page (`/pulls/N`).
    pub url: Option<String>,
    /// When it was merged, as its forge told any job of it; `None`: not merged, or not told.
    pub merged_at: Option<i64>,
}

/// A pull request for the local forge (`forge: local`) to open, or to find open already.
#[derive(Debug, Clone, Default)]
pub struct NewLocalPull {
    /// The repository, as the pull request's page names it.
    pub repo: String,
    /// The branch to merge.
    pub head: String,
    /// The branch to merge into.
    pub base: String,
    pub title: String,
    /// Markdown.
    pub body: String,
    /// Added to the pull request when it exists already, at most once per `comment_interval`
    /// (counted from its newest comment, or its opening); empty: never.
    pub occurrence_comment: String,
    pub comment_interval_ms: i64,
}

impl NewLocalPull {
    /// Whether the occurrence comment goes on the pull request found, whose last activity (its
    /// opening, or its newest comment) was at `last`. One rule for both backends.
    pub(super) fn comment_due(&self, last: i64, now: i64) -> bool {
        !self.occurrence_comment.is_empty() && now.saturating_sub(last) >= self.comment_interval_ms
    }
}

/// What [`NewLocalPull`] found or made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalPullOutcome {
    pub number: u64,
    /// Opened now, rather than found.
    pub created: bool,
    /// The occurrence comment was added.
    pub commented: bool,
}

/// A pull request the local forge keeps, with its comments, oldest first.
#[derive(Debug, Clone, Serialize)]
pub struct LocalPull {
    pub number: u64,
    pub repo: String,
    pub head: String,
    pub base: String,
    pub title: String,
    pub body: String,
    /// `open`: the local forge neither merges nor closes.
    pub state: String,
    pub created_at: i64,
    pub comments: Vec<LocalComment>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LocalComment {
    pub body: String,
    pub created_at: i64,
}

/// One resolution of one alert on one pull request: what is noted once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteKey {
    pub repo: String,
    /// The pull request's address (GitHub's web address, or the local forge's `/pulls/N`):
    /// a number alone is another pull request on another forge.
    pub pull_url: String,
    pub pull_number: u64,
    /// Alertmanager's fingerprint of the alert's labels.
    pub fingerprint: String,
    /// When the alert started, as sent: a new firing of the same alert is another resolution.
    pub starts_at: String,
}
