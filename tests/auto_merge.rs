//! Rollbacks that merge themselves: the forge's own auto-merge turned on for a rule that asks
//! it — GitHub's GraphQL mutation (its text checked against GitHub's published schema), GitLab's
//! `auto_merge` and Gitea's `merge_when_checks_succeed` through Prism — and every case that
//! must wait for review instead, said in the pull request.

mod common;

use common::{gitops, Gitops};

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::fake_github::FakeGitHub;
use revertbot::clock::SystemClock;
use revertbot::config::MergeMethod;
use revertbot::forge::auto_merge::{AutoMerge, AutoMergeAsk};
use revertbot::forge::github::{GitHubAuth, GitHubSettings, RepoName, RetryPolicy};
use revertbot::forge::{ForgeSettings, RepoOnForge, ServerSettings};
use revertbot::pipeline::{Engine, EngineSettings, Job, Outcome, PullOptions};
use revertbot_testkit::fake_gitea::FakeGitea;
use revertbot_testkit::fake_gitlab::FakeGitLab;
use revertbot_testkit::prism::{forgejo_spec, gitlab_spec, Prism};

const TOKEN: &str = "auto-merge-test-token";
const OWNER: &str = "acme";
const NAME: &str = "gitops";
const PROJECT: &str = "acme/platform/gitops";

fn retry() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        base_delay: Duration::from_millis(50),
        max_wait: Duration::from_secs(5),
    }
}

fn engine(g: &Gitops, forges: ForgeSettings) -> Engine {
    let git = common::revert_request(g.dir.path().to_str().unwrap(), g.cache.path()).git();
    Engine::new(
        EngineSettings {
            git,
            forges,
            registry: None,
        },
        Arc::new(SystemClock),
    )
    .unwrap()
}

fn github_forges(fake: &FakeGitHub) -> ForgeSettings {
    ForgeSettings::github(
        &fake.base_url(),
        Some(GitHubSettings {
            api_url: fake.base_url(),
            auth: GitHubAuth::Token(TOKEN.into()),
            retry: retry(),
            timeout: Duration::from_secs(20),
        }),
    )
}

fn ask(held: Option<&str>) -> AutoMergeAsk {
    AutoMergeAsk {
        method: MergeMethod::Squash,
        rule: Some("frontend-critical".into()),
        held: held.map(str::to_string),
    }
}

/// The demo's rollback, pushed, with its pull request on `repo`'s forge and `auto_merge` asked.
async fn rollback(
    engine: &Engine,
    g: &Gitops,
    repo: RepoOnForge,
    auto_merge: Option<AutoMergeAsk>,
) -> Outcome {
    let mut req = common::with_image(
        common::revert_request(g.dir.path().to_str().unwrap(), g.cache.path()),
        revertbot::demo::DEMO_IMAGE,
    );
    req.push = true;
    engine
        .run(Job {
            target: req.target(),
            effects: req.effects(),
            alert: None,
            pull: Some(PullOptions {
                repo: Some(repo),
                auto_merge,
                ..PullOptions::default()
            }),
        })
        .await
        .unwrap_or_else(|e| panic!("rollback: {e:#}"))
}

fn github_repo() -> RepoOnForge {
    RepoOnForge::GitHub(RepoName {
        owner: OWNER.into(),
        name: NAME.into(),
    })
}

fn fake_github(g: &Gitops, allow_auto_merge: bool) -> FakeGitHub {
    let fake = FakeGitHub::start();
    fake.add_repo(OWNER, NAME, g.origin.path());
    fake.allow_token(TOKEN);
    fake.set_allow_auto_merge(OWNER, NAME, allow_auto_merge);
    fake
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_that_asks_it_turns_githubs_auto_merge_on_and_the_pull_request_says_so() {
    let g = gitops();
    let fake = fake_github(&g, true);
    let outcome = rollback(
        &engine(&g, github_forges(&fake)),
        &g,
        github_repo(),
        Some(ask(None)),
    )
    .await;
    assert_eq!(
        outcome.auto_merge,
        Some(AutoMerge {
            method: MergeMethod::Squash,
            rule: Some("frontend-critical".into()),
            enabled: true,
            reason: None,
        })
    );
    let pulls = fake.pulls(OWNER, NAME);
    assert_eq!(pulls.len(), 1);
    assert_eq!(pulls[0].auto_merge.as_deref(), Some("squash"));
    assert!(
        pulls[0]
            .body
            .contains("**Merges itself.** Rule `frontend-critical` turned auto-merge on (squash)")
            && pulls[0]
                .body
                .contains("turn auto-merge off on this pull request, or close it"),
        "{}",
        pulls[0].body
    );
    assert_eq!(fake.graphql_queries().len(), 1);

    // Run again: the pull request is found, and nothing is asked of GitHub a second time.
    let again = rollback(
        &engine(&g, github_forges(&fake)),
        &g,
        github_repo(),
        Some(ask(None)),
    )
    .await;
    assert_eq!(again.auto_merge, None);
    assert_eq!(fake.graphql_queries().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repository_that_does_not_allow_auto_merge_leaves_the_pull_request_for_review() {
    let g = gitops();
    let fake = fake_github(&g, false);
    let outcome = rollback(
        &engine(&g, github_forges(&fake)),
        &g,
        github_repo(),
        Some(ask(None)),
    )
    .await;
    let auto_merge = outcome.auto_merge.expect("asked");
    assert!(!auto_merge.enabled);
    assert_eq!(
        auto_merge.reason.as_deref(),
        Some("GitHub said: Pull request Auto merge is not allowed for this repository")
    );
    let pull = &fake.pulls(OWNER, NAME)[0];
    assert_eq!(pull.auto_merge, None);
    assert!(!pull.merged && pull.state == "open");
    let comments = fake.comments(OWNER, NAME, pull.number);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(
        comments[0].body.contains("Auto-merge could not be turned on: GitHub said: Pull request Auto merge is not allowed for this repository. This pull request waits for review."),
        "{}",
        comments[0].body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_rule_or_past_the_guard_nothing_is_asked_of_the_forge() {
    let g = gitops();
    let fake = fake_github(&g, true);
    let engine = engine(&g, github_forges(&fake));
    let none = rollback(&engine, &g, github_repo(), None).await;
    assert_eq!(none.auto_merge, None);
    assert!(!fake.pulls(OWNER, NAME)[0].body.contains("uto-merge"));
    assert!(fake.graphql_queries().is_empty());

    let g = gitops();
    let fake = fake_github(&g, true);
    let held = "guard max_auto_merges_per_repo_per_hour: 3 rollbacks in gitops were set to merge themselves in the last hour already";
    let held_markdown = held.replace('_', "\\_");
    let outcome = rollback(
        &self::engine(&g, github_forges(&fake)),
        &g,
        github_repo(),
        Some(ask(Some(held))),
    )
    .await;
    let auto_merge = outcome.auto_merge.expect("asked");
    assert!(!auto_merge.enabled);
    assert_eq!(auto_merge.reason.as_deref(), Some(held));
    let pull = &fake.pulls(OWNER, NAME)[0];
    assert_eq!(pull.auto_merge, None);
    assert!(
        pull.body.contains(&format!(
            "**Waits for review.** Rule `frontend-critical` asks for auto-merge, but {held_markdown}."
        )),
        "{}",
        pull.body
    );
    assert!(fake.graphql_queries().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_made_value_by_value_after_a_later_edit_waits_for_review() {
    let g = gitops();
    // A person comments the bad tag's line after the bump: the revert no longer applies as a
    // patch, and the rollback sets the value back by itself.
    let work = tempfile::tempdir().unwrap();
    let git = |dir: &std::path::Path, args: &[&str]| {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
    };
    let clone = work.path().join("clone");
    git(
        work.path(),
        &["clone", "-q", g.dir.path().to_str().unwrap(), "clone"],
    );
    let prod = clone.join("apps/frontend/prod/kustomization.yaml");
    let text = std::fs::read_to_string(&prod).unwrap();
    std::fs::write(
        &prod,
        text.replace("newTag: 1.5.0", "newTag: 1.5.0 # paged at 03:12"),
    )
    .unwrap();
    git(&clone, &["commit", "-qam", "Note when the page came"]);
    let clone_url = clone.to_str().unwrap();
    git(
        g.dir.path(),
        &["fetch", "-q", "--update-head-ok", clone_url, "main:main"],
    );
    git(g.dir.path(), &["push", "-q", "origin", "main"]);

    let fake = fake_github(&g, true);
    let outcome = rollback(
        &engine(&g, github_forges(&fake)),
        &g,
        github_repo(),
        Some(ask(None)),
    )
    .await;
    assert_eq!(
        outcome.revert.strategy,
        Some(revertbot::revert::Strategy::Semantic)
    );
    let auto_merge = outcome.auto_merge.expect("asked");
    assert!(!auto_merge.enabled);
    assert!(
        auto_merge
            .reason
            .as_deref()
            .unwrap()
            .contains("not the plain inverse of the last change"),
        "{auto_merge:?}"
    );
    assert!(fake.graphql_queries().is_empty());
    assert_eq!(fake.pulls(OWNER, NAME)[0].auto_merge, None);
}

/// The mutation revertbot sent, validated against GitHub's published GraphQL schema
/// (`@octokit/graphql-schema`) with graphql-js: every field, argument and variable type.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mutation_sent_is_valid_against_githubs_graphql_schema() {
    let g = gitops();
    let fake = fake_github(&g, true);
    rollback(
        &engine(&g, github_forges(&fake)),
        &g,
        github_repo(),
        Some(ask(None)),
    )
    .await;
    let queries = fake.graphql_queries();
    assert_eq!(queries.len(), 1);
    assert_eq!(validate_graphql(&queries[0]), "valid");
    // The check can fail: a field GitHub does not have is caught.
    let wrong = queries[0].replace("enabledAt", "enabledSince");
    assert!(
        validate_graphql(&wrong).contains("Cannot query field \"enabledSince\""),
        "{}",
        validate_graphql(&wrong)
    );
}

fn validate_graphql(query: &str) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"));
    let script = r#"
const fs = require('fs');
const { buildSchema, parse, validate } = require('graphql');
const idl = fs.readFileSync('node_modules/@octokit/graphql-schema/schema.graphql', 'utf8');
// GitHub's published schema defines two fields twice; the mutation's types are not among them.
const errors = validate(buildSchema(idl, { assumeValidSDL: true }), parse(fs.readFileSync(0, 'utf8')));
console.log(errors.length ? errors.map(e => e.message).join('\n') : 'valid');
"#;
    let mut child = Command::new("node")
        .arg("-e")
        .arg(script)
        .current_dir(root)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("node (scripts/test installs it)");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(query.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "node: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// GitLab's `PUT …/merge` with `auto_merge` and Gitea's `POST …/merge` with
/// `merge_when_checks_succeed`, through Prism on each forge's own API description.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_and_gitea_turn_their_auto_merge_on_through_their_own_api_descriptions() {
    let server = |url: String| ServerSettings {
        url,
        token: Some(TOKEN.into()),
        ca_file: None,
        timeout: Duration::from_secs(20),
        retry: retry(),
    };

    let g = gitops();
    let gitlab = FakeGitLab::start();
    gitlab.add_project(PROJECT, Some(g.origin.path()));
    gitlab.allow_token(TOKEN);
    let prism = Prism::start(&gitlab_spec(), &gitlab.base_url());
    let mut forges = ForgeSettings::github(revertbot::remote_url::GITHUB_API_URL, None);
    forges.gitlab = server(prism.base_url());
    let outcome = rollback(
        &engine(&g, forges),
        &g,
        RepoOnForge::GitLab(PROJECT.into()),
        Some(ask(None)),
    )
    .await;
    assert!(outcome.auto_merge.expect("asked").enabled);
    let mrs = gitlab.merge_requests(PROJECT);
    assert!(
        mrs[0].merge_when_pipeline_succeeds && mrs[0].squash,
        "{mrs:?}"
    );
    assert!(mrs[0]
        .description
        .contains("this merge request is merged as soon as"));
    prism.assert_no_violations();

    let g = gitops();
    let gitea = FakeGitea::start_with_root_url(Some("https://forgejo.example.com"));
    gitea.add_repo(OWNER, NAME, g.origin.path());
    gitea.allow_token(TOKEN);
    let prism = Prism::start(&forgejo_spec(), &gitea.listen_url());
    let mut forges = ForgeSettings::github(revertbot::remote_url::GITHUB_API_URL, None);
    forges.gitea = Some(server(prism.base_url()));
    let outcome = rollback(
        &engine(&g, forges),
        &g,
        RepoOnForge::Gitea(RepoName {
            owner: OWNER.into(),
            name: NAME.into(),
        }),
        Some(ask(None)),
    )
    .await;
    assert!(outcome.auto_merge.expect("asked").enabled);
    // No checks are pending on the fake: Gitea merges it at once, squashed.
    let pulls = gitea.pulls(OWNER, NAME);
    assert!(pulls[0].merged, "{pulls:?}");
    prism.assert_no_violations();
}

/// `serve`: the rule's `auto_merge` is what a job asks for, and
/// `guards.max_auto_merges_per_repo_per_hour` (counted in the journal) holds the next one back;
/// `history` says what came of each.
#[test]
fn the_service_turns_auto_merge_on_by_rule_until_the_hourly_guard() {
    let w = common::demo_service::world("ghp_revertbot_auto_merge");
    w.github()
        .set_allow_auto_merge(revertbot_testkit::world::OWNER, NAME, true);
    let config = w.config("  max_auto_merges_per_repo_per_hour: 1");
    let text = std::fs::read_to_string(&config).unwrap();
    let rule = "    workload: true\n";
    assert!(text.contains(rule), "{text}");
    std::fs::write(
        &config,
        text.replace(rule, &format!("{rule}    auto_merge: squash\n")),
    )
    .unwrap();
    let service = w.serve(&config);
    service.wait_ready();
    let alert = |image: &str, fingerprint: &str| {
        let starts = (chrono::Utc::now() - chrono::Duration::seconds(60))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        common::demo_service::image_alert(
            "BadImage",
            image,
            fingerprint,
            "firing",
            &starts,
            "0001-01-01T00:00:00Z",
        )
    };
    let done = |n: usize| {
        let mut jobs = serde_json::Value::Null;
        let finished = common::eventually(Duration::from_secs(60), || {
            jobs = w.history(&config)["jobs"].clone();
            jobs.as_array().is_some_and(|j| {
                j.len() == n
                    && j.iter()
                        .all(|j| j["state"] == "done" || j["state"] == "failed")
            })
        });
        assert!(finished, "{jobs}\n{}", service.log());
        jobs
    };
    // `explain` says what each job will get, before it runs.
    let explain = |body: &[u8]| {
        let file = w.dir().join("alert.json");
        std::fs::write(&file, body).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_revertbot"))
            .args(["explain", "--output", "json", "--alert"])
            .arg(&file)
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["alerts"][0]["auto_merge"].clone()
    };
    assert_eq!(
        explain(&alert(revertbot::demo::DEMO_IMAGE, "a1")),
        "squash (rule bad-image)"
    );
    let (status, _) =
        service.post_alerts("webhook-token", &alert(revertbot::demo::DEMO_IMAGE, "a1"));
    assert_eq!(status, 200);
    let jobs = done(1);
    assert_eq!(
        jobs[0]["auto_merge"],
        "squash (rule bad-image)",
        "{jobs}\n{}",
        service.log()
    );

    let second_alert = alert("ghcr.io/stefanprodan/podinfo:6.5.1", "a2");
    assert!(
        explain(&second_alert)
            .as_str()
            .unwrap()
            .starts_with("off (rule bad-image): guard max_auto_merges_per_repo_per_hour: 1"),
        "{}",
        explain(&second_alert)
    );
    let (status, _) = service.post_alerts("webhook-token", &second_alert);
    assert_eq!(status, 200);
    let jobs = done(2);
    let second = &jobs[0];
    assert_eq!(second["state"], "done", "{jobs}");
    assert!(
        second["auto_merge"].as_str().unwrap().starts_with(
            "off (rule bad-image): guard max_auto_merges_per_repo_per_hour: 1 rollbacks in gitops"
        ),
        "{jobs}"
    );
    let pulls = w.github().pulls(revertbot_testkit::world::OWNER, NAME);
    assert_eq!(pulls.len(), 2, "{pulls:?}");
    let on: Vec<_> = pulls.iter().map(|p| p.auto_merge.as_deref()).collect();
    assert_eq!(on, [Some("squash"), None]);
    assert!(
        pulls[1].body.contains("**Waits for review.**"),
        "{}",
        pulls[1].body
    );
    let (_, metrics) = common::http_get(&service.url("/metrics")).unwrap();
    let metrics = String::from_utf8_lossy(&metrics);
    assert!(
        metrics
            .contains(r#"revertbot_guard_hits_total{guard="max_auto_merges_per_repo_per_hour"} 1"#),
        "{metrics}"
    );
}

/// `revertbot revert --push --pr --auto-merge squash`: the same policy by hand.
#[test]
fn the_cli_turns_auto_merge_on_when_asked() {
    let g = gitops();
    let fake = fake_github(&g, true);
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_revertbot"))
            .env("REVERTBOT_REGISTRY_CHECK", "false")
            .env("GITHUB_TOKEN", TOKEN)
            .args(["revert", "--repo", g.dir.path().to_str().unwrap()])
            .args(["--image", revertbot::demo::DEMO_IMAGE])
            .args([
                "--github-api-url",
                &fake.base_url(),
                "--github-repo",
                "acme/gitops",
            ])
            .arg("--cache-dir")
            .arg(g.cache.path())
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&["--auto-merge", "squash"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--pr"), "{stderr}");
    assert!(fake.pulls(OWNER, NAME).is_empty());
    // Lifting a hold always waits for review: `unhold` has no such flag.
    let out = Command::new(env!("CARGO_BIN_EXE_revertbot"))
        .args(["unhold", "--repo", g.dir.path().to_str().unwrap()])
        .args(["--image", "ghcr.io/acme/frontend", "--tag", "1.5.0"])
        .args(["--push", "--pr", "--auto-merge", "squash"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("unexpected argument '--auto-merge'"),
        "{stderr}"
    );

    let out = run(&[
        "--push",
        "--pr",
        "--auto-merge",
        "squash",
        "--output",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["auto_merge"],
        serde_json::json!({"method": "squash", "rule": null, "enabled": true}),
        "{json}"
    );
    let pulls = fake.pulls(OWNER, NAME);
    assert_eq!(pulls[0].auto_merge.as_deref(), Some("squash"));
    assert!(
        pulls[0].body.contains(
            "**Merges itself.** Whoever made this rollback turned auto-merge on (squash)"
        ),
        "{}",
        pulls[0].body
    );
}
