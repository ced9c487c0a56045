//! The journal writer: one thread that records deliveries, each batch in one transaction —
//! what arrived together shares one commit and one fsync, so that durability does not cost
//! throughput.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::state::Write;
use crate::clock::Clock;
use crate::journal::Journal;

/// Deliveries recorded in one transaction at most.
const BATCH: usize = 256;

/// Starts the writer; it stops when every sender is gone, and then the receiver it returns
/// resolves (whether the thread ended well or not), so that the service awaits it without
/// blocking the runtime.
pub fn start(
    journal: Arc<dyn Journal>,
    clock: Arc<dyn Clock>,
    queue: usize,
) -> (mpsc::Sender<Write>, oneshot::Receiver<()>) {
    let (tx, mut rx) = mpsc::channel::<Write>(queue);
    let (stopped, on_stop) = oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("journal-writer".into())
        .spawn(move || {
            // Dropped when the thread ends, however it ends.
            let _stopped = stopped;
            let mut batch = Vec::with_capacity(BATCH);
            while let Some(first) = rx.blocking_recv() {
                batch.push(first);
                while batch.len() < BATCH {
                    match rx.try_recv() {
                        Ok(more) => batch.push(more),
                        Err(_) => break,
                    }
                }
                let (deliveries, replies): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
                match journal.record(&deliveries, clock.now().timestamp_millis()) {
                    Ok(recorded) => {
                        for (reply, r) in replies.into_iter().zip(recorded) {
                            let _ = reply.send(Ok(r));
                        }
                    }
                    Err(e) => {
                        let message = format!("{e:#}");
                        for reply in replies {
                            let _ = reply.send(Err(message.clone()));
                        }
                    }
                }
            }
        })
        .expect("start the journal writer thread");
    (tx, on_stop)
}
