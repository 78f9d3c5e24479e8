//! An independent, test-only reading of iCalendar text that compares
//! components by meaning: it shares no code with the crate, so a property the
//! crate dropped on both reading and writing would still show up here.
//!
//! Normalised away, because RFC 5545 gives them no meaning: property and
//! parameter order, folding, TEXT escaping, parameter quoting and RFC 6868
//! carets, the case of names and of enumerated values, the `mailto:` scheme's
//! case, the VALUE parameter of time properties (a value's form, DATE,
//! DATE-TIME or PERIOD, names its type), and how EXDATE and RDATE values are
//! spread over lines.

/// A property reduced to its meaning.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Prop {
    pub name: String,
    pub params: Vec<(String, Vec<String>)>,
    pub value: String,
}

/// A component reduced to its meaning: sorted properties and children.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Comp {
    pub name: String,
    pub props: Vec<Prop>,
    pub children: Vec<Comp>,
}

impl Comp {
    /// The first value of property `name`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_str())
    }

    /// Every TZID parameter on this component's own properties.
    pub fn tzids(&self) -> Vec<String> {
        let params = self.props.iter().flat_map(|p| &p.params);
        let tzid = params.filter(|(name, _)| name == "TZID");
        tzid.flat_map(|(_, values)| values.clone()).collect()
    }
}

const TEXT: &[&str] = &["SUMMARY", "LOCATION", "DESCRIPTION"];
const TIMES: &[&str] = &[
    "DTSTART",
    "DTEND",
    "RECURRENCE-ID",
    "EXDATE",
    "RDATE",
    "DTSTAMP",
];
const ENUMERATED: &[&str] = &["PARTSTAT", "ROLE", "RSVP", "VALUE"];
const CARETS: &[&str] = &["CN", "TZID"];

/// The top-level components of `text`, reduced; `None` if unreadable.
pub fn components(text: &str) -> Option<Vec<Comp>> {
    let mut lines: Vec<String> = Vec::new();
    for raw in text.trim_start_matches('\u{feff}').split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        match raw.strip_prefix([' ', '\t']) {
            Some(rest) => lines.last_mut()?.push_str(rest),
            None if raw.is_empty() => {}
            None => lines.push(raw.to_owned()),
        }
    }
    let mut stack: Vec<Comp> = Vec::new();
    let mut roots = Vec::new();
    for line in &lines {
        // The crate refuses unreadable lines in what it keeps; elsewhere
        // (a VFREEBUSY, after the last END) they are not compared.
        let Some(prop) = split(line) else { continue };
        match prop.name.as_str() {
            "BEGIN" => stack.push(Comp {
                name: prop.value.to_uppercase(),
                props: Vec::new(),
                children: Vec::new(),
            }),
            "END" => {
                let mut done = stack.pop()?;
                done.props.sort();
                done.children.sort();
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => roots.push(done),
                }
            }
            _ => {
                if let Some(current) = stack.last_mut() {
                    current.props.extend(normalise(prop));
                }
            }
        }
    }
    stack.is_empty().then_some(roots)
}

/// The components a calendar holds: the children of each VCALENDAR, and
/// components written at the top level.
pub fn members(roots: &[Comp]) -> Vec<Comp> {
    let mut out = Vec::new();
    for root in roots {
        match root.name.as_str() {
            "VCALENDAR" => out.extend(root.children.iter().cloned()),
            _ => out.push(root.clone()),
        }
    }
    out
}

/// Splits a content line at the first ':' outside quotes.
fn split(line: &str) -> Option<Prop> {
    let mut in_quotes = false;
    let colon = line.char_indices().find(|&(_, c)| {
        in_quotes ^= c == '"';
        c == ':' && !in_quotes
    })?;
    let (head, value) = (&line[..colon.0], &line[colon.0 + 1..]);
    let mut parts = split_outside_quotes(head, ';').into_iter();
    let name = parts.next()?.to_uppercase();
    let params = parts
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let values = split_outside_quotes(v, ',');
            let values = values.iter().map(|v| v.trim_matches('"').to_owned());
            (k.to_uppercase(), values.collect())
        })
        .collect();
    Some(Prop {
        name,
        params,
        value: value.to_owned(),
    })
}

fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut in_quotes) = (0, false);
    for (i, c) in s.char_indices() {
        in_quotes ^= c == '"';
        if c == sep && !in_quotes {
            out.push(&s[start..i]);
            start = i + 1;
        }
    }
    out.push(&s[start..]);
    out
}

/// Applies the equalities listed in the module docs; EXDATE and RDATE
/// become one property per value.
fn normalise(prop: Prop) -> Vec<Prop> {
    let values: Vec<String> = match prop.name.as_str() {
        "EXDATE" | "RDATE" => prop.value.split(',').map(str::to_owned).collect(),
        _ => vec![prop.value.clone()],
    };
    let one = |value| {
        normalise_one(Prop {
            value,
            ..prop.clone()
        })
    };
    values.into_iter().map(one).collect()
}

fn normalise_one(mut prop: Prop) -> Prop {
    if TIMES.contains(&prop.name.as_str()) {
        // The value's form names its type; VALUE only repeats it.
        prop.params.retain(|(k, _)| k != "VALUE");
    }
    for (name, values) in &mut prop.params {
        for value in values.iter_mut() {
            if ENUMERATED.contains(&name.as_str()) {
                *value = value.to_uppercase();
            }
            if CARETS.contains(&name.as_str()) {
                *value = value
                    .replace("^n", "\n")
                    .replace("^'", "\"")
                    .replace("^^", "^");
            }
        }
    }
    prop.params.sort();
    if TEXT.contains(&prop.name.as_str()) {
        prop.value = unescape(&prop.value);
    }
    if ["ORGANIZER", "ATTENDEE"].contains(&prop.name.as_str())
        && prop
            .value
            .get(..7)
            .is_some_and(|s| s.eq_ignore_ascii_case("mailto:"))
    {
        prop.value = format!("mailto:{}", &prop.value[7..]);
    }
    if prop.name == "TRANSP" {
        prop.value = prop.value.to_uppercase();
    }
    prop
}

fn unescape(value: &str) -> String {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            (c, false) => out.push(c),
        }
    }
    out
}
