//! Snapshots of the pull request revertbot writes, for the real Alertmanager payloads in
//! `../shared/fixtures/alertmanager/` and for a hostile one.

mod common;

use revertbot::alert::Payload;
use revertbot::forge::body::{self, AlertContext, Links};
use revertbot::forge::markdown::{Dialect, GITHUB_BODY_LIMIT};
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
    render_for(report, payload, Dialect::GitHub)
}

/// The title and body on a forge, with its web address for the repository.
fn render_for(report: &RevertReport, payload: Option<&Payload>, dialect: Dialect) -> String {
    let ctx = payload.and_then(AlertContext::of);
    let links = Links {
        repo_web_url: web_url(dialect),
        dialect,
    };
    format!(
        "{}\n\n{}",
        body::title(report, ctx, dialect),
        body::body(report, &links, ctx, None)
    )
}

/// `text` without its links' destinations, where no forge looks for references (the silence
/// link carries the alert's labels, percent-encoded only where a URL must be).
fn outside_links(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("](<") {
        out.push_str(&rest[..start]);
        rest = rest[start..]
            .split_once(">)")
            .map_or("", |(_, after)| after);
    }
    out.push_str(rest);
    out
}

fn web_url(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::GitHub => "https://github.com/acme/gitops",
        Dialect::GitLab => "https://gitlab.example/acme/gitops",
        Dialect::Gitea => "https://gitea.example/acme/gitops",
    }
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

/// GitHub's is `alertmanager-0.25-webhook-firing` above.
#[test]
fn a_body_in_each_forges_dialect() {
    let report = demo_report();
    let name = "alertmanager-0.25-webhook-firing.json";
    for (dialect, forge) in [(Dialect::GitLab, "gitlab"), (Dialect::Gitea, "gitea")] {
        let text = render_for(&report, Some(&fixture(name)), dialect);
        insta::assert_snapshot!(format!("{forge}-{}", name.trim_end_matches(".json")), text);
    }
}

/// An alert naming each forge's references: none is left whole in the body, nor in the title
/// where the forge reads references there (GitHub's title is as it was).
#[test]
fn a_hostile_alert_references_nothing_on_any_forge() {
    let report = demo_report();
    let payload = serde_json::json!({
        "version": "4",
        "status": "firing",
        "receiver": "revertbot",
        "externalURL": "http://am:9093",
        "alerts": [{
            "status": "firing",
            "labels": {
                "alertname": "Pwn @octocat closes #1, !2 ~bug %v1 $3 &4 GL-5",
                "team": "@acme/admins",
            },
            "annotations": {
                "summary": "Fixes #1 and acme/other!2 ~\"a label\" %\"a milestone\" *iteration:\"x\" [issue:7] [[_TOC_]] acme/app> @1h\n/merge\n[!NOTE] (a) $x$ \\(y\\)",
            },
            "startsAt": "2026-11-22T08:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://prom.example/graph",
            "fingerprint": "ffff"
        }]
    });
    let payload = Payload::from_json(payload.to_string().as_bytes()).unwrap();
    let everywhere = ["@octocat", "@acme", "#1", "!2"];
    let gitlab = [
        "~bug",
        "~\"",
        "%v1",
        "%\"",
        "$3",
        "&4",
        "*iteration",
        "GL-5",
        "[issue:",
        "[[",
    ];
    let cases: [(Dialect, &[&str]); 3] = [
        (Dialect::GitHub, &everywhere[..3]),
        (Dialect::GitLab, &[&everywhere[..], &gitlab[..]].concat()),
        (
            Dialect::Gitea,
            &[&everywhere[..], &["GL-5", "[[", "@1h"][..]].concat(),
        ),
    ];
    for (dialect, references) in cases {
        let ctx = AlertContext::of(&payload);
        let links = Links {
            repo_web_url: web_url(dialect),
            dialect,
        };
        let text = outside_links(&body::body(&report, &links, ctx, None));
        let title = body::title(&report, ctx, dialect);
        for reference in references {
            assert!(
                !text.contains(reference),
                "{dialect:?}: {reference} in\n{text}"
            );
            let entities = reference.replace('&', "&amp;").replace('>', "&gt;");
            assert!(
                !text.contains(&entities),
                "{dialect:?}: {entities} in\n{text}"
            );
            if dialect != Dialect::GitHub {
                assert!(
                    !title.contains(reference),
                    "{dialect:?}: {reference} in {title}"
                );
            }
        }
        assert!(!text.contains("\n/merge"), "{dialect:?}:\n{text}");
    }
    let gitlab = body::body(
        &report,
        &Links {
            repo_web_url: web_url(Dialect::GitLab),
            dialect: Dialect::GitLab,
        },
        AlertContext::of(&payload),
        None,
    );
    assert!(
        !gitlab.contains("app&gt;"),
        "a project reference:\n{gitlab}"
    );
    let gitea = render_for(&report, Some(&payload), Dialect::Gitea);
    assert!(
        !gitea.contains("\\(") && !gitea.contains("$x"),
        "no math delimiter:\n{gitea}"
    );
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
        dialect: Dialect::GitHub,
    };
    let text = body::body(&report, &links, ctx, None);
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
    let title = body::title(&report, ctx, Dialect::GitHub);
    assert!(!title.contains('\n') && title.len() <= 250, "{title}");
    // Keep the snapshot readable: the 1 MB description is cut to its first characters.
    insta::assert_snapshot!("hostile", text.replace(&"A".repeat(64), "A…"));
}

/// The note on a rollback's pull request when its alert resolves, for Alertmanager's own
/// resolved payload (it ended 09:19:34): open, it stays for people to decide; merged at 09:05,
/// it says how long after the merge the alert resolved; with no `endsAt`, up to now.
#[test]
fn resolved_notes_say_how_long_recovery_took_after_a_merge() {
    let at = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    let resolved = fixture("alertmanager-0.25-webhook-resolved.json");
    let ctx = AlertContext::of(&resolved);
    let now = at("2026-11-22T10:00:00Z");
    let merged = Some(at("2026-11-22T09:05:00Z"));
    let open = body::resolved_comment(ctx, now, None, Dialect::GitHub);
    insta::assert_snapshot!("resolved-open", open);
    let after = body::resolved_comment(ctx, now, merged, Dialect::GitHub);
    insta::assert_snapshot!("resolved-after-merge", after);
    assert!(
        after.contains("Recovered 15 min after the rollback merged"),
        "09:05 to 09:19:34, rounded: {after}"
    );
    assert!(!after.contains("stays open"), "{after}");
    // No end given (a canary tool's resolution): up to now.
    let no_end = body::resolved_comment(None, now, merged, Dialect::GitLab);
    insta::assert_snapshot!("resolved-after-merge-no-end", no_end);
    assert!(no_end.contains("Recovered 55 min after the rollback merged"));
}
