//! The Prometheus text exposition format (version 0.0.4) and OpenMetrics 1.0,
//! written straight into the response buffer: no allocation of its own.
//!
//! Why not the `prometheus-client` crate's encoder: it writes OpenMetrics only
//! (the issue asks for the classic text format by default), and its registry
//! keeps each label set in its own allocation; what differs between the two
//! formats here is three rules, kept in this file:
//! - OpenMetrics names a counter family without `_total` in `# TYPE`;
//! - OpenMetrics has an `info` type (`# TYPE jetmem info`, sample `jetmem_info`);
//! - OpenMetrics ends with `# EOF`.

use std::fmt::Write;

/// The two formats a scrape can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`.
    Text,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

impl Format {
    /// OpenMetrics when the `Accept` header names it, else the text format.
    pub fn from_accept(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Text,
        }
    }

    /// The response's `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// A metric family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    /// The family's name ends in `_total`.
    Counter,
    /// A gauge whose value is always 1, its labels the information (name ends in `_info`).
    Info,
}

/// A sample's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Int(u64),
    Signed(i64),
    Float(f64),
}

/// Writes families and samples into `out`.
#[derive(Debug)]
pub struct Encoder<'a> {
    out: &'a mut String,
    format: Format,
}

impl<'a> Encoder<'a> {
    pub fn new(out: &'a mut String, format: Format) -> Self {
        Encoder { out, format }
    }

    /// `# HELP` and `# TYPE` of the family `name` (its samples follow).
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let (family, ty) = match (self.format, kind) {
            (_, Kind::Gauge) => (name, "gauge"),
            (Format::Text, Kind::Counter) => (name, "counter"),
            (Format::Text, Kind::Info) => (name, "gauge"),
            (Format::OpenMetrics, Kind::Counter) => {
                (name.strip_suffix("_total").unwrap_or(name), "counter")
            }
            (Format::OpenMetrics, Kind::Info) => {
                (name.strip_suffix("_info").unwrap_or(name), "info")
            }
        };
        self.out.push_str("# HELP ");
        self.out.push_str(family);
        self.out.push(' ');
        escape(self.out, help, false);
        self.out.push_str("\n# TYPE ");
        self.out.push_str(family);
        self.out.push(' ');
        self.out.push_str(ty);
        self.out.push('\n');
    }

    /// One sample of the family named `name`.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: Value) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                self.out.push_str(k);
                self.out.push_str("=\"");
                escape(self.out, v, true);
                self.out.push('"');
            }
            self.out.push('}');
        }
        self.out.push(' ');
        // Writing into a String cannot fail.
        let _ = match value {
            Value::Int(v) => write!(self.out, "{v}"),
            Value::Signed(v) => write!(self.out, "{v}"),
            Value::Float(v) => write!(self.out, "{v}"),
        };
        self.out.push('\n');
    }

    /// Ends the exposition (`# EOF` in OpenMetrics).
    pub fn finish(self) {
        if self.format == Format::OpenMetrics {
            self.out.push_str("# EOF\n");
        }
    }
}

/// Backslash and newline escaped (and `"` in label values), as both formats require.
fn escape(out: &mut String, s: &str, quote: bool) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(format: Format) -> String {
        let mut s = String::new();
        let mut e = Encoder::new(&mut s, format);
        e.family("jetmem_samples_total", Kind::Counter, "Samples taken.");
        e.sample("jetmem_samples_total", &[], Value::Int(7));
        e.family("jetmem_info", Kind::Info, "The machine.");
        e.sample(
            "jetmem_info",
            &[("model", "a \"b\" \\ c\nd")],
            Value::Int(1),
        );
        e.family("jetmem_headroom_bytes", Kind::Gauge, "Budget minus used.");
        e.sample("jetmem_headroom_bytes", &[], Value::Signed(-5));
        e.finish();
        s
    }

    #[test]
    fn text_format() {
        assert_eq!(
            render(Format::Text),
            "# HELP jetmem_samples_total Samples taken.\n# TYPE jetmem_samples_total counter\n\
             jetmem_samples_total 7\n\
             # HELP jetmem_info The machine.\n# TYPE jetmem_info gauge\n\
             jetmem_info{model=\"a \\\"b\\\" \\\\ c\\nd\"} 1\n\
             # HELP jetmem_headroom_bytes Budget minus used.\n# TYPE jetmem_headroom_bytes gauge\n\
             jetmem_headroom_bytes -5\n"
        );
    }

    #[test]
    fn openmetrics_format() {
        let s = render(Format::OpenMetrics);
        assert!(s.starts_with("# HELP jetmem_samples Samples taken.\n# TYPE jetmem_samples counter\njetmem_samples_total 7\n"), "{s}");
        assert!(s.contains("# TYPE jetmem info\njetmem_info{"), "{s}");
        assert!(s.ends_with("jetmem_headroom_bytes -5\n# EOF\n"), "{s}");
    }

    #[test]
    fn accept_header_picks_the_format() {
        assert_eq!(Format::from_accept(None), Format::Text);
        assert_eq!(
            Format::from_accept(Some("text/plain;version=0.0.4")),
            Format::Text
        );
        assert_eq!(
            Format::from_accept(Some(
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
            )),
            Format::OpenMetrics
        );
    }
}
