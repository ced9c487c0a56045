//! GitHub's webhook as GitHub sends it: the body signed with the secret
//! (`X-Hub-Signature-256: sha256=<hex HMAC-SHA256>`), the event and the delivery id.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub fn signature(body: &[u8], secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// Posts `body` to `url` as delivery `delivery` of `event`, signed with `secret` (none:
/// unsigned); the status and the JSON answer.
pub fn deliver(
    url: &str,
    event: &str,
    delivery: &str,
    body: &serde_json::Value,
    secret: Option<&str>,
) -> (u16, serde_json::Value) {
    let body = body.to_string().into_bytes();
    let signed = secret.map(|s| signature(&body, s));
    let mut headers = vec![
        ("X-GitHub-Event", event),
        ("X-GitHub-Delivery", delivery),
        ("Content-Type", "application/json"),
    ];
    if let Some(signed) = &signed {
        headers.push(("X-Hub-Signature-256", signed));
    }
    let (status, answer) = super::http_post(url, &headers, &body);
    (
        status,
        serde_json::from_slice(&answer).unwrap_or(serde_json::Value::Null),
    )
}

/// A `pull_request` event's body for the pull request at `url`: `closed` (merged or not) or
/// `reopened`, by `dana`, merged or closed at `at`.
pub fn pull_request(action: &str, url: &str, merged: bool, at: &str) -> serde_json::Value {
    serde_json::json!({
        "action": action,
        "number": 1,
        "pull_request": {
            "html_url": url,
            "state": if action == "reopened" { "open" } else { "closed" },
            "merged": merged,
            "created_at": "2026-12-06T10:00:00Z",
            "merged_at": if merged { serde_json::json!(at) } else { serde_json::json!(null) },
            "closed_at": if action == "reopened" { serde_json::json!(null) } else { serde_json::json!(at) },
            "merged_by": if merged { serde_json::json!({"login": "dana"}) } else { serde_json::json!(null) }
        },
        "sender": {"login": "dana"}
    })
}
