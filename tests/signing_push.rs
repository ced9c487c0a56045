//! Signed rollback commits pushed to a server that requires them (the test git server with a
//! pre-receive hook running `git verify-commit`, as GitLab's "reject unsigned commits" push
//! rule does), and `serve` with `git.signing` end to end.

mod common;

use std::path::Path;

use common::signing_keys::*;
use common::{revert_request, rollback, with_image, RevertRequest};
use revertbot::revert::Outcome;

/// A git server (smart HTTP) with `gitops`, where Flux bumped web; a pushing request for it.
fn served() -> (
    common::git_server::GitServer,
    tempfile::TempDir,
    RevertRequest,
) {
    use common::git_server::{GitServer, PASSWORD, USER};
    let server = GitServer::start();
    let (dir, _cache, local) = bumped();
    server.publish("gitops", dir.path());
    let cache = tempfile::tempdir().unwrap();
    let mut req = with_image(
        revert_request(&server.url("gitops"), cache.path()),
        "ghcr.io/acme/web:1.1.0",
    );
    req.author = local.author;
    req.push = true;
    req.network.auth.username = Some(USER.into());
    req.network.auth.password = Some(PASSWORD.into());
    (server, cache, req)
}

#[test]
fn a_server_that_requires_signed_commits_refuses_the_unsigned_rollback_and_takes_the_signed() {
    let key = gpg_key("");
    let (server, _cache, mut req) = served();
    server.require_signed_commits("gitops", &[("GNUPGHOME", key.home.path())], &[]);
    let (kind, msg) = common::rollback_err(&req);
    assert_eq!(kind, revertbot::error::Kind::Declined, "{msg}");
    assert!(msg.contains("has no valid signature"), "{msg}");
    assert_eq!(server.branches("gitops").len(), 1, "no branch pushed");

    req.commits = signed_by(load(&key.secret, None).unwrap(), false);
    let r = rollback(&req);
    assert_eq!(r.outcome, Outcome::Created);
    assert!(r.pushed);
    let branch = r.branch.unwrap();
    let on_server = server
        .branches("gitops")
        .into_iter()
        .find(|(name, _)| name.ends_with(&branch))
        .map(|(_, sha)| sha);
    assert_eq!(on_server, r.commit);
}

#[test]
fn an_unsigned_rollback_pushed_before_is_replaced_on_the_server_by_the_signed_one() {
    let (keys, key, public) = ssh_key("");
    let (server, _cache, mut req) = served();
    let unsigned = rollback(&req);
    assert!(unsigned.pushed);
    let allowed = keys.path().join("allowed_signers");
    std::fs::write(&allowed, format!("{EMAIL} namespaces=\"git\" {public}\n")).unwrap();
    let allowed_setting = format!("gpg.ssh.allowedSignersFile={}", allowed.display());
    server.require_signed_commits("gitops", &[], &["gpg.format=ssh", &allowed_setting]);

    req.commits = signed_by(load(&key, None).unwrap(), false);
    let signed = rollback(&req);
    assert_eq!(signed.outcome, Outcome::Created, "replaced, not reused");
    assert_eq!(signed.branch, unsigned.branch);
    assert_ne!(signed.commit, unsigned.commit);
    let branch = signed.branch.clone().unwrap();
    let on_server = server
        .branches("gitops")
        .into_iter()
        .find(|(name, _)| name.ends_with(&branch))
        .map(|(_, sha)| sha);
    assert_eq!(
        on_server, signed.commit,
        "the server's branch is the signed commit"
    );

    // Once signed, a rerun reuses it.
    let again = rollback(&req);
    assert_eq!(again.outcome, Outcome::Reused);
    assert_eq!(again.commit, signed.commit);
}

/// `serve` with `git.signing` on, end to end: an alert becomes a rollback whose push a server
/// requiring signed commits takes, and a pull request that says by which key it is signed.
#[test]
fn the_service_signs_its_rollbacks_and_the_pull_request_says_by_which_key() {
    use revertbot_testkit::world::{World, OWNER};
    const TOKEN: &str = "ghp_revertbot_signing_token";
    let key = gpg_key("");
    let w = World::new(Path::new(env!("CARGO_BIN_EXE_revertbot")), TOKEN, |dir| {
        revertbot::demo::build(dir).unwrap();
    });
    w.server()
        .require_signed_commits("gitops", &[("GNUPGHOME", key.home.path())], &[]);
    let config = w.config("");
    let text = std::fs::read_to_string(&config).unwrap();
    let signing = format!(
        "  timeout_seconds: 20\n  signing:\n    format: openpgp\n    key_file: {}\n  signoff: true\n",
        key.secret.display()
    );
    assert!(text.contains("  timeout_seconds: 20\n"));
    std::fs::write(&config, text.replace("  timeout_seconds: 20\n", &signing)).unwrap();

    let service = w.serve(&config);
    service.wait_ready();
    let labels = serde_json::json!({
        "alertname": "FrontendHighErrorRate",
        "severity": "critical",
        "namespace": "prod",
        "image": "ghcr.io/acme/frontend:1.5.0",
    });
    let starts = (chrono::Utc::now() - chrono::Duration::seconds(60))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let body = serde_json::json!({
        "receiver": "revertbot",
        "status": "firing",
        "alerts": [{
            "status": "firing",
            "labels": labels,
            "annotations": {},
            "startsAt": starts,
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.acme.example:9090/graph?g0.expr=x",
            "fingerprint": "b1d2f3c4a5e6f708"
        }],
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.acme.example:9093",
        "version": "4",
        "groupKey": "{}:{alertname=\"FrontendHighErrorRate\"}",
        "truncatedAlerts": 0
    });
    let (status, _) = service.post_alerts("webhook-token", body.to_string().as_bytes());
    assert_eq!(status, 200);
    let opened = common::eventually(std::time::Duration::from_secs(60), || {
        !w.github().pulls(OWNER, "gitops").is_empty()
    });
    assert!(opened, "no pull request:\n{}", service.log());
    let pull = w.github().pulls(OWNER, "gitops").remove(0);
    assert!(
        pull.body.contains(&format!(
            "- Signed: the commit is signed by key `{}`",
            key.fingerprint
        )),
        "{}",
        pull.body
    );
    let sha = w
        .server()
        .branches("gitops")
        .into_iter()
        .find(|(name, _)| name.ends_with(&pull.head))
        .map(|(_, sha)| sha)
        .expect("the rollback branch is on the server");
    let repo = w.server().repo_path("gitops");
    let home = [("GNUPGHOME", key.home.path())];
    let (_, shown) = git(&repo, &["log", "--show-signature", "-1", &sha], &home);
    assert!(shown.contains("Good signature"), "{shown}");
    assert_eq!(message(&repo, &sha).matches("Signed-off-by: ").count(), 1);
    drop(service);
}
