//! Messages for the operator at the command line: what went wrong, where,
//! and what to do; and text from outside (device names, addresses, file
//! names) made safe to print on a terminal.

use crate::dbfile::DbFileError;
use std::fmt;

/// A command's failure, as one line for the operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure(String);

impl Failure {
    /// A failure with this message (which names what, where and what to do).
    pub fn new(message: impl Into<String>) -> Self {
        Failure(message.into())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<tidings::Error> for Failure {
    fn from(e: tidings::Error) -> Self {
        Failure(format!("{e} (error {})", e.code()))
    }
}

impl From<DbFileError> for Failure {
    fn from(e: DbFileError) -> Self {
        Failure(e.to_string())
    }
}

/// `text` with control characters (and Unicode line separators) escaped,
/// so that a name a device or an importer chose cannot move the cursor,
/// recolour the terminal or print a line that looks like output.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
            true => out.extend(c.escape_default()),
            false => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::printable;
    use proptest::prelude::*;

    #[test]
    fn escapes_terminal_controls_and_keeps_letters() {
        assert_eq!(
            printable("Sam's phone\x1b[2J\r\ndevice    9  principal 1"),
            "Sam's phone\\u{1b}[2J\\r\\ndevice    9  principal 1"
        );
        assert_eq!(printable("Zsófia's 手机"), "Zsófia's 手机");
    }

    proptest! {
        #[test]
        fn nothing_printed_controls_the_terminal(s in any::<String>()) {
            prop_assert!(!printable(&s).chars().any(|c| c.is_control()));
        }
    }
}
