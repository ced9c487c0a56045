//! Lifting a hold: exactly what `hold` added goes, or, for a list edited since, the one
//! pattern.

use yaml_rust2::scanner::TScalarStyle;

use super::add::{append_point, check_tag, flow_check, hold, span};
use super::config::Config;
use super::place::{alias_label, locate, AppPlace, Place, UpdaterPlace};
use super::verify::verify;
use crate::manifest::hold::pattern::argo_glob;
use crate::manifest::hold::{Edited, HoldError};
use crate::manifest::splice::{
    double_quoted, escaped, parse, plain_ok, remove_entry, remove_item, splice,
};
use crate::manifest::yaml::{Node, Scalar};

/// Removes exactly what `hold` added: the line or list it created, or the item it appended
/// (the first text that `hold` turns back into `text`, largest removal first). A list edited
/// since, or written by hand, loses the one pattern only; a list of the image's own that would
/// then say no more than the inherited one goes. Unchanged when the config's own list does not
/// name the tag, even if an inherited one does: `hold` added nothing there.
pub fn unhold(text: &str, config: &Config, tag: &str) -> Result<Edited, HoldError> {
    check_tag(tag)?;
    let glob = argo_glob(tag);
    let docs = parse(text)?;
    let place = locate(text, &docs, config)?;
    let mut expected = place.effective();
    // Held only through an inherited list: hold added nothing here, so there is nothing to lift.
    let (Some(at), true) = (expected.iter().position(|g| *g == glob), place.owns_list()) else {
        return Ok(Edited::Unchanged);
    };
    expected.remove(at);
    let candidates = match &place {
        Place::App(p) => {
            flow_check(p)?;
            unhold_app_candidates(text, p, &glob)
        }
        Place::Updater(p) => unhold_updater_candidates(text, p, &glob),
    };
    for (candidate, check) in candidates {
        let reproduces =
            || matches!(hold(&candidate, config, tag), Ok(Edited::Changed(t)) if t == text);
        let acceptable = match check {
            Check::Reproduces => reproduces(),
            Check::ReadsBack => true,
        };
        if acceptable && verify(text, &candidate, config, &expected).is_ok() {
            return Ok(Edited::Changed(candidate));
        }
    }
    Err(HoldError(format!(
        "{} `{}`: cannot take `{glob}` out of the ignore list of `{}` without changing what else \
         it ignores; remove it by hand",
        config.kind.noun(),
        config.name,
        alias_label(&config.alias)
    )))
}

/// How a candidate for `unhold` is accepted (besides reading back right).
#[derive(Clone, Copy)]
enum Check {
    /// Holding the tag in the candidate gives the current text back, byte for byte: the
    /// candidate is what the file was before `hold`.
    Reproduces,
    /// Reading back right is enough: the file was edited since, or the hold was by hand.
    ReadsBack,
}

/// The texts unhold may return, most of what hold can have added first.
fn unhold_app_candidates(text: &str, p: &AppPlace, glob: &str) -> Vec<(String, Check)> {
    let Some((key, value)) = p.own else {
        return Vec::new();
    };
    let mut exact = Vec::new();
    exact.extend(remove_entry(text, key));
    for sep in [", ", ""] {
        let suffix = format!("{sep}{}", escaped(value.style, glob));
        if let Ok(at) = append_point(text, key, value) {
            if text[..at].ends_with(&suffix) {
                exact.push(splice(text, at - suffix.len(), at, ""));
            }
        }
    }
    let mut loose = Vec::new();
    if let Some(rest) = without_item(&value.value, glob) {
        if !rest.trim().is_empty() {
            loose.extend(rewrite_scalar(text, value, &rest).ok());
        }
        loose.extend(remove_entry(text, key));
        loose.extend(rewrite_scalar(text, value, "").ok());
    }
    tagged(exact, loose)
}

fn unhold_updater_candidates(text: &str, p: &UpdaterPlace, glob: &str) -> Vec<(String, Check)> {
    let (Some((list_key, Node::Seq(list))), Some((settings_key, Node::Map(settings)))) =
        (p.own, p.settings)
    else {
        return Vec::new();
    };
    let mut all = Vec::new();
    if settings.len() == 1 {
        all.extend(remove_entry(text, settings_key));
    } else {
        all.extend(remove_entry(text, list_key));
    }
    if let Some(at) = list
        .iter()
        .position(|n| n.as_scalar().is_some_and(|s| s.value == glob))
    {
        all.extend(remove_item(text, list, at));
    }
    tagged(all.clone(), all)
}

fn tagged(exact: Vec<String>, loose: Vec<String>) -> Vec<(String, Check)> {
    let exact = exact.into_iter().map(|t| (t, Check::Reproduces));
    let loose = loose.into_iter().map(|t| (t, Check::ReadsBack));
    exact.chain(loose).collect()
}

/// An annotation value without one pattern (and the comma that joined it to the others).
fn without_item(value: &str, glob: &str) -> Option<String> {
    let parts: Vec<&str> = value.split(',').collect();
    let at = parts.iter().position(|p| p.trim() == glob)?;
    let mut rest = parts.clone();
    rest.remove(at);
    let joined = rest.join(",");
    Some(if at == 0 {
        joined.trim_start().to_string()
    } else {
        joined
    })
}

/// The scalar's bytes replaced by `value` in the scalar's style (plain only when plain reads
/// back as the same string).
fn rewrite_scalar(text: &str, scalar: &Scalar, value: &str) -> Result<String, HoldError> {
    let (start, end) = span(text, scalar)?;
    let raw = match scalar.style {
        TScalarStyle::Plain if plain_ok(value) => value.to_string(),
        TScalarStyle::SingleQuoted => format!("'{}'", value.replace('\'', "''")),
        _ => double_quoted(value),
    };
    Ok(splice(text, start, end, &raw))
}
