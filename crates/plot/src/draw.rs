//! The drawings themselves: each public function takes its data and gives
//! back the SVG's text.

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::{render, series, ExperimentPlot, Panel, PlotError, SegmentKind, Throughput, TimeSeq};

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

use crate::colours::{ACK, CWND, DATA, MARKER, OUT_OF_ORDER, PROBE, RETRANSMISSION, STALL, WINDOW};

/// The time-sequence graph of one direction. See [`TimeSeq`].
pub fn time_sequence(data: &TimeSeq) -> Result<String, PlotError> {
    render("the time-sequence graph", (1000, 620), |root| {
        let top = timeseq_top(data);
        let mut chart = time_chart(
            root,
            &data.title,
            timeseq_end(data),
            top,
            "kB (relative sequence number)",
        )?;
        draw_timeseq(&mut chart, data, top)?;
        legend(&mut chart)
    })
}

/// A direction's throughput over time. See [`Throughput`].
pub fn throughput(data: &Throughput) -> Result<String, PlotError> {
    render("the throughput graph", (1000, 420), |root| {
        let top = data.bins.iter().map(|&(_, r)| r).fold(0.0, f64::max) / 1e6;
        let top = nice_top(top);
        let title = &data.title;
        let axes = Axes {
            caption: title,
            x: 0.0..axis_end(data.end_s),
            y: 0.0..top,
            x_desc: "time (s)",
            y_desc: &format!("Mbit/s (per {} ms)", (data.bin_s * 1000.0).round()),
        };
        let mut chart = cartesian(root, &axes)?;
        let mut steps = Vec::with_capacity(data.bins.len() * 2);
        for &(t, rate) in &data.bins {
            steps.push((t, rate / 1e6));
            steps.push((t + data.bin_s, rate / 1e6));
        }
        chart
            .draw_series(LineSeries::new(steps, DATA.stroke_width(2)))
            .map_err(err)?
            .label(series::THROUGHPUT)
            .legend(|(x, y)| line_key(x, y, DATA));
        legend(&mut chart)
    })
}

/// A simulated run on one time axis. See [`Panel`].
pub fn panel(data: &Panel) -> Result<String, PlotError> {
    render("the run's panel", (1000, 1300), |root| {
        let root = root.titled(&data.title, ("sans-serif", 22)).map_err(err)?;
        let areas = root.split_evenly((4, 1));
        // One time axis for all four graphs, covering every point (the
        // player may play on after the last segment).
        let last = |v: &[(f64, u64)]| v.iter().map(|p| p.0).fold(0.0, f64::max);
        let end = [
            timeseq_end(&data.timeseq),
            data.buffer_s.iter().map(|p| p.0).fold(0.0, f64::max),
            data.stalls.iter().map(|s| s.1).fold(0.0, f64::max),
            last(&data.in_flight),
            last(&data.rwnd),
            data.cwnd.as_deref().map_or(0.0, last),
        ]
        .into_iter()
        .filter(|t| t.is_finite())
        .fold(0.0, f64::max);

        let top = timeseq_top(&data.timeseq);
        let caption = match data.timeseq.title.as_str() {
            "" => "the server's data (time-sequence)",
            title => title,
        };
        let mut chart = time_chart(&areas[0], caption, end, top, "kB")?;
        draw_timeseq(&mut chart, &data.timeseq, top)?;
        legend(&mut chart)?;

        let kb = |v: &[(f64, u64)]| -> Vec<(f64, f64)> {
            v.iter().map(|&(t, b)| (t, b as f64 / 1000.0)).collect()
        };
        let cwnd = data.cwnd.as_deref().map(kb);
        let flight = kb(&data.in_flight);
        let top = cwnd
            .iter()
            .flatten()
            .chain(&flight)
            .map(|&(_, v)| v)
            .fold(0.0, f64::max);
        let caption = if cwnd.is_some() {
            "the server's congestion window"
        } else {
            "the server's bytes in flight (this TCP model has no congestion window)"
        };
        let mut chart = time_chart(&areas[1], caption, end, nice_top(top), "kB")?;
        if let Some(cwnd) = cwnd {
            // Wide, under the bytes in flight: where they meet, the sender
            // is limited by its congestion window.
            step_line(&mut chart, &cwnd, end, CWND, series::CWND, 5)?;
        }
        step_line(&mut chart, &flight, end, DATA, series::IN_FLIGHT, 2)?;
        legend(&mut chart)?;

        let rwnd = kb(&data.rwnd);
        let top = rwnd.iter().map(|&(_, v)| v).fold(0.0, f64::max);
        let caption = "the client's receive window, as the server saw it";
        let mut chart = time_chart(&areas[2], caption, end, nice_top(top), "kB")?;
        step_line(&mut chart, &rwnd, end, WINDOW, series::RWND, 2)?;
        legend(&mut chart)?;

        let top = data.buffer_s.iter().map(|&(_, v)| v).fold(0.0, f64::max);
        let top = nice_top(top);
        let caption = "the player's buffer (stalls shaded)";
        let mut chart = time_chart(&areas[3], caption, end, top, "seconds of audio")?;
        if !data.stalls.is_empty() {
            chart
                .draw_series(data.stalls.iter().map(|&(from, to)| {
                    Rectangle::new([(from, 0.0), (to, top)], STALL.mix(0.2).filled())
                }))
                .map_err(err)?
                .label(series::STALL)
                .legend(|(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 20, y + 5)], STALL.mix(0.2).filled())
                });
        }
        chart
            .draw_series(LineSeries::new(
                data.buffer_s.iter().copied(),
                ACK.stroke_width(2),
            ))
            .map_err(err)?
            .label(series::BUFFER)
            .legend(|(x, y)| line_key(x, y, ACK));
        legend(&mut chart)
    })
}

/// Lab 4's grid as two graphs. See [`ExperimentPlot`].
pub fn experiment(data: &ExperimentPlot) -> Result<String, PlotError> {
    render("the experiment's graphs", (1000, 900), |root| {
        let root = root.titled(&data.title, ("sans-serif", 22)).map_err(err)?;
        let areas = root.split_evenly((2, 1));
        let graphs = [
            (
                &data.stalled,
                "time stalled against bandwidth",
                "seconds stalled",
            ),
            (
                &data.download,
                "download time against bandwidth",
                "seconds to download",
            ),
        ];
        for (area, (curves, caption, y_desc)) in areas.iter().zip(graphs) {
            let points = curves.iter().flat_map(|c| c.points.iter());
            let (left, right) = points
                .clone()
                .fold((f64::MAX, 0.0f64), |(lo, hi), &(x, _)| {
                    (lo.min(x), hi.max(x))
                });
            let left = if left > right { 0.0 } else { left };
            let top = nice_top(points.map(|&(_, y)| y).fold(0.0, f64::max));
            let axes = Axes {
                caption,
                x: left..right.max(left + 1.0),
                y: 0.0..top,
                x_desc: "bandwidth (Mbit/s)",
                y_desc,
            };
            let mut chart = cartesian(area, &axes)?;
            // Earlier lines are wider, so a line hidden under a later one
            // still shows at its edges.
            let palette = [DATA, OUT_OF_ORDER, RETRANSMISSION, ACK, PROBE, CWND];
            for (i, curve) in curves.iter().enumerate() {
                let colour = palette[i % palette.len()];
                let width = 2 + 2 * (curves.len() - i).min(3) as u32;
                chart
                    .draw_series(LineSeries::new(
                        curve.points.iter().copied(),
                        colour.stroke_width(width),
                    ))
                    .map_err(err)?
                    .label(curve.label.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                    });
                chart
                    .draw_series(
                        curve
                            .points
                            .iter()
                            .map(|&p| Circle::new(p, 3, colour.filled())),
                    )
                    .map_err(err)?;
            }
            legend(&mut chart)?;
        }
        Ok(())
    })
}

// ---- pieces ----------------------------------------------------------------

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// A chart with time on x (0 to `end_s`) and kB on y (0 to `top` bytes).
fn time_chart<'a, 'b>(
    area: &'a Area<'b>,
    caption: &str,
    end_s: f64,
    top: f64,
    y_desc: &str,
) -> Result<Chart<'a, 'b>, String> {
    let axes = Axes {
        caption,
        x: 0.0..axis_end(end_s),
        y: 0.0..top,
        x_desc: "time (s)",
        y_desc,
    };
    cartesian(area, &axes)
}

/// What a chart's frame shows: its caption, ranges and axis names.
struct Axes<'t> {
    caption: &'t str,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    x_desc: &'t str,
    y_desc: &'t str,
}

/// A chart with its caption, both axes (numbers as [`number`] writes
/// them) and a light grid: the frame every picture here shares.
fn cartesian<'a, 'b>(area: &'a Area<'b>, axes: &Axes<'_>) -> Result<Chart<'a, 'b>, String> {
    let mut chart = ChartBuilder::on(area)
        .caption(axes.caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(axes.x.clone(), axes.y.clone())
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(axes.x_desc)
        .y_desc(axes.y_desc)
        .x_label_formatter(&|v| number(*v))
        .y_label_formatter(&|v| number(*v))
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 16))
        .draw()
        .map_err(err)?;
    Ok(chart)
}

/// The y axis's top for a time-sequence graph, in kB: the highest byte
/// sent or acknowledged, with room above. The window's edge may lie far
/// beyond (a 3 MB window over a 60 kB song); it is cut off at the top.
fn timeseq_top(data: &TimeSeq) -> f64 {
    let sent = data.segments.iter().map(|s| s.end).max().unwrap_or(0);
    let acked = data.acks.iter().map(|&(_, a)| a).max().unwrap_or(0);
    let marked = data.markers.iter().map(|m| m.offset).max().unwrap_or(0);
    nice_top(sent.max(acked).max(marked) as f64 / 1000.0)
}

/// The time axis's end for a time-sequence graph: `end_s`, or the latest
/// point if one lies beyond it (a point off the axis would overflow the
/// drawing's pixel arithmetic).
fn timeseq_end(data: &TimeSeq) -> f64 {
    let times = data
        .segments
        .iter()
        .map(|s| s.t)
        .chain(data.acks.iter().map(|p| p.0))
        .chain(data.window_edge.iter().map(|p| p.0))
        .chain(data.zero_windows.iter().map(|p| p.0))
        .chain(data.markers.iter().map(|m| m.t));
    times.filter(|t| t.is_finite()).fold(data.end_s, f64::max)
}

fn draw_timeseq(chart: &mut Chart<'_, '_>, data: &TimeSeq, top: f64) -> Result<(), String> {
    let kb = |b: u64| b as f64 / 1000.0;
    // The lines first: the segments' bars are drawn over them.
    if !data.acks.is_empty() {
        let acks: Vec<(f64, f64)> = data.acks.iter().map(|&(t, a)| (t, kb(a))).collect();
        step_line(chart, &acks, timeseq_end(data), ACK, series::ACK, 2)?;
    }
    if !data.window_edge.is_empty() {
        let edge: Vec<(f64, f64)> = data
            .window_edge
            .iter()
            .map(|&(t, e)| (t, kb(e).min(top)))
            .collect();
        step_line(
            chart,
            &edge,
            timeseq_end(data),
            WINDOW,
            series::WINDOW_EDGE,
            2,
        )?;
    }
    let kinds = [
        (SegmentKind::Data, DATA, series::DATA),
        (
            SegmentKind::Retransmission,
            RETRANSMISSION,
            series::RETRANSMISSION,
        ),
        (SegmentKind::OutOfOrder, OUT_OF_ORDER, series::OUT_OF_ORDER),
    ];
    for (kind, colour, name) in kinds {
        let bars: Vec<_> = data.segments.iter().filter(|s| s.kind == kind).collect();
        if bars.is_empty() {
            continue;
        }
        chart
            .draw_series(bars.into_iter().map(|s| {
                PathElement::new(
                    vec![(s.t, kb(s.start)), (s.t, kb(s.end))],
                    colour.stroke_width(2),
                )
            }))
            .map_err(err)?
            .label(name)
            .legend(move |(x, y)| line_key(x, y, colour));
    }
    let probes: Vec<_> = data
        .segments
        .iter()
        .filter(|s| s.kind == SegmentKind::Probe)
        .collect();
    if !probes.is_empty() {
        chart
            .draw_series(
                probes
                    .into_iter()
                    .map(|s| Circle::new((s.t, kb(s.start)), 3, PROBE.filled())),
            )
            .map_err(err)?
            .label(series::PROBE)
            .legend(|(x, y)| Circle::new((x + 10, y), 3, PROBE.filled()));
    }
    if !data.zero_windows.is_empty() {
        chart
            .draw_series(
                data.zero_windows
                    .iter()
                    .map(|&(t, a)| Cross::new((t, kb(a)), 5, BLACK.stroke_width(2))),
            )
            .map_err(err)?
            .label(series::ZERO_WINDOW)
            .legend(|(x, y)| Cross::new((x + 10, y), 5, BLACK.stroke_width(2)));
    }
    // A marker late in the run is named to its left, inside the plot.
    let late = timeseq_end(data) * 0.7;
    chart
        .draw_series(data.markers.iter().map(|m| {
            let width = i32::try_from(m.label.chars().count() * 9).unwrap_or(300);
            let dx = if m.t > late { -width - 10 } else { 8 };
            EmptyElement::at((m.t, kb(m.offset)))
                + Circle::new((0, 0), 5, MARKER.filled())
                + Text::new(m.label.clone(), (dx, -22), ("sans-serif", 20).into_font())
        }))
        .map_err(err)?;
    Ok(())
}

/// A line that holds each value until the next sample, as a window or a
/// counter does.
fn step_line(
    chart: &mut Chart<'_, '_>,
    points: &[(f64, f64)],
    end_s: f64,
    colour: RGBColor,
    name: &'static str,
    width: u32,
) -> Result<(), String> {
    let mut steps = Vec::with_capacity(points.len() * 2 + 1);
    for (i, &(t, v)) in points.iter().enumerate() {
        if i > 0 {
            steps.push((t, points[i - 1].1));
        }
        steps.push((t, v));
    }
    // The last value holds to the end of the run.
    if let Some(&(t, v)) = points.last() {
        if end_s > t {
            steps.push((end_s, v));
        }
    }
    chart
        .draw_series(LineSeries::new(steps, colour.stroke_width(width)))
        .map_err(err)?
        .label(name)
        .legend(move |(x, y)| line_key(x, y, colour));
    Ok(())
}

fn line_key(x: i32, y: i32, colour: RGBColor) -> PathElement<(i32, i32)> {
    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
}

fn legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 18))
        .draw()
        .map_err(err)
}

/// The time axis ends a little after the last event, never at 0.
fn axis_end(end_s: f64) -> f64 {
    if end_s.is_finite() && end_s > 0.0 {
        end_s * 1.02
    } else {
        1.0
    }
}

/// A y axis top with a little room above `max` (1 when there is nothing).
fn nice_top(max: f64) -> f64 {
    if max.is_finite() && max > 0.0 {
        max * 1.08
    } else {
        1.0
    }
}

/// A tick label: at most three decimals, no trailing zeros.
fn number(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(2.0), "2");
        assert_eq!(number(0.123456), "0.123");
        assert_eq!(number(-0.0001), "0");
    }

    #[test]
    fn axes_never_collapse() {
        assert_eq!(axis_end(0.0), 1.0);
        assert_eq!(axis_end(f64::NAN), 1.0);
        assert_eq!(nice_top(0.0), 1.0);
        assert!(nice_top(10.0) > 10.0);
    }
}
