//! Test support (feature `testing`): fixtures the bindings' in-memory test
//! servers share, so C and JavaScript tests meet the same data.

use crate::proto::{self, Address, Attendee, CalendarEvent, CalendarItem, CalendarTime};

/// A one-hour meeting on 3 December 2026 at 09:00 Europe/London, organized
/// by the town clerk, inviting `attendee` (who has not answered yet).
pub fn invitation(id: u64, calendar_id: u64, summary: &str, attendee: &str) -> CalendarItem {
    let at = |value: &str| {
        Some(CalendarTime {
            value: value.into(),
            tzid: "Europe/London".into(),
            ..Default::default()
        })
    };
    let address = |name: &str, email: &str| {
        Some(Address {
            name: name.into(),
            email: email.into(),
        })
    };
    CalendarItem {
        id,
        calendar_id,
        version: 1,
        master: Some(CalendarEvent {
            uid: format!("{id}@town.example"),
            summary: summary.into(),
            start: at("20261203T090000"),
            end: at("20261203T100000"),
            organizer: address("Town Clerk", "clerk@town.example"),
            attendees: vec![Attendee {
                address: address("", attendee),
                status: proto::ParticipationStatus::NeedsAction as i32,
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    }
}
