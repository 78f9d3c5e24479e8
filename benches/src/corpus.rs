//! Real calendars the project did not write: the test calendars shipped in
//! the Python `icalendar` package (`cargo xtask test` installs the pinned
//! version), as Tidings calendar items.

use std::path::{Path, PathBuf};
use std::process::Command;
use tidings::proto::CalendarItem;
use tidings::sync::ical::calendar_items_from_ical;

/// The `tests` directory of the `icalendar` package, found through
/// `python3`.
pub fn icalendar_tests_dir() -> Option<PathBuf> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import os, icalendar; print(os.path.join(os.path.dirname(icalendar.__file__), 'tests'))",
        ])
        .output()
        .ok()?;
    let dir = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    dir.is_dir().then_some(dir)
}

fn ics_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            ics_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "ics") {
            out.push(path);
        }
    }
}

/// Every event series in the package's `.ics` files that Tidings accepts,
/// in file-name order, with `calendar_id` 1 and ids from 1; and how many
/// files they came from.
pub fn real_calendar_items() -> (Vec<CalendarItem>, usize) {
    let Some(dir) = icalendar_tests_dir() else {
        return (Vec::new(), 0);
    };
    let mut files = Vec::new();
    ics_files(&dir, &mut files);
    files.sort();
    let mut items = Vec::new();
    let mut used = 0;
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if let Ok(parsed) = calendar_items_from_ical(&text, 1) {
            used += 1;
            items.extend(parsed);
        }
    }
    for (n, item) in items.iter_mut().enumerate() {
        item.id = n as u64 + 1;
        item.version = 1;
    }
    (items, used)
}
