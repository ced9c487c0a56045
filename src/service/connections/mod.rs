//! The HTTP server's connections: accepted, served with hyper, timed out and capped, so that
//! sockets that send nothing, trickle a request or stall half-way cannot hold the server's file
//! descriptors: a fresh client (Alertmanager, a probe) still gets in.
//!
//! Each connection is in one phase at a time (the request's head, its body, the handler, the
//! answer, idle between requests), each with its own limit ([`tracker`]); at the cap, the
//! oldest connections that have not completed a request are closed first.

mod open_files;
mod serve;
mod tracker;
mod wrap;

pub use open_files::raise_and_cap;
pub use serve::{serve, Limits};
