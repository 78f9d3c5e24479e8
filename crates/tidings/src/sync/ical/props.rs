//! Properties with structured values or parameters: times (DTSTART, DTEND,
//! RECURRENCE-ID, EXDATE, RDATE), ORGANIZER and ATTENDEE.
//!
//! Each function returns `None` when the model cannot hold the property
//! exactly; the caller then keeps it verbatim, so nothing is lost either way.

use super::line::{ContentLine, Param};
use super::value::{TimeKind, decode_param};
use crate::proto::{
    Address, Attendee, AttendeeRole, CalendarTime, ParticipationStatus, Transparency,
};

/// PARTSTAT values and their enum (VTODO-only values stay verbatim).
pub(crate) const PARTSTAT: &[(&str, ParticipationStatus)] = &[
    ("NEEDS-ACTION", ParticipationStatus::NeedsAction),
    ("ACCEPTED", ParticipationStatus::Accepted),
    ("DECLINED", ParticipationStatus::Declined),
    ("TENTATIVE", ParticipationStatus::Tentative),
    ("DELEGATED", ParticipationStatus::Delegated),
];

/// ROLE values and their enum.
pub(crate) const ROLE: &[(&str, AttendeeRole)] = &[
    ("CHAIR", AttendeeRole::Chair),
    ("REQ-PARTICIPANT", AttendeeRole::Required),
    ("OPT-PARTICIPANT", AttendeeRole::Optional),
    ("NON-PARTICIPANT", AttendeeRole::NonParticipant),
];

/// TRANSP values and their enum.
pub(crate) const TRANSP: &[(&str, Transparency)] = &[
    ("OPAQUE", Transparency::Opaque),
    ("TRANSPARENT", Transparency::Transparent),
];

/// The enum a name stands for (case-insensitively).
pub(crate) fn lookup<T: Copy>(table: &[(&str, T)], name: &str) -> Option<T> {
    table
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, v)| v)
}

/// The name of an enum value as a proto `i32`, if it has one.
pub(crate) fn name_of<T: Copy + Into<i32>>(
    table: &[(&'static str, T)],
    value: i32,
) -> Option<&'static str> {
    table
        .iter()
        .find(|&&(_, v)| v.into() == value)
        .map(|&(n, _)| n)
}

/// A single time (DTSTART, DTEND, RECURRENCE-ID): DATE or DATE-TIME.
pub(crate) fn time(line: &ContentLine<'_>) -> Option<CalendarTime> {
    match times(line, false)?.as_mut_slice() {
        [one] => Some(std::mem::take(one)),
        _ => None,
    }
}

/// The comma-separated times of EXDATE (or RDATE, when `periods` is allowed).
pub(crate) fn times(line: &ContentLine<'_>, periods: bool) -> Option<Vec<CalendarTime>> {
    let mut tzid = None;
    let mut kind = None;
    let mut others = Vec::new();
    for param in &line.params {
        if param.is("TZID") {
            let name = decode_param(param.single()?);
            if tzid.is_some() || name.is_empty() {
                return None;
            }
            tzid = Some(name);
        } else if param.is("VALUE") {
            if kind.is_some() {
                return None;
            }
            kind = Some(TimeKind::from_param(param.single()?)?);
        } else {
            others.push(param.raw);
        }
    }
    let tzid = tzid.unwrap_or_default();
    let params = others.join(";");
    // Each value gets its own copy of the TZID and parameters (at most the
    // parameters as written). A long list sharing long parameters would
    // multiply memory, so it stays verbatim; real lines stay far below
    // this. The weighing before reading (`weight`) counts by the same rule.
    let copies = line
        .value
        .split(',')
        .count()
        .saturating_mul(line.params_raw.len());
    if copies > (line.params_raw.len() + line.value.len()).saturating_mul(16) {
        return None;
    }
    line.value
        .split(',')
        .map(|value| {
            // Without VALUE the form decides: some exporters write a DATE
            // without VALUE=DATE, and the form is unambiguous. The writer
            // names the kind by the form, so both must agree.
            let kind = kind.unwrap_or_else(|| TimeKind::of(value));
            let fits = kind.accepts(value) && TimeKind::of(value) == kind;
            (fits && (periods || kind != TimeKind::Period)).then(|| CalendarTime {
                value: value.to_owned(),
                tzid: tzid.clone(),
                params: params.clone(),
            })
        })
        .collect()
}

/// The address of a `mailto:` URI (the scheme is case-insensitive).
fn mailto(value: &str) -> Option<&str> {
    let scheme = value.get(..7)?;
    scheme
        .eq_ignore_ascii_case("mailto:")
        .then(|| value.get(7..))
        .flatten()
}

/// A CN parameter's name, when the model can hold it (one non-empty value).
fn common_name(param: &Param<'_>) -> Option<String> {
    let name = decode_param(param.single()?);
    (!name.is_empty()).then_some(name)
}

/// The address of a calendar user (RFC 5545 §3.3.3): a `mailto:` URI's,
/// or, for another URI, its EMAIL parameter's (RFC 7986 §6.2), with the
/// URI. CalendarServer writes `urn:uuid:…;EMAIL=…` for every user it
/// knows; without an EMAIL there is no address to show or answer from,
/// and the line stays verbatim.
fn calendar_user(line: &ContentLine<'_>) -> Option<(String, String)> {
    if let Some(email) = mailto(line.value) {
        return Some((email.to_owned(), String::new()));
    }
    let mut emails = line.params.iter().filter(|p| p.is("EMAIL"));
    let email = decode_param(emails.next()?.single()?);
    let one = emails.next().is_none();
    (one && !email.is_empty() && !line.value.is_empty()).then(|| (email, line.value.to_owned()))
}

/// ORGANIZER: the address, its URI when not `mailto:` (see
/// [`calendar_user`]), and the parameters other than CN.
pub(crate) fn organizer(line: &ContentLine<'_>) -> Option<(Address, String, String)> {
    let (email, uri) = calendar_user(line)?;
    let mut name = None;
    let mut others = Vec::new();
    for param in &line.params {
        match name {
            None if param.is("CN") => match common_name(param) {
                Some(cn) => name = Some(cn),
                None => others.push(param.raw),
            },
            _ => others.push(param.raw),
        }
    }
    let name = name.unwrap_or_default();
    Some((Address { name, email }, uri, others.join(";")))
}

/// ATTENDEE: address (and URI, see [`calendar_user`]), PARTSTAT, ROLE and
/// RSVP=TRUE; the rest verbatim.
///
/// RSVP=FALSE stays verbatim: `rsvp: false` could not tell it from absence.
pub(crate) fn attendee(line: &ContentLine<'_>) -> Option<Attendee> {
    let (email, uri) = calendar_user(line)?;
    let mut address = Address {
        name: String::new(),
        email,
    };
    let mut attendee = Attendee::default();
    let mut others = Vec::new();
    for param in &line.params {
        let single = param.single();
        let modelled = if param.is("CN") && address.name.is_empty() {
            common_name(param).map(|cn| address.name = cn)
        } else if param.is("PARTSTAT") && attendee.status == 0 {
            let status = single.and_then(|v| lookup(PARTSTAT, v));
            status.map(|s| attendee.set_status(s))
        } else if param.is("ROLE") && attendee.role == 0 {
            let role = single.and_then(|v| lookup(ROLE, v));
            role.map(|r| attendee.set_role(r))
        } else if param.is("RSVP") && !attendee.rsvp {
            let yes = single.is_some_and(|v| v.eq_ignore_ascii_case("TRUE"));
            yes.then(|| attendee.rsvp = true)
        } else {
            None
        };
        if modelled.is_none() {
            others.push(param.raw);
        }
    }
    attendee.address = Some(address);
    attendee.other_params = others.join(";");
    attendee.uri = uri;
    Some(attendee)
}
