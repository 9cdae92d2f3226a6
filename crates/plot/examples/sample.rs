//! Draws each picture from made-up numbers into the folder given
//! (default: the current one), to look at while changing the drawings.
use streamlab_plot::*;

fn main() -> Result<(), PlotError> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    let mut ts = TimeSeq {
        title: "sample: server to client".into(),
        end_s: 2.0,
        ..TimeSeq::default()
    };
    for i in 0..100u64 {
        let kind = match i % 17 {
            5 => SegmentKind::Retransmission,
            9 => SegmentKind::OutOfOrder,
            12 => SegmentKind::Probe,
            _ => SegmentKind::Data,
        };
        ts.segments.push(Segment {
            t: i as f64 * 0.02,
            start: i * 1448,
            end: (i + 1) * 1448,
            kind,
        });
        ts.acks.push((i as f64 * 0.02 + 0.01, i * 1448));
        ts.window_edge
            .push((i as f64 * 0.02 + 0.01, i * 1448 + 65535));
    }
    ts.zero_windows.push((1.0, 50 * 1448));
    ts.markers.push(Marker {
        t: 0.0,
        offset: 0,
        label: "track_data_start".into(),
    });
    ts.markers.push(Marker {
        t: 1.98,
        offset: 100 * 1448,
        label: "track_data_end".into(),
    });
    save(&dir.join("timeseq.svg"), &time_sequence(&ts)?)?;
    let tp = Throughput {
        title: "sample throughput".into(),
        bins: (0..20)
            .map(|i| (i as f64 * 0.1, 1e6 + i as f64 * 1e5))
            .collect(),
        bin_s: 0.1,
        end_s: 2.0,
    };
    save(&dir.join("throughput.svg"), &throughput(&tp)?)?;
    let p = Panel {
        title: "sample run".into(),
        timeseq: ts,
        cwnd: Some(vec![(0.0, 14480), (0.5, 28960), (1.0, 14000)]),
        in_flight: vec![(0.0, 0), (0.5, 20000), (1.5, 1000)],
        rwnd: vec![(0.0, 65535), (1.0, 0), (1.4, 65535)],
        buffer_s: vec![(0.0, 0.0), (0.3, 0.2), (0.8, 0.0), (1.2, 0.3)],
        stalls: vec![(0.8, 1.1)],
    };
    save(&dir.join("panel.svg"), &panel(&p)?)?;
    let e = ExperimentPlot {
        title: "sample grid".into(),
        stalled: vec![
            Curve {
                label: "0% loss".into(),
                points: vec![(0.5, 20.0), (1.0, 3.0), (2.0, 0.0)],
            },
            Curve {
                label: "5% loss".into(),
                points: vec![(0.5, 25.0), (1.0, 8.0), (2.0, 1.0)],
            },
        ],
        download: vec![Curve {
            label: "0% loss".into(),
            points: vec![(0.5, 14.0), (1.0, 7.0), (2.0, 3.5)],
        }],
    };
    save(&dir.join("experiment.svg"), &experiment(&e)?)?;
    Ok(())
}
