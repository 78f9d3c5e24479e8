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

/// Checks that `media_type` is a bare `type/subtype` (RFC 2045 tokens, no
/// parameters) and returns it in lower case.
///
/// # Errors
///
/// [`ErrorKind::InvalidMediaType`] naming the rule broken.
pub fn check_media_type(media_type: &str) -> Result<String> {
    let bad = |reason| Err(Error::new(ErrorKind::InvalidMediaType, reason));
    if media_type.len() > MAX_MEDIA_TYPE_BYTES {
        return bad("the media type is longer than 255 bytes");
    }
    let Some((top, sub)) = media_type.split_once('/') else {
        return bad("the media type is not type/subtype");
    };
    // RFC 2045 token: printable ASCII except space and tspecials.
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
    };
    if !token(top) || !token(sub) {
        return bad("the media type's type or subtype is not an RFC 2045 token");
    }
    Ok(media_type.to_ascii_lowercase())
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
    fn media_types_are_bare_tokens() {
        assert_eq!(
            check_media_type("Application/PDF").as_deref(),
            Ok("application/pdf")
        );
        for bad in [
            "text/plain\r\nBcc: spy@evil.example",
            "text/plain; charset=utf-8",
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
        }
    }
}
