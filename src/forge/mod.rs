//! Where rollbacks become pull requests: every forge behind one interface ([`Forge`]), one file
//! each — GitHub (the client, octocrab, built once; its pull requests), the local forge (kept
//! in the journal) — and the pull request's text.

pub mod body;
mod client;
pub mod github;
pub mod local;
pub mod markdown;
pub mod pulls;

pub use client::{Connected, Forge};
