//! Why there is no culprit, as engine errors with a code and the counts behind the message.

use crate::error::{Error, Input, Kind};

/// The image is not referenced at rev (facts: `files` searched).
pub const NOT_REFERENCED: &str = "not_referenced";
/// The image is referenced but its value never changed (facts: `files` followed, `commits`
/// walked).
pub const NEVER_BUMPED: &str = "never_bumped";
/// No place holds the version named (facts: `holds`, what git holds instead).
pub const STALE: &str = "stale";

pub fn not_referenced(image: &str, rev: &str, files: usize) -> Error {
    Error::new(Kind::NotFound)
        .text(format!(
            "{image} is not referenced at {rev}: searched {files} YAML files; check the image name and "
        ))
        .input(Input::Paths)
        .with_code(NOT_REFERENCED)
        .with_fact("files", files)
}

pub fn never_bumped(image: &str, rev: &str, files: usize, commits: usize) -> Error {
    Error::new(Kind::NotFound)
        .text(format!(
            "{image} is referenced at {rev} but no commit changed its value: walked {commits} commits back to where each of its {files} file(s) first referenced it"
        ))
        .with_code(NEVER_BUMPED)
        .with_fact("files", files)
        .with_fact("commits", commits)
}

pub fn stale(image: &str, rev: &str, holds: &str) -> Error {
    Error::new(Kind::Stale)
        .text(format!(
            "stale: no place holds {image} at {rev}; git holds {holds}; a different version is deployed now, so reverting would hit a version nobody complained about"
        ))
        .with_code(STALE)
        .with_fact("holds", holds)
}
