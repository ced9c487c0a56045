//! Reading an edited file back: it must ignore exactly what was meant at the configuration's
//! place, with every other value of the file as it was.

use super::config::Config;
use super::place::{locate, Seg};
use crate::manifest::hold::HoldError;
use crate::manifest::splice::parse;
use crate::manifest::yaml::{parse_documents, Node};

/// `after` ignores `expected` at the config's place, and every other value of the file is
/// what it was in `before`.
pub(super) fn verify(
    before: &str,
    after: &str,
    config: &Config,
    expected: &[String],
) -> Result<(), HoldError> {
    let wrong = |why: String| {
        HoldError(format!(
            "{} `{}`: the edited file {why}; add the hold by hand",
            config.kind.noun(),
            config.name
        ))
    };
    let old = parse(before)?;
    let new = parse_documents(after).map_err(|e| wrong(format!("is not valid YAML ({})", e.0)))?;
    let old_place = locate(before, &old, config)?;
    let new_place =
        locate(after, &new, config).map_err(|e| wrong(format!("reads differently: {}", e.0)))?;
    let got = new_place.effective();
    if got != expected {
        return Err(wrong(format!("ignores {got:?} instead of {expected:?}")));
    }
    if values_except(&old, &old_place.path()) != values_except(&new, &new_place.path()) {
        return Err(wrong("changes other values".into()));
    }
    Ok(())
}

/// Every scalar of the file with its path, except those under `skip`.
fn values_except(docs: &[Node], skip: &[Seg]) -> Vec<(Vec<Seg>, String)> {
    fn walk(node: &Node, path: &mut Vec<Seg>, skip: &[Seg], out: &mut Vec<(Vec<Seg>, String)>) {
        if path.as_slice() == skip {
            return;
        }
        match node {
            Node::Scalar(s) => out.push((path.clone(), s.value.clone())),
            Node::Alias => out.push((path.clone(), "*".into())),
            Node::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    walk(item, path, skip, out);
                    path.pop();
                }
            }
            Node::Map(entries) => {
                for (k, v) in entries {
                    let key = k.as_scalar().map_or("?", |k| k.value.as_str());
                    path.push(Seg::Key(key.to_string()));
                    walk(v, path, skip, out);
                    path.pop();
                }
            }
        }
    }
    let mut out = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        walk(doc, &mut vec![Seg::Index(i)], skip, &mut out);
    }
    out
}
