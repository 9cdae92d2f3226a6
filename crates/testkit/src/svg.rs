//! Reading the kit's SVG pictures back in tests, by structure rather than
//! by bytes: which texts a picture shows (titles, legend entries, marker
//! names), the numbers along each axis, and how many shapes of a colour it
//! holds (one per drawn segment of a series, plus its legend key).

use std::collections::BTreeMap;

/// A text element: where it is anchored, and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    pub x: f64,
    pub y: f64,
    /// `start`, `middle` or `end`.
    pub anchor: String,
    pub content: String,
}

/// A drawn shape: its tag, stroke and fill colours (`#RRGGBB`, upper case,
/// as plotters writes them) and its points (a polyline's) if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    pub tag: String,
    pub stroke: Option<String>,
    pub fill: Option<String>,
    pub points: Vec<(f64, f64)>,
}

/// A parsed picture.
#[derive(Debug, Clone, Default)]
pub struct Svg {
    pub width: f64,
    pub height: f64,
    pub texts: Vec<Text>,
    pub shapes: Vec<Shape>,
}

/// Parses `text` as XML with an `<svg>` root; the error says why not.
pub fn parse(text: &str) -> Result<Svg, String> {
    let doc = roxmltree::Document::parse(text).map_err(|e| format!("not XML: {e}"))?;
    let root = doc.root_element();
    if root.tag_name().name() != "svg" {
        return Err(format!(
            "the root element is <{}>, not <svg>",
            root.tag_name().name()
        ));
    }
    let number = |n: roxmltree::Node<'_, '_>, a: &str| -> f64 {
        n.attribute(a)
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    };
    let mut svg = Svg {
        width: number(root, "width"),
        height: number(root, "height"),
        ..Svg::default()
    };
    for n in root.descendants().skip(1).filter(|n| n.is_element()) {
        let tag = n.tag_name().name();
        if tag == "text" {
            svg.texts.push(Text {
                x: number(n, "x"),
                y: number(n, "y"),
                anchor: n.attribute("text-anchor").unwrap_or("start").to_string(),
                content: n.text().unwrap_or("").trim().to_string(),
            });
            continue;
        }
        let colour = |a: &str| n.attribute(a).filter(|c| *c != "none").map(str::to_string);
        let points = n
            .attribute("points")
            .unwrap_or("")
            .split_whitespace()
            .filter_map(|p| {
                let (x, y) = p.split_once(',')?;
                Some((x.parse().ok()?, y.parse().ok()?))
            })
            .collect();
        svg.shapes.push(Shape {
            tag: tag.to_string(),
            stroke: colour("stroke"),
            fill: colour("fill"),
            points,
        });
    }
    Ok(svg)
}

impl Svg {
    /// True when some text element says exactly `s`.
    pub fn has_text(&self, s: &str) -> bool {
        self.texts.iter().any(|t| t.content == s)
    }

    /// How many `tag` shapes are stroked (or, for circles and rectangles,
    /// filled) in `colour` (`#RRGGBB`).
    pub fn count(&self, tag: &str, colour: &str) -> usize {
        let colour = colour.to_ascii_uppercase();
        self.shapes
            .iter()
            .filter(|s| s.tag == tag)
            .filter(|s| {
                s.stroke.as_deref().map(str::to_ascii_uppercase) == Some(colour.clone())
                    || (s.stroke.is_none()
                        && s.fill.as_deref().map(str::to_ascii_uppercase) == Some(colour.clone()))
            })
            .count()
    }

    /// The numbers along each horizontal axis, left to right, one list per
    /// axis (numeric labels centred on one line, at least two of them),
    /// top axis first.
    pub fn x_axes(&self) -> Vec<Vec<f64>> {
        self.axes("middle", |t| t.y, |t| t.x)
    }

    /// The numbers up each vertical axis, bottom to top, one list per axis,
    /// the top graph's first. Graphs stacked one above another share a
    /// column of labels; a label not above the one below it starts the
    /// next graph's axis.
    pub fn y_axes(&self) -> Vec<Vec<f64>> {
        let mut axes = Vec::new();
        for column in self.axes("end", |t| t.x, |t| -t.y) {
            let mut runs: Vec<Vec<f64>> = Vec::new();
            for v in column {
                match runs.last_mut() {
                    Some(run) if run.last().is_some_and(|&last| v > last) => run.push(v),
                    _ => runs.push(vec![v]),
                }
            }
            runs.reverse();
            axes.extend(runs.into_iter().filter(|r| r.len() >= 2));
        }
        axes
    }

    fn axes(
        &self,
        anchor: &str,
        line: impl Fn(&Text) -> f64,
        along: impl Fn(&Text) -> f64,
    ) -> Vec<Vec<f64>> {
        let mut by_line: BTreeMap<i64, Vec<(f64, f64)>> = BTreeMap::new();
        for t in self.texts.iter().filter(|t| t.anchor == anchor) {
            if let Ok(v) = t.content.parse::<f64>() {
                by_line
                    .entry(line(t) as i64)
                    .or_default()
                    .push((along(t), v));
            }
        }
        by_line
            .into_values()
            .filter(|v| v.len() >= 2)
            .map(|mut v| {
                v.sort_by(|a, b| a.0.total_cmp(&b.0));
                v.into_iter().map(|(_, n)| n).collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PICTURE: &str = r##"<svg width="100" height="50" xmlns="http://www.w3.org/2000/svg">
<text x="10" y="40" text-anchor="middle">0</text>
<text x="50" y="40" text-anchor="middle">1.5</text>
<text x="90" y="40" text-anchor="middle">3</text>
<text x="5" y="30" text-anchor="end">0</text>
<text x="5" y="10" text-anchor="end">20</text>
<text x="30" y="5" text-anchor="start">data sent</text>
<polyline fill="none" stroke="#D62728" points="1,2 1,5 "/>
<circle cx="3" cy="3" r="2" fill="#9467BD" stroke="none"/>
</svg>"##;

    #[test]
    fn reads_axes_texts_and_shapes() {
        let svg = parse(PICTURE).expect("a picture");
        assert_eq!(svg.x_axes(), vec![vec![0.0, 1.5, 3.0]]);
        assert_eq!(svg.y_axes(), vec![vec![0.0, 20.0]]);
        assert!(svg.has_text("data sent"));
        assert!(!svg.has_text("retransmission"));
        assert_eq!(svg.count("polyline", "#d62728"), 1);
        assert_eq!(svg.count("circle", "#9467BD"), 1);
        assert_eq!(svg.shapes[0].points, vec![(1.0, 2.0), (1.0, 5.0)]);
    }

    #[test]
    fn rejects_what_is_not_svg() {
        assert!(parse("<html></html>").unwrap_err().contains("<html>"));
        assert!(parse("<svg").unwrap_err().starts_with("not XML"));
    }
}
