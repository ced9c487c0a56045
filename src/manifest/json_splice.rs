//! JSON text with positions, and edits of its bytes laid out like their neighbours: the JSON
//! counterpart of `splice`. A config a person wrote keeps its layout (indent, line ending,
//! `:` spacing, one line or many) when an item is added or taken out, because only the bytes
//! of that item and one separator change; serde_json says what the text means, this module
//! only where each value, key and item lies.
//!
//! Strict JSON only, and no JSONC parser: revertbot edits a Renovate config only when
//! serde_json reads it (a `renovate.json5` or a file with comments gets the rule to add by
//! hand), so a scanner that follows text already accepted is all the placing needs.

use super::splice::newline;

/// How the file is laid out: line ending, indent unit, `:` spacing, and whether the root's
/// members are on lines of their own.
pub struct Style {
    pub nl: &'static str,
    pub unit: String,
    pub colon: String,
    pub multi: bool,
}

impl Style {
    /// The root's first member tells the unit (its indent) and the colon; an empty root gets
    /// the usual two spaces, on lines.
    pub fn of(text: &str, root: &Node) -> Style {
        let first = root.items.first();
        let multi = first.is_none_or(|f| text[root.start + 1..f.start].contains('\n'));
        let unit = (first.filter(|_| multi))
            .map(|f| {
                let (inner, outer) = (line_indent(text, f.start), line_indent(text, root.start));
                inner.strip_prefix(outer).unwrap_or(inner).to_string()
            })
            .filter(|unit| !unit.is_empty())
            .unwrap_or_else(|| "  ".into());
        let colon = first.map_or(": ", |f| colon_of(text, f)).to_string();
        Style {
            nl: newline(text),
            unit,
            colon,
            multi,
        }
    }

    /// Between inline items: `, ` unless the file is written without spaces (`"a":1`).
    pub fn inline_sep(&self) -> &'static str {
        if self.colon == ":" {
            ","
        } else {
            ", "
        }
    }
}

/// The text between a member's key and value (`: `, `:`), when it is on one line.
pub fn colon_of<'t>(text: &'t str, item: &Item) -> &'t str {
    let gap = &text[item.key_end..item.value.start];
    if gap.trim() == ":" && !gap.contains('\n') {
        gap
    } else {
        ": "
    }
}

/// The spaces and tabs that start the line holding byte `at`.
pub fn line_indent(text: &str, at: usize) -> &str {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[start..];
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

/// One edit: bytes `start..end` of the text become `with`.
pub struct Splice {
    pub start: usize,
    pub end: usize,
    pub with: String,
}

impl Splice {
    pub fn replace(node: &Node, with: String) -> Splice {
        Splice {
            start: node.start,
            end: node.end,
            with,
        }
    }
}

/// Adds an item after the last one of `container`, laid out like its siblings: with the
/// separator found between the last two (copied byte for byte), or after a single one on a
/// line of its own or inline. `render` gets the indent of the new item's line, `None` inline.
/// An empty container gets its inside replaced, so that [`remove`] leaves `[]` or `{}`.
pub fn append(
    text: &str,
    container: &Node,
    style: &Style,
    render: impl FnOnce(Option<&str>) -> String,
) -> Splice {
    let (open, close) = (container.start + 1, container.end - 1);
    let items = &container.items;
    let Some(last) = items.last() else {
        let with = if style.multi {
            let (nl, outer) = (style.nl, line_indent(text, container.start));
            let inner = format!("{outer}{}", style.unit);
            format!("{nl}{inner}{}{nl}{outer}", render(Some(&inner)))
        } else {
            render(None)
        };
        return Splice {
            start: open,
            end: close,
            with,
        };
    };
    let before_last = items
        .len()
        .checked_sub(2)
        .map_or(open, |i| items[i].value.end);
    let gap = &text[before_last..last.start];
    let on_lines = gap.contains('\n');
    let indent = line_indent(text, last.start);
    let separator = if items.len() >= 2 {
        gap.to_string()
    } else if on_lines {
        format!(",{}{indent}", style.nl)
    } else if gap.is_empty() {
        style.inline_sep().to_string()
    } else {
        ", ".to_string()
    };
    let end = last.value.end;
    Splice {
        start: end,
        end,
        with: separator + &render(on_lines.then_some(indent)),
    }
}

/// Takes item `k` out of `container` with the separator before it (after it, for the first
/// of several), undoing [`append`]; the only item goes with all of the container's inside.
pub fn remove(container: &Node, k: usize) -> Splice {
    let items = &container.items;
    let (start, end) = match (k, items.len()) {
        (_, 1) => (container.start + 1, container.end - 1),
        (0, _) => (items[0].start, items[1].start),
        _ => (items[k - 1].value.end, items[k].value.end),
    };
    Splice {
        start,
        end,
        with: String::new(),
    }
}

/// The last member named `key` of an object (JSON.parse, like serde_json, keeps the last of
/// duplicate keys), with its index.
pub fn member<'n>(object: &'n Node, key: &str) -> Option<(usize, &'n Item)> {
    (object.items.iter().enumerate().rev()).find(|(_, item)| item.key.as_deref() == Some(key))
}

/// Where a JSON value lies in the text; an object's or array's items, in order.
#[derive(Debug)]
pub struct Node {
    pub start: usize,
    pub end: usize,
    pub items: Vec<Item>,
}

/// An array element (no key; `start` is the value's) or an object member (`start` is the key's
/// opening quote, `key_end` just past its closing one).
#[derive(Debug)]
pub struct Item {
    pub key: Option<String>,
    pub start: usize,
    pub key_end: usize,
    pub value: Node,
}

/// Where the value in `text` and each of its parts lie; `text` must be JSON that serde_json
/// has accepted already (`None` when it is not).
pub fn scan(text: &str) -> Option<Node> {
    Scanner { text, at: 0 }.value()
}

/// Finds the spans of text serde_json has accepted already, so it only tracks where values,
/// keys and strings start and end. serde_json's depth limit (128) bounds the recursion.
struct Scanner<'t> {
    text: &'t str,
    at: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        self.skip_space();
        let hit = self.peek() == Some(byte);
        if hit {
            self.at += 1;
        }
        hit
    }

    fn value(&mut self) -> Option<Node> {
        self.skip_space();
        let start = self.at;
        let items = match self.peek()? {
            b'{' => self.items(b'}', true)?,
            b'[' => self.items(b']', false)?,
            b'"' => {
                self.string()?;
                Vec::new()
            }
            _ => {
                let end = b",]} \t\r\n";
                while self.peek().is_some_and(|b| !end.contains(&b)) {
                    self.at += 1;
                }
                Vec::new()
            }
        };
        (self.at > start).then_some(Node {
            start,
            end: self.at,
            items,
        })
    }

    fn string(&mut self) -> Option<()> {
        self.at += 1;
        loop {
            match self.peek()? {
                b'\\' => self.at += 2,
                b'"' => {
                    self.at += 1;
                    return Some(());
                }
                _ => self.at += 1,
            }
        }
    }

    fn items(&mut self, close: u8, keyed: bool) -> Option<Vec<Item>> {
        self.at += 1;
        let mut items = Vec::new();
        if self.eat(close) {
            return Some(items);
        }
        loop {
            self.skip_space();
            let start = self.at;
            let key = if keyed {
                (self.peek()? == b'"').then_some(())?;
                self.string()?;
                Some(serde_json::from_str(self.text.get(start..self.at)?).ok()?)
            } else {
                None
            };
            let key_end = self.at;
            if keyed && !self.eat(b':') {
                return None;
            }
            let value = self.value()?;
            items.push(Item {
                key,
                start,
                key_end,
                value,
            });
            if self.eat(close) {
                return Some(items);
            }
            if !self.eat(b',') {
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(text: &str, splice: &Splice) -> String {
        let mut out = text.to_string();
        out.replace_range(splice.start..splice.end, &splice.with);
        out
    }

    #[test]
    fn keys_values_and_items_are_placed_past_escapes() {
        let text = "{\"a\\\"}]\": \"x\\\\\\\"[{\", \"b\": [1, {\"c\": null}]}";
        let root = scan(text).unwrap();
        let spans: Vec<_> = (root.items.iter())
            .map(|i| {
                (
                    i.key.as_deref(),
                    &text[i.start..i.key_end],
                    &text[i.value.start..i.value.end],
                )
            })
            .collect();
        assert_eq!(
            spans,
            [
                (Some("a\"}]"), "\"a\\\"}]\"", "\"x\\\\\\\"[{\""),
                (Some("b"), "\"b\"", "[1, {\"c\": null}]"),
            ]
        );
        let (at, b) = member(&root, "b").unwrap();
        assert_eq!(at, 1);
        assert_eq!(b.value.items.len(), 2);
        assert!(scan("{\"a\" 1}").is_none());
    }

    #[test]
    fn an_appended_item_is_laid_out_like_its_siblings_and_removed_again() {
        for text in ["[\n  1,\n  2\n]", "[1,2]", "[ 1 ]", "[\r\n\t1\r\n]", "[]"] {
            let list = scan(text).unwrap();
            let style = Style::of(text, &list);
            let added = apply(text, &append(text, &list, &style, |_| "3".into()));
            let again = scan(&added).unwrap();
            assert_eq!(again.items.len(), list.items.len() + 1, "{added:?}");
            let last = again.items.len() - 1;
            assert_eq!(apply(&added, &remove(&again, last)), text, "{added:?}");
        }
        let text = "[\n  1,\n  2\n]";
        let list = scan(text).unwrap();
        let style = Style::of(text, &list);
        assert_eq!(
            apply(text, &append(text, &list, &style, |_| "3".into())),
            "[\n  1,\n  2,\n  3\n]"
        );
    }
}
