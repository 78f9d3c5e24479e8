//! Mail as real mailers write it, read as mail clients read it: each case
//! is the minimal form of a message an outside tester found read wrong in
//! a real-world corpus (Thunderbird, Python's email and MimeKit agree on
//! the reading asserted here).

use tidings::proto::{MailHeaders, MailItem};
use tidings::sync::mail::{MailItemOptions, mail_item_from_message, part_bytes};

fn item(raw: &[u8]) -> MailItem {
    mail_item_from_message(raw, &MailItemOptions::default()).expect("a mail")
}

fn headers(item: &MailItem) -> &MailHeaders {
    item.headers.as_ref().expect("headers are always set")
}

/// Outlook, Thunderbird and Becky! split every long Japanese subject into
/// ISO-2022-JP words, each shifting back to ASCII at its end.
#[test]
fn adjacent_iso_2022_jp_words_read_as_one_text() {
    let word = "=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=";
    let raw = format!(
        "From: {word} {word} <a@example.org>\r\n\
         To: b@example.org\r\n\
         Subject: {word}\r\n {word}\r\n\
         Content-Type: multipart/mixed; boundary=b\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nhi\r\n\
         --b\r\nContent-Type: application/octet-stream; name=\"{word} {word}.txt\"\r\n\r\n\
         zz\r\n--b--\r\n"
    );
    let mail = item(raw.as_bytes());
    let headers = headers(&mail);
    assert_eq!(headers.subject, "テストテスト");
    assert_eq!(headers.from[0].name, "テストテスト");
    assert_eq!(mail.attachments[0].filename, "テストテスト.txt");
}

/// RFC 5322 Appendix A.6.3: white space before the colon (obs-optional),
/// which a receiver must accept, in the very first field too; with or
/// without an mbox `From ` line before it.
#[test]
fn white_space_before_the_colon_of_the_first_field_is_mail() {
    let raw = "From  : John Doe <jdoe@example.org>\r\n\
               To    : Mary Smith <mary@example.net>\r\n\
               Subject     : Saying Hello\r\n\
               Date  : Fri, 21 Nov 1997 09:55:06 -0600\r\n\r\n\
               This is a message just to say hello.\r\n";
    for raw in [
        raw.to_owned(),
        format!("From jdoe@example.org Fri Nov 21 09:55:06 1997\r\n{raw}"),
    ] {
        let mail = item(raw.as_bytes());
        let headers = headers(&mail);
        assert_eq!(headers.subject, "Saying Hello");
        assert_eq!(headers.from[0].email, "jdoe@example.org");
    }
    for not_mail in [&b"From  :\0x\r\n\r\n"[..], b"Not a field : x\r\n\r\n"] {
        assert!(mail_item_from_message(not_mail, &MailItemOptions::default()).is_err());
    }
}

/// A list footer or a disclaimer after a part's base64 data (mu's
/// Emacs/SEMI test mail ends its last JPEG with "Cheerio!"): the data is
/// decoded, the tail dropped, as Python and MimeKit read it.
#[test]
fn base64_with_text_after_its_data_is_decoded() {
    let attached = b"From: a@example.org\r\n\
Subject: base64 then a footer\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"OUT\"\r\n\r\n\
--OUT\r\nContent-Type: text/plain\r\n\r\nfile attached\r\n\
--OUT\r\n\
Content-Type: application/octet-stream; name=\"a.bin\"\r\n\
Content-Transfer-Encoding: base64\r\n\
Content-Disposition: attachment; filename=\"a.bin\"\r\n\r\n\
SGVsbG8sIHdvcmxkIQ==\r\n\r\nCheerio!\r\n\r\n--OUT--\r\n";
    let mail = item(attached);
    let file = &mail.attachments[0];
    assert_eq!((file.filename.as_str(), file.size), ("a.bin", 13));
    let bytes = part_bytes(attached, file.part_id).expect("served");
    assert_eq!(bytes, b"Hello, world!");

    let body = b"From: a@example.org\r\n\
Subject: base64 body with footer\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: base64\r\n\r\n\
SGVsbG8sIHdvcmxkIQ==\r\n\r\n_______________\r\nlist footer\r\n";
    let mail = item(body);
    assert_eq!(mail.preview, "Hello, world!");
    let text = part_bytes(body, mail.body_parts[0].part_id).expect("served");
    assert_eq!(text, b"Hello, world!");
}

/// A nickname in quotes inside a display name (directory-built names from
/// an Exchange GAL or LDAP): the words keep the space between them.
#[test]
fn a_quoted_word_inside_a_display_name_keeps_its_spaces() {
    let raw = b"From: Robert \"Bob\" Smith <bob@example.org>\r\n\
To: Jane \"JJ\" Doe <jj@example.org>, \"Dr.\" Who <who@example.org>\r\n\
Cc: First\r\n \"M.\" Last <user@example.org>, =?utf-8?q?J=C3=B6rg?= \"Joe\" <j@example.org>\r\n\
Subject: quoted word inside a display name\r\n\r\nx\r\n";
    let mail = item(raw);
    let headers = headers(&mail);
    let names = |list: &[tidings::proto::Address]| -> Vec<String> {
        list.iter().map(|a| a.name.clone()).collect()
    };
    assert_eq!(names(&headers.from), ["Robert Bob Smith"]);
    assert_eq!(names(&headers.to), ["Jane JJ Doe", "Dr. Who"]);
    assert_eq!(names(&headers.cc), ["First M. Last", "Jörg Joe"]);
    assert_eq!(headers.from[0].email, "bob@example.org");
    assert_eq!(headers.cc[1].email, "j@example.org");
}

/// Some mailers fold a parameter right after its `=`: the multipart kept
/// its boundary only when unfolded first (RFC 5322 §2.2.3), else every
/// attachment in it was lost; a file name folded so kept its name.
#[test]
fn a_parameter_folded_after_its_equals_keeps_its_value() {
    for (fold, end) in [("\r\n\t", "\r\n"), ("\n ", "\n")] {
        let raw = format!(
            "From: a@example.org{end}To: b@example.org{end}Subject: folded{end}\
             Content-Type: multipart/mixed; boundary={fold}\"==b==\"{end}{end}\
             --==b=={end}Content-Type: text/plain; charset=utf-8{end}{end}see the file{end}\
             --==b=={end}Content-Type: application/pdf{end}\
             Content-Disposition: attachment; filename={fold}\"report.pdf\"{end}\
             Content-Transfer-Encoding: base64{end}{end}JVBERi0x{end}--==b==--{end}"
        );
        let mail = item(raw.as_bytes());
        assert_eq!(mail.attachments.len(), 1, "{raw}");
        let file = &mail.attachments[0];
        assert_eq!(file.filename, "report.pdf");
        assert_eq!(part_bytes(raw.as_bytes(), file.part_id).unwrap(), b"%PDF-1");
        assert_eq!(mail.body_parts.len(), 1);
        let text = part_bytes(raw.as_bytes(), mail.body_parts[0].part_id).unwrap();
        assert_eq!(String::from_utf8(text).unwrap().trim_end(), "see the file");
    }
}

/// RFC 5322's zone names are case-insensitive: `cst` is six hours west,
/// as `CST` is, not UTC.
#[test]
fn a_zone_name_in_lower_case_is_that_zone() {
    for zone in ["CST", "cst", "Cst"] {
        let raw =
            format!("From: a@example.org\r\nDate: mon, 1 jan 2001 10:00:00 {zone}\r\n\r\nhi\r\n");
        let mail = item(raw.as_bytes());
        assert_eq!(headers(&mail).date, 978_364_800, "{zone}");
        assert_eq!(headers(&mail).date_offset_minutes, -360, "{zone}");
    }
}

/// A Date ending in `UT`, a military letter or `PM`: the field after it
/// (here From) was read as part of the Date and lost, and the body with
/// it when the Date ended the header block.
#[test]
fn a_date_with_a_short_zone_leaves_the_next_field_alone() {
    for zone in ["UT", "Z", "A", "PM"] {
        let raw = format!(
            "Subject: hi\r\nDate: Fri, 06 Jul 2001 08:00:34 {zone}\r\nFrom: a@example.org\r\n\r\nbody\r\n"
        );
        let mail = item(raw.as_bytes());
        assert_eq!(headers(&mail).from[0].email, "a@example.org", "{zone}");
        // The letters and UT read as UTC (RFC 5322 §4.3); PM as the
        // afternoon, of an unknown zone (UTC).
        let hours = if zone == "PM" { 12 } else { 0 };
        assert_eq!(headers(&mail).date, 994_406_434 + hours * 3600, "{zone}");
        let last = format!(
            "From: a@example.org\r\nDate: Fri, 06 Jul 2001 08:00:34 {zone}\r\n\r\nbody\r\n"
        );
        assert_eq!(item(last.as_bytes()).preview, "body", "{zone}");
    }
}

/// Forms mail clients read and mail-parser did not: no zone (read as
/// UTC), month and day names in full.
#[test]
fn a_date_without_a_zone_or_with_full_names_is_read() {
    for date in [
        "Fri, 06 Jul 2001 08:00:34",
        "Friday, 06 July 2001 08:00:34 +0000",
        "6 July 2001 08:00:34 GMT",
    ] {
        let raw = format!("From: a@example.org\r\nDate: {date}\r\n\r\nhi\r\n");
        assert_eq!(headers(&item(raw.as_bytes())).date, 994_406_434, "{date}");
    }
}

/// A mail cut short inside its last part (truncated in transit or by an
/// archive, or from a tool that never closes its multipart): mail-parser
/// read that part as damaged, and the text became an unnamed attachment,
/// the mail showing no text (23 of 5,562 real mails, often the longest).
/// The part ends where the mail does, as Python's email reads it; nested
/// multiparts left open are closed too, and so is an HTML alternative; one
/// left open inside a closed one ends where that one goes on.
#[test]
fn a_multipart_never_closed_ends_its_last_part_at_the_end() {
    let head = "From: a@example.org\r\nTo: b@example.org\r\nSubject: cut\r\n\
                MIME-Version: 1.0\r\n";
    let plain = format!(
        "{head}Content-Type: multipart/mixed; boundary=\"out\"\r\n\r\n\
         --out\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe text, cut short.\r\n"
    );
    let mail = item(plain.as_bytes());
    assert_eq!(mail.preview, "The text, cut short.");
    assert!(mail.attachments.is_empty(), "{:?}", mail.attachments);
    let text = part_bytes(plain.as_bytes(), mail.body_parts[0].part_id).expect("its text");
    assert_eq!(text, b"The text, cut short.");

    // Without a line break at the very end, and nested: the alternative
    // inside the mixed one, both open.
    let nested = format!(
        "{head}Content-Type: multipart/mixed; boundary=\"out\"\r\n\r\n\
         --out\r\nContent-Type: multipart/alternative; boundary=\"in\"\r\n\r\n\
         --in\r\nContent-Type: text/plain\r\n\r\nPlain.\r\n\
         --in\r\nContent-Type: text/html\r\n\r\n<p>Rich.</p>"
    );
    let mail = item(nested.as_bytes());
    assert_eq!(mail.preview, "Plain.");
    let types: Vec<&str> = mail
        .body_parts
        .iter()
        .map(|p| p.content_type.as_str())
        .collect();
    assert_eq!(types, ["text/plain", "text/html"]);
    assert!(mail.attachments.is_empty(), "{:?}", mail.attachments);
    let html = part_bytes(nested.as_bytes(), mail.body_parts[1].part_id).expect("its HTML");
    assert_eq!(html, b"<p>Rich.</p>");

    // One left open inside a closed one ends where that one goes on: its
    // last part took in every part after it.
    let inside = format!(
        "{head}Content-Type: multipart/mixed; boundary=\"out\"\r\n\r\n\
         --out\r\nContent-Type: multipart/alternative; boundary=\"in\"\r\n\r\n\
         --in\r\nContent-Type: text/plain\r\n\r\nPlain.\r\n\
         --out\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\n\r\nPDF\r\n--out--\r\n"
    );
    let mail = item(inside.as_bytes());
    assert_eq!(mail.preview, "Plain.");
    let files: Vec<&str> = mail
        .attachments
        .iter()
        .map(|a| a.filename.as_str())
        .collect();
    assert_eq!(files, ["a.pdf"]);
    let pdf = part_bytes(inside.as_bytes(), mail.attachments[0].part_id).expect("the file");
    assert_eq!(pdf, b"PDF");

    // An open one whose last part is a multipart that is closed: that
    // part's lines are inside it and do not end it.
    let around = format!(
        "{head}Content-Type: multipart/mixed; boundary=\"out\"\r\n\r\n\
         --out\r\nContent-Type: multipart/alternative; boundary=\"in\"\r\n\r\n\
         --in\r\nContent-Type: text/plain\r\n\r\nPlain.\r\n\
         --in\r\nContent-Type: text/html\r\n\r\n<p>Rich.</p>\r\n--in--\r\n"
    );
    let mail = item(around.as_bytes());
    assert_eq!(mail.preview, "Plain.");
    assert_eq!(mail.body_parts.len(), 2);
    assert!(mail.attachments.is_empty(), "{:?}", mail.attachments);

    // A closed multipart is read as before, its epilogue left out.
    let closed = format!("{plain}--out--\r\nan epilogue\r\n");
    let mail = item(closed.as_bytes());
    assert_eq!(mail.preview, "The text, cut short.");
    assert_eq!(mail.body_parts.len(), 1);
    assert!(mail.attachments.is_empty());
}

/// Transfer encodings written loosely, which mail-parser's decoders gave
/// up on (the text shown still encoded) or read short: an `=` that starts
/// no escape, a stray character among base64 data, a soft line break right
/// before the boundary. Read as Python's email and RFC 2045 §6.7 and §6.8
/// read them.
#[test]
fn loose_transfer_encodings_are_decoded() {
    let head = "From: a@example.org\r\nTo: b@example.org\r\nSubject: loose\r\n\
                MIME-Version: 1.0\r\n";
    let equals = format!(
        "{head}Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: quoted-printable\r\n\r\nCaf=C3=A9: a == b, x =Z\r\n"
    );
    assert_eq!(item(equals.as_bytes()).preview, "Café: a == b, x =Z");

    let stray = format!(
        "{head}Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         SGVsbG8g!d29ybGQ=\r\n"
    );
    let mail = item(stray.as_bytes());
    assert_eq!(mail.preview, "Hello world");
    let text = part_bytes(stray.as_bytes(), mail.body_parts[0].part_id).expect("its text");
    assert_eq!(text, b"Hello world");

    let soft = format!(
        "{head}Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
         Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
         The last words=\r\n--b--\r\n"
    );
    let mail = item(soft.as_bytes());
    assert_eq!(mail.preview, "The last words");
    let text = part_bytes(soft.as_bytes(), mail.body_parts[0].part_id).expect("its text");
    assert_eq!(text, b"The last words");
}

/// A numeric zone of three digits, the hour's leading zero left out:
/// mail-parser read `-600` as twelve hours west; it is six.
#[test]
fn a_three_digit_zone_is_read_with_its_leading_zero() {
    let raw = b"From: a@example.org\r\nDate: Mon, 1 Jan 2024 10:00:00 -600\r\n\
                Subject: s\r\n\r\nx\r\n";
    let mail = item(raw);
    let headers = headers(&mail);
    assert_eq!(headers.date_offset_minutes, -360);
    assert_eq!(headers.subject, "s");
    // 10:00 six hours west is 16:00 UTC.
    assert_eq!(headers.date, 1_704_124_800);
}

/// A boundary holding `=?` that is no encoded word, which the parser reads
/// as written: the whole mail was refused as "encoded past reading".
#[test]
fn a_boundary_with_an_equals_question_mark_is_read_as_written() {
    let boundary = "----=?NextPart_01";
    let raw = format!(
        "From: a@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\nContent-Type: text/plain\r\n\r\nHello.\r\n\
         --{boundary}\r\nContent-Type: application/pdf; name=a.pdf\r\n\r\nPDF\r\n\
         --{boundary}--\r\n"
    );
    let mail = item(raw.as_bytes());
    assert_eq!(mail.preview, "Hello.");
    assert_eq!(mail.attachments.len(), 1);
    assert_eq!(mail.attachments[0].filename, "a.pdf");
}

/// `Content-Type: text` with no subtype was an unnamed attachment and the
/// mail showed no text; a charset Windows and Python name `cp932` was read
/// as UTF-8, every Japanese character garbled, in the body and in an
/// encoded word alike.
#[test]
fn a_bare_text_type_and_a_windows_charset_name_are_read() {
    let bare = b"From: a@example.org\r\nSubject: s\r\nContent-Type: text\r\n\r\nJust text.\r\n";
    let mail = item(bare);
    assert_eq!(mail.preview, "Just text.");
    assert!(mail.attachments.is_empty(), "{:?}", mail.attachments);
    assert_eq!(mail.body_parts[0].content_type, "text/plain");

    let mut japanese = b"From: a@example.org\r\nSubject: =?cp932?B?gqCCog==?=\r\n\
        Content-Type: text/plain; charset=cp932\r\n\r\n"
        .to_vec();
    japanese.extend_from_slice(b"\x82\xa0\x82\xa2\r\n");
    let mail = item(&japanese);
    assert_eq!(headers(&mail).subject, "あい");
    assert_eq!(mail.preview, "あい");
}

/// Base64 text with a mailing list's footer after the data, in a
/// multipart (here one left open, as a list's archive cut it): mail-parser
/// gave up decoding it and it was an unnamed attachment of still-encoded
/// text. The data is decoded and shown as the text.
#[test]
fn base64_text_with_a_footer_in_a_multipart_is_the_text() {
    let raw = b"From: a@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n\
        --XX\r\nContent-Type: text/plain; charset=utf-8\r\n\
        Content-Transfer-Encoding: base64\r\n\r\n\
        SGVsbG8gdGhlcmUsIHRoZSB0ZXh0Lg==\r\n\r\n\
        _______________\r\nList footer\r\n";
    let mail = item(raw);
    assert_eq!(mail.preview, "Hello there, the text.");
    assert!(mail.attachments.is_empty(), "{:?}", mail.attachments);
    let text = part_bytes(raw, mail.body_parts[0].part_id).expect("its text");
    assert_eq!(text, b"Hello there, the text.");
}
