//! Whether a directory's filesystem can take a write now: what tells "the disk is full" or
//! "read-only" before a write fails half-way, for `/readyz` and for a job that failed while its
//! data directory had no room.

use std::path::Path;

use rustix::fs::StatVfsMountFlags;

/// Less free than this is no room: SQLite grows its write-ahead log a page at a time, and a
/// delivery (up to `webhook.max_body_bytes`) or a mirror's fetch needs more than a few pages.
pub const MIN_FREE: u64 = 1 << 20;

/// Why `dir` cannot be written now (full, or on a read-only filesystem); `None` when it can, or
/// when the filesystem does not say.
pub fn lacks_room(dir: &Path) -> Option<String> {
    let stat = rustix::fs::statvfs(dir).ok()?;
    if stat.f_flag.contains(StatVfsMountFlags::RDONLY) {
        return Some(format!("{} is on a read-only filesystem", dir.display()));
    }
    // Root may use the blocks a filesystem reserves for it; others may not.
    let blocks = if rustix::process::geteuid().is_root() {
        stat.f_bfree
    } else {
        stat.f_bavail
    };
    let free = blocks.saturating_mul(stat.f_frsize);
    (free < MIN_FREE).then(|| {
        format!(
            "{} is full ({free} bytes free); free space on its disk",
            dir.display()
        )
    })
}
