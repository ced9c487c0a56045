//! Progress of long work on a terminal: a first clone of a big repository takes a while, and a
//! person waiting should see it move. Nothing when stderr is not a terminal (CI, logs, pipes).

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use revertbot::gitstore::remote::{Progress, Transfer};

/// How often the line is redrawn at most.
const EVERY: Duration = Duration::from_millis(100);

/// A fetch's progress as one line on stderr, redrawn in place; `None` when stderr is not a
/// terminal.
pub fn fetch() -> Option<Progress> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    // When the line was last drawn, and whether the fetch was seen complete (libgit2 goes on
    // calling while it resolves deltas).
    let state: Mutex<(Option<Instant>, bool)> = Mutex::new((None, false));
    Some(Progress(Arc::new(move |t: Transfer| {
        let done = t.total_objects > 0 && t.received_objects == t.total_objects;
        let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
        let (last, finished) = &mut *state;
        if *finished || (!done && last.is_some_and(|at| at.elapsed() < EVERY)) {
            return;
        }
        *last = Some(Instant::now());
        *finished = done;
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\rfetching: {}/{} objects, {:.1} MiB{}",
            t.received_objects,
            t.total_objects,
            t.received_bytes as f64 / (1024.0 * 1024.0),
            if done { "\n" } else { "" }
        );
        let _ = err.flush();
    })))
}

/// A history walk's progress on stderr (`walking: N commits`), redrawn in place at most every
/// [`EVERY`] and erased when the walk ends; nothing when stderr is not a terminal.
pub struct Walk {
    last: Option<Instant>,
    drawn: bool,
}

impl Walk {
    pub fn start() -> Option<Walk> {
        std::io::stderr().is_terminal().then_some(Walk {
            last: None,
            drawn: false,
        })
    }

    pub fn walked(&mut self, commits: usize) {
        if self.last.is_some_and(|at| at.elapsed() < EVERY) {
            return;
        }
        self.last = Some(Instant::now());
        self.drawn = true;
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\rwalking: {commits} commits");
        let _ = err.flush();
    }
}

impl Drop for Walk {
    /// The line goes once the walk is over, so that the answer stands alone.
    fn drop(&mut self) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
        }
    }
}
