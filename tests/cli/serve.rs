//! `jetmem serve` on a recorded root: the figures it exposes come from the
//! fixture's files, the exposition passes Prometheus's own checker (`promtool
//! check metrics`, from Debian's `prometheus` package, which .ci/run installs),
//! and idle clients do not hold the sampler up.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::traces::{fixture, get, nano_meminfo, scratch};
use crate::{jetmem, jetmem_command};

/// A running `jetmem serve`, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `jetmem serve --listen 127.0.0.1:0 ARGS` and waits for the line that names its port.
fn serve(args: &[&str]) -> Server {
    let mut child = jetmem_command()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Warnings may come first; the listening line names the port.
    let mut said = Vec::new();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            let addr = line
                .strip_prefix("jetmem serve: listening on http://")
                .and_then(|rest| rest.strip_suffix("/metrics"))
                .map(str::to_owned);
            said.push(line);
            addr
        })
        .and_then(|a| a.parse().ok());
    let Some(addr) = addr else {
        // Not left running after the test.
        let _ = child.kill();
        let _ = child.wait();
        panic!("serve never said where it listens: {said:?}");
    };
    // Keep reading stderr, so a later warning does not meet a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Server { child, addr }
}

/// `jetmem serve` on the recorded Jetson Nano root, sampling every `interval`.
fn serve_nano(interval: &str) -> Server {
    let root = fixture("nano-4gb-jp4.6-meminfo");
    serve(&[
        "--root",
        root.to_str().unwrap(),
        "--interval",
        interval,
        "--window",
        "1s",
    ])
}

/// `GET path` with an optional Accept header: (head, body).
fn get_http(addr: SocketAddr, path: &str, accept: Option<&str>) -> (String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let accept = accept
        .map(|a| format!("Accept: {a}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: test\r\n{accept}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head.to_owned(), body.to_owned())
}

/// The value of the sample whose line starts with `series` (name and labels, exactly).
fn value(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
}

fn promtool_check(body: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is needed (Debian package `prometheus`; .ci/run installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n--- exposition:\n{body}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn serve_exposes_the_fixtures_figures_in_both_formats() {
    let server = serve_nano("20ms");
    let m = nano_meminfo();
    let total = get(&m, "MemTotal");
    let used = total - get(&m, "MemAvailable");
    let nvmap = get(&m, "NvMapMemUsed");
    let swap = get(&m, "SwapTotal") - get(&m, "SwapFree");

    let (head, body) = get_http(server.addr, "/metrics", None);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    let v = |s: &str| value(&body, s).unwrap_or_else(|| panic!("no {s} in\n{body}"));
    assert_eq!(v("jetmem_system_total_bytes"), total as f64);
    assert_eq!(v("jetmem_system_used_bytes"), used as f64);
    // A recorded root does not change: the window's extremes are the figures themselves.
    assert_eq!(v("jetmem_system_used_max_bytes"), used as f64);
    assert_eq!(
        v("jetmem_system_available_min_bytes"),
        (total - used) as f64
    );
    assert_eq!(v("jetmem_swap_used_bytes"), swap as f64);
    // Unified memory: the GPU figure is NvMapMemUsed, a subset of used.
    assert_eq!(
        v("jetmem_gpu_used_bytes{source=\"meminfo-nvmap\"}"),
        nvmap as f64
    );
    assert_eq!(
        v("jetmem_gpu_used_max_bytes{source=\"meminfo-nvmap\"}"),
        nvmap as f64
    );
    // This Nano had under 20 % available: pressure, entered once.
    assert!(total - used < total / 5);
    assert_eq!(v("jetmem_under_pressure"), 1.0);
    assert_eq!(v("jetmem_pressure_events_total"), 1.0);
    assert_eq!(
        v("jetmem_headroom_bytes"),
        (total * 800 / 1000) as f64 - used as f64
    );
    assert!(v("jetmem_samples_total") >= 1.0);
    assert!(
        body.contains("jetmem_info{architecture=\"unified\","),
        "{body}"
    );
    // The recorded root has no PSI file: the figure is absent and says why.
    assert!(!body.contains("jetmem_psi_memory_some_avg10 "), "{body}");
    assert_eq!(
        v("jetmem_source_up{source=\"psi-memory\",reason=\"missing\"}"),
        0.0
    );
    assert_eq!(v("jetmem_source_up{source=\"meminfo\",reason=\"\"}"), 1.0);
    promtool_check(&body);

    let (head, om) = get_http(
        server.addr,
        "/metrics",
        Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"),
    );
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/openmetrics-text; version=1.0.0"),
        "{head}"
    );
    assert!(om.ends_with("# EOF\n"), "{om}");
    assert!(
        om.contains("# TYPE jetmem_samples counter\njetmem_samples_total "),
        "{om}"
    );
    assert_eq!(value(&om, "jetmem_system_used_bytes"), Some(used as f64));

    let (head, _) = get_http(server.addr, "/nothing", None);
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
}

#[test]
fn idle_clients_do_not_hold_up_sampling_or_scrapes() {
    let server = serve_nano("10ms");
    // Connections that never send a request (fewer than the limit of 16).
    let idle: Vec<TcpStream> = (0..8)
        .map(|_| TcpStream::connect(server.addr).unwrap())
        .collect();
    let samples = |b: &str| value(b, "jetmem_samples_total").unwrap();
    let first = samples(&get_http(server.addr, "/metrics", None).1);
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_millis(300));
    let (_, body) = get_http(server.addr, "/metrics", None);
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert!(
        samples(&body) > first,
        "the sampler stopped: {first} then {}",
        samples(&body)
    );
    drop(idle);
}

#[test]
fn serve_process_metrics_for_a_pid() {
    let pid = std::process::id().to_string();
    let server = serve(&["--pid", &pid, "--interval", "20ms", "--window", "1s"]);
    let (_, body) = get_http(server.addr, "/metrics", None);
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).unwrap();
    let resident: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    let line = body
        .lines()
        .find(|l| l.starts_with(&format!("jetmem_process_rss_bytes{{pid=\"{pid}\",name=\"")))
        .unwrap_or_else(|| panic!("no process line in\n{body}"));
    let rss: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    // The test process's RSS moves a little between the two reads; pages are 4 KiB or more.
    let page = 4096.0;
    assert!(
        (rss - resident as f64 * page).abs() < 64.0 * 1024.0 * 1024.0,
        "{rss} vs {resident} pages"
    );
    assert!(
        body.contains(&format!(
            "jetmem_process_rss_max_bytes{{pid=\"{pid}\",name=\""
        )),
        "{body}"
    );
}

#[test]
fn serve_refuses_bad_settings_with_a_clear_error() {
    let out = jetmem([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--interval",
        "1s",
        "--window",
        "100ms",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--window") && err.contains("--interval"),
        "{err}"
    );
    let out = jetmem(["serve", "--listen", "127.0.0.1:0", "--pid", "4294967294"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no process with pid 4294967294"));
}

#[test]
fn serve_match_follows_processes_by_name() {
    // `sleep` under a name no other process has (comm: the first 15 bytes).
    let name = format!("jm-match-{}", std::process::id() % 100_000);
    let dir = scratch("serve-match");
    let program = dir.join(&name);
    std::fs::copy("/bin/sleep", &program).unwrap();
    let mut sleeper = Command::new(&program).arg("30").spawn().unwrap();
    let pid = sleeper.id();
    let server = serve(&["--match", &name, "--interval", "20ms", "--window", "1s"]);
    let (_, body) = get_http(server.addr, "/metrics", None);
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    let series = format!("jetmem_process_rss_bytes{{pid=\"{pid}\",name=\"{name}\"}}");
    let rss = value(&body, &series).unwrap_or_else(|| panic!("no {series} in\n{body}"));
    assert!(rss > 0.0, "{rss}");
    // Only that process: one series each for rss and its max.
    assert_eq!(body.matches("name=\"jm-match-").count(), 2, "{body}");
}

/// At most 16 connections (http.rs): a 17th is closed unanswered; connections
/// that send no request are closed after the 5 s header timeout, and scrapes
/// work again.
#[test]
fn connections_are_bounded_and_silent_ones_time_out() {
    let server = serve_nano("50ms");
    let t0 = Instant::now();
    let idle: Vec<TcpStream> = (0..16)
        .map(|_| TcpStream::connect(server.addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut extra = TcpStream::connect(server.addr).unwrap();
    extra
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let _ = extra.write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n");
    let mut answer = String::new();
    let _ = extra.read_to_string(&mut answer);
    assert!(
        answer.is_empty(),
        "the 17th connection was served: {answer}"
    );
    for mut s in idle {
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(
            s.read(&mut buf).unwrap_or(0),
            0,
            "a silent connection got data"
        );
    }
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_secs(4) && waited < Duration::from_secs(12),
        "silent connections closed after {waited:?}, not the 5 s header timeout"
    );
    let (head, _) = get_http(server.addr, "/metrics", None);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
}
