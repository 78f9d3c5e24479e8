//! IMAP flags ↔ the core's MailFlag bits. Flags the core has no bit for
//! (other keywords, `\Deleted`, `\Recent`) are left alone upstream.

use tidings::proto::MailFlag;

/// The IMAP flag of each MailFlag bit.
const TABLE: &[(MailFlag, &str)] = &[
    (MailFlag::Seen, "\\Seen"),
    (MailFlag::Flagged, "\\Flagged"),
    (MailFlag::Answered, "\\Answered"),
    (MailFlag::Draft, "\\Draft"),
    (MailFlag::Forwarded, "$Forwarded"),
];

/// The MailFlag bits of a message's IMAP flags.
pub fn from_imap<'a>(flags: impl IntoIterator<Item = &'a str>) -> u32 {
    let mut bits = 0;
    for flag in flags {
        for (bit, name) in TABLE {
            if flag.eq_ignore_ascii_case(name) {
                bits |= *bit as u32;
            }
        }
    }
    bits
}

/// The IMAP flags of `bits`, as a parenthesized list (`(\Seen \Flagged)`).
pub fn to_imap(bits: u32) -> String {
    let names: Vec<&str> = TABLE
        .iter()
        .filter(|(bit, _)| bits & *bit as u32 != 0)
        .map(|(_, name)| *name)
        .collect();
    format!("({})", names.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_of_every_known_flag() {
        for bits in 0..32u32 {
            let text = to_imap(bits);
            let inner = text.trim_start_matches('(').trim_end_matches(')');
            assert_eq!(from_imap(inner.split_whitespace()), bits, "{text}");
        }
    }

    #[test]
    fn unknown_flags_are_ignored_and_case_does_not_matter() {
        assert_eq!(
            from_imap(["\\SEEN", "\\Deleted", "$Junk", "\\Recent"]),
            MailFlag::Seen as u32
        );
    }
}
