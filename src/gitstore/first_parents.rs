//! The first-parent chain from a commit, as a history walk reads it: from the repository's
//! commit-graph where it covers the commits, else from the raw commit objects.

use anyhow::Result;
use git2::{Odb, Oid, Repository};

use super::commit_graph::CommitGraph;
use super::objects::CommitLinks;

/// Raw commit reads before the walk loads the commit-graph: a culprit a few commits back is
/// found before reading the graph would have paid off.
const RAW_STEPS_BEFORE_GRAPH: usize = 64;

/// A commit on the first-parent chain, and its tree.
#[derive(Debug, Clone, Copy)]
pub struct ChainCommit {
    pub id: Oid,
    pub tree: Oid,
}

/// The first-parent chain from a commit: from the repository's commit-graph once the walk
/// reaches the commits it covers (no object read at all), else from the raw commits.
pub struct FirstParents<'a, 'r> {
    repo: &'r Repository,
    odb: &'a Odb<'r>,
    graph: Graph,
    next: Next,
    raw_steps: usize,
}

enum Graph {
    NotLoaded,
    Loaded(CommitGraph),
    Unavailable,
}

enum Next {
    Commit(Oid),
    Position(usize),
    End,
}

impl<'a, 'r> FirstParents<'a, 'r> {
    /// The chain starting at (and including) `start`.
    pub fn new(repo: &'r Repository, odb: &'a Odb<'r>, start: Oid) -> Self {
        FirstParents {
            repo,
            odb,
            graph: Graph::NotLoaded,
            next: Next::Commit(start),
            raw_steps: 0,
        }
    }

    pub fn next_commit(&mut self) -> Result<Option<ChainCommit>> {
        match self.next {
            Next::End => Ok(None),
            Next::Position(pos) => {
                let Graph::Loaded(graph) = &self.graph else {
                    unreachable!("positions come from a loaded graph")
                };
                self.next = graph.first_parent(pos).map_or(Next::End, Next::Position);
                Ok(Some(ChainCommit {
                    id: graph.id(pos),
                    tree: graph.tree(pos),
                }))
            }
            Next::Commit(id) => {
                if let Some(pos) = self.graph().and_then(|g| g.position(id)) {
                    self.next = Next::Position(pos);
                    return self.next_commit();
                }
                let links = CommitLinks::read(self.odb, id)?;
                self.raw_steps += 1;
                self.next = links.first_parent.map_or(Next::End, Next::Commit);
                Ok(Some(ChainCommit {
                    id,
                    tree: links.tree,
                }))
            }
        }
    }

    fn graph(&mut self) -> Option<&CommitGraph> {
        if matches!(self.graph, Graph::NotLoaded) && self.raw_steps >= RAW_STEPS_BEFORE_GRAPH {
            self.graph = match CommitGraph::open(self.repo) {
                Some(graph) => Graph::Loaded(graph),
                None => Graph::Unavailable,
            };
        }
        match &self.graph {
            Graph::Loaded(graph) => Some(graph),
            Graph::NotLoaded | Graph::Unavailable => None,
        }
    }
}
