//! Where a version is written, and what it holds or how it changed: the records every answer
//! (locate's changes and twins, revert's restored places) is made of.

use serde::Serialize;

use super::refs::{Field, Reference};

/// One scalar holding a version: a file, a document in it, a YAML path and a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: String,
    /// 0-based index of the document in a multi-document file.
    pub document: usize,
    pub yaml_path: String,
    /// 1-based.
    pub line: usize,
    pub field: Field,
}

impl Location {
    /// Where reference `r` of `file` is.
    pub fn of(file: &str, r: &Reference) -> Location {
        Location {
            file: file.to_string(),
            document: r.document,
            yaml_path: r.yaml_path.clone(),
            line: r.line,
            field: r.field,
        }
    }
}

/// A location and the version it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Place {
    #[serde(flatten)]
    pub at: Location,
    pub value: Option<String>,
}

impl Place {
    pub fn of(file: &str, r: &Reference) -> Place {
        Place {
            at: Location::of(file, r),
            value: r.value.clone(),
        }
    }
}

/// A location whose version changed: `from` is `None` where the place held no version or was
/// added, `to` where it holds none or was removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    #[serde(flatten)]
    pub at: Location,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Set where the image's name changed at this place (a move to another registry or
    /// repository): the versions alone would read as a place added or removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved: Option<Moved>,
}

/// The full references a place held before and after a change of its image's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moved {
    pub from: String,
    pub to: String,
}

/// How a missing version is written for people.
pub const NO_VERSION: &str = "(none)";

impl Change {
    /// `tag 1.4.0 -> 1.5.0`, or `image old.io/acme/api:1.4.0 -> ghcr.io/acme/api:1.4.0` where
    /// the image moved, for people.
    pub fn versions(&self) -> String {
        if let Some(moved) = &self.moved {
            return format!("image {} -> {}", moved.from, moved.to);
        }
        format!(
            "{} {} -> {}",
            self.at.field.as_str(),
            self.from.as_deref().unwrap_or(NO_VERSION),
            self.to.as_deref().unwrap_or(NO_VERSION)
        )
    }
}
