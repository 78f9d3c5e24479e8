//! Every message of CPython's email test data becomes a MailItem, and facts
//! read off a few of them hold.
//!
//! The files are found through python3 at run time (its `test` package).

mod items;

use std::path::{Path, PathBuf};

use tidings::ErrorKind;
use tidings::proto::{MailHeaders, MailItem};
use tidings::sync::mail::{MailItemOptions, mail_item_from_message, part_bytes};

const HINT: &str = "CPython's test data is missing: install python3 with its `test` \
    package (Debian: libpython3-stdlib / python3-dev; pyenv builds include it)";

fn data_dir() -> PathBuf {
    items::python_dir(
        "__import__('os').path.join(__import__('os').path.dirname(__import__('test.test_email', fromlist=['x']).__file__), 'data')",
        HINT,
    )
}

fn convert(dir: &Path, name: &str) -> (Vec<u8>, MailItem) {
    let raw = std::fs::read(dir.join(name)).expect("readable message");
    let item = mail_item_from_message(&raw, &MailItemOptions::default()).expect(name);
    (raw, item)
}

fn headers(item: &MailItem) -> &MailHeaders {
    item.headers.as_ref().expect("headers are always set")
}

#[test]
fn every_cpython_test_message_converts() {
    let dir = data_dir();
    let files: Vec<PathBuf> = items::files_with_suffix(&dir, ".txt")
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("msg_"))
        })
        .collect();
    assert!(files.len() >= 40, "{HINT}\nonly {} messages", files.len());
    for path in &files {
        let raw = std::fs::read(path).expect("readable message");
        let options = MailItemOptions {
            id: 9,
            folder_id: 4,
            preview_bytes: 100,
        };
        // msg_19 is a bare digest body: no header field at all, so not a
        // message; it is refused by name rather than stored as an empty mail.
        if path.file_name().is_some_and(|n| n == "msg_19.txt") {
            let refused = mail_item_from_message(&raw, &options).map(|_| ());
            assert_eq!(refused.map_err(|e| e.kind()), Err(ErrorKind::InvalidData));
            continue;
        }
        let item = mail_item_from_message(&raw, &options)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!((item.id, item.folder_id), (9, 4));
        assert_eq!(item.size, raw.len() as u64);
        assert!(item.preview.len() <= 100);
        // Every listed part can be fetched, and its length is the listed size.
        let sizes = item.body_parts.iter().map(|p| (p.part_id, p.size));
        let sizes = sizes.chain(item.attachments.iter().map(|a| (a.part_id, a.size)));
        for (part_id, size) in sizes {
            let bytes = part_bytes(&raw, part_id).expect("listed part");
            assert_eq!(
                bytes.len() as u64,
                size,
                "{} part {part_id}",
                path.display()
            );
        }
        let unknown = part_bytes(&raw, u32::MAX).map_err(|e| e.kind());
        assert_eq!(unknown, Err(ErrorKind::NotFound));
    }
    println!("{} CPython messages converted", files.len());
}

#[test]
fn simple_message_headers() {
    let (_, item) = convert(&data_dir(), "msg_01.txt");
    let h = headers(&item);
    assert_eq!(h.subject, "This is a test message");
    assert_eq!(h.from[0].name, "John X. Doe");
    assert_eq!(h.from[0].email, "bbb@ddd.com");
    assert_eq!(h.to[0].email, "bbb@zzz.org");
    assert_eq!(h.message_id, "15090.61304.110929.45684@aaa.zzz.org");
    // Fri, 4 May 2001 14:05:44 -0400
    assert_eq!(h.date, 988_999_544);
    assert_eq!(h.date_offset_minutes, -240);
    assert_eq!(item.preview, "Hi,\n\nDo you like this message?\n\n-Me");
    assert!(!item.preview_truncated);
}

#[test]
fn multipart_lists_its_attachment_with_decoded_bytes() {
    let dir = data_dir();
    let (raw, item) = convert(&dir, "msg_07.txt");
    assert_eq!(item.preview, "Hi there,\n\nThis is the dingus fish.");
    let [gif] = item.attachments.as_slice() else {
        panic!("one attachment: {:?}", item.attachments)
    };
    assert_eq!(gif.filename, "dingusfish.gif");
    assert_eq!(gif.content_type, "image/gif");
    // The size CPython's own decoder reports for this part.
    assert_eq!(gif.size, 3512);
    assert!(
        part_bytes(&raw, gif.part_id)
            .unwrap()
            .starts_with(b"GIF87a")
    );
    // The multipart container is no part a device can fetch.
    assert_eq!(
        part_bytes(&raw, 0).map_err(|e| e.kind()),
        Err(ErrorKind::NotFound)
    );
}

#[test]
fn transfer_encodings_and_charsets_are_decoded_into_the_preview() {
    let (_, item) = convert(&data_dir(), "msg_10.txt");
    assert!(item.preview.starts_with("This is a 7bit encoded message."));
    // Quoted-printable in ISO-8859-1 (=A1) and base64 parts.
    assert!(
        item.preview
            .contains("¡This is a Quoted Printable encoded message!")
    );
    assert!(item.preview.contains("This is a Base64 encoded message."));
    let types: Vec<&str> = item
        .body_parts
        .iter()
        .map(|p| p.content_type.as_str())
        .collect();
    assert!(types.contains(&"text/html"), "{types:?}");
}

#[test]
fn digest_messages_carry_nested_headers() {
    let (raw, item) = convert(&data_dir(), "msg_02.txt");
    let nested: Vec<&MailHeaders> = item
        .attachments
        .iter()
        .filter(|a| a.content_type == "message/rfc822")
        .filter_map(|a| a.nested_headers.as_ref())
        .collect();
    assert_eq!(nested.len(), 5);
    assert_eq!(nested[0].subject, "[Ppp] testing #1");
    assert_eq!(nested[4].subject, "[Ppp] testing #5");
    // Each attached message is its own bytes, not the whole digest.
    let first = &item.attachments[0];
    let bytes = part_bytes(&raw, first.part_id).unwrap();
    assert!(bytes.len() < raw.len() / 4);
    assert!(String::from_utf8_lossy(&bytes).contains("Subject: [Ppp] testing #1"));
}

#[test]
fn bounce_keeps_the_returned_message_headers() {
    let (_, item) = convert(&data_dir(), "msg_16.txt");
    assert_eq!(
        headers(&item).subject,
        "Delivery Notification: Delivery has failed"
    );
    let returned = item
        .attachments
        .iter()
        .find_map(|a| a.nested_headers.as_ref())
        .expect("an attached message");
    assert_eq!(returned.subject, "[scr] yeah for Ians!!");
    let types: Vec<&str> = item
        .attachments
        .iter()
        .map(|a| a.content_type.as_str())
        .collect();
    assert_eq!(types, ["message/delivery-status", "message/rfc822"]);
}

#[test]
fn repeated_to_headers_are_all_kept() {
    let (_, item) = convert(&data_dir(), "msg_25.txt");
    let to: Vec<&str> = headers(&item).to.iter().map(|a| a.email.as_str()).collect();
    assert_eq!(
        to,
        [
            "linuxuser-admin@www.linux.org.uk",
            "postmaster@zinfandel.lacita.com"
        ]
    );
    // Date: Fri, 6 Apr 2001 09:23:06 -0800 (GMT-0800)
    assert_eq!(headers(&item).date_offset_minutes, -480);
}
