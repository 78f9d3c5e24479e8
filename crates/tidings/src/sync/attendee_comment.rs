//! An attendee's note to an organizer on the same server, in the
//! organizer's copy: when an answer is set there directly (the core's
//! `RespondToInvitation`, a gateway's write to a CalDAV server without
//! scheduling) no iTIP REPLY carries the note, so it is written as
//! CalendarServer writes the COMMENT of a REPLY it applies:
//! `X-CALENDARSERVER-ATTENDEE-COMMENT` with the attendee in
//! `X-CALENDARSERVER-ATTENDEE-REF` (Apple Calendar shows it to the
//! organizer; other clients keep it). A new answer replaces the attendee's
//! earlier note, or removes it when it has none.

use crate::proto::{CalendarEvent, CalendarItem, RawProperty};
use crate::sync::ical::escape_text;
use crate::sync::invitation::Answered;

const NAME: &str = "X-CALENDARSERVER-ATTENDEE-COMMENT";

/// Sets `attendee`'s `comment` (none: `""`) in the parts of `item` the
/// answer went to (as [`crate::sync::invitation::answer`] returned it).
pub fn set(item: &mut CalendarItem, answered: Answered, attendee: &str, comment: &str) {
    // The address goes in a quoted parameter: one that could end it is
    // not written (principal addresses are plain mailboxes).
    if attendee.contains(['"', '\r', '\n']) {
        return;
    }
    let reference = format!("X-CALENDARSERVER-ATTENDEE-REF=\"mailto:{attendee}\"");
    let apply = |event: &mut CalendarEvent| {
        event
            .other
            .retain(|p| !(p.name.eq_ignore_ascii_case(NAME) && same_ref(&p.params, attendee)));
        if !comment.is_empty() {
            event.other.push(RawProperty {
                name: NAME.into(),
                params: reference.clone(),
                value: escape_text(comment),
            });
        }
    };
    let lists = |e: &CalendarEvent| {
        e.attendees.iter().any(|a| {
            a.address
                .as_ref()
                .is_some_and(|x| x.email.eq_ignore_ascii_case(attendee))
        })
    };
    match answered {
        Answered::Series => {
            for event in item.master.iter_mut().chain(item.overrides.iter_mut()) {
                if lists(event) {
                    apply(event);
                }
            }
        }
        Answered::Instance(index) => {
            if let Some(event) = item.overrides.get_mut(index) {
                apply(event);
            }
        }
    }
}

/// Whether `params` name `attendee` as the comment's author.
fn same_ref(params: &str, attendee: &str) -> bool {
    let lower = params.to_ascii_lowercase();
    lower.contains(&format!("mailto:{}", attendee.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::set;
    use crate::proto::{Address, Attendee, CalendarEvent, CalendarItem};
    use crate::sync::invitation::Answered;

    fn invited(email: &str) -> CalendarEvent {
        CalendarEvent {
            uid: "staff-1".into(),
            attendees: vec![Attendee {
                address: Some(Address {
                    name: String::new(),
                    email: email.into(),
                }),
                ..Attendee::default()
            }],
            ..CalendarEvent::default()
        }
    }

    #[test]
    fn a_new_note_replaces_the_attendees_old_one_only() {
        let mut item = CalendarItem {
            master: Some(invited("mayor@example.org")),
            overrides: vec![invited("clerk@example.org")],
            ..CalendarItem::default()
        };
        set(
            &mut item,
            Answered::Series,
            "clerk@example.org",
            "Late, sorry",
        );
        set(
            &mut item,
            Answered::Series,
            "mayor@example.org",
            "First hour; only",
        );
        set(
            &mut item,
            Answered::Series,
            "mayor@example.org",
            "All of it",
        );
        let master = item.master.as_ref().expect("master");
        assert_eq!(master.other.len(), 1);
        assert_eq!(master.other[0].value, "All of it");
        assert_eq!(
            master.other[0].params,
            "X-CALENDARSERVER-ATTENDEE-REF=\"mailto:mayor@example.org\""
        );
        assert_eq!(item.overrides[0].other[0].value, "Late\\, sorry");
        set(&mut item, Answered::Series, "mayor@example.org", "");
        assert!(item.master.as_ref().expect("master").other.is_empty());
        assert_eq!(item.overrides[0].other.len(), 1, "the clerk's stays");
    }
}
