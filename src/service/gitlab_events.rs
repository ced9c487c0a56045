//! GitLab's merge request events (`X-Gitlab-Event: Merge Request Hook`), read: what became of
//! a rollback merge request. GitLab's payload is its own, not GitHub's: the merge request is
//! `object_attributes` (`url`, `action`, `created_at`, `updated_at`), and who acted is `user`.
//! Only newer GitLabs put `merged_at` in it; the others change `updated_at` when they merge or
//! close, so that time stands in. Times come as `2013-12-03T17:23:34Z` or, from older GitLabs,
//! `2013-12-03 17:23:34 UTC`.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;

use super::forge_events::{Hook, Proof, Told};
use crate::journal::PullEvent;

/// GitLab's webhook: its token, its event and delivery headers (`X-Gitlab-Event-UUID`; a
/// delivery without it — an older GitLab, a proxy that drops it — is named by its body).
pub const GITLAB: Hook = Hook {
    forge: "gitlab",
    setting: "gitlab.webhook_token_file",
    proof_headers: &["x-gitlab-token"],
    proof: Proof::Token,
    event: &["x-gitlab-event"],
    pull_event: "Merge Request Hook",
    delivery: &["x-gitlab-event-uuid"],
    delivery_from_body: true,
    read: merge_request,
    merge_seconds,
};

#[derive(Deserialize)]
struct MergeRequestEvent {
    object_kind: String,
    user: Option<User>,
    object_attributes: Attributes,
}

#[derive(Deserialize)]
struct Attributes {
    /// The merge request's web address, as revertbot recorded it when it opened it.
    url: String,
    /// `open`, `close`, `reopen`, `update`, `approved`, `merge`...; absent on some older events.
    action: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
    merged_at: Option<String>,
}

#[derive(Deserialize)]
struct User {
    username: String,
}

/// Reads a `Merge Request Hook` delivery: `merge`, `close` and `reopen` are recorded.
pub fn merge_request(forge: &str, delivery: &str, body: &[u8]) -> Result<Told, String> {
    let e: MergeRequestEvent =
        serde_json::from_slice(body).map_err(|e| format!("not a merge request event: {e}"))?;
    if e.object_kind != "merge_request" {
        return Err(format!(
            "not a merge request event: object_kind is {:?}",
            e.object_kind
        ));
    }
    let a = e.object_attributes;
    let action = a.action.unwrap_or_default();
    let at = |t: &Option<String>| t.as_deref().and_then(time).map(|t| t.timestamp_millis());
    let by = e.user.map(|u| u.username);
    let (state, merged_at, closed_at, closed_by) = match action.as_str() {
        "merge" => {
            let merged = at(&a.merged_at).or(at(&a.updated_at));
            ("merged", merged, merged, by)
        }
        "close" => ("closed", None, at(&a.updated_at), by),
        "reopen" => ("open", None, None, None),
        other => return Ok(Told::Ignored(format!("merge_request {other}"))),
    };
    Ok(Told::Event(PullEvent {
        forge: forge.into(),
        delivery: delivery.to_string(),
        event: format!("merge_request {action}"),
        pull_url: a.url,
        state: state.into(),
        merged_at,
        closed_at,
        closed_by,
    }))
}

/// Seconds from the merge request's opening to its merge, as a `merge` delivery says.
pub fn merge_seconds(body: &[u8]) -> Option<f64> {
    let e: MergeRequestEvent = serde_json::from_slice(body).ok()?;
    let a = e.object_attributes;
    if a.action.as_deref() != Some("merge") {
        return None;
    }
    let created = time(a.created_at.as_deref()?)?;
    let merged = a.merged_at.as_deref().or(a.updated_at.as_deref())?;
    let merged = time(merged)?;
    Some((merged - created).num_milliseconds().max(0) as f64 / 1000.0)
}

/// A time as GitLab writes it in its webhooks: RFC 3339, or `YYYY-MM-DD hh:mm:ss UTC` (older
/// versions), or with a numeric offset in place of `UTC`.
pub fn time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    if let Some(utc) = text.strip_suffix(" UTC") {
        return NaiveDateTime::parse_from_str(utc, "%Y-%m-%d %H:%M:%S%.f")
            .ok()
            .map(|t| t.and_utc());
    }
    DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f %z")
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://gitlab.example.com/acme/gitops/-/merge_requests/7";

    fn body(action: &str, updated_at: &str) -> Vec<u8> {
        serde_json::json!({
            "object_kind": "merge_request",
            "event_type": "merge_request",
            "user": {"id": 1, "name": "Dana", "username": "dana"},
            "project": {"id": 15, "path_with_namespace": "acme/gitops"},
            "object_attributes": {
                "id": 99, "iid": 7, "url": URL, "action": action,
                "state": if action == "merge" { "merged" } else { "closed" },
                "created_at": "2013-12-03 17:20:00 UTC", "updated_at": updated_at,
            },
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn merge_close_and_reopen_are_read() {
        let Told::Event(e) =
            merge_request("gitlab", "d1", &body("merge", "2013-12-03T17:23:34Z")).unwrap()
        else {
            panic!("recorded")
        };
        assert_eq!((e.state.as_str(), e.pull_url.as_str()), ("merged", URL));
        assert_eq!(e.merged_at, Some(1_386_091_414_000));
        assert_eq!(e.closed_by.as_deref(), Some("dana"));
        assert_eq!(e.event, "merge_request merge");
        assert_eq!(
            merge_seconds(&body("merge", "2013-12-03 17:23:34 UTC")),
            Some(214.0)
        );
        let Told::Event(e) =
            merge_request("gitlab", "d2", &body("close", "2013-12-03 17:23:34 UTC")).unwrap()
        else {
            panic!("recorded")
        };
        assert_eq!((e.state.as_str(), e.merged_at), ("closed", None));
        assert_eq!(e.closed_at, Some(1_386_091_414_000));
        assert_eq!(
            merge_seconds(&body("close", "2013-12-03 17:23:34 UTC")),
            None
        );
        let Told::Event(e) = merge_request("gitlab", "d3", &body("reopen", "x")).unwrap() else {
            panic!("recorded")
        };
        assert_eq!((e.state.as_str(), e.closed_by), ("open", None));
        assert_eq!(
            merge_request("gitlab", "d4", &body("update", "x")),
            Ok(Told::Ignored("merge_request update".into()))
        );
        assert!(merge_request("gitlab", "d5", br#"{"object_kind":"push"}"#).is_err());
    }

    #[test]
    fn gitlabs_time_forms_are_read() {
        let t = Some(1_386_091_414_000);
        for text in [
            "2013-12-03T17:23:34Z",
            "2013-12-03T17:23:34.000Z",
            "2013-12-03T18:23:34+01:00",
            "2013-12-03 17:23:34 UTC",
            "2013-12-03 18:23:34 +0100",
        ] {
            assert_eq!(time(text).map(|t| t.timestamp_millis()), t, "{text}");
        }
        assert_eq!(time("yesterday"), None);
    }
}
