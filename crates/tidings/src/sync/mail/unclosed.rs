//! Multiparts cut short: their close delimiters added at the end.
//!
//! A mail truncated in transit or by an archive, or written by a tool
//! that never closes its multipart, ends inside its last part. mail-parser
//! then reads that part as damaged: a text part becomes an unnamed
//! attachment and the mail shows no text (23 of 5,562 real mails, often the
//! longest). A reader that finds no close delimiter ends the part at the
//! end of the mail (RFC 2046 §5.1.1 asks receivers to be lenient; Python's
//! `email` does so); closing each such multipart at the end, innermost
//! first, makes mail-parser read it so.

use std::borrow::Cow;

/// `text` with a close delimiter line for each of `unclosed` (in the order
/// declared) appended, innermost first; `text` itself when there are none.
pub(super) fn closed<'a>(text: Cow<'a, [u8]>, unclosed: &[Vec<u8>]) -> Cow<'a, [u8]> {
    if unclosed.is_empty() {
        return text;
    }
    let mut out = text.into_owned();
    let extra: usize = unclosed.iter().map(|b| b.len() + 6).sum();
    out.reserve(extra + 2);
    // The line break before a delimiter belongs to it (RFC 2046 §5.1.1):
    // a last part that ends in one keeps its text as it was.
    if !out.ends_with(b"\n") {
        out.extend_from_slice(b"\r\n");
    }
    for boundary in unclosed.iter().rev() {
        out.extend_from_slice(b"--");
        out.extend_from_slice(boundary);
        out.extend_from_slice(b"--\r\n");
    }
    Cow::Owned(out)
}
