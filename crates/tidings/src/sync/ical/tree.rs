//! Components: BEGIN/END blocks of content lines, built into a tree without
//! recursion and with bounded depth, so no input can exhaust the stack.
//!
//! Only BEGIN and END lines are read while building; a component's other
//! lines are read when the component is used. Lines of components that are
//! not kept (a VFREEBUSY, the calendar's own properties, text after the last
//! END) are thus never judged, as they are never written back.

use super::line::{ContentLine, is_name, lex};
use crate::error::{Error, ErrorKind, Result};

/// Deepest nesting accepted. Real data needs four (VCALENDAR, VEVENT,
/// VALARM, VLOCATION); the bound also keeps the tree's recursive drop shallow.
const MAX_DEPTH: usize = 16;

/// One component with its properties and sub-components, in order.
#[derive(Debug)]
pub(crate) struct Component<'a> {
    /// The name after BEGIN: as written (compare case-insensitively).
    pub(crate) name: &'a str,
    /// Property lines in order, not yet read.
    property_lines: Vec<&'a str>,
    /// Sub-components in order.
    pub(crate) children: Vec<Component<'a>>,
    /// The unfolded source lines from BEGIN to END inclusive.
    pub(crate) lines: &'a [&'a str],
}

impl<'a> Component<'a> {
    /// Whether the component is called `name` (case-insensitively).
    pub(crate) fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// The component's own properties, in order, each read when reached
    /// (a component may hold millions of lines: not all read at once).
    pub(crate) fn properties(&self) -> impl Iterator<Item = Result<ContentLine<'a>>> + '_ {
        self.property_lines.iter().map(|line| lex(line))
    }

    /// The first own property called `name` that reads as a content line.
    pub(crate) fn first(&self, name: &str) -> Option<ContentLine<'a>> {
        let mut read = self.property_lines.iter().filter_map(|line| lex(line).ok());
        read.find(|p| p.is(name))
    }

    /// The component as written, unfolded lines ending in CRLF, once every
    /// line in it, at any depth, is known to be well formed.
    pub(crate) fn verbatim(&self) -> Result<String> {
        let mut out = String::new();
        for line in self.lines.iter().filter(|l| !dropped(l)) {
            lex(line)?;
            out.push_str(line);
            out.push_str("\r\n");
        }
        Ok(out)
    }
}

/// Properties RFC 5545 and RFC 7986 define: a malformed line of one of
/// these refuses what holds it, as the mapping may need it.
const KNOWN: [&str; 54] = [
    "ACTION",
    "ATTACH",
    "ATTENDEE",
    "BEGIN",
    "CALSCALE",
    "CATEGORIES",
    "CLASS",
    "COLOR",
    "COMMENT",
    "COMPLETED",
    "CONFERENCE",
    "CONTACT",
    "CREATED",
    "DESCRIPTION",
    "DTEND",
    "DTSTAMP",
    "DTSTART",
    "DUE",
    "DURATION",
    "END",
    "EXDATE",
    "FREEBUSY",
    "GEO",
    "IMAGE",
    "LAST-MODIFIED",
    "LOCATION",
    "METHOD",
    "NAME",
    "ORGANIZER",
    "PERCENT-COMPLETE",
    "PRIORITY",
    "PRODID",
    "RDATE",
    "RECURRENCE-ID",
    "REFRESH-INTERVAL",
    "RELATED-TO",
    "REPEAT",
    "REQUEST-STATUS",
    "RESOURCES",
    "RRULE",
    "SEQUENCE",
    "SOURCE",
    "STATUS",
    "SUMMARY",
    "TRANSP",
    "TRIGGER",
    "TZID",
    "TZNAME",
    "TZOFFSETFROM",
    "TZOFFSETTO",
    "TZURL",
    "UID",
    "URL",
    "VERSION",
];

/// Whether `line` is a malformed line of an extension (`X-`) or unknown
/// property, which is dropped rather than refusing its component: Apple
/// writes `X-APPLE-RADIUS=49.9` without a colon, and nothing reads it.
pub(crate) fn dropped(line: &str) -> bool {
    let name_len = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or(line.len());
    let name = line.get(..name_len).unwrap_or_default();
    let known = KNOWN.iter().any(|k| k.eq_ignore_ascii_case(name));
    !name.is_empty() && !known && lex(line).is_err()
}

fn invalid(reason: &'static str) -> Error {
    Error::new(ErrorKind::InvalidData, reason)
}

/// Builds the top-level components of unfolded `lines`.
pub(crate) fn components<'a>(lines: &'a [&'a str]) -> Result<Vec<Component<'a>>> {
    let mut roots = Vec::new();
    // Open components with the index of their BEGIN line.
    let mut open: Vec<(Component<'a>, usize)> = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        match structural(line)? {
            Some(Structure::Begin(name)) => {
                if open.len() >= MAX_DEPTH {
                    return Err(invalid("iCalendar components nested too deeply"));
                }
                let component = Component {
                    name,
                    property_lines: Vec::new(),
                    children: Vec::new(),
                    lines: &[],
                };
                open.push((component, index));
            }
            Some(Structure::End(name)) => {
                let (mut done, begin) = open
                    .pop()
                    .ok_or_else(|| invalid("iCalendar END without BEGIN"))?;
                if !done.name.eq_ignore_ascii_case(name) {
                    return Err(invalid("iCalendar END does not match its BEGIN"));
                }
                done.lines = lines.get(begin..=index).unwrap_or_default();
                match open.last_mut() {
                    Some((parent, _)) => parent.children.push(done),
                    None => roots.push(done),
                }
            }
            // Lines outside any component belong to nothing that is kept.
            None => {
                if let Some((current, _)) = open.last_mut()
                    && !dropped(line)
                {
                    current.property_lines.push(line);
                }
            }
        }
    }
    if !open.is_empty() {
        return Err(invalid("iCalendar component not closed by END"));
    }
    Ok(roots)
}

enum Structure<'a> {
    Begin(&'a str),
    End(&'a str),
}

/// Reads a BEGIN or END line (which must be well formed, as the structure
/// rests on it); `None` for any other line.
fn structural(line: &str) -> Result<Option<Structure<'_>>> {
    let name_len = line.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'));
    let name = line
        .get(..name_len.unwrap_or(line.len()))
        .unwrap_or_default();
    let begin = name.eq_ignore_ascii_case("BEGIN");
    if !begin && !name.eq_ignore_ascii_case("END") {
        return Ok(None);
    }
    let parsed = lex(line)?;
    if !parsed.params.is_empty() || !is_name(parsed.value) {
        return Err(invalid("malformed iCalendar BEGIN or END line"));
    }
    Ok(Some(match begin {
        true => Structure::Begin(parsed.value),
        false => Structure::End(parsed.value),
    }))
}
