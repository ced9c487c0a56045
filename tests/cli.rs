//! The `revertbot` binary: output, exit codes, and one-line errors for bad input.

use std::path::Path;
use std::process::{Command, Output};

fn revertbot(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_revertbot"))
        // The demo's images were never pushed: no registry is asked.
        .env("REVERTBOT_REGISTRY_CHECK", "false")
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn demo_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    revertbot::demo::build(dir.path()).unwrap();
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// An error is one line on stderr, naming the problem: no panic, no backtrace.
fn assert_one_line_error(out: &Output, code: i32, needle: &str) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line expected: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
}

fn repo_arg(dir: &Path) -> &str {
    dir.to_str().unwrap()
}

#[test]
fn locate_text_output() {
    let dir = demo_repo();
    let out = revertbot(&[
        "locate",
        "--repo",
        repo_arg(dir.path()),
        "--image",
        "ghcr.io/acme/frontend:1.5.0",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    insta::assert_snapshot!("locate_demo_text", text(&out.stdout));
}

#[test]
fn locate_json_output() {
    let dir = demo_repo();
    let out = revertbot(&[
        "locate",
        "--repo",
        repo_arg(dir.path()),
        "--image",
        "ghcr.io/acme/frontend",
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["commit"]["subject"],
        "Update from image update automation"
    );
    assert_eq!(json["commit"]["author"], "fluxcdbot");
    assert_eq!(
        json["changes"][0]["file"],
        "apps/frontend/prod/kustomization.yaml"
    );
    assert_eq!(json["changes"][0]["from"], "1.4.0");
    assert_eq!(json["changes"][0]["to"], "1.5.0");
    assert_eq!(
        json["twins"][0]["file"],
        "apps/frontend/staging/kustomization.yaml"
    );
    assert_eq!(json["commits_walked"], 3);
    assert_eq!(json["rev"].as_str().unwrap().len(), 40);
}

#[test]
fn exit_codes_for_no_culprit() {
    let dir = demo_repo();
    let repo = repo_arg(dir.path());
    let out = revertbot(&["locate", "--repo", repo, "--image", "ghcr.io/acme/absent"]);
    assert_one_line_error(&out, 3, "searched 6 YAML files");
    let out = revertbot(&["locate", "--repo", repo, "--image", "nginx"]);
    assert_one_line_error(&out, 3, "no commit changed its value");
    let out = revertbot(&[
        "locate",
        "--repo",
        repo,
        "--image",
        "ghcr.io/acme/frontend:1.4.9",
    ]);
    assert_one_line_error(&out, 4, "stale");
    let out = revertbot(&[
        "locate",
        "--repo",
        repo,
        "--image",
        "ghcr.io/acme/frontend",
        "--path",
        "apps/api/**",
    ]);
    assert_one_line_error(&out, 3, "searched 1 YAML files");
}

#[test]
fn usage_errors_are_one_line_with_exit_2() {
    let dir = demo_repo();
    let repo = repo_arg(dir.path());
    let cases: [(&[&str], &str); 5] = [
        (
            &["locate", "--repo", repo, "--image", "Bad Image!"],
            "is not an image reference",
        ),
        (
            &["locate", "--repo", "/nonexistent/repo", "--image", "nginx"],
            "no such directory",
        ),
        (
            &["locate", "--repo", "/tmp", "--image", "nginx"],
            "not a git repository",
        ),
        (
            &[
                "locate",
                "--repo",
                repo,
                "--image",
                "nginx",
                "--rev",
                "no-such-branch",
            ],
            "is not in the repository",
        ),
        (
            &[
                "locate", "--repo", repo, "--image", "nginx", "--path", "a/[b",
            ],
            "is not a valid glob",
        ),
    ];
    for (args, needle) in cases {
        assert_one_line_error(&revertbot(args), 2, needle);
    }
    let out = revertbot(&["locate", "--image", "nginx"]);
    assert_eq!(out.status.code(), Some(2), "clap usage errors exit 2");
}

#[test]
fn the_work_tree_and_head_are_not_touched() {
    let dir = demo_repo();
    let git = |args: &[&str]| {
        text(
            &Command::new("git")
                .arg("-C")
                .arg(dir.path())
                .args(args)
                .output()
                .unwrap()
                .stdout,
        )
    };
    let head_before = git(&["rev-parse", "HEAD"]);
    let status_before = git(&["status", "--porcelain"]);
    let out = revertbot(&[
        "locate",
        "--repo",
        repo_arg(dir.path()),
        "--image",
        "ghcr.io/acme/frontend",
        "--rev",
        "HEAD~1",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(git(&["rev-parse", "HEAD"]), head_before);
    assert_eq!(git(&["status", "--porcelain"]), status_before);
}

#[test]
fn demo_once_runs_the_service_on_its_alert_and_tells_the_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("demo");
    let out = revertbot(&["demo", "--once", "--dir", target.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    // The service's answer to the alert it was sent over HTTP, and what its worker did.
    assert!(
        stdout.contains(r#"answer       {"alerts":["queued"],"delivery":1}"#),
        "{stdout}"
    );
    assert!(
        stdout.contains("rule         critical-image (queued)"),
        "{stdout}"
    );
    assert!(stdout.contains("job          1 done: created"), "{stdout}");
    assert!(
        stdout.contains("Update from image update automation (fluxcdbot, "),
        "{stdout}"
    );
    assert!(stdout.contains("strategy     partial"), "{stdout}");
    assert!(
        stdout.contains(r"hold         flux: ^1\.5\.0$ in flux-system/image-automation.yaml"),
        "{stdout}"
    );
    assert!(
        stdout.contains("+    newTag: 1.4.0 # {\"$imagepolicy\": \"flux-system:frontend:tag\"}"),
        "{stdout}"
    );
    assert!(
        stdout.contains("pull request #1 (kept by revertbot: forge: local)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Revert ghcr.io/acme/frontend to 1.4.0 (FrontendHighErrorRate)"),
        "{stdout}"
    );
    assert!(stdout.contains("### Wrong culprit?"), "{stdout}");
    assert!(
        stdout.contains("curl -H \"Authorization: Bearer $(cat "),
        "{stdout}"
    );

    // The branch is on the remote the service pushed to; the repository keeps only main.
    let line = stdout
        .lines()
        .find(|l| l.starts_with("branch "))
        .unwrap_or_else(|| panic!("{stdout}"));
    let branch = line["branch".len()..].trim().split(',').next().unwrap();
    assert!(
        branch.starts_with("revertbot/ghcr.io-acme-frontend-"),
        "{line}"
    );
    assert!(line.contains(", pushed to file://"), "{line}");
    let remote = git2::Repository::open_bare(target.join("gitops.git")).unwrap();
    let tip = remote
        .find_reference(&format!("refs/heads/{branch}"))
        .unwrap()
        .peel_to_commit()
        .unwrap();
    assert!(
        tip.message().unwrap().contains("Revertbot-Hold:"),
        "{:?}",
        tip.message()
    );
    let repo = git2::Repository::open(target.join("gitops")).unwrap();
    let branches: Vec<String> = repo
        .branches(None)
        .unwrap()
        .map(|b| b.unwrap().0.name().unwrap().unwrap().to_string())
        .collect();
    assert_eq!(branches, ["main"]);
    // The pull request is in the service's journal.
    let journal = revertbot::journal::SqliteJournal::open(&target.join("data")).unwrap();
    use revertbot::journal::Journal;
    let pull = journal
        .local_pull(1)
        .unwrap()
        .expect("local pull request #1");
    assert_eq!(pull.head, branch);
    assert_eq!(pull.base, "main");
    assert!(journal.local_pull(2).unwrap().is_none());
    // The configuration it ran is valid for `serve`.
    let checked = revertbot(&[
        "check-config",
        "--config",
        target.join("revertbot.yaml").to_str().unwrap(),
    ]);
    assert_eq!(checked.status.code(), Some(0), "{}", text(&checked.stderr));
    assert!(text(&checked.stdout).contains("forge: local"));

    let again = revertbot(&["demo", "--once", "--dir", target.to_str().unwrap()]);
    assert_one_line_error(&again, 2, "is not empty");
    // The token lets anyone in: only this user reads it.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&target.join("webhook-token")), 0o600);
    assert_eq!(mode(&target), 0o700);
    let exposed = revertbot(&["demo", "--once", "--listen", "0.0.0.0:0"]);
    assert_one_line_error(&exposed, 2, "the demo serves on loopback only");

    let json_dir = dir.path().join("json");
    let out = revertbot(&[
        "demo",
        "--once",
        "--dir",
        json_dir.to_str().unwrap(),
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["job"]["state"], "done");
    assert_eq!(json["job"]["outcome"], "created");
    assert_eq!(json["job"]["pr_url"], "/pulls/1");
    assert_eq!(json["delivery"]["alerts"][0]["rule"], "critical-image");
    assert_eq!(
        json["pull_request"]["title"],
        "Revert ghcr.io/acme/frontend to 1.4.0 (FrontendHighErrorRate)"
    );
    assert_eq!(json["pull_request"]["state"], "open");
}

#[test]
fn a_huge_historical_file_is_skipped_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = revertbot::gitstore::RepoWriter::init(dir.path()).unwrap();
    let huge = format!(
        "image: ghcr.io/acme/web:1.0.0\npadding: \"{}\"\n",
        "x".repeat(9 << 20)
    );
    w.write("web.yaml", &huge);
    w.commit("huge").unwrap();
    w.write("web.yaml", "image: ghcr.io/acme/web:1.0.0\n");
    w.commit("shrink").unwrap();
    w.write("web.yaml", "image: ghcr.io/acme/web:1.1.0\n");
    w.commit("bump").unwrap();
    let out = revertbot(&[
        "locate",
        "--repo",
        repo_arg(dir.path()),
        "--image",
        "ghcr.io/acme/web:1.1.0",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The huge version holds no references: the bump is found, and walking past "shrink" meets
    // the huge blob only if the walk goes that far.
    assert!(text(&out.stdout).contains("bump"));
    let out = revertbot(&[
        "locate",
        "--repo",
        repo_arg(dir.path()),
        "--image",
        "ghcr.io/acme/web:1.1.0",
        "--rev",
        "HEAD~1",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    let out = revertbot(&[
        "locate",
        "--repo",
        repo_arg(dir.path()),
        "--image",
        "ghcr.io/acme/web:1.0.0",
        "--rev",
        "HEAD~1",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("skipping web.yaml at") && stderr.contains("larger than"),
        "{stderr}"
    );
}

#[test]
fn revert_holds_by_default_and_unhold_lifts_it() {
    let dir = demo_repo();
    let repo = repo_arg(dir.path());
    let cache = tempfile::tempdir().unwrap();
    let cache = cache.path().to_str().unwrap();
    let dry = |hold: &str| {
        let out = revertbot(&[
            "revert",
            "--repo",
            repo,
            "--image",
            "ghcr.io/acme/frontend:1.5.0",
            "--dry-run",
            "--output",
            "json",
            "--hold",
            hold,
            "--cache-dir",
            cache,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let held = dry("auto");
    assert_eq!(held["hold"]["held"][0]["tool"], "flux");
    assert_eq!(held["hold"]["held"][0]["pattern"], r"^1\.5\.0$");
    assert!(held["files"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("flux-system/image-automation.yaml")));
    let none = dry("none");
    assert_eq!(none["hold"]["held"], serde_json::json!([]));

    // Nothing holds it yet on main: nothing to do.
    let out = revertbot(&[
        "unhold",
        "--repo",
        repo,
        "--image",
        "ghcr.io/acme/frontend",
        "--tag",
        "1.5.0",
        "--dry-run",
        "--cache-dir",
        cache,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("nothing to do: nothing in"),
        "{}",
        text(&out.stdout)
    );
    // The tag goes in --tag.
    let out = revertbot(&[
        "unhold",
        "--repo",
        repo,
        "--image",
        "ghcr.io/acme/frontend:1.5.0",
        "--tag",
        "1.5.0",
    ]);
    assert_one_line_error(&out, 2, "give the image without its tag");
    let out = revertbot(&[
        "revert", "--repo", repo, "--image", "x:1", "--hold", "maybe",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_first_clone_shows_progress_on_a_terminal_and_nothing_elsewhere() {
    let dir = demo_repo();
    let origin = tempfile::tempdir().unwrap();
    let bare = origin.path().join("origin.git");
    let out = std::process::Command::new("git")
        .args(["clone", "-q", "--bare"])
        .arg(dir.path())
        .arg(&bare)
        .output()
        .unwrap();
    assert!(out.status.success());
    let url = format!("file://{}", bare.display());
    let run = |cache: &str| {
        format!(
            "{} revert --repo {url} --image ghcr.io/acme/frontend:1.5.0 --dry-run --cache-dir {cache}",
            env!("CARGO_BIN_EXE_revertbot")
        )
    };
    let cache = tempfile::tempdir().unwrap();
    // Not a terminal: the output only, no progress.
    let out = std::process::Command::new("sh")
        .args(["-c", &run(&cache.path().join("a").display().to_string())])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        "",
        "nothing on stderr when it is not a terminal"
    );
    // A terminal (util-linux `script` gives the command one): the fetch's progress.
    let out = std::process::Command::new("script")
        .args([
            "-qfec",
            &run(&cache.path().join("b").display().to_string()),
            "/dev/null",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let shown = text(&out.stdout);
    assert!(
        shown.contains("\rfetching: ") && shown.contains(" objects, "),
        "{shown:?}"
    );
    assert_eq!(
        shown.matches(" objects, 0.0 MiB\n").count()
            + shown.matches(" objects, 0.0 MiB\r\n").count(),
        1,
        "the finished line once: {shown:?}"
    );
    assert!(shown.contains("reverted  "), "{shown:?}");
}

#[test]
fn a_walk_shows_its_progress_on_a_terminal_and_erases_it() {
    let dir = demo_repo();
    let command = format!(
        "{} locate --repo {} --image ghcr.io/acme/frontend:1.5.0",
        env!("CARGO_BIN_EXE_revertbot"),
        dir.path().display()
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &command])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        "",
        "nothing when stderr is not a terminal"
    );
    let out = std::process::Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let shown = text(&out.stdout);
    let drawn = shown
        .find("\rwalking: 1 commits")
        .unwrap_or_else(|| panic!("{shown:?}"));
    let erased = shown
        .find("\r\x1b[K")
        .unwrap_or_else(|| panic!("{shown:?}"));
    let answer = shown
        .find("culprit ")
        .unwrap_or_else(|| panic!("{shown:?}"));
    assert!(
        drawn < erased && erased < answer,
        "drawn, erased, then the answer: {shown:?}"
    );
}
