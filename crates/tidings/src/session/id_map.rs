//! A small map from ids to values, kept sorted in one vector: what a
//! session keeps per followed collection. A device follows a handful of
//! collections (its own and those delegated to it); a B-tree's first node
//! holds room for eleven, which for a few followed collections was most of
//! an idle session's memory, and lookups here are a binary search.

/// Ids to values, in id order, with no spare capacity once built.
#[derive(Clone, Debug)]
pub(crate) struct IdMap<V> {
    entries: Vec<(u64, V)>,
}

impl<V> Default for IdMap<V> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<V> IdMap<V> {
    fn find(&self, id: u64) -> Result<usize, usize> {
        self.entries.binary_search_by_key(&id, |(key, _)| *key)
    }

    pub(crate) fn clear(&mut self) {
        self.entries = Vec::new();
    }

    /// Sets the value of `id`, replacing any.
    pub(crate) fn insert(&mut self, id: u64, value: V) {
        match self.find(id) {
            Ok(at) => {
                if let Some(entry) = self.entries.get_mut(at) {
                    entry.1 = value;
                }
            }
            Err(at) => self.entries.insert(at, (id, value)),
        }
    }

    /// Inserts `make()` for `id` unless `id` has a value.
    pub(crate) fn insert_if_absent(&mut self, id: u64, make: impl FnOnce() -> V) {
        if let Err(at) = self.find(id) {
            self.entries.insert(at, (id, make()));
        }
    }

    pub(crate) fn get(&self, id: u64) -> Option<&V> {
        let at = self.find(id).ok()?;
        self.entries.get(at).map(|(_, value)| value)
    }

    pub(crate) fn get_mut(&mut self, id: u64) -> Option<&mut V> {
        let at = self.find(id).ok()?;
        self.entries.get_mut(at).map(|(_, value)| value)
    }

    /// Keeps only the entries `keep` says yes to.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(u64, &V) -> bool) {
        self.entries.retain(|(id, value)| keep(*id, value));
    }

    /// Gives back spare capacity: call once the map is built.
    pub(crate) fn shrink(&mut self) {
        self.entries.shrink_to_fit();
    }

    /// The entries in id order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, &V)> {
        self.entries.iter().map(|(id, value)| (*id, value))
    }
}

#[cfg(test)]
mod tests {
    use super::IdMap;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u64, u32),
        InsertIfAbsent(u64, u32),
        Bump(u64),
        RetainBelow(u64),
        Clear,
    }

    fn op() -> impl Strategy<Value = Op> {
        let id = 0u64..16;
        prop_oneof![
            (id.clone(), any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
            (id.clone(), any::<u32>()).prop_map(|(k, v)| Op::InsertIfAbsent(k, v)),
            id.clone().prop_map(Op::Bump),
            id.prop_map(Op::RetainBelow),
            Just(Op::Clear),
        ]
    }

    proptest! {
        /// Any sequence of operations leaves the same entries as a B-tree.
        #[test]
        fn behaves_as_a_btree_map(ops in proptest::collection::vec(op(), 0..64)) {
            let mut map = IdMap::default();
            let mut model = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => {
                        map.insert(k, v);
                        model.insert(k, v);
                    }
                    Op::InsertIfAbsent(k, v) => {
                        map.insert_if_absent(k, || v);
                        model.entry(k).or_insert(v);
                    }
                    Op::Bump(k) => {
                        if let Some(v) = map.get_mut(k) {
                            *v = v.wrapping_add(1);
                        }
                        if let Some(v) = model.get_mut(&k) {
                            *v = v.wrapping_add(1);
                        }
                    }
                    Op::RetainBelow(k) => {
                        map.retain(|id, _| id < k);
                        model.retain(|id, _| *id < k);
                    }
                    Op::Clear => {
                        map.clear();
                        model.clear();
                    }
                }
                map.shrink();
                let entries: Vec<_> = map.iter().map(|(k, v)| (k, *v)).collect();
                let expected: Vec<_> = model.iter().map(|(k, v)| (*k, *v)).collect();
                prop_assert_eq!(entries, expected);
                for k in 0..16 {
                    prop_assert_eq!(map.get(k), model.get(&k));
                }
            }
        }
    }
}
