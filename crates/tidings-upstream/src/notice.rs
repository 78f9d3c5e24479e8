//! The notice a sender gets about mail that did not go (or may not have
//! gone): a small plain-text mail filed in its upstream INBOX, which the
//! mirror brings to its devices. The device's operation was answered when
//! the mail was queued; this is how the SMTP outcome reaches it.

fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// A notice to `sender` about its mail `raw` (`message_id`, to
/// `recipients`): `Subject: <what>: <its subject>`, header
/// `X-Tidings-Error: 711`, `why` as the body. Plain text, every value made
/// safe (ASCII, no line breaks), so nothing in it can start a header.
pub fn notice(
    sender: &str,
    message_id: &str,
    recipients: &[String],
    raw: &[u8],
    what: &str,
    why: &str,
) -> Vec<u8> {
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii() && !c.is_ascii_control() {
                    c
                } else {
                    ' '
                }
            })
            .collect()
    };
    let subject = header(raw, "subject").unwrap_or_default();
    let domain = sender.rsplit_once('@').map_or("localhost", |(_, d)| d);
    let date = httpdate(std::time::SystemTime::now());
    let to = safe(&recipients.join(", "));
    let about = match message_id {
        "" => format!("Your mail to {to}"),
        id => format!("Your mail <{}> to {to}", safe(id)),
    };
    format!(
        "From: Mail Delivery <mailer-daemon@{domain}>\r\n\
         To: <{sender}>\r\n\
         Subject: {what}: {subject}\r\n\
         Date: {date}\r\n\
         Message-ID: <notice.{nonce}@{domain}>\r\n\
         X-Tidings-Error: 711\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\r\n\
         {about}:\r\n\r\n{why}\r\n",
        domain = safe(domain),
        sender = safe(sender),
        what = what,
        subject = safe(&subject),
        nonce = now_nanos(),
        why = safe(why),
    )
    .into_bytes()
}

/// The (unfolded) value of header `name` in `raw`'s header section.
fn header(raw: &[u8], name: &str) -> Option<String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let text = String::from_utf8_lossy(&raw[..end]);
    let mut value: Option<String> = None;
    for line in text.lines() {
        match (&mut value, line.starts_with([' ', '\t'])) {
            (Some(v), true) => v.push_str(line),
            (Some(_), false) => break,
            (None, _) => {
                if let Some((n, v)) = line.split_once(':')
                    && n.eq_ignore_ascii_case(name)
                {
                    value = Some(v.trim().to_owned());
                }
            }
        }
    }
    value
}

/// An RFC 5322 date, in UTC.
pub(crate) fn httpdate(at: std::time::SystemTime) -> String {
    let secs = at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = secs / 86_400;
    let (h, m, s) = (secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    format!(
        "{}, {day} {} {year} {h:02}:{m:02}:{s:02} +0000",
        WEEKDAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_are_rfc_5322() {
        let at = std::time::UNIX_EPOCH + Duration::from_secs(1_796_169_600);
        assert_eq!(httpdate(at), "Wed, 2 Dec 2026 00:00:00 +0000");
        assert_eq!(
            httpdate(std::time::UNIX_EPOCH),
            "Thu, 1 Jan 1970 00:00:00 +0000"
        );
    }

    #[test]
    fn a_notice_names_the_mail_and_cannot_be_given_a_header() {
        let text = notice(
            "alice@example.org",
            "m1@example.org",
            &["x@elsewhere.example".to_owned()],
            b"Subject: Budget\r\n\r\nbody",
            "Not sent",
            "550 no\r\nBcc: evil",
        );
        let text = String::from_utf8(text).unwrap();
        assert!(text.contains("Subject: Not sent: Budget\r\n"), "{text}");
        assert!(text.contains("X-Tidings-Error: 711\r\n"));
        assert!(!text.contains("\r\nBcc:"));
    }
}
