//! What a rollback is about, one type from the alert to the culprit finder: an image (its
//! culprit found by walking its history), a workload (its image found as kustomize renders
//! it), or a commit given by hand. The journal stores it as versioned JSON, so a job is read
//! back as it was routed, never rebuilt from a display string.

use serde::{Deserialize, Serialize};

use crate::image::ImageRef;
use crate::manifest::kustomize::WorkloadKind;

#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    /// An image with the version to roll back (an alert's image label, `--image`).
    Image(ImageRef),
    /// A workload (candidates, most likely first): its image is found in the repository, as
    /// kustomize renders it.
    Workload(Vec<Named>),
    /// A commit to revert, given; with an image, only that image's places are rolled back.
    Commit {
        commit: String,
        image: Option<ImageRef>,
    },
}

/// A workload an alert may be about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    pub namespace: Option<String>,
    /// `None`: a workload of any kind with this name (a pod name that fits no controller's
    /// naming, which may be a workload's as written).
    pub kind: Option<WorkloadKind>,
    pub name: String,
    pub container: Option<String>,
}

impl Named {
    /// `NAMESPACE/KIND/NAME[:CONTAINER]`, `*` where the labels leave it open.
    pub fn path(&self) -> String {
        let mut path = format!(
            "{}/{}/{}",
            self.namespace.as_deref().unwrap_or("*"),
            self.kind.map_or("*", WorkloadKind::as_str),
            self.name
        );
        if let Some(container) = &self.container {
            path.push(':');
            path.push_str(container);
        }
        path
    }
}

/// The version of [`Subject`]'s stored form this revertbot writes.
const STORED_VERSION: u32 = 1;

/// The stored form: `{"v":1,"image":"…"}`, `{"v":1,"workload":[…]}` or
/// `{"v":1,"commit":"…","image":…}`.
#[derive(Serialize, Deserialize)]
struct Stored {
    v: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    workload: Option<Vec<Named>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    commit: Option<String>,
}

impl Subject {
    /// The image it names, when it names one.
    pub fn image(&self) -> Option<&ImageRef> {
        match self {
            Subject::Image(image) => Some(image),
            Subject::Commit { image, .. } => image.as_ref(),
            Subject::Workload(_) => None,
        }
    }

    /// What the journal keys jobs by, and what people read: the image; a workload as
    /// `NAMESPACE/KIND/NAME[:CONTAINER]` of its most likely candidate (`*` where the labels
    /// leave it open); a commit as its revision.
    pub fn key(&self) -> String {
        match self {
            Subject::Image(image) => image.to_string(),
            Subject::Workload(candidates) => match candidates.first() {
                Some(first) => format!("workload:{}", first.path()),
                None => "workload:".to_string(),
            },
            Subject::Commit { commit, image } => match image {
                Some(image) => format!("commit:{commit} {image}"),
                None => format!("commit:{commit}"),
            },
        }
    }

    /// The stored form (versioned JSON).
    pub fn to_json(&self) -> String {
        let stored = match self {
            Subject::Image(image) => Stored {
                v: STORED_VERSION,
                image: Some(image.to_string()),
                workload: None,
                commit: None,
            },
            Subject::Workload(candidates) => Stored {
                v: STORED_VERSION,
                image: None,
                workload: Some(candidates.clone()),
                commit: None,
            },
            Subject::Commit { commit, image } => Stored {
                v: STORED_VERSION,
                image: image.as_ref().map(ToString::to_string),
                workload: None,
                commit: Some(commit.clone()),
            },
        };
        serde_json::to_string(&stored).expect("a subject serialises")
    }

    /// Reads the stored form back.
    pub fn from_json(text: &str) -> Result<Subject, String> {
        let stored: Stored =
            serde_json::from_str(text).map_err(|e| format!("stored subject {text:?}: {e}"))?;
        if stored.v != STORED_VERSION {
            return Err(format!(
                "stored subject version {} (this revertbot reads {STORED_VERSION}): upgrade revertbot",
                stored.v
            ));
        }
        let image = stored
            .image
            .as_deref()
            .map(ImageRef::parse)
            .transpose()
            .map_err(|e| format!("stored subject: {e}"))?;
        match (stored.commit, stored.workload, image) {
            (Some(commit), None, image) => Ok(Subject::Commit { commit, image }),
            (None, Some(candidates), None) if !candidates.is_empty() => {
                Ok(Subject::Workload(candidates))
            }
            (None, None, Some(image)) => Ok(Subject::Image(image)),
            _ => Err(format!(
                "stored subject {text:?}: give exactly one of image, workload or commit"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(kind: Option<WorkloadKind>, container: Option<&str>) -> Named {
        Named {
            namespace: Some("prod".into()),
            kind,
            name: "frontend".into(),
            container: container.map(str::to_string),
        }
    }

    #[test]
    fn every_subject_reads_back_as_it_was_stored() {
        let subjects = [
            Subject::Image(ImageRef::parse("ghcr.io/acme/api:1.4.0").unwrap()),
            Subject::Image(ImageRef::parse(&format!("nginx@sha256:{}", "ab".repeat(32))).unwrap()),
            Subject::Workload(vec![
                named(Some(WorkloadKind::Deployment), Some("web")),
                named(None, None),
            ]),
            Subject::Commit {
                commit: "abc123".into(),
                image: None,
            },
            Subject::Commit {
                commit: "main~2".into(),
                image: Some(ImageRef::parse("ghcr.io/acme/api:1.4.0").unwrap()),
            },
        ];
        for subject in subjects {
            let json = subject.to_json();
            assert_eq!(Subject::from_json(&json).unwrap(), subject, "{json}");
        }
    }

    #[test]
    fn the_key_names_the_most_likely_workload() {
        let subject = Subject::Workload(vec![
            named(Some(WorkloadKind::Deployment), Some("web")),
            named(Some(WorkloadKind::StatefulSet), None),
        ]);
        assert_eq!(subject.key(), "workload:prod/Deployment/frontend:web");
        let any = Subject::Workload(vec![Named {
            namespace: None,
            kind: None,
            name: "frontend".into(),
            container: None,
        }]);
        assert_eq!(any.key(), "workload:*/*/frontend");
    }

    #[test]
    fn a_stored_subject_of_another_version_or_shape_is_refused() {
        assert!(Subject::from_json(r#"{"v":2,"image":"nginx:1"}"#)
            .unwrap_err()
            .contains("upgrade revertbot"));
        assert!(Subject::from_json(r#"{"v":1}"#).is_err());
        assert!(Subject::from_json(r#"{"v":1,"image":"nginx:1","workload":[]}"#).is_err());
        assert!(Subject::from_json("workload:prod/Deployment/x").is_err());
    }
}
