//! The push-at-scale section (issue 16): one new mail to every idle device,
//! a burst and a reconnect storm, on SQLite and on PostgreSQL with one and
//! two processes, against the goals. `cargo xtask bench --load` rewrites only this
//! section (between its markers) in an existing `docs/performance.md`.

use super::{bytes, not_measured};
use crate::bench::measure::{LoadRun, Measured};
use std::fmt::Write;

/// The markers around the section.
pub(crate) const BEGIN: &str = "<!-- load: `cargo xtask bench --load` rewrites this section -->";
pub(crate) const END: &str = "<!-- /load -->";

/// Goals of issue 16, in milliseconds and bytes.
const SERVER_SIDE_MS: f64 = 50.0;
const END_TO_END_P99_MS: f64 = 150.0;
const TWO_PROCESSES_P99_MS: f64 = 250.0;
const RSS_PER_IDLE_DEVICE: f64 = 4096.0;
const STORM_VS_IN_CORE: f64 = 0.8;

fn ms(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| format!("{v:.1} ms"))
}

fn micros(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| format!("{v:.1} µs"))
}

/// CPU time with the kernel's share of it.
fn cpu(total: Option<f64>, kernel: Option<f64>) -> String {
    match (total, kernel) {
        (Some(t), Some(k)) => format!("{t:.1} µs ({k:.1} kernel)"),
        _ => micros(total),
    }
}

fn storm(
    seconds: Option<f64>,
    rate: Option<f64>,
    in_core: Option<f64>,
    cpu: (Option<f64>, Option<f64>),
    kernel: (Option<f64>, Option<f64>),
) -> String {
    let figures = match (seconds, rate, in_core) {
        (Some(s), Some(r), Some(c)) => format!("{s:.2} s, {r:.0}/s ({c:.0}/s)"),
        _ => return "—".into(),
    };
    let figures = match (cpu, in_core) {
        ((Some(server), Some(clients)), Some(c)) => format!(
            "{figures}; CPU per reconnect {server:.0} / {clients:.0} µs (in-core {:.0} µs)",
            1e6 / c
        ),
        _ => figures,
    };
    match kernel {
        (Some(server), Some(clients)) => {
            format!("{figures}, in the kernel {server:.0} / {clients:.0} µs")
        }
        _ => figures,
    }
}

fn status(measured: Option<f64>, target: f64) -> &'static str {
    match measured {
        Some(v) if v <= target => "met",
        Some(_) => "**not met**",
        None => "not measured",
    }
}

/// The section, markers included.
pub(crate) fn section(runs: &[LoadRun], load_start: &str, load_end: &str) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "{BEGIN}\n### Push at scale (issue 16)\n");
    let _ = writeln!(
        md,
        "Release build, loopback; the clients run in a process of their own and every server \
         in its own; PostgreSQL is a throwaway cluster started by the load example (`fsync` \
         off, as the tests start it). Load average {load_start} at the start of these runs \
         and {load_end} at the end; the clients share the two cores with the server. Server \
         side is from the commit of the mail to the last frame the server hands to the \
         kernel (its own counter); end to end is from the commit to the event on each \
         device. CPU per device is what each process spent on the one mail (the push, its \
         acknowledgement) divided by the devices, with what the kernel spent of it for \
         the process in parentheses (on loopback a send delivers into the peer's socket \
         inside the sender's system call). The reconnect storm drops every \
         connection at once and brings each device back by IK until it is caught up; the \
         in-core rate is the same reconnect with both ends in one thread over a memory \
         store, so the storm is set against that rate times the cores; its CPU per reconnect \
         is the server's / the clients', against the in-core reconnect's (both ends), \
         and the kernel's share of each. What dominates \
         each goal not met is in [performance-push.md](performance-push.md). Reproduce \
         with `cargo xtask bench --load` (this section only), or each run with the \
         command shown.\n"
    );
    let _ = writeln!(
        md,
        "| Run | One new mail: server side | frames sent | end to end p50 / p99 / max | \
         CPU per device: server / clients | Burst: p50 / p99 / max | Idle RSS per device | \
         Reconnect storm: time, rate (in-core rate per core) |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|"
    );
    for run in runs {
        match &run.result {
            Measured::Yes(v) => {
                let f = |k: &str| v[k].as_f64();
                let _ = writeln!(
                    md,
                    "| {} (`{}`) | {} | {} | {} / {} / {} | {} / {} | {} / {} / {} ({} mails) | {} | {} |",
                    run.label,
                    run.command,
                    ms(f("single_server_ms")),
                    f("single_frames").map_or("—".into(), |n| format!("{n:.0}")),
                    ms(f("single_p50_ms")),
                    ms(f("single_p99_ms")),
                    ms(f("single_max_ms")),
                    cpu(
                        f("single_server_cpu_us_per_device"),
                        f("single_server_kernel_us_per_device")
                    ),
                    cpu(
                        f("single_client_cpu_us_per_device"),
                        f("single_client_kernel_us_per_device")
                    ),
                    ms(f("p50_push_latency_ms")),
                    ms(f("p99_push_latency_ms")),
                    ms(f("max_push_latency_ms")),
                    v["mails"],
                    f("idle_rss_per_device_bytes").map_or("—".into(), bytes),
                    storm(
                        f("storm_seconds"),
                        f("storm_reconnects_per_second"),
                        f("in_core_reconnects_per_second_per_core"),
                        (
                            f("storm_server_cpu_us_per_reconnect"),
                            f("storm_client_cpu_us_per_reconnect"),
                        ),
                        (
                            f("storm_server_kernel_us_per_reconnect"),
                            f("storm_client_kernel_us_per_reconnect"),
                        ),
                    ),
                );
            }
            other => {
                let _ = writeln!(
                    md,
                    "| {} (`{}`) | {} | | | | | | |",
                    run.label,
                    run.command,
                    not_measured(other)
                );
            }
        }
    }
    let figure = |label: &str, key: &str| {
        runs.iter()
            .find(|r| r.label == label)
            .and_then(|r| match &r.result {
                Measured::Yes(v) => v[key].as_f64(),
                _ => None,
            })
    };
    let rss = |label: &str| figure(label, "idle_rss_per_device_bytes");
    let _ = writeln!(
        md,
        "\nAgainst the issue's goals:\n\n| Goal | Measured | Target | Status |\n|---|---|---|---|"
    );
    let mut goal = |what: &str, measured: String, target: &str, status: &str| {
        let _ = writeln!(md, "| {what} | {measured} | {target} | {status} |");
    };
    for (label, store) in [
        ("SQLite", "SQLite"),
        ("PostgreSQL", "PostgreSQL, one process"),
    ] {
        let v = figure(label, "single_server_ms");
        goal(
            &format!("One new mail → every idle device, server side, {store}"),
            ms(v),
            "≤ 50 ms",
            status(v, SERVER_SIDE_MS),
        );
    }
    for (label, store) in [
        ("SQLite", "SQLite"),
        ("PostgreSQL", "PostgreSQL, one process"),
    ] {
        let v = figure(label, "single_p99_ms");
        goal(
            &format!("The same end to end, p99, {store}"),
            ms(v),
            "≤ 150 ms",
            status(v, END_TO_END_P99_MS),
        );
    }
    let two = figure("PostgreSQL, two processes", "single_p99_ms");
    goal(
        "Across two processes on PostgreSQL, end to end p99",
        ms(two),
        "≤ 250 ms",
        status(two, TWO_PROCESSES_P99_MS),
    );
    let worst = ["SQLite", "PostgreSQL"]
        .iter()
        .filter_map(|l| rss(l))
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    goal(
        "Server RSS per idle device (the larger of SQLite and PostgreSQL)",
        worst.map_or("—".into(), bytes),
        "≤ 4 KiB",
        status(worst, RSS_PER_IDLE_DEVICE),
    );
    for (label, store) in [
        ("SQLite", "SQLite"),
        ("PostgreSQL", "PostgreSQL, one process"),
    ] {
        let ratio = figure(label, "storm_vs_in_core");
        let cores = figure(label, "cores").unwrap_or(1.0);
        goal(
            &format!(
                "Reconnect storm (IK) against the in-core reconnect rate × {cores:.0} cores, {store}"
            ),
            ratio.map_or("—".into(), |r| format!("{r:.2}×")),
            "≥ 0.8×",
            match ratio {
                Some(r) if r >= STORM_VS_IN_CORE => "met",
                Some(_) => "**not met**",
                None => "not measured",
            },
        );
    }
    let _ = writeln!(md, "\n{END}");
    md
}

/// `document` with its load section replaced by `section` (or `section`
/// added at the end when it has none).
pub(crate) fn splice(document: &str, section: &str) -> String {
    match (document.find(BEGIN), document.find(END)) {
        (Some(start), Some(end)) if start < end => {
            let mut out = document[..start].to_string();
            out.push_str(section.trim_end());
            out.push_str(&document[end + END.len()..]);
            out
        }
        _ => format!("{}\n\n{section}", document.trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splicing_replaces_only_the_section() {
        let old = format!("# P\n\nbefore\n\n{BEGIN}\nold figures\n{END}\n\nafter\n");
        let new = format!("{BEGIN}\nnew figures\n{END}\n");
        let spliced = splice(&old, &new);
        assert_eq!(
            spliced,
            format!("# P\n\nbefore\n\n{BEGIN}\nnew figures\n{END}\n\nafter\n")
        );
        assert!(splice("# P\n", &new).ends_with(&new));
    }
}
