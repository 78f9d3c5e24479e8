//! The text preview: the first bytes of a message's readable text, with
//! whitespace collapsed so that a handset shows words, not layout.
//!
//! Runs of spaces and tabs become one space, a single line break stays a
//! line break and two or more (a blank line) become one paragraph break;
//! whitespace at either end is dropped. Parts are separated by a paragraph
//! break. The preview never ends inside a character or a pending gap.
//!
//! Other control characters (NUL, ESC, BEL, DEL, C1 controls) are left out:
//! a preview is shown as it is, and damaged or mislabelled mail (UTF-16 read
//! as 8-bit, terminal colour codes) carries them; a C caller would also
//! see a NUL end the string early.

/// The gap owed before the next visible character.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Gap {
    None,
    Space,
    Line,
    Paragraph,
}

impl Gap {
    fn text(self) -> &'static str {
        match self {
            Gap::None => "",
            Gap::Space => " ",
            Gap::Line => "\n",
            Gap::Paragraph => "\n\n",
        }
    }
}

/// Builds a preview of at most `max` bytes from parts of text.
pub(super) struct Preview {
    text: String,
    max: usize,
    gap: Gap,
    truncated: bool,
}

impl Preview {
    /// An empty preview that will hold at most `max` bytes.
    pub(super) fn new(max: usize) -> Self {
        Preview {
            // Bounded by the limit, not by the (possibly huge) input.
            text: String::with_capacity(max.min(4096)),
            max,
            gap: Gap::None,
            truncated: false,
        }
    }

    /// Adds one part's text; returns false once the preview is full.
    pub(super) fn push_part(&mut self, part: &str) -> bool {
        // Leading gaps are dropped anyway, so this only separates parts.
        self.gap = Gap::Paragraph;
        part.chars().all(|c| self.push(c))
    }

    /// The preview and whether text was left out.
    pub(super) fn finish(self) -> (String, bool) {
        (self.text, self.truncated)
    }

    fn push(&mut self, c: char) -> bool {
        if c == '\n' {
            self.gap = match self.gap {
                Gap::None | Gap::Space => Gap::Line,
                Gap::Line | Gap::Paragraph => Gap::Paragraph,
            };
            return true;
        }
        if c.is_whitespace() {
            self.gap = self.gap.max(Gap::Space);
            return true;
        }
        if c.is_control() {
            return true;
        }
        let gap = match self.text.is_empty() {
            true => "",
            false => self.gap.text(),
        };
        if self.text.len() + gap.len() + c.len_utf8() > self.max {
            self.truncated = true;
            return false;
        }
        self.text.push_str(gap);
        self.text.push(c);
        self.gap = Gap::None;
        true
    }
}
