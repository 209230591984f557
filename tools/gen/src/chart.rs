//! Plots as SVG text, for the benchmark reports: lines of points on linear
//! or logarithmic axes, and labelled bars. Hand-written because the reports
//! need only these two forms, and a plotting crate would bring a font
//! stack into the build for them.

use std::fmt::Write as _;

/// One line of a [`Lines`] plot.
pub struct Series {
    /// The legend's name for it.
    pub name: String,
    /// Its points, `(x, y)`, drawn in this order.
    pub points: Vec<(f64, f64)>,
}

/// An axis of a [`Lines`] plot.
pub struct Axis {
    /// What it measures, with its unit.
    pub label: String,
    /// Logarithmic (base 10) instead of linear; values must be positive.
    pub log: bool,
}

impl Axis {
    /// A linear axis.
    pub fn linear(label: &str) -> Axis {
        Axis {
            label: label.to_string(),
            log: false,
        }
    }

    /// A logarithmic axis.
    pub fn log(label: &str) -> Axis {
        Axis {
            label: label.to_string(),
            log: true,
        }
    }
}

/// A plot of lines.
pub struct Lines {
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    pub series: Vec<Series>,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 440.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;
const COLOURS: [&str; 6] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
];

/// `text` with the characters XML gives meaning to escaped.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A tick's label: few digits, thousands as `k`, millions as `M`.
fn tick_label(v: f64) -> String {
    let a = v.abs();
    let (scaled, unit) = if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let digits = if scaled.fract().abs() < 1e-9 {
        0
    } else if scaled.abs() >= 10.0 {
        1
    } else {
        2
    };
    format!("{scaled:.digits$}{unit}")
}

/// Where an axis maps values: its ends (in log10 for a log axis) and ticks.
struct Scale {
    log: bool,
    low: f64,
    high: f64,
    ticks: Vec<f64>,
}

impl Scale {
    fn new(axis: &Axis, values: impl Iterator<Item = f64>) -> Scale {
        let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values.filter(|v| v.is_finite() && (!axis.log || *v > 0.0)) {
            low = low.min(v);
            high = high.max(v);
        }
        if !low.is_finite() {
            (low, high) = if axis.log { (1.0, 10.0) } else { (0.0, 1.0) };
        }
        if axis.log {
            let (low, high) = (
                low.log10().floor(),
                high.log10().ceil().max(low.log10().floor() + 1.0),
            );
            let ticks = (low as i32..=high as i32).map(|e| 10f64.powi(e)).collect();
            Scale {
                log: true,
                low,
                high,
                ticks,
            }
        } else {
            // Linear axes start at zero: a figure's size reads true.
            let low = low.min(0.0);
            let high = if high <= low { low + 1.0 } else { high };
            let raw = (high - low) / 5.0;
            let magnitude = 10f64.powf(raw.log10().floor());
            let step = [1.0, 2.0, 2.5, 5.0, 10.0]
                .iter()
                .map(|m| m * magnitude)
                .find(|s| *s >= raw)
                .unwrap_or(raw);
            let high = (high / step).ceil() * step;
            let ticks = (0..)
                .map(|i| low + step * f64::from(i))
                .take_while(|t| *t <= high + step * 1e-9)
                .collect();
            Scale {
                log: false,
                low,
                high,
                ticks,
            }
        }
    }

    /// `v`'s place between 0 (low end) and 1 (high end).
    fn fraction(&self, v: f64) -> f64 {
        let v = if self.log { v.max(1e-300).log10() } else { v };
        (v - self.low) / (self.high - self.low)
    }
}

fn open(svg: &mut String, title: &str) {
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">{}</text>\n",
        WIDTH / 2.0,
        escaped(title)
    );
}

/// Grey lines across the plot at `scale`'s ticks, labelled on the left.
fn y_grid(svg: &mut String, scale: &Scale, plot_w: f64, py: impl Fn(f64) -> f64) {
    for &t in &scale.ticks {
        let _ = writeln!(
            svg,
            "<line x1=\"{LEFT}\" y1=\"{0:.1}\" x2=\"{1}\" y2=\"{0:.1}\" stroke=\"#ddd\"/><text x=\"{2}\" y=\"{3:.1}\" text-anchor=\"end\">{4}</text>",
            py(t),
            LEFT + plot_w,
            LEFT - 6.0,
            py(t) + 4.0,
            tick_label(t)
        );
    }
}

/// The plot's frame, the x axis's label (if any) under it and the y
/// axis's along its left; then the end of the document.
fn close(
    mut svg: String,
    plot_w: f64,
    plot_h: f64,
    x_label: Option<&str>,
    y_label: &str,
) -> String {
    let y_middle = TOP + plot_h / 2.0;
    let _ = writeln!(
        svg,
        "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{plot_w}\" height=\"{plot_h}\" fill=\"none\" stroke=\"black\"/>\n<text x=\"16\" y=\"{y_middle}\" transform=\"rotate(-90 16 {y_middle})\" text-anchor=\"middle\">{}</text>",
        escaped(y_label)
    );
    if let Some(label) = x_label {
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            LEFT + plot_w / 2.0,
            HEIGHT - 12.0,
            escaped(label)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

impl Lines {
    /// The plot as an SVG document.
    pub fn svg(&self) -> String {
        let points = || self.series.iter().flat_map(|s| s.points.iter());
        let xs = Scale::new(&self.x, points().map(|p| p.0));
        let ys = Scale::new(&self.y, points().map(|p| p.1));
        let (plot_w, plot_h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
        let px = |v: f64| LEFT + plot_w * xs.fraction(v);
        let py = |v: f64| TOP + plot_h * (1.0 - ys.fraction(v));
        let mut svg = String::new();
        open(&mut svg, &self.title);
        for &t in &xs.ticks {
            let _ = writeln!(
                svg,
                "<line x1=\"{0:.1}\" y1=\"{TOP}\" x2=\"{0:.1}\" y2=\"{1}\" stroke=\"#ddd\"/><text x=\"{0:.1}\" y=\"{2}\" text-anchor=\"middle\">{3}</text>",
                px(t),
                TOP + plot_h,
                TOP + plot_h + 15.0,
                tick_label(t)
            );
        }
        y_grid(&mut svg, &ys, plot_w, py);
        for (i, series) in self.series.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            // A point a log axis cannot place is left out.
            let drawn: Vec<(f64, f64)> = series
                .points
                .iter()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .filter(|(x, y)| (!self.x.log || *x > 0.0) && (!self.y.log || *y > 0.0))
                .map(|&(x, y)| (px(x), py(y)))
                .collect();
            let path: Vec<String> = drawn
                .iter()
                .map(|(x, y)| format!("{x:.1},{y:.1}"))
                .collect();
            let _ = writeln!(
                svg,
                "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>",
                path.join(" ")
            );
            // Dots on a few points; a distribution's hundred would blur.
            if drawn.len() <= 20 {
                for (cx, cy) in &drawn {
                    let _ = writeln!(
                        svg,
                        "<circle cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"3\" fill=\"{colour}\"/>"
                    );
                }
            }
            let ly = TOP + 10.0 + 16.0 * i as f64;
            let _ = writeln!(
                svg,
                "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{colour}\" stroke-width=\"2\"/><text x=\"{3}\" y=\"{4}\">{5}</text>",
                LEFT + plot_w + 10.0,
                ly,
                LEFT + plot_w + 28.0,
                LEFT + plot_w + 32.0,
                ly + 4.0,
                escaped(&series.name)
            );
        }
        close(svg, plot_w, plot_h, Some(&self.x.label), &self.y.label)
    }
}

/// A plot of labelled bars, each with its value written on it.
pub struct Bars {
    pub title: String,
    /// What the bars measure, with the unit.
    pub y_label: String,
    /// `(label, value)`, left to right.
    pub bars: Vec<(String, f64)>,
}

impl Bars {
    /// The plot as an SVG document.
    pub fn svg(&self) -> String {
        let ys = Scale::new(&Axis::linear(&self.y_label), self.bars.iter().map(|b| b.1));
        let (plot_w, plot_h) = (WIDTH - LEFT - 40.0, HEIGHT - TOP - BOTTOM);
        let py = |v: f64| TOP + plot_h * (1.0 - ys.fraction(v));
        let mut svg = String::new();
        open(&mut svg, &self.title);
        y_grid(&mut svg, &ys, plot_w, py);
        let slot = plot_w / self.bars.len().max(1) as f64;
        for (i, (label, value)) in self.bars.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            let x = LEFT + slot * i as f64 + slot * 0.2;
            let top = py(value.max(0.0));
            let (width, height) = (slot * 0.6, (TOP + plot_h - top).max(0.0));
            let (middle, label_y) = (x + slot * 0.3, TOP + plot_h + 15.0);
            let _ = writeln!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{top:.1}\" width=\"{width:.1}\" height=\"{height:.1}\" fill=\"{colour}\"/><text x=\"{middle:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text><text x=\"{middle:.1}\" y=\"{label_y}\" text-anchor=\"middle\">{}</text>",
                top - 5.0,
                tick_label(*value),
                escaped(label),
            );
        }
        close(svg, plot_w, plot_h, None, &self.y_label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_cover_the_values_and_read_short() {
        let s = Scale::new(&Axis::linear("x"), [3.0, 47_000.0].into_iter());
        assert_eq!(s.low, 0.0);
        assert!(s.high >= 47_000.0 && s.high <= 60_000.0, "{}", s.high);
        assert_eq!(tick_label(50_000.0), "50k");
        assert_eq!(tick_label(2_500_000.0), "2.50M");
        let log = Scale::new(&Axis::log("y"), [35.0, 12_000.0].into_iter());
        assert_eq!(log.ticks, vec![10.0, 100.0, 1000.0, 10_000.0, 100_000.0]);
        assert!((log.fraction(1000.0) - 0.5).abs() < 1e-9);
    }

    #[test]
    fn svg_escapes_names_and_draws_every_series() {
        let plot = Lines {
            title: "p99 <at> rate".into(),
            x: Axis::linear("checks/s"),
            y: Axis::log("µs"),
            series: vec![
                Series {
                    name: "creditgate & co".into(),
                    points: vec![(5000.0, 80.0), (10_000.0, 95.0)],
                },
                Series {
                    name: "peer".into(),
                    points: vec![(5000.0, 300.0), (10_000.0, 0.0)],
                },
            ],
        }
        .svg();
        assert!(plot.starts_with("<svg ") && plot.ends_with("</svg>\n"));
        assert!(plot.contains("creditgate &amp; co") && plot.contains("p99 &lt;at&gt; rate"));
        assert_eq!(plot.matches("<polyline").count(), 2);
        // The zero cannot be drawn on a log axis: left out, not NaN.
        assert!(!plot.contains("NaN") && !plot.contains("inf"));
        let bars = Bars {
            title: "ratio".into(),
            y_label: "req/s".into(),
            bars: vec![
                ("empty handler".into(), 120_000.0),
                ("check".into(), 80_000.0),
            ],
        }
        .svg();
        assert_eq!(bars.matches("<rect x=").count(), 3);
        assert!(bars.contains("120k") && bars.contains("80k"));
    }
}
