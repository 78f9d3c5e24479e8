//! Mail in the charsets people write it in: subject, sender and preview
//! come out as the text that was written.

use super::{MailItemOptions, mail_item_from_message};

/// (charset, subject, sender, body): encoded words for the headers, the
/// body in the charset itself, as Japanese, Chinese and Korean mailers send.
const CJK: [(&str, &str, &str, &str, &[u8]); 7] = [
    (
        "iso-2022-jp",
        "=?iso-2022-jp?B?GyRCMnE1RCRONUQ7dk8/GyhC?=",
        "=?iso-2022-jp?B?GyRCOzNFREJATzobKEI=?=",
        "会議の議事録|山田太郎|来週の会議について連絡します。",
        b"\x1b$BMh=5$N2q5D$K$D$$$FO\"Mm$7$^$9!#\x1b(B",
    ),
    (
        "shift_jis",
        "=?shift_jis?B?ie+LY4LMi2OOlphe?=",
        "=?shift_jis?B?jlKTY5G+mFk=?=",
        "会議の議事録|山田太郎|来週の会議について連絡します。",
        b"\x97\x88\x8fT\x82\xcc\x89\xef\x8bc\x82\xc9\x82\xc2\x82\xa2\x82\xc4\x98A\x97\x8d\x82\xb5\x82\xdc\x82\xb7\x81B",
    ),
    (
        "euc-jp",
        "=?euc-jp?B?svG1xKTOtcS79s+/?=",
        "=?euc-jp?B?u7PFxMLAz7o=?=",
        "会議の議事録|山田太郎|来週の会議について連絡します。",
        b"\xcd\xe8\xbd\xb5\xa4\xce\xb2\xf1\xb5\xc4\xa4\xcb\xa4\xc4\xa4\xa4\xa4\xc6\xcf\xa2\xcd\xed\xa4\xb7\xa4\xde\xa4\xb9\xa1\xa3",
    ),
    (
        "big5",
        "=?big5?B?t3zEs7BPv/0=?=",
        "=?big5?B?pP2kcKn6?=",
        "會議記錄|王小明|下週的會議時間已確認。",
        b"\xa4U\xb6g\xaa\xba\xb7|\xc4\xb3\xae\xc9\xb6\xa1\xa4w\xbdT\xbb{\xa1C",
    ),
    (
        "euc-kr",
        "=?euc-kr?B?yLjAx7fP?=",
        "=?euc-kr?B?sejDtrz2?=",
        "회의록|김철수|다음 주 회의 일정을 알려드립니다.",
        b"\xb4\xd9\xc0\xbd \xc1\xd6 \xc8\xb8\xc0\xc7 \xc0\xcf\xc1\xa4\xc0\xbb \xbe\xcb\xb7\xc1\xb5\xe5\xb8\xb3\xb4\xcf\xb4\xd9.",
    ),
    (
        "gb2312",
        "=?gb2312?B?u+HS6bzN0qo=?=",
        "=?gb2312?B?1cXOsA==?=",
        "会议纪要|张伟|下周的会议时间已经确定。",
        b"\xcf\xc2\xd6\xdc\xb5\xc4\xbb\xe1\xd2\xe9\xca\xb1\xbc\xe4\xd2\xd1\xbe\xad\xc8\xb7\xb6\xa8\xa1\xa3",
    ),
    (
        "gbk",
        "=?gbk?B?u+HS6bzN0qo=?=",
        "=?gbk?B?1cXOsA==?=",
        "会议纪要|张伟|下周的会议时间已经确定。",
        b"\xcf\xc2\xd6\xdc\xb5\xc4\xbb\xe1\xd2\xe9\xca\xb1\xbc\xe4\xd2\xd1\xbe\xad\xc8\xb7\xb6\xa8\xa1\xa3",
    ),
];

fn message(headers: &[u8], charset: &str, body: &[u8]) -> Vec<u8> {
    let mut raw = headers.to_vec();
    raw.extend_from_slice(
        format!("MIME-Version: 1.0\r\nContent-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n").as_bytes(),
    );
    raw.extend_from_slice(body);
    raw.extend_from_slice(b"\r\n");
    raw
}

/// (subject, sender name, preview) of a message.
fn read(raw: &[u8]) -> (String, String, String) {
    let item = mail_item_from_message(raw, &MailItemOptions::default()).expect("a message");
    let headers = item.headers.expect("headers");
    let name = headers
        .from
        .first()
        .map(|a| a.name.clone())
        .unwrap_or_default();
    (headers.subject, name, item.preview)
}

#[test]
fn cjk_subjects_senders_and_previews_are_decoded() {
    for (charset, subject, sender, expected, body) in CJK {
        let headers = format!(
            "From: {sender} <sender@example.jp>\r\nTo: mayor@town.example\r\nSubject: {subject}\r\n"
        );
        let raw = message(headers.as_bytes(), charset, body);
        let mut want = expected.split('|');
        let got = read(&raw);
        assert_eq!(got.0, want.next().unwrap_or_default(), "{charset} subject");
        assert_eq!(got.1, want.next().unwrap_or_default(), "{charset} sender");
        assert_eq!(got.2, want.next().unwrap_or_default(), "{charset} preview");
    }
}

#[test]
fn raw_8bit_headers_take_the_declared_charset() {
    // Shift_JIS written straight into the header, as old Japanese mailers do.
    let headers = b"From: \x8eR\x93c\x91\xbe\x98Y <yamada@example.jp>\r\nSubject: \x89\xef\x8bc\x82\xcc\x8bc\x8e\x96\x98^\r\n";
    let raw = message(headers, "shift_jis", b"\x89\xef\x8bc");
    let (subject, sender, _) = read(&raw);
    assert_eq!(subject, "会議の議事録");
    assert_eq!(sender, "山田太郎");
}

#[test]
fn raw_iso_2022_jp_escapes_in_headers_are_decoded() {
    let headers =
        b"From: \x1b$B;3EDB@O:\x1b(B <yamada@example.jp>\r\nSubject: \x1b$B2q5D$N5D;vO?\x1b(B\r\n";
    let raw = message(headers, "iso-2022-jp", b"\x1b$BMh=5\x1b(B");
    let (subject, sender, preview) = read(&raw);
    assert_eq!(subject, "会議の議事録");
    assert_eq!(sender, "山田太郎");
    assert_eq!(preview, "来週");
}

#[test]
fn undeclared_latin1_headers_are_not_replacement_characters() {
    let raw = b"From: Zo\xeb M\xfcller <zoe@example.fr>\r\nSubject: R\xe9union du comit\xe9\r\n\r\nBonjour\r\n";
    let (subject, sender, preview) = read(raw);
    assert_eq!(subject, "Réunion du comité");
    assert_eq!(sender, "Zoë Müller");
    assert_eq!(preview, "Bonjour");
}

/// Outlook 2000 sent Latin-1 bodies with no MIME headers at all, Netscape
/// 4.7 Latin-1 labelled UTF-8: the subject was read right and the body's
/// 8-bit bytes reached the device as U+FFFD. Read as the headers are, in
/// the charset that fits them; a body that is UTF-8 stays as it is, and
/// one naming its charset is read in it.
#[test]
fn an_unlabelled_or_mislabelled_8bit_body_is_not_replacement_characters() {
    let unlabelled = b"From: a@example.de\r\nSubject: Fr\xf6sche\r\n\r\nFr\xf6sche und Kr\xf6ten sind gr\xfcn.\r\n";
    let (subject, _, preview) = read(unlabelled);
    assert_eq!(subject, "Frösche");
    assert_eq!(preview, "Frösche und Kröten sind grün.");
    let mislabelled = message(
        b"From: a@example.de\r\n",
        "UTF-8",
        b"Fr\xf6sche und Kr\xf6ten",
    );
    assert_eq!(read(&mislabelled).2, "Frösche und Kröten");
    let utf8 = message(
        b"From: a@example.de\r\n",
        "UTF-8",
        "Frösche \u{FFFD}".as_bytes(),
    );
    assert_eq!(read(&utf8).2, "Frösche \u{FFFD}", "the sender's own U+FFFD");
    let named = message(b"From: a@example.de\r\n", "iso-8859-2", b"\xb1");
    assert_eq!(read(&named).2, "ą", "the named charset, not a guess");
}

#[test]
fn utf8_headers_are_left_as_they_are() {
    let raw = "From: Jörg <j@example.de>\r\nSubject: Grüße\r\n\r\nHallo\r\n";
    let (subject, sender, _) = read(raw.as_bytes());
    assert_eq!((subject.as_str(), sender.as_str()), ("Grüße", "Jörg"));
}

#[test]
fn raw_8bit_bytes_in_an_encoded_word_are_decoded_once_with_its_charset() {
    // Eudora wrote the Latin-1 byte straight into the Q-encoded word.
    let raw = b"From: Doug <d@example.com>\r\nTo: =?iso-8859-1?Q?J\xfcrgen?= =?iso-8859-1?Q?_Schm\xfcrgen?= <j@example.com>\r\nSubject: =?iso-8859-1?Q?Die_Hasen_und_die_Fr\xf6sche?=\r\nContent-Type: text/plain; charset=\"iso-8859-1\"\r\n\r\nDie\r\n";
    let item = mail_item_from_message(raw, &MailItemOptions::default()).expect("a message");
    let headers = item.headers.expect("headers");
    assert_eq!(headers.subject, "Die Hasen und die Frösche");
    let to = headers.to.first().map(|a| a.name.as_str());
    assert_eq!(to, Some("Jürgen Schmürgen"));
}

#[test]
fn raw_8bit_in_an_encoded_word_next_to_raw_8bit_text_takes_each_charset() {
    // Raw Latin-1 outside the word (the declared charset) and raw bytes of
    // another charset inside a windows-1251 word.
    let raw = b"From: Zo\xeb <z@example.fr>\r\nSubject: =?windows-1251?Q?\xcf\xf0\xe8\xe2\xe5\xf2?= caf\xe9\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nHi\r\n";
    let (subject, sender, _) = read(raw);
    assert_eq!(subject, "Привет café");
    assert_eq!(sender, "Zoë");
}

#[test]
fn a_field_in_another_charset_leaves_the_utf8_fields_as_written() {
    // A raw UTF-8 subject beside a name in raw Latin-1, and the body
    // declared Latin-1: each field is read in what it is.
    let mut headers = "Subject: Grüße aus Köln, 会議\r\n".as_bytes().to_vec();
    headers.extend_from_slice(b"From: Zo\xeb <z@example.fr>\r\n");
    let raw = message(&headers, "iso-8859-1", b"Hallo");
    let (subject, sender, _) = read(&raw);
    assert_eq!(subject, "Grüße aus Köln, 会議");
    assert_eq!(sender, "Zoë");
    // Undeclared, the guess is made from the Latin-1 field alone.
    let mut raw = "Subject: Grüße\r\n X-Folded: ü\r\n".as_bytes().to_vec();
    raw.extend_from_slice(b"From: Andr\xe9 <a@example.fr>\r\n\r\nHallo\r\n");
    let (subject, sender, _) = read(&raw);
    assert_eq!(subject, "Grüße X-Folded: ü");
    assert_eq!(sender, "André");
}
