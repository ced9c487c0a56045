//! Where rollbacks become pull requests: every forge behind one interface ([`Forge`]), one file
//! each — GitHub (the client, octocrab, built once; its pull requests), the local forge (kept
//! in the journal) — the pull request's text, and what a remote URL says about which
//! repository and which server it is on.

pub mod body;
mod client;
pub mod github;
pub mod local;
pub mod markdown;
pub mod pulls;
mod remote_url;

pub use client::{Connected, Forge};
pub use remote_url::{host_of, repo_of_remote, web_url, GITHUB_API_URL};
