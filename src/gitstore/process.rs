//! libgit2's process-wide options. They are global to the process, so they are set once, at
//! start-up, before any git work, and never changed per operation: a service runs many git
//! operations at once on several threads.

use std::sync::OnceLock;
use std::time::Duration;

use anyhow::Result;

/// What the process sets once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessOptions {
    /// The longest a connection to a remote may stay silent — while connecting, or between two
    /// reads or writes — before libgit2 gives up on it. Each operation's own time limit (see
    /// `remote::Network::timeout`) bounds the whole transfer on top of this.
    pub stall_timeout: Duration,
}

static SET: OnceLock<ProcessOptions> = OnceLock::new();

/// Sets libgit2's process-wide options, the first time it is called; later calls change
/// nothing and return the options in force.
///
/// - Objects are not re-hashed on every read (git itself checks hashes in `git fsck`, not on
///   read): hashing was a quarter of the time of a long history walk.
/// - No object cache: a history walk reads each commit and tree once, so the cache only grows
///   (to hundreds of MB over 100,000 commits) and costs time.
/// - Socket time limits: a silent server would otherwise block a git operation forever.
pub fn configure(options: ProcessOptions) -> Result<ProcessOptions> {
    let mut result = Ok(());
    let set = *SET.get_or_init(|| {
        result = apply(&options);
        options
    });
    result.map(|()| set)
}

fn apply(options: &ProcessOptions) -> Result<()> {
    git2::opts::strict_hash_verification(false);
    git2::opts::enable_caching(false);
    let ms = i32::try_from(options.stall_timeout.as_millis())
        .unwrap_or(i32::MAX)
        .max(1);
    // SAFETY: these set two libgit2 global integers. This runs once, inside `get_or_init`,
    // before the process starts any git work.
    unsafe {
        git2::opts::set_server_connect_timeout_in_milliseconds(ms)?;
        git2::opts::set_server_timeout_in_milliseconds(ms)?;
    }
    Ok(())
}
