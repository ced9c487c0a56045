//! `POST /webhooks/github`, `POST /webhooks/gitea` and `POST /webhooks/gitlab`: what GitHub,
//! Gitea or Forgejo, or GitLab tells of the rollback pull requests — merged, closed, reopened,
//! by whom and when — recorded on their jobs at once, instead of learnt when the same alert
//! fires again.
//!
//! A delivery is taken only when signed: the HMAC-SHA256 of the body with the forge's webhook
//! secret, hex, compared in constant time (GitHub's `X-Hub-Signature-256: sha256=<hex>`,
//! Gitea's `X-Gitea-Signature` and Forgejo's `X-Forgejo-Signature`: `<hex>`) — or, GitLab's,
//! when it carries the webhook's token (`X-Gitlab-Token`, compared in constant time: GitLab
//! signs nothing). A delivery id seen before is answered 2xx and changes nothing, across
//! replicas (the journal keeps each id once). Gitea and Forgejo send GitHub's `pull_request`
//! payload shape; GitLab's hook and merge request events are in `gitlab_events`.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::journal::PullEvent;

/// A forge whose webhook revertbot takes: how it proves a delivery is its own, the headers it
/// names its events and numbers its deliveries in, and how its pull request events read.
pub struct Hook {
    /// `github`, `gitea`, `gitlab`.
    pub forge: &'static str,
    /// The setting that holds its secret, for messages.
    pub setting: &'static str,
    /// The headers that prove a delivery, the first one present is read.
    pub proof_headers: &'static [&'static str],
    pub proof: Proof,
    pub event: &'static [&'static str],
    /// The event that tells of pull requests (`pull_request`; GitLab's `Merge Request Hook`).
    pub pull_event: &'static str,
    pub delivery: &'static [&'static str],
    /// Whether a delivery without an id is named by its body's hash instead of refused: GitLab
    /// sends `X-Gitlab-Event-UUID`, but a proxy (or an old GitLab) may drop it, and a
    /// redelivery is the same body.
    pub delivery_from_body: bool,
    /// Reads a pull request event (forge, delivery id, body).
    pub read: fn(&str, &str, &[u8]) -> Result<Told, String>,
    /// Seconds from the pull request's opening to its merge, as the body says.
    pub merge_seconds: fn(&[u8]) -> Option<f64>,
}

/// How a forge proves that a delivery is its own.
pub enum Proof {
    /// The header is `prefix` then the hex HMAC-SHA256 of the body with the secret (`sha256=`
    /// on GitHub).
    Signature { prefix: &'static str },
    /// The header is the secret itself (GitLab's token).
    Token,
}

pub const GITHUB: Hook = Hook {
    forge: "github",
    setting: "github.webhook_secret_file",
    proof_headers: &["x-hub-signature-256"],
    proof: Proof::Signature { prefix: "sha256=" },
    event: &["x-github-event"],
    pull_event: "pull_request",
    delivery: &["x-github-delivery"],
    delivery_from_body: false,
    read: pull_request,
    merge_seconds,
};

pub const GITEA: Hook = Hook {
    forge: "gitea",
    setting: "gitea.webhook_secret_file",
    proof_headers: &["x-forgejo-signature", "x-gitea-signature"],
    proof: Proof::Signature { prefix: "" },
    event: &["x-forgejo-event", "x-gitea-event"],
    pull_event: "pull_request",
    delivery: &["x-forgejo-delivery", "x-gitea-delivery"],
    delivery_from_body: false,
    read: pull_request,
    merge_seconds,
};

impl Hook {
    /// The first of `names` the request carries.
    pub fn header<'a>(names: &[&str], headers: &'a http::HeaderMap) -> Option<&'a str> {
        names
            .iter()
            .find_map(|n| headers.get(*n).and_then(|v| v.to_str().ok()))
    }

    /// Whether the request proves it comes from the forge: signed with `secret`, or carrying it.
    pub fn proven(&self, secret: &[u8], body: &[u8], headers: &http::HeaderMap) -> bool {
        let given = Hook::header(self.proof_headers, headers);
        match self.proof {
            Proof::Signature { prefix } => signed(secret, body, given, prefix),
            Proof::Token => given.is_some_and(|t| secret.ct_eq(t.trim().as_bytes()).into()),
        }
    }

    /// What the refusal of an unproven delivery says.
    pub fn unproven(&self) -> String {
        let headers = self.proof_headers.join(" or ");
        match self.proof {
            Proof::Signature { .. } => format!(
                "{headers} is missing or is not the body's HMAC-SHA256 with {}",
                self.setting
            ),
            Proof::Token => format!("{headers} is missing or is not {}", self.setting),
        }
    }
}

/// The id of a delivery that came without one: its body's SHA-256, so that the same body sent
/// again is the same delivery.
pub fn delivery_of_body(body: &[u8]) -> String {
    use sha2::Digest;
    let hash = Sha256::digest(body);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Whether `signature` (the header as sent: `prefix` then hex) is the body's HMAC-SHA256 with
/// `secret`.
pub fn signed(secret: &[u8], body: &[u8], signature: Option<&str>, prefix: &str) -> bool {
    let Some(hex) = signature.and_then(|s| s.trim().strip_prefix(prefix)) else {
        return false;
    };
    let Some(given) = decode_hex(hex) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    expected.as_slice().ct_eq(&given).into()
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// What a `pull_request` delivery says, read.
#[derive(Debug, PartialEq, Eq)]
pub enum Told {
    /// A change of state to record.
    Event(PullEvent),
    /// An action revertbot keeps nothing of (`opened`, `labeled`...).
    Ignored(String),
}

#[derive(Deserialize)]
struct PullRequestEvent {
    action: String,
    pull_request: PullRequest,
    sender: Option<User>,
}

#[derive(Deserialize)]
struct PullRequest {
    html_url: String,
    #[serde(default)]
    merged: bool,
    merged_at: Option<chrono::DateTime<chrono::Utc>>,
    closed_at: Option<chrono::DateTime<chrono::Utc>>,
    merged_by: Option<User>,
}

#[derive(Deserialize)]
struct User {
    login: String,
}

/// Reads a `pull_request` delivery of `forge`: `closed` (merged or not) and `reopened` are
/// recorded.
pub fn pull_request(forge: &str, delivery: &str, body: &[u8]) -> Result<Told, String> {
    let e: PullRequestEvent =
        serde_json::from_slice(body).map_err(|e| format!("not a pull_request event: {e}"))?;
    let ms = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.timestamp_millis());
    let pr = e.pull_request;
    let (state, merged_at, closed_at, closed_by) = match e.action.as_str() {
        "closed" if pr.merged => (
            "merged",
            ms(pr.merged_at).or(ms(pr.closed_at)),
            ms(pr.closed_at),
            pr.merged_by.or(e.sender).map(|u| u.login),
        ),
        "closed" => ("closed", None, ms(pr.closed_at), e.sender.map(|u| u.login)),
        "reopened" => ("open", None, None, None),
        other => return Ok(Told::Ignored(format!("pull_request {other}"))),
    };
    Ok(Told::Event(PullEvent {
        forge: forge.into(),
        delivery: delivery.to_string(),
        event: format!("pull_request {}", e.action),
        pull_url: pr.html_url,
        state: state.into(),
        merged_at,
        closed_at,
        closed_by,
    }))
}

/// Seconds from a pull request's opening to its merge, as its delivery says; `None` when the
/// delivery does not say both.
pub fn merge_seconds(body: &[u8]) -> Option<f64> {
    #[derive(Deserialize)]
    struct Times {
        pull_request: TimesOf,
    }
    #[derive(Deserialize)]
    struct TimesOf {
        created_at: chrono::DateTime<chrono::Utc>,
        merged_at: Option<chrono::DateTime<chrono::Utc>>,
    }
    let t: Times = serde_json::from_slice(body).ok()?;
    let merged = t.pull_request.merged_at?;
    Some(
        ((merged - t.pull_request.created_at)
            .num_milliseconds()
            .max(0)) as f64
            / 1000.0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &[u8], body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(body);
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("sha256={hex}")
    }

    #[test]
    fn only_the_bodys_own_signature_is_taken() {
        let body = br#"{"zen":"Keep it logically awesome."}"#;
        let good = sign(b"s3cret", body);
        assert!(signed(b"s3cret", body, Some(&good), "sha256="));
        assert!(
            !signed(b"other", body, Some(&good), "sha256="),
            "another secret"
        );
        assert!(
            !signed(b"s3cret", b"{}", Some(&good), "sha256="),
            "another body"
        );
        assert!(!signed(b"s3cret", body, None, "sha256="), "none");
        assert!(
            !signed(b"s3cret", body, Some(&good[7..]), "sha256="),
            "no sha256= prefix"
        );
        assert!(
            !signed(b"s3cret", body, Some("sha256=zz"), "sha256="),
            "not hex"
        );
        assert!(
            !signed(b"s3cret", body, Some(&good[..good.len() - 2]), "sha256="),
            "cut short"
        );
    }

    #[test]
    fn closed_merged_closed_and_reopened_are_read() {
        let merged = br#"{"action":"closed","pull_request":{"html_url":"https://github.com/acme/gitops/pull/7","merged":true,"created_at":"2026-12-06T10:00:00Z","merged_at":"2026-12-06T10:05:00Z","closed_at":"2026-12-06T10:05:00Z","merged_by":{"login":"dana"}},"sender":{"login":"dana"}}"#;
        let Told::Event(e) = pull_request("github", "d1", merged).unwrap() else {
            panic!("recorded")
        };
        assert_eq!(e.state, "merged");
        assert_eq!(e.closed_by.as_deref(), Some("dana"));
        assert_eq!(e.merged_at, Some(1_796_551_500_000));
        assert_eq!(merge_seconds(merged), Some(300.0));
        let closed = br#"{"action":"closed","pull_request":{"html_url":"u","merged":false,"closed_at":"2026-12-06T10:05:00Z"},"sender":{"login":"sam"}}"#;
        let Told::Event(e) = pull_request("github", "d2", closed).unwrap() else {
            panic!("recorded")
        };
        assert_eq!((e.state.as_str(), e.merged_at), ("closed", None));
        assert_eq!(e.closed_by.as_deref(), Some("sam"));
        let reopened = br#"{"action":"reopened","pull_request":{"html_url":"u"}}"#;
        let Told::Event(e) = pull_request("github", "d3", reopened).unwrap() else {
            panic!("recorded")
        };
        assert_eq!((e.state.as_str(), e.closed_at), ("open", None));
        assert_eq!(
            pull_request(
                "github",
                "d4",
                br#"{"action":"labeled","pull_request":{"html_url":"u"}}"#
            ),
            Ok(Told::Ignored("pull_request labeled".into()))
        );
        assert!(pull_request("github", "d5", b"[]").is_err());
    }
}
