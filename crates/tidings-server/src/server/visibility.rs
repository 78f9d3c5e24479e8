//! Noticing that what principals may see changed: a collection created,
//! renamed, deleted or recreated (by an import, the IMAP gateway or an
//! administrator, in this process or another), or a delegation changed.
//! The watcher keeps a [`Visibility`] snapshot and compares; the principals
//! it names have their devices' collection lists refreshed
//! (`ServerSession::refresh_collections`).

use std::collections::{BTreeMap, BTreeSet};
use tidings::store::Collection;
use tidings::sync::LogHead;

/// What decides every principal's visible collections.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Visibility {
    /// Collection id to (owner, kind, name, epoch).
    collections: BTreeMap<u64, (u64, i32, String, u64)>,
    /// (principal, collection) to rights bits.
    grants: BTreeMap<(u64, u64), u32>,
}

impl Visibility {
    pub(crate) fn new(
        collections: Vec<Collection>,
        heads: &[LogHead],
        grants: BTreeMap<(u64, u64), u32>,
    ) -> Self {
        let epochs: BTreeMap<u64, u64> = heads.iter().map(|h| (h.collection_id, h.epoch)).collect();
        let collections = collections
            .into_iter()
            .map(|c| {
                let epoch = epochs.get(&c.id).copied().unwrap_or(0);
                (c.id, (c.owner, c.kind as i32, c.name, epoch))
            })
            .collect();
        Self {
            collections,
            grants,
        }
    }

    /// Whether `heads` names other collections or epochs than this snapshot:
    /// then it is worth reading the collections again, whoever wrote.
    pub(crate) fn heads_moved(&self, heads: &[LogHead]) -> bool {
        heads.len() != self.collections.len()
            || heads.iter().any(|h| {
                self.collections
                    .get(&h.collection_id)
                    .is_none_or(|c| c.3 != h.epoch)
            })
    }

    /// The principals whose visible collections may differ between `self`
    /// and `now`: owners and grantees of every collection that appeared,
    /// went or changed, and everyone whose grants changed.
    pub(crate) fn affected(&self, now: &Self) -> BTreeSet<u64> {
        let mut principals = BTreeSet::new();
        let ids: BTreeSet<u64> = self
            .collections
            .keys()
            .chain(now.collections.keys())
            .copied()
            .collect();
        for id in ids {
            let (before, after) = (self.collections.get(&id), now.collections.get(&id));
            if before == after {
                continue;
            }
            principals.extend(before.into_iter().chain(after).map(|c| c.0));
            for grants in [&self.grants, &now.grants] {
                principals.extend(grants.keys().filter(|(_, c)| *c == id).map(|(p, _)| *p));
            }
        }
        for (key, rights) in self.grants.iter().chain(&now.grants) {
            let other = if self.grants.get(key) == Some(rights) {
                &now.grants
            } else {
                &self.grants
            };
            if other.get(key) != Some(rights) {
                principals.insert(key.0);
            }
        }
        principals
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidings::proto::CollectionKind;

    fn collection(id: u64, owner: u64, name: &str) -> Collection {
        Collection {
            id,
            kind: CollectionKind::Mail,
            name: name.into(),
            owner,
        }
    }

    fn head(id: u64, epoch: u64) -> LogHead {
        LogHead {
            collection_id: id,
            epoch,
            modseq: 0,
            floor: 0,
        }
    }

    fn snapshot(collections: &[(u64, u64, &str, u64)], grants: &[(u64, u64, u32)]) -> Visibility {
        let heads: Vec<_> = collections.iter().map(|c| head(c.0, c.3)).collect();
        Visibility::new(
            collections
                .iter()
                .map(|c| collection(c.0, c.1, c.2))
                .collect(),
            &heads,
            grants.iter().map(|g| ((g.0, g.1), g.2)).collect(),
        )
    }

    #[test]
    fn a_rename_concerns_the_owner_and_every_grantee_and_nobody_else() {
        let before = snapshot(&[(1, 10, "Inbox", 1), (2, 20, "Cal", 1)], &[(30, 1, 1)]);
        let after = snapshot(&[(1, 10, "Received", 1), (2, 20, "Cal", 1)], &[(30, 1, 1)]);
        assert_eq!(before.affected(&after), BTreeSet::from([10, 30]));
        assert!(!before.heads_moved(&[head(1, 1), head(2, 1)]));
    }

    #[test]
    fn creation_deletion_and_recreation_concern_the_owner() {
        let before = snapshot(&[(1, 10, "Inbox", 1)], &[]);
        let created = snapshot(&[(1, 10, "Inbox", 1), (2, 20, "New", 1)], &[]);
        assert_eq!(before.affected(&created), BTreeSet::from([20]));
        assert_eq!(created.affected(&before), BTreeSet::from([20]));
        let recreated = snapshot(&[(1, 10, "Inbox", 2)], &[]);
        assert_eq!(before.affected(&recreated), BTreeSet::from([10]));
        assert!(before.heads_moved(&[head(1, 2)]));
        assert!(before.heads_moved(&[head(1, 1), head(2, 1)]));
    }

    #[test]
    fn a_grant_given_changed_or_withdrawn_concerns_its_grantee() {
        let base = [(1, 10, "Inbox", 1)];
        let none = snapshot(&base, &[]);
        let read = snapshot(&base, &[(30, 1, 1)]);
        let write = snapshot(&base, &[(30, 1, 3)]);
        assert_eq!(none.affected(&read), BTreeSet::from([30]));
        assert_eq!(read.affected(&write), BTreeSet::from([30]));
        assert_eq!(write.affected(&none), BTreeSet::from([30]));
        assert!(read.affected(&read.clone()).is_empty());
    }
}
