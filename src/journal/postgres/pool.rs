//! A small pool of PostgreSQL connections, each with its prepared statements. A connection
//! that broke (the server restarted, the network dropped) is dropped and made again on next
//! use, so the journal comes back by itself when the database does.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Result;
use postgres::{Client, Config, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::journal::sql::Dialect;

/// How long to wait for the server to answer a connection, and for a dead peer to be noticed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const USER_TIMEOUT: Duration = Duration::from_secs(15);

pub struct Pool {
    config: Config,
    tls: MakeRustlsConnect,
    slots: Vec<Mutex<Option<Conn>>>,
    next: AtomicUsize,
    /// Bumped when a connection breaks: the others, made before, are likely broken too (the
    /// server restarted), and are made again rather than each failing once.
    epoch: AtomicU64,
    /// What the URL says, password left out: for messages.
    pub target: String,
}

/// One connection, and the statements prepared on it.
pub struct Conn {
    pub client: Client,
    statements: HashMap<&'static str, Statement>,
    epoch: u64,
}

impl Conn {
    /// The statements for `sqls` (of [`crate::journal::sql`], or written for PostgreSQL
    /// alone), prepared once per connection, as PostgreSQL spells them.
    pub fn prepare<const N: usize>(
        &mut self,
        sqls: [&'static str; N],
    ) -> Result<[Statement; N], postgres::Error> {
        for sql in sqls {
            if !self.statements.contains_key(sql) {
                let statement = self.client.prepare(&Dialect::Postgres.render(sql))?;
                self.statements.insert(sql, statement);
            }
        }
        Ok(sqls.map(|sql| self.statements[sql].clone()))
    }
}

impl Pool {
    pub fn new(mut config: Config, tls: MakeRustlsConnect, size: usize, target: String) -> Pool {
        config
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_user_timeout(USER_TIMEOUT)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30));
        Pool {
            config,
            tls,
            slots: (0..size.max(1)).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
            epoch: AtomicU64::new(0),
            target,
        }
    }

    /// A new connection, outside the pool (for the migrations' session lock).
    pub fn connect(&self) -> Result<Client, postgres::Error> {
        self.config.connect(self.tls.clone())
    }

    /// Runs `f` on a connection: a free one, or the next one once it is free. A connection
    /// that fails is not kept.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<T, postgres::Error>,
    ) -> Result<T, postgres::Error> {
        let mut slot = self.slot();
        let epoch = self.epoch.load(Ordering::Acquire);
        if slot
            .as_ref()
            .is_none_or(|c| c.client.is_closed() || c.epoch < epoch)
        {
            *slot = None;
            *slot = Some(Conn {
                client: self.connect()?,
                statements: HashMap::new(),
                epoch,
            });
        }
        let conn = slot.as_mut().expect("a connection was just made");
        let result = f(conn);
        if let Err(e) = &result {
            if e.is_closed() || conn.client.is_closed() || e.as_db_error().is_none() {
                *slot = None;
                self.epoch.fetch_max(epoch + 1, Ordering::AcqRel);
            }
        }
        result
    }

    fn slot(&self) -> MutexGuard<'_, Option<Conn>> {
        let n = self.slots.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        for i in 0..n {
            if let Ok(slot) = self.slots[(start + i) % n].try_lock() {
                return slot;
            }
        }
        // A panic while holding a connection leaves nothing half-done on the server: an open
        // transaction is rolled back when its client is dropped or used again.
        self.slots[start].lock().unwrap_or_else(|p| p.into_inner())
    }
}
