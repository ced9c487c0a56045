//! A small positioned YAML tree built from yaml-rust2's event stream. Scalars keep their raw
//! text (so `1.10` stays `1.10`, not a float) and where they start in the file; Flux setter
//! markers, which live in comments the parser drops, are read from the source lines.

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

#[derive(Debug, Clone)]
pub struct Scalar {
    pub value: String,
    pub style: TScalarStyle,
    /// Byte offset of the scalar's first character (its opening quote when quoted).
    pub offset: usize,
    /// 1-based line and column.
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone)]
pub enum Node {
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
    /// An alias (`*name`): its value is referenced where its anchor is defined.
    Alias,
}

impl Node {
    pub fn as_scalar(&self) -> Option<&Scalar> {
        match self {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The scalar value of `key` when this node is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_scalar().is_some_and(|k| k.value == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn get_scalar(&self, key: &str) -> Option<&Scalar> {
        self.get(key).and_then(Node::as_scalar)
    }

    /// A mapping's entries, in order; `None` for anything else.
    pub fn entries(&self) -> Option<&[(Node, Node)]> {
        match self {
            Node::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The key and value of `key` when this node is a mapping that has it: an edit needs the
    /// key's position as well as the value.
    pub fn entry(&self, key: &str) -> Option<(&Scalar, &Node)> {
        self.entries().and_then(|entries| entry(entries, key))
    }

    /// A sequence's items; none for anything else (a list that is absent or null holds none).
    pub fn items(&self) -> &[Node] {
        match self {
            Node::Seq(items) => items,
            _ => &[],
        }
    }
}

/// The key and value of `key` among a mapping's entries (the first, for a duplicated key).
pub fn entry<'a>(entries: &'a [(Node, Node)], key: &str) -> Option<(&'a Scalar, &'a Node)> {
    entries.iter().find_map(|(k, v)| {
        let k = k.as_scalar()?;
        (k.value == key).then_some((k, v))
    })
}

/// Why a file could not be read as YAML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError(pub String);

/// Parses every document of a (possibly multi-document) YAML file.
pub fn parse_documents(src: &str) -> Result<Vec<Node>, YamlError> {
    let positions = Positions::new(src);
    let mut parser = Parser::new_from_str(src);
    let mut docs = Vec::new();
    // Stack of containers under construction; a mapping collects alternating keys and values.
    let mut stack: Vec<Building> = Vec::new();
    loop {
        let (event, mark) = parser.next_token().map_err(|e| YamlError(e.to_string()))?;
        let finished = match event {
            Event::StreamEnd => break,
            Event::Nothing | Event::StreamStart | Event::DocumentStart | Event::DocumentEnd => {
                continue
            }
            Event::SequenceStart(..) => {
                stack.push(Building::Seq(Vec::new()));
                continue;
            }
            Event::MappingStart(..) => {
                stack.push(Building::Map(Vec::new(), None));
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Building::Seq(items)) => Node::Seq(items),
                Some(Building::Map(entries, _)) => Node::Map(entries),
                None => return Err(YamlError("unbalanced collection end".into())),
            },
            Event::Scalar(value, style, _, _) => Node::Scalar(Scalar {
                value,
                style,
                offset: positions.byte_offset(&mark),
                line: mark.line(),
                column: mark.col() + 1,
            }),
            Event::Alias(_) => Node::Alias,
        };
        match stack.last_mut() {
            None => docs.push(finished),
            Some(Building::Seq(items)) => items.push(finished),
            Some(Building::Map(entries, pending_key)) => match pending_key.take() {
                None => *pending_key = Some(finished),
                Some(key) => entries.push((key, finished)),
            },
        }
    }
    Ok(docs)
}

enum Building {
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>, Option<Node>),
}

/// yaml-rust2 markers count characters, not bytes; this turns a marker into a byte offset.
struct Positions<'a> {
    src: &'a str,
    ascii: bool,
    line_starts: Vec<usize>,
}

impl<'a> Positions<'a> {
    fn new(src: &'a str) -> Self {
        let ascii = src.is_ascii();
        let line_starts = if ascii {
            Vec::new()
        } else {
            std::iter::once(0)
                .chain(src.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        };
        Positions {
            src,
            ascii,
            line_starts,
        }
    }

    fn byte_offset(&self, mark: &Marker) -> usize {
        if self.ascii {
            return mark.index();
        }
        let start = self
            .line_starts
            .get(mark.line().saturating_sub(1))
            .copied()
            .unwrap_or(self.src.len());
        self.src[start..]
            .char_indices()
            .nth(mark.col())
            .map_or(self.src.len(), |(i, _)| start + i)
    }
}

/// Which part of an image a Flux setter marker says its scalar holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetterPart {
    /// `ns:policy`: the scalar is a full image reference.
    Full,
    Tag,
    Name,
    Digest,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setter {
    /// `namespace:policy`.
    pub policy: String,
    pub part: SetterPart,
}

/// Reads a Flux image-automation setter marker from one source line, e.g.
/// `image: app:1.0 # {"$imagepolicy": "flux-system:app"}` or `...#{"$imagepolicy":"ns:p:tag"}`.
pub fn setter_on_line(line: &str) -> Option<Setter> {
    let at = line.find("\"$imagepolicy\"")?;
    // The marker must be inside a comment.
    let hash = line[..at].rfind('#')?;
    if !line[hash + 1..at].trim().starts_with('{') {
        return None;
    }
    let rest = line[at + "\"$imagepolicy\"".len()..].trim_start();
    let rest = rest.strip_prefix(':')?.trim_start().strip_prefix('"')?;
    let value = &rest[..rest.find('"')?];
    let mut parts = value.splitn(3, ':');
    let (ns, policy) = (parts.next()?, parts.next()?);
    if ns.is_empty() || policy.is_empty() {
        return None;
    }
    let part = match parts.next() {
        None => SetterPart::Full,
        Some("tag") => SetterPart::Tag,
        Some("name") => SetterPart::Name,
        Some("digest") => SetterPart::Digest,
        Some(_) => return None,
    };
    Some(Setter {
        policy: format!("{ns}:{policy}"),
        part,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_keep_raw_text_and_byte_positions() {
        let src = "a: 1.10\nb:\n  - \"x\"\n  - é: héllo\n---\nc: d\n";
        let docs = parse_documents(src).unwrap();
        assert_eq!(docs.len(), 2);
        let a = docs[0].get_scalar("a").unwrap();
        assert_eq!(a.value, "1.10");
        assert_eq!((a.line, a.column), (1, 4));
        assert_eq!(&src[a.offset..a.offset + 4], "1.10");
        let Some(Node::Seq(items)) = docs[0].get("b") else {
            panic!("b is a sequence")
        };
        let x = items[0].as_scalar().unwrap();
        assert_eq!(&src[x.offset..x.offset + 3], "\"x\"");
        let h = items[1].get_scalar("é").unwrap();
        assert_eq!(&src[h.offset..h.offset + "héllo".len()], "héllo");
        assert_eq!(docs[1].get_scalar("c").unwrap().line, 6);
    }

    #[test]
    fn invalid_yaml_is_an_error_not_a_panic() {
        for bad in [
            "a: [1, 2",
            "a: b\n c: d\n- e",
            "key: \"unterminated\n",
            "a: b: c",
        ] {
            assert!(parse_documents(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reads_setter_markers_in_all_spellings() {
        let full = setter_on_line(r#"  image: app:1 # {"$imagepolicy": "flux-system:app"}"#);
        assert_eq!(
            full,
            Some(Setter {
                policy: "flux-system:app".into(),
                part: SetterPart::Full
            })
        );
        let tag = setter_on_line(r#"  tag: 1.0 #{"$imagepolicy":"apps:podinfo:tag"}"#).unwrap();
        assert_eq!(tag.part, SetterPart::Tag);
        assert_eq!(tag.policy, "apps:podinfo");
        let name = setter_on_line(r#"name: x # {"$imagepolicy": "a:b:name"}"#).unwrap();
        assert_eq!(name.part, SetterPart::Name);
        let digest = setter_on_line(r#"d: x # {"$imagepolicy": "a:b:digest"}"#).unwrap();
        assert_eq!(digest.part, SetterPart::Digest);
        assert_eq!(setter_on_line(r#"note: "$imagepolicy" is a word"#), None);
        assert_eq!(
            setter_on_line(r#"x: 1 # {"$imagepolicy": "a:b:bogus"}"#),
            None
        );
        assert_eq!(setter_on_line("plain: line"), None);
    }
}
