//! Header injection: every value a device chooses, with every kind of line
//! break, must not start a header line of its own.

use super::compose;
use crate::admin;
use crate::store::SqliteStore;
use tidings::ErrorKind;
use tidings::proto::{Address, MailHeaders, MailItem, OutgoingAttachment, OutgoingMail, item};
use tidings::session::{Original, Outgoing, Relation};
use tidings::store::Directory;
use tidings::sync::mail::{MailItemOptions, mail_item_from_message};
use tidings::sync::pack_item;

const BREAKS: [&str; 4] = ["\r\n", "\n", "\r", "\u{2028}"];

fn injected(line_break: &str) -> String {
    format!("x{line_break}Bcc: spy@evil.example{line_break}X-Injected: yes")
}

fn store() -> (SqliteStore, u64) {
    let mut store = SqliteStore::open_in_memory().expect("store");
    let id = admin::add_principal(&mut store, "Mayor Ada Quinn", "mayor@town.example")
        .expect("principal");
    (store, id)
}

fn plain(principal_id: u64) -> Outgoing {
    Outgoing {
        principal_id,
        mail: OutgoingMail {
            to: vec![Address {
                name: "Clerk".into(),
                email: "clerk@town.example".into(),
            }],
            subject: "Agenda".into(),
            text: "See you Thursday.".into(),
            ..OutgoingMail::default()
        },
        original: None,
    }
}

/// Names of the header lines of `raw`: those of the top-level header and
/// of each part's header (after a `--boundary` line, which has no spaces), up to the blank line
/// that ends each; continuation lines are not names.
fn header_lines(raw: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(raw);
    let mut in_header = true;
    let mut names = Vec::new();
    for line in text.split('\n').map(|l| l.trim_end_matches('\r')) {
        if line.is_empty() {
            in_header = false;
        } else if line.starts_with("--") && !line.contains(' ') {
            in_header = true;
        } else if in_header && !line.starts_with([' ', '\t']) {
            names.extend(line.split_once(':').map(|(n, _)| n.to_ascii_lowercase()));
        }
    }
    names
}

fn assert_not_injected(raw: &[u8], what: &str) {
    let names = header_lines(raw);
    assert!(!names.iter().any(|n| n == "bcc"), "{what}: a Bcc: line");
    assert!(
        !names.iter().any(|n| n == "x-injected"),
        "{what}: an injected line"
    );
    assert_eq!(
        names.iter().filter(|n| *n == "from").count(),
        1,
        "{what}: one From:"
    );
    // And the message reads back as one mail from the sender.
    let item = mail_item_from_message(raw, &MailItemOptions::default()).expect("parses");
    let headers = item.headers.expect("headers");
    assert_eq!(headers.from.len(), 1, "{what}");
    assert_eq!(headers.from[0].email, "mayor@town.example", "{what}");
    assert!(headers.bcc.is_empty(), "{what}");
}

#[test]
fn subject_with_line_breaks_stays_one_header() {
    let (store, id) = store();
    let sender = store.principal(id).expect("sender");
    for line_break in BREAKS {
        let mut outgoing = plain(id);
        outgoing.mail.subject = injected(line_break);
        let raw = compose(&store, &sender, &outgoing).expect("composed");
        assert_not_injected(&raw, "subject");
        let item = mail_item_from_message(&raw, &MailItemOptions::default()).expect("parses");
        let subject = item.headers.expect("headers").subject;
        assert!(subject.contains("Bcc: spy@evil.example"), "{subject:?}");
    }
}

#[test]
fn display_names_with_line_breaks_stay_in_their_header() {
    let (mut store, id) = store();
    for line_break in BREAKS {
        let mut outgoing = plain(id);
        outgoing.mail.to[0].name = injected(line_break);
        outgoing.mail.cc = vec![Address {
            name: injected(line_break),
            email: "cllr@town.example".into(),
        }];
        let sender = store.principal(id).expect("sender");
        let raw = compose(&store, &sender, &outgoing).expect("composed");
        assert_not_injected(&raw, "display name");
    }
    // The sender's own name, stored before names were checked.
    let forged = store
        .add_principal(&injected("\r\n"), "forged@town.example")
        .expect("raw insert");
    let sender = store.principal(forged).expect("sender");
    let raw = compose(&store, &sender, &plain(forged)).expect("composed");
    let names = header_lines(&raw);
    assert!(!names.iter().any(|n| n == "bcc" || n == "x-injected"));
}

#[test]
fn every_recipient_field_refuses_a_forged_address() {
    let (store, id) = store();
    let sender = store.principal(id).expect("sender");
    let forged = Address {
        name: String::new(),
        email: "clerk@town.example>\r\nBcc: spy@evil.example".into(),
    };
    type Field = fn(&mut OutgoingMail) -> &mut Vec<Address>;
    let fields: [(&str, Field); 3] = [
        ("to", |m| &mut m.to),
        ("cc", |m| &mut m.cc),
        ("bcc", |m| &mut m.bcc),
    ];
    for (name, field) in fields {
        let mut outgoing = plain(id);
        field(&mut outgoing.mail).push(forged.clone());
        let e = compose(&store, &sender, &outgoing).expect_err(name);
        assert_eq!(e.kind(), ErrorKind::InvalidAddress, "{name}");
    }
}

#[test]
fn attachment_name_and_media_type_cannot_inject() {
    let (store, id) = store();
    let sender = store.principal(id).expect("sender");
    for line_break in BREAKS {
        let mut outgoing = plain(id);
        outgoing.mail.attachments = vec![OutgoingAttachment {
            filename: injected(line_break),
            content_type: "application/pdf".into(),
            data: b"%PDF-1.4".to_vec(),
            ..Default::default()
        }];
        let raw = compose(&store, &sender, &outgoing).expect("composed");
        assert_not_injected(&raw, "attachment name");
        let item = mail_item_from_message(&raw, &MailItemOptions::default()).expect("parses");
        assert_eq!(item.attachments.len(), 1);
        assert_eq!(item.attachments[0].content_type, "application/pdf");

        outgoing.mail.attachments[0].filename = "minutes.pdf".into();
        outgoing.mail.attachments[0].content_type = format!("text/plain{}", injected(line_break));
        let e = compose(&store, &sender, &outgoing).expect_err("media type");
        assert_eq!(e.kind(), ErrorKind::InvalidMediaType);
    }
}

fn original(relation: Relation, message_id: &str, references: Vec<String>) -> Original {
    let mail = MailItem {
        id: 99,
        headers: Some(MailHeaders {
            from: vec![Address {
                name: "Clerk".into(),
                email: "clerk@town.example".into(),
            }],
            message_id: message_id.into(),
            references,
            ..MailHeaders::default()
        }),
        preview: "Line one\r\nBcc: quoted@evil.example".into(),
        ..MailItem::default()
    };
    Original {
        collection_id: 1,
        item_id: 99,
        relation,
        packed: pack_item(item::Kind::Mail(mail)),
        size: 0,
    }
}

#[test]
fn reply_threads_only_under_well_formed_ids() {
    let (store, id) = store();
    let sender = store.principal(id).expect("sender");
    let mut outgoing = plain(id);
    outgoing.original = Some(original(
        Relation::Reply { all: false },
        "agenda-4@town.example>\r\nBcc: spy@evil.example",
        vec![
            "first@town.example".into(),
            "bad id\r\nX-Injected: yes".into(),
        ],
    ));
    let raw = compose(&store, &sender, &outgoing).expect("composed");
    assert_not_injected(&raw, "reply");
    let headers = mail_item_from_message(&raw, &MailItemOptions::default())
        .expect("parses")
        .headers
        .expect("headers");
    assert!(headers.in_reply_to.is_empty(), "{:?}", headers.in_reply_to);

    outgoing.original = Some(original(
        Relation::Reply { all: false },
        "agenda-4@town.example",
        vec!["first@town.example".into(), "bad id\r\nX: y".into()],
    ));
    let raw = compose(&store, &sender, &outgoing).expect("composed");
    let headers = mail_item_from_message(&raw, &MailItemOptions::default())
        .expect("parses")
        .headers
        .expect("headers");
    assert_eq!(headers.in_reply_to, vec!["agenda-4@town.example"]);
    assert_eq!(
        headers.references,
        vec!["first@town.example", "agenda-4@town.example"]
    );
}

#[test]
fn forward_without_raw_quotes_in_the_body_only() {
    let (store, id) = store();
    let sender = store.principal(id).expect("sender");
    let mut outgoing = plain(id);
    outgoing.mail.subject = injected("\r\n");
    outgoing.original = Some(original(Relation::Forward, "x@y", Vec::new()));
    let raw = compose(&store, &sender, &outgoing).expect("composed");
    assert_not_injected(&raw, "forward");
}

#[test]
fn a_forwarded_mail_is_a_message_readers_can_open() {
    // Encoded in base64, a message/rfc822 part breaks RFC 2046 §5.2.1 and
    // IMAP servers show an empty message; it goes as 8bit, lines CRLF.
    let (mut store, id) = store();
    let inbox = super::mail_folder(&store, id, "Inbox")
        .expect("folders")
        .expect("inbox");
    let forwarded = "From: Clerk <clerk@town.example>\nSubject: Gritting tonight\n\
                     Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n\
                     Hauptstraße closed from 8 pm.\n";
    let item_id =
        crate::stores::ServerStore::add_message(&mut store, inbox, forwarded.as_bytes(), 256)
            .expect("stored");
    let sender = store.principal(id).expect("sender");
    let mut outgoing = plain(id);
    let mut original = original(Relation::Forward, "x@y", Vec::new());
    original.collection_id = inbox;
    original.item_id = item_id;
    original.packed = tidings::store::ItemStore::item(&store, inbox, item_id)
        .expect("read")
        .expect("live")
        .0;
    outgoing.original = Some(original);
    outgoing.mail.attachments = vec![OutgoingAttachment {
        filename: "notes.txt".into(),
        content_type: "text/plain".into(),
        data: "Grüße".as_bytes().to_vec(),
        ..Default::default()
    }];
    let raw = compose(&store, &sender, &outgoing).expect("composed");
    let text = String::from_utf8_lossy(&raw);
    assert!(
        text.contains(
            "Content-Type: message/rfc822;\r\n name=\"Gritting tonight.eml\"\r\n\
             Content-Disposition: attachment;\r\n filename=\"Gritting tonight.eml\"\r\n"
        ) && text.contains("Content-Transfer-Encoding: 8bit\r\n\r\nFrom: Clerk"),
        "{text}"
    );
    assert!(
        text.contains("Content-Type: text/plain; charset=\"utf-8\""),
        "{text}"
    );
    let mail = mail_item_from_message(&raw, &MailItemOptions::default()).expect("parses");
    let attached = &mail.attachments[0];
    assert_eq!(attached.content_type, "message/rfc822");
    assert_eq!(attached.filename, "Gritting tonight.eml");
    let nested = attached.nested_headers.as_ref().expect("headers read");
    assert_eq!(nested.subject, "Gritting tonight");
    let bytes = tidings::sync::mail::part_bytes(&raw, attached.part_id).expect("bytes");
    assert_eq!(bytes, forwarded.replace('\n', "\r\n").as_bytes());
}

#[test]
fn a_reply_quotes_the_whole_text_line_by_line() {
    // The preview is 2 KB with its white space folded: quoting it cut long
    // mails short mid-word and ran their lines together.
    let (mut store, id) = store();
    let inbox = super::mail_folder(&store, id, "Inbox")
        .expect("folders")
        .expect("inbox");
    let paragraph = "The budget committee met on Tuesday. ".repeat(20);
    let body =
        format!("{paragraph}\r\n\r\n{paragraph}\r\n\r\nLAST PARAGRAPH: see you Thursday.\r\n");
    let original_raw = format!(
        "From: Clerk Ola <clerk@town.example>\r\nSubject: Minutes\r\n\
         Message-ID: <minutes@town.example>\r\n\r\n{body}"
    );
    let item_id =
        crate::stores::ServerStore::add_message(&mut store, inbox, original_raw.as_bytes(), 256)
            .expect("stored");
    let sender = store.principal(id).expect("sender");
    let mut outgoing = plain(id);
    let mut original = original(
        Relation::Reply { all: false },
        "minutes@town.example",
        Vec::new(),
    );
    original.collection_id = inbox;
    original.item_id = item_id;
    outgoing.original = Some(original);
    let raw = compose(&store, &sender, &outgoing).expect("composed");
    let mail = mail_item_from_message(&raw, &MailItemOptions::default()).expect("parses");
    let text = tidings::sync::mail::part_bytes(&raw, mail.body_parts[0].part_id).expect("text");
    let text = String::from_utf8(text).expect("UTF-8");
    assert!(text.contains("Clerk <clerk@town.example> wrote:"), "{text}");
    assert!(
        text.contains("\n> LAST PARAGRAPH: see you Thursday.\r\n"),
        "{text}"
    );
    let blank_quoted = text.lines().filter(|l| l.trim_end() == ">").count();
    assert_eq!(blank_quoted, 2, "blank lines kept: {text}");
}

#[test]
fn a_reply_or_forward_without_a_subject_takes_the_originals_marked_once() {
    let (store, id) = store();
    let sender = store.principal(id).expect("sender");
    let subject_of = |relation, original_subject: &str, given: &str| {
        let mut outgoing = plain(id);
        outgoing.mail.subject = given.into();
        let mut original = original(relation, "x@y", Vec::new());
        let mut item: tidings::proto::Item = tidings::proto::decode(
            &tidings::compress::unpack(&original.packed, &Default::default()).expect("unpack"),
        )
        .expect("item");
        if let Some(item::Kind::Mail(mail)) = item.kind.as_mut() {
            mail.headers.get_or_insert_default().subject = original_subject.into();
        }
        original.packed = pack_item(item.kind.expect("mail"));
        outgoing.original = Some(original);
        let raw = compose(&store, &sender, &outgoing).expect("composed");
        let text = String::from_utf8_lossy(&raw).into_owned();
        text.split("\r\n")
            .find_map(|l| l.strip_prefix("Subject: ").map(str::to_owned))
    };
    let reply = Relation::Reply { all: false };
    let cases = [
        (reply, "Gritting tonight", "", Some("Re: Gritting tonight")),
        (
            reply,
            "RE: Gritting tonight",
            "",
            Some("RE: Gritting tonight"),
        ),
        (
            reply,
            "Gritting tonight",
            "  ",
            Some("Re: Gritting tonight"),
        ),
        (reply, "Gritting tonight", "Yes", Some("Yes")),
        (reply, "", "", Some("Re:")),
        (
            Relation::Forward,
            "Gritting tonight",
            "",
            Some("Fwd: Gritting tonight"),
        ),
        (Relation::Forward, "FW: Gritting", "", Some("FW: Gritting")),
        (
            Relation::Forward,
            "Ré: Grüße",
            "",
            Some("=?utf-8?B?RndkOiBSw6k6IEdyw7zDn2U=?="),
        ),
    ];
    for (relation, original_subject, given, expected) in cases {
        assert_eq!(
            subject_of(relation, original_subject, given).as_deref(),
            expected,
            "{relation:?} of {original_subject:?}, given {given:?}"
        );
    }
}

/// A full outbox answered `Done` and queued a notice: the device believed
/// the mail taken. It is refused inside the operation now, and nothing is
/// queued.
#[test]
fn a_send_to_a_full_outbox_is_refused_and_nothing_is_queued() {
    use tidings_upstream::outbox::{Outbox, migrate};
    let (mut store, mayor) = store();
    migrate(store.companion_sql()).expect("outbox table");
    let outbox = Outbox::new(std::collections::HashSet::from([mayor]), 1);
    super::outbox::queue(&mut store, &plain(mayor), &outbox, None).expect("the first is queued");
    let refused = super::outbox::queue(&mut store, &plain(mayor), &outbox, None).expect_err("full");
    assert_eq!(refused.kind(), tidings::ErrorKind::UpstreamUnavailable);
    let rows: i64 = store
        .companion_sql()
        .query_row("SELECT COUNT(*) FROM upstream_outbox", [], |r| r.get(0))
        .expect("count");
    assert_eq!(rows, 1, "neither the mail nor a notice was queued");
}

#[test]
fn a_reply_to_mail_whose_plain_alternative_is_empty_quotes_the_html_text() {
    let (mut store, id) = store();
    let inbox = super::mail_folder(&store, id, "Inbox")
        .expect("folders")
        .expect("inbox");
    let original_raw = "From: Clerk <clerk@town.example>\r\nSubject: Minutes\r\n\
        Message-ID: <minutes@town.example>\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/alternative; boundary=ab\r\n\r\n\
        --ab\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\r\n\
        --ab\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
        <div>Only the HTML has words.</div>\r\n--ab--\r\n";
    let item_id =
        crate::stores::ServerStore::add_message(&mut store, inbox, original_raw.as_bytes(), 256)
            .expect("stored");
    let sender = store.principal(id).expect("sender");
    let mut outgoing = plain(id);
    let mut original = original(
        Relation::Reply { all: false },
        "minutes@town.example",
        Vec::new(),
    );
    original.collection_id = inbox;
    original.item_id = item_id;
    original.packed = tidings::store::ItemStore::item(&store, inbox, item_id)
        .expect("read")
        .expect("live")
        .0;
    outgoing.original = Some(original);
    let raw = compose(&store, &sender, &outgoing).expect("composed");
    let mail = mail_item_from_message(&raw, &MailItemOptions::default()).expect("parses");
    let text = tidings::sync::mail::part_bytes(&raw, mail.body_parts[0].part_id).expect("text");
    let text = String::from_utf8(text).expect("UTF-8");
    assert!(
        text.contains("wrote:\r\n> Only the HTML has words.\r\n"),
        "{text}"
    );
}

#[test]
fn a_text_body_sent_in_base64_has_crlf_line_breaks() {
    // RFC 2046 §4.1.1: canonical text breaks lines with CRLF, which the
    // base64 encoding carries as it is (quoted-printable and 7bit write
    // CRLF themselves).
    let (store, id) = store();
    let sender = store.principal(id).expect("sender");
    let mut outgoing = plain(id);
    outgoing.mail.text = "Привет всем!\n\nИван\rПетров\r\nМэрия".into();
    let raw = compose(&store, &sender, &outgoing).expect("composed");
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("Content-Transfer-Encoding: base64"), "{text}");
    let mail = mail_item_from_message(&raw, &MailItemOptions::default()).expect("parses");
    let body = tidings::sync::mail::part_bytes(&raw, mail.body_parts[0].part_id).expect("text");
    assert_eq!(
        String::from_utf8(body).expect("UTF-8"),
        "Привет всем!\r\n\r\nИван\r\nПетров\r\nМэрия"
    );
}

/// A calendar file sent with its iTIP method keeps it (RFC 6047 §2.4: an
/// invitation a device sends is an iMIP message only with it); no other
/// type carries one.
#[test]
fn a_calendar_attachment_keeps_its_method() {
    let (store, id) = store();
    let sender = store.principal(id).expect("sender");
    let invitation = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n";
    for (given, written) in [
        (
            "text/calendar; charset=utf-8; method=request",
            "text/calendar; charset=\"utf-8\"; method=\"REQUEST\"",
        ),
        ("text/plain; method=REQUEST", "text/plain; name="),
    ] {
        let mut outgoing = plain(id);
        outgoing.mail.attachments = vec![OutgoingAttachment {
            filename: "invite.ics".into(),
            content_type: given.into(),
            data: invitation.as_bytes().to_vec(),
            ..Default::default()
        }];
        let raw = compose(&store, &sender, &outgoing).expect("composed");
        let unfolded = String::from_utf8_lossy(&raw).replace(";\r\n ", "; ");
        assert!(unfolded.contains(written), "{given}: {unfolded}");
    }
}
