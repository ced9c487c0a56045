//! Contract tests: the real octocrab client, through Prism (`proxy --errors`, GitHub's own OpenAPI
//! description), against the stateful fake GitHub. Every request octocrab sends and every response
//! the fake gives must validate against GitHub's schema, and deserialise into octocrab's models.
//!
//! Needs `npm ci` (Node.js, `@stoplight/prism-cli`, `@octokit/openapi`); `scripts/test` runs it.

mod common;

use std::time::Duration;

use common::fake_github::{bare_repo_with_branches, FakeGitHub, MAX_BODY_CHARS, USER_LOGIN};
use common::git_server::run_git;
use octocrab::models::pulls::PullRequest;
use octocrab::models::{AppId, InstallationId, IssueState};
use octocrab::secrecy::ExposeSecret;
use octocrab::{params, Octocrab};
use revertbot_testkit::prism::Prism;
use serde_json::json;

const OWNER: &str = "acme";
const REPO: &str = "gitops";
const TOKEN: &str = "ghp_contractTestToken0000000000000000000";

fn pat_client(base_url: &str, token: &str) -> Octocrab {
    Octocrab::builder()
        .base_uri(base_url)
        .unwrap()
        .personal_token(token.to_string())
        .build()
        .unwrap()
}

fn github_error(e: octocrab::Error) -> octocrab::GitHubError {
    match e {
        octocrab::Error::GitHub { source, .. } => *source,
        other => panic!("expected a GitHub error, got {other:?}"),
    }
}

fn app_client(base_url: &str, app_id: u64, private_pem: &str) -> Octocrab {
    let key = octocrab::EncodingKey::from_rsa_pem(private_pem.as_bytes()).unwrap();
    Octocrab::builder()
        .base_uri(base_url)
        .unwrap()
        .app(AppId(app_id), key)
        .build()
        .unwrap()
}

/// octocrab 0.54's `request_reviews` decodes GitHub's answer (a pull-request-simple) as a
/// `Review`, dropping the requested reviewers and teams; post the route directly and decode a
/// `PullRequest` instead.
async fn request_reviewers(
    gh: &Octocrab,
    number: u64,
    reviewers: &[&str],
    teams: &[&str],
) -> octocrab::Result<PullRequest> {
    gh.post(
        format!("/repos/{OWNER}/{REPO}/pulls/{number}/requested_reviewers"),
        Some(&json!({"reviewers": reviewers, "team_reviewers": teams})),
    )
    .await
}

#[tokio::test]
async fn pull_request_flow_with_a_token_matches_githubs_schema() {
    let branch = "revertbot/ghcr.io-acme-api-0123456789ab";
    let git = bare_repo_with_branches(&[branch, "revertbot/web"]);
    // A branch with nothing beyond main.
    run_git(Some(git.path()), &["branch", "revertbot/nothing", "main"]);
    let fake = FakeGitHub::start();
    fake.add_repo(OWNER, REPO, git.path());
    fake.allow_token(TOKEN);
    let prism = Prism::github(&fake.base_url());
    eprintln!("prism started in {:?}", prism.startup);
    let gh = pat_client(&prism.base_url(), TOKEN);

    let repo = gh.repos(OWNER, REPO).get().await.unwrap();
    assert_eq!(repo.default_branch.as_deref(), Some("main"));
    assert_eq!(repo.full_name.as_deref(), Some("acme/gitops"));

    // Nothing yet for the branch.
    let found = gh
        .pulls(OWNER, REPO)
        .list()
        .state(params::State::All)
        .head(format!("{OWNER}:{branch}"))
        .per_page(100u8)
        .send()
        .await
        .unwrap();
    assert!(found.items.is_empty());

    // Create.
    let body = "## Why\n\nAlert `KubePodCrashLooping` fired.\n\n| label | value |\n|---|---|\n| severity | critical |\n";
    let pr = gh
        .pulls(OWNER, REPO)
        .create("Revert ghcr.io/acme/api to 1.2.3", branch, "main")
        .body(body)
        .draft(false)
        .maintainer_can_modify(true)
        .send()
        .await
        .unwrap();
    assert_eq!(pr.number, 1);
    assert_eq!(
        pr.html_url.as_ref().map(|u| u.as_str()),
        Some("https://github.com/acme/gitops/pull/1")
    );
    assert_eq!(pr.head.ref_field, branch);
    assert_eq!(pr.merged, Some(false));

    let got = gh.pulls(OWNER, REPO).get(1).await.unwrap();
    assert_eq!(got.body.as_deref(), Some(body));
    assert_eq!(got.state, Some(IssueState::Open));

    // A second create for the same head: GitHub's 422.
    let err = github_error(
        gh.pulls(OWNER, REPO)
            .create("Revert again", branch, "main")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(err.status_code.as_u16(), 422);
    assert_eq!(err.message, "Validation Failed");
    let detail = &err.errors.as_ref().unwrap()[0];
    assert_eq!(
        detail["message"],
        format!("A pull request already exists for {OWNER}:{branch}.")
    );

    // A head or base that is not in the repository, or a head with nothing beyond its base:
    // GitHub's 422, and no pull request.
    for (head, base, want) in [
        (
            "revertbot/never-pushed",
            "main",
            json!({"resource": "PullRequest", "field": "head", "code": "invalid"}),
        ),
        (
            "other-owner:revertbot/web",
            "main",
            json!({"resource": "PullRequest", "field": "head", "code": "invalid"}),
        ),
        (
            "revertbot/web",
            "no-such-base",
            json!({"resource": "PullRequest", "field": "base", "code": "invalid"}),
        ),
        (
            "revertbot/nothing",
            "main",
            json!({"resource": "PullRequest", "code": "custom",
                   "message": "No commits between main and revertbot/nothing"}),
        ),
    ] {
        let err = github_error(
            gh.pulls(OWNER, REPO)
                .create("Revert", head, base)
                .send()
                .await
                .unwrap_err(),
        );
        assert_eq!(
            (err.status_code.as_u16(), err.message.as_str()),
            (422, "Validation Failed"),
            "{head} -> {base}"
        );
        assert_eq!(err.errors.as_deref(), Some(&[want][..]), "{head} -> {base}");
    }
    assert_eq!(fake.pulls(OWNER, REPO).len(), 1, "only the first create");

    // Found by head (and a bare branch name is ignored by GitHub: it lists every PR).
    fake.add_pull(OWNER, REPO, "unrelated", "main", "Unrelated", "open", false);
    let found = gh
        .pulls(OWNER, REPO)
        .list()
        .state(params::State::Open)
        .head(format!("{OWNER}:{branch}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        found.items.iter().map(|p| p.number).collect::<Vec<_>>(),
        vec![1]
    );
    let unfiltered = gh
        .pulls(OWNER, REPO)
        .list()
        .head(branch)
        .send()
        .await
        .unwrap();
    assert_eq!(unfiltered.items.len(), 2);

    // Comments.
    assert!(gh
        .issues(OWNER, REPO)
        .list_comments(1)
        .per_page(100)
        .send()
        .await
        .unwrap()
        .items
        .is_empty());
    let c = gh
        .issues(OWNER, REPO)
        .create_comment(1, "The alert fired again at 03:12 UTC.")
        .await
        .unwrap();
    assert!(c
        .html_url
        .as_str()
        .ends_with(&format!("/pull/1#issuecomment-{}", c.id)));
    let comments = gh
        .issues(OWNER, REPO)
        .list_comments(1)
        .per_page(100)
        .send()
        .await
        .unwrap();
    assert_eq!(comments.items.len(), 1);
    assert_eq!(
        comments.items[0].body.as_deref(),
        Some("The alert fired again at 03:12 UTC.")
    );

    // Labels, assignees, reviewers.
    let labels = gh
        .issues(OWNER, REPO)
        .add_labels(1, &["revertbot".to_string(), "rollback".to_string()])
        .await
        .unwrap();
    assert_eq!(
        labels.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
        ["revertbot", "rollback"]
    );
    let issue = gh
        .issues(OWNER, REPO)
        .add_assignees(1, &["alice"])
        .await
        .unwrap();
    assert_eq!(issue.assignees[0].login, "alice");
    assert!(issue.pull_request.is_some());
    let pr = request_reviewers(&gh, 1, &["bob"], &["sre"]).await.unwrap();
    assert_eq!(pr.requested_reviewers.unwrap()[0].login, "bob");
    assert_eq!(pr.requested_teams.unwrap()[0].slug, "sre");
    let err = github_error(
        request_reviewers(&gh, 1, &[USER_LOGIN], &[])
            .await
            .unwrap_err(),
    );
    assert_eq!(err.status_code.as_u16(), 422);

    // Bodies over GitHub's limit are refused.
    let huge = "x".repeat(MAX_BODY_CHARS + 1);
    let err = github_error(
        gh.issues(OWNER, REPO)
            .create_comment(1, &huge)
            .await
            .unwrap_err(),
    );
    assert_eq!(err.status_code.as_u16(), 422);
    let err = github_error(
        gh.pulls(OWNER, REPO)
            .create("Too long", "revertbot/too-long", "main")
            .body(huge.as_str())
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(err.status_code.as_u16(), 422);

    // A lost response: the PR was created, the retry gets 422; the PR is then found by head.
    fake.create_pull_then_422();
    let err = github_error(
        gh.pulls(OWNER, REPO)
            .create("Revert ghcr.io/acme/web to 2.0.0", "revertbot/web", "main")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(err.status_code.as_u16(), 422);
    let found = gh
        .pulls(OWNER, REPO)
        .list()
        .state(params::State::All)
        .head(format!("{OWNER}:revertbot/web"))
        .send()
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);

    // Closed without merging: listed with state=all, merged_at null; GitHub allows a new PR then.
    let closed = fake.add_pull(OWNER, REPO, "revertbot/old", "main", "Old", "closed", false);
    let found = gh
        .pulls(OWNER, REPO)
        .list()
        .state(params::State::All)
        .head(format!("{OWNER}:revertbot/old"))
        .send()
        .await
        .unwrap();
    assert_eq!(found.items[0].number, closed);
    assert_eq!(found.items[0].state, Some(IssueState::Closed));
    assert!(found.items[0].merged_at.is_none());
    let merged = fake.add_pull(
        OWNER,
        REPO,
        "revertbot/merged",
        "main",
        "Merged",
        "open",
        false,
    );
    fake.close_pull(OWNER, REPO, merged, true);
    let m = gh.pulls(OWNER, REPO).get(merged).await.unwrap();
    assert_eq!(m.merged, Some(true));
    assert!(m.merged_at.is_some());

    // Final state.
    let pulls = fake.pulls(OWNER, REPO);
    let first = &pulls[0];
    assert_eq!(first.title, "Revert ghcr.io/acme/api to 1.2.3");
    assert_eq!(first.body, body);
    assert_eq!(first.head, branch);
    assert_eq!(first.state, "open");
    assert_eq!(first.user, USER_LOGIN);
    assert_eq!(first.labels, ["revertbot", "rollback"]);
    assert_eq!(first.assignees, ["alice"]);
    assert_eq!(first.requested_reviewers, ["bob"]);
    assert_eq!(first.requested_teams, ["sre"]);
    assert_eq!(
        pulls.iter().filter(|p| p.head == branch).count(),
        1,
        "one PR per branch"
    );
    assert!(pulls.iter().any(|p| p.head == "revertbot/web"));
    assert!(!pulls.iter().any(|p| p.head == "revertbot/too-long"));
    let comments = fake.comments(OWNER, REPO, 1);
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].user, USER_LOGIN);
    let reqs = fake.requests();
    assert!(reqs.iter().any(|(m, p)| m == "GET"
        && p.starts_with("/repos/acme/gitops/pulls?")
        && p.contains("head=acme%3Arevertbot")));

    prism.assert_no_violations();
}

#[tokio::test]
async fn faults_rate_limits_and_violations_are_reported() {
    let git = bare_repo_with_branches(&["revertbot/x"]);
    let fake = FakeGitHub::start();
    fake.add_repo(OWNER, REPO, git.path());
    fake.allow_token(TOKEN);
    let prism = Prism::github(&fake.base_url());
    let gh = pat_client(&prism.base_url(), TOKEN);

    // 502 on a GET, then success.
    fake.fail_next(
        "GET",
        "/repos/acme/gitops/pulls",
        502,
        vec![],
        Some(json!({"message": "Server Error"}).to_string()),
    );
    let err = github_error(gh.pulls(OWNER, REPO).list().send().await.unwrap_err());
    assert_eq!(err.status_code.as_u16(), 502);
    assert!(gh
        .pulls(OWNER, REPO)
        .list()
        .send()
        .await
        .unwrap()
        .items
        .is_empty());

    // Primary rate limit on the create: 403, remaining 0, reset announced.
    let reset =
        fake.fail_next_rate_limited("POST", "/repos/acme/gitops/pulls", Duration::from_secs(120));
    let err = github_error(
        gh.pulls(OWNER, REPO)
            .create("t", "revertbot/x", "main")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(err.status_code.as_u16(), 403);
    assert!(
        err.message.starts_with("API rate limit exceeded for "),
        "{}",
        err.message
    );
    assert_eq!(err.rate_limit_reset, Some(reset as u64));
    let headers = err.headers.expect("headers kept on the error");
    assert_eq!(headers["x-ratelimit-remaining"], "0");
    assert_eq!(headers["x-ratelimit-reset"], reset.to_string().as_str());
    assert!(
        fake.pulls(OWNER, REPO).is_empty(),
        "a rate-limited POST creates nothing"
    );

    // Secondary rate limit: 403 with retry-after.
    fake.fail_next_secondary_rate_limited("POST", "/issues/", 60);
    fake.add_pull(OWNER, REPO, "revertbot/x", "main", "t", "open", false);
    let err = github_error(
        gh.issues(OWNER, REPO)
            .create_comment(1, "hi")
            .await
            .unwrap_err(),
    );
    assert_eq!(err.status_code.as_u16(), 403);
    assert_eq!(err.headers.unwrap()["retry-after"], "60");

    // Unknown token, unknown repo, unknown PR.
    let stranger = pat_client(&prism.base_url(), "ghp_unknown");
    let err = github_error(stranger.repos(OWNER, REPO).get().await.unwrap_err());
    assert_eq!(
        (err.status_code.as_u16(), err.message.as_str()),
        (401, "Bad credentials")
    );
    let err = github_error(gh.repos(OWNER, "nope").get().await.unwrap_err());
    assert_eq!(
        (err.status_code.as_u16(), err.message.as_str()),
        (404, "Not Found")
    );
    let err = github_error(gh.pulls(OWNER, REPO).get(99).await.unwrap_err());
    assert_eq!(err.status_code.as_u16(), 404);

    // Those are all allowed by GitHub's description (statuses it does not list are warnings).
    prism.assert_no_violations();

    // A response that does not match GitHub's schema becomes an error (500 from Prism) and is
    // reported; so does a request that does not match.
    fake.fail_next(
        "POST",
        "/issues/1/comments",
        201,
        vec![],
        Some(json!({"id": "not-a-number", "body": "x"}).to_string()),
    );
    let err = github_error(
        gh.issues(OWNER, REPO)
            .create_comment(1, "x")
            .await
            .unwrap_err(),
    );
    assert_eq!(err.status_code.as_u16(), 500);
    assert!(err.message.contains("VIOLATIONS"), "{}", err.message);
    assert!(
        err.message
            .contains("Response body property id must be integer"),
        "{}",
        err.message
    );

    let err = github_error(
        gh.post::<_, PullRequest>(
            format!("/repos/{OWNER}/{REPO}/pulls"),
            Some(&json!({"title": "no head nor base"})),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(err.status_code.as_u16(), 422);
    assert!(
        err.message.contains("UNPROCESSABLE_ENTITY"),
        "{}",
        err.message
    );

    let violations = prism.violations();
    let errors: Vec<String> = violations
        .iter()
        .filter(|v| v.severity == "error")
        .map(|v| v.to_string())
        .collect();
    // In --errors mode Prism logs only the outcome of an error-level violation; the details
    // (`validation`) are in the problem+json body, which octocrab puts in the error message.
    assert!(
        errors
            .iter()
            .any(|v| v.contains("post /repos/acme/gitops/issues/1/comments")
                && v.contains("VIOLATIONS")),
        "{errors:#?}"
    );
    assert!(
        errors.iter().any(|v| v.contains("UNPROCESSABLE_ENTITY")),
        "{errors:#?}"
    );
    // The fake never saw the invalid request (Prism refused to forward it): its only
    // `POST .../pulls` was the rate-limited one.
    let posts = fake
        .requests()
        .into_iter()
        .filter(|(m, p)| m == "POST" && p == "/repos/acme/gitops/pulls")
        .count();
    assert_eq!(posts, 1);
}

#[tokio::test]
async fn github_app_installation_tokens_on_enterprise_server_match_githubs_schema() {
    // A GitHub Enterprise Server-style base URL: the fake serves under /api/v3 and Prism forwards
    // there (Prism itself routes on the path without the prefix).
    let git = bare_repo_with_branches(&["revertbot/api"]);
    let fake = FakeGitHub::start_with_prefix("/api/v3");
    fake.add_repo(OWNER, REPO, git.path());
    fake.add_repo(OWNER, "elsewhere", git.path());
    let (private_pem, public_pem) = common::test_app_key();
    let app_id = 424_242;
    let installation = 99_001;
    fake.add_app(app_id, &public_pem, installation, &[(OWNER, REPO)]);
    let prism = Prism::github(&fake.base_url());
    let app = app_client(&prism.base_url(), app_id, &private_pem);

    let inst = app
        .apps()
        .get_repository_installation(OWNER, REPO)
        .await
        .unwrap();
    assert_eq!(inst.id, InstallationId(installation));
    assert_eq!(inst.app_id, Some(AppId(app_id)));
    let err = github_error(
        app.apps()
            .get_repository_installation(OWNER, "elsewhere")
            .await
            .unwrap_err(),
    );
    assert_eq!(err.status_code.as_u16(), 404);

    // The installation client mints a token on first use and reuses it while it is valid.
    let gh = app.installation(inst.id).unwrap();
    assert_eq!(fake.installation_tokens_issued(), 0);
    let pr = gh
        .pulls(OWNER, REPO)
        .create("Revert ghcr.io/acme/api to 1.2.3", "revertbot/api", "main")
        .body("body")
        .send()
        .await
        .unwrap();
    gh.issues(OWNER, REPO)
        .add_labels(pr.number, &["revertbot".to_string()])
        .await
        .unwrap();
    assert_eq!(fake.installation_tokens_issued(), 1);
    let bot = format!("revertbot-test-app-{app_id}[bot]");
    assert_eq!(pr.user.as_ref().unwrap().login, bot);
    assert_eq!(pr.user.as_ref().unwrap().r#type, "Bot");
    assert_eq!(fake.pulls(OWNER, REPO)[0].user, bot);
    // Only the installation's repositories are visible.
    let err = github_error(gh.repos(OWNER, "elsewhere").get().await.unwrap_err());
    assert_eq!(err.status_code.as_u16(), 404);

    // octocrab refreshes a token that has less than 30 s left: with 34 s (`expires_at` has whole
    // seconds), the token is reused for the next ~3 s, and replaced 4.5 s later.
    fake.set_installation_token_lifetime(Duration::from_secs(34));
    let gh = app.installation(inst.id).unwrap();
    gh.repos(OWNER, REPO).get().await.unwrap();
    gh.repos(OWNER, REPO).get().await.unwrap();
    assert_eq!(fake.installation_tokens_issued(), 2);
    tokio::time::sleep(Duration::from_millis(4500)).await;
    gh.repos(OWNER, REPO).get().await.unwrap();
    assert_eq!(fake.installation_tokens_issued(), 3);

    // An expired installation token is refused with 401.
    fake.set_installation_token_lifetime(Duration::from_secs(3));
    let (_, token) = app.installation_and_token(inst.id).await.unwrap();
    let holder = pat_client(&prism.base_url(), token.expose_secret());
    holder.repos(OWNER, REPO).get().await.unwrap();
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let err = github_error(holder.repos(OWNER, REPO).get().await.unwrap_err());
    assert_eq!(
        (err.status_code.as_u16(), err.message.as_str()),
        (401, "Bad credentials")
    );

    // A JWT signed with another key is refused.
    let (other_private, _) = common::test_app_key();
    let impostor = app_client(&prism.base_url(), app_id, &other_private);
    let err = github_error(
        impostor
            .apps()
            .get_repository_installation(OWNER, REPO)
            .await
            .unwrap_err(),
    );
    assert_eq!(err.status_code.as_u16(), 401);

    assert!(fake
        .requests()
        .iter()
        .all(|(_, p)| p.starts_with("/api/v3/")));
    prism.assert_no_violations();
}

/// Without Prism (cheap): octocrab against the fake directly, with a GitHub Enterprise Server base
/// URL, pagination through `Link`, and octocrab quirks revertbot must work around.
#[tokio::test]
async fn fake_serves_an_enterprise_prefix_and_pages_for_octocrab() {
    let git = bare_repo_with_branches(&[]);
    let fake = FakeGitHub::start_with_prefix("/api/v3");
    fake.add_repo(OWNER, REPO, git.path());
    fake.allow_token(TOKEN);
    let gh = pat_client(&fake.base_url(), TOKEN);
    for i in 1..=5 {
        fake.add_pull(
            OWNER,
            REPO,
            &format!("revertbot/b{i}"),
            "main",
            &format!("t{i}"),
            "open",
            false,
        );
    }

    let page = gh
        .pulls(OWNER, REPO)
        .list()
        .per_page(2u8)
        .send()
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
    assert!(page.next.is_some());
    let all = gh.all_pages(page).await.unwrap();
    assert_eq!(
        all.iter().map(|p| p.number).collect::<Vec<_>>(),
        [5, 4, 3, 2, 1],
        "newest first, as GitHub lists them"
    );

    // octocrab 0.54's `request_reviews` decodes GitHub's answer (a pull request) as a `Review`:
    // it works, but the requested reviewers are lost (see `request_reviewers` above).
    let review = gh
        .pulls(OWNER, REPO)
        .request_reviews(1, vec!["bob".to_string()], vec![])
        .await
        .unwrap();
    assert_eq!(
        review.html_url.as_str(),
        "https://github.com/acme/gitops/pull/1"
    );
    assert_eq!(fake.pulls(OWNER, REPO)[0].requested_reviewers, ["bob"]);

    // A comment older than a rate-limit window, pre-populated, then listed.
    let at = chrono::Utc::now() - chrono::Duration::minutes(30);
    fake.add_comment_at(OWNER, REPO, 1, "earlier occurrence", at);
    let comments = gh
        .issues(OWNER, REPO)
        .list_comments(1)
        .send()
        .await
        .unwrap();
    assert_eq!(comments.items[0].created_at.timestamp(), at.timestamp());

    assert!(fake
        .requests()
        .iter()
        .all(|(_, p)| p.starts_with("/api/v3/")));
    let unprefixed = pat_client(&fake.base_url().replace("/api/v3", ""), TOKEN);
    let err = github_error(unprefixed.repos(OWNER, REPO).get().await.unwrap_err());
    assert_eq!(err.status_code.as_u16(), 404);
}
