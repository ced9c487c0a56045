//! A rollback from end to end — culprit, revert, push, pull request — the one path the CLI
//! (`revert`, `pr-preview`, `demo`) and the service take.
//!
//! An [`Engine`] holds what a deployment sets once: git settings, the forge (the GitHub client,
//! built once so that App installations are looked up once; or the local forge, which keeps
//! pull requests in the journal), the clock. A [`Job`] is what one rollback asks.
//! Git work runs on the blocking pool; GitHub calls are async. Each job runs in one span with
//! the repository, image and culprit as fields.

mod target;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;
use tracing::Instrument;

use crate::alert::Payload;
use crate::clock::Clock;
use crate::error::{Error, Input, Kind};
use crate::forge::auto_merge::{self, AutoMerge, AutoMergeAsk};
use crate::forge::body::{self, AlertContext, Links};
use crate::forge::local::LocalForge;
use crate::forge::pulls::{PullDress, PullOutcome, PullRequestSpec, PullState};
use crate::forge::{Connected, ForgeKind, ForgeSettings, Forges, RepoOnForge};
use crate::gitstore::remote::{self, Source};
use crate::image::ImageRef;
use crate::journal::Handle;
use crate::registry::{self, ImageCheck, Policy, Registries, RegistrySettings};
use crate::revert::{
    self, Effects, GitSettings, Outcome as RevertOutcome, RevertReport, Target, Workspace,
};
use crate::subject::Subject;
pub use target::{repo_target, rollback_target};

/// What a deployment sets once.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    pub git: GitSettings,
    /// The forges: where pull requests are opened, and each one's address for links.
    pub forges: ForgeSettings,
    /// Whether (and how) the registries are asked before a rollback is pushed; `None`: not.
    pub registry: Option<RegistryCheck>,
}

/// The registry check: how registries are reached, and what a missing image or an unanswered
/// check does to the rollback.
#[derive(Debug, Clone)]
pub struct RegistryCheck {
    pub settings: RegistrySettings,
    pub policy: Policy,
}

/// Told of every registry check's answer (the service counts them).
pub type CheckObserver = Arc<dyn Fn(&ImageCheck) + Send + Sync>;

/// Built once; runs any number of jobs, one after another or at once.
pub struct Engine {
    git: GitSettings,
    forges: Forges,
    registry: Option<(Arc<Registries>, Policy)>,
    observer: Option<CheckObserver>,
    clock: Arc<dyn Clock>,
}

/// One rollback.
#[derive(Debug, Clone)]
pub struct Job {
    pub target: Target,
    pub effects: Effects,
    /// The alert the rollback answers: its story goes into the pull request.
    pub alert: Option<Payload>,
    /// The pull request to open, or (with [`Effects::dry_run`]) to write the text of.
    pub pull: Option<PullOptions>,
}

/// How one job's pull request is opened and dressed.
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// The repository on its forge; default: read from the remote's URL.
    pub repo: Option<RepoOnForge>,
    /// Without `repo`: the forge the remote's name is read for; default: the one whose host
    /// the remote is on, else GitHub.
    pub forge: Option<ForgeKind>,
    pub dress: PullDress,
    /// At most one "fired again" comment per pull request in this interval.
    pub comment_interval: Duration,
    /// The forge's auto-merge, asked for by a rule (or by hand); `None`: it waits for review.
    pub auto_merge: Option<AutoMergeAsk>,
}

/// A culprit as a rollback would find it.
#[derive(Debug, Clone)]
pub struct Culprit {
    pub located: crate::locate::Located,
    /// Committer time, seconds since the epoch.
    pub committed_at: i64,
    /// The culprit is itself a revert.
    pub is_revert: bool,
    /// The rollback branch for it.
    pub branch: String,
    /// When the image was found from a workload: `NAMESPACE/KIND/NAME (CONTAINER)`.
    pub workload: Option<String>,
    /// With a workload: how its culprit was found.
    pub culprit_from: Option<crate::locate::CulpritFrom>,
}

/// The pull request's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PullText {
    pub title: String,
    pub body: String,
}

/// What a job did: the rollback, and the pull request beside it.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub revert: RevertReport,
    /// The pull request's text, when one was asked for.
    pub pull_text: Option<PullText>,
    /// The pull request opened, found, or declined earlier.
    pub pull: Option<PullOutcome>,
    /// What came of the auto-merge asked for a pull request opened now; `None`: none asked,
    /// or the pull request was not opened by this run.
    pub auto_merge: Option<AutoMerge>,
}

impl Engine {
    /// Builds the engine: each forge's client once, where its credentials are given. Call
    /// within a tokio runtime.
    pub fn new(settings: EngineSettings, clock: Arc<dyn Clock>) -> Result<Engine> {
        let forges = Forges::new(&settings.forges, clock.clone())?;
        let registry = match settings.registry {
            Some(check) => Some((Arc::new(Registries::new(check.settings)?), check.policy)),
            None => None,
        };
        Ok(Engine {
            git: settings.git,
            forges,
            registry,
            observer: None,
            clock,
        })
    }

    /// The engine telling `observer` of every registry check's answer.
    pub fn observe_checks(mut self, observer: CheckObserver) -> Engine {
        self.observer = Some(observer);
        self
    }

    /// The registry check a rollback made on the blocking pool asks through: each answer told
    /// to the observer, then the policy's verdict. `None` where registries are not asked.
    fn gate(&self) -> Option<impl Fn(&[ImageRef]) -> revert::Checked + Send + 'static> {
        let (registries, policy) = self.registry.clone()?;
        let observer = self.observer.clone();
        let clock = self.clock.clone();
        let runtime = tokio::runtime::Handle::current();
        Some(move |images: &[ImageRef]| {
            let checks = runtime.block_on(registries.check(images, clock.now()));
            for check in &checks {
                tracing::info!(image = %check.image, reference = %check.reference, "registry: {}", check.summary());
                if let Some(observe) = &observer {
                    observe(check);
                }
            }
            let verdict = registry::verdict(&checks, policy).map_err(anyhow::Error::from);
            (checks, verdict)
        })
    }

    /// The engine with the local forge: pull requests are kept in `journal` instead of being
    /// opened on a forge (the forges' credentials, if any, are not used).
    pub fn with_local_forge(mut self, journal: Handle) -> Engine {
        self.forges.keep_locally(LocalForge::new(journal));
        self
    }

    /// Runs one job: reverts (and pushes) as asked, then opens or finds the pull request.
    pub async fn run(&self, job: Job) -> Result<Outcome> {
        let span = tracing::info_span!(
            "job",
            repo = %remote::redact(&source_text(&job.target.source)),
            subject = job.target.subject.as_ref().map(Subject::key).unwrap_or_default(),
            sha = tracing::field::Empty,
        );
        self.run_job(job).instrument(span).await
    }

    async fn run_job(&self, job: Job) -> Result<Outcome> {
        let Job {
            target,
            effects,
            alert,
            pull,
        } = job;
        let (cache_dir, open_target) = (self.git.cache_dir.clone(), target.clone());
        let workspace =
            blocking(move || Workspace::open(&cache_dir, &open_target, effects)).await?;
        let push_url = workspace.push_url().map(str::to_string);

        let (repo_name, forge, git) = self
            .connect(pull.as_ref(), push_url.as_deref(), effects, &target)
            .await?;
        let revert_target = target.clone();
        let pushed_with = PushedWith::of(&git, &repo_name);
        let gate = self.gate();
        let report = blocking(move || {
            let gate = gate.as_ref().map(|g| g as revert::Gate);
            revert::rollback_checked(workspace, &git.settings, &revert_target, effects, gate)
        })
        .await
        .map_err(|e| pushed_with.explain(e))?;
        tracing::Span::current().record("sha", report.reverted.as_str());

        let (Some(options), Some(name)) = (pull, repo_name) else {
            return Ok(Outcome {
                revert: report,
                pull_text: None,
                pull: None,
                auto_merge: None,
            });
        };
        let ctx = alert.as_ref().and_then(AlertContext::of);
        let dialect = self.forges.dialect(name.kind());
        let decided = options
            .auto_merge
            .as_ref()
            .map(|ask| (ask, auto_merge::verdict(ask, &report)));
        let web = forge
            .web_url()
            .map(str::to_string)
            .unwrap_or_else(|| self.forges.web_url(&name));
        let text = PullText {
            title: body::title(&report, ctx, self.forges.dialect(name.kind())),
            body: body::body(
                &report,
                &Links {
                    repo_web_url: &web,
                    dialect,
                },
                ctx,
                decided
                    .as_ref()
                    .map(|(ask, verdict)| auto_merge::section(ask, verdict, dialect))
                    .as_deref(),
            ),
        };
        let now = self
            .clock
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let branch = Publish::of(report.pushed, report.outcome, report.branch.as_deref())
            .onto(&report.base, &text)
            .comments(
                body::occurrence_comment(ctx, &now, self.forges.dialect(name.kind())),
                options.comment_interval,
            );
        let pull = self.publish(&forge, branch, options.dress, effects).await?;
        let auto_merge = match (decided, &pull) {
            (Some((ask, verdict)), Some(opened)) if opened.state == PullState::Created => Some(
                self.turn_on(&forge, opened.number, ask, verdict, dialect)
                    .await,
            ),
            _ => None,
        };
        Ok(Outcome {
            revert: report,
            pull_text: Some(text),
            pull,
            auto_merge,
        })
    }

    /// Turns the forge's auto-merge on for a pull request opened now, when the policy lets
    /// it; a forge that will not is told on the pull request, which then waits for review.
    /// A pull request found again is left as it is: whatever its first run did stands (after
    /// a crash between the two calls it waits for review, the safe side).
    async fn turn_on(
        &self,
        forge: &Connected,
        number: u64,
        ask: &AutoMergeAsk,
        verdict: Result<(), String>,
        dialect: crate::forge::markdown::Dialect,
    ) -> AutoMerge {
        let result = match verdict {
            Ok(()) => match forge.enable_auto_merge(number, ask.method).await {
                Ok(()) => Ok(()),
                Err(reason) => {
                    tracing::warn!("auto-merge not turned on for pull request {number}: {reason}");
                    let note = auto_merge::refused_comment(&reason, dialect);
                    if let Err(e) = forge.comment(number, &note, self.clock.now()).await {
                        tracing::warn!("cannot say so on pull request {number}: {e:#}");
                    }
                    Err(reason)
                }
            },
            Err(reason) => Err(reason),
        };
        AutoMerge {
            method: ask.method,
            rule: ask.rule.clone(),
            enabled: result.is_ok(),
            reason: result.err(),
        }
    }

    /// The repository a job's pull request goes to, the forge connected for it when one is to
    /// be opened (before anything is pushed: bad credentials stop the job there), and the git
    /// settings, with the forge's credentials for a push to the same host.
    async fn connect(
        &self,
        pull: Option<&PullOptions>,
        push_url: Option<&str>,
        effects: Effects,
        target: &Target,
    ) -> Result<(Option<RepoOnForge>, Connected, GitFor)> {
        let repo = match pull {
            Some(options) => {
                let kind = options
                    .repo
                    .as_ref()
                    .map(RepoOnForge::kind)
                    .or(options.forge)
                    .or_else(|| push_url.and_then(|u| self.forges.kind_of_remote(u)))
                    .unwrap_or(ForgeKind::GitHub);
                let opens = !effects.dry_run && self.forges.opens_pulls(kind);
                if !effects.dry_run && !opens {
                    return Err(Error::new(Kind::Usage)
                        .text(format!(
                            "no {} credentials to open the pull request with: set ",
                            kind.title()
                        ))
                        .input(kind.token_input())
                        .into());
                }
                let repo = self.forges.resolve_or_placeholder(
                    options.repo.as_ref(),
                    Some(kind),
                    push_url,
                    opens,
                )?;
                Some((repo, opens))
            }
            None => None,
        };
        let forge = match (pull, &repo) {
            (Some(options), Some((name, true))) => {
                let label = repo_label(options, push_url, target, &self.forges);
                self.forges.connect(name, label).await?
            }
            _ => Connected::None,
        };
        let mut git = GitFor {
            settings: self.git.clone(),
            forge_token: None,
        };
        // A push to a remote on the forge's own host uses the forge's token, unless git
        // credentials are configured.
        if let Some(url) = push_url.filter(|_| git.settings.network.auth.password.is_none()) {
            if let Some((username, password)) = self.forges.git_credentials(&forge, url).await? {
                git.settings.network.auth.username = Some(username);
                git.settings.network.auth.password = Some(password);
                git.forge_token = repo.as_ref().map(|(r, _)| r.kind());
            }
        }
        Ok((repo.map(|(r, _)| r), forge, git))
    }

    /// Lifts the holds of one tag of one image: the branch, and the pull request beside it.
    pub async fn unhold(&self, job: UnholdJob) -> Result<UnholdOutcome> {
        let span = tracing::info_span!(
            "unhold",
            repo = %remote::redact(&source_text(&job.target.source)),
            image = %job.image,
            tag = %job.tag,
        );
        async move {
            let UnholdJob {
                target,
                image,
                tag,
                effects,
                pull,
            } = job;
            let (cache_dir, open_target) = (self.git.cache_dir.clone(), target.clone());
            let push_url = blocking(move || {
                Workspace::open(&cache_dir, &open_target, effects)
                    .map(|ws| ws.push_url().map(str::to_string))
            })
            .await?;
            let (repo_name, forge, git) = self
                .connect(pull.as_ref(), push_url.as_deref(), effects, &target)
                .await?;
            let (t, i, g) = (target.clone(), image.clone(), tag.clone());
            let pushed_with = PushedWith::of(&git, &repo_name);
            let report = blocking(move || revert::unhold(&git.settings, &t, &i, &g, effects))
                .await
                .map_err(|e| pushed_with.explain(e))?;
            let (Some(options), Some(name)) = (pull, repo_name) else {
                return Ok(UnholdOutcome {
                    unhold: report,
                    pull_text: None,
                    pull: None,
                });
            };
            let text = PullText {
                title: format!("Lift the hold on {image}:{tag}"),
                body: body::unhold_body(&report, self.forges.dialect(name.kind())),
            };
            // Lifting a hold again says nothing new on its pull request.
            let branch = Publish::of(report.pushed, report.outcome, report.branch.as_deref())
                .onto(&report.base, &text)
                .comments(String::new(), Duration::MAX);
            let pull = self.publish(&forge, branch, options.dress, effects).await?;
            Ok(UnholdOutcome {
                unhold: report,
                pull_text: Some(text),
                pull,
            })
        }
        .instrument(span)
        .await
    }
}

/// A pushed branch and the pull request to open for it.
struct Publish<'a> {
    pushed: bool,
    outcome: RevertOutcome,
    head: Option<&'a str>,
    base: &'a str,
    text: Option<&'a PullText>,
    occurrence_comment: String,
    comment_interval: Duration,
}

impl<'a> Publish<'a> {
    /// What happened to the branch: a rollback's or an unhold's.
    fn of(pushed: bool, outcome: RevertOutcome, head: Option<&'a str>) -> Publish<'a> {
        Publish {
            pushed,
            outcome,
            head,
            base: "",
            text: None,
            occurrence_comment: String::new(),
            comment_interval: Duration::MAX,
        }
    }

    /// The pull request's base and text.
    fn onto(self, base: &'a str, text: &'a PullText) -> Publish<'a> {
        Publish {
            base,
            text: Some(text),
            ..self
        }
    }

    /// What is said on a pull request found again, and how often at most.
    fn comments(self, comment: String, interval: Duration) -> Publish<'a> {
        Publish {
            occurrence_comment: comment,
            comment_interval: interval,
            ..self
        }
    }
}

impl Engine {
    /// Opens the pull request of a pushed branch — a rollback's or an unhold's — or finds the
    /// one there is, on the forge connected for the job. `None` when nothing was pushed, for a
    /// dry run, and without a forge.
    async fn publish(
        &self,
        forge: &Connected,
        branch: Publish<'_>,
        dress: PullDress,
        effects: Effects,
    ) -> Result<Option<PullOutcome>> {
        let ready = branch.pushed
            && matches!(
                branch.outcome,
                RevertOutcome::Created | RevertOutcome::Reused
            );
        if !ready || effects.dry_run {
            return Ok(None);
        }
        let text = branch.text.context("a pull request has its text")?;
        let spec = PullRequestSpec {
            head: branch
                .head
                .context("a pushed branch has a name")?
                .to_string(),
            base: branch.base.to_string(),
            title: text.title.clone(),
            body: text.body.clone(),
            dress,
            occurrence_comment: branch.occurrence_comment,
            comment_interval: branch.comment_interval,
        };
        forge.ensure_pull(&spec, self.clock.now()).await
    }
}

/// The repository as a pull request the local forge keeps names it: `OWNER/NAME` (or a GitLab
/// project's path) when known, else its remote (credentials hidden).
fn repo_label(
    options: &PullOptions,
    push_url: Option<&str>,
    target: &Target,
    forges: &Forges,
) -> String {
    match forges.resolve(options.repo.as_ref(), options.forge, push_url) {
        Ok(repo) => repo.name(),
        Err(_) => remote::redact(push_url.unwrap_or(&source_text(&target.source))),
    }
}

/// The git settings of one job, and whether its push goes with a forge's token.
struct GitFor {
    settings: GitSettings,
    /// The forge whose token the push uses (none configured for git itself).
    forge_token: Option<ForgeKind>,
}

/// Who a push went as, to say what to fix when it is refused.
struct PushedWith {
    forge_token: Option<ForgeKind>,
    repo: Option<String>,
}

impl PushedWith {
    fn of(git: &GitFor, repo: &Option<RepoOnForge>) -> PushedWith {
        PushedWith {
            forge_token: git.forge_token,
            repo: repo.as_ref().map(RepoOnForge::name),
        }
    }

    /// A refused push made with the forge's token: the token opens pull requests but may not
    /// push, which is a scope to add (or git credentials to set).
    fn explain(&self, error: anyhow::Error) -> anyhow::Error {
        let refused = error
            .downcast_ref::<Error>()
            .is_some_and(|e| e.inputs().any(|i| i == Input::GitCredentials));
        let Some(kind) = self.forge_token.filter(|_| refused) else {
            return error;
        };
        let scope = match kind {
            ForgeKind::GitHub => "contents: write",
            ForgeKind::GitLab => "the write_repository scope",
            ForgeKind::Gitea => "the write:repository scope",
        };
        let repo = self.repo.as_deref().unwrap_or("the repository");
        let line = Error::new(Kind::Usage)
            .text(format!(
                "the {} token opens pull requests but git refused it for {repo}: give it {scope}, or set ",
                kind.title()
            ))
            .input(Input::GitCredentials);
        error.context(line)
    }
}

/// Lifting one hold.
#[derive(Debug, Clone)]
pub struct UnholdJob {
    pub target: Target,
    /// The image, without tag.
    pub image: String,
    pub tag: String,
    pub effects: Effects,
    /// Its `auto_merge` is not read: lifting a hold lets image automation bump again, which
    /// a person decides.
    pub pull: Option<PullOptions>,
}

/// What lifting a hold did.
#[derive(Debug, Clone)]
pub struct UnholdOutcome {
    pub unhold: revert::UnholdReport,
    pub pull_text: Option<PullText>,
    pub pull: Option<PullOutcome>,
}

impl Engine {
    /// Opens a target's repository and, for a URL, brings its mirror up to date: what a
    /// service does for each repository at start-up, so that the first job is fast.
    pub async fn prepare(&self, target: &Target) -> Result<()> {
        let (git, target) = (self.git.clone(), target.clone());
        blocking(move || {
            let mut ws = Workspace::open(&git.cache_dir, &target, Effects::default())?;
            ws.sync(&target, &git.network)
        })
        .await
    }

    /// Makes the rollback a job would make — culprit, strategy, hold, branch, diff — and writes
    /// nothing but the mirror cache: from the mirror as it is (fetched first if there is none
    /// yet, or when `fetch`).
    pub async fn preview(&self, target: &Target, fetch: bool) -> Result<RevertReport> {
        let (git, target) = (self.git.clone(), target.clone());
        let gate = self.gate();
        blocking(move || {
            let gate = gate.as_ref().map(|g| g as revert::Gate);
            let offline = Effects {
                dry_run: true,
                offline: true,
                push: false,
            };
            match Workspace::open(&git.cache_dir, &target, offline) {
                Ok(ws) if !fetch => revert::rollback_checked(ws, &git, &target, offline, gate),
                _ => {
                    let online = Effects {
                        offline: false,
                        ..offline
                    };
                    let ws = Workspace::open(&git.cache_dir, &target, online)?;
                    revert::rollback_checked(ws, &git, &target, online, gate)
                }
            }
        })
        .await
    }

    /// Finds the culprit for a target's image as a rollback would, without writing anything
    /// but the mirror cache: from the mirror as it is (fetched first if there is none yet, or
    /// when `fetch`).
    pub async fn find_culprit(&self, target: &Target, fetch: bool) -> Result<Culprit> {
        let (git, target) = (self.git.clone(), target.clone());
        blocking(move || {
            let offline = Effects {
                offline: true,
                ..Effects::default()
            };
            let ws = match Workspace::open(&git.cache_dir, &target, offline) {
                Ok(ws) if !fetch => ws,
                _ => {
                    let mut ws = Workspace::open(&git.cache_dir, &target, Effects::default())?;
                    ws.sync(&target, &git.network)?;
                    ws
                }
            };
            let repo = ws.repo();
            // Resolved as the rollback resolves it, so that both say the same.
            let rev = ws.base(&target)?.1.to_string();
            let give_image = || Error::new(Kind::Usage).text("give ").input(Input::Image);
            let subject = target.subject.as_ref().ok_or_else(give_image)?;
            let found = crate::locate::culprit(repo, subject, &rev, &target.paths)?;
            // A commit given by hand is its own culprit: there is nothing to find.
            let located = found.located.ok_or_else(give_image)?;
            let image_name = found.image.as_ref().map(|i| i.name.as_str());
            let commit = repo.find_commit(found.commit)?;
            let committed_at = commit.committer().when().seconds();
            let is_revert = crate::revert::message::is_a_revert(commit.message_raw().unwrap_or(""));
            let branch = crate::revert::rollback_branch(repo, commit.id(), image_name)?;
            Ok(Culprit {
                committed_at,
                is_revert,
                branch,
                located,
                workload: found.workload,
                culprit_from: found.culprit_from,
            })
        })
        .await
    }

    /// Says on a rollback's pull request that its alert resolved, and when it was merged
    /// already (`merged_at`, milliseconds since the epoch, as its forge told), how long after
    /// the merge. `repo` and `forge` as [`PullOptions`]: read from `remote_url` when not given.
    pub async fn note_resolved(
        &self,
        repo: Option<&RepoOnForge>,
        forge: Option<ForgeKind>,
        remote_url: &str,
        number: u64,
        alert: Option<&Payload>,
        merged_at: Option<i64>,
    ) -> Result<()> {
        let ctx = alert.and_then(AlertContext::of);
        let now = self.clock.now();
        let dialect = match self.forges.resolve(repo, forge, Some(remote_url)) {
            Ok(repo) => self.forges.dialect(repo.kind()),
            Err(_) => self.forges.dialect(forge.unwrap_or(ForgeKind::GitHub)),
        };
        let merged_at = merged_at.and_then(chrono::DateTime::from_timestamp_millis);
        let text = body::resolved_comment(ctx, now, merged_at, dialect);
        self.forges
            .comment(
                || self.forges.resolve(repo, forge, Some(remote_url)),
                number,
                text,
                now,
            )
            .await
    }

    /// Whether a pull request at `url` (as a job recorded it) for a repository on `forge` is
    /// on this engine's forge for it.
    pub fn keeps_pull(&self, forge: ForgeKind, url: &str) -> bool {
        self.forges.keeps_pull(forge, url)
    }

    /// Whether pull requests are opened for a repository on `forge` (with credentials for
    /// it, or locally).
    pub fn opens_pulls(&self, forge: ForgeKind) -> bool {
        self.forges.opens_pulls(forge)
    }

    /// Whether pull requests are kept in the journal (`forge: local`).
    pub fn keeps_pulls_locally(&self) -> bool {
        self.forges.is_local()
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// What became of pull request `number` of a repository, as its forge says now. `repo`
    /// and `forge` as [`PullOptions`]: read from `remote_url` when not given.
    pub async fn pull_fate(
        &self,
        repo: Option<&RepoOnForge>,
        forge: Option<ForgeKind>,
        remote_url: &str,
        number: u64,
    ) -> Result<crate::forge::fate::PullFate> {
        let repo = self.forges.resolve(repo, forge, Some(remote_url))?;
        self.forges.fate(&repo, number).await
    }
}

/// Runs git work on the blocking pool (`Repository` is not `Sync`, and its calls block).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .context("the git work stopped unexpectedly")?
}

fn source_text(source: &Source) -> String {
    match source {
        Source::Url(url) => url.clone(),
        Source::Path(path) => path.display().to_string(),
    }
}
