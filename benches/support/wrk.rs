//! Reading wrk's report (`wrk --latency`), for the HTTP benchmarks.

/// What one wrk run measured.
pub(crate) struct WrkReport {
    /// Requests completed in the run.
    pub requests: f64,
    /// wrk's `Requests/sec`.
    pub rps: f64,
    /// The 99th percentile latency in milliseconds (NaN if wrk gave none).
    pub p99_ms: f64,
}

/// Parses wrk's stdout; warns on stderr if wrk saw errors.
pub(crate) fn parse(out: &str) -> WrkReport {
    let requests: f64 = out
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("wrk's request count in {out}"));
    let rps: f64 = out
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("wrk's Requests/sec in {out}"));
    let p99_ms =
        out.lines().find_map(|l| l.trim().strip_prefix("99%")).map(|v| latency_ms(v.trim())).unwrap_or(f64::NAN);
    if out.contains("Socket errors") || out.contains("Non-2xx") {
        eprintln!(
            "warning: wrk saw errors: {}",
            out.lines().filter(|l| l.contains("errors") || l.contains("Non-2xx")).collect::<Vec<_>>().join("; ")
        );
    }
    WrkReport { requests, rps, p99_ms }
}

/// wrk's latencies: `1.23ms`, `456.00us`, `1.02s`.
fn latency_ms(v: &str) -> f64 {
    let (number, scale) = if let Some(n) = v.strip_suffix("us") {
        (n, 1e-3)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1e3)
    } else {
        (v, 1.0)
    };
    number.parse::<f64>().unwrap_or(f64::NAN) * scale
}
