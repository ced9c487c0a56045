//! What the service's end-to-end tests share: the demo repository on the git server with the
//! fake GitHub beside it, and Alertmanager's webhook body for one alert on an image.

use std::path::Path;

use chrono::{SecondsFormat, Utc};
use revertbot_testkit::world::World;

/// The demo repository on the git server, the fake GitHub taking `github_token`, and `serve`
/// on them.
pub fn world(github_token: &str) -> World {
    World::new(
        Path::new(env!("CARGO_BIN_EXE_revertbot")),
        github_token,
        |dir| {
            revertbot::demo::build(dir).unwrap();
        },
    )
}

/// Alertmanager's webhook body (version 4) for one critical alert `alertname` on `image`,
/// `status` firing or resolved, with its times as Alertmanager sends them.
pub fn image_alert(
    alertname: &str,
    image: &str,
    fingerprint: &str,
    status: &str,
    starts: &str,
    ends: &str,
) -> Vec<u8> {
    serde_json::json!({
        "receiver": "revertbot", "status": status,
        "alerts": [{
            "status": status,
            "labels": {"alertname": alertname, "severity": "critical", "image": image},
            "annotations": {}, "startsAt": starts, "endsAt": ends,
            "generatorURL": "http://prometheus.example:9090/graph", "fingerprint": fingerprint
        }],
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093", "version": "4",
        "groupKey": "{}:{}", "truncatedAlerts": 0
    })
    .to_string()
    .into_bytes()
}

/// The demo image's alert, `FrontendErrors`, firing since a minute ago.
pub fn demo_alert() -> Vec<u8> {
    let starts =
        (Utc::now() - chrono::Duration::seconds(60)).to_rfc3339_opts(SecondsFormat::Secs, true);
    image_alert(
        "FrontendErrors",
        revertbot::demo::DEMO_IMAGE,
        "f00d",
        "firing",
        &starts,
        "0001-01-01T00:00:00Z",
    )
}
