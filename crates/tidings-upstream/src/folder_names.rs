//! IMAP folder names as people read them. LIST gives a name in modified
//! UTF-7 (RFC 3501 §5.1.3): `Entw&APw-rfe` is Dovecot's German Drafts
//! folder, "Entwürfe". The mirror keeps that form to name the folder in
//! its commands, and names the folder's collection, which devices show,
//! with the decoded text.

use base64::Engine;
use base64::alphabet::IMAP_MUTF7;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Modified BASE64: `,` for `/`, and no padding.
const MODIFIED_BASE64: GeneralPurpose = GeneralPurpose::new(
    &IMAP_MUTF7,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// `wire` decoded from modified UTF-7. A shifted run that does not decode
/// to UTF-16 (a server that sends raw UTF-8, or a broken name) is kept as
/// it was written, so no name is lost.
pub fn display_name(wire: &str) -> String {
    let mut out = String::with_capacity(wire.len());
    let mut rest = wire;
    while let Some(at) = rest.find('&') {
        let (plain, shifted) = rest.split_at(at);
        out.push_str(plain);
        let Some(end) = shifted.find('-') else {
            out.push_str(shifted);
            return out;
        };
        let run = shifted.get(1..end).unwrap_or_default();
        match run.is_empty() {
            true => out.push('&'),
            false => match decode_run(run) {
                Some(text) => out.push_str(&text),
                None => out.push_str(shifted.get(..=end).unwrap_or_default()),
            },
        }
        rest = shifted.get(end + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

/// One `&…-` run's text: modified BASE64 of UTF-16BE.
fn decode_run(run: &str) -> Option<String> {
    let bytes = MODIFIED_BASE64.decode(run).ok()?;
    if bytes.len() % 2 != 0 {
        return None;
    }
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
        .collect();
    String::from_utf16(&units).ok()
}

#[cfg(test)]
mod tests {
    use super::display_name;

    #[test]
    fn names_are_decoded_as_every_other_client_shows_them() {
        // RFC 3501 §5.1.3's example, and names a real Dovecot listed.
        assert_eq!(
            display_name("~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
            "~peter/mail/台北/日本語"
        );
        assert_eq!(display_name("Entw&APw-rfe"), "Entwürfe");
        assert_eq!(display_name("&ANw-ber Caf&AOk-"), "Über Café");
        assert_eq!(display_name("Archiv &A6k-"), "Archiv Ω");
        assert_eq!(
            display_name("&ZeVnLIqe-/&WDFUSg- &- Co"),
            "日本語/報告 & Co"
        );
        assert_eq!(display_name("INBOX"), "INBOX");
        // A character outside the BMP is a surrogate pair.
        assert_eq!(display_name("&2D3eAA-"), "😀");
    }

    #[test]
    fn a_name_that_is_not_modified_utf7_is_kept_as_written() {
        for wire in [
            "Tom & Jerry",
            "&Jjo",
            "&Jjo!-",
            "&AOk",
            "&2D0-",
            "Entwürfe",
            "&",
        ] {
            assert_eq!(display_name(wire), wire, "{wire}");
        }
    }
}
