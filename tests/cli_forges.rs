//! `revertbot revert --pr`, `unhold --pr` and `pr-preview` with the repository on GitLab and on
//! Gitea/Forgejo: the binary against the stateful fakes, the branch pushed over HTTP to the real
//! git server with the forge's token (as the forge takes it), the tokens from `GITLAB_TOKEN` /
//! `GITEA_TOKEN` or `--token-file`.

mod common;

use std::process::Output;

use common::git_server::GitServer;
use revertbot_testkit::fake_gitea::FakeGitea;
use revertbot_testkit::fake_gitlab::FakeGitLab;

const TOKEN: &str = "forge-cli-token";
const PROJECT: &str = "acme/platform/gitops";

/// The demo repository published on the git server, and a cache directory.
struct Remote {
    server: GitServer,
    cache: tempfile::TempDir,
    _source: tempfile::TempDir,
}

fn remote() -> Remote {
    let source = tempfile::tempdir().unwrap();
    revertbot::demo::build(source.path()).unwrap();
    let server = GitServer::start();
    server.publish("gitops", source.path());
    Remote {
        server,
        cache: tempfile::tempdir().unwrap(),
        _source: source,
    }
}

fn alert() -> &'static str {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/alertmanager/alertmanager-0.25-webhook-firing.json"
    )
}

/// Runs the binary with `args` and the environment variable `env` (if any), no other token.
fn revertbot(args: &[&str], env: Option<(&str, &str)>) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_revertbot"));
    cmd.env("REVERTBOT_REGISTRY_CHECK", "false");
    cmd.args(args)
        .env_remove("GITHUB_TOKEN")
        .env_remove("GITLAB_TOKEN")
        .env_remove("GITEA_TOKEN")
        .env_remove("REVERTBOT_GIT_TOKEN")
        .env_remove("REVERTBOT_GIT_PASSWORD");
    if let Some((name, value)) = env {
        cmd.env(name, value);
    }
    cmd.output().unwrap()
}

fn ok_json(out: &Output) -> serde_json::Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn one_line_error(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr
}

/// `revert` of the demo image on `r`'s remote, pushed, with a pull request on the forge that
/// `forge_args` name.
fn revert_args<'a>(r: &'a Remote, url: &'a str, forge_args: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "revert",
        "--repo",
        url,
        "--image",
        revertbot::demo::DEMO_IMAGE,
        "--push",
        "--pr",
        "--output",
        "json",
        "--alert",
        alert(),
        "--pr-label",
        "rollback",
        "--cache-dir",
        r.cache.path().to_str().unwrap(),
    ];
    args.extend_from_slice(forge_args);
    args
}

#[test]
fn revert_and_unhold_open_merge_requests_on_gitlab_with_the_token_for_git_too() {
    let r = remote();
    let fake = FakeGitLab::start();
    fake.add_project(PROJECT, Some(&r.server.repo_path("gitops")));
    fake.allow_token(TOKEN);
    // The git server takes the token as GitLab does: user oauth2.
    r.server.allow_user("oauth2", TOKEN);
    let url = r.server.url("gitops");
    let gitlab = fake.base_url();
    let forge = [
        "--forge",
        "gitlab",
        "--gitlab-url",
        &gitlab,
        "--project",
        PROJECT,
    ];
    let args = revert_args(&r, &url, &forge);

    let e = one_line_error(&revertbot(&args, None));
    assert!(
        e.contains("--pr on GitLab needs a token: set GITLAB_TOKEN, or --token-file"),
        "{e}"
    );
    assert!(fake.merge_requests(PROJECT).is_empty());

    let json = ok_json(&revertbot(&args, Some(("GITLAB_TOKEN", TOKEN))));
    assert_eq!(json["pull_request"]["state"], "created", "{json}");
    let mrs = fake.merge_requests(PROJECT);
    assert_eq!(mrs.len(), 1);
    assert_eq!(mrs[0].labels, ["rollback"]);
    assert_eq!(
        json["pull_request"]["url"],
        format!("{gitlab}/{PROJECT}/-/merge_requests/{}", mrs[0].iid)
    );
    let branch = json["branch"].as_str().unwrap().to_string();
    assert!(
        r.server
            .branches("gitops")
            .iter()
            .any(|(b, _)| *b == branch),
        "pushed with the GitLab token"
    );

    // Again, with the token from a file: the same merge request, found.
    let token_file = r.cache.path().join("gitlab-token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let mut again = args.clone();
    again.extend(["--token-file", token_file.to_str().unwrap()]);
    let json = ok_json(&revertbot(&again, None));
    assert_eq!(json["pull_request"]["state"], "found", "{json}");
    assert_eq!(fake.merge_requests(PROJECT).len(), 1);

    // The hold lifted (as if the rollback had merged: on top of its branch), on a merge
    // request of its own.
    let unhold = [
        "unhold",
        "--repo",
        &url,
        "--base",
        &branch,
        "--image",
        "ghcr.io/acme/frontend",
        "--tag",
        "1.5.0",
        "--push",
        "--pr",
        "--output",
        "json",
        "--cache-dir",
        r.cache.path().to_str().unwrap(),
    ];
    let mut unhold = unhold.to_vec();
    unhold.extend_from_slice(&forge);
    let json = ok_json(&revertbot(&unhold, Some(("GITLAB_TOKEN", TOKEN))));
    assert_eq!(json["pull_request"]["state"], "created", "{json}");
    assert_eq!(fake.merge_requests(PROJECT).len(), 2);

    // A token GitLab takes but the git server does not: it opens merge requests but cannot
    // push, and the one line says so.
    fake.allow_token("api-only");
    let stale = tempfile::tempdir().unwrap();
    let mut args = revert_args(&r, &url, &forge);
    let at = args.iter().position(|a| *a == "--cache-dir").unwrap();
    args[at + 1] = stale.path().to_str().unwrap();
    let e = one_line_error(&revertbot(&args, Some(("GITLAB_TOKEN", "api-only"))));
    assert!(
        e.contains("the GitLab token opens pull requests but git refused it for acme/platform/gitops: give it the write_repository scope, or set REVERTBOT_GIT_TOKEN"),
        "{e}"
    );
}

#[test]
fn revert_opens_a_pull_request_on_gitea_and_a_wrong_repository_is_named() {
    let r = remote();
    let fake = FakeGitea::start();
    fake.add_repo("acme", "gitops", &r.server.repo_path("gitops"));
    fake.allow_token(TOKEN);
    r.server.allow_user("x-access-token", TOKEN);
    let url = r.server.url("gitops");
    let gitea = fake.base_url().trim_end_matches("/api/v1").to_string();

    // No address for Gitea: said before any work.
    let args = revert_args(&r, &url, &["--forge", "gitea", "--project", "acme/gitops"]);
    let e = one_line_error(&revertbot(&args, Some(("GITEA_TOKEN", TOKEN))));
    assert!(e.contains("give --gitea-url"), "{e}");

    let forge = [
        "--forge",
        "gitea",
        "--gitea-url",
        &gitea,
        "--project",
        "acme/gitops",
    ];
    let args = revert_args(&r, &url, &forge);
    let json = ok_json(&revertbot(&args, Some(("GITEA_TOKEN", TOKEN))));
    assert_eq!(json["pull_request"]["state"], "created", "{json}");
    let pulls = fake.pulls("acme", "gitops");
    assert_eq!(pulls.len(), 1);
    assert_eq!(pulls[0].labels, ["rollback"], "the label made on the way");
    assert_eq!(
        json["pull_request"]["url"],
        format!("{gitea}/acme/gitops/pulls/{}", pulls[0].number)
    );

    // The repository named wrong: one line naming --project.
    let wrong = [
        "--forge",
        "gitea",
        "--gitea-url",
        &gitea,
        "--project",
        "acme/nope",
    ];
    let args = revert_args(&r, &url, &wrong);
    let e = one_line_error(&revertbot(&args, Some(("GITEA_TOKEN", TOKEN))));
    assert!(e.contains("Gitea answered 404"), "{e}");
    assert!(e.contains("--project"), "{e}");
    assert_eq!(fake.pulls("acme", "gitops").len(), 1);
}

#[test]
fn pr_preview_links_to_each_forge_in_its_own_form() {
    let dir = tempfile::tempdir().unwrap();
    revertbot::demo::build(dir.path()).unwrap();
    let repo = dir.path().to_str().unwrap();
    let preview = |forge: &[&str]| {
        let mut args = vec![
            "pr-preview",
            "--repo",
            repo,
            "--image",
            revertbot::demo::DEMO_IMAGE,
        ];
        args.extend_from_slice(forge);
        let out = revertbot(&args, None);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let gitlab = preview(&[
        "--forge",
        "gitlab",
        "--gitlab-url",
        "https://gitlab.example.com",
        "--project",
        PROJECT,
    ]);
    assert!(
        gitlab.contains(&format!("https://gitlab.example.com/{PROJECT}/-/commit/")),
        "{gitlab}"
    );
    let gitea = preview(&[
        "--forge",
        "gitea",
        "--gitea-url",
        "https://codeberg.org",
        "--project",
        "acme/gitops",
    ]);
    assert!(
        gitea.contains("https://codeberg.org/acme/gitops/commit/"),
        "{gitea}"
    );
    let github = preview(&["--github-repo", "acme/gitops"]);
    assert!(
        github.contains("https://github.com/acme/gitops/commit/"),
        "{github}"
    );
}
