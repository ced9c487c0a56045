//! Exit codes, and the errors that carry one. Anything else exits 1.

use std::process::ExitCode;

/// The process exit codes revertbot documents in its README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Other = 1,
    /// A usage or configuration error: the user has to change the command.
    Usage = 2,
    /// No culprit: the image is not referenced, or its value never changed.
    NotFound = 3,
    /// The version named is not what git holds now.
    Stale = 4,
    /// The revert cannot be made safely (conflict, place changed since, revert of a revert).
    CannotRevert = 5,
    /// The rollback branch exists and holds something else.
    BranchConflict = 6,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// A mistake in the command or its inputs (bad flag value, missing repository, unknown
/// revision). The message says what is wrong and what to do.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Errors that know their exit code.
pub trait HasExit {
    fn exit(&self) -> Exit;
}

/// The exit code for an error: the first error in its chain that knows one, else 1.
pub fn exit_code(err: &anyhow::Error) -> Exit {
    for cause in err.chain() {
        if cause.is::<UsageError>() || cause.is::<crate::image::ImageError>() {
            return Exit::Usage;
        }
        if let Some(e) = cause.downcast_ref::<crate::locate::LocateError>() {
            return e.exit();
        }
        if let Some(e) = cause.downcast_ref::<crate::revert::plan::RevertError>() {
            return e.exit();
        }
        if let Some(e) = cause.downcast_ref::<crate::revert::BranchConflict>() {
            return e.exit();
        }
    }
    Exit::Other
}
