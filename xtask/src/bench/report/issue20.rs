//! Issue 20's goals: crypto against snow, and bytes on the wire against
//! JMAP and ActiveSync on the same items, each with its target.

use super::goals::{Goal, judged, median, speed_ratio};
use super::{bytes, wire_figure};
use crate::bench::measure::{Measured, Results};

/// Issue 20's crypto goals, as the sessions run: the device's pin and the
/// server's static-static DH cache on; snow is the reference.
pub(super) fn crypto_goals(r: &Results, goals: &mut Vec<Goal>) {
    let (ik, text) = speed_ratio(
        r,
        "ik_handshake: tidings_precomputed_ss / snow",
        "ik_handshake/tidings_precomputed_ss",
        "ik_handshake/snow",
    );
    let (plain, _) = speed_ratio(
        r,
        "ik_handshake: tidings / snow",
        "ik_handshake/tidings",
        "ik_handshake/snow",
    );
    goals.push(Goal {
        issue: 20,
        what: "Full IK handshake against snow's, time (as sessions run it: static-static DH cached)",
        measured: format!(
            "{text}; {} without the cache",
            plain.map_or("—".into(), |c| format!("{c:.3}×"))
        ),
        goal: "≤ 0.75×",
        status: judged(ik.map(|x| x <= 0.75)),
    });
    let (resp, text) = speed_ratio(
        r,
        "ik_responder: tidings_cached / snow",
        "ik_responder/tidings_cached",
        "ik_responder/snow",
    );
    goals.push(faster(
        "Server handshakes per second per core against snow's",
        (resp, &text, String::new()),
        ("≥ 1.3×", 1.3),
    ));
    let (t, text) = speed_ratio(
        r,
        "transport 16384 B: tidings / snow",
        "transport/tidings/16384",
        "transport/snow/16384",
    );
    let limit = median(r, "transport/ring/16384")
        .zip(median(r, "transport/snow/16384"))
        .map_or("—".into(), |(ring, snow)| format!("{:.2}×", snow / ring));
    goals.push(faster(
        "Transport seal + open of 16 KiB against snow's, throughput",
        (t, &text, format!("; ring, the limit: {limit}")),
        ("≥ 1.4×", 1.4),
    ));
}

/// A goal on speed against snow, judged on throughput: the inverse of
/// the time ratio `time` (shown with its sources, `text`, and `extra`).
fn faster(
    what: &'static str,
    (time, text, extra): (Option<f64>, &str, String),
    (goal, target): (&'static str, f64),
) -> Goal {
    Goal {
        issue: 20,
        what,
        measured: format!(
            "{} ({text} in time){extra}",
            time.map_or("—".into(), |t| format!("{:.3}×", 1.0 / t))
        ),
        goal,
        status: judged(time.map(|t| 1.0 / t >= target)),
    }
}

/// Tidings' total (down + up) and a peer's for one wire figure.
fn totals(r: &Results, id: &str, peer: &str) -> Option<(f64, f64)> {
    let f = wire_figure(r, id)?;
    Some((f["tidings"]["total"].as_f64()?, f[peer]["total"].as_f64()?))
}

fn against(r: &Results, id: &str, peer: &str, target: f64) -> (String, Option<bool>) {
    match totals(r, id, peer) {
        Some((t, p)) => (
            format!("{:.2}× ({} against {})", t / p, bytes(t), bytes(p)),
            Some(t / p <= target),
        ),
        None => ("—".into(), None),
    }
}

/// Issue 20's byte goals, from the wire report of the same run.
pub(super) fn byte_goals(r: &Results, goals: &mut Vec<Goal>) {
    let mut push = |what, goal, (measured, ok): (String, Option<bool>)| {
        goals.push(Goal {
            issue: 20,
            what,
            measured,
            goal,
            status: judged(ok),
        });
    };
    let total = |id: &str| wire_figure(r, id).and_then(|f| f["tidings"]["total"].as_f64());
    let keepalive = total("keepalive");
    push(
        "Keepalive per interval when idle, both directions",
        "≤ 24 B",
        (
            keepalive.map_or("—".into(), bytes),
            keepalive.map(|b| b <= 24.0),
        ),
    );
    let calendar = total("calendar_change");
    push(
        "Calendar answer or move, pushed alone, down + up (mean)",
        "≤ 100 B",
        (
            calendar.map_or("—".into(), bytes),
            calendar.map(|b| b <= 100.0),
        ),
    );
    push(
        "New mail pushed alone against JMAP pushed alone",
        "≤ 0.4×",
        against(r, "new_mail", "jmap", 0.4),
    );
    push(
        "New mail pushed alone against ActiveSync",
        "≤ 0.6×",
        against(r, "new_mail", "activesync", 0.6),
    );
    push(
        "Initial sync of 1,000 mails against JMAP batched",
        "≤ 1.0×",
        against(r, "initial_sync", "jmap", 1.0),
    );
    let day = match &r.wire {
        Measured::Yes(w) => w["day"]["protocols"].as_array().cloned(),
        _ => None,
    };
    let day_total = |name: &str| {
        day.as_ref()?
            .iter()
            .find(|p| p["name"] == name)
            .and_then(|p| p["total"].as_f64())
    };
    for (peer, what, goal, target) in [
        ("JMAP", "A councillor's day against JMAP", "≤ 0.3×", 0.3),
        (
            "ActiveSync",
            "A councillor's day against ActiveSync",
            "≤ 0.5×",
            0.5,
        ),
    ] {
        let measured = match (day_total("Tidings"), day_total(peer)) {
            (Some(t), Some(p)) => (
                format!("{:.2}× ({} against {})", t / p, bytes(t), bytes(p)),
                Some(t / p <= target),
            ),
            _ => ("—".into(), None),
        };
        push(what, goal, measured);
    }
}

/// The WASM client's apply of a 1,000-mail page against the native one,
/// both timed in this run on the same page.
pub(super) fn wasm_apply_goal(r: &Results, goals: &mut Vec<Goal>) {
    let native = median(r, "client_apply_1000_mails/tidings_replica");
    let wasm = match &r.wasm_apply {
        Measured::Yes(v) => v["median_ns"].as_f64(),
        _ => None,
    };
    let measured = match (wasm, native) {
        (Some(w), Some(n)) => format!(
            "{:.2}× ({} in Node against {} native)",
            w / n,
            super::time(w),
            super::time(n)
        ),
        _ => match &r.wasm_apply {
            Measured::Yes(_) => "—".into(),
            other => super::not_measured(other),
        },
    };
    goals.push(Goal {
        issue: 20,
        what: "WASM client apply of a 1,000-mail page against native",
        measured,
        goal: "≤ 3×",
        status: judged(wasm.zip(native).map(|(w, n)| w / n <= 3.0)),
    });
}
