//! The journal writer: one thread that records deliveries, each batch in one transaction —
//! what arrived together shares one commit and one fsync, so that durability does not cost
//! throughput.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::state::Write;
use crate::clock::Clock;
use crate::journal::Journal;

/// Deliveries recorded in one transaction at most.
const BATCH: usize = 256;

/// Starts the writer; it stops when every sender is gone.
pub fn start(
    journal: Arc<Journal>,
    clock: Arc<dyn Clock>,
    queue: usize,
) -> (mpsc::Sender<Write>, std::thread::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<Write>(queue);
    let handle = std::thread::Builder::new()
        .name("journal-writer".into())
        .spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            while let Some(first) = rx.blocking_recv() {
                batch.push(first);
                while batch.len() < BATCH {
                    match rx.try_recv() {
                        Ok(more) => batch.push(more),
                        Err(_) => break,
                    }
                }
                let deliveries: Vec<_> = batch.iter().map(|(d, _)| d.clone()).collect();
                let result = journal.record(&deliveries, clock.now().timestamp_millis());
                match result {
                    Ok(recorded) => {
                        for ((_, reply), r) in batch.drain(..).zip(recorded) {
                            let _ = reply.send(Ok(r));
                        }
                    }
                    Err(e) => {
                        let message = format!("{e:#}");
                        for (_, reply) in batch.drain(..) {
                            let _ = reply.send(Err(message.clone()));
                        }
                    }
                }
            }
        })
        .expect("start the journal writer thread");
    (tx, handle)
}
