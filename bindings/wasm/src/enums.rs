//! The enums the package exports: the protobuf enums, value for value, so
//! JavaScript names them instead of writing numbers.

use wasm_bindgen::prelude::*;

/// Bits of `MailItem.flags` (protobuf `MailFlag`).
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailFlag {
    /// The message has been read.
    Seen = 1,
    /// Flagged for follow-up.
    Flagged = 2,
    /// Answered.
    Answered = 4,
    /// A draft.
    Draft = 8,
    /// Forwarded.
    Forwarded = 16,
}

/// Bits of `CollectionInfo.rights` (protobuf `Right`).
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Right {
    /// May read items.
    Read = 1,
    /// May create, change and delete items.
    Write = 2,
    /// May answer invitations on the owner's behalf.
    Respond = 4,
}

/// What a collection holds (protobuf `CollectionKind`).
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CollectionKind {
    /// Not stated.
    Unspecified = 0,
    /// A mail folder.
    Mail = 1,
    /// A calendar.
    Calendar = 2,
}

/// An attendee's answer (protobuf `ParticipationStatus`, RFC 5545 PARTSTAT).
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParticipationStatus {
    /// Not stated.
    Unspecified = 0,
    /// No answer yet.
    NeedsAction = 1,
    /// Accepted.
    Accepted = 2,
    /// Declined.
    Declined = 3,
    /// Tentatively accepted.
    Tentative = 4,
    /// Delegated to another attendee.
    Delegated = 5,
}

/// An attendee's role (protobuf `AttendeeRole`).
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttendeeRole {
    /// Not stated.
    Unspecified = 0,
    /// Chairs the meeting.
    Chair = 1,
    /// Required.
    Required = 2,
    /// Optional.
    Optional = 3,
    /// For information only.
    NonParticipant = 4,
}

/// Whether an event blocks time (protobuf `Transparency`).
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transparency {
    /// Not stated.
    Unspecified = 0,
    /// Blocks time.
    Opaque = 1,
    /// Does not block time.
    Transparent = 2,
}

/// Why an item is abridged (protobuf `AbridgedReason`; `Abridged.reason`).
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AbridgedReason {
    /// Not stated; never sent.
    Unspecified = 0,
    /// Too large for one page: texts cut, lists shortened. Fetch it whole
    /// (`fetchBody` with `packedItem`, then `completeItem`) before editing.
    TooLarge = 1,
    /// The server could not read its own copy: ids only.
    Unreadable = 2,
    /// The device could not unpack it within its limits: ids only.
    RefusedByDevice = 3,
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidings::proto;

    /// The exported enums are the protobuf enums, value for value.
    #[test]
    fn enums_match_the_schema() {
        use proto::{
            AbridgedReason as A, AttendeeRole as R, CollectionKind as K, MailFlag as F,
            ParticipationStatus as P, Right as G, Transparency as T,
        };
        let flags = [
            (MailFlag::Seen as i32, F::Seen as i32),
            (MailFlag::Flagged as i32, F::Flagged as i32),
            (MailFlag::Answered as i32, F::Answered as i32),
            (MailFlag::Draft as i32, F::Draft as i32),
            (MailFlag::Forwarded as i32, F::Forwarded as i32),
            (Right::Read as i32, G::Read as i32),
            (Right::Write as i32, G::Write as i32),
            (Right::Respond as i32, G::Respond as i32),
            (CollectionKind::Unspecified as i32, K::Unspecified as i32),
            (CollectionKind::Mail as i32, K::Mail as i32),
            (CollectionKind::Calendar as i32, K::Calendar as i32),
            (
                ParticipationStatus::Unspecified as i32,
                P::Unspecified as i32,
            ),
            (
                ParticipationStatus::NeedsAction as i32,
                P::NeedsAction as i32,
            ),
            (ParticipationStatus::Accepted as i32, P::Accepted as i32),
            (ParticipationStatus::Declined as i32, P::Declined as i32),
            (ParticipationStatus::Tentative as i32, P::Tentative as i32),
            (ParticipationStatus::Delegated as i32, P::Delegated as i32),
            (AttendeeRole::Unspecified as i32, R::Unspecified as i32),
            (AttendeeRole::Chair as i32, R::Chair as i32),
            (AttendeeRole::Required as i32, R::Required as i32),
            (AttendeeRole::Optional as i32, R::Optional as i32),
            (
                AttendeeRole::NonParticipant as i32,
                R::NonParticipant as i32,
            ),
            (Transparency::Unspecified as i32, T::Unspecified as i32),
            (Transparency::Opaque as i32, T::Opaque as i32),
            (Transparency::Transparent as i32, T::Transparent as i32),
            (AbridgedReason::Unspecified as i32, A::Unspecified as i32),
            (AbridgedReason::TooLarge as i32, A::TooLarge as i32),
            (AbridgedReason::Unreadable as i32, A::Unreadable as i32),
            (
                AbridgedReason::RefusedByDevice as i32,
                A::RefusedByDevice as i32,
            ),
        ];
        for (ours, schema) in flags {
            assert_eq!(ours, schema);
        }
    }
}
