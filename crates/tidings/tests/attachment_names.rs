//! Attachment file names as real mailers write them (Outlook, Gmail, Apple
//! Mail, Thunderbird, older European mailers) are read as the person named
//! the file: RFC 2231 continuations, charsets and languages, and RFC 2047
//! encoded words inside quoted parameters.

use tidings::sync::mail::{MailItemOptions, mail_item_from_message};

/// The file name read from a message whose one attachment has `headers`.
fn name_of(headers: &str) -> String {
    name_of_bytes(headers.as_bytes())
}

/// [`name_of`] for headers that are not UTF-8.
fn name_of_bytes(headers: &[u8]) -> String {
    let mut raw = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: files\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b1\r\n"
        .to_vec();
    raw.extend_from_slice(headers);
    raw.extend_from_slice(b"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b1--\r\n");
    let item = mail_item_from_message(&raw, &MailItemOptions::default()).expect("parses");
    let shown = String::from_utf8_lossy(headers);
    assert_eq!(item.attachments.len(), 1, "{shown}");
    item.attachments[0].filename.clone()
}

/// Eudora and other mailers before RFC 2231 wrote a name in raw Latin-1:
/// each 8-bit byte became U+FFFD, while the same message's raw 8-bit
/// subject was read right. Read as header fields are.
#[test]
fn a_raw_8bit_name_is_read_in_the_charset_that_fits() {
    let name = name_of_bytes(
        b"Content-Type: text/plain; name=\"HasenundFr\xf6sche.txt\"\r\n\
          Content-Disposition: attachment; filename=\"HasenundFr\xf6sche.txt\"",
    );
    assert_eq!(name, "HasenundFrösche.txt");
    assert_eq!(
        name_of("Content-Disposition: attachment; filename=\"Frösche.txt\""),
        "Frösche.txt",
        "a UTF-8 name stays as it is"
    );
}

#[test]
fn outlook_encoded_words_in_quotes() {
    // Outlook 365: B-encoded words, split over folded lines inside quotes.
    let name = name_of(
        "Content-Type: application/pdf;\r\n\tname=\"=?utf-8?B?UmVjaG51bmcgTcOkcnogMjAy?=\r\n =?utf-8?B?Ni5wZGY=?=\"\r\n\
         Content-Disposition: attachment;\r\n\tfilename=\"=?utf-8?B?UmVjaG51bmcgTcOkcnogMjAy?=\r\n =?utf-8?B?Ni5wZGY=?=\";\r\n\
         \tsize=3; creation-date=\"Tue, 03 Mar 2026 09:12:01 GMT\";\r\n\tmodification-date=\"Tue, 03 Mar 2026 09:12:01 GMT\"",
    );
    assert_eq!(name, "Rechnung März 2026.pdf");
}

#[test]
fn gmail_encoded_word_name() {
    let name = name_of(
        "Content-Type: image/jpeg; name=\"=?UTF-8?B?5YaZ55yfLmpwZw==?=\"\r\n\
         Content-Disposition: attachment; filename=\"=?UTF-8?B?5YaZ55yfLmpwZw==?=\"\r\n\
         X-Attachment-Id: f_m1a2b3c40",
    );
    assert_eq!(name, "写真.jpg");
}

#[test]
fn apple_mail_rfc2231_continuations() {
    let name = name_of(
        "Content-Disposition: attachment;\r\n\tfilename*0*=utf-8''Gr%C3%BC%C3%9Fe%20aus%20der%20Stra%C3%9Fe%20mit%20e;\r\n\
         \tfilename*1*=inem%20sehr%20langen%20Namen.pdf\r\n\
         Content-Type: application/pdf;\r\n\tx-unix-mode=0644;\r\n\tname=\"=?utf-8?Q?Gr=C3=BC=C3=9Fe_aus_der_Stra=C3=9Fe_mit_einem_sehr_langen_Namen=2Epdf?=\"",
    );
    assert_eq!(name, "Grüße aus der Straße mit einem sehr langen Namen.pdf");
}

#[test]
fn thunderbird_continuations_with_a_plain_tail() {
    // RFC 2231 §4.1: a section without `*` is not percent-decoded.
    let name = name_of(
        "Content-Type: text/plain; charset=UTF-8;\r\n name=\"=?UTF-8?Q?=C3=89t=C3=A9_2026_notes=2Etxt?=\"\r\n\
         Content-Disposition: attachment;\r\n filename*0*=UTF-8''%C3%89t%C3%A9%20;\r\n filename*1=\"2026 notes.txt\"",
    );
    assert_eq!(name, "Été 2026 notes.txt");
}

#[test]
fn rfc2231_charset_and_language() {
    let name = name_of(
        "Content-Type: text/plain; name*=iso-8859-1'de'Gr%FC%DFe.txt\r\n\
         Content-Disposition: attachment; filename*=iso-8859-1'de'Gr%FC%DFe.txt",
    );
    assert_eq!(name, "Grüße.txt");
}

#[test]
fn rfc2231_windows_1252_without_language() {
    let name =
        name_of("Content-Disposition: attachment; filename*=windows-1252''%80%20Preise.xlsx");
    assert_eq!(name, "€ Preise.xlsx");
}

#[test]
fn continuations_out_of_order() {
    // RFC 2231 §3: sections may appear in any order.
    let name =
        name_of("Content-Disposition: attachment; filename*1*=%C3%A9.txt; filename*0*=UTF-8''caf");
    assert_eq!(name, "café.txt");
}

#[test]
fn encoded_word_split_inside_a_character() {
    // Some mailers cut B-encoded names at a byte count, splitting a UTF-8
    // character ("é" is C3 A9) between two words on one line.
    let name = name_of(
        "Content-Disposition: attachment;\r\n filename=\"=?UTF-8?B?Y2Fmw6nD?= =?UTF-8?B?qS5wZGY=?=\"",
    );
    assert_eq!(name, "caféé.pdf");
}

#[test]
fn adjacent_encoded_words_join_without_their_space() {
    // RFC 2047 §6.2: white space between encoded words is not text.
    let name = name_of(
        "Content-Type: application/pdf; name=\"=?utf-8?Q?Jahres?= =?utf-8?Q?bericht.pdf?=\"",
    );
    assert_eq!(name, "Jahresbericht.pdf");
}

#[test]
fn unquoted_encoded_word_name() {
    // Older Exchange and Lotus Notes: the encoded word not quoted.
    let name = name_of(
        "Content-Type: application/msword; name==?iso-8859-1?Q?B=FCro.doc?=\r\n\
         Content-Disposition: attachment; filename==?iso-8859-1?Q?B=FCro.doc?=",
    );
    assert_eq!(name, "Büro.doc");
}

#[test]
fn content_type_name_only() {
    let name = name_of(
        "Content-Type: application/vnd.ms-excel; name=\"=?windows-1252?Q?=DCbersicht_Q1.xls?=\"",
    );
    assert_eq!(name, "Übersicht Q1.xls");
}

#[test]
fn an_rfc2231_name_wins_over_its_ascii_fallback() {
    // Mutt and some webmailers write both (as RFC 6266 does for HTTP).
    let name = name_of(
        "Content-Disposition: attachment; filename=\"Gruesse.txt\";\r\n filename*=UTF-8''Gr%C3%BC%C3%9Fe.txt",
    );
    assert_eq!(name, "Grüße.txt");
}
