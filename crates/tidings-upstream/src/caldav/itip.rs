//! iTIP REPLY (RFC 5546 §3.2.3) for an invitation answered on a device when
//! the organizer is not a principal of this server: what the server sends
//! the organizer by mail (RFC 6047, `text/calendar; method=REPLY`) through
//! its SMTP path. An organizer who is local needs none: their copy is on
//! the same CalDAV server (and a server with scheduling, RFC 6638, updates
//! it from the attendee's PUT).

use std::time::{SystemTime, UNIX_EPOCH};
use tidings::proto::{CalendarEvent, CalendarItem};
use tidings::sync::ical::calendar_item_to_ical;

/// A REPLY to send by mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItipReply {
    /// The attendee who answered (the mail's sender).
    pub from: String,
    /// The organizer (the mail's recipient).
    pub to: String,
    /// The event's summary, for the mail's subject.
    pub summary: String,
    /// The iCalendar object, `METHOD:REPLY`, CRLF line ends.
    pub ics: String,
}

/// The REPLY carrying `attendee`'s answer as recorded in `event`, stamped
/// `dtstamp` (UTC, `YYYYMMDDTHHMMSSZ`); `None` when the event has no master,
/// no organizer, or no such attendee.
pub fn reply(event: &CalendarItem, attendee: &str, dtstamp: &str) -> Option<ItipReply> {
    let master = event.master.as_ref()?;
    let organizer = master.organizer.clone()?;
    let answer = master
        .attendees
        .iter()
        .find(|a| {
            a.address
                .as_ref()
                .is_some_and(|addr| addr.email.eq_ignore_ascii_case(attendee))
        })?
        .clone();
    // RFC 5546 §3.2.3: ORGANIZER, the replying ATTENDEE, UID, DTSTAMP,
    // SEQUENCE; DTSTART too, which the core's reader requires of an event.
    let answered = CalendarEvent {
        uid: master.uid.clone(),
        start: master.start.clone(),
        sequence: master.sequence,
        dtstamp: dtstamp.to_string(),
        organizer: Some(organizer.clone()),
        organizer_params: master.organizer_params.clone(),
        attendees: vec![answer],
        ..CalendarEvent::default()
    };
    let item = CalendarItem {
        master: Some(answered),
        timezones: event.timezones.clone(),
        ..CalendarItem::default()
    };
    let text = calendar_item_to_ical(&item);
    let ics = text.replacen(
        "BEGIN:VCALENDAR\r\n",
        "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\n",
        1,
    );
    Some(ItipReply {
        from: attendee.to_string(),
        to: organizer.email,
        summary: master.summary.clone(),
        ics,
    })
}

/// `now` as an iCalendar UTC DATE-TIME.
pub fn utc_stamp(now: SystemTime) -> String {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tidings::proto::ParticipationStatus;
    use tidings::sync::ical::calendar_items_from_ical;

    const INVITATION: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\n\
        BEGIN:VEVENT\r\nUID:budget-1\r\nDTSTAMP:20261201T090000Z\r\n\
        DTSTART:20261210T090000Z\r\nSEQUENCE:2\r\nSUMMARY:Budget\r\n\
        DESCRIPTION:Private notes\r\n\
        ORGANIZER;CN=Clerk:mailto:clerk@elsewhere.example\r\n\
        ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.org\r\n\
        ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:bob@example.org\r\n\
        END:VEVENT\r\nEND:VCALENDAR\r\n";

    #[test]
    fn reply_carries_only_the_answer() {
        let event = calendar_items_from_ical(INVITATION, 1)
            .expect("parse")
            .remove(0);
        let reply = reply(&event, "ALICE@example.org", "20261202T101500Z").expect("reply");
        assert_eq!(reply.to, "clerk@elsewhere.example");
        assert_eq!(reply.from, "ALICE@example.org");
        assert_eq!(reply.summary, "Budget");
        assert!(reply.ics.starts_with("BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\n"));
        assert!(!reply.ics.contains("Private notes"), "{}", reply.ics);
        assert!(!reply.ics.contains("bob@"), "{}", reply.ics);
        let read = calendar_items_from_ical(&reply.ics, 1)
            .expect("a valid object")
            .remove(0);
        let master = read.master.expect("master");
        assert_eq!(master.uid, "budget-1");
        assert_eq!(master.sequence, 2);
        assert_eq!(master.dtstamp, "20261202T101500Z");
        assert_eq!(master.attendees.len(), 1);
        assert_eq!(
            master.attendees[0].status,
            ParticipationStatus::Accepted as i32
        );
        assert_eq!(
            master.organizer.expect("organizer").email,
            "clerk@elsewhere.example"
        );
    }

    #[test]
    fn no_reply_without_organizer_or_attendee() {
        let event = calendar_items_from_ical(INVITATION, 1)
            .expect("parse")
            .remove(0);
        assert!(reply(&event, "carol@example.org", "20261202T101500Z").is_none());
        let mut alone = event.clone();
        alone.master.as_mut().expect("master").organizer = None;
        assert!(reply(&alone, "alice@example.org", "20261202T101500Z").is_none());
    }

    #[test]
    fn stamps_are_utc_date_times() {
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101T000000Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_796_893_200 + 3661);
        assert_eq!(utc_stamp(t), "20261210T100101Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(utc_stamp(leap), "20000229T000000Z");
    }
}
