//! What the patch generator knows of the item schema (`items.proto`): which
//! fields hold messages it may edit inside, and which are repeated, so that
//! a value appended to a list travels alone, and which hold one string, whose
//! new value needs no `clear` (the last value read wins). Applying a patch
//! needs none of this; a field left out here is cleared and replaced whole.

/// A message type the generator may edit inside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shape {
    Mail,
    MailHeaders,
    Calendar,
    Event,
    Attendee,
    /// `Address`.
    Address,
    /// `CalendarTime`.
    Time,
    /// A message edited field by field, never inside its own message
    /// fields, nor told which of its fields are strings (`Alarm`, …).
    Leaf,
}

/// What field `number` of a `shape` holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct FieldShape {
    /// The message type of its values, when they are messages.
    pub(super) message: Option<Shape>,
    /// Whether it holds a list.
    pub(super) repeated: bool,
    /// Whether it holds one string (or bytes).
    pub(super) text: bool,
}

/// A field the generator knows nothing of: replaced whole.
const OPAQUE: FieldShape = FieldShape {
    message: None,
    repeated: false,
    text: false,
};

const TEXT: FieldShape = FieldShape {
    text: true,
    ..OPAQUE
};

const fn one(shape: Shape) -> FieldShape {
    FieldShape {
        message: Some(shape),
        ..OPAQUE
    }
}

const fn many(shape: Shape) -> FieldShape {
    FieldShape {
        message: Some(shape),
        repeated: true,
        text: false,
    }
}

const STRINGS: FieldShape = FieldShape {
    repeated: true,
    ..OPAQUE
};

impl Shape {
    /// Field `number` of this message type.
    pub(super) fn field(self, number: u32) -> FieldShape {
        use Shape::*;
        match (self, number) {
            (Mail, 3) => one(MailHeaders),
            (Mail, 4) | (MailHeaders, 6 | 9) => TEXT,
            (Mail, 6 | 7) => many(Leaf),
            (Mail, 10) | (Calendar, 7) => one(Leaf),
            (MailHeaders, 1..=5) => many(Address),
            (MailHeaders, 10 | 11) => STRINGS,
            (Calendar, 4) => one(Event),
            (Calendar, 5) => many(Event),
            (Calendar, 6) => many(Leaf),
            (Calendar, 8) => TEXT,
            (Event, 1..=4 | 7 | 10 | 17 | 18 | 20..=23) => TEXT,
            (Event, 5 | 6 | 13) => one(Time),
            (Event, 8) => one(Address),
            (Event, 9) => many(Attendee),
            (Event, 11 | 12) => many(Time),
            (Event, 14 | 19) => many(Leaf),
            (Event, 24) => STRINGS,
            (Attendee, 1) => one(Address),
            (Attendee, 5) | (Address, 1 | 2) | (Time, 1..=3) => TEXT,
            _ => OPAQUE,
        }
    }
}
