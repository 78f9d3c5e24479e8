//! A principal's rights on a collection.

use crate::error::{Error, ErrorKind, Result};
use crate::proto::Right;

/// A set of [`Right`] bits: read; write; respond to invitations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rights(u32);

impl Rights {
    /// No access: the collection is invisible.
    pub const NONE: Rights = Rights(0);
    /// May read items.
    pub const READ: Rights = Rights(Right::Read as u32);
    /// May create, change and delete items.
    pub const WRITE: Rights = Rights(Right::Write as u32);
    /// May answer invitations on the owner's behalf.
    pub const RESPOND: Rights = Rights(Right::Respond as u32);
    /// Everything: what an owner has on their own collections.
    pub const OWNER: Rights = Rights(Self::READ.0 | Self::WRITE.0 | Self::RESPOND.0);

    /// The rights in wire form, refusing bits this version does not define.
    pub fn from_bits(bits: u32) -> Result<Rights> {
        if bits & !Self::OWNER.0 != 0 {
            return Err(Error::new(
                ErrorKind::ProtoInvalidValue,
                "unknown right bits",
            ));
        }
        Ok(Rights(bits))
    }

    /// The wire form.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether every right in `other` is held.
    pub const fn contains(self, other: Rights) -> bool {
        self.0 & other.0 == other.0
    }

    /// Both sets together.
    pub const fn union(self, other: Rights) -> Rights {
        Rights(self.0 | other.0)
    }

    /// Fails with [`ErrorKind::PermissionDenied`] unless `needed` is held.
    pub fn require(self, needed: Rights) -> Result<()> {
        if self.contains(needed) && needed != Rights::NONE {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::PermissionDenied,
                "right not held on this collection",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rights_compose_and_refuse_unknown_bits() {
        let delegate = Rights::READ.union(Rights::RESPOND);
        assert!(delegate.contains(Rights::READ));
        assert!(!delegate.contains(Rights::WRITE));
        assert_eq!(
            delegate.require(Rights::WRITE).map_err(|e| e.kind()),
            Err(ErrorKind::PermissionDenied)
        );
        assert_eq!(
            Rights::NONE.require(Rights::NONE).map_err(|e| e.kind()),
            Err(ErrorKind::PermissionDenied)
        );
        assert_eq!(Rights::from_bits(delegate.bits()), Ok(delegate));
        assert_eq!(
            Rights::from_bits(8).map_err(|e| e.kind()),
            Err(ErrorKind::ProtoInvalidValue)
        );
    }
}
