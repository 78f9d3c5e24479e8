//! BENCH SUPPORT ONLY (feature `loopback-server`): a client's apply of one
//! delta page, repeated, so `cargo xtask bench` can time in Node the very
//! code the native benchmark times (`client_apply_1000_mails`). Never in the
//! npm package.

use crate::error::Thrown;
use tidings::compress::InflateLimits;
use tidings::proto::{self, DeltaPage};
use tidings::sync::CollectionReplica;
use wasm_bindgen::prelude::*;

/// BENCH SUPPORT: one decoded delta page.
#[wasm_bindgen]
pub struct BenchPage {
    page: DeltaPage,
    limits: InflateLimits,
}

#[wasm_bindgen]
impl BenchPage {
    /// Decodes a `DeltaPage` protobuf (as the native benchmark writes it).
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &[u8]) -> Result<BenchPage, Thrown> {
        Ok(Self {
            page: proto::decode(bytes)?,
            limits: InflateLimits::default(),
        })
    }

    /// Applies the page to a new, empty replica of its collection, as a
    /// device's first sync does; returns how many items it then holds.
    #[wasm_bindgen(js_name = applyFresh)]
    pub fn apply_fresh(&self) -> Result<u32, Thrown> {
        let mut replica = CollectionReplica::new(self.page.collection_id);
        replica.apply(&self.page, &self.limits)?;
        Ok(u32::try_from(replica.items().len()).unwrap_or(u32::MAX))
    }
}
