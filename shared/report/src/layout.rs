//! The page shell and the building blocks every page shares: one style sheet, a header with
//! the page's title and subtitle, tables of figures and two inline-SVG charts (horizontal bars
//! and a histogram), each drawn from the numbers passed in.

use maud::{html, Markup, PreEscaped, DOCTYPE};

/// The style sheet every page inlines (system fonts, readable on screen and in print).
pub const STYLE: &str = r#"
:root { color-scheme: light; --ink: #1d2330; --muted: #5b6475; --line: #d9dde5; --accent: #2f6fdf; --bad: #c2412d; --good: #23855a; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); margin: 0 auto; max-width: 1100px; padding: 24px; }
header { border-bottom: 1px solid var(--line); margin-bottom: 16px; }
header p { color: var(--muted); margin-top: 0; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 28px 0 8px; } h3 { font-size: 16px; margin: 18px 0 6px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); } .bad { color: var(--bad); } .good { color: var(--good); }
.side-by-side { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; }
nav a { margin-right: 14px; }
svg text { font: 12px system-ui, sans-serif; fill: var(--ink); }
"#;

/// A whole HTML document: `title` in the tab and the header, `subtitle` under it.
pub fn page(title: &str, subtitle: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header { h1 { (title) } p { (subtitle) } }
                (body)
            }
        }
    }
    .into_string()
}

/// One labelled value for [`bar_chart`].
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    /// What is printed beside the bar (e.g. "42 %", "3 handoffs").
    pub shown: String,
}

/// Horizontal bars scaled to the largest value (an empty chart says so).
pub fn bar_chart(caption: &str, bars: &[Bar]) -> Markup {
    const ROW: f64 = 22.0;
    const LABEL: f64 = 180.0;
    const WIDTH: f64 = 520.0;
    let max = bars.iter().map(|b| b.value).fold(0.0_f64, f64::max);
    let height = ROW * bars.len() as f64 + 6.0;
    html! {
        figure {
            figcaption { (caption) }
            @if bars.is_empty() {
                p.muted { "No data in this period." }
            } @else {
                svg role="img" aria-label=(caption) width=(WIDTH + LABEL + 90.0) height=(height)
                    viewBox=(format!("0 0 {} {height}", WIDTH + LABEL + 90.0)) {
                    @for (i, b) in bars.iter().enumerate() {
                        @let y = i as f64 * ROW + 3.0;
                        @let w = if max > 0.0 { (b.value / max) * WIDTH } else { 0.0 };
                        text x="0" y=(y + 14.0) { (b.label) }
                        rect x=(LABEL) y=(y) width=(format!("{w:.1}")) height="16" fill="#2f6fdf" {}
                        text x=(LABEL + w + 6.0) y=(y + 14.0) { (b.shown) }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_escapes_what_it_is_given() {
        let html = page(
            "Audit <week>",
            "a & b",
            html! { p { "<script>x</script>" } },
        );
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<title>Audit &lt;week&gt;</title>"));
        assert!(html.contains("a &amp; b"));
        assert!(html.contains("&lt;script&gt;x&lt;/script&gt;"));
        assert!(!html.contains("<script>"));
    }

    #[test]
    fn bars_scale_to_the_largest_value() {
        let bars = [
            Bar {
                label: "Lena".into(),
                value: 4.0,
                shown: "4".into(),
            },
            Bar {
                label: "Max".into(),
                value: 2.0,
                shown: "2".into(),
            },
        ];
        let svg = bar_chart("Load", &bars).into_string();
        assert!(svg.contains(r#"width="520.0""#), "{svg}");
        assert!(svg.contains(r#"width="260.0""#), "{svg}");
        assert!(bar_chart("Load", &[])
            .into_string()
            .contains("No data in this period."));
    }
}

/// One column of a [`histogram`].
#[derive(Debug, Clone, PartialEq)]
pub struct Bin {
    pub label: String,
    pub count: usize,
}

/// Vertical columns, one per bin in the order given, scaled to the fullest bin, each with its
/// count above and its label below (an empty chart says so).
pub fn histogram(caption: &str, bins: &[Bin]) -> Markup {
    const COLUMN: f64 = 48.0;
    const PLOT: f64 = 120.0;
    const TOP: f64 = 18.0;
    const LABELS: f64 = 96.0;
    let max = bins.iter().map(|b| b.count).max().unwrap_or(0);
    // Room on the right for the last label, which slants past its column.
    let width = COLUMN * bins.len() as f64 + 80.0;
    let height = TOP + PLOT + LABELS;
    html! {
        figure {
            figcaption { (caption) }
            @if max == 0 {
                p.muted { "No data in this period." }
            } @else {
                svg role="img" aria-label=(caption) width=(width) height=(height)
                    viewBox=(format!("0 0 {width} {height}")) {
                    @for (i, b) in bins.iter().enumerate() {
                        @let h = b.count as f64 / max as f64 * PLOT;
                        @let x = i as f64 * COLUMN + 4.0;
                        rect x=(x + 6.0) y=(format!("{:.1}", TOP + PLOT - h)) width=(COLUMN - 12.0)
                            height=(format!("{h:.1}")) fill="#2f6fdf" {}
                        text x=(x + COLUMN / 2.0) y=(format!("{:.1}", TOP + PLOT - h - 4.0))
                            text-anchor="middle" { (b.count) }
                        text transform=(format!("translate({:.1} {:.1}) rotate(35)", x + 10.0, TOP + PLOT + 12.0))
                            font-size="10" { (b.label) }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod histogram_tests {
    use super::*;

    #[test]
    fn columns_scale_to_the_fullest_bin() {
        let bins = [
            Bin {
                label: "under 5 minutes".into(),
                count: 4,
            },
            Bin {
                label: "5 to 15 minutes".into(),
                count: 1,
            },
        ];
        let svg = histogram("First action", &bins).into_string();
        assert!(svg.contains(r#"height="120.0""#), "{svg}");
        assert!(svg.contains(r#"height="30.0""#), "{svg}");
        assert!(svg.contains(">under 5 minutes<"), "{svg}");
        let empty = [Bin {
            label: "under 5 minutes".into(),
            count: 0,
        }];
        assert!(histogram("First action", &empty)
            .into_string()
            .contains("No data in this period."));
    }
}
