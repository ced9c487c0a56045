//! What each open connection is doing, and which to close when there are too many.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Where a connection is in its life; each phase but `Handle` has a time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// From the connection's start (TLS handshake included), or a request's first byte, until
    /// its head is in.
    Head,
    /// The head is in; the body is being read.
    Body,
    /// The request is in: the handler runs.
    Handle,
    /// The answer is being written.
    Answer,
    /// Between an answer and the next request's first byte.
    Idle,
}

impl Phase {
    const ALL: [Phase; 5] = [
        Phase::Head,
        Phase::Body,
        Phase::Handle,
        Phase::Answer,
        Phase::Idle,
    ];

    fn bits(self) -> u64 {
        Phase::ALL.iter().position(|p| *p == self).unwrap_or(0) as u64
    }

    fn from_bits(bits: u64) -> Phase {
        Phase::ALL
            .get(usize::try_from(bits).unwrap_or(0))
            .copied()
            .unwrap_or(Phase::Head)
    }
}

/// One connection's phase, shared by its task (which moves it on) and the accept loop (which
/// may evict it).
pub struct Tracker {
    id: u64,
    epoch: Instant,
    /// The phase (low 3 bits) and when it began (milliseconds since `epoch`, the rest): one
    /// word, so that both are read together.
    state: AtomicU64,
    answered: AtomicU32,
    evicted: AtomicBool,
    /// Woken on every change of phase, and on eviction: the connection's watchdog waits on it.
    pub changed: Notify,
}

impl Tracker {
    fn new(id: u64, epoch: Instant) -> Tracker {
        let tracker = Tracker {
            id,
            epoch,
            state: AtomicU64::new(0),
            answered: AtomicU32::new(0),
            evicted: AtomicBool::new(false),
            changed: Notify::new(),
        };
        tracker.enter(Phase::Head);
        tracker
    }

    pub fn enter(&self, phase: Phase) {
        let ms = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX >> 3);
        self.state.store(ms << 3 | phase.bits(), Ordering::SeqCst);
        self.changed.notify_one();
    }

    /// The phase, and when it began.
    pub fn phase(&self) -> (Phase, Instant) {
        let state = self.state.load(Ordering::SeqCst);
        (
            Phase::from_bits(state & 7),
            self.epoch + Duration::from_millis(state >> 3),
        )
    }

    /// Bytes came in: after an answer, they start the next request's head.
    pub fn reading(&self) {
        if self.phase().0 == Phase::Idle {
            self.enter(Phase::Head);
        }
    }

    /// An answer is written: the connection is idle until the next request.
    pub fn answered(&self) {
        self.answered.fetch_add(1, Ordering::SeqCst);
        self.enter(Phase::Idle);
    }

    pub fn is_evicted(&self) -> bool {
        self.evicted.load(Ordering::SeqCst)
    }

    fn evict(&self) {
        self.evicted.store(true, Ordering::SeqCst);
        self.changed.notify_one();
    }

    fn seen(&self) -> Seen {
        let state = self.state.load(Ordering::SeqCst);
        Seen {
            id: self.id,
            phase: Phase::from_bits(state & 7),
            since_ms: state >> 3,
            answered: self.answered.load(Ordering::SeqCst),
        }
    }
}

/// The connections open now, by id (the order they were accepted in).
pub struct Registry {
    epoch: Instant,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    next: u64,
    open: BTreeMap<u64, Arc<Tracker>>,
    /// Evicted connections whose tasks have not ended yet: their sockets are still open.
    closing: usize,
}

/// A connection in the registry, taken out when dropped.
pub struct Open {
    registry: Arc<Registry>,
    pub tracker: Arc<Tracker>,
}

impl Drop for Open {
    fn drop(&mut self) {
        let mut inner = self.registry.lock();
        if inner.open.remove(&self.tracker.id).is_none() {
            // Evicted earlier: its socket is closed now.
            inner.closing = inner.closing.saturating_sub(1);
        }
    }
}

impl Registry {
    pub fn new() -> Registry {
        Registry {
            epoch: Instant::now(),
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn open(self: &Arc<Registry>) -> Open {
        let mut inner = self.lock();
        let id = inner.next;
        inner.next += 1;
        let tracker = Arc::new(Tracker::new(id, self.epoch));
        inner.open.insert(id, tracker.clone());
        Open {
            registry: self.clone(),
            tracker,
        }
    }

    pub fn len(&self) -> usize {
        self.lock().open.len()
    }

    /// Evicted connections whose sockets are not closed yet (their tasks have not ended).
    pub fn closing(&self) -> usize {
        self.lock().closing
    }

    /// Closes up to `n` connections (see [`victims`]); how many. They leave the open ones at
    /// once, so that they are not chosen again and a new connection may take their place, and
    /// count as [`Registry::closing`] until their tasks end and their sockets are closed.
    pub fn evict(&self, n: usize) -> usize {
        let mut inner = self.lock();
        let chosen = victims(inner.open.values().map(|t| t.seen()), n);
        for id in &chosen {
            if let Some(tracker) = inner.open.remove(id) {
                tracker.evict();
                inner.closing += 1;
            }
        }
        chosen.len()
    }
}

/// A connection as eviction sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub id: u64,
    pub phase: Phase,
    /// When its phase began.
    pub since_ms: u64,
    /// Requests answered on it.
    pub answered: u32,
}

/// The connections to close, `n` at most, given the open ones oldest first: first those that
/// never completed a request (what an attacker's idle or trickling sockets look like), oldest
/// first; then idle keep-alive connections, longest idle first; then those in a second or later
/// request's head or body. Never one whose request is being handled or answered: that client
/// did everything right.
pub fn victims(open: impl IntoIterator<Item = Seen>, n: usize) -> Vec<u64> {
    let mut chosen = Vec::new();
    let mut later = Vec::new();
    if n == 0 {
        return chosen;
    }
    for seen in open {
        match (seen.phase, seen.answered) {
            (Phase::Handle | Phase::Answer, _) => {}
            (_, 0) => {
                chosen.push(seen.id);
                if chosen.len() == n {
                    return chosen;
                }
            }
            (Phase::Idle, _) => later.push((0, seen.since_ms, seen.id)),
            _ => later.push((1, seen.since_ms, seen.id)),
        }
    }
    later.sort_unstable();
    let room = n - chosen.len();
    chosen.extend(later.into_iter().take(room).map(|(_, _, id)| id));
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(id: u64, phase: Phase, since_ms: u64, answered: u32) -> Seen {
        Seen {
            id,
            phase,
            since_ms,
            answered,
        }
    }

    #[test]
    fn an_evicted_connection_counts_as_closing_until_it_is_dropped() {
        let registry = Arc::new(Registry::new());
        let first = registry.open();
        let second = registry.open();
        assert_eq!((registry.len(), registry.closing()), (2, 0));
        assert_eq!(registry.evict(1), 1);
        assert_eq!((registry.len(), registry.closing()), (1, 1));
        // Not chosen twice.
        assert_eq!(registry.evict(2), 1);
        assert_eq!((registry.len(), registry.closing()), (0, 2));
        drop(first);
        assert_eq!(registry.closing(), 1);
        drop(second);
        assert_eq!((registry.len(), registry.closing()), (0, 0));
    }

    #[test]
    fn closes_connections_without_a_completed_request_oldest_first() {
        let open = [
            seen(1, Phase::Idle, 50, 3),
            seen(2, Phase::Head, 10, 0),
            seen(3, Phase::Handle, 20, 0),
            seen(4, Phase::Body, 30, 0),
            seen(5, Phase::Head, 40, 0),
        ];
        assert_eq!(victims(open, 2), [2, 4]);
        assert_eq!(victims(open, 3), [2, 4, 5]);
        assert_eq!(victims(open, 0), Vec::<u64>::new());
    }

    #[test]
    fn then_idle_keep_alive_ones_longest_idle_first_and_never_one_being_answered() {
        let open = [
            seen(1, Phase::Idle, 90, 1),
            seen(2, Phase::Head, 5, 2),
            seen(3, Phase::Idle, 70, 4),
            seen(4, Phase::Answer, 1, 0),
            seen(5, Phase::Handle, 1, 2),
            seen(6, Phase::Head, 80, 0),
        ];
        assert_eq!(victims(open, 3), [6, 3, 1]);
        assert_eq!(victims(open, 10), [6, 3, 1, 2]);
    }

    #[test]
    fn a_phase_and_its_start_are_kept_together() {
        let registry = Arc::new(Registry::new());
        let a = registry.open();
        let b = registry.open();
        assert_eq!(registry.len(), 2);
        assert_eq!(a.tracker.phase().0, Phase::Head);
        a.tracker.enter(Phase::Handle);
        a.tracker.reading();
        assert_eq!(a.tracker.phase().0, Phase::Handle, "not a new request");
        a.tracker.answered();
        assert_eq!(a.tracker.phase().0, Phase::Idle);
        a.tracker.reading();
        assert_eq!(a.tracker.phase().0, Phase::Head, "the next request");
        // b never completed a request: it goes first.
        assert_eq!(registry.evict(1), 1);
        assert!(b.tracker.is_evicted() && !a.tracker.is_evicted());
        assert_eq!(registry.len(), 1);
        drop(b);
        drop(a);
        assert_eq!(registry.len(), 0);
    }
}
