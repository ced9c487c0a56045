//! What is checked for a rollback — every image reference it writes back — and what comes of the
//! answers: the rollback goes ahead with what was found, or stops before its push.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::client::{Answer, Registries};
use super::name::ManifestAt;
use crate::error::{Error, Kind};
use crate::image::ImageRef;
use crate::manifest::{Change, Field};

/// The code of a rollback stopped because an image it deploys again is gone.
pub const MISSING_CODE: &str = "rollback-image-missing";

/// One image the rollback deploys again, as its registry answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageCheck {
    /// The image, without version: `ghcr.io/acme/api`.
    pub image: String,
    /// The tag or digest asked for.
    pub reference: String,
    /// `None`: not told (see `error`).
    pub exists: Option<bool>,
    /// The manifest's digest, when found.
    pub digest: Option<String>,
    /// Why it could not be told, or the registry's words for a manifest that is gone.
    pub error: Option<String>,
    /// The registry asked: `ghcr.io`, `docker.io`.
    pub registry: String,
    /// When (RFC 3339).
    pub checked_at: String,
}

impl ImageCheck {
    /// `1.4.0 is sha256:… in ghcr.io, checked at T`, or what stopped the check.
    pub fn summary(&self) -> String {
        match (self.exists, &self.digest) {
            (Some(true), Some(digest)) => format!(
                "{}:{} is {digest} in {}, checked at {}",
                self.image, self.reference, self.registry, self.checked_at
            ),
            (Some(false), _) => format!(
                "{}:{} is not in {} ({}), checked at {}",
                self.image,
                self.reference,
                self.registry,
                self.error.as_deref().unwrap_or("404"),
                self.checked_at
            ),
            _ => format!(
                "{}:{} not checked: {}",
                self.image,
                self.reference,
                self.error.as_deref().unwrap_or("no answer")
            ),
        }
    }
}

/// What to do with a rollback whose image is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnMissing {
    /// No branch, no pull request: the job ends `rollback-image-missing`.
    Skip,
    /// The pull request anyway, a warning at its top.
    Open,
}

/// What to do with a rollback whose registry could not tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// The pull request, a warning at its top: a registry outage must not stop a rollback.
    Open,
    Skip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub on_missing: OnMissing,
    pub on_error: OnError,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            on_missing: OnMissing::Skip,
            on_error: OnError::Open,
        }
    }
}

/// The references a rollback writes back: each place set back (by its digest where the place
/// holds one; where the image moved, the reference it moves back to), and with a workload the
/// image it was rendered with before the culprit. Each once.
pub fn images_to_check(
    image: Option<&str>,
    restored: &[Change],
    rendered_before: Option<&str>,
) -> Vec<ImageRef> {
    let name = image.and_then(|i| ImageRef::parse(i).ok()).map(|i| i.name);
    let mut out: Vec<ImageRef> = Vec::new();
    let mut add = |r: ImageRef| {
        if !out.contains(&r) {
            out.push(r);
        }
    };
    for change in restored {
        if let Some(moved) = &change.moved {
            if let Ok(r) = ImageRef::parse(&moved.to) {
                add(r);
            }
            continue;
        }
        let (Some(name), Some(to)) = (&name, &change.to) else {
            continue;
        };
        let r = match change.at.field {
            Field::Tag => ImageRef {
                name: name.clone(),
                tag: Some(to.clone()),
                digest: None,
            },
            Field::Digest => ImageRef {
                name: name.clone(),
                tag: None,
                digest: Some(to.clone()),
            },
        };
        add(r);
    }
    if let Some(r) = rendered_before.and_then(|i| ImageRef::parse(i).ok()) {
        if r.tag.is_some() || r.digest.is_some() {
            add(r);
        }
    }
    // A place pinned by digest is checked by that digest: its tag beside it says less.
    let pinned: Vec<(String, String)> = out
        .iter()
        .filter(|r| r.digest.is_some() && r.tag.is_some())
        .map(|r| (r.name.clone(), r.tag.clone().unwrap_or_default()))
        .collect();
    out.retain(|r| {
        r.digest.is_some()
            || !pinned
                .iter()
                .any(|(n, t)| *n == r.name && Some(t) == r.tag.as_ref())
    });
    out
}

impl Registries {
    /// Asks each image's registry, one after another (a rollback writes back a few).
    pub async fn check(&self, images: &[ImageRef], now: DateTime<Utc>) -> Vec<ImageCheck> {
        let checked_at = now.to_rfc3339_opts(SecondsFormat::Secs, true);
        let mut out = Vec::new();
        for image in images {
            let Some(at) = ManifestAt::of(image) else {
                continue;
            };
            let mut check = ImageCheck {
                image: image.name.clone(),
                reference: at.reference.clone(),
                exists: None,
                digest: None,
                error: None,
                registry: at.registry().to_string(),
                checked_at: checked_at.clone(),
            };
            match self.manifest(&at).await {
                Ok(Answer::Found { digest }) => {
                    check.exists = Some(true);
                    check.digest = Some(digest);
                }
                Ok(Answer::Missing { said }) => {
                    check.exists = Some(false);
                    check.error = Some(said);
                }
                Err(why) => check.error = Some(why),
            }
            out.push(check);
        }
        out
    }
}

/// Whether the rollback goes ahead after `checks`: an error (kind `CannotRevert`, code
/// [`MISSING_CODE`] for an image gone) when the policy says to stop.
pub fn verdict(checks: &[ImageCheck], policy: Policy) -> Result<(), Error> {
    if let Some(gone) = checks.iter().find(|c| c.exists == Some(false)) {
        if policy.on_missing == OnMissing::Skip {
            return Err(Error::new(Kind::CannotRevert)
                .text(format!(
                    "the rollback would deploy {}:{}, which {} no longer has ({}); nothing pushed. Push that image again, or roll back by hand to a version that exists",
                    gone.image,
                    gone.reference,
                    gone.registry,
                    gone.error.as_deref().unwrap_or("404")
                ))
                .with_code(MISSING_CODE));
        }
    }
    if let Some(unknown) = checks.iter().find(|c| c.exists.is_none()) {
        if policy.on_error == OnError::Skip {
            return Err(Error::new(Kind::Transient).text(format!(
                "cannot tell whether {}:{} is still in {} ({}); registry.on_error: skip stops the rollback until it can",
                unknown.image,
                unknown.reference,
                unknown.registry,
                unknown.error.as_deref().unwrap_or("no answer")
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Location, Moved};

    fn change(field: Field, to: Option<&str>) -> Change {
        Change {
            at: Location {
                file: "app.yaml".into(),
                document: 0,
                yaml_path: "image".into(),
                line: 1,
                field,
            },
            from: Some("bad".into()),
            to: to.map(str::to_string),
            moved: None,
        }
    }

    #[test]
    fn every_reference_written_back_once_a_digest_over_its_tag() {
        let d = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
        let restored = [
            change(Field::Tag, Some("1.4.0")),
            change(Field::Tag, Some("1.4.0")),
            change(Field::Digest, Some(d)),
            change(Field::Tag, None),
        ];
        let got = images_to_check(Some("ghcr.io/acme/api:1.5.0"), &restored, None);
        let shown: Vec<String> = got.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "ghcr.io/acme/api:1.4.0".to_string(),
                format!("ghcr.io/acme/api@{d}")
            ]
        );
        let mut moved = change(Field::Tag, Some("1.4.0"));
        moved.moved = Some(Moved {
            from: "new.io/acme/api:1.5.0".into(),
            to: "old.io/acme/api:1.4.0".into(),
        });
        let got = images_to_check(
            Some("new.io/acme/api:1.5.0"),
            &[moved],
            Some("docker.io/library/nginx:1.27"),
        );
        let shown: Vec<String> = got.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            ["old.io/acme/api:1.4.0", "docker.io/library/nginx:1.27"]
        );
    }

    #[test]
    fn a_gone_image_stops_the_rollback_unless_told_to_open() {
        let check = |exists: Option<bool>| ImageCheck {
            image: "ghcr.io/acme/api".into(),
            reference: "1.4.0".into(),
            exists,
            digest: None,
            error: exists.map_or(Some("no answer".into()), |_| {
                Some("MANIFEST_UNKNOWN".into())
            }),
            registry: "ghcr.io".into(),
            checked_at: "2026-12-06T10:00:00Z".into(),
        };
        let stop = verdict(&[check(Some(false))], Policy::default()).unwrap_err();
        assert_eq!(stop.code(), Some(MISSING_CODE));
        assert_eq!(stop.kind(), Kind::CannotRevert);
        assert!(
            stop.to_string().contains("ghcr.io/acme/api:1.4.0"),
            "{stop}"
        );
        let open = Policy {
            on_missing: OnMissing::Open,
            ..Policy::default()
        };
        assert!(verdict(&[check(Some(false))], open).is_ok());
        assert!(
            verdict(&[check(None)], Policy::default()).is_ok(),
            "an outage goes ahead"
        );
        let strict = Policy {
            on_error: OnError::Skip,
            ..Policy::default()
        };
        assert_eq!(
            verdict(&[check(None)], strict).unwrap_err().kind(),
            Kind::Transient
        );
        assert!(verdict(&[check(Some(true))], strict).is_ok());
    }
}
