//! Git access: raw objects and the commit-graph for fast history walks, the parsed-blob
//! cache, tree listing, renames, commit info, revision resolving, and writing commits from
//! files held in memory. The remote (mirror, fetch, push) is [`remote`].

pub mod blobs;
pub mod commit;
pub mod commit_graph;
pub mod first_parents;
pub mod objects;
pub mod process;
pub mod remote;
pub mod renames;
pub mod repo;
pub mod signing;
pub mod tree;
pub mod tree_files;
pub mod writer;

pub use blobs::Blobs;
pub use commit::{short, CommitInfo};
pub use first_parents::FirstParents;
pub use repo::{open, resolve_commit};
pub use writer::RepoWriter;
