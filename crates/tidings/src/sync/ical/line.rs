//! Content lines (RFC 5545 §3.1): unfolding, and splitting one line into its
//! name, parameters and value without changing a byte of any of them.
//!
//! ```text
//! contentline = name *(";" param) ":" value
//! param       = param-name "=" param-value *("," param-value)
//! param-value = paramtext / DQUOTE *QSAFE-CHAR DQUOTE
//! ```

use crate::error::{Error, ErrorKind, Result};

const MALFORMED: &str = "malformed iCalendar content line";

/// One parameter of a content line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Param<'a> {
    /// The name as written (compare case-insensitively).
    pub(crate) name: &'a str,
    /// The values, without surrounding quotes and still RFC 6868-encoded.
    pub(crate) values: Vec<&'a str>,
    /// The whole parameter as written, without the leading ';'.
    pub(crate) raw: &'a str,
}

impl Param<'_> {
    /// The value when there is exactly one.
    pub(crate) fn single(&self) -> Option<&str> {
        match self.values.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    /// Whether the parameter is called `name` (case-insensitively).
    pub(crate) fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// One unfolded content line, split into its parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ContentLine<'a> {
    /// The property name as written (compare case-insensitively).
    pub(crate) name: &'a str,
    /// The parameters in order.
    pub(crate) params: Vec<Param<'a>>,
    /// The parameters as written, without the leading ';' ("" when none).
    pub(crate) params_raw: &'a str,
    /// The value as written (still escaped).
    pub(crate) value: &'a str,
}

impl ContentLine<'_> {
    /// Whether the property is called `name` (case-insensitively).
    pub(crate) fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// Whether `c` may appear in a property or parameter name (iana-token / x-name).
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

/// Whether `name` is a valid property, parameter or component name.
pub(crate) fn is_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(is_name_char)
}

/// Unfolds `text` into one content line per output line, separated by '\n'.
///
/// Accepts CRLF or bare LF line ends and a leading byte-order mark; skips empty
/// lines. A line starting with a space or tab continues the previous one.
/// The output holds no CR, so no line written from it can split elsewhere.
pub(crate) fn unfold(text: &str) -> Result<String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = String::with_capacity(text.len());
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        // Other readers may end a line at a lone CR: refuse rather than guess.
        if line.contains('\r') {
            return Err(Error::new(
                ErrorKind::InvalidData,
                "iCalendar text holds a CR that does not end a line",
            ));
        }
        if let Some(rest) = line.strip_prefix([' ', '\t']) {
            if out.is_empty() {
                return Err(Error::new(
                    ErrorKind::InvalidData,
                    "iCalendar text starts with a folded line",
                ));
            }
            out.push_str(rest);
        } else if !line.is_empty() {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(line);
        }
    }
    Ok(out)
}

/// Splits one unfolded content line into name, parameters and value.
///
/// A line that is malformed only because an unquoted parameter value
/// holds a backslash-escaped `;`, `:`, `,` or `"` (iOS writes
/// `X-APPLE-STRUCTURED-LOCATION;X-ADDRESS=Main St\;Springfield;…`, which
/// RFC 5545 does not allow), or a quoted value comes after blanks, is read
/// with those escapes inside the value and without the blanks, so that it
/// is kept rather than dropped or its event refused. A well-formed line is
/// always read by the RFC's rules alone.
pub(crate) fn lex(line: &str) -> Result<ContentLine<'_>> {
    lex_with(line, false).or_else(|error| lex_with(line, true).map_err(|_| error))
}

fn lex_with(line: &str, escapes: bool) -> Result<ContentLine<'_>> {
    let malformed = || Error::new(ErrorKind::InvalidData, MALFORMED);
    let name_len = line.find(|c| !is_name_char(c)).unwrap_or(line.len());
    let (name, mut rest) = line.split_at_checked(name_len).ok_or_else(malformed)?;
    if name.is_empty() {
        return Err(malformed());
    }
    let mut params = Vec::new();
    while let Some(after) = rest.strip_prefix(';') {
        let (param, remaining) = lex_param(after, escapes).ok_or_else(malformed)?;
        params.push(param);
        rest = remaining;
    }
    let value = rest.strip_prefix(':').ok_or_else(malformed)?;
    // Everything between the name and the ':' is the parameter text.
    let params_end = line.len() - value.len() - 1;
    let params_raw = line
        .get(name_len..params_end)
        .map(|p| p.strip_prefix(';').unwrap_or(p))
        .ok_or_else(malformed)?;
    Ok(ContentLine {
        name,
        params,
        params_raw,
        value,
    })
}

/// Lexes one parameter at the start of `s`; returns it and what follows it.
/// With `escapes`, a backslash in an unquoted value takes the character
/// after it into the value.
fn lex_param(s: &str, escapes: bool) -> Option<(Param<'_>, &str)> {
    let name_len = s.find(|c| !is_name_char(c)).unwrap_or(s.len());
    let (name, after_name) = s.split_at_checked(name_len)?;
    let mut rest = after_name.strip_prefix('=')?;
    if name.is_empty() {
        return None;
    }
    let mut values = Vec::new();
    loop {
        // Leniently, blanks before a quoted value: a fold after `=` with
        // two blanks (the RFC 5545 §3.8.4.1 example, as khal keeps it).
        let blanks = rest.trim_start_matches([' ', '\t']);
        if escapes && blanks.starts_with('"') {
            rest = blanks;
        }
        let (value, remaining) = if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"')?;
            let (value, closing) = quoted.split_at_checked(end)?;
            (value, closing.get(1..)?)
        } else {
            let end = unquoted_end(rest, escapes);
            rest.split_at_checked(end)?
        };
        values.push(value);
        rest = remaining;
        match rest.strip_prefix(',') {
            Some(next) => rest = next,
            None => break,
        }
    }
    // A parameter ends the list (':'), precedes another (';') or ends the text.
    if !(rest.is_empty() || rest.starts_with([';', ':'])) {
        return None;
    }
    let raw = s.get(..s.len() - rest.len())?;
    Some((Param { name, values, raw }, rest))
}

/// Where an unquoted parameter value at the start of `s` ends.
fn unquoted_end(s: &str, escapes: bool) -> usize {
    let mut chars = s.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            ';' | ':' | ',' | '"' => return at,
            '\\' if escapes => {
                chars.next();
            }
            _ => {}
        }
    }
    s.len()
}

/// Lexes a parameter list as written after a property name (without the
/// leading ';'), or `None` when it is not one; read as [`lex`] reads it.
pub(crate) fn lex_params(params_raw: &str) -> Option<Vec<Param<'_>>> {
    lex_params_with(params_raw, false).or_else(|| lex_params_with(params_raw, true))
}

fn lex_params_with(params_raw: &str, escapes: bool) -> Option<Vec<Param<'_>>> {
    let mut params = Vec::new();
    let mut rest = params_raw;
    while !rest.is_empty() {
        let (param, remaining) = lex_param(rest, escapes)?;
        params.push(param);
        rest = match remaining {
            "" => "",
            more => more.strip_prefix(';').filter(|next| !next.is_empty())?,
        };
    }
    Some(params)
}

#[cfg(test)]
mod tests {
    use super::{lex, lex_params};

    #[test]
    fn escapes_in_a_parameter_are_read_only_where_the_rules_fail() {
        // Well formed by the RFC: `A` is `a\`, then `B=c`.
        let line = lex("X-P;A=a\\;B=c:v").unwrap();
        assert_eq!(line.params.len(), 2);
        assert_eq!(line.params[0].values, ["a\\"]);
        // Malformed by the RFC (`d` has no `=`): the escape joins it.
        let line = lex("X-P;A=a\\;d;B=c\\:x:v").unwrap();
        let values: Vec<_> = line.params.iter().map(|p| p.values.clone()).collect();
        assert_eq!(values, [vec!["a\\;d"], vec!["c\\:x"]]);
        assert_eq!(line.value, "v");
        assert_eq!(lex_params("A=a\\;d").unwrap()[0].values, ["a\\;d"]);
        assert!(lex("X-P;A=a;d:v").is_err());
        // Blanks before a quoted value, as a fold after `=` leaves them.
        let line =
            lex("ATTENDEE;DELEGATED-FROM=  \"mailto:a@b\",\t\"mailto:c@d\":mailto:e@f").unwrap();
        assert_eq!(line.params[0].values, ["mailto:a@b", "mailto:c@d"]);
        assert_eq!(line.value, "mailto:e@f");
    }
}
