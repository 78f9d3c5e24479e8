//! MIME messages into mail items: headers, preview, parts, errors.

use tidings::ErrorKind;
use tidings::proto::MailItem;
use tidings::sync::mail::{MailItemOptions, for_each_part, mail_item_from_message, part_bytes};

fn item(raw: &str) -> MailItem {
    mail_item_from_message(raw.as_bytes(), &MailItemOptions::default()).expect("converts")
}

fn item_with_preview(raw: &str, preview_bytes: usize) -> MailItem {
    let options = MailItemOptions {
        preview_bytes,
        ..MailItemOptions::default()
    };
    mail_item_from_message(raw.as_bytes(), &options).expect("converts")
}

/// The example header of RFC 2047 §8.
const RFC2047: &str = "From: =?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>\r\n\
    To: =?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>\r\n\
    CC: =?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>\r\n\
    Subject: =?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n \
    =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=\r\n\
    Message-ID: <one@example.org>\r\n\
    In-Reply-To: <zero@example.org>\r\n\
    References: <minus-one@example.org> <zero@example.org>\r\n\
    Date: Mon, 30 Nov 2026 09:15:00 +0530\r\n\
    \r\n\
    Body.\r\n";

#[test]
fn encoded_words_are_resolved() {
    let item = item(RFC2047);
    let h = item.headers.unwrap();
    assert_eq!(
        h.subject,
        "If you can read this you understand the example."
    );
    assert_eq!(h.from[0].name, "Keith Moore");
    assert_eq!(h.to[0].name, "Keld Jørn Simonsen");
    assert_eq!(h.cc[0].name, "André Pirard");
    assert_eq!(h.cc[0].email, "PIRARD@vm1.ulg.ac.be");
}

#[test]
fn ids_lose_their_brackets_and_dates_keep_their_offset() {
    let h = item(RFC2047).headers.unwrap();
    assert_eq!(h.message_id, "one@example.org");
    assert_eq!(h.in_reply_to, ["zero@example.org"]);
    assert_eq!(h.references, ["minus-one@example.org", "zero@example.org"]);
    // 09:15 at +05:30 is 03:45 UTC.
    assert_eq!(h.date, 1_796_010_300);
    assert_eq!(h.date_offset_minutes, 330);
}

#[test]
fn html_only_mail_gets_a_text_preview() {
    let raw = "From: a@example.org\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
        <html><head><style>p { color: red }</style></head><body>\r\n\
        <p>Dear   council,</p><p>the budget&nbsp;is <b>approved</b>.</p>\r\n\
        </body></html>\r\n";
    let item = item(raw);
    assert_eq!(item.preview, "Dear council,\nthe budget is approved.");
    assert_eq!(item.body_parts.len(), 1);
    assert_eq!(item.body_parts[0].content_type, "text/html");
    assert!(item.attachments.is_empty());
}

#[test]
fn preview_is_cut_on_a_character_boundary() {
    // "ö" is two bytes: 7 bytes of budget cannot end inside one.
    let raw = "Subject: x\r\n\r\nöööö ööö\r\n";
    let cut = item_with_preview(raw, 7);
    assert_eq!(cut.preview, "ööö");
    assert!(cut.preview_truncated);
    let whole = item_with_preview(raw, "öööö ööö".len());
    assert_eq!(whole.preview, "öööö ööö");
    assert!(!whole.preview_truncated);
    let none = item_with_preview(raw, 0);
    assert_eq!(none.preview, "");
    assert!(none.preview_truncated);
}

#[test]
fn whitespace_is_collapsed_but_paragraphs_kept() {
    let raw = "Subject: x\r\n\r\n  Hello\t\t there,\r\n\r\n\r\n\r\nsecond   paragraph\r\nline two  \r\n\r\n";
    let item = item(raw);
    assert_eq!(item.preview, "Hello there,\n\nsecond paragraph\nline two");
    assert!(!item.preview_truncated);
}

const MIXED: &str = "From: a@example.org\r\n\
    Subject: minutes\r\n\
    MIME-Version: 1.0\r\n\
    Content-Type: multipart/mixed; boundary=\"outer\"\r\n\
    \r\n\
    --outer\r\n\
    Content-Type: multipart/related; boundary=\"inner\"\r\n\
    \r\n\
    --inner\r\n\
    Content-Type: text/html; charset=iso-8859-1\r\n\
    Content-Transfer-Encoding: quoted-printable\r\n\
    \r\n\
    <p>Gr=FC=DFe <img src=3D\"cid:logo@town\"></p>\r\n\
    --inner\r\n\
    Content-Type: image/png\r\n\
    Content-ID: <logo@town>\r\n\
    Content-Disposition: inline\r\n\
    Content-Transfer-Encoding: base64\r\n\
    \r\n\
    iVBORw0KGgo=\r\n\
    --inner--\r\n\
    --outer\r\n\
    Content-Type: application/pdf; name=\"minutes.pdf\"\r\n\
    Content-Disposition: attachment; filename*=utf-8''Protokoll%20M%C3%A4rz.pdf\r\n\
    Content-Transfer-Encoding: base64\r\n\
    \r\n\
    JVBERi0xLjQK\r\n\
    --outer\r\n\
    Content-Type: message/rfc822\r\n\
    \r\n\
    From: b@example.org\r\n\
    Subject: =?utf-8?q?Fwd=3A_Gr=C3=BC=C3=9Fe?=\r\n\
    \r\n\
    Forwarded body.\r\n\
    --outer--\r\n";

#[test]
fn parts_are_listed_with_stable_ids_and_decoded_sizes() {
    let item = item(MIXED);
    // Pre-order: 0 mixed, 1 related, 2 html, 3 png, 4 pdf, 5 message.
    assert_eq!(item.body_parts.len(), 1);
    let html = &item.body_parts[0];
    assert_eq!((html.part_id, html.content_type.as_str()), (2, "text/html"));
    assert_eq!(item.preview, "Grüße");

    let ids: Vec<u32> = item.attachments.iter().map(|a| a.part_id).collect();
    assert_eq!(ids, [3, 4, 5]);
    let (logo, pdf, message) = (
        &item.attachments[0],
        &item.attachments[1],
        &item.attachments[2],
    );
    assert_eq!((logo.content_id.as_str(), logo.inline), ("logo@town", true));
    assert_eq!((logo.content_type.as_str(), logo.size), ("image/png", 8));
    assert_eq!(pdf.filename, "Protokoll März.pdf");
    assert_eq!(
        (pdf.content_type.as_str(), pdf.inline),
        ("application/pdf", false)
    );
    assert_eq!(
        message.nested_headers.as_ref().unwrap().subject,
        "Fwd: Grüße"
    );

    let raw = MIXED.as_bytes();
    assert_eq!(part_bytes(raw, 4).unwrap(), b"%PDF-1.4\n");
    assert_eq!(part_bytes(raw, 3).unwrap(), b"\x89PNG\r\n\x1a\n");
    // Text parts are delivered as UTF-8, whatever their charset.
    let html_bytes = part_bytes(raw, 2).unwrap();
    assert!(
        String::from_utf8(html_bytes.clone())
            .unwrap()
            .contains("Grüße")
    );
    assert_eq!(html_bytes.len() as u64, html.size);
    let forwarded = String::from_utf8(part_bytes(raw, 5).unwrap()).unwrap();
    assert!(forwarded.starts_with("From: b@example.org"));
    assert!(forwarded.trim_end().ends_with("Forwarded body."));
    assert_eq!(forwarded.len() as u64, message.size);
}

#[test]
fn containers_and_unknown_ids_are_not_found() {
    for id in [0, 1, 6, u32::MAX] {
        let err = part_bytes(MIXED.as_bytes(), id).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "part {id}");
    }
}

#[test]
fn options_and_size_are_carried() {
    let options = MailItemOptions {
        id: 42,
        folder_id: 7,
        preview_bytes: 2048,
    };
    let item = mail_item_from_message(MIXED.as_bytes(), &options).unwrap();
    assert_eq!((item.id, item.folder_id, item.flags), (42, 7, 0));
    assert_eq!(item.size, MIXED.len() as u64);
    assert_eq!(MailItemOptions::default().preview_bytes, 2048);
}

#[test]
fn no_message_at_all_is_invalid_data() {
    // mail-parser reads almost anything as a message; only no header at all fails.
    for raw in [&b""[..], b" "] {
        let err = mail_item_from_message(raw, &MailItemOptions::default()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData);
        assert_eq!(
            part_bytes(raw, 0).unwrap_err().kind(),
            ErrorKind::InvalidData
        );
    }
}

#[test]
fn x_uuencode_attachments_are_served_decoded_under_their_begin_name() {
    // As old mailers and some gateways send them: the begin line names the
    // file, the part's headers do not.
    let raw = "From: a@town.example\r\nSubject: minutes\r\nMIME-Version: 1.0\r\n\
               Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
               --b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
               --b\r\nContent-Type: application/octet-stream\r\n\
               Content-Transfer-Encoding: x-uuencode\r\n\r\n\
               begin 644 notes.txt\r\n20V%T\"DAE;&QO+\"!W;W)L9\"$*\r\n`\r\nend\r\n\
               --b--\r\n";
    let mail = item(raw);
    let [attachment] = &mail.attachments[..] else {
        panic!("one attachment: {:?}", mail.attachments);
    };
    assert_eq!(attachment.filename, "notes.txt");
    let bytes = part_bytes(raw.as_bytes(), attachment.part_id).expect("bytes");
    assert_eq!(bytes, b"Cat\nHello, world!\n");
    assert_eq!(attachment.size, bytes.len() as u64);
}

#[test]
fn folded_attachment_names_read_as_one_line() {
    // Folded inside the quoted name, once with a tab: the fold leaves no
    // tab, line break or double space in the name a person sees.
    let raw = "From: a@town.example\r\nSubject: plans\r\nMIME-Version: 1.0\r\n\
               Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
               --b\r\nContent-Type: text/plain\r\n\r\nplans\r\n\
               --b\r\nContent-Type: application/pdf\r\n\
               Content-Disposition: attachment; filename=\"Town plan\r\n\t2027 final.pdf\"\r\n\r\n\
               %PDF\r\n\
               --b--\r\n";
    let mail = item(raw);
    let names: Vec<&str> = mail
        .attachments
        .iter()
        .map(|a| a.filename.as_str())
        .collect();
    assert_eq!(names, ["Town plan 2027 final.pdf"]);
}

#[test]
fn old_mac_line_ends_are_line_ends() {
    let raw = "From: a@ex.org\rTo: b@ex.org\rSubject: bare CR\rMessage-ID: <m16@x>\r\
               Date: Tue, 01 Dec 2026 10:00:00 +0000\r\rbody\r";
    let mail = item(raw);
    let headers = mail.headers.expect("headers");
    assert_eq!(headers.subject, "bare CR");
    assert_eq!(headers.from[0].email, "a@ex.org");
    assert_eq!(headers.to[0].email, "b@ex.org");
    assert_eq!(headers.message_id, "m16@x");
    assert_eq!(mail.preview, "body");
    assert_eq!(
        mail.size,
        raw.len() as u64,
        "the size is of the bytes given"
    );
}

#[test]
fn a_lone_cr_in_crlf_or_lf_mail_is_left_alone() {
    for end in ["\r\n", "\n"] {
        let raw = format!("From: a@ex.org{end}Subject: one\rtwo{end}{end}body{end}");
        let headers = item(&raw).headers.expect("headers");
        assert_eq!(headers.from[0].email, "a@ex.org");
        assert!(headers.subject.starts_with("one"), "{:?}", headers.subject);
    }
}

#[test]
fn a_byte_order_mark_or_a_nul_in_a_later_field_is_still_mail() {
    let bom = "\u{feff}From: a@ex.org\r\nTo: b@ex.org\r\nSubject: BOM at start\r\n\r\nbody\r\n";
    let headers = item(bom).headers.expect("headers");
    assert_eq!(headers.subject, "BOM at start");
    assert_eq!(headers.from[0].email, "a@ex.org");

    let nul =
        "From: a@ex.org\r\nTo: b@ex.org\r\nSubject: NUL\0in subject\r\n\r\nbody with \0 NUL\r\n";
    let headers = item(nul).headers.expect("headers");
    assert!(headers.subject.starts_with("NUL"), "{:?}", headers.subject);
    assert_eq!(headers.to[0].email, "b@ex.org");

    // A NUL in the first field still says: not mail.
    let binary = b"Name:\0\0\0\x01\x02\r\n\r\n";
    let err = mail_item_from_message(binary, &MailItemOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
}

#[test]
fn a_date_in_year_9999_is_read_as_written() {
    // Seen in real archives as a "never expires" or sort-to-top date.
    let raw =
        "From: a@ex.org\r\nSubject: far\r\nDate: Fri, 31 Dec 9999 23:59:59 +0000\r\n\r\nx\r\n";
    let h = item(raw).headers.expect("headers");
    // 9999-12-31T23:59:59Z, the last second of year 9999.
    assert_eq!(h.date, 253_402_300_799);
    assert_eq!(h.date_offset_minutes, 0);
    let early = "From: a@ex.org\r\nDate: Sun, 31 Dec 1899 12:00:00 -0100\r\n\r\nx\r\n";
    let h = item(early).headers.expect("headers");
    assert_eq!(h.date, -2_209_028_400);
    assert_eq!(h.date_offset_minutes, -60);
    // Not a date at all is still "no date".
    let junk = "From: a@ex.org\r\nDate: Fri, 31 Foo 9999 25:61:00 +0000\r\n\r\nx\r\n";
    assert_eq!(item(junk).headers.expect("headers").date, 0);
}

#[test]
fn replies_share_their_originals_conversation() {
    let original = "From: a@ex.org\r\nMessage-ID: <root@ex.org>\r\nSubject: s\r\n\r\nx\r\n";
    let reply = "From: b@ex.org\r\nMessage-ID: <r1@ex.org>\r\nIn-Reply-To: <root@ex.org>\r\n\
        References: <root@ex.org>\r\n\r\nx\r\n";
    let reply_to_reply = "From: a@ex.org\r\nMessage-ID: <r2@ex.org>\r\nIn-Reply-To: <r1@ex.org>\r\n\
        References: <root@ex.org> <r1@ex.org>\r\n\r\nx\r\n";
    let other = "From: c@ex.org\r\nMessage-ID: <other@ex.org>\r\n\r\nx\r\n";
    let thread = |raw: &str| item(raw).headers.expect("headers").thread_id;
    let root = thread(original);
    assert_ne!(root, 0);
    assert_eq!(thread(reply), root);
    assert_eq!(thread(reply_to_reply), root);
    assert_ne!(thread(other), root);
    // The id of the spec's rule: SHA-256("root@ex.org"), first 8 bytes.
    assert_eq!(root, 0x4e85_e0df_456b_c422);
    assert_eq!(thread("From: a@ex.org\r\n\r\nno ids\r\n"), 0);
}

#[test]
fn mail_without_a_date_is_dated_when_its_last_server_took_it_in() {
    // Cron jobs, scanners and some gateways send mail with no Date:, or
    // with one that is not a date; clients then show when it arrived.
    let received = "Received: from mx.example.org (mx.example.org [192.0.2.7])\r\n\
        \tby mail.town.example (Postfix) with ESMTPS id 4F2;\r\n\
        \tSat, 5 Dec 2026 14:03:09 +0100 (CET)\r\n\
        Received: from scanner.local by mx.example.org; Sat, 5 Dec 2026 13:00:00 +0000\r\n";
    for date in ["", "Date: yesterday, probably\r\n"] {
        let raw = format!("{received}From: scanner@ex.org\r\n{date}Subject: scan\r\n\r\nx\r\n");
        let h = item(&raw).headers.expect("headers");
        // 2026-12-05T13:03:09Z, from the topmost (latest) Received: field.
        assert_eq!(
            (h.date, h.date_offset_minutes),
            (1_796_475_789, 60),
            "{date}"
        );
    }
    // A Date: that is one wins over every Received: field.
    let dated =
        format!("{received}From: a@ex.org\r\nDate: Sat, 5 Dec 2026 12:00 +0000\r\n\r\nx\r\n");
    assert_eq!(item(&dated).headers.expect("headers").date, 1_796_472_000);
    // A Received: field with no date after its `;` leaves no date at all.
    let undated = "Received: by localhost\r\nFrom: a@ex.org\r\n\r\nx\r\n";
    assert_eq!(item(undated).headers.expect("headers").date, 0);
}

#[test]
fn previews_carry_no_control_characters_but_keep_tabs_and_lines() {
    let raw = "From: a@ex.org\r\nSubject: nul\r\n\r\n\
               body with \0 NUL \0 bytes\x07\x1b[0m\r\nnext\tline\x7f\r\n";
    let mail = item(raw);
    assert_eq!(mail.preview, "body with NUL bytes[0m\nnext line");
    assert!(
        !mail
            .preview
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "{:?}",
        mail.preview
    );
}

#[test]
fn a_named_inline_text_part_is_an_attachment_under_its_name() {
    let raw = "From: a@ex.org\r\nSubject: notes\r\nMIME-Version: 1.0\r\n\
               Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
               --b\r\nContent-Type: text/plain\r\n\r\nsee my notes\r\n\
               --b\r\nContent-Type: text/plain; charset=utf-8\r\n\
               Content-Disposition: inline; filename=\"notes.txt\"\r\n\r\n\
               1. budget\r\n\
               --b\r\nContent-Type: text/plain; name=\"plan.txt\"\r\n\r\n\
               2. plan\r\n\
               --b--\r\n";
    let mail = item(raw);
    let body: Vec<u32> = mail.body_parts.iter().map(|p| p.part_id).collect();
    assert_eq!(body, [1]);
    let named: Vec<(&str, bool)> = mail
        .attachments
        .iter()
        .map(|a| (a.filename.as_str(), a.inline))
        .collect();
    assert_eq!(named, [("notes.txt", true), ("plan.txt", false)]);
    assert_eq!(mail.preview, "see my notes");
    let notes = &mail.attachments[0];
    let bytes = part_bytes(raw.as_bytes(), notes.part_id).expect("bytes");
    assert_eq!(bytes, b"1. budget");
    assert_eq!(notes.size, bytes.len() as u64);
    assert_eq!(notes.content_type, "text/plain");
}

#[test]
fn a_multipart_without_boundary_is_read_as_one_text_part() {
    // No boundary parameter: the body cannot be split, so it is shown as
    // text rather than as an attachment no handset opens; never dropped.
    let raw = "From: Alice <alice@ex.org>\r\nSubject: no boundary\r\nMIME-Version: 1.0\r\n\
               Content-Type: multipart/mixed\r\n\r\n\
               --Z\r\nContent-Type: text/plain\r\n\r\ntext\r\n--Z--\r\n";
    let mail = item(raw);
    assert!(mail.attachments.is_empty(), "{:?}", mail.attachments);
    let [part] = &mail.body_parts[..] else {
        panic!("one body part: {:?}", mail.body_parts);
    };
    assert_eq!(part.content_type, "text/plain");
    let bytes = part_bytes(raw.as_bytes(), part.part_id).expect("bytes");
    assert_eq!(
        bytes,
        b"--Z\r\nContent-Type: text/plain\r\n\r\ntext\r\n--Z--\r\n"
    );
    assert_eq!(part.size, bytes.len() as u64);
    assert!(mail.preview.contains("text"), "{:?}", mail.preview);
}

#[test]
fn inline_uuencode_in_plain_text_is_an_attachment_not_preview() {
    let raw = "From: Alice <alice@ex.org>\r\nSubject: uuencoded attachment\r\n\
               MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n\
               see attached\r\n\r\n\
               begin 644 hello.txt\r\n+:&5L;&\\@=V]R;&0*\r\n`\r\nend\r\n\
               \r\nregards\r\n";
    let mail = item(raw);
    assert_eq!(mail.preview, "see attached\n\nregards");
    let [attachment] = &mail.attachments[..] else {
        panic!("one attachment: {:?}", mail.attachments);
    };
    assert_eq!(attachment.filename, "hello.txt");
    assert_eq!(attachment.content_type, "application/octet-stream");
    let bytes = part_bytes(raw.as_bytes(), attachment.part_id).expect("bytes");
    assert_eq!(bytes, b"hello world");
    assert_eq!(attachment.size, bytes.len() as u64);
    // A store keeps it apart at delivery like any part.
    let mut kept = Vec::new();
    for_each_part(raw.as_bytes(), |id, bytes| {
        kept.push((id, bytes.to_vec()));
        Ok(())
    })
    .expect("parts");
    assert_eq!(
        kept.last(),
        Some(&(attachment.part_id, b"hello world".to_vec()))
    );
    assert_eq!(kept.len(), 2);
    // Prose that starts like a block stays in the preview.
    let prose = "From: a@ex.org\r\n\r\nbegin 644 plans\r\nwe meet at noon\r\nend\r\n";
    let mail = item(prose);
    assert_eq!(mail.preview, "begin 644 plans\nwe meet at noon\nend");
    assert!(mail.attachments.is_empty());
}

/// A text of a thousand tiny pasted files (a dozen bytes each) gives the
/// first 256 as attachments and stored parts; the rest stay text, so such a
/// mail costs about what it weighs.
#[test]
fn at_most_256_pasted_files_are_read_out_of_one_mail() {
    let mut raw = String::from("From: a@ex.org\r\nSubject: blocks\r\n\r\n");
    for n in 0..1000 {
        raw.push_str(&format!("begin 644 f{n}\r\n!80``\r\n`\r\nend\r\n"));
    }
    let mail = item(&raw);
    assert_eq!(
        mail.attachments.len(),
        tidings::sync::mail::MAX_PASTED_FILES as usize
    );
    assert_eq!(mail.attachments[255].filename, "f255");
    let mut kept = 0;
    for_each_part(raw.as_bytes(), |_, _| {
        kept += 1;
        Ok(())
    })
    .expect("parts");
    assert_eq!(kept, 1 + 256, "the text and the files read out of it");
}

/// A To of a hundred thousand addresses over two lines, and a References
/// of as many ids: the item lists the first 10,000 of each (every reader
/// of the item pays for each entry again); From stays whole.
#[test]
fn at_most_ten_thousand_addresses_or_ids_are_listed_per_field() {
    use tidings::sync::mail::MAX_LISTED_PER_FIELD;
    let list = |from: usize, to: usize| {
        (from..to)
            .map(|n| format!("u{n}@ex.org"))
            .collect::<Vec<_>>()
            .join(",\r\n ")
    };
    let ids = (0..100_000)
        .map(|n| format!("<{n}@ex.org>"))
        .collect::<Vec<_>>()
        .join("\r\n ");
    let raw = format!(
        "From: a@ex.org\r\nTo: {}\r\nTo: {}\r\nCc: c@ex.org\r\nReferences: {ids}\r\n\r\nhi\r\n",
        list(0, 6_000),
        list(6_000, 100_000)
    );
    let mail = item(&raw);
    let headers = mail.headers.expect("headers");
    assert_eq!(headers.to.len(), MAX_LISTED_PER_FIELD);
    assert_eq!(headers.to[0].email, "u0@ex.org");
    assert_eq!(
        headers.to[9_999].email, "u9999@ex.org",
        "in order, over both lines"
    );
    assert_eq!(headers.cc.len(), 1);
    assert_eq!(headers.references.len(), MAX_LISTED_PER_FIELD);
    assert_eq!(headers.references[0], "0@ex.org");
}

/// Three files uuencoded as `uuencode` writes them: name, then block.
const FIRST: &str = "begin 644 first.txt\n+9FER<W0@9FEL90H`\n`\nend\n";
const SECOND: &str = "begin 644 second.txt\n'<V5C;VYD\"@``\n`\nend\n";
const THIRD: &str = "begin 644 third.txt\n*=&AI<F0@;VYE\"@``\n`\nend\n";

fn pasted(mail: &MailItem) -> Vec<(u32, &str)> {
    let files = mail.attachments.iter().filter(|a| a.part_id > 3);
    files.map(|a| (a.part_id, a.filename.as_str())).collect()
}

#[test]
fn pasted_file_ids_follow_the_mime_parts_in_order_whatever_the_parts_are() {
    // Parts 1 and 3 are the body, part 2 is a named file: each text leaf
    // holds a block, and the blocks are 4, 5 and 6 in MIME order. Stores
    // serve these ids by parsing the message again, so they are pinned:
    // how a text part is judged body or file must not move them.
    let raw = format!(
        "From: a@ex.org\nSubject: files\nMIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"b\"\n\n\
         --b\nContent-Type: text/plain\n\nsee attached\n\n{FIRST}\
         --b\nContent-Type: text/plain\nContent-Disposition: inline; filename=\"notes.txt\"\n\n\
         {SECOND}\
         --b\nContent-Type: text/plain\n\nand this\n\n{THIRD}--b--\n"
    );
    let mail = item(&raw);
    let body: Vec<u32> = mail.body_parts.iter().map(|p| p.part_id).collect();
    assert_eq!(body, [1, 3]);
    assert_eq!(
        pasted(&mail),
        [(4, "first.txt"), (5, "second.txt"), (6, "third.txt")]
    );
    let served: Vec<Vec<u8>> = (4..=6)
        .map(|id| part_bytes(raw.as_bytes(), id).expect("bytes"))
        .collect();
    assert_eq!(served, [&b"first file\n"[..], b"second\n", b"third one\n"]);
    for file in mail.attachments.iter().filter(|a| a.part_id > 3) {
        assert_eq!(file.size, served[file.part_id as usize - 4].len() as u64);
    }
    let mut kept = Vec::new();
    for_each_part(raw.as_bytes(), |id, bytes| {
        kept.push((id, bytes.len()));
        Ok(())
    })
    .expect("parts");
    let files: Vec<(u32, usize)> = kept.iter().copied().filter(|(id, _)| *id > 3).collect();
    assert_eq!(files, [(4, 11), (5, 7), (6, 10)]);
    assert_eq!(kept.len(), 6);
    assert_eq!(mail.preview, "see attached\n\nand this");
}

#[test]
fn a_multipart_without_boundary_serves_the_size_it_lists_as_it_always_did() {
    // Latin-1 text in a multipart with no boundary: what part_bytes served
    // for this part id before it became a body part (the bytes as sent) is
    // what it still serves, at the listed size, so a download resumed by
    // range across an upgrade joins up. Bytes that are not UTF-8 cannot be
    // a text body part; they stay an attachment and the text is previewed.
    let head = "From: a@ex.org\r\nSubject: no boundary\r\nMIME-Version: 1.0\r\n\
                Content-Type: multipart/mixed; charset=iso-8859-1\r\n\r\n";
    let body = b"Gr\xfc\xdfe aus M\xfcnchen\r\n";
    let raw = [head.as_bytes(), body].concat();
    let mail = mail_item_from_message(&raw, &MailItemOptions::default()).expect("converts");
    assert!(mail.body_parts.is_empty(), "{:?}", mail.body_parts);
    let [part] = &mail.attachments[..] else {
        panic!("one attachment: {:?}", mail.attachments);
    };
    assert_eq!(part.content_type, "application/octet-stream");
    let bytes = part_bytes(&raw, part.part_id).expect("bytes");
    assert_eq!(bytes, body);
    assert_eq!(part.size, bytes.len() as u64);
    assert_eq!(mail.preview, "Grüße aus München");
    let mut kept = Vec::new();
    for_each_part(&raw, |id, bytes| {
        kept.push((id, bytes.to_vec()));
        Ok(())
    })
    .expect("parts");
    assert_eq!(kept, [(part.part_id, body.to_vec())]);
}

#[test]
fn a_multipart_whose_boundary_is_missing_previews_without_pasted_files() {
    // The boundary is declared but never found: the body is read as text,
    // the block in it is an attachment, and so not in the preview.
    let raw = format!(
        "From: a@ex.org\nSubject: lost boundary\nMIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"nowhere\"\n\n\
         see attached\n\n{FIRST}\nregards\n"
    );
    let mail = item(&raw);
    let body: Vec<u32> = mail.body_parts.iter().map(|p| p.part_id).collect();
    assert_eq!(body, [0]);
    let files: Vec<(u32, &str)> = mail
        .attachments
        .iter()
        .map(|a| (a.part_id, a.filename.as_str()))
        .collect();
    assert_eq!(files, [(1, "first.txt")]);
    assert_eq!(mail.preview, "see attached\n\nregards");
    let text = part_bytes(raw.as_bytes(), 0).expect("bytes");
    assert_eq!(mail.body_parts[0].size, text.len() as u64);
}

#[test]
fn a_text_attachment_is_served_as_the_file_sent() {
    // A spreadsheet export in Windows-1252: the user gets the file back
    // byte for byte (converted to UTF-8 it would no longer be the file,
    // and without a charset its bytes were replaced), and the listing
    // names the charset for a device that shows it. The body part stays
    // UTF-8 text, as the device shows it.
    let csv: &[u8] = b"Name;Stra\xdfe;Betrag\r\nM\xfcller;Hauptstra\xdfe 1;12 \x80\r\n";
    let html: &[u8] = b"<p>Gr\xfc\xdfe</p>";
    let raw = [
        &b"From: Alice <alice@ex.org>\r\nSubject: export\r\nMIME-Version: 1.0\r\n\
           Content-Type: multipart/mixed; boundary=b\r\n\r\n\
           --b\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\
           Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe\r\n\
           --b\r\nContent-Type: text/csv; charset=Windows-1252\r\n\
           Content-Disposition: attachment; filename=\"a.csv\"\r\n\
           Content-Transfer-Encoding: base64\r\n\r\n\
           TmFtZTtTdHJh32U7QmV0cmFnDQpN/GxsZXI7\r\nSGF1cHRzdHJh32UgMTsxMiCADQo=\r\n\
           --b\r\nContent-Type: text/csv\r\n\
           Content-Disposition: attachment; filename=\"b.csv\"\r\n\
           Content-Transfer-Encoding: quoted-printable\r\n\r\n\
           Name;Stra=DFe;Betrag\r\nM=FCller;Hauptstra=DFe 1;12 =80\r\n\r\n\
           --b\r\nContent-Type: text/html; charset=iso-8859-1\r\n\
           Content-Disposition: attachment; filename=\"c.html\"\r\n\
           Content-Transfer-Encoding: 8bit\r\n\r\n"[..],
        html,
        b"\r\n--b--\r\n",
    ]
    .concat();
    let mail = mail_item_from_message(&raw, &MailItemOptions::default()).expect("converts");
    let [body] = &mail.body_parts[..] else {
        panic!("one body part: {:?}", mail.body_parts);
    };
    assert_eq!(
        part_bytes(&raw, body.part_id).expect("body"),
        "Grüße".as_bytes()
    );
    assert_eq!(body.size, "Grüße".len() as u64);
    let files: Vec<(&str, &str, &str)> = mail
        .attachments
        .iter()
        .map(|a| {
            (
                a.filename.as_str(),
                a.content_type.as_str(),
                a.charset.as_str(),
            )
        })
        .collect();
    assert_eq!(
        files,
        [
            ("a.csv", "text/csv", "windows-1252"),
            ("b.csv", "text/csv", ""),
            ("c.html", "text/html", "iso-8859-1"),
        ]
    );
    let mut stored = std::collections::BTreeMap::new();
    for_each_part(&raw, |id, bytes| {
        stored.insert(id, bytes.to_vec());
        Ok(())
    })
    .expect("parts");
    for (attachment, sent) in mail.attachments.iter().zip([csv, csv, html]) {
        let fetched = part_bytes(&raw, attachment.part_id).expect("file");
        assert_eq!(fetched, sent, "{}", attachment.filename);
        assert_eq!(
            attachment.size,
            sent.len() as u64,
            "{}",
            attachment.filename
        );
        assert_eq!(stored[&attachment.part_id], sent, "{}", attachment.filename);
    }
}

#[test]
fn a_date_without_seconds_is_read() {
    // RFC 5322 §3.3 makes seconds optional; mail-parser read such a date
    // only before a numeric zone, so these sorted as 1970.
    for (date, offset) in [
        ("Sat, 5 Dec 2026 12:30 GMT", 0),
        ("5 Dec 2026 12:30 GMT", 0),
        ("Sat, 5 Dec 2026 13:30 +0100", 60),
        ("Sat, 5 Dec 2026 07:30 EST", -300),
        ("Sat, 5 Dec 2026 12:30:00 GMT", 0),
    ] {
        let raw = format!("From: a@ex.org\r\nDate: {date}\r\nSubject: s\r\n\r\nbody\r\n");
        let headers = item(&raw).headers.expect("headers");
        assert_eq!(headers.date, 1_796_473_800, "{date}");
        assert_eq!(headers.date_offset_minutes, offset, "{date}");
    }
    let seconds = item("From: a@ex.org\r\nDate: Sat, 5 Dec 2026 12:30:45 GMT\r\n\r\nb\r\n");
    assert_eq!(seconds.headers.expect("headers").date, 1_796_473_845);
}

/// A mail of messages each attached inside the last overflowed the stack
/// (30,000 deep in 1 MB) and aborted the server: it is refused as data,
/// folded header or not, while a few nested forwards still convert.
#[test]
fn a_mail_nesting_thousands_of_messages_is_refused_not_a_crash() {
    let nested = |depth: usize, folded: bool| {
        let mut raw = String::from("From: a@example.org\r\nSubject: nest\r\n");
        for _ in 0..depth {
            raw.push_str(match folded {
                false => "Content-Type: message/rfc822\r\n\r\n",
                true => "Content-Type:\r\n message/rfc822\r\n\r\n",
            });
        }
        raw.push_str("From: b@example.org\r\nSubject: inner\r\n\r\nInnermost.\r\n");
        raw.into_bytes()
    };
    for folded in [false, true] {
        let err = mail_item_from_message(&nested(30_000, folded), &MailItemOptions::default())
            .expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::InvalidData);
    }
    // The same nest attached base64-encoded, which the parser decodes and
    // parses: counted inside too.
    let inner = nested(30_000, false);
    let encoded = base64(&inner);
    let outer = format!(
        "From: c@example.org\r\nSubject: outer\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n\
--b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n{encoded}\r\n--b--\r\n"
    );
    let err =
        mail_item_from_message(outer.as_bytes(), &MailItemOptions::default()).expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    let item = mail_item_from_message(&nested(3, false), &MailItemOptions::default())
        .expect("three forwards deep converts");
    assert_eq!(item.headers.expect("headers").subject, "nest");
}

/// Found by an outside review: attached messages encoded in ways the
/// first guard did not decode still nested unseen and overflowed the
/// stack. The transfer encoding is now read wherever the block names it,
/// folded or as an encoded word, and decoded leniently, as the parser does.
#[test]
fn an_encoded_nest_is_refused_however_its_encoding_is_written() {
    let mut inner = String::from("From: a@example.org\r\n");
    inner.push_str(&"Content-Type: message/rfc822\r\n\r\n".repeat(30_000));
    inner.push_str("x: y\r\n\r\nbody\r\n");
    let b64 = base64(inner.as_bytes());
    let head = "From: c@example.org\r\nSubject: outer\r\nMIME-Version: 1.0\r\n";
    let shapes = [
        format!(
            "{head}Content-Transfer-Encoding: base64\r\nContent-Type: message/rfc822\r\n\r\n{b64}"
        ),
        format!(
            "{head}Content-Type: message/rfc822\r\nContent-Transfer-Encoding:\r\n base64\r\n\r\n{b64}"
        ),
        format!(
            "{head}Content-Type: message/rfc822\r\nContent-Transfer-Encoding: =?us-ascii?q?base64?=\r\n\r\n{b64}"
        ),
        format!(
            "{head}Content-Type: message/rfc822\r\nContent-Transfer-Encoding\x0c: base64\r\n\r\n{b64}"
        ),
        format!(
            "{head}Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n-\r\n{b64}"
        ),
        format!(
            "{head}Content-Type: multipart/digest; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b--\r\n"
        ),
    ];
    for raw in shapes {
        let err = mail_item_from_message(raw.as_bytes(), &MailItemOptions::default())
            .expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::InvalidData);
    }
}

/// Standard base64 with padding, in 76-character lines.
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (n, chunk) in data.chunks(3).enumerate() {
        if n > 0 && n % 19 == 0 {
            out.push_str("\r\n");
        }
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let word = byte(0) << 16 | byte(1) << 8 | byte(2);
        for i in 0..4 {
            out.push(match i <= chunk.len() {
                true => char::from(ALPHABET[((word >> (18 - 6 * i)) & 63) as usize]),
                false => '=',
            });
        }
    }
    out
}

/// A filename cut into 200,000 RFC 2231 sections made the parser copy it
/// once per section (4 MB: 11 s under the store's write lock): such a mail
/// is refused as data at once, while a long name in a few dozen sections,
/// encoded ones included, still reads whole.
#[test]
fn a_filename_cut_into_thousands_of_sections_is_refused_and_a_few_are_joined() {
    let sectioned = |sections: usize, separator: &str| {
        let mut raw = String::from(
            "From: a@ex.org\r\nSubject: files\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nhi\r\n\
--B\r\nContent - Disposition : attachment;",
        );
        raw.push_str(&format!("{separator}filename*0*=utf-8''%C3%84;"));
        for n in 1..sections {
            raw.push_str(&format!("{separator}filename*{n}=-part{n:05};"));
        }
        raw.push_str("\r\nContent-Type: application/pdf\r\n\r\nJVBERi0=\r\n--B--\r\n");
        raw.into_bytes()
    };
    let item = mail_item_from_message(&sectioned(30, "\r\n "), &MailItemOptions::default())
        .expect("a few sections convert");
    let expected: String = std::iter::once("Ä".to_owned())
        .chain((1..30).map(|n| format!("-part{n:05}")))
        .collect();
    assert_eq!(item.attachments[0].filename, expected);
    for separator in ["\r\n ", " "] {
        let err =
            mail_item_from_message(&sectioned(200_000, separator), &MailItemOptions::default())
                .expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::InvalidData);
    }
}

/// Every part `raw` lists, fetched one by one and walked once, as
/// `(filename, listed size, fetched bytes, stored bytes)`.
fn served_files(raw: &[u8]) -> Vec<(String, u64, Vec<u8>, Vec<u8>)> {
    let mail = mail_item_from_message(raw, &MailItemOptions::default()).expect("converts");
    let mut stored = std::collections::BTreeMap::new();
    for_each_part(raw, |id, bytes| {
        stored.insert(id, bytes.to_vec());
        Ok(())
    })
    .expect("parts");
    mail.attachments
        .iter()
        .map(|a| {
            let fetched = part_bytes(raw, a.part_id).expect("file");
            let kept = stored.remove(&a.part_id).unwrap_or_default();
            (a.filename.clone(), a.size, fetched, kept)
        })
        .collect()
}

/// Base64 whose last group lost its `=` padding (two or three characters
/// left) still decodes to every byte, as Python and Thunderbird read it:
/// a binary file and a text file alike.
#[test]
fn base64_without_its_final_padding_keeps_its_last_bytes() {
    for file in [&b"hello, world!"[..], b"hello, world!!"] {
        let unpadded = base64(file).trim_end_matches('=').to_owned();
        let raw = format!(
            "From: a@ex.org\r\nSubject: nopad\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=bb\r\n\r\n\
             --bb\r\nContent-Type: text/plain\r\n\r\nhi\r\n\
             --bb\r\nContent-Type: application/octet-stream\r\n\
             Content-Disposition: attachment; filename=x.bin\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{unpadded}\r\n\
             --bb\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Disposition: attachment; filename=x.txt\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{unpadded}\r\n--bb--\r\n"
        );
        for (name, size, fetched, stored) in served_files(raw.as_bytes()) {
            assert_eq!(fetched, file, "{name}");
            assert_eq!(stored, file, "{name}");
            assert_eq!(size, file.len() as u64, "{name}");
        }
    }
}

/// A multipart whose closing boundary never comes (a truncating gateway,
/// Outlook) still has its last attachment decoded from its transfer
/// encoding, as Python and Thunderbird read it, not served as encoded text.
#[test]
fn an_attachment_after_which_the_closing_boundary_never_comes_is_decoded() {
    let file: &[u8] = b"\x00\x01\x02 binary \xff\xfe file";
    let encodings = [
        ("base64", base64(file)),
        (
            "quoted-printable",
            "=00=01=02 binary =FF=FE=\r\n file".to_owned(),
        ),
    ];
    for (encoding, body) in encodings {
        let raw = format!(
            "From: a@ex.org\r\nSubject: no close\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=bb\r\n\r\n\
             --bb\r\nContent-Type: text/plain\r\n\r\nhi\r\n\
             --bb\r\nContent-Type: application/octet-stream\r\n\
             Content-Disposition: attachment; filename=x.bin\r\n\
             Content-Transfer-Encoding: {encoding}\r\n\r\n{body}\r\n"
        );
        let served = served_files(raw.as_bytes());
        let [(name, size, fetched, stored)] = &served[..] else {
            panic!("one attachment: {served:?}");
        };
        assert_eq!(name, "x.bin");
        assert_eq!(fetched, file, "{encoding}");
        assert_eq!(stored, file, "{encoding}");
        assert_eq!(*size, file.len() as u64, "{encoding}");
    }
}

/// A plain alternative with no text in it (blank lines only) beside the
/// HTML: the preview is the HTML's text, as for HTML-only mail.
#[test]
fn an_empty_plain_alternative_previews_the_html() {
    let raw = "From: a@ex.org\r\nSubject: empty plain\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/alternative; boundary=ab\r\n\r\n\
        --ab\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n \r\n\t\r\n\
        --ab\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
        <div>Only the HTML has words.</div>\r\n--ab--\r\n";
    assert_eq!(item(raw).preview, "Only the HTML has words.");
    let plain = raw.replace(" \r\n\t\r\n", "Plain words.\r\n");
    assert_eq!(item(&plain).preview, "Plain words.");
}

/// A display name whose character a mailer cut across two encoded words
/// reads whole, as the same words in a Subject do, whatever address
/// syntax is around it.
#[test]
fn a_display_name_cut_inside_a_character_reads_whole() {
    let raw = "From: =?UTF-8?B?ww==?= =?UTF-8?B?hHJnZXI=?= <aerger@example.de>\r\n\
        To: alice@ex.org, =?utf-8?Q?M=C3?=\r\n =?utf-8?Q?=BCller=2C_Hans?= <hans@ex.org>\r\n\
        Subject: =?UTF-8?B?ww==?= =?UTF-8?B?hHJnZXI=?=\r\n\r\nbody\r\n";
    let h = item(raw).headers.expect("headers");
    assert_eq!(h.subject, "Ärger");
    assert_eq!(
        (h.from[0].name.as_str(), h.from[0].email.as_str()),
        ("Ärger", "aerger@example.de")
    );
    let to: Vec<(&str, &str)> =
        h.to.iter()
            .map(|a| (a.name.as_str(), a.email.as_str()))
            .collect();
    assert_eq!(to, [("", "alice@ex.org"), ("Müller, Hans", "hans@ex.org")]);
}

/// An HTML part whose Content-Type names no charset is read in the one
/// its `<meta>` declares (in its first 1024 bytes), as a browser's
/// encoding prescan reads it; a charset in the MIME header still wins.
#[test]
fn an_html_part_without_a_mime_charset_is_read_in_its_meta_charset() {
    let metas = [
        r#"<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">"#,
        "<META charset='Windows-1252' />",
    ];
    for meta in metas {
        let raw = [
            b"From: shop@ex.fr\r\nSubject: Commande\r\nMIME-Version: 1.0\r\n\
              Content-Type: text/html\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
              <html><head>"
                .as_slice(),
            meta.as_bytes(),
            b"</head><body><p>Exp\xe9di\xe9e \x96 49 \x80</p></body></html>\r\n",
        ]
        .concat();
        let mail = mail_item_from_message(&raw, &MailItemOptions::default()).expect("converts");
        assert_eq!(mail.preview, "Expédiée – 49 €", "{meta}");
        let html = part_bytes(&raw, mail.body_parts[0].part_id).expect("html");
        let html = String::from_utf8(html).expect("UTF-8");
        assert!(html.contains("<p>Expédiée – 49 €</p>"), "{html}");
        assert_eq!(mail.body_parts[0].size, html.len() as u64);
    }
    let labelled = "From: shop@ex.fr\r\nMIME-Version: 1.0\r\n\
        Content-Type: text/html; charset=utf-8\r\n\r\n\
        <meta charset=\"windows-1252\"><p>Expédiée</p>\r\n";
    assert_eq!(item(labelled).preview, "Expédiée");
}

/// Flowed text (RFC 3676) was served and previewed as wrapped on the
/// writer's screen, a DelSp break's space left in a word.
#[test]
fn flowed_text_is_served_and_previewed_as_its_paragraphs() {
    let raw = "From: pat@example.net\r\nSubject: flowed\r\n\
        Content-Type: text/plain; charset=us-ascii; format=flowed; delsp=yes\r\n\r\n\
        Supercalifragilistic \r\nwordthatwassplit here, and a  \r\n\
        second line.\r\n\r\n> quoted  \r\n> text\r\n";
    let item = item(raw);
    let body = item.body_parts.first().expect("a body part");
    let served = part_bytes(raw.as_bytes(), body.part_id).expect("served");
    let text =
        "Supercalifragilisticwordthatwassplit here, and a second line.\r\n\r\n> quoted text\r\n";
    assert_eq!(String::from_utf8_lossy(&served), text);
    assert_eq!(body.size, text.len() as u64);
    assert!(
        item.preview
            .starts_with("Supercalifragilisticwordthatwassplit here"),
        "{}",
        item.preview
    );
}

/// The preview of a text body in base64 without its final padding lost
/// its last character (the body itself was served whole).
#[test]
fn a_text_body_without_its_final_padding_previews_whole() {
    let raw = "From: a@example.org\r\nSubject: unpadded\r\nMIME-Version: 1.0\r\n\
        Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n\
        SGVsbG8sIHdvcmxkIQ\r\n";
    let item = item(raw);
    assert_eq!(item.preview, "Hello, world!");
    let body = item.body_parts.first().expect("a body part");
    let served = part_bytes(raw.as_bytes(), body.part_id).expect("served");
    assert_eq!(served.as_slice(), b"Hello, world!");
}
