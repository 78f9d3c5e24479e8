//! Imports item by item: what is stored, what is refused and why, and that
//! importing again changes nothing.

use super::{Report, ics, maildir, maildir_flags, mbox};
use crate::admin;
use crate::store::SqliteStore;
use proptest::prelude::*;
use std::path::Path;
use tidings::proto::MailFlag;
use tidings::store::ItemStore;

const MAIL: &str = "From: Clerk <clerk@town.example>\r\nTo: mayor@town.example\r\nSubject: Agenda\r\nMessage-ID: <agenda-1@town.example>\r\n\r\nThursday.\r\n";

fn town() -> (SqliteStore, u64, u64) {
    let mut store = SqliteStore::open_in_memory().expect("store");
    let id = admin::add_principal(&mut store, "Mayor", "mayor@town.example").expect("principal");
    let inbox = admin::existing_folder(&store, id, "Inbox").expect("inbox");
    let calendar = admin::calendar(&store, id).expect("calendar");
    (store, inbox, calendar)
}

fn mail(n: usize) -> String {
    MAIL.replace("agenda-1", &format!("agenda-{n}"))
}

fn write(path: &Path, bytes: impl AsRef<[u8]>) {
    std::fs::write(path, bytes).expect("write");
}

fn reasons(report: &Report) -> Vec<String> {
    report.refused.iter().map(ToString::to_string).collect()
}

#[test]
fn maildir_flags_come_from_file_names() {
    let seen = MailFlag::Seen as u32;
    let flagged = MailFlag::Flagged as u32;
    let answered = MailFlag::Answered as u32;
    assert_eq!(
        maildir_flags("1700000000.M1P2.host:2,FRS"),
        seen | flagged | answered
    );
    assert_eq!(maildir_flags("1700000000.M1P2.host!2,S"), seen);
    assert_eq!(
        maildir_flags("1700000000.M1P2.host:2,DT"),
        MailFlag::Draft as u32
    );
    assert_eq!(maildir_flags("1700000000.M1P2.host"), 0);
}

#[test]
fn non_mail_files_are_refused_by_name_and_mail_keeps_its_flags() {
    let (mut store, inbox, _) = town();
    let dir = tempfile::tempdir().expect("tempdir");
    let cur = dir.path().join("cur");
    std::fs::create_dir(&cur).expect("cur");
    write(&cur.join("1.a:2,S"), mail(1));
    write(&cur.join("2.b:2,F"), mail(2));
    write(&cur.join("3.png"), b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
    write(
        &cur.join("4.msg"),
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\0\0\0\0",
    );
    write(&cur.join("5.zeros"), [0u8; 512]);
    write(
        &cur.join("6.text"),
        "Send Ppp mailing list submissions to\nppp@x\n",
    );
    let report = maildir(&mut store, inbox, dir.path()).expect("import");
    assert_eq!(report.stored, 2, "{report:?}");
    let refused: Vec<&str> = report.refused.iter().map(|r| r.source.as_str()).collect();
    for name in ["3.png", "4.msg", "5.zeros", "6.text"] {
        assert!(
            refused.iter().any(|s| s.ends_with(name)),
            "{name}: {refused:?}"
        );
    }
    assert!(
        reasons(&report)[0].contains("not a mail message"),
        "{:?}",
        reasons(&report)
    );
    let mut flags: Vec<u32> = store
        .items(inbox)
        .expect("items")
        .iter()
        .map(|i| i.2)
        .collect();
    flags.sort_unstable();
    assert_eq!(flags, [MailFlag::Seen as u32, MailFlag::Flagged as u32]);
}

#[test]
fn importing_again_changes_nothing_but_new_flags() {
    let (mut store, inbox, _) = town();
    let dir = tempfile::tempdir().expect("tempdir");
    write(&dir.path().join("1"), mail(1));
    // No Message-ID: known again by its bytes.
    write(
        &dir.path().join("2"),
        "From: a@b.example\r\nSubject: x\r\n\r\nno id\r\n",
    );
    let first = maildir(&mut store, inbox, dir.path()).expect("import");
    assert_eq!((first.stored, first.unchanged), (2, 0));
    let head = store.head(inbox).expect("head").modseq;
    let again = maildir(&mut store, inbox, dir.path()).expect("import");
    assert_eq!((again.stored, again.unchanged, again.updated), (0, 2, 0));
    assert_eq!(
        store.head(inbox).expect("head").modseq,
        head,
        "nothing written"
    );
    std::fs::rename(dir.path().join("1"), dir.path().join("1:2,S")).expect("rename");
    let flagged = maildir(&mut store, inbox, dir.path()).expect("import");
    assert_eq!((flagged.stored, flagged.updated), (0, 1));
    assert_eq!(store.items(inbox).expect("items").len(), 2);
}

#[test]
fn a_different_message_reusing_a_message_id_is_kept_and_a_copy_is_not() {
    let (mut store, inbox, _) = town();
    let dir = tempfile::tempdir().expect("tempdir");
    write(&dir.path().join("1"), MAIL);
    // Another program's copy of the same message: other bytes, same
    // Message-ID, senders, subject and date.
    write(
        &dir.path().join("2:2,S"),
        MAIL.replace("Thursday.", "Thursday.\r\n-- \r\nre-exported"),
    );
    // A different message with the same Message-ID (a broken mailer).
    write(
        &dir.path().join("3"),
        MAIL.replace("Clerk <clerk@", "Treasurer <treasurer@")
            .replace("Agenda", "Budget"),
    );
    let report = maildir(&mut store, inbox, dir.path()).expect("import");
    assert_eq!(
        (report.stored, report.updated),
        (2, 1),
        "the copy's flag joins the first; the different message is stored"
    );
    let items = store.items(inbox).expect("items");
    assert_eq!(items.len(), 2);
    let seen = MailFlag::Seen as u32;
    assert_eq!(
        items
            .iter()
            .filter(|(_, _, flags)| flags & seen != 0)
            .count(),
        1,
        "only the copy's own message is marked seen"
    );
}

#[test]
fn a_message_first_read_otherwise_is_known_again_by_its_bytes() {
    use tidings::compress::{InflateLimits, PackOptions, pack, unpack};
    use tidings::proto::{self, Item, item};
    let (mut store, inbox, _) = town();
    let dir = tempfile::tempdir().expect("tempdir");
    write(&dir.path().join("1"), MAIL);
    assert_eq!(
        maildir(&mut store, inbox, dir.path())
            .expect("import")
            .stored,
        1
    );
    // As an older build would have stored it: the subject decoded otherwise.
    let (id, packed, flags) = store.items(inbox).expect("items").remove(0);
    let mut item: Item =
        proto::decode(&unpack(&packed, &InflateLimits::default()).expect("unpack")).expect("item");
    if let Some(item::Kind::Mail(mail)) = &mut item.kind {
        mail.headers.as_mut().expect("headers").subject = "AgendÃ©".into();
    }
    let repacked = pack(&proto::encode(&item), &PackOptions::default()).into();
    store
        .upsert(inbox, Some(id), repacked, flags)
        .expect("rewritten");
    let again = maildir(&mut store, inbox, dir.path()).expect("import");
    assert_eq!((again.stored, again.unchanged), (0, 1), "{again:?}");
    assert_eq!(store.items(inbox).expect("items").len(), 1);
}

#[test]
fn links_are_not_followed_and_subfolders_are_named() {
    let (mut store, inbox, _) = town();
    let secret = tempfile::tempdir().expect("tempdir");
    write(&secret.path().join("private"), mail(9));
    let dir = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink(secret.path(), dir.path().join("cur")).expect("link");
    std::fs::create_dir(dir.path().join("new")).expect("new");
    std::os::unix::fs::symlink(secret.path().join("private"), dir.path().join("new/1"))
        .expect("link");
    std::fs::create_dir_all(dir.path().join(".Sent/cur")).expect("subfolder");
    let report = maildir(&mut store, inbox, dir.path()).expect("import");
    assert_eq!(report.stored, 0, "{report:?}");
    assert_eq!(report.refused.len(), 2, "{report:?}");
    assert!(
        report
            .refused
            .iter()
            .all(|r| r.reason.contains("symbolic link"))
    );
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains(".Sent") && n.contains("--folder Sent"))
    );
}

#[test]
fn an_eml_given_as_mbox_is_refused_with_what_to_do() {
    let (mut store, inbox, _) = town();
    let dir = tempfile::tempdir().expect("tempdir");
    let eml = dir.path().join("one.eml");
    write(&eml, MAIL);
    let report = mbox(&mut store, inbox, &eml).expect("import");
    assert_eq!(report.stored, 0);
    assert!(reasons(&report)[0].contains("deliver"), "{report:?}");
    let png = dir.path().join("p.mbox");
    write(&png, b"\x89PNG\r\n");
    assert!(reasons(&mbox(&mut store, inbox, &png).expect("import"))[0].contains("not an mbox"));
    let empty = dir.path().join("empty.mbox");
    write(&empty, b"");
    assert_eq!(
        mbox(&mut store, inbox, &empty).expect("import"),
        Report::default()
    );
}

#[test]
fn mbox_messages_are_refused_by_line() {
    let (mut store, inbox, _) = town();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a.mbox");
    write(
        &path,
        format!(
            "From x\n{}\nFrom y\n\u{1}\u{2}binary\n\nFrom z\n{}",
            mail(1),
            mail(2)
        ),
    );
    let report = mbox(&mut store, inbox, &path).expect("import");
    assert_eq!(report.stored, 2);
    assert_eq!(report.refused.len(), 1);
    assert_eq!(report.refused[0].source, format!("{}:9", path.display()));
}

const EVENT: &str = "BEGIN:VEVENT\r\nUID:u1\r\nDTSTAMP:20261120T100000Z\r\nDTSTART:20261203T090000Z\r\nSUMMARY:Council\r\nEND:VEVENT\r\n";

fn ics_file(dir: &Path, name: &str, events: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    write(
        &path,
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{events}END:VCALENDAR\r\n"),
    );
    path
}

#[test]
fn calendars_import_event_by_event_and_again_idempotently() {
    let (mut store, _, calendar) = town();
    let dir = tempfile::tempdir().expect("tempdir");
    let broken = EVENT
        .replace("u1", "u2")
        .replace("DTSTART:20261203T090000Z", "DTSTART:tomorrow");
    let path = ics_file(dir.path(), "a.ics", &format!("{EVENT}{broken}"));
    let first = ics(&mut store, calendar, &path).expect("import");
    assert_eq!(first.stored, 1);
    assert_eq!(first.refused.len(), 1);
    let refusal = &first.refused[0];
    assert_eq!(refusal.uid.as_deref(), Some("u2"));
    assert_eq!(refusal.source, format!("{}:9", path.display()));
    assert!(refusal.reason.contains("DTSTART"), "{refusal}");

    let again = ics(&mut store, calendar, &path).expect("import");
    assert_eq!((again.stored, again.updated, again.unchanged), (0, 0, 1));

    let newer = EVENT.replace("SUMMARY:Council", "SEQUENCE:1\r\nSUMMARY:Council (moved)");
    let later = ics_file(dir.path(), "b.ics", &newer);
    let update = ics(&mut store, calendar, &later).expect("import");
    assert_eq!((update.stored, update.updated), (0, 1));
    // The older file now brings nothing newer.
    let old = ics(&mut store, calendar, &path).expect("import");
    assert_eq!((old.stored, old.updated, old.superseded), (0, 0, 1));
    assert_eq!(store.items(calendar).expect("items").len(), 1);
}

#[test]
fn an_empty_calendar_is_no_error_and_a_picture_is_not_a_calendar() {
    let (mut store, _, calendar) = town();
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = ics_file(dir.path(), "empty.ics", "");
    assert_eq!(
        ics(&mut store, calendar, &empty).expect("import"),
        Report::default()
    );
    let png = dir.path().join("p.ics");
    write(&png, b"\x89PNG\r\n\x1a\n\0\0");
    let report = ics(&mut store, calendar, &png).expect("import");
    assert!(reasons(&report)[0].contains("not iCalendar"), "{report:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever bytes a file holds, importing it as a message, an mbox or a
    /// calendar stores it or refuses it with a reason; and delivering it
    /// stores it or fails with a typed error. Nothing panics.
    #[test]
    fn any_bytes_are_stored_or_refused(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..600),
            "(From |Subject: |BEGIN:VEVENT|UID:|DTSTART:20261203|END:VEVENT|\r\n|\n| ){0,30}"
                .prop_map(String::into_bytes),
        ]
    ) {
        let (mut store, inbox, calendar) = town();
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("item");
        write(&file, &bytes);
        for report in [
            maildir(&mut store, inbox, dir.path()).expect("store works"),
            mbox(&mut store, inbox, &file).expect("store works"),
            ics(&mut store, calendar, &file).expect("store works"),
        ] {
            prop_assert!(report.refused.iter().all(|r| !r.reason.is_empty()));
        }
        match admin::deliver_mail(&mut store, "mayor@town.example", &bytes) {
            Ok(_) => {}
            Err(e) => prop_assert_eq!(e.kind(), tidings::ErrorKind::InvalidData),
        }
    }
}

/// The summaries of a calendar's events, sorted.
fn summaries(store: &SqliteStore, calendar: u64) -> Vec<String> {
    use tidings::compress::{InflateLimits, unpack};
    use tidings::proto::{self, Item, item};
    let mut out: Vec<String> = store
        .items(calendar)
        .expect("items")
        .into_iter()
        .filter_map(|(_, packed, _)| {
            let bytes = unpack(&packed, &InflateLimits::default()).ok()?;
            match proto::decode::<Item>(&bytes).ok()?.kind? {
                item::Kind::Calendar(c) => Some(c.master?.summary),
                item::Kind::Mail(_) => None,
            }
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_fold_inside_a_utf8_character_does_not_make_the_file_windows_1252() {
    let (mut store, _, calendar) = town();
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = EVENT.replace("SUMMARY:Council", "SUMMARY:Besprechung in München");
    // Folded at 75 octets, as RFC 5545 §3.1 says, inside a 3-byte character.
    let japanese = "日本語の会議".repeat(6);
    let line = format!("SUMMARY:{japanese}");
    let (head, tail) = line.as_bytes().split_at(75);
    assert!(!line.is_char_boundary(75), "the fold splits a character");
    let mut folded = EVENT.replace("u1", "u2").into_bytes();
    let at = folded
        .windows(15)
        .position(|w| w == b"SUMMARY:Council")
        .expect("summary");
    let mut summary = head.to_vec();
    summary.extend_from_slice(b"\r\n ");
    summary.extend_from_slice(tail);
    folded.splice(at..at + 15, summary);
    let mut file = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n".to_vec();
    file.extend_from_slice(plain.as_bytes());
    file.extend_from_slice(&folded);
    file.extend_from_slice(b"END:VCALENDAR\r\n");
    assert!(std::str::from_utf8(&file).is_err(), "raw, it is not UTF-8");
    let path = dir.path().join("fold.ics");
    write(&path, &file);
    let report = ics(&mut store, calendar, &path).expect("import");
    assert_eq!(report.stored, 2, "{report:?}");
    let mut expected = vec!["Besprechung in München".to_string(), japanese];
    expected.sort();
    assert_eq!(summaries(&store, calendar), expected);
}

/// A real file: Japanese summaries in UTF-8 and one broken sequence. The
/// whole file was read as Windows-1252 and every summary garbled.
#[test]
fn one_broken_sequence_does_not_make_a_utf8_file_windows_1252() {
    let (mut store, _, calendar) = town();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut file = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n".to_vec();
    file.extend_from_slice(EVENT.replace("SUMMARY:Council", "SUMMARY:会議").as_bytes());
    let broken = EVENT
        .replace("u1", "u2")
        .replace("SUMMARY:Council", "SUMMARY:打ち合わせ\u{1}");
    file.extend_from_slice(broken.as_bytes());
    let at = file.iter().position(|&b| b == 1).expect("marker");
    file[at] = 0xE3; // a lead byte with no continuation
    file.extend_from_slice(b"END:VCALENDAR\r\n");
    let path = dir.path().join("broken.ics");
    write(&path, &file);
    let report = ics(&mut store, calendar, &path).expect("import");
    assert_eq!(report.stored, 2, "{report:?}");
    let mut expected = vec!["会議".to_string(), "打ち合わせ\u{FFFD}".to_string()];
    expected.sort();
    assert_eq!(summaries(&store, calendar), expected);
}

#[test]
fn a_windows_1252_calendar_is_still_read_as_windows_1252() {
    let (mut store, _, calendar) = town();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut file = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n".to_vec();
    file.extend_from_slice(
        EVENT
            .replace("SUMMARY:Council", "SUMMARY:M\u{1}nchen")
            .as_bytes(),
    );
    let at = file.iter().position(|&b| b == 1).expect("marker");
    file[at] = 0xFC;
    file.extend_from_slice(b"END:VCALENDAR\r\n");
    let path = dir.path().join("cp1252.ics");
    write(&path, &file);
    let report = ics(&mut store, calendar, &path).expect("import");
    assert_eq!(report.stored, 1, "{report:?}");
    assert_eq!(summaries(&store, calendar), vec!["München".to_string()]);
}

#[test]
fn dropped_lines_are_counted_and_named_in_the_report() {
    let (mut store, _, calendar) = town();
    let dir = tempfile::tempdir().expect("tempdir");
    // An unquoted Apple parameter and a DESCRIPTION not folded.
    let sloppy = EVENT.replace(
        "SUMMARY:Council\r\n",
        "SUMMARY:Council\r\nX-APPLE-STRUCTURED-LOCATION;X-APPLE-RADIUS=49.9\r\n\
         DESCRIPTION:Agenda:\r\n1. budget\r\n",
    );
    let path = ics_file(dir.path(), "apple.ics", &sloppy);
    let report = ics(&mut store, calendar, &path).expect("import");
    assert_eq!(report.stored, 1);
    assert!(report.refused.is_empty(), "{report:?}");
    assert_eq!(report.dropped_lines, 2);
    assert_eq!(
        report.notes,
        [format!(
            "{}: 2 malformed line(s) of X- or unknown properties dropped (lines 8, 10)",
            path.display()
        )]
    );
}

#[test]
fn an_event_in_year_9999_is_imported_as_written() {
    let (mut store, _, calendar) = town();
    let dir = tempfile::tempdir().expect("tempdir");
    let far = EVENT.replace(
        "DTSTART:20261203T090000Z",
        "DTSTART:99991231T230000Z\r\nDTEND:99991231T235959Z",
    );
    let path = ics_file(dir.path(), "far.ics", &far);
    let report = ics(&mut store, calendar, &path).expect("import");
    assert_eq!((report.stored, report.refused.len()), (1, 0), "{report:?}");
    let (_, packed, _) = store.items(calendar).expect("items").remove(0);
    let bytes = tidings::compress::unpack(&packed, &Default::default()).expect("unpack");
    let item = tidings::proto::decode::<tidings::proto::Item>(&bytes).expect("item");
    let Some(tidings::proto::item::Kind::Calendar(held)) = item.kind else {
        panic!("a calendar item");
    };
    let master = held.master.expect("master");
    assert_eq!(master.start.expect("start").value, "99991231T230000Z");
    assert_eq!(master.end.expect("end").value, "99991231T235959Z");
}
