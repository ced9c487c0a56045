//! `revert --push` against a real git server over smart HTTP (lighttpd + git http-backend,
//! basic auth), with the URL kept as a bare mirror in a cache directory.

mod common;

use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use common::git_server::{GitServer, PASSWORD, USER};
use common::RevertRequest;
use common::{kustomization, repo, revert_request, rollback, rollback_err, with_image};
use revertbot::error::Kind;
use revertbot::revert::Outcome;

const K: &str = "apps/web/kustomization.yaml";

/// A server with repository `gitops`: web bumped 1.0.0 → 1.1.0 by Flux, then a docs commit.
fn served() -> (GitServer, String) {
    let server = GitServer::start();
    let (dir, mut w) = repo();
    w.write(K, &kustomization(&[("ghcr.io/acme/web", "1.0.0")]));
    w.commit("init").unwrap();
    w.author("fluxcdbot", "flux@example.com")
        .edit(K, "1.0.0", "1.1.0");
    w.commit("Update from image update automation").unwrap();
    w.write("docs.yaml", "a: 1\n");
    w.commit("docs").unwrap();
    server.publish("gitops", dir.path());
    let sha = w.repo.revparse_single("HEAD~1").unwrap().id().to_string();
    (server, sha)
}

fn push_request(url: &str, cache: &std::path::Path) -> RevertRequest {
    let mut req = with_image(revert_request(url, cache), "ghcr.io/acme/web:1.1.0");
    req.push = true;
    req.network.auth.username = Some(USER.into());
    req.network.auth.password = Some(PASSWORD.into());
    req
}

#[test]
fn pushes_the_branch_and_reuses_it_on_a_rerun() {
    let (server, culprit) = served();
    let cache = tempfile::tempdir().unwrap();
    let req = push_request(&server.url("gitops"), cache.path());
    let r = rollback(&req);
    assert_eq!(r.outcome, Outcome::Created);
    assert!(r.pushed);
    assert_eq!(r.base, "main", "the remote's default branch");
    assert_eq!(r.remote.as_deref(), Some(server.url("gitops").as_str()));
    let branch = format!("revertbot/ghcr.io-acme-web-{}", &culprit[..12]);
    let on_server = server.branches("gitops");
    assert!(
        on_server.contains(&(branch.clone(), r.commit.clone().unwrap())),
        "{on_server:?}"
    );
    let mirror = std::fs::read_dir(cache.path()).unwrap().count();
    assert_eq!(mirror, 2, "one mirror and its lock file");

    let again = rollback(&req);
    assert_eq!(again.outcome, Outcome::Reused);
    assert_eq!(again.commit, r.commit);
    assert_eq!(server.branches("gitops").len(), 2);

    // A fresh cache (another replica) finds the branch on the server and reuses it too.
    let other_cache = tempfile::tempdir().unwrap();
    let third = rollback(&push_request(&server.url("gitops"), other_cache.path()));
    assert_eq!(third.outcome, Outcome::Reused);
    assert_eq!(third.commit, r.commit);
}

#[test]
fn a_wrong_password_fails_fast_with_a_clear_message() {
    let (server, _) = served();
    let cache = tempfile::tempdir().unwrap();
    let mut req = push_request(&server.url("gitops"), cache.path());
    req.network.auth.password = Some("wrong".into());
    let started = Instant::now();
    let (exit, msg) = rollback_err(&req);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(exit, Kind::Usage);
    assert_eq!(
        msg,
        format!(
            "authentication failed for {}: the credentials were refused; check the git credentials",
            server.url("gitops")
        )
    );
    req.network.auth.password = None;
    let (exit, msg) = rollback_err(&req);
    assert_eq!(exit, Kind::Usage);
    assert!(
        msg.contains("asks for credentials") && msg.contains("set the git credentials"),
        "{msg}"
    );
    // The command line names them as a person sets them there.
    let out = Command::new(env!("CARGO_BIN_EXE_revertbot"))
        // The demo's images were never pushed: no registry is asked.
        .env("REVERTBOT_REGISTRY_CHECK", "false")
        .args([
            "revert",
            "--repo",
            &server.url("gitops"),
            "--image",
            "ghcr.io/acme/web",
        ])
        .arg("--cache-dir")
        .arg(cache.path())
        .env_remove("REVERTBOT_GIT_TOKEN")
        .env_remove("REVERTBOT_GIT_PASSWORD")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("asks for credentials") && stderr.contains("REVERTBOT_GIT_TOKEN"),
        "{stderr}"
    );
}

#[test]
fn a_rejecting_hook_gives_the_servers_message_and_leaves_no_branch() {
    let (server, _) = served();
    server.reject_pushes("gitops", "protected: rollbacks need a ticket");
    let cache = tempfile::tempdir().unwrap();
    let req = push_request(&server.url("gitops"), cache.path());
    let (exit, msg) = rollback_err(&req);
    // The server's policy said no: declined, as a person closing the pull request is, and not
    // tried again (an internal error would count as revertbot's fault).
    assert_eq!(exit, Kind::Declined);
    assert!(!exit.is_retryable());
    assert!(
        msg.contains("rejected refs/heads/revertbot/ghcr.io-acme-web-"),
        "{msg}"
    );
    assert!(msg.contains("pre-receive hook declined"), "{msg}");
    assert!(msg.contains("protected: rollbacks need a ticket"), "{msg}");
    assert_eq!(
        server.branches("gitops").len(),
        1,
        "no branch on the server"
    );
    let mirror = git2::Repository::open_bare(revertbot::gitstore::remote::mirror_dir(
        cache.path(),
        &server.url("gitops"),
    ))
    .unwrap();
    assert_eq!(
        mirror.branches(None).unwrap().count(),
        1,
        "no branch left in the mirror"
    );
}

#[test]
fn two_concurrent_runs_end_with_one_branch() {
    let (server, _) = served();
    let url = server.url("gitops");
    let caches = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let reports: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = caches
            .iter()
            .map(|cache| {
                let req = push_request(&url, cache.path());
                s.spawn(move || rollback(&req))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let branches = server.branches("gitops");
    assert_eq!(branches.len(), 2, "{branches:?}");
    let (branch, tip) = branches
        .iter()
        .find(|(b, _)| b.starts_with("revertbot/"))
        .unwrap();
    for r in &reports {
        assert_eq!(r.branch.as_ref(), Some(branch));
        assert_eq!(
            r.commit.as_ref(),
            Some(tip),
            "both report the branch that landed"
        );
        assert!(r.pushed);
    }
    let outcomes: Vec<Outcome> = reports.iter().map(|r| r.outcome).collect();
    assert!(outcomes.contains(&Outcome::Created), "{outcomes:?}");
}

#[test]
fn fetches_incrementally_into_the_mirror() {
    let (server, _) = served();
    let cache = tempfile::tempdir().unwrap();
    let mut req = push_request(&server.url("gitops"), cache.path());
    req.dry_run = true;
    rollback(&req);
    // The mirror has a commit-graph for history walks, and git finds it sound.
    let mirror = revertbot::gitstore::remote::mirror_dir(cache.path(), &server.url("gitops"));
    let graph = mirror.join("objects/info/commit-graph");
    common::git_server::run_git(Some(&mirror), &["commit-graph", "verify"]);
    let written = std::fs::read(&graph).expect("a commit-graph in the mirror");
    // A new bump lands on the server; the next run sees it without re-cloning.
    let (dir, w) = repo();
    drop(w);
    common::git_server::run_git(
        None,
        &[
            "clone",
            "-q",
            server.repo_path("gitops").to_str().unwrap(),
            dir.path().join("c").to_str().unwrap(),
        ],
    );
    let clone = dir.path().join("c");
    let text = std::fs::read_to_string(clone.join(K))
        .unwrap()
        .replace("1.1.0", "1.2.0");
    std::fs::write(clone.join(K), text).unwrap();
    common::git_server::run_git(
        Some(&clone),
        &[
            "-c",
            "user.name=f",
            "-c",
            "user.email=f@x",
            "commit",
            "-qam",
            "bump 1.2.0",
        ],
    );
    common::git_server::run_git(Some(&clone), &["push", "-q", "origin", "main"]);
    let mut req = with_image(req, "ghcr.io/acme/web:1.2.0");
    req.dry_run = true;
    let r = rollback(&req);
    assert_eq!(r.culprit.subject, "bump 1.2.0");
    // One commit newer than the graph is read raw; the graph is not rewritten for it.
    assert_eq!(std::fs::read(&graph).unwrap(), written);
}

#[test]
fn an_unreachable_remote_times_out_cleanly() {
    // A server that accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let _keep = std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(4) {
            held.push(stream);
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    let cache = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}/git/gitops.git");
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_revertbot"))
        // The demo's images were never pushed: no registry is asked.
        .env("REVERTBOT_REGISTRY_CHECK", "false")
        .args([
            "revert",
            "--repo",
            &url,
            "--image",
            "nginx",
            "--timeout",
            "1",
            "--cache-dir",
        ])
        .arg(cache.path())
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("timed out after 1 s talking to {url}")),
        "{stderr}"
    );
}

/// Time limits are per operation: libgit2's process-wide socket limits are set once, and two
/// rollbacks on two threads, each with its own limit, each keep to it against a server that
/// takes 3 s to accept a push (and talks all the while, so only the deadline can stop it).
#[test]
fn concurrent_rollbacks_keep_their_own_time_limits() {
    revertbot::gitstore::process::configure(revertbot::gitstore::process::ProcessOptions {
        stall_timeout: Duration::from_secs(30),
    })
    .unwrap();
    let (server, _) = served();
    server.publish("other", &server.repo_path("gitops"));
    server.slow_pushes("gitops", 3);
    server.slow_pushes("other", 3);

    let (quick_cache, patient_cache) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut quick = push_request(&server.url("gitops"), quick_cache.path());
    quick.network.timeout = Duration::from_secs(1);
    let mut patient = push_request(&server.url("other"), patient_cache.path());
    patient.network.timeout = Duration::from_secs(30);

    // When each run returned; its push is timed from when the server's hook began to stall it,
    // so the clone and the walk before it are not counted.
    let timed = |req: &RevertRequest| {
        let result = req.run();
        (result, SystemTime::now())
    };
    let push_took = |repo: &str, returned: SystemTime| {
        let started = server
            .push_started(repo)
            .unwrap_or_else(|| panic!("the push to {repo} reached the server's hook"));
        returned.duration_since(started).unwrap()
    };
    let ((quick_result, quick_returned), (patient_result, patient_returned)) =
        std::thread::scope(|s| {
            let a = s.spawn(|| timed(&quick));
            let b = s.spawn(|| timed(&patient));
            (a.join().unwrap(), b.join().unwrap())
        });

    let (quick_took, patient_took) = (
        push_took("gitops", quick_returned),
        push_took("other", patient_returned),
    );

    let err = quick_result.expect_err("1 s is too short for a 3 s push");
    let msg = format!("{err:#}");
    assert_eq!(revertbot::error::kind_of(&err), Kind::Transient, "{msg}");
    assert!(
        msg.contains(&format!(
            "timed out after 1 s talking to {}",
            server.url("gitops")
        )),
        "{msg}"
    );
    assert!(
        quick_took < Duration::from_millis(2_500),
        "the push took {quick_took:?}"
    );

    let report = patient_result.unwrap_or_else(|e| panic!("30 s is enough: {e:#}"));
    assert!(report.pushed);
    assert!(
        patient_took >= Duration::from_secs(3),
        "the push took {patient_took:?}"
    );
    let pushed = server
        .branches("other")
        .into_iter()
        .any(|(b, _)| Some(&b) == report.branch.as_ref());
    assert!(pushed, "{:?}", server.branches("other"));
}

/// A remote this client may read but not write: git http-backend answers 403 to a push when
/// the repository does not take pushes (`http.receivepack false`), as a forge does for a
/// read-only token. Not "cannot reach": the credentials are what to change.
#[test]
fn a_read_only_remote_is_permission_denied_not_unreachable() {
    let (server, _) = served();
    common::git_server::run_git(
        Some(&server.repo_path("gitops")),
        &["config", "http.receivepack", "false"],
    );
    let cache = tempfile::tempdir().unwrap();
    let req = push_request(&server.url("gitops"), cache.path());
    let (exit, msg) = rollback_err(&req);
    assert_eq!(exit, Kind::Usage, "{msg}");
    assert!(
        msg.starts_with(&format!(
            "cannot push to {}: permission denied (",
            server.url("gitops")
        )),
        "{msg}"
    );
    assert!(msg.contains("403"), "{msg}");
    assert!(
        msg.ends_with("give credentials that may write to it: set the git credentials"),
        "{msg}"
    );
    assert!(!msg.contains("cannot reach"), "{msg}");
    assert_eq!(
        server.branches("gitops").len(),
        1,
        "no branch on the server"
    );
}

/// A `file://` remote this process's user may not write to. The file system's permissions do
/// not hold for root: the command runs as `nobody` then.
#[test]
fn a_file_remote_without_write_permission_is_permission_denied() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, mut w) = repo();
    w.write(K, &kustomization(&[("ghcr.io/acme/web", "1.0.0")]));
    w.commit("init").unwrap();
    w.edit(K, "1.0.0", "1.1.0");
    w.commit("bump").unwrap();
    let root = tempfile::tempdir().unwrap();
    let remote = root.path().join("gitops.git");
    common::git_server::run_git(
        None,
        &[
            "clone",
            "-q",
            "--bare",
            dir.path().to_str().unwrap(),
            remote.to_str().unwrap(),
        ],
    );
    let cache = root.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    let as_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    // The command's user owns the remote (libgit2 opens no repository of another user's) but
    // may not write to it; it may write the cache.
    if as_root {
        Command::new("chown")
            .args(["-R", "nobody"])
            .arg(&remote)
            .status()
            .unwrap();
    }
    Command::new("chmod")
        .args(["-R", "a+rX,a-w"])
        .arg(&remote)
        .status()
        .unwrap();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut cmd = if as_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "nobody", "--", env!("CARGO_BIN_EXE_revertbot")]);
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_revertbot"))
    };
    // The demo's images were never pushed: no registry is asked.
    cmd.env("REVERTBOT_REGISTRY_CHECK", "false");
    let url = format!("file://{}", remote.display());
    let out = cmd
        .args([
            "revert",
            "--repo",
            &url,
            "--image",
            "ghcr.io/acme/web",
            "--push",
        ])
        .arg("--cache-dir")
        .arg(&cache)
        .env("HOME", root.path())
        .output();
    let Ok(out) = out else {
        eprintln!("skipped: cannot run the command as another user (runuser)");
        return;
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Restore, so that the temporary directory can be removed.
    Command::new("chmod")
        .args(["-R", "u+w"])
        .arg(&remote)
        .status()
        .unwrap();
    if as_root && stderr.contains("runuser:") {
        eprintln!("skipped: cannot run the command as nobody: {stderr}");
        return;
    }
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with(&format!("error: cannot push to {url}: permission denied (")),
        "{stderr}"
    );
    assert!(
        stderr.contains("let this process's user write to that repository"),
        "{stderr}"
    );
    assert!(!stderr.contains("cannot reach"), "{stderr}");
}

/// A push in flight is stopped by its network's `Cancel` at its next callback, long before its
/// own time limit; a cancelled network starts nothing.
#[test]
fn a_cancelled_push_stops_at_its_next_callback_and_nothing_starts_after() {
    let (server, _) = served();
    let push_started = server.hanging_pushes("gitops");
    let cache = tempfile::tempdir().unwrap();
    let mut req = push_request(&server.url("gitops"), cache.path());
    req.network.timeout = Duration::from_secs(60);
    let cancel = req.network.cancel.clone();
    let canceller = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !push_started.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        cancel.cancel();
        Instant::now()
    });
    let (kind, msg) = rollback_err(&req);
    let cancelled_at = canceller.join().unwrap();
    let took = cancelled_at.elapsed();
    assert_eq!(kind, Kind::Transient, "{msg}");
    assert!(
        msg.contains(&format!(
            "stopped talking to {}: the work was cancelled",
            server.url("gitops")
        )),
        "{msg}"
    );
    assert!(
        took < Duration::from_secs(2),
        "stopped {took:?} after the cancel"
    );
    assert_eq!(server.branches("gitops").len(), 1, "only main");

    // Cancelled before it starts: refused at once, nothing fetched.
    let started = Instant::now();
    let (kind, msg) = rollback_err(&req);
    assert_eq!(kind, Kind::Transient, "{msg}");
    assert!(msg.contains("the work was cancelled"), "{msg}");
    assert!(started.elapsed() < Duration::from_secs(1));
}
