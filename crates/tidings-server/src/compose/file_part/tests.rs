use super::{Body, file_part, parameter};
use mail_builder::MessageBuilder;
use mail_builder::mime::{BodyPart, MimePart};
use tidings::sync::mail::{MailItemOptions, mail_item_from_message, part_bytes};

/// A message with one text part and `files`, as written, and as read back.
fn written(files: Vec<MimePart<'static>>) -> (String, tidings::proto::MailItem) {
    let mut parts = vec![MimePart::new("text/plain", BodyPart::Text("hi".into()))];
    parts.extend(files);
    let raw = MessageBuilder::new()
        .from("a@example.org")
        .to("b@example.org")
        .subject("files")
        .body(MimePart::new("multipart/mixed", parts))
        .write_to_vec()
        .expect("written");
    let item = mail_item_from_message(&raw, &MailItemOptions::default()).expect("parses");
    (String::from_utf8(raw).expect("ASCII"), item)
}

#[test]
fn an_ascii_name_stays_a_plain_quoted_parameter() {
    assert_eq!(
        parameter("filename", "minutes.pdf"),
        ["filename=\"minutes.pdf\""]
    );
    assert_eq!(
        parameter("name", "a \"b\".txt"),
        ["name=\"a \\\"b\\\".txt\""]
    );
}

#[test]
fn a_short_non_ascii_name_is_one_rfc2231_parameter() {
    assert_eq!(
        parameter("filename", "Grüße 2026.pdf"),
        ["filename*=UTF-8''Gr%C3%BC%C3%9Fe%202026.pdf"]
    );
}

#[test]
fn a_long_non_ascii_name_goes_in_sections_of_whole_characters() {
    let name = "Протокол заседания городского совета от 3 марта 2026 года.pdf";
    let sections = parameter("filename", name);
    assert!(sections.len() > 2, "{sections:?}");
    assert!(
        sections[0].starts_with("filename*0*=UTF-8''%D0%9F"),
        "{sections:?}"
    );
    for (n, section) in sections.iter().enumerate() {
        assert!(section.starts_with(&format!("filename*{n}*=")), "{section}");
        assert!(section.len() + 2 <= 78, "{section}");
    }
    // Each section decodes on its own: no character is cut.
    for section in &sections[1..] {
        let text = section.split_once('=').expect("value").1;
        let bytes: Vec<u8> = text
            .split('%')
            .skip(1)
            .map(|h| u8::from_str_radix(&h[..2], 16).expect("hex"))
            .collect();
        assert!(std::str::from_utf8(&bytes).is_ok(), "{section}");
    }
}

#[test]
fn names_are_written_in_rfc2231_and_read_back() {
    let long = "Протокол заседания городского совета от 3 марта 2026 года.pdf";
    let ascii_long = format!("{}.txt", "quarterly-report-".repeat(40));
    let names = [
        "notes.txt",
        "Grüße aus Köln.txt",
        long,
        "写真 2026.jpg",
        &ascii_long,
    ];
    let files = names
        .iter()
        .map(|n| {
            file_part(
                "text/plain",
                &[("charset", "utf-8")],
                n,
                "Grüße\n".as_bytes(),
                Body::Encoded,
            )
        })
        .collect();
    let (raw, item) = written(files);
    assert!(!raw.contains("=?"), "no encoded words: {raw}");
    assert!(raw.contains("filename=\"notes.txt\""), "{raw}");
    assert!(
        raw.contains("name*=UTF-8''Gr%C3%BC%C3%9Fe%20aus%20K%C3%B6ln.txt"),
        "{raw}"
    );
    assert!(raw.contains("filename*1*="), "{raw}");
    assert!(raw.lines().all(|l| l.len() <= 998), "{raw}");
    let read: Vec<&str> = item
        .attachments
        .iter()
        .map(|a| a.filename.as_str())
        .collect();
    assert_eq!(read, names);
    for attachment in &item.attachments {
        assert_eq!(attachment.content_type, "text/plain");
        let bytes = part_bytes(raw.as_bytes(), attachment.part_id).expect("bytes");
        assert_eq!(bytes, "Grüße\n".as_bytes(), "bytes kept");
    }
}

#[test]
fn a_binary_file_is_base64_and_a_message_goes_as_it_is() {
    let data: Vec<u8> = (0..=255).collect();
    let message = b"From: a@example.org\r\nSubject: x\r\n\r\nbody\r\n";
    let (raw, item) = written(vec![
        file_part("application/pdf", &[], "Bericht.pdf", &data, Body::Encoded),
        file_part(
            "message/rfc822",
            &[],
            "Über.eml",
            message,
            Body::AsIs("7bit"),
        ),
    ]);
    assert!(raw.contains("Content-Transfer-Encoding: base64"), "{raw}");
    assert!(
        raw.contains("Content-Transfer-Encoding: 7bit\r\n\r\nFrom: a@"),
        "{raw}"
    );
    let file = &item.attachments[0];
    assert_eq!(
        part_bytes(raw.as_bytes(), file.part_id).expect("bytes"),
        data
    );
    assert_eq!(item.attachments[1].filename, "Über.eml");
    assert_eq!(item.attachments[1].content_type, "message/rfc822");
}
