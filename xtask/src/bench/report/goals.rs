//! Every performance goal named in the earlier issues, as met, not met, or
//! not measured in this run.

use super::{bytes, not_measured, ratio, time, wire_figure};
use crate::bench::measure::{Measured, Results, number_after};
use std::fmt::Write;

pub(super) enum Status {
    Met,
    NotMet,
    NotMeasured,
    /// The issue names the figure but sets no target.
    Reported,
}

pub(super) struct Goal {
    pub(super) issue: u32,
    pub(super) what: &'static str,
    pub(super) measured: String,
    pub(super) goal: &'static str,
    pub(super) status: Status,
}

pub(super) fn judged(ok: Option<bool>) -> Status {
    match ok {
        Some(true) => Status::Met,
        Some(false) => Status::NotMet,
        None => Status::NotMeasured,
    }
}

fn reported(measured: Option<String>) -> (String, Status) {
    match measured {
        Some(m) => (m, Status::Reported),
        None => ("—".into(), Status::NotMeasured),
    }
}

pub(super) fn median(r: &Results, id: &str) -> Option<f64> {
    r.criterion.get(id).copied()
}

/// The fan-out bench's id and its number of sessions.
pub(crate) fn fan_out(r: &Results) -> Option<(f64, f64)> {
    let (id, t) = r
        .criterion
        .iter()
        .find(|(id, _)| id.starts_with("session/push_one_mail_to_"))?;
    let devices: f64 = id
        .trim_start_matches("session/push_one_mail_to_")
        .trim_end_matches("_sessions")
        .parse()
        .ok()?;
    Some((*t, devices))
}

/// Interleaved ratio if ab_ratio ran, else the criterion medians' ratio.
pub(super) fn speed_ratio(r: &Results, ab: &str, a: &str, b: &str) -> (Option<f64>, String) {
    let criterion = match (median(r, a), median(r, b)) {
        (Some(a), Some(b)) => Some(a / b),
        _ => None,
    };
    let shown = |x: Option<f64>| x.map_or("—".to_string(), |x| format!("{x:.3}×"));
    let interleaved = r.ab_ratio.get(ab).copied();
    let text = format!(
        "{} interleaved, {} criterion",
        shown(interleaved),
        shown(criterion)
    );
    (interleaved.or(criterion), text)
}

fn goals(r: &Results) -> Vec<Goal> {
    let mut goals = Vec::new();
    let compress = r.outputs.get("compress").map(String::as_str).unwrap_or("");
    let prefix = "bytes per real mail item";
    let (plain, dict) = (
        number_after(compress, prefix, 2),
        number_after(compress, prefix, 3),
    );
    goals.push(Goal {
        issue: 2,
        what: "The preset dictionary pays (bytes per real mail item)",
        measured: match (plain, dict) {
            (Some(p), Some(d)) => format!(
                "{} with it, {} without ({:+.1}%)",
                bytes(d),
                bytes(p),
                100.0 * (d - p) / p
            ),
            _ => "—".into(),
        },
        goal: "fewer bytes with it",
        status: judged(plain.zip(dict).map(|(p, d)| d < p)),
    });
    let (pack, raw) = (
        median(r, "pack_real_mail/tidings_encode_pack_pad_dict"),
        median(r, "pack_real_mail/flate2_raw_deflate"),
    );
    let (measured, status) = reported(pack.zip(raw).map(|(p, f)| {
        format!(
            "{} ({} against {})",
            ratio(Some(p), Some(f)),
            time(p),
            time(f)
        )
    }));
    goals.push(Goal {
        issue: 2,
        what: "Encode → compress → pad of real mail against raw flate2, time",
        measured,
        goal: "—",
        status,
    });
    let bomb = match &r.wire {
        Measured::Yes(w) => Some(&w["inflate_bomb"]),
        _ => None,
    };
    let peak = bomb.and_then(|b| b["peak_bytes"].as_f64());
    let cap = bomb.and_then(|b| b["cap"].as_f64());
    let refused = bomb.and_then(|b| b["refused"].as_bool());
    goals.push(Goal {
        issue: 2,
        what: "A decompression bomb is refused at the cap with bounded memory",
        measured: match (peak, refused) {
            (Some(p), Some(true)) => format!("refused, peak {}", bytes(p)),
            (Some(p), _) => format!("**not refused**, peak {}", bytes(p)),
            _ => "—".into(),
        },
        goal: "peak < cap (4 MiB) + 1 MiB",
        status: judged(
            peak.zip(cap)
                .zip(refused)
                .map(|((p, c), ok)| ok && p < c + 1_048_576.0),
        ),
    });

    super::issue20::crypto_goals(r, &mut goals);
    for size in [1024, 16384] {
        let (t, text) = speed_ratio(
            r,
            &format!("transport {size} B: tidings / aes-gcm"),
            &format!("transport/tidings/{size}"),
            &format!("transport/aes-gcm/{size}"),
        );
        goals.push(Goal {
            issue: 3,
            what: if size == 1024 {
                "Transport seal + open of 1 KiB against raw aes-gcm, throughput"
            } else {
                "Transport seal + open of 16 KiB against raw aes-gcm, throughput"
            },
            measured: format!(
                "{} throughput ({text} in time)",
                t.map_or("—".into(), |t| format!("{:.3}×", 1.0 / t))
            ),
            goal: "≥ 0.9×",
            status: judged(t.map(|t| 1.0 / t >= 0.9)),
        });
    }
    let (small, large) = (
        median(r, "delta_10_changes/1000"),
        median(r, "delta_10_changes/1000000"),
    );
    goals.push(Goal {
        issue: 4,
        what: "A 10-change delta at 1,000,000 items against 1,000",
        measured: format!(
            "{} ({} against {})",
            ratio(large, small),
            large.map_or("—".into(), time),
            small.map_or("—".into(), time)
        ),
        goal: "≤ 2×",
        status: judged(large.zip(small).map(|(l, s)| l / s <= 2.0)),
    });
    let (measured, status) =
        reported(median(r, "initial_page_1000_mails_delta_and_encode").map(time));
    goals.push(Goal {
        issue: 4,
        what: "Encoding an initial sync page of 1,000 mails",
        measured,
        goal: "—",
        status,
    });
    let sync = median(r, "session/initial_sync_10000_mails");
    goals.push(Goal {
        issue: 5,
        what: "Initial sync of 10,000 mails, server encode + client apply",
        measured: sync.map_or("—".into(), time),
        goal: "≤ 100 ms",
        status: judged(sync.map(|t| t <= 100e6)),
    });
    let fan = fan_out(r);
    goals.push(Goal {
        issue: 5,
        what: "One new mail pushed to ~10,000 sessions, per device",
        measured: fan.map_or("—".into(), |(t, n)| {
            format!("{} ({} sessions)", time(t / n), super::thousands(n))
        }),
        goal: "≤ 0.5 µs",
        status: judged(fan.map(|(t, n)| t / n <= 500.0)),
    });
    let memory = r
        .outputs
        .get("session")
        .and_then(|o| number_after(o, "server memory per idle connected session:", 0));
    goals.push(Goal {
        issue: 5,
        what: "Server memory per idle connected session (the session struct and all it holds)",
        measured: memory.map_or("—".into(), bytes),
        goal: "≤ 2 KiB",
        status: judged(memory.map(|m| m <= 2048.0)),
    });
    let flag = wire_figure(r, "flag_change").and_then(|f| f["tidings"]["down"].as_f64());
    goals.push(Goal {
        issue: 5,
        what: "Bytes on the wire per flag change (the delta down)",
        measured: flag.map_or("—".into(), bytes),
        goal: "≤ 32 B",
        status: judged(flag.map(|b| b <= 32.0)),
    });
    let down = |id: &str| wire_figure(r, id).and_then(|f| f["tidings"]["down"].as_f64());
    let (measured, status) = reported(down("new_mail").map(|b| format!("{} (mean)", bytes(b))));
    goals.push(Goal {
        issue: 5,
        what: "Bytes on the wire per new-mail delta (down)",
        measured,
        goal: "—",
        status,
    });
    let server = match &r.server {
        Measured::Yes(s) => Some(format!(
            "{} pushes/s, {} per device",
            s["pushes_per_second"]
                .as_f64()
                .map_or("—".into(), super::thousands),
            s["rss_per_device_bytes"].as_f64().map_or("—".into(), bytes)
        )),
        _ => None,
    };
    let (measured, status) = match server {
        Some(m) => (m, Status::Reported),
        None => (not_measured(&r.server), Status::NotMeasured),
    };
    goals.push(Goal {
        issue: 6,
        what: "Reference server: pushes per second and peak memory per device, 10,000 devices",
        measured,
        goal: "—",
        status,
    });
    let wasm = match &r.wasm {
        Measured::Yes((name, _, gz)) => {
            (format!("{} gzipped ({name})", bytes(*gz as f64)), Some(*gz))
        }
        other => (not_measured(other), None),
    };
    goals.push(Goal {
        issue: 8,
        what: "WASM module, gzipped",
        measured: wasm.0,
        goal: "≤ 150 KB",
        status: judged(wasm.1.map(|gz| gz <= 150_000)),
    });
    goals.push(Goal {
        issue: 9,
        what: "`cargo xtask bench` on 2 cores",
        measured: format!("{:.1} min on {} cores", r.seconds / 60.0, r.machine.cores),
        goal: "≤ 20 min",
        status: judged(Some(r.seconds <= 1200.0)),
    });
    super::issue20::byte_goals(r, &mut goals);
    super::issue20::wasm_apply_goal(r, &mut goals);
    goals
}

pub(crate) fn section(md: &mut String, r: &Results) {
    let goals = goals(r);
    let count = |f: fn(&Status) -> bool| goals.iter().filter(|g| f(&g.status)).count();
    let _ = writeln!(
        md,
        "## Goals named in earlier issues\n\n\
         {} met, {} not met, {} not measured in this run; {} more figures are named \
         without a target and reported.\n\n\
         | Issue | Goal | Measured | Target | Status |\n|---|---|---|---|---|",
        count(|s| matches!(s, Status::Met)),
        count(|s| matches!(s, Status::NotMet)),
        count(|s| matches!(s, Status::NotMeasured)),
        count(|s| matches!(s, Status::Reported)),
    );
    for g in &goals {
        let status = match g.status {
            Status::Met => "met",
            Status::NotMet => "**not met**",
            Status::NotMeasured => "not measured",
            Status::Reported => "reported",
        };
        let _ = writeln!(
            md,
            "| #{} | {} | {} | {} | {} |",
            g.issue, g.what, g.measured, g.goal, status
        );
    }
    md.push('\n');
}
