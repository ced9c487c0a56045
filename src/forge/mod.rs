//! Where rollbacks become pull requests: every forge behind one interface ([`Forges`]), one
//! file each — GitHub (the client, octocrab, built once; its pull requests), GitLab, Gitea and
//! Forgejo (small typed clients on one REST client, `http`), the local forge (kept in the
//! journal) — what they share around a pull request (opening), when a call is tried again
//! (retry), the pull request's text (body, markdown), and what became of one (fate).

pub mod auto_merge;
pub mod body;
mod client;
pub mod fate;
pub mod gitea;
pub mod github;
pub mod github_graphql;
pub mod gitlab;
pub mod http;
pub mod local;
pub mod markdown;
mod opening;
pub mod pulls;
pub mod retry;

pub use client::{Connected, ForgeKind, ForgeSettings, Forges, RepoOnForge, ServerSettings};
