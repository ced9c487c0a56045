//! Adding a hold: the tag's glob goes into the ignore list Image Updater reads for the image,
//! a new list carrying what the inherited one ignored.

use yaml_rust2::scanner::TScalarStyle;

use super::config::Config;
use super::place::{locate, AppPlace, Place, UpdaterPlace};
use super::verify::verify;
use crate::manifest::hold::pattern::argo_glob;
use crate::manifest::hold::{Edited, HoldError};
use crate::manifest::splice::{
    dash_indent, double_quoted, entry_end, escaped, insert_lines_after, is_block_map, line_end,
    line_start, parse, plain_ok, scalar_span, splice,
};
use crate::manifest::yaml::{Node, Scalar};

/// Adds `tag` to the ignore list of that config; Unchanged when it is there already (in the
/// list Image Updater uses for the image, which may be an inherited one).
pub fn hold(text: &str, config: &Config, tag: &str) -> Result<Edited, HoldError> {
    check_tag(tag)?;
    let glob = argo_glob(tag);
    let docs = parse(text)?;
    let place = locate(text, &docs, config)?;
    let mut expected = place.effective();
    if expected.contains(&glob) {
        return Ok(Edited::Unchanged);
    }
    let out = match &place {
        Place::App(p) => hold_app(text, p, &glob)?,
        Place::Updater(p) => hold_updater(text, p, &glob)?,
    };
    expected.push(glob);
    verify(text, &out, config, &expected)?;
    Ok(Edited::Changed(out))
}

fn hold_app(text: &str, p: &AppPlace, glob: &str) -> Result<String, HoldError> {
    flow_check(p)?;
    if let Some((key, value)) = p.own {
        return append_to_annotation(text, key, value, glob);
    }
    // A new key after the image-list entry, carrying what the app-wide key ignored: the alias
    // key replaces it for this image.
    let mut patterns = p.inherited.clone();
    patterns.push(glob.to_string());
    if !p
        .key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'))
    {
        return Err(HoldError(format!(
            "annotation key {:?} would need quoting; add it by hand",
            p.key
        )));
    }
    let indent = p.image_list.column - 1;
    let line = format!(
        "{}{}: {}",
        " ".repeat(indent),
        p.key,
        double_quoted(&patterns.join(", "))
    );
    let last = entry_end(text, p.image_list.line, indent);
    Ok(insert_lines_after(text, last, &[line]))
}

/// Flow-style annotations (`{a: b, ...}`) are left to a person: new lines do not fit in them.
pub(super) fn flow_check(p: &AppPlace) -> Result<(), HoldError> {
    if p.block {
        return Ok(());
    }
    Err(HoldError(format!(
        "line {}: the annotations are written in flow style; edit `{}` in them by hand",
        p.image_list.line, p.key
    )))
}

/// Appends `, glob` to an annotation's value, inside its quotes, in its style.
fn append_to_annotation(
    text: &str,
    key: &Scalar,
    value: &Scalar,
    glob: &str,
) -> Result<String, HoldError> {
    let sep = if value.value.trim().is_empty() {
        ""
    } else {
        ", "
    };
    if value.style == TScalarStyle::Plain {
        if value.value.is_empty() {
            return Err(HoldError(format!(
                "line {}: annotation {} has no value; write it by hand",
                key.line, key.value
            )));
        }
        let new = format!("{}{sep}{glob}", value.value);
        if !plain_ok(&new) {
            let (start, end) = span(text, value)?;
            return Ok(splice(text, start, end, &double_quoted(&new)));
        }
    }
    let at = append_point(text, key, value)?;
    let added = format!("{sep}{}", escaped(value.style, glob));
    Ok(splice(text, at, at, &added))
}

fn hold_updater(text: &str, p: &UpdaterPlace, glob: &str) -> Result<String, HoldError> {
    let mut patterns = p.inherited.clone();
    patterns.push(glob.to_string());
    match (p.own, p.settings) {
        (Some((key, Node::Seq(list))), _) => append_to_list(text, key, list, glob),
        (Some((key, _)), _) => Err(HoldError(format!(
            "line {}: ignoreTags is not a list; write it as one, or add the hold by hand",
            key.line
        ))),
        (None, Some((_, Node::Map(entries)))) if is_block_map(text, entries) => {
            // `commonUpdateSettings` without ignoreTags: add the key after its last entry.
            let (first, last) = first_last_keys(entries)?;
            let indent = first.column - 1;
            let mut lines = vec![format!("{}ignoreTags:", " ".repeat(indent))];
            lines.extend(item_lines(indent + 2, &patterns));
            Ok(insert_lines_after(
                text,
                entry_end(text, last.line, indent),
                &lines,
            ))
        }
        (None, Some((key, _))) => Err(HoldError(format!(
            "line {}: commonUpdateSettings is empty or written in flow style; add ignoreTags to \
             it by hand",
            key.line
        ))),
        (None, None) => {
            if !is_block_map(text, p.image) {
                return Err(HoldError(
                    "the image entry is written in flow style; add commonUpdateSettings.ignoreTags \
                     to it by hand"
                        .into(),
                ));
            }
            let (first, last) = first_last_keys(p.image)?;
            let indent = first.column - 1;
            let mut lines = vec![
                format!("{}commonUpdateSettings:", " ".repeat(indent)),
                format!("{}ignoreTags:", " ".repeat(indent + 2)),
            ];
            lines.extend(item_lines(indent + 4, &patterns));
            Ok(insert_lines_after(
                text,
                entry_end(text, last.line, indent),
                &lines,
            ))
        }
    }
}

/// Appends `"glob"` to a list: a `- ` line like the last item's, or into `[...]`.
fn append_to_list(
    text: &str,
    key: &Scalar,
    list: &[Node],
    glob: &str,
) -> Result<String, HoldError> {
    let scalars: Vec<&Scalar> = list.iter().filter_map(Node::as_scalar).collect();
    if scalars.len() != list.len() {
        return Err(HoldError(format!(
            "line {}: ignoreTags holds something other than strings; add the hold by hand",
            key.line
        )));
    }
    let Some(last) = scalars.last() else {
        // `[]`: the only way to write an empty list.
        let open = empty_flow_open(text, key)?;
        return Ok(splice(text, open, open, &double_quoted(glob)));
    };
    if let Some(dash) = dash_indent(text, scalars[0]) {
        let line = item_lines(dash, &[glob.to_string()]);
        return Ok(insert_lines_after(
            text,
            entry_end(text, last.line, dash),
            &line,
        ));
    }
    let (_, end) = span(text, last)?;
    Ok(splice(
        text,
        end,
        end,
        &format!(", {}", double_quoted(glob)),
    ))
}

fn item_lines(indent: usize, patterns: &[String]) -> Vec<String> {
    patterns
        .iter()
        .map(|p| format!("{}- {}", " ".repeat(indent), double_quoted(p)))
        .collect()
}

/// Just past the `[` of an empty flow list written as `key: []`.
fn empty_flow_open(text: &str, key: &Scalar) -> Result<usize, HoldError> {
    let (_, end) = span(text, key)?;
    let rest = &text[end..];
    let after_colon = rest.trim_start_matches(' ').strip_prefix(':');
    let open = after_colon
        .map(|r| r.trim_start_matches(' '))
        .and_then(|r| {
            let inner = r.strip_prefix('[')?;
            inner.trim_start().starts_with(']').then_some(r)
        });
    match open {
        Some(r) => Ok(text.len() - r.len() + 1),
        None => Err(HoldError(format!(
            "line {}: ignoreTags is an empty list written in an unusual way; add the hold by hand",
            key.line
        ))),
    }
}

/// A tag goes into a comma-separated annotation and a YAML string: no commas, no blanks.
pub(super) fn check_tag(tag: &str) -> Result<(), HoldError> {
    if tag.is_empty()
        || tag
            .chars()
            .any(|c| c == ',' || c.is_whitespace() || c.is_control())
    {
        return Err(HoldError(format!(
            "tag {tag:?} cannot go into an Argo CD Image Updater ignore list (empty, or it holds a \
             comma, a blank or a control character)"
        )));
    }
    Ok(())
}

fn first_last_keys(entries: &[(Node, Node)]) -> Result<(&Scalar, &Scalar), HoldError> {
    fn key(e: Option<&(Node, Node)>) -> Option<&Scalar> {
        e.and_then(|(k, _)| k.as_scalar())
    }
    key(entries.first())
        .zip(key(entries.last()))
        .ok_or_else(|| HoldError("a mapping with a complex key; add the hold by hand".into()))
}

/// The bytes of a scalar, or why an edit there is left to a person.
pub(super) fn span(text: &str, s: &Scalar) -> Result<(usize, usize), HoldError> {
    scalar_span(text, s).ok_or_else(|| {
        HoldError(format!(
            "line {}: {:?} is written over several lines or as a block; edit it by hand",
            s.line, s.value
        ))
    })
}

/// Where `hold` appends to an annotation's value: before its closing quote, after a plain
/// value, or at the end of a block scalar's last line.
pub(super) fn append_point(text: &str, key: &Scalar, value: &Scalar) -> Result<usize, HoldError> {
    match value.style {
        TScalarStyle::Literal | TScalarStyle::Folded => {
            let last = entry_end(text, key.line, key.column - 1);
            if last == key.line {
                return Err(HoldError(format!(
                    "line {}: annotation {} is an empty block scalar; write it by hand",
                    key.line, key.value
                )));
            }
            let end = line_end(text, last);
            let content = text[line_start(text, last)..end].trim_end_matches(['\n', '\r']);
            Ok(line_start(text, last) + content.len())
        }
        TScalarStyle::DoubleQuoted | TScalarStyle::SingleQuoted => Ok(span(text, value)?.1 - 1),
        _ => Ok(span(text, value)?.1),
    }
}
