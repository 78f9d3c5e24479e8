//! Bytes on the wire with TCP/IP counted (issue 20): Tidings' segments as
//! the kernel counted them on a real connection, the peers' as the same
//! rule models them, each segment 52 bytes of IPv4 and TCP headers.

use super::{bytes, ratio, wire_figure};
use crate::bench::measure::{Measured, Results};
use std::fmt::Write;

/// IPv4 and TCP headers with the timestamps option Linux sends on every
/// segment (the benches' `HEADERS_PER_SEGMENT`).
const HEADERS_PER_SEGMENT: usize = 20 + 20 + 12;

/// The figures shown, by the wire report's id.
const ROWS: [&str; 8] = [
    "new_mail",
    "new_mail_batch",
    "flag_change",
    "flag_change_batch",
    "new_event",
    "calendar_change",
    "keepalive",
    "initial_sync",
];

pub(crate) fn section(md: &mut String, r: &Results) {
    let Measured::Yes(wire) = &r.wire else {
        return;
    };
    let tcp = &wire["tcp"];
    if !tcp.is_object() {
        let _ = writeln!(
            md,
            "TCP/IP: not measured in this run (no TCP on loopback).\n"
        );
        return;
    }
    let header = HEADERS_PER_SEGMENT;
    let _ = writeln!(
        md,
        "### With TCP/IP\n\n\
         The same changes with the TCP/IP headers every segment pays ({header} B: IPv4, TCP \
         and the timestamps option). For Tidings the segments are counted, not assumed: the \
         sessions run over a real TCP connection on loopback with Ethernet's segment size \
         (send MSS {} B), and the kernel's counters (`TCP_INFO`) give every segment both \
         ways, data and pure ACKs, over the first 50 changes of each kind (one batch for \
         the batch rows; the initial sync's pages pushed to a connected device). The peers \
         are not run: their segments follow a model of their messages (each ⌈size / 1,448⌉ \
         data segments, an ACK for every second segment and the last, the last riding on \
         an immediate reply). The model applied to Tidings' own messages gives the \
         \"modelled\" column: how far the model is from the count. They agree for changes \
         pushed alone; for batches and the initial sync loopback hands the receiver whole \
         64 KiB writes, so it acknowledges less often than a real link would, and the \
         larger of the two is used for Tidings' bytes.\n\n\
         | Change | Tidings segments: counted / modelled | Tidings with TCP/IP | JMAP segments | \
         JMAP with TCP/IP | Tidings ÷ JMAP | ActiveSync segments | ActiveSync with TCP/IP | \
         Tidings ÷ ActiveSync |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        tcp["snd_mss"],
    );
    for id in ROWS {
        let (Some(f), Some(t)) = (wire_figure(r, id), tcp.get(id)) else {
            continue;
        };
        let n = |v: &serde_json::Value| v.as_f64();
        let per_change = f["changes"].as_f64().unwrap_or(1.0);
        // The initial sync's figure is for the whole sync, not per mail.
        let scale = if id == "initial_sync" {
            per_change
        } else {
            1.0
        };
        let counted = n(&t["segments"]).map(|s| s * scale);
        let modelled = n(&t["modelled"]).map(|s| s * scale);
        let with = |who: &str, segments: Option<f64>| {
            n(&f[who]["total"])
                .zip(segments)
                .map(|(b, s)| b + s * header as f64)
        };
        let charged = match (counted, modelled) {
            (Some(c), Some(m)) => Some(c.max(m)),
            (c, m) => c.or(m),
        };
        let tidings = with("tidings", charged);
        let jmap_segments = n(&f["jmap"]["segments"]);
        let activesync_segments = n(&f["activesync"]["segments"]);
        let jmap = with("jmap", jmap_segments);
        let activesync = with("activesync", activesync_segments);
        let segs = |s: Option<f64>| s.map_or("—".into(), |s| format!("{s:.1}"));
        let _ = writeln!(
            md,
            "| {} | {} / {} | {} | {} | {} | {} | {} | {} | {} |",
            f["label"].as_str().unwrap_or(id),
            segs(counted),
            segs(modelled),
            tidings.map_or("—".into(), bytes),
            segs(jmap_segments),
            jmap.map_or("—".into(), bytes),
            ratio(tidings, jmap),
            segs(activesync_segments),
            activesync.map_or("—".into(), bytes),
            ratio(tidings, activesync),
        );
    }
    md.push('\n');
}
