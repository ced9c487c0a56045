//! Text rendering of a `locate` answer, for people. (`--output json` serialises [`Located`].)

use std::fmt::Write;

use super::{Change, Located, Place};

pub fn render_text(l: &Located) -> String {
    let mut out = String::new();
    let c = &l.commit;
    let _ = writeln!(out, "culprit  {}  {}", &c.sha[..12], c.subject);
    let _ = writeln!(out, "author   {} <{}>", c.author, c.email);
    let _ = writeln!(out, "date     {}", c.time);
    let _ = writeln!(out, "image    {}", l.image);
    let _ = writeln!(out, "rev      {}", l.rev);
    let _ = writeln!(out, "\nchanged ({}):", l.changes.len());
    for change in &l.changes {
        let _ = writeln!(out, "  {}", change_line(change));
    }
    if !l.twins.is_empty() {
        let _ = writeln!(
            out,
            "\ntwins: also hold the new value, not changed by this commit ({}):",
            l.twins.len()
        );
        for twin in &l.twins {
            let _ = writeln!(out, "  {}", place_line(twin));
        }
    }
    let _ = writeln!(out, "\nwalked {} commits", l.commits_walked);
    out
}

fn version(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("(none)")
}

fn location(file: &str, document: usize, line: usize, yaml_path: &str) -> String {
    if document == 0 {
        format!("{file}:{line}  {yaml_path}")
    } else {
        format!("{file}:{line}  (document {}) {yaml_path}", document + 1)
    }
}

fn change_line(c: &Change) -> String {
    format!(
        "{}  {} {} -> {}",
        location(&c.file, c.document, c.line, &c.yaml_path),
        c.field.as_str(),
        version(&c.from),
        version(&c.to)
    )
}

fn place_line(p: &Place) -> String {
    format!(
        "{}  {} {}",
        location(&p.file, p.document, p.line, &p.yaml_path),
        p.field.as_str(),
        version(&p.value)
    )
}
