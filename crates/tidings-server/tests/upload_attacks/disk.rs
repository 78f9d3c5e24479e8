//! Disk: uploads that are never sent stay until their device starts a
//! fifth or is revoked. Nothing else (time, the device going quiet, a
//! restart) discards them: each device may keep 100 MiB indefinitely.

use crate::big_send::run;
use crate::site::{Site, serve};
use crate::support::*;
use std::time::Instant;
use tidings_server::seed;

fn db_bytes(dir: &std::path::Path) -> u64 {
    ["town.db", "town.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

/// Two devices each leave four 25 MiB uploads (the default budget allows
/// it within the hour); after they are gone and the server restarted, the
/// store still holds all 200 MiB. About 2 minutes in a debug build.
#[test]
#[ignore = "uploads 200 MiB"]
fn abandoned_uploads_stay_until_revoked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let site = Site::sqlite(dir.path());
    run(async {
        let before = db_bytes(dir.path());
        let mut devices = Vec::new();
        {
            let server = serve(&site, dir.path(), "disk", 256);
            for n in 0..2 {
                let mut dev = site.device(&server.tcp, seed::CHIEF).await;
                let started = Instant::now();
                for k in 0..4 {
                    upload(&mut dev, &upload_id(), &file(FILE_25, 10 + n * 4 + k), 32).await;
                }
                println!("device {n}: 4 × 25 MiB in {:?}", started.elapsed());
                devices.push(dev.close().await.expect("close").device_id());
            }
            println!("server RSS after: {:.0} MiB", mib(server.rss()));
        }
        // Restarted: nothing on start discards them either.
        let _server = serve(&site, dir.path(), "disk-again", 256);
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        let held: Vec<usize> = devices.iter().map(|d| site.uploads(*d)).collect();
        let grown = db_bytes(dir.path()).saturating_sub(before);
        println!(
            "uploads held per device after restart: {held:?}; database grew {:.0} MiB",
            mib(grown)
        );
        assert_eq!(held, [4, 4], "the documented bound: four per device");
    });
}
