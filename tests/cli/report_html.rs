//! `jetmem report --format html`: one self-contained page whose embedded data
//! is the JSON report, with nothing that could make a network request. The
//! browser check (it draws, no console error) is tests/html/browser-check.sh.

use std::path::Path;

use serde_json::Value;

use crate::traces::{self, unified_header, unified_records, write_trace};
use crate::{jetmem, ok_stdout, report_json};

/// Writes the page for `traces` to `out` and returns its text.
fn page(traces: &[&Path], out: &Path) -> String {
    let mut args = vec!["report".to_owned(), "--format".into(), "html".into()];
    args.extend(traces.iter().map(|t| t.display().to_string()));
    args.extend(["-o".into(), out.display().to_string()]);
    ok_stdout(&jetmem(&args));
    std::fs::read_to_string(out).unwrap()
}

/// The JSON block the page's script reads.
fn data(html: &str) -> Value {
    let open = r#"<script id="jetmem-data" type="application/json">"#;
    let start = html.find(open).expect("data block") + open.len();
    let len = html[start..].find("</script>").expect("data block end");
    serde_json::from_str(&html[start..start + len]).unwrap()
}

#[test]
fn the_page_embeds_the_json_report_and_the_timeline_of_every_sample() {
    let t = traces::traces("report-html-one");
    let html = page(&[&t.unified], &t.dir.join("one.html"));
    assert!(html.starts_with("<!DOCTYPE html>"));
    let d = data(&html);
    let json = report_json(&t.unified);
    assert_eq!(d["reports"][0], json);
    let tl = &d["timelines"][0];
    let samples = json["samples"].as_u64().unwrap() as usize;
    assert_eq!(tl["points_total"].as_u64(), Some(samples as u64));
    assert_eq!(tl["system_used"]["t_s"].as_array().unwrap().len(), samples);
    assert_eq!(
        tl["system_used"]["bytes"].as_array().unwrap().len(),
        samples
    );
    let max = |k: &str| {
        tl[k]["bytes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_u64)
            .max()
    };
    assert_eq!(
        max("system_used"),
        json["system"]["used_peak_bytes"].as_u64()
    );
    assert_eq!(max("gpu_used"), json["gpu"]["used_peak_bytes"].as_u64());
    assert_eq!(max("rss"), json["process"]["rss_peak_bytes"].as_u64());
    // The pressure line sits where available falls under the threshold.
    let total = json["system"]["total_bytes"].as_u64().unwrap();
    let permille = tl["threshold_permille"].as_u64().unwrap();
    assert!(permille > 0);
    assert_eq!(
        tl["pressure_used_bytes"].as_u64(),
        Some(total - total * permille / 1000)
    );
    assert_eq!(d["phases_not_embedded"][0], 0);
}

#[test]
fn the_page_can_make_no_network_request() {
    let t = traces::traces("report-html-net");
    let html = page(&[&t.unified, &t.discrete], &t.dir.join("two.html"));
    assert!(html.contains(r#"content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:""#));
    let lower = html.to_ascii_lowercase();
    for banned in [
        "<link",
        "<img",
        "<iframe",
        "<object",
        "<embed",
        " src=",
        " href=",
        "@import",
        "fetch(",
        "xmlhttprequest",
        "websocket",
        "eventsource",
        "sendbeacon",
        "import(",
    ] {
        assert!(!lower.contains(banned), "the page contains {banned}");
    }
    // The only URL is the SVG namespace (a name, never fetched).
    for (at, _) in lower.match_indices("://") {
        assert!(
            lower[at..].starts_with("://www.w3.org/2000/svg"),
            "a URL at {at}"
        );
    }
    for (at, _) in lower.match_indices("url(") {
        assert!(lower[at..].starts_with("url(#"), "a url() at {at}");
    }
}

#[test]
fn several_traces_give_one_report_and_timeline_each_in_order() {
    let t = traces::traces("report-html-many");
    let html = page(
        &[&t.unified, &t.discrete, &t.cpu],
        &t.dir.join("three.html"),
    );
    let d = data(&html);
    for (i, p) in [&t.unified, &t.discrete, &t.cpu].into_iter().enumerate() {
        assert_eq!(d["reports"][i], report_json(p));
        assert_eq!(d["timelines"][i]["label"], d["reports"][i]["label"]);
    }
    assert_eq!(d["reports"].as_array().unwrap().len(), 3);
    // Deltas against the first trace, from the reports' own figures.
    let c = &d["comparison"];
    assert_eq!(c["baseline"], 0);
    assert_eq!(c["rows"][0]["delta"], Value::Null);
    let peak = |i: usize| {
        d["reports"][i]["system"]["used_peak_bytes"]
            .as_i64()
            .unwrap()
    };
    for i in 1..3 {
        let delta = &c["rows"][i]["delta"]["system_used_peak"];
        assert_eq!(delta["bytes"].as_i64(), Some(peak(i) - peak(0)));
        let pct = ((peak(i) - peak(0)) as f64 / peak(0) as f64 * 1000.0).round() / 10.0;
        assert_eq!(delta["percent"].as_f64(), Some(pct));
    }
    // Discrete: the GPU figure compared is VRAM.
    assert_eq!(
        c["rows"][1]["gpu_peak_bytes"],
        d["reports"][1]["total_peak"]["vram_bytes"]
    );
}

#[test]
fn a_label_cannot_close_the_script_element() {
    let dir = traces::scratch("report-html-label");
    let path = dir.join("evil.jetmem");
    let mut h = unified_header();
    h.label.clear();
    h.label.push_str("</script><b>&x</b>").unwrap();
    write_trace(&path, &h, &unified_records(true));
    let html = page(&[&path], &dir.join("evil.html"));
    assert_eq!(html.matches("</script>").count(), 2);
    assert!(!html.contains("<b>"));
    assert_eq!(data(&html)["reports"][0]["label"], "</script><b>&x</b>");
}

#[test]
fn an_existing_output_file_is_kept_without_force() {
    let t = traces::traces("report-html-force");
    let out = t.dir.join("kept.html");
    std::fs::write(&out, "mine").unwrap();
    let trace = t.unified.display().to_string();
    let o = jetmem([
        "report",
        "--format",
        "html",
        &trace,
        "-o",
        &out.display().to_string(),
    ]);
    assert!(!o.status.success());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "mine");
}

/// The program's instant marks reach the timeline with their times and labels.
#[test]
fn instant_marks_are_drawn_on_the_timeline() {
    use jetmem_core::record::{MarkKind, Record};
    let dir = traces::scratch("report-html-marks");
    let path = dir.join("marks.jetmem");
    let mut recs = Vec::new();
    for r in unified_records(true) {
        if let Record::Sample(s) = &r
            && s.t_ns / traces::DT_NS % 25 == 0
        {
            recs.push(traces::mark(s.t_ns, MarkKind::Instant, "checkpoint"));
        }
        recs.push(r);
    }
    write_trace(&path, &unified_header(), &recs);
    let d = data(&page(&[&path], &dir.join("marks.html")));
    let marks = d["timelines"][0]["marks"].as_array().unwrap();
    let times: Vec<f64> = marks.iter().map(|m| m["t_s"].as_f64().unwrap()).collect();
    assert_eq!(times, [0.0, 0.25, 0.5, 0.75]);
    assert!(marks.iter().all(|m| m["label"] == "checkpoint"));
    assert_eq!(d["timelines"][0]["marks_not_kept"], 0);
}
