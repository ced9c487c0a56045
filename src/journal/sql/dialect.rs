//! How each backend spells what the statements in [`super`] write once.

use std::borrow::Cow;

/// A backend's SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// `sql` as this backend spells it. Statements are written with `?N` placeholders,
    /// `GREATEST(a, b)` for the larger of two values and PostgreSQL's row locks (`FOR UPDATE`,
    /// `FOR UPDATE SKIP LOCKED`): PostgreSQL takes `$N`; SQLite takes its two-argument
    /// `MAX(a, b)` and no row lock (a writer holds the whole file's lock from the start of its
    /// transaction). Borrowed when nothing changes: SQLite's common case, on its hot path.
    pub fn render(self, sql: &str) -> Cow<'_, str> {
        match self {
            Dialect::Postgres => dollar_placeholders(sql),
            Dialect::Sqlite => {
                if !sql.contains("GREATEST(") && !sql.contains(" FOR UPDATE") {
                    return Cow::Borrowed(sql);
                }
                Cow::Owned(
                    sql.replace(" FOR UPDATE SKIP LOCKED", "")
                        .replace(" FOR UPDATE", "")
                        .replace("GREATEST(", "MAX("),
                )
            }
        }
    }
}

/// `?N` as `$N`, outside string literals.
fn dollar_placeholders(sql: &str) -> Cow<'_, str> {
    if !sql.contains('?') {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len());
    let mut in_literal = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => in_literal = !in_literal,
            '?' if !in_literal && chars.peek().is_some_and(char::is_ascii_digit) => {
                out.push('$');
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::Dialect;

    #[test]
    fn postgresql_numbers_its_placeholders_with_a_dollar_outside_literals() {
        assert_eq!(
            Dialect::Postgres.render("SELECT '?1', x FROM t WHERE a = ?1 AND b = ?12 LIMIT ?2"),
            "SELECT '?1', x FROM t WHERE a = $1 AND b = $12 LIMIT $2"
        );
        assert_eq!(
            Dialect::Postgres.render("UPDATE t SET n = GREATEST(n - 1, 0) FOR UPDATE"),
            "UPDATE t SET n = GREATEST(n - 1, 0) FOR UPDATE"
        );
    }

    #[test]
    fn sqlite_takes_max_and_no_row_locks_and_keeps_the_rest_as_written() {
        assert_eq!(
            Dialect::Sqlite.render("UPDATE t SET n = GREATEST(n - 1, 0) WHERE id = ?1"),
            "UPDATE t SET n = MAX(n - 1, 0) WHERE id = ?1"
        );
        assert_eq!(
            Dialect::Sqlite.render("SELECT id FROM t ORDER BY id LIMIT ?2 FOR UPDATE SKIP LOCKED"),
            "SELECT id FROM t ORDER BY id LIMIT ?2"
        );
        assert_eq!(
            Dialect::Sqlite.render("SELECT id FROM t WHERE a = ?1 FOR UPDATE"),
            "SELECT id FROM t WHERE a = ?1"
        );
        let plain = "SELECT MAX(id) FROM t WHERE a = ?1";
        assert!(matches!(
            Dialect::Sqlite.render(plain),
            std::borrow::Cow::Borrowed(s) if s == plain
        ));
    }
}
