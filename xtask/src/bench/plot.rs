//! The day as an SVG line chart, written by hand: cumulative bytes on the
//! wire against the time of day, one step line per protocol.

use serde_json::Value;
use std::fmt::Write;

const WIDTH: f64 = 780.0;
const HEIGHT: f64 = 420.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 190.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 50.0;
const COLOURS: [&str; 3] = ["#1b7837", "#2166ac", "#b2182b"];

/// The smallest 1, 2 or 5 × 10ⁿ at or above `x`.
fn nice_ceiling(x: f64) -> f64 {
    let mut step = 1.0;
    while step * 10.0 <= x {
        step *= 10.0;
    }
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * step)
        .find(|v| *v >= x)
        .unwrap_or(step * 10.0)
}

fn kilobytes(bytes: f64) -> String {
    if bytes == 0.0 {
        "0".into()
    } else {
        format!("{:.0} KB", bytes / 1e3)
    }
}

/// What happened in the day, in one line.
fn subtitle(day: &Value) -> String {
    let mix = &day["mix"];
    let n = |k: &str| mix[k].as_u64().unwrap_or(0);
    format!(
        "{} new mails, {} flag changes, {} calendar changes; a keepalive after {} s of silence",
        n("new_mails"),
        n("read_elsewhere") + n("flagged"),
        n("calendar_updates") + n("calendar_invitations"),
        day["keepalive_seconds"].as_u64().unwrap_or(0)
    )
}

/// The chart, or `None` when the day holds no series.
pub(crate) fn day(day: &Value) -> Option<String> {
    let protocols = day["protocols"].as_array()?;
    let hours = day["hours"].as_f64()?;
    let start = day["start_hour"].as_f64().unwrap_or(8.0);
    let end = hours * 3600.0;
    let max = protocols
        .iter()
        .filter_map(|p| p["total"].as_f64())
        .fold(0.0, f64::max);
    let top = nice_ceiling(max.max(1.0));
    let (w, h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let x = |t: f64| LEFT + t / end * w;
    let y = |b: f64| TOP + h - b / top * h;

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"white\"/>\n\
         <text x=\"{LEFT}\" y=\"22\" font-size=\"15\" font-weight=\"bold\">Bytes on the wire \
         over a councillor's working day (cumulative)</text>\n\
         <text x=\"{LEFT}\" y=\"40\" fill=\"#555\">{}</text>",
        subtitle(day)
    );
    for i in 0..=5 {
        let b = top * f64::from(i) / 5.0;
        let _ = writeln!(
            svg,
            "<line x1=\"{LEFT}\" y1=\"{yy:.1}\" x2=\"{:.1}\" y2=\"{yy:.1}\" stroke=\"#ddd\"/>\n\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT + w,
            LEFT - 6.0,
            y(b) + 4.0,
            kilobytes(b),
            yy = y(b),
        );
    }
    for hour in 0..=hours as u32 {
        let t = f64::from(hour) * 3600.0;
        let _ = writeln!(
            svg,
            "<line x1=\"{xx:.1}\" y1=\"{TOP}\" x2=\"{xx:.1}\" y2=\"{:.1}\" stroke=\"#eee\"/>\n\
             <text x=\"{xx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{:02}:00</text>",
            TOP + h,
            TOP + h + 18.0,
            start as u32 + hour,
            xx = x(t),
        );
    }
    let _ = writeln!(
        svg,
        "<line x1=\"{LEFT}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"black\"/>\n\
         <line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{:.1}\" stroke=\"black\"/>\n\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">time of day</text>",
        TOP + h,
        LEFT + w,
        TOP + h,
        TOP + h,
        LEFT + w / 2.0,
        HEIGHT - 12.0,
    );
    for (n, p) in protocols.iter().enumerate() {
        let colour = COLOURS[n % COLOURS.len()];
        let mut path = format!("M{:.1},{:.1}", x(0.0), y(0.0));
        let mut last = 0.0;
        for point in p["points"].as_array().into_iter().flatten() {
            let (t, b) = (
                point[0].as_f64().unwrap_or(0.0),
                point[1].as_f64().unwrap_or(0.0),
            );
            let _ = write!(path, " H{:.1} V{:.1}", x(t), y(b));
            last = b;
        }
        let _ = write!(path, " H{:.1}", x(end));
        let name = p["name"].as_str().unwrap_or("?");
        let ly = TOP + 20.0 + n as f64 * 44.0;
        let lx = LEFT + w + 16.0;
        let _ = writeln!(
            svg,
            "<path d=\"{path}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>\n\
             <line x1=\"{lx:.1}\" y1=\"{ly:.1}\" x2=\"{:.1}\" y2=\"{ly:.1}\" stroke=\"{colour}\" \
             stroke-width=\"3\"/>\n\
             <text x=\"{:.1}\" y=\"{:.1}\" font-weight=\"bold\">{name}</text>\n\
             <text x=\"{:.1}\" y=\"{:.1}\">{:.1} KB in the day</text>",
            lx + 24.0,
            lx + 30.0,
            ly + 4.0,
            lx + 30.0,
            ly + 20.0,
            last / 1e3,
        );
    }
    svg.push_str("</svg>\n");
    Some(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(0.5), 1.0);
        assert_eq!(nice_ceiling(1.0), 1.0);
        assert_eq!(nice_ceiling(172_820.0), 200_000.0);
        assert_eq!(nice_ceiling(33_690.0), 50_000.0);
        assert_eq!(nice_ceiling(1_000_001.0), 2_000_000.0);
    }

    #[test]
    fn draws_one_step_line_per_protocol() {
        let day = json!({
            "hours": 10, "start_hour": 8,
            "protocols": [
                {"name": "Tidings", "total": 300, "points": [[3600, 100], [7200, 300]]},
                {"name": "JMAP", "total": 1000, "points": [[3600, 1000]]},
            ],
        });
        let svg = super::day(&day).unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<path ").count(), 2);
        assert!(svg.contains(">08:00<") && svg.contains(">18:00<"));
        assert!(svg.contains(">Tidings<") && svg.contains("1.0 KB in the day"));
        // Steps: flat until the change, then up.
        assert!(svg.contains(&format!(" H{:.1} V", LEFT + (WIDTH - LEFT - RIGHT) / 10.0)));
    }
}
