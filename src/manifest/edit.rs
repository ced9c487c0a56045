//! The semantic edit: set one scalar's version back by rewriting only that scalar's bytes.
//! Comments, setter markers, quoting and indentation stay as they are; the result is
//! re-parsed to check it says what was meant. A user's YAML is never re-serialised.

use yaml_rust2::scanner::TScalarStyle;

use super::refs::{references, Field, Reference};
use super::splice::{parse, verbatim_span, NotYaml};
use super::yaml::{Node, Scalar};
use crate::image::ImageRef;

/// Why a place cannot be edited.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EditError(pub String);

impl From<NotYaml> for EditError {
    fn from(e: NotYaml) -> Self {
        EditError(e.to_string())
    }
}

/// One version to put back: the place (as found in the current file) and the value it gets.
#[derive(Debug, Clone)]
pub struct VersionEdit {
    pub place: Reference,
    pub value: Option<String>,
}

/// Applies the edits to `text` and verifies the result: every edited place holds its new
/// value and every other reference in the file is unchanged.
pub fn apply(text: &str, edits: &[VersionEdit]) -> Result<String, EditError> {
    let before = references(text).map_err(|e| EditError(format!("not valid YAML: {}", e.0)))?;
    let docs = parse(text)?;
    let mut sorted: Vec<&VersionEdit> = edits.iter().collect();
    // From the end of the file backwards, so that earlier offsets stay valid.
    sorted.sort_by_key(|e| std::cmp::Reverse((e.place.offset, e.place.field)));
    let mut out = text.to_string();
    let mut last_offset = None;
    for edit in &sorted {
        let scalar = scalar_at(&docs, edit.place.offset)
            .ok_or_else(|| EditError(format!("no scalar at line {}", edit.place.line)))?;
        // Two edits of one scalar (tag and digest of `app:1@sha256:…`) are rewritten at once.
        if last_offset == Some(scalar.offset) {
            continue;
        }
        last_offset = Some(scalar.offset);
        let together: Vec<&VersionEdit> = sorted
            .iter()
            .copied()
            .filter(|e| e.place.offset == scalar.offset)
            .collect();
        let (start, end) = raw_span(text, scalar)?;
        let new_value = together.iter().try_fold(scalar.value.clone(), |value, e| {
            with_version(&value, &e.place, e.value.as_deref())
        })?;
        let raw = render(&new_value, scalar.style, edit.place.line)?;
        out.replace_range(start..end, &raw);
    }
    verify(&before, &out, edits)?;
    Ok(out)
}

fn scalar_at(docs: &[Node], offset: usize) -> Option<&Scalar> {
    fn find(node: &Node, offset: usize) -> Option<&Scalar> {
        match node {
            Node::Scalar(s) => (s.offset == offset).then_some(s),
            Node::Seq(items) => items.iter().find_map(|n| find(n, offset)),
            Node::Map(entries) => entries
                .iter()
                .find_map(|(k, v)| find(k, offset).or_else(|| find(v, offset))),
            Node::Alias => None,
        }
    }
    docs.iter().find_map(|d| find(d, offset))
}

/// The bytes of a scalar in the source, quotes included; only single-line scalars written
/// without escapes qualify, so that replacing the inner text is exact.
fn raw_span(text: &str, s: &Scalar) -> Result<(usize, usize), EditError> {
    let why = match s.style {
        TScalarStyle::Plain => "a multi-line plain scalar",
        TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => {
            "written with escapes or over several lines"
        }
        _ => "a block scalar",
    };
    verbatim_span(text, s).ok_or_else(|| {
        EditError(format!(
            "the value at line {} is {why}; edit it by hand",
            s.line
        ))
    })
}

/// The scalar's text with the place's version replaced by `value`.
fn with_version(scalar: &str, place: &Reference, value: Option<&str>) -> Result<String, EditError> {
    let current = place.value.as_deref();
    // The scalar is the version itself (`newTag: 1.2`, `tag: 1.2`, a `:tag` setter).
    if current == Some(scalar) {
        return value.map(str::to_string).ok_or_else(|| {
            EditError(format!(
                "line {}: the culprit added this value; removing a key is not a semantic edit",
                place.line
            ))
        });
    }
    // `tag@digest` in one Helm `tag:` scalar.
    if let (Some((tag, digest)), false) = (scalar.split_once('@'), scalar.contains('/')) {
        let (tag, digest) = match place.field {
            Field::Tag => (value.unwrap_or(""), digest),
            Field::Digest => (tag, value.unwrap_or("")),
        };
        return Ok(match (tag.is_empty(), digest.is_empty()) {
            (_, true) => tag.to_string(),
            (true, false) => format!("@{digest}"),
            (false, false) => format!("{tag}@{digest}"),
        });
    }
    // A full reference, maybe with Argo CD's `alias=` prefix.
    let (alias, spec) = match scalar.split_once('=') {
        Some((alias, spec)) => (Some(alias), spec),
        None => (None, scalar),
    };
    let mut image =
        ImageRef::parse(spec).map_err(|e| EditError(format!("line {}: {e}", place.line)))?;
    let slot = match place.field {
        Field::Tag => &mut image.tag,
        Field::Digest => &mut image.digest,
    };
    if slot.as_deref() != current {
        return Err(EditError(format!(
            "line {}: holds {} where {} was expected",
            place.line,
            slot.as_deref().unwrap_or("no version"),
            current.unwrap_or("no version")
        )));
    }
    *slot = value.map(str::to_string);
    Ok(match alias {
        Some(alias) => format!("{alias}={image}"),
        None => image.to_string(),
    })
}

/// Writes a value in the scalar's original style.
fn render(value: &str, style: TScalarStyle, line: usize) -> Result<String, EditError> {
    let safe_plain = !value.is_empty()
        && value.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(b, b'.' | b'_' | b'-' | b'/' | b':' | b'@' | b'=' | b'+')
        })
        && !value.starts_with(['-', ':', '@']);
    match style {
        TScalarStyle::Plain if safe_plain => Ok(value.to_string()),
        TScalarStyle::SingleQuoted => Ok(format!("'{}'", value.replace('\'', "''"))),
        TScalarStyle::DoubleQuoted if !value.contains(['"', '\\']) => Ok(format!("\"{value}\"")),
        _ => Err(EditError(format!(
            "line {line}: {value:?} cannot be written in the scalar's style"
        ))),
    }
}

/// After the edit: each edited place holds its new value, nothing else changed.
fn verify(before: &[Reference], text: &str, edits: &[VersionEdit]) -> Result<(), EditError> {
    let after =
        references(text).map_err(|e| EditError(format!("the edit broke the YAML: {}", e.0)))?;
    let key = |r: &Reference| (r.document, r.yaml_path.clone(), r.field, r.image.clone());
    let mut expected: Vec<_> = before
        .iter()
        .map(|r| {
            // Both names of a kustomize `name`/`newName` entry share one scalar.
            let edited = edits
                .iter()
                .find(|e| e.place.offset == r.offset && e.place.field == r.field);
            (key(r), edited.map_or(r.value.clone(), |e| e.value.clone()))
        })
        .collect();
    let mut got: Vec<_> = after.iter().map(|r| (key(r), r.value.clone())).collect();
    expected.sort();
    got.sort();
    if expected == got {
        Ok(())
    } else {
        Err(EditError(
            "the edited file does not read back as intended".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(
        text: &str,
        image: &str,
        field: Field,
        value: Option<&str>,
    ) -> Result<String, EditError> {
        let name = crate::image::normalize_name(image);
        let edits: Vec<VersionEdit> = references(text)
            .unwrap()
            .into_iter()
            .filter(|r| r.image == name && r.field == field)
            .map(|place| VersionEdit {
                place,
                value: value.map(str::to_string),
            })
            .collect();
        assert!(!edits.is_empty(), "no place for {image}");
        apply(text, &edits)
    }

    #[test]
    fn keeps_every_other_byte() {
        let text = "images:\n  - name: ghcr.io/acme/web   # the web app\n    newTag: \"1.5.0\"  # {\"$imagepolicy\": \"flux-system:web:tag\"}\n  - name: other\n    newTag: 1.5.0\n";
        let out = edit(text, "ghcr.io/acme/web", Field::Tag, Some("1.4.0")).unwrap();
        assert_eq!(out, text.replacen("\"1.5.0\"", "\"1.4.0\"", 1));
    }

    #[test]
    fn rewrites_the_version_inside_a_full_reference() {
        let digest = format!("sha256:{}", "c".repeat(64));
        let text = format!("spec:\n  containers:\n    - image: 'ghcr.io/acme/web:1.5.0@{digest}' #{{\"$imagepolicy\":\"a:b\"}}\n");
        let out = edit(&text, "ghcr.io/acme/web", Field::Tag, Some("1.4.0")).unwrap();
        assert_eq!(out, text.replace(":1.5.0@", ":1.4.0@"));
        let argo = "kustomize:\n  images:\n  - web=ghcr.io/acme/web:1.5.0\n";
        let out = edit(argo, "ghcr.io/acme/web", Field::Tag, Some("1.4.0")).unwrap();
        assert_eq!(out, argo.replace("1.5.0", "1.4.0"));
        let untagged = edit("image: nginx:1.25\n", "nginx", Field::Tag, None).unwrap();
        assert_eq!(untagged, "image: nginx\n");
    }

    #[test]
    fn refuses_what_it_cannot_write_exactly() {
        let block = "image: |\n  nginx:1.25\n";
        assert!(references(block).unwrap().len() == 1);
        assert!(edit(block, "nginx", Field::Tag, Some("1.24")).is_err());
        let escaped = "image: \"nginx:1.2\\u0035\"\n";
        assert!(edit(escaped, "nginx", Field::Tag, Some("1.24")).is_err());
        let removal = "newTagOnly:\n  image:\n    repository: nginx\n    tag: 1.25\n";
        assert!(edit(removal, "nginx", Field::Tag, None).is_err());
    }
}
