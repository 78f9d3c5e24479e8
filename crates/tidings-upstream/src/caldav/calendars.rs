//! The calendar list: discovery (current-user-principal → calendar-home-set
//! → calendars) against the mirrored calendars, and shares. A new calendar
//! becomes a collection, a renamed one is renamed, one gone takes its
//! collection with it; a share whose owner is mirrored becomes a grant with
//! the login's upstream rights.
//!
//! Shares are found two ways. Configured ones (`calendars = [...]`) are
//! asked for by href. Discovered ones come from the upstream's own access
//! rules: every calendar another configured principal mirrors is asked for
//! this login's `current-user-privilege-set` (RFC 3744), and one it may read
//! is a grant. That works on any server with WebDAV ACL reporting,
//! including those whose sharing is only an access rule (Radicale's rights
//! file), at one `PROPFIND` per such calendar per list round; an operator
//! with many principals turns it off (`discover_shares = false`) and lists
//! shares instead.

use super::client::{Privileges, RemoteCalendar};
use super::state::{self, Calendar};
use super::sync::CalAccount;
use crate::account::lock;
use tidings::Result;
use tidings::proto::CollectionKind;
use tidings::sync::Rights;
use tidings_store_sqlite::SqliteStore;

impl CalAccount {
    /// Reconciles the mirrored calendars with the server's: a new one
    /// becomes a collection, a renamed one is renamed, one gone takes its
    /// collection with it. A configured shared calendar that another
    /// principal mirrors becomes a grant on that principal's collection,
    /// with the rights the login has upstream; a share withdrawn revokes
    /// it. Returns the calendars afterwards.
    pub async fn sync_calendar_list(&mut self) -> Result<Vec<Calendar>> {
        let mut remote = self.client.discover().await?;
        let mut shared = Vec::new();
        for href in self.extra.clone() {
            if remote.iter().any(|c| same_href(&c.href, &href)) {
                continue;
            }
            let owner = {
                let store = lock(&self.store)?;
                state::mirrored_elsewhere(store.companion_sql(), self.principal, &href)?
            };
            match owner {
                Some(collection) => {
                    let privileges = self.client.privileges(&href).await?;
                    shared.push((collection, rights_of(privileges)));
                }
                None => {
                    if let Some(calendar) = self.client.calendar_named(&href).await? {
                        remote.push(calendar);
                    }
                }
            }
        }
        if self.discover_shares {
            self.discover_shares(&mut shared).await?;
        }
        let known = self.calendars()?;
        within_bounds(&mut remote, &known);
        let principal = self.principal;
        self.transaction(|store| {
            reconcile(store, principal, &known, &remote)?;
            reconcile_grants(store, principal, &shared)
        })?;
        self.calendars()
    }
}

impl CalAccount {
    /// Adds to `shared` every calendar another principal mirrors that this
    /// login may read upstream (and is not in `shared` yet), with its rights.
    async fn discover_shares(&self, shared: &mut Vec<(u64, Rights)>) -> Result<()> {
        let others = {
            let store = lock(&self.store)?;
            state::calendars_elsewhere(store.companion_sql(), self.principal)?
        };
        for (collection, href) in others {
            if shared.iter().any(|&(c, _)| c == collection) {
                continue;
            }
            let rights = rights_of(self.client.privileges(&href).await?);
            if rights != Rights::NONE {
                shared.push((collection, rights));
            }
        }
        Ok(())
    }
}

/// Most calendars mirrored per account. A device is told its whole
/// collection list in one message, which must fit one frame (5,000
/// calendars in a home locked every device of the principal out).
pub const MAX_CALENDARS: usize = 200;
/// Most bytes of calendar names mirrored per account, in all.
pub const MAX_CALENDAR_NAME_BYTES: usize = 16 << 10;

/// Keeps in `remote` the calendars mirrored already and, in the server's
/// order, new ones while [`MAX_CALENDARS`] and [`MAX_CALENDAR_NAME_BYTES`]
/// hold; warns of those left out.
fn within_bounds(remote: &mut Vec<RemoteCalendar>, known: &[Calendar]) {
    let is_known = |c: &RemoteCalendar| known.iter().any(|k| same_href(&k.href, &c.href));
    let (mut count, mut bytes) = remote
        .iter()
        .filter(|c| is_known(c))
        .fold((0usize, 0usize), |(n, b), c| {
            (n + 1, b.saturating_add(c.name.len()))
        });
    let mut left_out = 0usize;
    remote.retain(|c| {
        if is_known(c) {
            return true;
        }
        let fits =
            count < MAX_CALENDARS && bytes.saturating_add(c.name.len()) <= MAX_CALENDAR_NAME_BYTES;
        if fits {
            count += 1;
            bytes = bytes.saturating_add(c.name.len());
        } else {
            left_out += 1;
        }
        fits
    });
    if left_out > 0 {
        tracing::warn!(
            left_out,
            mirrored = count,
            "upstream calendars beyond the per-account bounds ({MAX_CALENDARS} calendars, \
             {MAX_CALENDAR_NAME_BYTES} bytes of names) are not mirrored"
        );
    }
}

fn same_href(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

fn reconcile(
    store: &mut SqliteStore,
    principal: u64,
    known: &[Calendar],
    remote: &[RemoteCalendar],
) -> Result<()> {
    for calendar in remote {
        match known.iter().find(|k| same_href(&k.href, &calendar.href)) {
            Some(k) if k.name != calendar.name => {
                store.rename_collection(k.collection, &calendar.name)?;
                state::rename_calendar(store.companion_sql(), k.collection, &calendar.name)?;
            }
            Some(_) => {}
            None => {
                let collection = adopt_or_add(store, principal, known, &calendar.name)?;
                state::add_calendar(
                    store.companion_sql(),
                    principal,
                    collection,
                    &calendar.href,
                    &calendar.name,
                )?;
            }
        }
    }
    for gone in known
        .iter()
        .filter(|k| !remote.iter().any(|c| same_href(&k.href, &c.href)))
    {
        store.delete_collection(gone.collection)?;
        state::remove_calendar(store.companion_sql(), gone.collection)?;
    }
    Ok(())
}

/// Upstream privileges as the protocol's rights: write lets a delegate
/// edit and answer invitations, read only read; neither is no grant.
fn rights_of(privileges: Option<Privileges>) -> Rights {
    match privileges {
        Some(Privileges { write: true, .. }) => {
            Rights::READ.union(Rights::WRITE).union(Rights::RESPOND)
        }
        Some(Privileges { read: true, .. }) => Rights::READ,
        _ => Rights::NONE,
    }
}

/// Makes the mirror's grants to `principal` exactly `shared`.
fn reconcile_grants(
    store: &mut SqliteStore,
    principal: u64,
    shared: &[(u64, Rights)],
) -> Result<()> {
    let held = state::grants(store.companion_sql(), principal)?;
    for &(collection, rights) in shared {
        if held.contains(&(collection, rights.bits())) {
            continue;
        }
        store.grant(collection, principal, rights)?;
        state::put_grant(store.companion_sql(), principal, collection, rights.bits())?;
    }
    for &(collection, _) in &held {
        if !shared.iter().any(|&(c, _)| c == collection) {
            store.grant(collection, principal, Rights::NONE)?;
            state::remove_grant(store.companion_sql(), principal, collection)?;
        }
    }
    Ok(())
}

/// The collection for a new upstream calendar: a calendar of the same name
/// the principal already has and that is not mirrored (one the server made
/// with the principal) is adopted, emptied in a new epoch; else a new one.
fn adopt_or_add(
    store: &mut SqliteStore,
    principal: u64,
    known: &[Calendar],
    name: &str,
) -> Result<u64> {
    let existing = store.owned_collections(principal)?.into_iter().find(|c| {
        c.kind == CollectionKind::Calendar
            && c.name == name
            && !known.iter().any(|k| k.collection == c.id)
            && state::calendar(store.companion_sql(), c.id)
                .ok()
                .flatten()
                .is_none()
    });
    match existing {
        Some(collection) => {
            store.recreate_collection(collection.id)?;
            Ok(collection.id)
        }
        None => store.add_collection(principal, CollectionKind::Calendar, name),
    }
}

#[cfg(test)]
mod bounds_tests {
    use super::*;

    fn remote(n: usize, name_len: usize) -> RemoteCalendar {
        RemoteCalendar {
            href: format!("/cal/{n}/"),
            name: format!("{n:05}{}", "x".repeat(name_len)),
        }
    }

    #[test]
    fn a_home_of_thousands_of_calendars_is_mirrored_up_to_the_bounds() {
        let known = vec![Calendar {
            collection: 9,
            href: "/cal/4999".to_owned(),
            name: "kept".to_owned(),
            sync_token: String::new(),
        }];
        let mut listed: Vec<RemoteCalendar> = (0..5_000).map(|n| remote(n, 0)).collect();
        within_bounds(&mut listed, &known);
        assert_eq!(listed.len(), MAX_CALENDARS);
        assert_eq!(listed[0].href, "/cal/0/", "the server's order");
        assert!(
            listed.iter().any(|c| c.href == "/cal/4999/"),
            "a mirrored one keeps its place"
        );

        let mut long: Vec<RemoteCalendar> = (0..200).map(|n| remote(n, 195)).collect();
        within_bounds(&mut long, &[]);
        let bytes: usize = long.iter().map(|c| c.name.len()).sum();
        assert!(
            bytes <= MAX_CALENDAR_NAME_BYTES && long.len() < 200,
            "{bytes}"
        );
    }
}
