//! Checks for values that go into the header of a message someone composes:
//! addresses, free text (subject, display names, file names) and media
//! types. A device chooses these values; written into a header unchecked, a
//! line break in any of them starts a header of the device's choosing (a
//! second `From:`, a `Bcc:`).
//!
//! Addresses and media types are refused when malformed (the sender must
//! know the mail did not go where they meant). Free text is made safe
//! instead: every control character and line separator becomes a space, as
//! a mail client shows a folded subject.
//!
//! ```
//! use tidings::sync::mail::{check_address, check_media_type, header_text};
//! use tidings::ErrorKind;
//!
//! assert!(check_address("mayor@town.example").is_ok());
//! let forged = check_address("x@town.example>\r\nBcc: spy@evil.example");
//! assert_eq!(forged.unwrap_err().kind(), ErrorKind::InvalidAddress);
//! assert_eq!(header_text("Budget\r\nBcc: spy@evil.example"), "Budget  Bcc: spy@evil.example");
//! assert_eq!(check_media_type("Text/Plain")?, "text/plain");
//! # Ok::<(), tidings::Error>(())
//! ```

use crate::error::{Error, ErrorKind, Result};
use crate::proto::OutgoingMail;

/// Longest address accepted, in bytes (RFC 5321 §4.5.3.1.3, path minus `<>`).
pub const MAX_ADDRESS_BYTES: usize = 254;
/// Longest local part, in bytes (RFC 5321 §4.5.3.1.1).
const MAX_LOCAL_BYTES: usize = 64;
/// Longest domain label, in bytes (RFC 1035).
const MAX_LABEL_BYTES: usize = 63;
/// Longest media type accepted, in bytes (RFC 6838 §4.2 allows 127 + 1 + 127).
const MAX_MEDIA_TYPE_BYTES: usize = 255;

fn bad_address(reason: &'static str) -> Error {
    Error::new(ErrorKind::InvalidAddress, reason)
}

/// Checks that `address` is a plain `local@domain` mailbox, as written
/// between `<` and `>` in a header: a dot-atom local part (RFC 5322 atext,
/// or UTF-8 letters as RFC 6531 allows), a domain of letter, digit and
/// hyphen labels (or UTF-8 letters for internationalized names), at most
/// [`MAX_ADDRESS_BYTES`] in all. Quoted local parts and address literals,
/// which no person's address needs, are refused.
///
/// # Errors
///
/// [`ErrorKind::InvalidAddress`] naming the rule broken.
pub fn check_address(address: &str) -> Result<()> {
    if address.is_empty() {
        return Err(bad_address("the address is empty"));
    }
    if address.len() > MAX_ADDRESS_BYTES {
        return Err(bad_address("the address is longer than 254 bytes"));
    }
    if address.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad_address(
            "the address holds a space, line break or control character",
        ));
    }
    let Some((local, domain)) = address.rsplit_once('@') else {
        return Err(bad_address("the address has no @"));
    };
    check_local(local)?;
    check_domain(domain)
}

fn check_local(local: &str) -> Result<()> {
    if local.is_empty() || local.len() > MAX_LOCAL_BYTES {
        return Err(bad_address(
            "the part before @ is empty or longer than 64 bytes",
        ));
    }
    if local.split('.').any(str::is_empty) {
        return Err(bad_address(
            "the part before @ starts or ends with a dot, or has two in a row",
        ));
    }
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c);
    if !local.chars().all(|c| atext(c) || !c.is_ascii()) {
        return Err(bad_address(
            "the part before @ holds a character an address cannot have unquoted",
        ));
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<()> {
    if domain.is_empty() {
        return Err(bad_address("the domain after @ is empty"));
    }
    for label in domain.split('.') {
        let fits = !label.is_empty() && label.len() <= MAX_LABEL_BYTES;
        let chars = label.chars().all(|c| c == '-' || c.is_alphanumeric());
        if !fits || !chars || label.starts_with('-') || label.ends_with('-') {
            return Err(bad_address(
                "the domain after @ is not a host name (letters, digits, hyphens, dots)",
            ));
        }
    }
    Ok(())
}

/// `text` made safe as an unstructured header value (a subject, a display
/// name, a file name): every control character (CR, LF, tab, NUL, DEL, the
/// C1 range) and the Unicode line and paragraph separators become a space,
/// and surrounding whitespace is trimmed. Characters are never dropped, so
/// nothing can be smuggled by joining what was apart.
pub fn header_text(text: &str) -> String {
    let unsafe_char = |c: char| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}');
    let safe: String = text
        .chars()
        .map(|c| if unsafe_char(c) { ' ' } else { c })
        .collect();
    safe.trim().to_owned()
}

/// Longest charset name accepted, in bytes (IANA names are at most 40).
const MAX_CHARSET_BYTES: usize = 64;

/// RFC 2045 token: printable ASCII except space and tspecials.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
}

/// Checks that `media_type` is `type/subtype` (RFC 2045 tokens), with or
/// without parameters (`text/plain; charset=utf-8`, as apps write them),
/// and returns the bare type in lower case. Parameters must be
/// `name=value` with a token or a quoted value; only `charset` is kept
/// (see [`media_type_charset`]).
///
/// # Errors
///
/// [`ErrorKind::InvalidMediaType`] naming the rule broken.
pub fn check_media_type(media_type: &str) -> Result<String> {
    let bad = |reason| Err(Error::new(ErrorKind::InvalidMediaType, reason));
    if media_type.len() > MAX_MEDIA_TYPE_BYTES {
        return bad("the media type is longer than 255 bytes");
    }
    let mut pieces = media_type.split(';');
    let bare = pieces.next().unwrap_or_default().trim();
    let Some((top, sub)) = bare.split_once('/') else {
        return bad("the media type is not type/subtype");
    };
    if !is_token(top) || !is_token(sub) {
        return bad("the media type's type or subtype is not an RFC 2045 token");
    }
    for parameter in pieces {
        if parameter_value(parameter).is_none() {
            return bad("a media type parameter is not name=value (a token or a quoted string)");
        }
    }
    Ok(bare.to_ascii_lowercase())
}

/// The `charset` parameter of a media type [`check_media_type`] accepts, in
/// lower case, when it is a token of at most 64 bytes.
pub fn media_type_charset(media_type: &str) -> Option<String> {
    media_type.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter_value(parameter)?;
        let fits = name.eq_ignore_ascii_case("charset")
            && value.len() <= MAX_CHARSET_BYTES
            && is_token(value);
        fits.then(|| value.to_ascii_lowercase())
    })
}

/// The `method` parameter of a `text/calendar` media type
/// [`check_media_type`] accepts (an iTIP method: `REQUEST`, `REPLY`,
/// `CANCEL`, …), in upper case, when it is a token of at most 32 bytes;
/// `None` for any other type. RFC 6047 §2.4 makes an iMIP message of a
/// calendar part only with it, so a device can send an invitation.
pub fn media_type_method(media_type: &str) -> Option<String> {
    let mut pieces = media_type.split(';');
    let bare = pieces.next().unwrap_or_default().trim();
    if !bare.eq_ignore_ascii_case("text/calendar") {
        return None;
    }
    pieces.find_map(|parameter| {
        let (name, value) = parameter_value(parameter)?;
        let fits = name.eq_ignore_ascii_case("method") && value.len() <= 32 && is_token(value);
        fits.then(|| value.to_ascii_uppercase())
    })
}

/// `(name, value)` of one `name=value` parameter, the value unquoted; `None`
/// when it is not one (a quoted value may not hold quotes, backslashes or
/// control characters: no person's parameter needs them).
fn parameter_value(parameter: &str) -> Option<(&str, &str)> {
    let (name, value) = parameter.split_once('=')?;
    let (name, value) = (name.trim(), value.trim());
    let value = match value.strip_prefix('"') {
        Some(quoted) => {
            let inner = quoted.strip_suffix('"')?;
            let plain = inner
                .chars()
                .all(|c| !c.is_control() && c != '"' && c != '\\');
            plain.then_some(inner)?
        }
        None => is_token(value).then_some(value)?,
    };
    is_token(name).then_some((name, value))
}

/// Checks a mail a device asks to send, before its operation is answered
/// `Done`: once answered, a mail that cannot be composed would be lost
/// without the sender knowing. It must name a recipient; every address
/// must pass [`check_address`] and every attachment's media type (when
/// given) [`check_media_type`].
///
/// # Errors
///
/// [`ErrorKind::InvalidArgument`] for a mail without recipients,
/// [`ErrorKind::InvalidAddress`] and [`ErrorKind::InvalidMediaType`] as
/// those checks return them.
pub fn check_outgoing(mail: &OutgoingMail) -> Result<()> {
    let recipients = || mail.to.iter().chain(&mail.cc).chain(&mail.bcc);
    if recipients().next().is_none() {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "the mail has no recipient",
        ));
    }
    for recipient in recipients() {
        check_address(&recipient.email)?;
    }
    for attachment in &mail.attachments {
        if !attachment.content_type.is_empty() {
            check_media_type(&attachment.content_type)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ordinary_addresses_pass() {
        for ok in [
            "mayor@town.example",
            "cllr.o'brien+budget@town.example",
            "jörg@müller.example",
            "a@b",
        ] {
            assert_eq!(check_address(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn forged_addresses_are_refused() {
        for bad in [
            "",
            "x@y\r\nBcc: spy@evil.example",
            "x@y\nBcc: spy@evil.example",
            "x@y>, <spy@evil.example",
            "Spy <spy@evil.example>",
            "\"quoted\"@town.example",
            "no-at-sign",
            "@town.example",
            "mayor@",
            ".mayor@town.example",
            "ma..yor@town.example",
            "mayor@-town.example",
            "mayor@town..example",
            "mayor@[127.0.0.1]",
            "may or@town.example",
            "mayor@town.example\0",
        ] {
            let e = check_address(bad).expect_err(bad);
            assert_eq!(e.kind(), ErrorKind::InvalidAddress, "{bad:?}");
        }
        let long = format!("{}@town.example", "a".repeat(65));
        assert!(check_address(&long).is_err());
    }

    #[test]
    fn media_types_are_tokens_with_well_formed_parameters() {
        assert_eq!(
            check_media_type("Application/PDF").as_deref(),
            Ok("application/pdf")
        );
        for (given, charset) in [
            ("text/plain; charset=UTF-8", Some("utf-8")),
            (
                "text/csv;charset=\"windows-1252\"; header=present",
                Some("windows-1252"),
            ),
            ("text/plain; format=flowed", None),
        ] {
            let bare = given
                .split(';')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            assert_eq!(
                check_media_type(given).as_deref(),
                Ok(bare.as_str()),
                "{given}"
            );
            assert_eq!(media_type_charset(given).as_deref(), charset, "{given}");
        }
        for bad in [
            "text/plain\r\nBcc: spy@evil.example",
            "text/plain; charset=utf-8\r\nBcc: spy@evil.example",
            "text/plain; charset",
            "text/plain; charset=\"a\\\"b\"",
            "text/plain; =utf-8",
            "text",
            "/plain",
            "text/",
            "text/pla in",
        ] {
            let e = check_media_type(bad).expect_err(bad);
            assert_eq!(e.kind(), ErrorKind::InvalidMediaType, "{bad:?}");
        }
    }

    proptest! {
        /// Whatever a device sends, a checked value holds no line break.
        #[test]
        fn checked_values_never_break_a_line(s in any::<String>()) {
            prop_assert!(!header_text(&s).contains(['\r', '\n']));
            if check_address(&s).is_ok() {
                prop_assert!(!s.contains(['\r', '\n', '<', '>', ',', ' ']));
            }
            if let Ok(t) = check_media_type(&s) {
                prop_assert!(t.bytes().all(|b| b.is_ascii_graphic()));
            }
            if let Some(c) = media_type_charset(&s) {
                prop_assert!(c.bytes().all(|b| b.is_ascii_graphic()));
            }
        }
    }
}
