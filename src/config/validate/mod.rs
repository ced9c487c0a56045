//! From the file's shape to a [`Config`](super::model::Config): defaults filled in, every
//! value checked, every problem reported with the key path to change. One file a section of
//! the configuration, as `file.rs` lays them out; `top` checks the top-level keys and puts the
//! sections together.

mod forge_servers;
mod git;
mod github;
mod guards;
mod journal;
mod problems;
mod pull_request;
mod repos;
mod rules;
mod secrets;
mod tls;
mod top;
mod webhook;

pub use secrets::{JOURNAL_PASSWORD_ENV, SECRET_VARIABLES};
pub use top::validate;
