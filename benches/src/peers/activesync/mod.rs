//! Exchange ActiveSync: the WBXML Sync and Ping messages a device exchanges
//! for the same changes, built from the same items with the element order
//! and defaults Exchange uses (MS-ASCMD, MS-ASEMAIL, MS-ASCAL, MS-ASAIRS).
//!
//! The flow after a change (Direct Push): the device's pending Ping returns
//! with Status 2 and the changed folder; the device sends a Sync for that
//! folder and gets the change; then it sends its next Ping. Ping requests
//! are sent empty (since protocol 12.1 the server keeps the folder list and
//! heartbeat), sync keys are short integers where Exchange writes a GUID and
//! a counter, and Sync requests after the first leave out their Options: all
//! choices that make ActiveSync smaller than Exchange makes it.

mod calendar;

pub use calendar::{calendar_application_data, time_zone_blob};

use super::time::activesync_long;
use super::wbxml::{Writer, airsync, airsyncbase, email, email2, ping};
use tidings::proto::{Address, CalendarItem, MailItem};

/// The Inbox's CollectionId.
pub const MAIL_FOLDER: &str = "5";
/// The Calendar's CollectionId.
pub const CALENDAR_FOLDER: &str = "1";
/// Items per Sync response when catching up, as the device asks.
pub const WINDOW_SIZE: u32 = 50;

/// A change as a Sync response carries it.
#[derive(Clone, Copy, Debug)]
pub enum Command<'a> {
    /// A new mail.
    AddMail(&'a MailItem, u32),
    /// A mail's flags changed: (item id, flags).
    ChangeFlags(u64, u32),
    /// A new event.
    AddEvent(&'a CalendarItem),
    /// A changed event (ActiveSync sends it whole).
    ChangeEvent(&'a CalendarItem),
}

fn server_id(folder: &str, id: u64) -> String {
    format!("{folder}:{id}")
}

fn mailbox(a: &Address) -> String {
    if a.name.is_empty() {
        a.email.clone()
    } else {
        format!("\"{}\" <{}>", a.name, a.email)
    }
}

fn mailboxes(list: &[Address]) -> String {
    list.iter().map(mailbox).collect::<Vec<_>>().join(", ")
}

fn thread_topic(subject: &str) -> &str {
    let mut s = subject.trim_start();
    loop {
        let lower = s.get(..4).map(str::to_ascii_lowercase);
        match lower.as_deref() {
            Some("re: ") | Some("fw: ") => s = s[4..].trim_start(),
            _ if s.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("fwd: ")) => {
                s = s[5..].trim_start()
            }
            _ => return s,
        }
    }
}

/// The ApplicationData of a new mail, as Exchange fills it for a device that
/// asked for plain text truncated to 2 KB.
pub fn mail_application_data(w: &mut Writer, mail: &MailItem, flags: u32) {
    let h = mail.headers.clone().unwrap_or_default();
    w.open(airsync::APPLICATION_DATA);
    if !h.to.is_empty() {
        w.text(email::TO, &mailboxes(&h.to));
    }
    if !h.cc.is_empty() {
        w.text(email::CC, &mailboxes(&h.cc));
    }
    w.text(email::FROM, &mailboxes(&h.from))
        .text(email::SUBJECT, &h.subject);
    if !h.reply_to.is_empty() {
        w.text(email::REPLY_TO, &mailboxes(&h.reply_to));
    }
    let display_to: Vec<&str> =
        h.to.iter()
            .map(|a| if a.name.is_empty() { &a.email } else { &a.name })
            .map(String::as_str)
            .collect();
    w.text(email::DATE_RECEIVED, &activesync_long(h.date))
        .text(email::DISPLAY_TO, &display_to.join("; "))
        .text(email::THREAD_TOPIC, thread_topic(&h.subject))
        .text(email::IMPORTANCE, "1")
        .text(email::READ, if flags & 1 != 0 { "1" } else { "0" });
    if !mail.attachments.is_empty() {
        w.open(airsyncbase::ATTACHMENTS);
        for a in &mail.attachments {
            w.open(airsyncbase::ATTACHMENT)
                .text(airsyncbase::DISPLAY_NAME, &a.filename)
                .text(
                    airsyncbase::FILE_REFERENCE,
                    &format!("{MAIL_FOLDER}:{}:{}", mail.id, a.part_id),
                )
                .text(airsyncbase::METHOD, "1")
                .text(airsyncbase::ESTIMATED_DATA_SIZE, &a.size.to_string());
            if !a.content_id.is_empty() {
                w.text(airsyncbase::CONTENT_ID, &a.content_id);
            }
            if a.inline {
                w.text(airsyncbase::IS_INLINE, "1");
            }
            w.close();
        }
        w.close();
    }
    let text_size = mail.body_parts.first().map_or(0, |p| p.size);
    w.open(airsyncbase::BODY)
        .text(airsyncbase::TYPE, "1")
        .text(airsyncbase::ESTIMATED_DATA_SIZE, &text_size.to_string());
    if mail.preview_truncated {
        w.text(airsyncbase::TRUNCATED, "1");
    }
    w.text(airsyncbase::DATA, &mail.preview).close();
    w.text(email::MESSAGE_CLASS, "IPM.Note")
        .text(email::INTERNET_CPID, "65001");
    flag(w, flags);
    w.text(email::CONTENT_CLASS, "urn:content-classes:message");
    let native = match mail.body_parts.first() {
        Some(p) if p.content_type.eq_ignore_ascii_case("text/html") => "2",
        _ => "1",
    };
    w.text(airsyncbase::NATIVE_BODY_TYPE, native);
    // Exchange's conversation id is a 16-byte GUID, its index 5 bytes or more.
    let id = mail.id.to_be_bytes();
    let mut conversation = [0x5Au8; 16];
    conversation[8..].copy_from_slice(&id);
    w.opaque(email2::CONVERSATION_ID, &conversation)
        .opaque(email2::CONVERSATION_INDEX, &id[3..])
        .empty(email::CATEGORIES)
        .close();
}

fn flag(w: &mut Writer, flags: u32) {
    if flags & 2 != 0 {
        w.open(email::FLAG)
            .text(email::FLAG_STATUS, "2")
            .text(email::FLAG_TYPE, "Flag for follow up")
            .close();
    } else {
        w.empty(email::FLAG);
    }
}

/// The ApplicationData of a flag change: Read, and Flag when flagged.
pub fn flags_application_data(w: &mut Writer, flags: u32) {
    w.open(airsync::APPLICATION_DATA)
        .text(email::READ, if flags & 1 != 0 { "1" } else { "0" });
    if flags & 2 != 0 {
        flag(w, flags);
    }
    w.close();
}

/// A Sync response for one folder: the new sync key and the changes.
pub fn sync_response(folder: &str, key: u64, commands: &[Command<'_>], more: bool) -> Vec<u8> {
    let mut w = Writer::new();
    w.open(airsync::SYNC)
        .open(airsync::COLLECTIONS)
        .open(airsync::COLLECTION)
        .text(airsync::SYNC_KEY, &key.to_string())
        .text(airsync::COLLECTION_ID, folder)
        .text(airsync::STATUS, "1");
    if more {
        w.empty(airsync::MORE_AVAILABLE);
    }
    if !commands.is_empty() {
        w.open(airsync::COMMANDS);
        for command in commands {
            match *command {
                Command::AddMail(mail, flags) => {
                    w.open(airsync::ADD)
                        .text(airsync::SERVER_ID, &server_id(folder, mail.id));
                    mail_application_data(&mut w, mail, flags);
                }
                Command::ChangeFlags(id, flags) => {
                    w.open(airsync::CHANGE)
                        .text(airsync::SERVER_ID, &server_id(folder, id));
                    flags_application_data(&mut w, flags);
                }
                Command::AddEvent(item) | Command::ChangeEvent(item) => {
                    let tag = match command {
                        Command::AddEvent(_) => airsync::ADD,
                        _ => airsync::CHANGE,
                    };
                    w.open(tag)
                        .text(airsync::SERVER_ID, &server_id(folder, item.id));
                    calendar_application_data(&mut w, item);
                }
            }
            w.close();
        }
        w.close();
    }
    w.close().close().close();
    w.finish()
}

/// A Sync request for one folder from `key`. `options` adds the body
/// preference (plain text, 2 KB), which a device sends when it starts a
/// folder and may then leave out.
pub fn sync_request(folder: &str, key: u64, window: Option<u32>, options: bool) -> Vec<u8> {
    let mut w = Writer::new();
    w.open(airsync::SYNC)
        .open(airsync::COLLECTIONS)
        .open(airsync::COLLECTION)
        .text(airsync::SYNC_KEY, &key.to_string())
        .text(airsync::COLLECTION_ID, folder);
    if let Some(window) = window {
        w.text(airsync::WINDOW_SIZE, &window.to_string());
    }
    if options {
        w.open(airsync::OPTIONS)
            .open(airsyncbase::BODY_PREFERENCE)
            .text(airsyncbase::TYPE, "1")
            .text(airsyncbase::TRUNCATION_SIZE, "2048")
            .close()
            .close();
    }
    w.close().close().close();
    w.finish()
}

/// A Ping request: empty, so the server reuses the folders and heartbeat
/// interval it holds (MS-ASCMD 2.2.1.13, protocol 12.1 and later).
pub fn ping_request() -> Vec<u8> {
    Vec::new()
}

/// The Ping response when the heartbeat interval passed with no change.
pub fn ping_expired() -> Vec<u8> {
    let mut w = Writer::new();
    w.open(ping::PING).text(ping::STATUS, "1").close();
    w.finish()
}

/// The Ping response naming the folder that changed.
pub fn ping_changed(folder: &str) -> Vec<u8> {
    let mut w = Writer::new();
    w.open(ping::PING)
        .text(ping::STATUS, "2")
        .open(ping::FOLDERS)
        .text(ping::FOLDER, folder)
        .close()
        .close();
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidings::proto::MailHeaders;
    use tidings::sync::ical::calendar_items_from_ical;

    #[test]
    fn the_time_zone_blob_is_172_bytes_in_base64() {
        assert_eq!(time_zone_blob().len(), 232);
    }

    #[test]
    fn pings() {
        // Ping (page 13): 00 0D, Ping 0x45, Status 0x47 "1".
        assert_eq!(
            ping_expired(),
            [3, 1, 0x6A, 0, 0, 13, 0x45, 0x47, 3, b'1', 0, 1, 1]
        );
        let changed = ping_changed("5");
        assert_eq!(&changed[6..12], &[0x45, 0x47, 3, b'2', 0, 1]);
        // Folders 0x49, Folder 0x4A "5".
        assert_eq!(&changed[12..], &[0x49, 0x4A, 3, b'5', 0, 1, 1, 1]);
        assert!(ping_request().is_empty());
    }

    #[test]
    fn a_flag_change_is_a_change_with_read() {
        let bytes = sync_response(MAIL_FOLDER, 7, &[Command::ChangeFlags(12, 1)], false);
        let expected: Vec<u8> = [
            &[3, 1, 0x6A, 0, 0x45, 0x5C, 0x4F][..],
            &[0x4B, 3, b'7', 0, 1],                   // SyncKey 7
            &[0x52, 3, b'5', 0, 1],                   // CollectionId 5
            &[0x4E, 3, b'1', 0, 1],                   // Status 1
            &[0x56, 0x48],                            // Commands, Change
            &[0x4D, 3, b'5', b':', b'1', b'2', 0, 1], // ServerId 5:12
            &[0x5D, 0, 2, 0x55, 3, b'1', 0, 1],       // ApplicationData, Email:Read 1
            &[1, 1, 1, 1, 1, 1],
        ]
        .concat();
        assert_eq!(bytes, expected);
    }

    #[test]
    fn a_new_mail_carries_headers_preview_and_exchange_defaults() {
        let mail = MailItem {
            id: 3,
            headers: Some(MailHeaders {
                from: vec![Address {
                    name: "Ada".into(),
                    email: "mayor@town.example".into(),
                }],
                subject: "Re: Budget".into(),
                ..Default::default()
            }),
            preview: "Thursday".into(),
            ..Default::default()
        };
        let bytes = sync_response(MAIL_FOLDER, 2, &[Command::AddMail(&mail, 0)], false);
        let has = |s: &str| bytes.windows(s.len()).any(|w| w == s.as_bytes());
        assert!(has("\"Ada\" <mayor@town.example>"));
        assert!(has("Budget\0"));
        assert!(has("Thursday"));
        assert!(has("IPM.Note"));
        assert!(has("urn:content-classes:message"));
        assert!(has("1970-01-01T00:00:00.000Z"));
    }

    #[test]
    fn an_event_has_time_zone_recurrence_and_attendees() {
        let text = "BEGIN:VEVENT\r\nUID:council-1\r\nDTSTAMP:20261101T120000Z\r\n\
            DTSTART;TZID=Europe/Berlin:20261130T090000\r\nDURATION:PT1H\r\n\
            SUMMARY:Council\r\nRRULE:FREQ=WEEKLY;COUNT=10\r\n\
            ATTENDEE;CN=Sam;PARTSTAT=ACCEPTED:mailto:chief@town.example\r\n\
            BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\nEND:VEVENT\r\n";
        let item = calendar_items_from_ical(text, 1).unwrap().remove(0);
        let bytes = sync_response(CALENDAR_FOLDER, 2, &[Command::ChangeEvent(&item)], false);
        let has = |s: &str| bytes.windows(s.len()).any(|w| w == s.as_bytes());
        assert!(has(&time_zone_blob()));
        assert!(has("20261130T090000Z\0"));
        assert!(has("20261130T100000Z\0"), "end = start + duration");
        // Recurrence (0x5B) Type (0x5C) "1", Occurrences (0x5E) "10",
        // DayOfWeek (0x60) Monday = 2 from the start date.
        assert!(has(
            "\x5B\x5C\x031\x00\x01\x5E\x0310\x00\x01\x60\x032\x00\x01\x01"
        ));
        // Reminder (0x64) 15; AttendeeStatus (0x69) accepted = 3.
        assert!(has("\x64\x0315\x00"));
        assert!(has("\x69\x033\x00"));
    }
}
