//! The rollbacks of the last days in a few figures, for the status page: pull requests opened,
//! merged and closed unmerged, and the median time from opened to merged. The journal reads
//! each pull request's times with one statement for both backends
//! ([`super::sql::summary`]); the figures are counted here, where no SQL dialect has to agree
//! on a median.

use serde::Serialize;

/// Pull requests read for one summary at most, newest first: the page stays quick whatever
/// the journal holds (the rate guard keeps a week's rollbacks far below it).
pub const SUMMARY_PULLS: u32 = 10_000;

/// One rollback pull request's times (milliseconds since the epoch), over every job that
/// opened or found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PullTimes {
    /// When the first job that recorded it ended: when it was opened, give or take the job's
    /// last seconds.
    pub opened_at: i64,
    pub merged_at: Option<i64>,
    /// Closed, merged or not (a merge closes it too).
    pub closed_at: Option<i64>,
}

/// Rollbacks since a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct RollbackSummary {
    /// From when (milliseconds since the epoch).
    pub since: i64,
    /// Pull requests opened since.
    pub opened: u32,
    /// Merged since.
    pub merged: u32,
    /// Closed unmerged since.
    pub closed: u32,
    /// The median, over those merged since, of the time from opened to merged (milliseconds);
    /// `None` when none was.
    pub median_to_merge_ms: Option<i64>,
}

impl RollbackSummary {
    /// The figures since `since`, from each pull request's times.
    pub fn of(since: i64, pulls: impl IntoIterator<Item = PullTimes>) -> RollbackSummary {
        let mut s = RollbackSummary {
            since,
            ..RollbackSummary::default()
        };
        let mut to_merge = Vec::new();
        for p in pulls {
            if p.opened_at >= since {
                s.opened += 1;
            }
            match (p.merged_at, p.closed_at) {
                (Some(merged), _) if merged >= since => {
                    s.merged += 1;
                    // The forge's clock against the service's: never below nothing.
                    to_merge.push((merged - p.opened_at).max(0));
                }
                (None, Some(closed)) if closed >= since => s.closed += 1,
                _ => {}
            }
        }
        s.median_to_merge_ms = median(&mut to_merge);
        s
    }
}

/// The middle value; for an even count, the mean of the two middle ones.
fn median(values: &mut [i64]) -> Option<i64> {
    values.sort_unstable();
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pull(opened_at: i64, merged_at: Option<i64>, closed_at: Option<i64>) -> PullTimes {
        PullTimes {
            opened_at,
            merged_at,
            closed_at,
        }
    }

    #[test]
    fn opened_merged_and_closed_are_counted_in_the_window_and_the_median_is_the_middle() {
        let s = RollbackSummary::of(
            100,
            [
                pull(110, Some(150), Some(150)),
                pull(120, Some(220), Some(220)),
                pull(130, None, Some(140)),
                pull(140, None, None),
                // Opened before the window, merged in it: a merge, not an opening.
                pull(50, Some(110), Some(110)),
                // All of it before the window.
                pull(10, None, Some(20)),
            ],
        );
        assert_eq!(
            (s.opened, s.merged, s.closed),
            (4, 3, 1),
            "opened 110..140; merged 150, 220, 110; closed 140"
        );
        // 40, 100, 60: the middle one.
        assert_eq!(s.median_to_merge_ms, Some(60));
    }

    #[test]
    fn an_even_count_takes_the_mean_of_the_two_middle_ones_and_none_merged_has_no_median() {
        assert_eq!(median(&mut [10, 40, 20, 30]), Some(25));
        assert_eq!(median(&mut []), None);
        let none = RollbackSummary::of(0, [pull(5, None, None)]);
        assert_eq!((none.opened, none.median_to_merge_ms), (1, None));
        // A forge whose clock is behind the service's: no negative time.
        let early = RollbackSummary::of(0, [pull(100, Some(90), Some(90))]);
        assert_eq!(early.median_to_merge_ms, Some(0));
    }
}
