//! Multiparts never closed: their close delimiters put where they belong.
//!
//! A mail truncated in transit or by an archive, or written by a tool
//! that never closes its multipart, ends inside its last part; a tool may
//! also leave a multipart open inside one it closes. mail-parser then reads
//! the open multipart's last part as damaged, to the end of the mail: a
//! text part became an unnamed attachment and the mail showed no text (23
//! of 5,562 real mails, often the longest), or took in every part after it.
//! A reader ends such a part where the multipart around it goes on, or at
//! the end of the mail (RFC 2046 §5.1.1 asks receivers to be lenient;
//! Python's `email` reads it so); the close delimiters [`guard::check`]
//! finds missing are put there, in the copy that is parsed.
//!
//! [`guard::check`]: super::guard::check

use super::guard::Close;
use std::borrow::Cow;

/// `text` with each of `closes` (in the order their multiparts were
/// declared) put in place, innermost first where two share a place;
/// `text` itself when there are none.
pub(super) fn closed<'a>(text: Cow<'a, [u8]>, closes: &[Close]) -> Cow<'a, [u8]> {
    if closes.is_empty() {
        return text;
    }
    // Declared later is nested deeper: it closes first at a shared place.
    let mut order: Vec<&Close> = closes.iter().rev().collect();
    order.sort_by_key(|c| c.at);
    let extra: usize = closes.iter().map(|c| c.boundary.len() + 8).sum();
    let mut out = Vec::with_capacity(text.len().saturating_add(extra));
    let mut copied = 0;
    for close in order {
        let at = close.at.clamp(copied, text.len());
        out.extend_from_slice(text.get(copied..at).unwrap_or_default());
        copied = at;
        // The line break before a delimiter belongs to it (RFC 2046
        // §5.1.1): the part keeps its text as it was.
        if !out.is_empty() && !out.ends_with(b"\n") {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"--");
        out.extend_from_slice(&close.boundary);
        out.extend_from_slice(b"--\r\n");
    }
    out.extend_from_slice(text.get(copied..).unwrap_or_default());
    Cow::Owned(out)
}
