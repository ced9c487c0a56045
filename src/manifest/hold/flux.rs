//! Flux: hold a tag in the `ImageRepository` an `ImagePolicy` follows, in its
//! `spec.exclusionList` (regexes, matched unanchored against each tag found by a scan).
//!
//! Setting the list replaces Flux's default `^.*\.sig$`: a list revertbot creates starts with
//! it, so that signature tags stay out of the scan; the key line then carries a comment saying
//! so, which also tells a later unhold that the whole list was revertbot's.

use super::pattern::flux_regex;
use super::{Edited, HoldError};
use crate::manifest::splice::{line_end, line_start, newline, parse, splice};
use crate::manifest::yaml::{parse_documents, Node, Scalar};

/// Flux's own default exclusion: signature tags.
pub const DEFAULT_EXCLUSION: &str = r"^.*\.sig$";
/// The comment on an `exclusionList:` line revertbot wrote.
const CREATED: &str = "# revertbot: a hold; ^.*\\.sig$ is Flux's default, kept";

const GROUP: &str = "image.toolkit.fluxcd.io/";

/// The ImageRepository that ImagePolicy `namespace:name` follows, when `text` defines that
/// policy: `(name, namespace)`, the namespace the policy's when its reference names none.
/// A policy with no namespace in the file (a kustomization sets it) counts as in any.
pub fn policy_repository(text: &str, namespace: &str, name: &str) -> Option<(String, String)> {
    let docs = parse_documents(text).ok()?;
    docs.iter().find_map(|doc| {
        if !is_kind(doc, "ImagePolicy") || !named(doc, namespace, name) {
            return None;
        }
        let reference = doc.get("spec")?.get("imageRepositoryRef")?;
        let repo = reference.get_scalar("name")?.value.clone();
        let ns = reference
            .get_scalar("namespace")
            .map_or_else(|| namespace.to_string(), |s| s.value.clone());
        Some((repo, ns))
    })
}

/// The documents of `text` that define ImageRepository `namespace/name`.
pub fn repository_documents(text: &str, namespace: &str, name: &str) -> Vec<usize> {
    let Ok(docs) = parse_documents(text) else {
        return Vec::new();
    };
    docs.iter()
        .enumerate()
        .filter(|(_, d)| is_kind(d, "ImageRepository") && named(d, namespace, name))
        .map(|(i, _)| i)
        .collect()
}

/// Adds `^TAG$` to the exclusion list of the ImageRepository in document `document`.
pub fn hold(text: &str, document: usize, tag: &str) -> Result<Edited, HoldError> {
    let pattern = flux_regex(tag);
    let docs = parse(text)?;
    let spec = spec_of(&docs, document)?;
    let nl = newline(text);
    let out = match spec.get("exclusionList") {
        Some(Node::Seq(items)) => {
            if items
                .iter()
                .any(|i| i.as_scalar().is_some_and(|s| s.value == pattern))
            {
                return Ok(Edited::Unchanged);
            }
            append_item(text, spec, items, &pattern)?
        }
        Some(_) => {
            return Err(HoldError(
                "spec.exclusionList is not a list of patterns; fix it, or add the hold by hand"
                    .into(),
            ))
        }
        None => {
            let (indent, after) = block_end(text, spec)?;
            let mut block = String::new();
            if after == text.len() && !text.ends_with('\n') {
                block.push_str(nl);
            }
            let pad = " ".repeat(indent);
            block.push_str(&format!("{pad}exclusionList: {CREATED}{nl}"));
            block.push_str(&format!("{pad}  - '{DEFAULT_EXCLUSION}'{nl}"));
            block.push_str(&format!("{pad}  - '{pattern}'{nl}"));
            splice(text, after, after, &block)
        }
    };
    verify(text, &out, document, &pattern, true)?;
    Ok(Edited::Changed(out))
}

/// Removes `^TAG$` from that list, and the list itself when revertbot created it and nothing
/// else of it is left than Flux's default.
pub fn unhold(text: &str, document: usize, tag: &str) -> Result<Edited, HoldError> {
    let pattern = flux_regex(tag);
    let docs = parse(text)?;
    let spec = spec_of(&docs, document)?;
    let Some((key, Node::Seq(items))) = spec.entry("exclusionList") else {
        return Ok(Edited::Unchanged);
    };
    let Some(item) = items
        .iter()
        .filter_map(Node::as_scalar)
        .find(|s| s.value == pattern)
    else {
        return Ok(Edited::Unchanged);
    };
    let rest: Vec<&str> = items
        .iter()
        .filter_map(Node::as_scalar)
        .filter(|s| s.value != pattern)
        .map(|s| s.value.as_str())
        .collect();
    let key_line = &text[line_start(text, key.line)..line_end(text, key.line)];
    let out = if key_line.contains(CREATED) && rest == [DEFAULT_EXCLUSION] {
        let last = items
            .iter()
            .filter_map(Node::as_scalar)
            .map(|s| s.line)
            .max()
            .unwrap_or(key.line);
        splice(text, line_start(text, key.line), line_end(text, last), "")
    } else if item.line != key.line && own_line(text, item) {
        splice(
            text,
            line_start(text, item.line),
            line_end(text, item.line),
            "",
        )
    } else {
        return Err(HoldError(format!(
            "spec.exclusionList is written in flow style; remove '{pattern}' from it by hand"
        )));
    };
    verify(text, &out, document, &pattern, false)?;
    Ok(Edited::Changed(out))
}

fn is_kind(doc: &Node, kind: &str) -> bool {
    doc.get_scalar("kind").is_some_and(|k| k.value == kind)
        && doc
            .get_scalar("apiVersion")
            .is_some_and(|v| v.value.starts_with(GROUP))
}

fn named(doc: &Node, namespace: &str, name: &str) -> bool {
    let Some(meta) = doc.get("metadata") else {
        return false;
    };
    meta.get_scalar("name").is_some_and(|n| n.value == name)
        && meta
            .get_scalar("namespace")
            .is_none_or(|n| n.value == namespace)
}

fn spec_of(docs: &[Node], document: usize) -> Result<&Node, HoldError> {
    let doc = docs
        .get(document)
        .ok_or_else(|| HoldError(format!("no document {document}")))?;
    match doc.get("spec") {
        Some(spec @ Node::Map(entries)) if !entries.is_empty() => Ok(spec),
        _ => Err(HoldError(
            "the ImageRepository has no spec mapping; add the hold by hand".into(),
        )),
    }
}

/// Whether the scalar is the only item on its line (`- 'x'`, possibly with a comment).
fn own_line(text: &str, item: &Scalar) -> bool {
    let start = line_start(text, item.line);
    text[start..item.offset].trim() == "-"
}

/// Appends `'pattern'` to a list: a new `- ` line like the last one's, or into `[...]`.
fn append_item(
    text: &str,
    spec: &Node,
    items: &[Node],
    pattern: &str,
) -> Result<String, HoldError> {
    let nl = newline(text);
    let last = items.iter().rev().find_map(Node::as_scalar);
    match last {
        Some(last) if own_line(text, last) => {
            let start = line_start(text, last.line);
            let prefix = &text[start..last.offset];
            let at = line_end(text, last.line);
            let lead = if at == text.len() && !text.ends_with('\n') {
                nl
            } else {
                ""
            };
            Ok(splice(
                text,
                at,
                at,
                &format!("{lead}{prefix}'{pattern}'{nl}"),
            ))
        }
        _ => {
            // Flow style: `exclusionList: [a, b]` or `[]`.
            let (key, _) = spec
                .entry("exclusionList")
                .expect("the list was found by its key");
            let open = text[key.offset..]
                .find('[')
                .map(|i| key.offset + i)
                .ok_or_else(|| HoldError("spec.exclusionList: cannot find its list".into()))?;
            let close = text[open..]
                .find(']')
                .map(|i| open + i)
                .ok_or_else(|| HoldError("spec.exclusionList: cannot find its end".into()))?;
            let sep = if items.is_empty() { "" } else { ", " };
            Ok(format!(
                "{}{sep}'{pattern}'{}",
                text[..close].trim_end_matches(' '),
                &text[close..]
            ))
        }
    }
}

/// Where a new key of `spec` goes: its keys' indentation, and the offset after its last line.
fn block_end(text: &str, spec: &Node) -> Result<(usize, usize), HoldError> {
    let Node::Map(entries) = spec else {
        return Err(HoldError("spec is not a mapping".into()));
    };
    let first = entries
        .first()
        .and_then(|(k, _)| k.as_scalar())
        .ok_or_else(|| HoldError("spec has no keys".into()))?;
    let line = text[line_start(text, first.line)..first.offset].to_string();
    if line.contains('{') {
        return Err(HoldError(
            "spec is written in flow style; add exclusionList by hand".into(),
        ));
    }
    let last_line = last_line_of(spec);
    Ok((first.column - 1, line_end(text, last_line)))
}

fn last_line_of(node: &Node) -> usize {
    match node {
        Node::Scalar(s) => s.line + s.value.matches('\n').count(),
        Node::Seq(items) => items.iter().map(last_line_of).max().unwrap_or(0),
        Node::Map(entries) => entries
            .iter()
            .map(|(k, v)| last_line_of(k).max(last_line_of(v)))
            .max()
            .unwrap_or(0),
        Node::Alias => 0,
    }
}

/// The edit did what was meant: the pattern is (or is no longer) in the document's list, and
/// every other scalar of the file is as it was.
fn verify(
    before: &str,
    after: &str,
    document: usize,
    pattern: &str,
    held: bool,
) -> Result<(), HoldError> {
    let docs = parse_documents(after)
        .map_err(|e| HoldError(format!("the edit would break the file: {}", e.0)))?;
    let list: Vec<String> = docs
        .get(document)
        .and_then(|d| d.get("spec"))
        .and_then(|s| s.get("exclusionList"))
        .map(|l| scalars(l).into_iter().map(|s| s.value.clone()).collect())
        .unwrap_or_default();
    if list.iter().any(|p| p == pattern) != held {
        return Err(HoldError(format!(
            "the edit did not {} '{pattern}' in spec.exclusionList",
            if held { "add" } else { "remove" }
        )));
    }
    let old = parse(before)?;
    if outside_list(&old, document) != outside_list(&docs, document) {
        return Err(HoldError(
            "the edit would change more than spec.exclusionList".into(),
        ));
    }
    Ok(())
}

/// Every scalar value of the file but those of the document's exclusion list.
fn outside_list(docs: &[Node], document: usize) -> Vec<String> {
    let mut out = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        let skip = (i == document)
            .then(|| doc.get("spec").and_then(|s| s.entry("exclusionList")))
            .flatten();
        collect(doc, skip.map(|(k, _)| k.offset), &mut out);
    }
    out
}

fn collect(node: &Node, skip_key: Option<usize>, out: &mut Vec<String>) {
    match node {
        Node::Scalar(s) => out.push(s.value.clone()),
        Node::Seq(items) => items.iter().for_each(|i| collect(i, skip_key, out)),
        Node::Map(entries) => {
            for (k, v) in entries {
                if k.as_scalar().map(|k| k.offset) == skip_key && skip_key.is_some() {
                    continue;
                }
                collect(k, skip_key, out);
                collect(v, skip_key, out);
            }
        }
        Node::Alias => {}
    }
}

fn scalars(node: &Node) -> Vec<&Scalar> {
    match node {
        Node::Scalar(s) => vec![s],
        Node::Seq(items) => items.iter().flat_map(scalars).collect(),
        Node::Map(entries) => entries
            .iter()
            .flat_map(|(k, v)| scalars(k).into_iter().chain(scalars(v)))
            .collect(),
        Node::Alias => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WITHOUT_LIST: &str = "\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata:
  name: podinfo
  namespace: flux-system
spec:
  image: ghcr.io/stefanprodan/podinfo
  interval: 5m # scan every five minutes
";

    const WITH_LIST: &str = "\
apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageRepository
metadata:
  name: podinfo
spec:
  image: ghcr.io/stefanprodan/podinfo
  exclusionList:
    - \"^.*\\\\.sig$\"
    - \"1.0.2\"
  interval: 5m
";

    const POLICY: &str = "\
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata:
  name: podinfo
  namespace: flux-system
spec:
  imageRepositoryRef:
    name: podinfo
  filterTags:
    pattern: '^main-[a-f0-9]+-(?P<ts>[0-9]+)'
    extract: '$ts'
  policy:
    numerical:
      order: asc
";

    fn changed(e: Edited) -> String {
        match e {
            Edited::Changed(s) => s,
            Edited::Unchanged => panic!("expected a change"),
        }
    }

    #[test]
    fn a_new_list_keeps_flux_default_and_holds_the_tag() {
        let held = changed(hold(WITHOUT_LIST, 0, "1.5.0").unwrap());
        assert_eq!(
            held,
            format!(
                "{WITHOUT_LIST}  exclusionList: {CREATED}\n    - '^.*\\.sig$'\n    - '^1\\.5\\.0$'\n"
            )
        );
        assert_eq!(hold(&held, 0, "1.5.0").unwrap(), Edited::Unchanged);
        let two = changed(hold(&held, 0, "master-26a4b87").unwrap());
        assert!(
            two.ends_with("    - '^1\\.5\\.0$'\n    - '^master-26a4b87$'\n"),
            "{two}"
        );
        // Lifting both gives the file back, byte for byte.
        let one = changed(unhold(&two, 0, "master-26a4b87").unwrap());
        assert_eq!(one, held);
        assert_eq!(changed(unhold(&one, 0, "1.5.0").unwrap()), WITHOUT_LIST);
        assert_eq!(unhold(WITHOUT_LIST, 0, "1.5.0").unwrap(), Edited::Unchanged);
    }

    #[test]
    fn an_existing_list_gets_one_more_line_like_its_others() {
        let held = changed(hold(WITH_LIST, 0, "1.5.0+build.1").unwrap());
        assert_eq!(
            held,
            WITH_LIST.replace(
                "    - \"1.0.2\"\n",
                "    - \"1.0.2\"\n    - '^1\\.5\\.0\\+build\\.1$'\n"
            )
        );
        let re = regex::Regex::new(r"^1\.5\.0\+build\.1$").unwrap();
        assert!(re.is_match("1.5.0+build.1") && !re.is_match("1.5.0+build.12"));
        // The person's list stays theirs: unhold removes the one line.
        assert_eq!(
            changed(unhold(&held, 0, "1.5.0+build.1").unwrap()),
            WITH_LIST
        );
    }

    #[test]
    fn flow_lists_and_crlf_files_keep_their_style() {
        let flow = WITH_LIST.replace(
            "  exclusionList:\n    - \"^.*\\\\.sig$\"\n    - \"1.0.2\"\n",
            "  exclusionList: [\"^.*\\\\.sig$\"]\n",
        );
        let held = changed(hold(&flow, 0, "1.5.0").unwrap());
        assert!(
            held.contains("  exclusionList: [\"^.*\\\\.sig$\", '^1\\.5\\.0$']\n"),
            "{held}"
        );
        let crlf = WITHOUT_LIST.replace('\n', "\r\n");
        let held = changed(hold(&crlf, 0, "1.5.0").unwrap());
        assert!(!held.replace("\r\n", "").contains('\n'), "{held:?}");
        assert_eq!(changed(unhold(&held, 0, "1.5.0").unwrap()), crlf);
    }

    #[test]
    fn finds_the_repository_a_policy_follows_in_multi_document_files() {
        assert_eq!(
            policy_repository(POLICY, "flux-system", "podinfo"),
            Some(("podinfo".into(), "flux-system".into()))
        );
        assert_eq!(policy_repository(POLICY, "apps", "podinfo"), None);
        let both = format!("{POLICY}---\n{WITH_LIST}");
        assert_eq!(repository_documents(&both, "flux-system", "podinfo"), [1]);
        let held = changed(hold(&both, 1, "1.5.0").unwrap());
        assert!(
            held.starts_with(POLICY),
            "the policy's document is untouched"
        );
        assert_eq!(changed(unhold(&held, 1, "1.5.0").unwrap()), both);
    }

    #[test]
    fn a_file_without_a_spec_mapping_is_refused_with_what_to_do() {
        let err = hold(
            "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\n",
            0,
            "1",
        )
        .unwrap_err();
        assert!(err.0.contains("by hand"), "{err}");
        let err = hold("a: [", 0, "1").unwrap_err();
        assert!(err.0.starts_with("not valid YAML"), "{err}");
    }
}
