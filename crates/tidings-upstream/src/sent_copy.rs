//! The copy of a sent mail filed in Sent. The submitted message carries no
//! `Bcc` header, so that its recipients do not learn of one another; the
//! sender's own copy is then the only record of who else got it, so it gets
//! a `Bcc` header naming the blind recipients (RFC 5322 §3.6.3).

use std::borrow::Cow;
use tidings::sync::mail::{MailItemOptions, mail_item_from_message};

/// `raw` with a `Bcc` header naming the envelope `recipients` that its
/// `To` and `Cc` do not (compared without case). Unchanged when there are
/// none, when it has a `Bcc` header already, or when its header cannot be
/// read (the copy is still filed; only the blind recipients go unrecorded).
pub fn with_bcc<'a>(raw: &'a [u8], recipients: &[String]) -> Cow<'a, [u8]> {
    let Ok(item) = mail_item_from_message(raw, &MailItemOptions::default()) else {
        return Cow::Borrowed(raw);
    };
    let Some(headers) = item.headers else {
        return Cow::Borrowed(raw);
    };
    if !headers.bcc.is_empty() {
        return Cow::Borrowed(raw);
    }
    let named = |recipient: &String| {
        headers
            .to
            .iter()
            .chain(&headers.cc)
            .any(|a| a.email.eq_ignore_ascii_case(recipient))
    };
    let mut blind: Vec<&str> = Vec::new();
    for recipient in recipients.iter().filter(|r| !named(r)) {
        // Only what is plainly an address goes into a header line.
        let plain = !recipient.is_empty()
            && recipient
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b",<>\"".contains(&b));
        if plain && !blind.iter().any(|b| b.eq_ignore_ascii_case(recipient)) {
            blind.push(recipient);
        }
    }
    if blind.is_empty() {
        return Cow::Borrowed(raw);
    }
    let mut copy = Vec::with_capacity(raw.len() + 8 + blind.len() * 40);
    copy.extend_from_slice(b"Bcc: ");
    for (i, address) in blind.iter().enumerate() {
        if i > 0 {
            // Folded: a header line stays short however many there are.
            copy.extend_from_slice(b",\r\n ");
        }
        copy.extend_from_slice(address.as_bytes());
    }
    copy.extend_from_slice(b"\r\n");
    copy.extend_from_slice(raw);
    Cow::Owned(copy)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIL: &[u8] = b"From: Mayor <mayor@town.example>\r\n\
        To: Clerk <clerk@town.example>\r\nCc: chief@town.example\r\n\
        Subject: Budget\r\nMessage-ID: <m1@town.example>\r\n\r\nHello.\r\n";

    fn recipients(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn bcc_of(raw: &[u8]) -> Vec<String> {
        let item = mail_item_from_message(raw, &MailItemOptions::default()).expect("parses");
        let headers = item.headers.expect("headers");
        headers.bcc.into_iter().map(|a| a.email).collect()
    }

    #[test]
    fn blind_recipients_are_named_in_the_copy() {
        let all = recipients(&[
            "clerk@town.example",
            "CHIEF@town.example",
            "auditor@town.example",
            "press@town.example",
        ]);
        let copy = with_bcc(MAIL, &all);
        assert_eq!(
            bcc_of(&copy),
            ["auditor@town.example", "press@town.example"]
        );
        // The rest of the message is as submitted.
        assert!(copy.ends_with(MAIL));
        let item = mail_item_from_message(&copy, &MailItemOptions::default()).expect("parses");
        let headers = item.headers.expect("headers");
        assert_eq!(headers.subject, "Budget");
        assert_eq!(headers.to.len(), 1);
    }

    #[test]
    fn without_blind_recipients_the_copy_is_the_message() {
        let all = recipients(&["clerk@town.example", "chief@town.example"]);
        assert!(matches!(with_bcc(MAIL, &all), Cow::Borrowed(_)));
        let odd = recipients(&["a,b@x", "\"q\"@x", ""]);
        assert!(matches!(with_bcc(MAIL, &odd), Cow::Borrowed(_)));
    }

    #[test]
    fn an_existing_bcc_header_is_kept() {
        let mut raw = b"Bcc: secret@town.example\r\n".to_vec();
        raw.extend_from_slice(MAIL);
        let all = recipients(&["secret@town.example", "other@town.example"]);
        assert_eq!(bcc_of(&with_bcc(&raw, &all)), ["secret@town.example"]);
    }
}
