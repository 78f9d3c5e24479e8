use super::*;

const HEAD: &str = "From: a@ex.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n";

fn refused(raw: &[u8]) -> bool {
    check(raw).is_err_and(|e| e.kind() == ErrorKind::InvalidData)
}

/// `unit` repeated to about `bytes`, between `head` and `tail`.
fn filled(head: &str, unit: impl Fn(usize) -> String, bytes: usize, tail: &str) -> Vec<u8> {
    let mut raw = String::from(head);
    let mut n = 0;
    while raw.len() < bytes {
        raw.push_str(&unit(n));
        n += 1;
    }
    raw.push_str(tail);
    raw.into_bytes()
}

#[test]
fn names_are_read_as_the_parser_reads_them() {
    assert_eq!(
        name_end(b"Content-Type: text/plain", b"content-type"),
        Some(13)
    );
    assert_eq!(name_end(b"content - TYPE :x", b"content-type"), Some(16));
    assert_eq!(name_end(b"Content-Typed: x", b"content-type"), None);
    assert_eq!(name_end(b"Content-Type x", b"content-type"), None);
    assert_eq!(name_end(b"X-Content-Type: x", b"content-type"), None);
}

#[test]
fn media_types_are_read_without_comments_quotes_or_spaces() {
    for value in [
        &b" message/rfc822"[..],
        b"(c)message/rfc822",
        b" message /rfc822",
        b"\"message\"/rfc822",
        b"(a (nested\\) one)) Message/RFC822; x=y",
    ] {
        assert_eq!(media_type(value), b"message/rfc822", "{value:?}");
    }
    let read =
        |value: &[u8]| boundary(value).map(|b| b.map(|b| String::from_utf8(b).expect("utf-8")));
    assert_eq!(
        read(b"multipart/mixed; boundary=\"a b\"; x=y"),
        Ok(Some("a b".into()))
    );
    assert_eq!(
        read(b"multipart/mixed; BOUNDARY = zz ; x=y"),
        Ok(Some("zz".into()))
    );
    assert_eq!(
        read(b"multipart/signed; boundary*=\"ansi-x3.4-1968''Ee%51f\""),
        Ok(Some("EeQf".into()))
    );
    assert_eq!(read(b"multipart/mixed"), Ok(None));
    // The parameter named exactly so, outside comments, as the parser
    // takes it.
    assert_eq!(
        read(b"multipart/mixed; xboundary=zz; boundary=b"),
        Ok(Some("b".into()))
    );
    assert_eq!(
        read(b"multipart/mixed; (boundary=zz) boundary=b"),
        Ok(Some("b".into()))
    );
    assert_eq!(read(b"multipart/mixed; boundary*0=zz"), Err(()));
    assert_eq!(
        read(b"multipart/mixed; boundary=\"=?utf-8?q?b?=\""),
        Err(())
    );
    assert_eq!(
        read(b"multipart/mixed; boundary=\"x =?UTF-8?B?Yg==?=\""),
        Err(())
    );
    // An `=?` that is no encoded word is read as written, as the parser
    // reads it (the mail was refused).
    for written in [
        "----=?NextPart_01",
        "=?x?=",
        "pre=?utf-8?q?b?=",
        "=?utf-8?x?b?=",
    ] {
        let value = format!("multipart/mixed; boundary=\"{written}\"");
        assert_eq!(
            read(value.as_bytes()),
            Ok(Some(written.into())),
            "{written}"
        );
    }
}

/// A mail whose attachment's filename is cut into `sections` RFC 2231
/// sections of `section` bytes each.
fn sectioned(sections: usize, section: usize) -> Vec<u8> {
    let mut raw = format!(
        "{HEAD}Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\n\
Content-Type: application/pdf\r\nContent-Disposition: attachment;"
    );
    for n in 0..sections {
        raw.push_str(&format!("\r\n filename*{n}*={};", "a".repeat(section)));
    }
    raw.push_str("\r\n\r\nJVBERi0=\r\n--B--\r\n");
    raw.into_bytes()
}

#[test]
fn a_filename_in_many_sections_is_refused_and_a_few_are_not() {
    assert!(check(&sectioned(40, 30)).is_ok());
    assert!(refused(&sectioned(20_000, 16)));
}

/// Thousands of plain parameters, then one value of thousands of `'`:
/// the parser searched every parameter at each `'`.
#[test]
fn a_value_of_many_quotes_is_refused() {
    let params = filled(
        &format!("{HEAD}Content-Type: text/plain"),
        |_| ";a=b".into(),
        128 << 10,
        ";z*=c'",
    );
    let mut raw = String::from_utf8(params).expect("ascii");
    raw.push_str(&"x'".repeat(64 << 10));
    raw.push_str("\r\n\r\nbody\r\n");
    assert!(refused(raw.as_bytes()));
    let fine = format!(
        "{HEAD}Content-Disposition: attachment; filename*=utf-8'de'M%C3%A4rz.pdf\r\n\r\nb\r\n"
    );
    assert!(check(fine.as_bytes()).is_ok());
}

#[test]
fn encoded_words_that_never_end_are_refused_and_ended_ones_are_not() {
    for (head, unit) in [
        ("Subject: ", "=?aa?q?x"),
        ("To: ", " =?aa?q?x"),
        ("Subject: ", "=?aa?q?x\r\n "),
    ] {
        let raw = filled(
            &format!("From: a@ex.org\r\n{head}"),
            |_| unit.into(),
            256 << 10,
            "\r\n\r\nbody\r\n",
        );
        assert!(refused(&raw), "{unit:?}");
    }
    let ended = filled(
        "From: a@ex.org\r\nSubject: ",
        |_| "=?utf-8?q?Gr=C3=BC=C3=9Fe?= ".into(),
        64 << 10,
        "\r\n\r\nb\r\n",
    );
    assert!(check(&ended).is_ok());
    assert_eq!(encoded_word_work(b"=?a?q?bc?= =?x"), 8 + 3);
}

#[test]
fn messages_nested_under_any_spelling_of_their_type_are_refused() {
    for content_type in [
        "Content-Type: message/rfc822",
        "Content-Type: (c)message/rfc822",
        "Content-Type: message /rfc822",
        "Content-Type: \"message\"/rfc822",
        " Content-Type: message/global",
        "Content-Type\x0c: message/rfc822",
        "\x0cContent-Type: message/rfc822",
        "Content-Type: (c)multipart/digest; boundary=b\r\n\r\n--b",
    ] {
        let raw = format!("{content_type}\r\n\r\n").repeat(2000) + "x: y\r\n\r\nbody\r\n";
        assert!(refused(raw.as_bytes()), "{content_type}");
    }
    let three = format!(
        "{HEAD}{}",
        "Content-Type: (c) message/rfc822\r\n\r\n".repeat(3)
    );
    assert!(check(format!("{three}x: y\r\n\r\nbody\r\n").as_bytes()).is_ok());
}

#[test]
fn multiparts_whose_boundary_never_comes_are_refused_and_a_few_are_not() {
    let part = |_| "--b\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\nx\r\n".to_string();
    let head = format!("{HEAD}Content-Type: multipart/mixed; boundary=b\r\n\r\n");
    assert!(refused(&filled(&head, part, 1 << 20, "--b--\r\n")));
    // Three broken ones in a mail of ordinary parts.
    let ordinary = |n| format!("--b\r\nContent-Type: text/plain\r\n\r\nline {n}\r\n");
    let mut raw = String::from_utf8(filled(&head, ordinary, 1 << 20, "")).expect("ascii");
    raw.push_str(&part(0).repeat(3));
    raw.push_str("--b--\r\n");
    assert!(check(raw.as_bytes()).is_ok());
    // Thousands of nested multiparts whose boundaries all come.
    let nested = |n| {
        format!(
            "--b{n}\r\nContent-Type: multipart/alternative; boundary=b{}\r\n\r\n",
            n + 1
        )
    };
    let head = format!("{HEAD}Content-Type: multipart/mixed; boundary=b0\r\n\r\n");
    assert!(check(&filled(&head, nested, 1 << 20, "")).is_ok());
}

#[test]
fn a_boundary_of_more_than_a_line_is_refused() {
    let long = format!(
        "{HEAD}Content-Type: multipart/mixed; boundary=\"{}x\"\r\n\r\n{}\r\n",
        "-".repeat(4000),
        "-".repeat(8000)
    );
    assert!(refused(long.as_bytes()));
}

#[test]
fn bodies_that_never_end_are_decoded_within_the_mails_size() {
    // Hundreds of attached messages whose bodies all run to the end:
    // each would be decoded whole, again and again.
    let mut raw = String::from("From: a@ex.org\r\nSubject: s\r\n\r\n");
    for _ in 0..900 {
        raw.push_str("Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    }
    raw.push_str(&"QUFB\r\n".repeat(100_000));
    assert!(refused(raw.as_bytes()));
}

/// Mail made of the smallest fields, addresses or parts took the parser
/// 40 times its size; ordinary mail, however large, is let through.
#[test]
fn mail_of_the_smallest_records_is_refused_and_ordinary_mail_is_not() {
    let size = 4 << 20;
    let shapes: [(&str, &str, &str); 4] = [
        ("", "a:\r\n", "\r\nbody\r\n"),
        ("From: a@ex.org\r\nTo: ", "a,", "\r\n\r\nbody\r\n"),
        ("From: a@ex.org\r\nReferences: ", "<a>", "\r\n\r\nbody\r\n"),
        (
            "From: a@ex.org\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n",
            "x--b\r\n\r\n",
            "--b--\r\n",
        ),
    ];
    for (head, unit, tail) in shapes {
        assert!(
            refused(&filled(head, |_| unit.into(), size, tail)),
            "{unit:?}"
        );
    }
    // Each message of a digest (its parts are messages: their fields are
    // read too) made of the smallest fields.
    let digest = "From: a@ex.org\r\nContent-Type: multipart/digest; boundary=b\r\n\r\n";
    let message = format!("--b\r\n\r\n{}\r\nx\r\n", "a:\r\n".repeat(50));
    assert!(refused(&filled(
        digest,
        |_| message.clone(),
        size,
        "--b--\r\n"
    )));
    // A boundary the scan could not find is refused, not trusted.
    for content_type in [
        "multipart/mixed; boundary*0=b",
        "multipart/mixed; boundary=\"=?utf-8?q?b?=\"",
    ] {
        let raw = format!("{HEAD}Content-Type: {content_type}\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n");
        assert!(refused(raw.as_bytes()), "{content_type}");
    }
    // A long thread's headers, a list of a thousand recipients, and a
    // log of short lines attached as text, all large.
    let received = |n| format!("Received: from relay{n}.ex.org by mx.ex.org; Sat, 5 Dec 2026\r\n");
    assert!(check(&filled("", received, size, "\r\nbody\r\n")).is_ok());
    let to = |n| format!("person{n}@town.example, ");
    assert!(
        check(&filled(
            "From: a@ex.org\r\nTo: ",
            to,
            64 << 10,
            "\r\n\r\nhi\r\n"
        ))
        .is_ok()
    );
    let log = |n| format!("12:{:02}:{:02} ok\r\n", n % 60, n % 60);
    let head = format!(
        "{HEAD}Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
    );
    assert!(check(&filled(&head, log, size, "--b--\r\n")).is_ok());
}

/// The scan looks for every boundary at once; a mail declaring megabytes
/// of them would grow its automaton, not just the parser's work.
#[test]
fn megabytes_of_distinct_boundaries_are_refused() {
    let part = |n| {
        let boundary = format!("{n:0>900}");
        format!(
            "--b\r\nContent-Type: multipart/mixed; boundary={boundary}\r\n\r\n--{boundary}\r\n\r\nx\r\n--{boundary}--\r\n"
        )
    };
    let head = format!("{HEAD}Content-Type: multipart/mixed; boundary=b\r\n\r\n");
    let err = check(&filled(&head, part, 1 << 20, "--b--\r\n")).expect_err("refused");
    assert!(
        err.to_string().contains("distinct multipart boundaries"),
        "{err}"
    );
    assert!(check(&filled(&head, part, 128 << 10, "--b--\r\n")).is_ok());
}

/// Found by an outside review: an attached message's folded type hid the
/// block after it from the weight.
#[test]
fn a_folded_type_does_not_hide_the_attached_block() {
    let folded = "From: a@ex.org\r\nContent-Type:\r\n message/rfc822\r\n\r\n";
    assert!(refused(&filled(
        folded,
        |_| "a:\r\n".into(),
        4 << 20,
        "\r\nbody\r\n"
    )));
}
