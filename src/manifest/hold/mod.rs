//! Holds: the edits that keep image automation from bumping back to a bad tag, and that lift
//! them again. Flux's `ImageRepository.spec.exclusionList` (regexes), Argo CD Image Updater's
//! ignore lists (globs), Renovate's `packageRules[].allowedVersions` (a negated regex).
//!
//! Each edit inserts or removes bytes and keeps every other byte of the file (comments, setter
//! markers, order, indentation, JSON formatting); the result is parsed again to check it says
//! what was meant. Holding what is held already, or lifting what is not held, changes nothing.
//! Pure: text in, text out.

pub mod argo;
pub mod flux;
mod glob;
pub mod pattern;
pub mod renovate;

/// Why a file cannot take a hold (or give one up).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HoldError(pub String);

/// What an edit did to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edited {
    /// The new text.
    Changed(String),
    /// Nothing to do: the hold is there already (or, lifting it, was not there).
    Unchanged,
}

/// The byte offset where line `line` (1-based) starts; the text's length past its end.
pub(crate) fn line_start(text: &str, line: usize) -> usize {
    if line <= 1 {
        return 0;
    }
    let mut seen = 1;
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' {
            seen += 1;
            if seen == line {
                return i + 1;
            }
        }
    }
    text.len()
}

/// The byte offset just past the end of line `line` (1-based), its newline included.
pub(crate) fn line_end(text: &str, line: usize) -> usize {
    let start = line_start(text, line);
    text[start..]
        .find('\n')
        .map_or(text.len(), |i| start + i + 1)
}

/// The line ending the file uses (`\r\n` or `\n`).
pub(crate) fn newline(text: &str) -> &'static str {
    if text.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    }
}
