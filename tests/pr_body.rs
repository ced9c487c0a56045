//! Snapshots of the pull request revertbot writes, for the real Alertmanager payloads in
//! `../shared/fixtures/alertmanager/` and for a hostile one.

mod common;

use revertbot::alert::Payload;
use revertbot::forge::body::{self, AlertContext, Links};
use revertbot::forge::markdown::GITHUB_BODY_LIMIT;
use revertbot::revert::RevertReport;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/fixtures/alertmanager"
);

/// The demo rollback (partial: the Flux run also bumped the worker; staging is a twin).
fn demo_report() -> RevertReport {
    let dir = tempfile::tempdir().unwrap();
    revertbot::demo::build(dir.path()).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut req = common::with_image(
        common::revert_request(dir.path().to_str().unwrap(), cache.path()),
        revertbot::demo::DEMO_IMAGE,
    );
    req.dry_run = true;
    common::rollback(&req)
}

fn render(report: &RevertReport, payload: Option<&Payload>) -> String {
    let ctx = payload.and_then(AlertContext::of);
    let links = Links {
        repo_web_url: "https://github.com/acme/gitops",
    };
    format!(
        "{}\n\n{}",
        body::title(report, ctx),
        body::body(report, &links, ctx)
    )
}

fn fixture(name: &str) -> Payload {
    Payload::from_json(&std::fs::read(format!("{FIXTURES}/{name}")).unwrap()).unwrap()
}

#[test]
fn bodies_for_the_fixture_alerts() {
    let report = demo_report();
    for name in [
        "alertmanager-0.25-webhook-firing.json",
        "alertmanager-0.25-webhook-from-prometheus.json",
        "handmade-pod-unschedulable-group.json",
    ] {
        let text = render(&report, Some(&fixture(name)));
        insta::assert_snapshot!(name.trim_end_matches(".json"), text);
    }
    insta::assert_snapshot!("no-alert", render(&report, None));
}

#[test]
fn a_hostile_alert_cannot_inject_or_overflow() {
    let report = demo_report();
    let huge = "A".repeat(1 << 20);
    let payload = serde_json::json!({
        "version": "4",
        "status": "firing",
        "receiver": "revertbot",
        "externalURL": "javascript:alert(document.cookie)",
        "alerts": [{
            "status": "firing",
            "labels": {
                "alertname": "Pwn <script>alert(1)</script> @octocat",
                "severity": "critical | injected | cell",
                "team": "@acme/admins please look",
            },
            "annotations": {
                "summary": "Fixes #1 and acme/other#2 **bold** [click](https://evil.example/x) <img src=x onerror=alert(1)>\n# Heading\n- list\n```\ncode\n```",
                "description": huge,
            },
            "startsAt": "2026-11-22T08:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://prom.example/graph?g0.expr=up) [x](javascript:alert(1)",
            "fingerprint": "ffff"
        }]
    });
    let payload = Payload::from_json(payload.to_string().as_bytes()).unwrap();
    let ctx = AlertContext::of(&payload);
    let links = Links {
        repo_web_url: "https://github.com/acme/gitops",
    };
    let text = body::body(&report, &links, ctx);
    assert!(
        text.chars().count() <= GITHUB_BODY_LIMIT,
        "{} characters",
        text.chars().count()
    );
    assert!(
        !text.contains("<script") && !text.contains("<img"),
        "HTML is escaped"
    );
    assert!(
        !text.contains("@octocat") && !text.contains("@acme/admins"),
        "mentions are broken"
    );
    assert!(
        !text.contains(" #1 ") && !text.contains("other#2"),
        "references are broken"
    );
    assert!(
        !text.contains("javascript:alert(document"),
        "no javascript: link"
    );
    assert!(
        !text.contains("\n# Heading") && !text.contains("\n- list") && !text.contains("\n```"),
        "no block syntax from the alert"
    );
    assert!(
        text.contains("### What") && text.contains("### Wrong culprit?"),
        "the rollback facts survive the cap"
    );
    let title = body::title(&report, ctx);
    assert!(!title.contains('\n') && title.len() <= 250, "{title}");
    // Keep the snapshot readable: the 1 MB description is cut to its first characters.
    insta::assert_snapshot!("hostile", text.replace(&"A".repeat(64), "A…"));
}
