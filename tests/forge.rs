//! The rollback pull request end to end: revertbot's real octocrab client against a stateful
//! fake GitHub on loopback, through Prism validating every request and response against
//! GitHub's own OpenAPI description. Each test asserts the fake's final state.

mod common;

use common::{gitops, Gitops};

use std::time::Duration;

use common::fake_github::FakeGitHub;
use revertbot::alert::Payload;
use revertbot::clock::SystemClock;
use revertbot::forge::github::{GitHubAuth, GitHubSettings, RepoName, RetryPolicy};
use revertbot::forge::pulls::{PullDress, PullOutcome, PullState};
use revertbot::forge::{ForgeKind, ForgeSettings, RepoOnForge};
use revertbot::pipeline::{Engine, EngineSettings, Job, PullOptions};
use revertbot::revert::RevertReport;
use revertbot_testkit::prism::Prism;

const TOKEN: &str = "ghp_revertbot_test_token";
const OWNER: &str = "acme";

/// The GitHub a deployment talks to, and the options of the pull requests its jobs open.
#[derive(Clone)]
struct PullSettings {
    github: GitHubSettings,
    options: PullOptions,
    comment_interval: Duration,
}

fn settings(api_url: &str, repo: &str, auth: GitHubAuth) -> PullSettings {
    PullSettings {
        github: GitHubSettings {
            api_url: api_url.to_string(),
            auth,
            retry: RetryPolicy {
                attempts: 4,
                base_delay: Duration::from_millis(50),
                max_wait: Duration::from_secs(10),
            },
            timeout: Duration::from_secs(20),
        },
        options: PullOptions {
            repo: Some(RepoOnForge::GitHub(RepoName {
                owner: OWNER.into(),
                name: repo.into(),
            })),
            forge: None,
            dress: PullDress {
                draft: false,
                labels: vec!["rollback".into()],
                reviewers: vec!["dana".into()],
                team_reviewers: vec!["sre".into()],
                assignees: vec!["dana".into()],
            },
            comment_interval: Duration::from_secs(600),
            auto_merge: None,
        },
        comment_interval: Duration::from_secs(600),
    }
}

/// A job's rollback, and its pull request beside it.
struct Rolled {
    revert: RevertReport,
    pull_request: Option<PullOutcome>,
}

impl std::ops::Deref for Rolled {
    type Target = RevertReport;
    fn deref(&self) -> &RevertReport {
        &self.revert
    }
}

fn engine(g: &Gitops, settings: &PullSettings) -> Engine {
    let git = common::revert_request(g.dir.path().to_str().unwrap(), g.cache.path()).git();
    Engine::new(
        EngineSettings {
            git,
            forges: ForgeSettings::github(&settings.github.api_url, Some(settings.github.clone())),
            registry: None,
        },
        std::sync::Arc::new(SystemClock),
    )
    .unwrap()
}

/// The demo's rollback, pushed, with its pull request.
fn job(g: &Gitops, settings: &PullSettings, alert: Option<Payload>) -> Job {
    let mut req = common::with_image(
        common::revert_request(g.dir.path().to_str().unwrap(), g.cache.path()),
        revertbot::demo::DEMO_IMAGE,
    );
    req.push = true;
    let mut options = settings.options.clone();
    options.comment_interval = settings.comment_interval;
    Job {
        target: req.target(),
        effects: req.effects(),
        alert,
        pull: Some(options),
    }
}

async fn run(engine: &Engine, g: &Gitops, settings: &PullSettings) -> anyhow::Result<Rolled> {
    let outcome = engine.run(job(g, settings, Some(alert()))).await?;
    Ok(Rolled {
        revert: outcome.revert,
        pull_request: outcome.pull,
    })
}

fn alert() -> Payload {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/alertmanager/handmade-pod-unschedulable-group.json"
    );
    Payload::from_json(&std::fs::read(path).unwrap()).unwrap()
}

async fn rollback(g: &Gitops, settings: &PullSettings) -> Rolled {
    run(&engine(g, settings), g, settings)
        .await
        .unwrap_or_else(|e| panic!("rollback with pull request: {e:#}"))
}

/// A fake GitHub whose repository `name` has `g`'s origin for its branches.
fn fake_with_repo(name: &str, g: &Gitops) -> FakeGitHub {
    let fake = FakeGitHub::start();
    fake.add_repo(OWNER, name, g.origin.path());
    fake.allow_token(TOKEN);
    fake
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_one_pull_request_and_comments_on_reruns() {
    let g = gitops();
    let fake = fake_with_repo("gitops", &g);
    let prism = Prism::github(&fake.base_url());
    let mut s = settings(&prism.base_url(), "gitops", GitHubAuth::Token(TOKEN.into()));

    let first = rollback(&g, &s).await;
    let pr = first.pull_request.clone().unwrap();
    assert_eq!(pr.state, PullState::Created);
    assert_eq!(
        pr.url,
        format!("https://github.com/{OWNER}/gitops/pull/{}", pr.number)
    );
    assert!(pr.warnings.is_empty(), "{:?}", pr.warnings);
    let pulls = fake.pulls(OWNER, "gitops");
    assert_eq!(pulls.len(), 1);
    let p = &pulls[0];
    assert_eq!(
        p.title,
        "Revert ghcr.io/acme/frontend to 1.4.0 (PodUnscheduleable)"
    );
    assert_eq!(
        (p.head.as_str(), p.base.as_str()),
        (first.branch.as_deref().unwrap(), "main")
    );
    assert!(
        p.body
            .contains("Alert **PodUnscheduleable** (severity rollback)"),
        "{}",
        p.body
    );
    assert!(p.body.contains(&first.reverted));
    assert_eq!(p.labels, ["rollback"]);
    assert_eq!(p.requested_reviewers, ["dana"]);
    assert_eq!(p.requested_teams, ["sre"]);
    assert_eq!(p.assignees, ["dana"]);
    assert!(!p.draft && !p.maintainer_can_modify);

    // A rerun within the comment interval: same PR, no comment, no second PR.
    let second = rollback(&g, &s).await;
    let pr2 = second.pull_request.unwrap();
    assert_eq!(
        (pr2.state, pr2.number, pr2.commented),
        (PullState::Found, pr.number, false)
    );
    assert!(fake.comments(OWNER, "gitops", pr.number).is_empty());

    // Past the interval: one comment for the new occurrence, then none until the next interval.
    s.comment_interval = Duration::ZERO;
    let third = rollback(&g, &s).await.pull_request.unwrap();
    assert!(third.commented);
    s.comment_interval = Duration::from_secs(600);
    let fourth = rollback(&g, &s).await.pull_request.unwrap();
    assert!(!fourth.commented);
    let comments = fake.comments(OWNER, "gitops", pr.number);
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0]
            .body
            .contains("The alert **PodUnscheduleable** fired again"),
        "{}",
        comments[0].body
    );
    assert_eq!(fake.pulls(OWNER, "gitops").len(), 1);
    let posts = fake
        .requests()
        .iter()
        .filter(|(m, p)| m == "POST" && p.ends_with("/pulls"))
        .count();
    assert_eq!(posts, 1, "one create call in all");
    prism.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_request_closed_without_merging_is_not_reopened() {
    let g = gitops();
    let fake = fake_with_repo("declined", &g);
    let prism = Prism::github(&fake.base_url());
    let s = settings(
        &prism.base_url(),
        "declined",
        GitHubAuth::Token(TOKEN.into()),
    );
    let first = rollback(&g, &s).await.pull_request.unwrap();
    fake.close_pull(OWNER, "declined", first.number, false);
    let again = rollback(&g, &s).await.pull_request.unwrap();
    assert_eq!(
        (again.state, again.number),
        (PullState::Declined, first.number)
    );
    let pulls = fake.pulls(OWNER, "declined");
    assert_eq!(pulls.len(), 1);
    assert_eq!(pulls[0].state, "closed");
    assert!(fake.comments(OWNER, "declined", first.number).is_empty());
    prism.assert_no_violations();
}

/// What a poll asks GitHub: the pull request's state now, through Prism, open then merged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_became_of_a_pull_request_is_read_as_github_answers() {
    use revertbot::forge::fate::Fate;
    let g = gitops();
    let fake = fake_with_repo("polled", &g);
    let prism = Prism::github(&fake.base_url());
    let s = settings(&prism.base_url(), "polled", GitHubAuth::Token(TOKEN.into()));
    let engine = engine(&g, &s);
    let first = run(&engine, &g, &s).await.unwrap().pull_request.unwrap();
    let repo = s.options.repo.clone().unwrap();
    let ask = || engine.pull_fate(Some(&repo), None, "", first.number);
    let open = ask().await.unwrap();
    assert_eq!(
        (open.fate, open.merged_at, open.by),
        (Fate::Open, None, None)
    );
    fake.close_pull(OWNER, "polled", first.number, true);
    let merged = ask().await.unwrap();
    assert_eq!(merged.fate, Fate::Merged);
    assert!(merged.merged_at.is_some() && merged.created_at.is_some());
    assert_eq!(merged.by.as_deref(), Some(common::fake_github::USER_LOGIN));
    prism.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn already_exists_and_transient_failures_never_duplicate() {
    let g = gitops();
    let fake = fake_with_repo("flaky", &g);
    let prism = Prism::github(&fake.base_url());
    let s = settings(&prism.base_url(), "flaky", GitHubAuth::Token(TOKEN.into()));

    // The create lands but its answer is GitHub's 422 "already exists" (a lost response).
    fake.create_pull_then_422();
    let pr = rollback(&g, &s).await.pull_request.unwrap();
    assert_eq!(pr.state, PullState::Found);
    assert_eq!(fake.pulls(OWNER, "flaky").len(), 1);

    // A 502 on the first GET, then success.
    let g2 = gitops();
    let fake2 = fake_with_repo("flaky2", &g2);
    let prism2 = Prism::github(&fake2.base_url());
    let s2 = settings(
        &prism2.base_url(),
        "flaky2",
        GitHubAuth::Token(TOKEN.into()),
    );
    fake2.fail_next("GET", "/pulls?", 502, vec![], None);
    // A 502 on the create: revertbot looks before re-sending it.
    fake2.fail_next("POST", "/repos/acme/flaky2/pulls", 502, vec![], None);
    let pr2 = rollback(&g2, &s2).await.pull_request.unwrap();
    assert_eq!(pr2.state, PullState::Created);
    assert_eq!(fake2.pulls(OWNER, "flaky2").len(), 1);
    let requests = fake2.requests();
    let lists = requests
        .iter()
        .filter(|(m, p)| m == "GET" && p.contains("/pulls?"))
        .count();
    assert!(
        lists >= 3,
        "the list was read again before re-sending the create: {requests:?}"
    );
    prism.assert_no_violations();
    prism2.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_is_waited_out_until_its_reset() {
    let g = gitops();
    let fake = fake_with_repo("limited", &g);
    let prism = Prism::github(&fake.base_url());
    let s = settings(
        &prism.base_url(),
        "limited",
        GitHubAuth::Token(TOKEN.into()),
    );
    let reset = fake.fail_next_rate_limited("GET", "/pulls?", Duration::from_secs(3));
    let reset = chrono::DateTime::from_timestamp(reset, 0).unwrap();
    let pr = rollback(&g, &s).await.pull_request.unwrap();
    assert_eq!(pr.state, PullState::Created);
    // The 403 and the retry of the same list: the retry waited for the reset it was told.
    let lists: Vec<_> = fake
        .timed_requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path.contains("/pulls?"))
        .collect();
    assert!(lists.len() >= 2, "the list was retried: {lists:?}");
    let (limited, retry) = (&lists[0], &lists[1]);
    let to_reset = (reset - limited.at).to_std().unwrap_or_default();
    assert!(
        to_reset >= Duration::from_secs(1),
        "the 403 came {to_reset:?} before its reset: too late to see a wait"
    );
    let gap = (retry.at - limited.at).to_std().unwrap();
    assert!(
        retry.at >= reset && gap >= to_reset,
        "the 403 at {}, the reset at {reset}, the retry at {} ({gap:?} later)",
        limited.at,
        retry.at
    );
    assert_eq!(fake.pulls(OWNER, "limited").len(), 1);

    // A reset further away than revertbot will wait: a clear error, no PR.
    let g2 = gitops();
    let fake2 = fake_with_repo("limited2", &g2);
    let mut s2 = settings(
        &fake2.base_url(),
        "limited2",
        GitHubAuth::Token(TOKEN.into()),
    );
    s2.github.retry.max_wait = Duration::from_secs(1);
    fake2.fail_next_rate_limited("GET", "/pulls?", Duration::from_secs(600));
    let err = engine(&g2, &s2).run(job(&g2, &s2, None)).await.unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("rate limit exceeded") && msg.contains("try again"),
        "{msg}"
    );
    assert!(fake2.pulls(OWNER, "limited2").is_empty());
    prism.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_app_auth_finds_the_installation_and_refreshes_tokens() {
    let g = gitops();
    let fake = fake_with_repo("app", &g);
    let (private, public) = common::test_app_key();
    fake.add_app(4242, &public, 77, &[(OWNER, "app")]);
    // Shorter than octocrab's 30 s refresh margin: every call needs a fresh token.
    fake.set_installation_token_lifetime(Duration::from_secs(20));
    let prism = Prism::github(&fake.base_url());
    let auth = GitHubAuth::App {
        app_id: 4242,
        private_key_pem: private.into_bytes(),
        installation_id: None,
    };
    let s = settings(&prism.base_url(), "app", auth);
    let pr = rollback(&g, &s).await.pull_request.unwrap();
    assert_eq!(pr.state, PullState::Created);
    let pulls = fake.pulls(OWNER, "app");
    assert_eq!(pulls.len(), 1);
    assert!(
        pulls[0].user.ends_with("[bot]"),
        "opened as the App: {}",
        pulls[0].user
    );
    assert!(
        fake.installation_tokens_issued() >= 2,
        "tokens are refreshed before they expire"
    );
    assert!(fake
        .requests()
        .iter()
        .any(|(m, p)| m == "GET" && p == "/repos/acme/app/installation"));
    prism.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_engine_looks_an_app_installation_up_once_for_many_jobs() {
    let g = gitops();
    let fake = fake_with_repo("once", &g);
    let (private, public) = common::test_app_key();
    fake.add_app(4243, &public, 78, &[(OWNER, "once")]);
    let prism = Prism::github(&fake.base_url());
    let auth = GitHubAuth::App {
        app_id: 4243,
        private_key_pem: private.into_bytes(),
        installation_id: None,
    };
    let s = settings(&prism.base_url(), "once", auth);
    let engine = engine(&g, &s);
    let first = run(&engine, &g, &s).await.unwrap().pull_request.unwrap();
    let second = run(&engine, &g, &s).await.unwrap().pull_request.unwrap();
    assert_eq!(first.state, PullState::Created);
    assert_eq!(
        (second.state, second.number),
        (PullState::Found, first.number)
    );
    let lookups = fake
        .requests()
        .iter()
        .filter(|(m, p)| m == "GET" && p == "/repos/acme/once/installation")
        .count();
    assert_eq!(lookups, 1, "two jobs, one installation lookup");
    assert_eq!(
        fake.installation_tokens_issued(),
        1,
        "the installation token is kept between jobs while it is valid"
    );
    prism.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_enterprise_server_base_url() {
    let g = gitops();
    let fake = FakeGitHub::start_with_prefix("/api/v3");
    fake.add_repo(OWNER, "ghe", g.origin.path());
    fake.allow_token(TOKEN);
    let base = fake.base_url();
    assert!(base.ends_with("/api/v3"), "{base}");
    let s = settings(&base, "ghe", GitHubAuth::Token(TOKEN.into()));
    let pr = rollback(&g, &s).await.pull_request.unwrap();
    assert_eq!(pr.state, PullState::Created);
    assert_eq!(fake.pulls(OWNER, "ghe").len(), 1);
    assert!(
        fake.requests()
            .iter()
            .all(|(_, p)| p.starts_with("/api/v3/")),
        "{:?}",
        fake.requests()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_is_one_clear_error() {
    let g = gitops();
    let fake = fake_with_repo("denied", &g);
    let s = settings(
        &fake.base_url(),
        "denied",
        GitHubAuth::Token("wrong".into()),
    );
    let msg = format!(
        "{:#}",
        engine(&g, &s).run(job(&g, &s, None)).await.unwrap_err()
    );
    assert!(
        msg.contains("GitHub answered 401") && msg.contains("check the GitHub token"),
        "{msg}"
    );
    assert!(!msg.contains('\n'));
    assert!(fake.pulls(OWNER, "denied").is_empty());
}

#[test]
fn the_cli_opens_the_pull_request_with_flags_and_environment() {
    let g = gitops();
    let fake = fake_with_repo("cli", &g);
    let alert = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/alertmanager/alertmanager-0.25-webhook-firing.json"
    );
    let run = |extra: &[&str], token: Option<&str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_revertbot"));
        cmd.env("REVERTBOT_REGISTRY_CHECK", "false");
        cmd.args([
            "revert",
            "--repo",
            g.dir.path().to_str().unwrap(),
            "--image",
            revertbot::demo::DEMO_IMAGE,
        ])
        .args([
            "--push",
            "--pr",
            "--output",
            "json",
            "--github-repo",
            "acme/cli",
            "--alert",
            alert,
        ])
        .args([
            "--github-api-url",
            &fake.base_url(),
            "--pr-label",
            "rollback",
            "--pr-draft",
        ])
        .arg("--cache-dir")
        .arg(g.cache.path())
        .args(extra)
        .env_remove("GITHUB_TOKEN");
        if let Some(token) = token {
            cmd.env("GITHUB_TOKEN", token);
        }
        cmd.output().unwrap()
    };
    let out = run(&[], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--pr needs GitHub credentials"), "{stderr}");

    let out = run(&[], Some(TOKEN));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["pull_request"]["state"], "created");
    let pulls = fake.pulls(OWNER, "cli");
    assert_eq!(pulls.len(), 1);
    assert!(pulls[0].draft);
    assert_eq!(pulls[0].labels, ["rollback"]);
    assert_eq!(
        pulls[0].title,
        "Revert ghcr.io/acme/frontend to 1.4.0 (HighErrorRate)"
    );

    let token_file = g.cache.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let out = run(&["--github-token-file", token_file.to_str().unwrap()], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["pull_request"]["state"], "found");
    assert_eq!(fake.pulls(OWNER, "cli").len(), 1);
}

#[test]
fn the_cli_lifts_a_hold_with_a_pull_request_of_its_own() {
    let g = gitops();
    let fake = fake_with_repo("held", &g);
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_revertbot"))
            // The demo's images were never pushed: no registry is asked.
            .env("REVERTBOT_REGISTRY_CHECK", "false")
            .args(args)
            .args(["--repo", g.dir.path().to_str().unwrap()])
            .args([
                "--push",
                "--pr",
                "--output",
                "json",
                "--github-repo",
                "acme/held",
            ])
            .args(["--github-api-url", &fake.base_url()])
            .arg("--cache-dir")
            .arg(g.cache.path())
            .env("GITHUB_TOKEN", TOKEN)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let rolled = cli(&["revert", "--image", revertbot::demo::DEMO_IMAGE]);
    assert_eq!(rolled["hold"]["held"][0]["tool"], "flux");
    // The rollback (and its hold) merges.
    let repo = git2::Repository::open(g.dir.path()).unwrap();
    let merged: git2::Oid = rolled["commit"].as_str().unwrap().parse().unwrap();
    repo.reference("refs/heads/main", merged, true, "merge the rollback")
        .unwrap();

    let lifted = cli(&[
        "unhold",
        "--image",
        "ghcr.io/acme/frontend",
        "--tag",
        "1.5.0",
    ]);
    assert_eq!(lifted["unhold"]["outcome"], "created");
    assert_eq!(lifted["pull_request"]["state"], "created");
    let pulls = fake.pulls(OWNER, "held");
    assert_eq!(pulls.len(), 2);
    let pull = pulls.iter().find(|p| p.head.contains("unhold")).unwrap();
    assert_eq!(pull.title, "Lift the hold on ghcr.io/acme/frontend:1.5.0");
    assert_eq!(pull.head, "revertbot/unhold-ghcr.io-acme-frontend-1.5.0");
    assert_eq!(pull.base, "main");
    assert!(
        pull.body
            .contains(r"removes `^1\.5\.0$` from `flux-system/image-automation.yaml`"),
        "{}",
        pull.body
    );
    let origin = repo
        .find_remote("origin")
        .unwrap()
        .url()
        .unwrap()
        .to_string();
    let served = git2::Repository::open_bare(&origin).unwrap();
    let tip = served
        .refname_to_id("refs/heads/revertbot/unhold-ghcr.io-acme-frontend-1.5.0")
        .unwrap();
    assert_eq!(
        tip.to_string(),
        lifted["unhold"]["commit"].as_str().unwrap()
    );
    let before = common::file_at(
        &repo,
        &format!("{merged}^"),
        "flux-system/image-automation.yaml",
    );
    assert_eq!(
        common::file_at(
            &served,
            &tip.to_string(),
            "flux-system/image-automation.yaml"
        ),
        before,
        "the automation file as it was before the hold"
    );

    // Again: the same branch and pull request.
    let again = cli(&[
        "unhold",
        "--image",
        "ghcr.io/acme/frontend",
        "--tag",
        "1.5.0",
    ]);
    assert_eq!(again["unhold"]["outcome"], "reused");
    assert_eq!(again["pull_request"]["state"], "found");
    assert_eq!(fake.pulls(OWNER, "held").len(), 2);
}

/// `forge: local`: the same job keeps its pull request in the journal instead of GitHub — one
/// per branch, found again on a rerun, commented on when the alert resolves — and an unhold
/// gets its own. A number recorded on GitHub is not taken for the local pull request of that
/// number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_forge_keeps_one_pull_request_per_branch_in_the_journal() {
    use revertbot::journal::Journal;

    let g = gitops();
    let data = tempfile::tempdir().unwrap();
    let journal: std::sync::Arc<dyn Journal> =
        std::sync::Arc::new(revertbot::journal::SqliteJournal::open(data.path()).unwrap());
    let git = common::revert_request(g.dir.path().to_str().unwrap(), g.cache.path()).git();
    let engine = Engine::new(
        EngineSettings {
            git,
            forges: ForgeSettings::github(revertbot::remote_url::GITHUB_API_URL, None),
            registry: None,
        },
        std::sync::Arc::new(SystemClock),
    )
    .unwrap()
    .with_local_forge(revertbot::journal::Handle::new(journal.clone()));
    assert!(engine.opens_pulls(ForgeKind::GitHub));
    // No GitHub behind it: a token that reaches nothing is never used.
    let settings = settings(
        "http://127.0.0.1:9",
        "gitops",
        GitHubAuth::Token(TOKEN.into()),
    );

    let first = run(&engine, &g, &settings).await.unwrap();
    let pull = first.pull_request.clone().expect("a local pull request");
    assert_eq!((pull.number, pull.state), (1, PullState::Created));
    assert_eq!(pull.url, "/pulls/1");
    let again = run(&engine, &g, &settings).await.unwrap();
    let found = again.pull_request.clone().unwrap();
    assert_eq!((found.number, found.state), (1, PullState::Found));
    assert!(!found.commented, "within comment_interval");

    let kept = journal.local_pull(1).unwrap().unwrap();
    assert_eq!(kept.repo, "acme/gitops");
    assert_eq!(Some(kept.head.clone()), first.branch);
    assert_eq!(
        kept.title,
        "Revert ghcr.io/acme/frontend to 1.4.0 (PodUnscheduleable)"
    );
    assert!(kept.body.contains("### Hold"), "{}", kept.body);

    // Resolved: a comment on the local pull request; a number it does not keep is an error.
    assert!(engine.keeps_pull(ForgeKind::GitHub, "/pulls/1"));
    assert!(!engine.keeps_pull(ForgeKind::GitHub, "https://github.com/acme/gitops/pull/1"));
    engine
        .note_resolved(None, None, "file:///nowhere", 1, Some(&alert()), None)
        .await
        .unwrap();
    let comments = journal.local_pull(1).unwrap().unwrap().comments;
    assert_eq!(comments.len(), 1);
    assert!(
        comments[0].body.contains("resolved"),
        "{}",
        comments[0].body
    );
    let missing = engine
        .note_resolved(None, None, "file:///nowhere", 99, None, None)
        .await
        .unwrap_err();
    assert!(
        format!("{missing:#}").contains("no local pull request #99"),
        "{missing:#}"
    );

    // The rollback merged (main fast-forwarded to it); lifting the hold later: its own branch
    // and pull request.
    let local = git2::Repository::open(g.dir.path()).unwrap();
    let merged = local
        .refname_to_id(&format!("refs/heads/{}", first.branch.clone().unwrap()))
        .unwrap();
    local
        .reference("refs/heads/main", merged, true, "merge")
        .unwrap();
    let req = common::revert_request(g.dir.path().to_str().unwrap(), g.cache.path());
    let lifted = engine
        .unhold(revertbot::pipeline::UnholdJob {
            target: req.target(),
            image: "ghcr.io/acme/frontend".into(),
            tag: "1.5.0".into(),
            effects: revertbot::revert::Effects {
                push: true,
                ..req.effects()
            },
            pull: Some(settings.options.clone()),
        })
        .await;
    let lifted = lifted.unwrap().pull.expect("the unhold's pull request");
    assert_eq!((lifted.number, lifted.state), (2, PullState::Created));
    let kept = journal.local_pull(2).unwrap().unwrap();
    assert_eq!(kept.head, "revertbot/unhold-ghcr.io-acme-frontend-1.5.0");
    assert_eq!(kept.title, "Lift the hold on ghcr.io/acme/frontend:1.5.0");
}
