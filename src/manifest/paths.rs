//! Which files of a repository to consider: globs on their paths.

use globset::{GlobSet, GlobSetBuilder};

use crate::error::{Error, Input, Kind};

/// Globs restricting the files considered. A pattern without `/` matches a file name in any directory; otherwise it
/// matches the whole path, and `*` does not cross `/` (use `**` for that).
#[derive(Debug, Clone, Default)]
pub struct PathFilter {
    full: Option<GlobSet>,
    names: Option<GlobSet>,
}

impl PathFilter {
    pub fn new(patterns: &[String]) -> Result<PathFilter, Error> {
        if patterns.is_empty() {
            return Ok(PathFilter::default());
        }
        let mut full = GlobSetBuilder::new();
        let mut names = GlobSetBuilder::new();
        for p in patterns {
            let glob = globset::GlobBuilder::new(p.trim_start_matches('/'))
                .literal_separator(true)
                .build()
                .map_err(|e| {
                    Error::new(Kind::Usage)
                        .input(Input::Paths)
                        .text(format!(" {p:?} is not a valid glob: {}", e.kind()))
                })?;
            if p.contains('/') {
                full.add(glob);
            } else {
                names.add(glob);
            }
        }
        let build = |b: GlobSetBuilder| {
            b.build().map_err(|e| {
                Error::new(Kind::Usage)
                    .input(Input::Paths)
                    .text(format!(" globs cannot be compiled: {e}"))
            })
        };
        Ok(PathFilter {
            full: Some(build(full)?),
            names: Some(build(names)?),
        })
    }

    pub fn matches(&self, path: &str) -> bool {
        let (Some(full), Some(names)) = (&self.full, &self.names) else {
            return true;
        };
        let name = path.rsplit('/').next().unwrap_or(path);
        full.is_match(path) || names.is_match(name)
    }
}
