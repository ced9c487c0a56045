//! revertbot: when a bad image reaches production through GitOps, take it back through git.
//!
//! The library is the engine, in layers, each using only those below it (`tests/layers.rs`
//! keeps this true):
//!
//! 1. pure, no I/O: [`error`], [`clock`], [`image`], [`manifest`], [`matcher`], [`alert`],
//!    [`config`];
//! 2. git access: [`gitstore`] (objects, history, the remote);
//! 3. the engine: [`locate`], [`revert`], [`forge`], the [`registry`] check, the [`journal`],
//!    the outgoing HTTP client ([`https`]), and the [`demo`] repository;
//! 4. [`pipeline`]: an `Engine` built once, running `Job`s.
//!
//! The fronts sit on top: the [`service`], and the command line (`src/main.rs`, `src/cli/`).

pub mod alert;
pub mod clock;
pub mod config;
pub mod demo;
pub mod error;
pub mod forge;
pub mod gitstore;
pub mod https;
pub mod image;
pub mod journal;
pub mod locate;
pub mod manifest;
pub mod matcher;
pub mod pipeline;
pub mod registry;
pub mod remote_url;
pub mod revert;
pub mod service;
pub mod subject;
