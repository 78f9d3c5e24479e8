//! iTIP REPLY (RFC 5546 §3.2.3) for an invitation answered on a device when
//! the organizer is not a principal of this server: what the server sends
//! the organizer by mail (RFC 6047, `text/calendar; method=REPLY`) through
//! its SMTP path. An organizer who is local needs none: their copy is on
//! the same CalDAV server (and a server with scheduling, RFC 6638, updates
//! it from the attendee's PUT).

use mail_builder::MessageBuilder;
use mail_builder::headers::content_type::ContentType;
use mail_builder::mime::MimePart;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use tidings::proto::{Attendee, CalendarEvent, CalendarItem, ParticipationStatus, RawProperty};
use tidings::sync::ical::{calendar_item_to_ical, escape_text};
use tidings::sync::invitation::changed_answers;
use tidings::sync::mail::{check_address, header_text};
use tidings::{Error, ErrorKind, Result};

/// A REPLY to send by mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItipReply {
    /// The attendee who answered (the mail's sender).
    pub from: String,
    /// The organizer (the mail's recipient).
    pub to: String,
    /// The event's summary, for the mail's subject.
    pub summary: String,
    /// The answer it carries.
    pub answer: ParticipationStatus,
    /// The iCalendar object, `METHOD:REPLY`, CRLF line ends.
    pub ics: String,
}

/// The REPLY carrying `attendee`'s answers that changed from `before` to
/// `after` (see [`changed_answers`]): one VEVENT per part answered, the
/// master's for the whole series and each instance's with its
/// RECURRENCE-ID (RFC 5546 §3.2.3), `comment` (if any) as each one's
/// COMMENT; stamped `dtstamp` (UTC, `YYYYMMDDTHHMMSSZ`). `None` when no
/// answer changed or no part answered names an organizer.
pub fn reply(
    before: &CalendarItem,
    after: &CalendarItem,
    attendee: &str,
    comment: &str,
    dtstamp: &str,
) -> Option<ItipReply> {
    let parts = changed_answers(before, after, attendee);
    // An instance's own ORGANIZER, else the series'.
    let series = after.master.iter().chain(&after.overrides);
    let organizer_of = |e: &CalendarEvent| {
        let with_params = |e: &CalendarEvent| {
            let params = (e.organizer_params.clone(), e.organizer_uri.clone());
            Some((e.organizer.clone()?, params))
        };
        with_params(e).or_else(|| series.clone().find_map(with_params))
    };
    let first = parts.first()?;
    let (organizer, _) = organizer_of(first)?;
    let answer = first.attendees.iter().find(|a| is(a, attendee))?.status;
    let mut item = CalendarItem {
        timezones: after.timezones.clone(),
        ..CalendarItem::default()
    };
    for part in &parts {
        let Some((organizer, (organizer_params, organizer_uri))) = organizer_of(part) else {
            continue;
        };
        // ORGANIZER, the replying ATTENDEE, UID, DTSTAMP, SEQUENCE,
        // RECURRENCE-ID of an instance; DTSTART too, which the core's
        // reader requires of an event.
        let mut other = Vec::new();
        if !comment.is_empty() {
            other.push(RawProperty {
                name: "COMMENT".into(),
                params: String::new(),
                value: escape_text(comment),
            });
        }
        let answered = CalendarEvent {
            uid: part.uid.clone(),
            start: part.start.clone(),
            recurrence_id: part.recurrence_id.clone(),
            sequence: part.sequence,
            dtstamp: dtstamp.to_string(),
            organizer: Some(organizer),
            organizer_params,
            organizer_uri,
            attendees: part
                .attendees
                .iter()
                .filter(|a| is(a, attendee))
                .cloned()
                .collect(),
            other,
            ..CalendarEvent::default()
        };
        match answered.recurrence_id {
            None => item.master = Some(answered),
            Some(_) => item.overrides.push(answered),
        }
    }
    super::zones::complete(&mut item);
    let text = calendar_item_to_ical(&item);
    let ics = text.replacen(
        "BEGIN:VCALENDAR\r\n",
        "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\n",
        1,
    );
    Some(ItipReply {
        from: attendee.to_string(),
        to: organizer.email,
        summary: first.summary.clone(),
        answer: ParticipationStatus::try_from(answer).unwrap_or(ParticipationStatus::Unspecified),
        ics,
    })
}

fn is(a: &Attendee, email: &str) -> bool {
    a.address
        .as_ref()
        .is_some_and(|addr| addr.email.eq_ignore_ascii_case(email))
}

/// The REPLY as the mail RFC 6047 §2 describes: `From` the attendee, `To`
/// the organizer, a subject naming the answer ("Accepted: Budget"), and the
/// iCalendar object as the one body, `text/calendar; method=REPLY;
/// charset=utf-8` (mail-builder picks 7bit, quoted-printable or base64 for
/// it). Dated `now`; its Message-ID is unique to this process.
///
/// # Errors
///
/// [`ErrorKind::InvalidAddress`] when either address is not a plain
/// mailbox: the organizer's comes from whoever sent the invitation, and
/// nothing it holds may reach a header.
pub fn mail(reply: &ItipReply, now: SystemTime) -> Result<Vec<u8>> {
    check_address(&reply.from)?;
    check_address(&reply.to)?;
    let domain = reply.from.rsplit_once('@').map_or("localhost", |(_, d)| d);
    let subject = format!("{}: {}", verb(reply.answer), header_text(&reply.summary));
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let body = MimePart::new(
        ContentType::new("text/calendar")
            .attribute("method", "REPLY")
            .attribute("charset", "utf-8"),
        reply.ics.as_str(),
    );
    MessageBuilder::new()
        .from(reply.from.as_str())
        .to(reply.to.as_str())
        .subject(subject)
        .date(i64::try_from(secs).unwrap_or(i64::MAX))
        .message_id(format!("itip.{}@{domain}", unique(now)))
        .body(body)
        .write_to_vec()
        .map_err(|_| Error::new(ErrorKind::InvalidData, "the reply could not be composed"))
}

/// The word a mail client shows for an answer (as Outlook and Thunderbird
/// title theirs).
fn verb(answer: ParticipationStatus) -> &'static str {
    match answer {
        ParticipationStatus::Accepted => "Accepted",
        ParticipationStatus::Declined => "Declined",
        ParticipationStatus::Tentative => "Tentative",
        _ => "Reply",
    }
}

/// A token no other mail of this process has: the time and a counter.
fn unique(now: SystemTime) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{nanos:x}.{:x}", COUNTER.fetch_add(1, Ordering::Relaxed))
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

    /// The invitation as it was before alice answered, and after.
    fn answered() -> (CalendarItem, CalendarItem) {
        let after = calendar_items_from_ical(INVITATION, 1)
            .expect("parse")
            .remove(0);
        let mut before = after.clone();
        if let Some(m) = before.master.as_mut() {
            m.attendees[0].status = ParticipationStatus::NeedsAction as i32;
        }
        (before, after)
    }

    #[test]
    fn reply_carries_only_the_answer() {
        let (before, event) = answered();
        let reply =
            reply(&before, &event, "ALICE@example.org", "", "20261202T101500Z").expect("reply");
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
    fn no_reply_without_organizer_attendee_or_change() {
        let (before, event) = answered();
        let stamp = "20261202T101500Z";
        assert!(reply(&before, &event, "carol@example.org", "", stamp).is_none());
        assert!(reply(&event, &event, "alice@example.org", "", stamp).is_none());
        let mut alone = event.clone();
        alone.master.as_mut().expect("master").organizer = None;
        assert!(reply(&before, &alone, "alice@example.org", "", stamp).is_none());
    }

    #[test]
    fn an_instance_reply_names_the_instance_and_carries_the_comment() {
        let (_, mut event) = answered();
        let before = event.clone();
        if let Some(m) = event.master.as_mut() {
            m.rrule = "FREQ=WEEKLY;COUNT=3".into();
        }
        let before = CalendarItem {
            master: event.master.clone(),
            ..before
        };
        let rid = tidings::proto::CalendarTime {
            value: "20261217T090000Z".into(),
            ..Default::default()
        };
        tidings::sync::invitation::answer(
            &mut event,
            "alice@example.org",
            ParticipationStatus::Declined,
            Some(&rid),
        )
        .expect("an instance");
        let comment = "Away; back on the 20th, sorry";
        let reply = reply(
            &before,
            &event,
            "alice@example.org",
            comment,
            "20261202T101500Z",
        )
        .expect("reply");
        assert_eq!(reply.answer, ParticipationStatus::Declined);
        assert!(
            reply
                .ics
                .contains("COMMENT:Away\\; back on the 20th\\, sorry\r\n"),
            "{}",
            reply.ics
        );
        let read = calendar_items_from_ical(&reply.ics, 1)
            .expect("a valid object")
            .remove(0);
        assert!(read.master.is_none(), "the series was not answered");
        let [instance] = read.overrides.as_slice() else {
            panic!("one instance: {}", reply.ics)
        };
        assert_eq!(instance.recurrence_id, Some(rid.clone()));
        assert_eq!(instance.start, Some(rid));
        assert_eq!(instance.attendees.len(), 1);
        assert_eq!(
            instance.attendees[0].status,
            ParticipationStatus::Declined as i32
        );
    }

    fn accepted() -> ItipReply {
        let (before, event) = answered();
        reply(&before, &event, "alice@example.org", "", "20261202T101500Z").expect("reply")
    }

    /// The header section of `raw`, unfolded, and its body.
    fn split(raw: &[u8]) -> (String, String) {
        let text = String::from_utf8(raw.to_vec()).expect("ASCII mail");
        let (head, body) = text.split_once("\r\n\r\n").expect("a header section");
        (
            head.replace("\r\n ", " ").replace("\r\n\t", " "),
            body.to_string(),
        )
    }

    #[test]
    fn the_mail_is_an_rfc_6047_reply() {
        let reply = accepted();
        assert_eq!(reply.answer, ParticipationStatus::Accepted);
        let raw = mail(&reply, UNIX_EPOCH + Duration::from_secs(1_796_893_200)).expect("mail");
        let (head, body) = split(&raw);
        let header = |name: &str| {
            head.lines()
                .find_map(|l| {
                    let (n, v) = l.split_once(':')?;
                    n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
                })
                .unwrap_or_else(|| panic!("no {name} in {head}"))
        };
        assert_eq!(header("From"), "<alice@example.org>");
        assert_eq!(header("To"), "<clerk@elsewhere.example>");
        assert_eq!(header("Subject"), "Accepted: Budget");
        let content_type = header("Content-Type").to_ascii_lowercase();
        assert!(content_type.starts_with("text/calendar"), "{content_type}");
        assert!(content_type.contains("method=\"reply\"") || content_type.contains("method=reply"));
        let id = crate::outbox::message_id(&raw).expect("a Message-ID the outbox accepts");
        assert!(
            id.starts_with("itip.") && id.ends_with("@example.org"),
            "{id}"
        );
        assert!(body.contains("METHOD:REPLY"), "{body}");
        assert!(body.contains("PARTSTAT=ACCEPTED"), "{body}");
        let again = mail(&reply, UNIX_EPOCH + Duration::from_secs(1_796_893_200)).expect("mail");
        assert_ne!(
            crate::outbox::message_id(&again),
            Some(id),
            "ids never repeat"
        );
    }

    #[test]
    fn a_hostile_organizer_or_summary_reaches_no_header() {
        let mut reply = accepted();
        reply.summary = "Budget\r\nBcc: victim@example.org".to_string();
        let raw = mail(&reply, UNIX_EPOCH).expect("mail");
        let (head, _) = split(&raw);
        assert!(
            !head
                .lines()
                .any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
            "{head}"
        );
        for to in [
            "clerk@elsewhere.example\r\nBcc: victim@example.org",
            "clerk@elsewhere.example>, <victim@example.org",
            "not an address",
        ] {
            reply.to = to.to_string();
            let refused = mail(&reply, UNIX_EPOCH).expect_err(to);
            assert_eq!(refused.kind(), ErrorKind::InvalidAddress, "{to}");
        }
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
