//! Admin commands that make the server show behaviours an outside
//! implementation must handle (docs/spec/conformance.md): a compacted
//! change log, a recreated collection. A running server notices the write
//! and serves every connected device accordingly.

use tidings_server::admin;
use tidings_server::store::SqliteStore;
use tidings_store_postgres::PostgresStore;

/// The mail folder `folder` of `email`.
fn folder(store: &SqliteStore, email: &str, folder: &str) -> tidings::Result<u64> {
    let principal = admin::principal(store, email)?;
    admin::existing_folder(store, principal.id, folder)
}

/// Compacts the folder's change log up to its head: its removals are
/// forgotten, so a device whose cursor is below the new floor gets
/// `ResyncRequired { LOG_COMPACTED }`. Returns the new floor.
pub(crate) fn compact(store: &mut SqliteStore, email: &str, name: &str) -> tidings::Result<u64> {
    let collection = folder(store, email, name)?;
    store.transaction(|s| {
        let head = s.head(collection)?;
        s.compact(collection, head.modseq)?;
        Ok(head.modseq)
    })
}

/// [`compact`] on PostgreSQL: tombstones grow there as on SQLite, and the
/// operator needs the same way to forget them.
pub(crate) fn compact_postgres(
    store: &mut PostgresStore,
    email: &str,
    name: &str,
) -> tidings::Result<u64> {
    let principal = admin::principal(store, email)?;
    let collection = admin::existing_folder(store, principal.id, name)?;
    let head = store.head(collection)?;
    store.compact(collection, head.modseq)?;
    Ok(head.modseq)
}

/// Starts the folder afresh in a new epoch with no items: every device
/// gets `ResyncRequired { RECREATED }`. Returns the new epoch.
pub(crate) fn recreate(store: &mut SqliteStore, email: &str, name: &str) -> tidings::Result<u64> {
    let collection = folder(store, email, name)?;
    store.transaction(|s| s.recreate_collection(collection))
}
