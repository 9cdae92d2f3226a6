//! Each picture read back by structure: it is XML, it shows the series it
//! was given (and no legend entry for a series it was not), one shape per
//! drawn segment, the markers by name, and axes that span the data.

use streamlab_plot::colours::{self, hex};
use streamlab_plot::{
    experiment, panel, series, throughput, time_sequence, Curve, ExperimentPlot, Marker, Panel,
    Segment, SegmentKind, Throughput, TimeSeq,
};
use streamlab_testkit::svg::{self, Svg};

/// 60 segments of 1448 B over 1.2 s; every 10th from the 5th is resent,
/// every 20th from the 7th arrives out of order.
fn transfer(retransmissions: bool) -> TimeSeq {
    let mut ts = TimeSeq {
        title: "stream 0: server to client".into(),
        end_s: 1.2,
        ..TimeSeq::default()
    };
    for i in 0..60u64 {
        let t = i as f64 * 0.02;
        let kind = match (i % 10, i % 20) {
            (5, _) if retransmissions => SegmentKind::Retransmission,
            (_, 7) => SegmentKind::OutOfOrder,
            _ => SegmentKind::Data,
        };
        ts.segments.push(Segment {
            t,
            start: i * 1448,
            end: (i + 1) * 1448,
            kind,
        });
        ts.acks.push((t + 0.01, (i + 1) * 1448));
        ts.window_edge.push((t + 0.01, (i + 1) * 1448 + 65_535));
    }
    ts.markers = vec![
        Marker {
            t: 0.0,
            offset: 0,
            label: "track_data_start".into(),
        },
        Marker {
            t: 1.18,
            offset: 60 * 1448,
            label: "track_data_end".into(),
        },
    ];
    ts
}

fn parse(text: &str) -> Svg {
    svg::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// The axis starts at 0 and its last label lies within `(0.8 × end, end]`:
/// the picture covers the data and not much more.
fn spans(axis: &[f64], end: f64) {
    assert_eq!(axis.first().copied(), Some(0.0), "{axis:?}");
    let last = axis.last().copied().unwrap_or(f64::NAN);
    assert!(last <= end * 1.02 && last > end * 0.8, "{axis:?} for {end}");
}

#[test]
fn the_time_sequence_graph_shows_every_segment_by_kind() {
    let data = transfer(true);
    let svg = parse(&time_sequence(&data).expect("drawn"));
    for name in [
        series::DATA,
        series::RETRANSMISSION,
        series::OUT_OF_ORDER,
        series::ACK,
        series::WINDOW_EDGE,
        "track_data_start",
        "track_data_end",
        "stream 0: server to client",
    ] {
        assert!(svg.has_text(name), "no {name:?}");
    }
    // No probes and no zero window: no legend entries for them.
    assert!(!svg.has_text(series::PROBE));
    assert!(!svg.has_text(series::ZERO_WINDOW));
    let count = |kind| data.segments.iter().filter(|s| s.kind == kind).count();
    // One upright bar per segment, and one key in the legend.
    for (kind, colour) in [
        (SegmentKind::Data, colours::DATA),
        (SegmentKind::Retransmission, colours::RETRANSMISSION),
        (SegmentKind::OutOfOrder, colours::OUT_OF_ORDER),
    ] {
        assert_eq!(
            svg.count("polyline", &hex(colour)),
            count(kind) + 1,
            "{kind:?}"
        );
    }
    let x = svg.x_axes();
    assert_eq!(x.len(), 1, "{x:?}");
    spans(&x[0], data.end_s);
    let y = svg.y_axes();
    spans(&y[0], 60.0 * 1448.0 / 1000.0 * 1.08);
}

#[test]
fn a_clean_transfer_has_no_retransmission_in_its_legend() {
    let svg = parse(&time_sequence(&transfer(false)).expect("drawn"));
    assert!(!svg.has_text(series::RETRANSMISSION));
    assert_eq!(svg.count("polyline", &hex(colours::RETRANSMISSION)), 0);
}

#[test]
fn probes_and_zero_windows_are_marked() {
    let mut data = transfer(false);
    data.segments.push(Segment {
        t: 0.5,
        start: 20 * 1448 - 1,
        end: 20 * 1448 - 1,
        kind: SegmentKind::Probe,
    });
    data.zero_windows = vec![(0.45, 20 * 1448), (0.7, 20 * 1448)];
    let svg = parse(&time_sequence(&data).expect("drawn"));
    assert!(svg.has_text(series::PROBE));
    assert!(svg.has_text(series::ZERO_WINDOW));
    assert_eq!(svg.count("circle", &hex(colours::PROBE)), 2);
}

#[test]
fn the_throughput_graph_spans_its_bins() {
    let data = Throughput {
        title: "throughput".into(),
        bins: (0..10).map(|i| (i as f64 * 0.1, 2e6)).collect(),
        bin_s: 0.1,
        end_s: 1.0,
    };
    let svg = parse(&throughput(&data).expect("drawn"));
    assert!(svg.has_text(series::THROUGHPUT));
    spans(&svg.x_axes()[0], 1.0);
    // 2 Mbit/s at most, with a little room above.
    spans(&svg.y_axes()[0], 2.0 * 1.08);
}

#[test]
fn the_panel_shares_one_time_axis_over_four_graphs() {
    let data = Panel {
        title: "starved".into(),
        timeseq: transfer(false),
        cwnd: Some(vec![(0.0, 14_480), (0.6, 40_000)]),
        in_flight: vec![(0.0, 0), (0.3, 14_480)],
        rwnd: vec![(0.0, 65_535), (0.8, 0), (1.0, 65_535)],
        buffer_s: vec![(0.0, 0.0), (0.4, 0.3), (0.8, 0.0), (1.1, 0.25)],
        stalls: vec![(0.8, 0.95)],
    };
    let svg = parse(&panel(&data).expect("drawn"));
    for name in [
        series::CWND,
        series::IN_FLIGHT,
        series::RWND,
        series::BUFFER,
        series::STALL,
        "track_data_end",
    ] {
        assert!(svg.has_text(name), "no {name:?}");
    }
    let x = svg.x_axes();
    assert_eq!(x.len(), 4, "{x:?}");
    for axis in &x {
        assert_eq!(axis, &x[0], "every graph has the same time axis");
        spans(axis, 1.2);
    }
    // The window graph reaches 65.535 kB; the buffer graph 0.3 s.
    let y = svg.y_axes();
    assert_eq!(y.len(), 4, "{y:?}");
    spans(&y[2], 65.535 * 1.08);
    spans(&y[3], 0.3 * 1.08);
    // One shaded stall, and its legend key.
    let stall = hex(colours::STALL);
    let shaded = svg
        .shapes
        .iter()
        .filter(|s| s.tag == "rect" && s.fill.as_deref() == Some(&stall));
    assert_eq!(shaded.count(), 2);
}

#[test]
fn a_model_without_a_congestion_window_says_so() {
    let data = Panel {
        title: "gbn".into(),
        timeseq: transfer(false),
        cwnd: None,
        in_flight: vec![(0.0, 0), (0.3, 14_480)],
        ..Panel::default()
    };
    let svg = parse(&panel(&data).expect("drawn"));
    assert!(!svg.has_text(series::CWND));
    assert!(svg.has_text(series::IN_FLIGHT));
    assert!(svg
        .texts
        .iter()
        .any(|t| t.content.contains("no congestion window")));
}

#[test]
fn the_experiment_has_a_line_per_loss_rate() {
    let curve = |label: &str, k: f64| Curve {
        label: label.into(),
        points: [0.5, 1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|&b| (b, k / b))
            .collect(),
    };
    let data = ExperimentPlot {
        title: "lab 4".into(),
        stalled: vec![curve("0% loss", 10.0), curve("5% loss", 20.0)],
        download: vec![curve("0% loss", 14.0), curve("5% loss", 28.0)],
    };
    let svg = parse(&experiment(&data).expect("drawn"));
    assert!(svg.has_text("0% loss") && svg.has_text("5% loss"));
    assert!(svg.has_text("seconds stalled") && svg.has_text("seconds to download"));
    let x = svg.x_axes();
    assert_eq!(x.len(), 2, "{x:?}");
    // Bandwidth from 0.5 to 10 Mbit/s.
    for axis in &x {
        assert!(
            axis[0] >= 0.5 && *axis.last().unwrap_or(&0.0) <= 10.0,
            "{axis:?}"
        );
    }
    // Download times reach 28 / 0.5 = 56 s.
    spans(&svg.y_axes()[1], 56.0 * 1.08);
}

#[test]
fn a_point_beyond_the_stated_end_widens_the_axis_instead_of_breaking() {
    // A capture whose clock jumped: one segment a billion seconds late.
    let mut data = transfer(false);
    data.segments.push(Segment {
        t: 1e9,
        start: 0,
        end: 1448,
        kind: SegmentKind::Retransmission,
    });
    let svg = parse(&time_sequence(&data).expect("drawn"));
    let x = &svg.x_axes()[0];
    assert!(*x.last().unwrap_or(&0.0) > 1e8, "{x:?}");
    let panel = Panel {
        timeseq: data,
        buffer_s: vec![(0.0, 0.0), (2e9, 0.1)],
        ..Panel::default()
    };
    parse(&streamlab_plot::panel(&panel).expect("drawn"));
}

#[test]
fn an_empty_picture_is_still_a_picture() {
    let svg = parse(&time_sequence(&TimeSeq::default()).expect("drawn"));
    assert_eq!(svg.x_axes().len(), 1);
    parse(&panel(&Panel::default()).expect("drawn"));
    parse(&experiment(&ExperimentPlot::default()).expect("drawn"));
}
