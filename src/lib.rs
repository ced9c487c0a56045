//! revertbot: when a bad image reaches production through GitOps, take it back through git.
//!
//! The library holds the engine; `src/main.rs` is a thin command-line front.

pub mod alert;
pub mod cli;
pub mod demo;
pub mod error;
pub mod fixture;
pub mod forge;
pub mod image;
pub mod locate;
pub mod pipeline;
pub mod revert;
pub mod run;
