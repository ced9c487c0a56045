//! Byte-level edits of YAML text, shared by the semantic edit (`edit`) and the holds (`hold`).
//! A user's YAML is never re-serialised: that would drop comments and Flux setter markers. An
//! edit finds the bytes of one scalar, entry or line from the positions the parse gives, and
//! replaces, inserts or removes only them; the caller parses the result again to check that it
//! says what was meant.

use yaml_rust2::scanner::TScalarStyle;

use super::yaml::{parse_documents, Node, Scalar};

/// A file that is not YAML, said the same way by every edit that refuses it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not valid YAML: {0}")]
pub struct NotYaml(pub String);

/// Every document of `text`, for an edit about to be made to it.
pub fn parse(text: &str) -> Result<Vec<Node>, NotYaml> {
    parse_documents(text).map_err(|e| NotYaml(e.0))
}

// ---------------------------------------------------------------------------------------------
// Lines

/// The byte offset where line `line` (1-based) starts; the text's length past its end.
pub fn line_start(text: &str, line: usize) -> usize {
    if line <= 1 {
        return 0;
    }
    let mut seen = 1;
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' {
            seen += 1;
            if seen == line {
                return i + 1;
            }
        }
    }
    text.len()
}

/// The byte offset just past the end of line `line` (1-based), its newline included.
pub fn line_end(text: &str, line: usize) -> usize {
    let start = line_start(text, line);
    text[start..]
        .find('\n')
        .map_or(text.len(), |i| start + i + 1)
}

/// The line ending the file uses (`\r\n` or `\n`): lines an edit adds use it too.
pub fn newline(text: &str) -> &'static str {
    if text.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    }
}

/// The last line of the block entry that starts at line `line` with its key (or `-`) at
/// `indent`: the following lines indented deeper belong to it (a block scalar, a value
/// continued, nested entries); blank lines only when more of it follows.
pub fn entry_end(text: &str, line: usize, indent: usize) -> usize {
    let mut last = line;
    for (i, l) in text.split('\n').enumerate().skip(line) {
        let l = l.trim_end_matches('\r');
        if l.trim().is_empty() {
            continue;
        }
        if l.len() - l.trim_start_matches(' ').len() > indent {
            last = i + 1;
        } else {
            break;
        }
    }
    last
}

/// The indentation of the `-` of a block list item, when the item starts its line.
pub fn dash_indent(text: &str, item: &Scalar) -> Option<usize> {
    let prefix = text.get(line_start(text, item.line)..item.offset)?;
    let before_space = prefix.trim_end_matches(' ');
    let indent = before_space.strip_suffix('-')?;
    (before_space.len() < prefix.len() && indent.bytes().all(|b| b == b' ')).then_some(indent.len())
}

/// Whether a mapping is written in block style: its first key starts its line (after
/// indentation and `- `), and no `{` or `,` of a flow mapping comes before it. New lines fit
/// only in a block mapping.
pub fn is_block_map(text: &str, entries: &[(Node, Node)]) -> bool {
    let Some((Node::Scalar(first), _)) = entries.first() else {
        return false;
    };
    let start = line_start(text, first.line);
    let Some(prefix) = text.get(start..first.offset) else {
        return false;
    };
    if !prefix.bytes().all(|b| b == b' ' || b == b'-') {
        return false;
    }
    prefix.contains('-') || !text[..start].trim_end().ends_with(['{', ','])
}

// ---------------------------------------------------------------------------------------------
// Scalars

/// The bytes of a scalar (quotes included): quoted ones to their closing quote, across lines;
/// plain ones only on one line. `None` for a block scalar, a plain one over several lines (its
/// bytes are not its value), or an empty plain one (it has no bytes to find).
pub fn scalar_span(text: &str, s: &Scalar) -> Option<(usize, usize)> {
    let rest = text.get(s.offset..)?;
    let bytes = rest.as_bytes();
    let close = match (s.style, bytes.first()) {
        (TScalarStyle::DoubleQuoted, Some(b'"')) => {
            let mut i = 1;
            loop {
                match bytes.get(i) {
                    Some(b'\\') => i += 2,
                    Some(b'"') => break Some(i),
                    Some(_) => i += 1,
                    None => break None,
                }
            }
        }
        (TScalarStyle::SingleQuoted, Some(b'\'')) => {
            let mut i = 1;
            loop {
                match (bytes.get(i), bytes.get(i + 1)) {
                    (Some(b'\''), Some(b'\'')) => i += 2,
                    (Some(b'\''), _) => break Some(i),
                    (Some(_), _) => i += 1,
                    (None, _) => break None,
                }
            }
        }
        (TScalarStyle::Plain, _) if !s.value.is_empty() && rest.starts_with(&s.value) => {
            return Some((s.offset, s.offset + s.value.len()))
        }
        _ => None,
    };
    close.map(|c| (s.offset, s.offset + c + 1))
}

/// The bytes of a scalar written as its value is, on one line, with no escape (quotes and a
/// doubled `''` aside): replacing them with another value in the same style changes that value
/// and nothing else. `None` for any other scalar.
pub fn verbatim_span(text: &str, s: &Scalar) -> Option<(usize, usize)> {
    let (start, end) = scalar_span(text, s)?;
    let raw = &text[start..end];
    let verbatim = match s.style {
        TScalarStyle::Plain => true,
        TScalarStyle::SingleQuoted => raw[1..raw.len() - 1] == s.value.replace('\'', "''"),
        TScalarStyle::DoubleQuoted => !raw.contains('\\') && raw[1..raw.len() - 1] == s.value,
        _ => false,
    };
    verbatim.then_some((start, end))
}

/// A YAML double-quoted string.
pub fn double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `value` as it is written inside a scalar of `style`, between its quotes.
pub fn escaped(style: TScalarStyle, value: &str) -> String {
    match style {
        TScalarStyle::DoubleQuoted => {
            let quoted = double_quoted(value);
            quoted[1..quoted.len() - 1].to_string()
        }
        TScalarStyle::SingleQuoted => value.replace('\'', "''"),
        _ => value.to_string(),
    }
}

/// Whether `value` written plain in a block mapping reads back as that same string (not a
/// number, a boolean, null, a comment or a nested mapping).
pub fn plain_ok(value: &str) -> bool {
    let Some(first) = value.chars().next() else {
        return false;
    };
    let looks_typed = !value.contains(' ')
        && (matches!(
            value.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~"
        ) || (first.is_ascii_digit() || matches!(first, '+' | '-' | '.'))
            && value
                .chars()
                .all(|c| c.is_ascii_hexdigit() || "+-._:xXoO".contains(c)));
    !looks_typed
        && !"-?:,[]{}#&*!|>'\"%@`".contains(first)
        && value.trim() == value
        && !value.ends_with(':')
        && !value.contains(": ")
        && !value.contains(" #")
        && !value.chars().any(char::is_control)
}

// ---------------------------------------------------------------------------------------------
// Edits

/// The text with bytes `start..end` replaced by `with`.
pub fn splice(text: &str, start: usize, end: usize, with: &str) -> String {
    format!("{}{with}{}", &text[..start], &text[end..])
}

/// Inserts whole lines after line `line`, in the file's line ending.
pub fn insert_lines_after(text: &str, line: usize, lines: &[String]) -> String {
    let nl = newline(text);
    let at = line_end(text, line);
    let block = lines.join(nl);
    if text[..at].ends_with('\n') {
        splice(text, at, at, &format!("{block}{nl}"))
    } else {
        splice(text, at, at, &format!("{nl}{block}"))
    }
}

/// Removes lines `first..=last`, the undoing of [`insert_lines_after`].
pub fn remove_lines(text: &str, first: usize, last: usize) -> String {
    let mut start = line_start(text, first);
    let end = line_end(text, last);
    if !text[..end].ends_with('\n') && start > 0 {
        start -= if text[..start].ends_with("\r\n") {
            2
        } else {
            1
        };
    }
    splice(text, start, end, "")
}

/// The text without a block mapping entry (its key line and the more indented lines under
/// it); `None` when the key does not start its line.
pub fn remove_entry(text: &str, key: &Scalar) -> Option<String> {
    let prefix = text.get(line_start(text, key.line)..key.offset)?;
    if !prefix.bytes().all(|b| b == b' ') {
        return None;
    }
    let last = entry_end(text, key.line, key.column - 1);
    Some(remove_lines(text, key.line, last))
}

/// The text without item `at` of a list of scalars: its `- ` line(s), or its text and one
/// `, `. The only item of a block list stays: without it the key would read back as null, not
/// as an empty list.
pub fn remove_item(text: &str, list: &[Node], at: usize) -> Option<String> {
    let item = list[at].as_scalar()?;
    if let Some(dash) = dash_indent(text, item) {
        if list.len() == 1 {
            return None;
        }
        let last = entry_end(text, item.line, dash);
        return Some(remove_lines(text, item.line, last));
    }
    let (start, end) = scalar_span(text, item)?;
    let span = |n: &Node| n.as_scalar().and_then(|s| scalar_span(text, s));
    let (from, to) = if at > 0 {
        (span(&list[at - 1])?.1, end)
    } else if let Some(next) = list.get(1) {
        (start, span(next)?.0)
    } else {
        (start, end)
    };
    Some(splice(text, from, to, ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalars(text: &str) -> Vec<Scalar> {
        fn walk(node: &Node, out: &mut Vec<Scalar>) {
            match node {
                Node::Scalar(s) => out.push(s.clone()),
                Node::Seq(items) => items.iter().for_each(|i| walk(i, out)),
                Node::Map(entries) => entries.iter().for_each(|(k, v)| {
                    walk(k, out);
                    walk(v, out);
                }),
                Node::Alias => {}
            }
        }
        let mut out = Vec::new();
        parse(text).unwrap().iter().for_each(|d| walk(d, &mut out));
        out
    }

    #[test]
    fn a_scalars_span_covers_its_quotes_and_escapes() {
        let text = "a: \"x\\\"y\"\nb: 'it''s'\nc: plain\nd: |\n  block\n";
        let spans: Vec<_> = scalars(text)
            .iter()
            .map(|s| scalar_span(text, s).map(|(a, b)| &text[a..b]))
            .collect();
        assert_eq!(
            spans,
            [
                Some("a"),
                Some("\"x\\\"y\""),
                Some("b"),
                Some("'it''s'"),
                Some("c"),
                Some("plain"),
                Some("d"),
                None
            ]
        );
    }

    #[test]
    fn only_a_scalar_written_as_its_value_is_verbatim() {
        let text = "a: \"x\\u0035\"\nb: 'it''s'\nc: \"two\n  lines\"\nd: \"ok\"\n";
        let verbatim: Vec<_> = scalars(text)
            .iter()
            .filter(|s| s.style != TScalarStyle::Plain)
            .map(|s| verbatim_span(text, s).is_some())
            .collect();
        assert_eq!(verbatim, [false, true, false, true]);
    }

    #[test]
    fn removed_lines_are_what_inserted_lines_added() {
        for text in ["a: 1\nb: 2\n", "a: 1\r\nb: 2\r\n", "a: 1\nb: 2"] {
            let added = insert_lines_after(text, 1, &["  c: 3".into()]);
            assert_eq!(remove_lines(&added, 2, 2), text, "{added:?}");
        }
        assert_eq!(newline("a\r\nb"), "\r\n");
        assert_eq!(line_start("a\nbc\n", 2), 2);
        assert_eq!(line_end("a\nbc\n", 2), 5);
    }
}
