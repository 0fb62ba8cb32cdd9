//! The overview's chart: deliveries per outcome per minute over the last hour, as stacked bars
//! in an SVG written here (no script, no inline style: the stylesheet colours and patterns each
//! outcome, and a table beside it gives the same figures as text).

use std::collections::HashMap;
use std::fmt::Write;

/// The outcomes in stacking order, each with its CSS class and label.
pub(super) const OUTCOMES: [(&str, &str); 4] = [
    ("delivered", "Delivered"),
    ("refused_recipients", "Delivered, some recipients refused"),
    ("retryable", "Failed, will retry"),
    ("permanent", "Failed permanently"),
];

const WIDTH: usize = 600;
const HEIGHT: usize = 160;
const BOTTOM: usize = 20;

/// The chart of `series` (per outcome, one count per minute, oldest first) as SVG markup.
pub(super) fn svg(series: &HashMap<String, Vec<u64>>, minutes: usize) -> String {
    let minutes = minutes.max(1);
    let totals: Vec<u64> = (0..minutes)
        .map(|m| {
            OUTCOMES
                .iter()
                .map(|(o, _)| series.get(*o).and_then(|s| s.get(m)).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let peak = totals.iter().copied().max().unwrap_or(0).max(1);
    let plot = (HEIGHT - BOTTOM) as f64;
    let bar = WIDTH as f64 / minutes as f64;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg"><title id="chart-title">Deliveries per minute, last {minutes} minutes</title><desc id="chart-desc">Stacked bars per minute by outcome; the busiest minute had {peak}. The table below gives the totals.</desc>"#
    );
    out.push_str(r#"<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect class="hatch-ground" width="6" height="6"/><line class="hatch-line" x1="0" y1="0" x2="0" y2="6"/></pattern></defs>"#);
    for (m, _) in totals.iter().enumerate() {
        let mut y = plot;
        for (outcome, label) in OUTCOMES {
            let n = series
                .get(outcome)
                .and_then(|s| s.get(m))
                .copied()
                .unwrap_or(0);
            if n == 0 {
                continue;
            }
            let h = plot * n as f64 / peak as f64;
            y -= h;
            let ago = minutes - 1 - m;
            let _ = write!(
                out,
                r#"<rect class="bar {outcome}" x="{:.1}" y="{y:.1}" width="{:.1}" height="{h:.1}"><title>{n} {label}, {ago} min ago</title></rect>"#,
                m as f64 * bar + 0.5,
                (bar - 1.0).max(0.5),
            );
        }
    }
    let _ = write!(
        out,
        r#"<line class="axis" x1="0" y1="{plot}" x2="{WIDTH}" y2="{plot}"/><text class="tick" x="2" y="{}">{minutes} min ago</text><text class="tick" x="{}" y="{}" text-anchor="end">now</text><text class="tick" x="2" y="12">{peak} per minute</text></svg>"#,
        HEIGHT - 4,
        WIDTH - 2,
        HEIGHT - 4
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_stack_per_minute_and_say_what_they_are() {
        let series = HashMap::from([
            ("delivered".to_owned(), vec![0, 2, 4]),
            ("retryable".to_owned(), vec![0, 0, 4]),
        ]);
        let svg = svg(&series, 3);
        assert_eq!(svg.matches("<rect class=\"bar ").count(), 3, "{svg}");
        assert!(
            svg.contains("<title>4 Failed, will retry, 0 min ago</title>"),
            "{svg}"
        );
        assert!(svg.contains("8 per minute"), "{svg}");
        assert!(!svg.contains("style="), "{svg}");
    }
}
