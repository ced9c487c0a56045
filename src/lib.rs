//! revertbot: when a bad image reaches production through GitOps, take it back through git.
//!
//! The library holds the engine; `src/main.rs` is a thin command-line front.

pub mod alert;
pub mod cli;
pub mod demo;
pub mod error;
pub mod fixture;
pub mod forge;
pub mod image;
pub mod locate;
pub mod pipeline;
pub mod revert;
pub mod run;

/// Sets libgit2's process-wide options for revertbot's work; call once, before any git work.
///
/// - Objects are not re-hashed on every read (git itself checks hashes in `git fsck`, not on
///   read): hashing was a quarter of the time of a long history walk.
/// - No object cache: a history walk reads each commit and tree once, so the cache only grows
///   (to hundreds of MB over 100,000 commits) and costs time.
pub fn configure_git() {
    git2::opts::strict_hash_verification(false);
    git2::opts::enable_caching(false);
}
