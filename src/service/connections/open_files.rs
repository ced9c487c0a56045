//! The process's open-files limit: raised as far as it may go, and what it leaves for
//! connections once the journal, the mirrors and git have theirs.

use tracing::{info, warn};

/// Raises the soft open-files limit to the hard one, and gives the number of connections the
/// server may hold: `configured`, or fewer if the limit cannot hold them. Says what it did.
pub fn raise_and_cap(configured: usize) -> usize {
    let limit = match raise() {
        Ok((before, now)) if now > before => {
            info!("open files: soft limit raised from {before} to {now}");
            now
        }
        Ok((_, now)) => {
            info!("open files: limit {now}");
            now
        }
        Err(e) => {
            warn!("open files: cannot read or raise the limit ({e}); webhook.max_connections is taken as given");
            return configured;
        }
    };
    let cap = connection_cap(configured, limit);
    if cap < configured {
        warn!(
            "webhook.max_connections lowered from {configured} to {cap}: the process may open {limit} files, and the journal and git need some of them"
        );
    }
    cap
}

/// `(before, now)`: the soft limit before and after raising it to the hard limit.
fn raise() -> std::io::Result<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given, which lives on this stack.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let before = limit.rlim_cur;
    if limit.rlim_cur >= limit.rlim_max {
        return Ok((before, before));
    }
    let raised = libc::rlimit {
        rlim_cur: limit.rlim_max,
        rlim_max: limit.rlim_max,
    };
    // SAFETY: setrlimit reads the struct it is given; it changes only this process's limit.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((before, raised.rlim_cur))
}

/// The connections a limit of `open_files` descriptors leaves room for, at most `configured`:
/// an eighth of the limit (at least 64, at most half) is kept for everything else.
pub fn connection_cap(configured: usize, open_files: u64) -> usize {
    let reserve = (open_files / 8).max(64).min(open_files / 2);
    let room = usize::try_from(open_files - reserve).unwrap_or(usize::MAX);
    configured.min(room).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_descriptors_for_the_journal_and_git() {
        assert_eq!(connection_cap(10_000, 1_048_576), 10_000);
        assert_eq!(connection_cap(10_000, 1_024), 896);
        assert_eq!(connection_cap(10_000, 100), 50);
        assert_eq!(connection_cap(50, 1_024), 50);
        assert_eq!(connection_cap(10_000, 0), 1);
    }
}
