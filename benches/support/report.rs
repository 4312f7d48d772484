//! Machine-readable results: each bench writes what its table shows, with
//! the runs behind every median, to one JSON file; and it reports its
//! progress on stderr, so that stdout keeps only the table.
//!
//! **Where.** `target/bench-json/<bench>.json` (in the `target` directory
//! the bench binary was built in), or `$SPROUT_BENCH_JSON`: a path ending
//! in `.json` names the file, any other names a directory for
//! `<bench>.json`. The file is rewritten after every series, so an
//! interrupted run keeps what it measured. `benches/plot.py` turns these
//! files into the charts of `docs/benchmarks.md`.
//!
//! **Format** (`"format": "sprout-bench/1"`):
//!
//! ```text
//! { "format", "bench", "date" (UTC, ISO 8601), "command" (argv, as run),
//!   "machine": { "cpu", "cores", "usable_cores" (after taskset), "kernel",
//!                "load_average_start", "load_average_end" },
//!   "series": [ { "workload", "metric", "unit", "better" ("lower"|"higher"),
//!                 "goal", "params" { .. }, "base" (a peer name),
//!                 "peers": [ { "peer", "runs" [..], "median", "min", "max" } ],
//!                 "ratios": { "<peer>": its median / the base's median } } ] }
//! ```
//!
//! The median is the one the table prints: the middle value, the upper
//! one of the two middles for an even count.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// One bench run's results, written to its JSON file as they come in.
pub(crate) struct Report {
    bench: String,
    path: PathBuf,
    head: Map<String, Value>,
    series: Vec<Value>,
}

impl Report {
    /// Starts the report of `bench` (the bench's name, as in `--bench`).
    pub(crate) fn new(bench: &str) -> Report {
        let mut head = Map::new();
        head.insert("format".into(), "sprout-bench/1".into());
        head.insert("bench".into(), bench.into());
        head.insert("date".into(), utc_now().into());
        head.insert("command".into(), std::env::args().collect::<Vec<_>>().into());
        head.insert("machine".into(), machine());
        Report { bench: bench.into(), path: json_path(bench), head, series: Vec::new() }
    }

    /// Adds one series and rewrites the file.
    pub(crate) fn add(&mut self, series: Series) {
        self.series.push(series.into_json());
        self.write();
    }

    /// Adds one series per metric of a workload measured on several peers
    /// (a load point of an echo bench): `names[i]`'s runs are `runs[i]`,
    /// one `T` per run, read through each metric's getter; `params`
    /// describe the workload, `base` names the peer the ratios divide by.
    pub(crate) fn add_metrics<T>(
        &mut self,
        workload: &str,
        params: &[(&str, Value)],
        base: &str,
        metrics: &[Metric<T>],
        names: &[impl AsRef<str>],
        runs: &[Vec<T>],
    ) {
        for &(metric, unit, better, figure) in metrics {
            let mut series = Series::new(workload, unit).metric(metric).better(better).base(base);
            for (key, value) in params {
                series = series.param(key, value.clone());
            }
            for (name, runs) in names.iter().zip(runs) {
                series = series.peer(name.as_ref(), runs.iter().map(figure).collect());
            }
            self.add(series);
        }
    }

    /// Where the report goes.
    pub(crate) fn path(&self) -> &PathBuf {
        &self.path
    }

    fn write(&self) {
        let mut doc = self.head.clone();
        if let Some(Value::Object(machine)) = doc.get_mut("machine") {
            machine.insert("load_average_end".into(), load_average());
        }
        doc.insert("series".into(), self.series.clone().into());
        let text = serde_json::to_string_pretty(&Value::Object(doc)).expect("JSON") + "\n";
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if let Err(e) = std::fs::write(&self.path, text) {
            eprintln!("[{}] could not write {}: {e}", self.bench, self.path.display());
        }
    }
}

impl Drop for Report {
    fn drop(&mut self) {
        if !self.series.is_empty() {
            eprintln!("[{}] results: {}", self.bench, self.path.display());
        }
    }
}

/// Whether a larger figure is better (requests/s) or worse (ns/task).
#[derive(Clone, Copy)]
pub(crate) enum Better {
    Lower,
    Higher,
}

/// How a bench takes one figure out of a run's results `T`: the metric's
/// name, its unit, which way is better, and the getter.
pub(crate) type Metric<T> = (&'static str, &'static str, Better, fn(&T) -> f64);

/// One figure of one workload, measured on several peers over several runs.
pub(crate) struct Series {
    workload: String,
    metric: String,
    unit: String,
    better: Better,
    goal: String,
    params: Map<String, Value>,
    base: Option<String>,
    peers: Vec<(String, Vec<f64>)>,
}

impl Series {
    /// A cost (lower is better) named `workload`, in `unit`.
    pub(crate) fn new(workload: impl Into<String>, unit: impl Into<String>) -> Series {
        Series {
            workload: workload.into(),
            metric: String::new(),
            unit: unit.into(),
            better: Better::Lower,
            goal: String::new(),
            params: Map::new(),
            base: None,
            peers: Vec::new(),
        }
    }

    /// Which figure of the workload this is, when it has several.
    pub(crate) fn metric(mut self, metric: &str) -> Series {
        self.metric = metric.into();
        self
    }

    pub(crate) fn better(mut self, better: Better) -> Series {
        self.better = better;
        self
    }

    pub(crate) fn goal(mut self, goal: &str) -> Series {
        self.goal = goal.into();
        self
    }

    /// A parameter of the workload (connections, message size, ...).
    pub(crate) fn param(mut self, key: &str, value: impl Into<Value>) -> Series {
        self.params.insert(key.into(), value.into());
        self
    }

    /// The peer the ratios divide by; the first peer added if not named.
    pub(crate) fn base(mut self, peer: &str) -> Series {
        self.base = Some(peer.into());
        self
    }

    /// One peer's per-run values.
    pub(crate) fn peer(mut self, peer: &str, runs: Vec<f64>) -> Series {
        self.peers.push((peer.into(), runs));
        self
    }

    fn into_json(self) -> Value {
        let medians: Vec<f64> = self.peers.iter().map(|(_, runs)| median(runs)).collect();
        let base = self.base.clone().or_else(|| self.peers.first().map(|(p, _)| p.clone())).unwrap_or_default();
        let base_median = self.peers.iter().zip(&medians).find(|((p, _), _)| *p == base).map(|(_, m)| *m);
        let mut ratios = Map::new();
        let mut peers = Vec::new();
        for ((peer, runs), median) in self.peers.iter().zip(medians) {
            if let Some(b) = base_median {
                ratios.insert(peer.clone(), number(median / b));
            }
            let min = runs.iter().copied().fold(f64::INFINITY, f64::min);
            let max = runs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let runs: Vec<Value> = runs.iter().map(|&v| number(v)).collect();
            peers.push(json!({
                "peer": peer, "runs": runs, "median": number(median), "min": number(min), "max": number(max),
            }));
        }
        json!({
            "workload": self.workload,
            "metric": self.metric,
            "unit": self.unit,
            "better": match self.better { Better::Lower => "lower", Better::Higher => "higher" },
            "goal": self.goal,
            "params": self.params,
            "base": base,
            "peers": peers,
            "ratios": ratios,
        })
    }
}

/// Reports on stderr where a long bench is: `[echo] 50 x 64 B · tokio · run 3/7`.
pub(crate) fn progress(bench: &str, workload: &str, peer: &str, run: usize, runs: usize) {
    eprintln!("[{bench}] {workload} · {peer} · run {run}/{runs}");
}

/// The middle value (the upper middle for an even count), as the tables print.
pub(crate) fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// A JSON number, or null for NaN and the infinities (JSON has neither).
fn number(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// `$SPROUT_BENCH_JSON`, or `bench-json/<bench>.json` in the target
/// directory this binary sits in (`target/release/deps/<bench>-<hash>`).
fn json_path(bench: &str) -> PathBuf {
    let file = format!("{bench}.json");
    if let Some(chosen) = std::env::var_os("SPROUT_BENCH_JSON") {
        let chosen = PathBuf::from(chosen);
        return if chosen.extension().is_some_and(|e| e == "json") { chosen } else { chosen.join(file) };
    }
    let exe = std::env::current_exe().unwrap_or_default();
    let target = exe.parent().filter(|d| d.ends_with("deps")).and_then(|d| d.parent()?.parent());
    target.map_or_else(|| PathBuf::from("target"), PathBuf::from).join("bench-json").join(file)
}

fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':').map(|(_, v)| v.trim().to_string()))
        .unwrap_or_default();
    let cores = cpuinfo.lines().filter(|l| l.starts_with("processor")).count();
    let usable = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    json!({
        "cpu": cpu,
        "cores": cores,
        "usable_cores": usable,
        "kernel": kernel.trim(),
        "load_average_start": load_average(),
    })
}

/// The 1, 5 and 15 minute load averages: how busy the shared machine was.
fn load_average() -> Value {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let v: Vec<Value> = text.split_whitespace().take(3).filter_map(|s| s.parse::<f64>().ok()).map(number).collect();
    v.into()
}

/// The current time in UTC, `YYYY-MM-DDTHH:MM:SSZ`.
fn utc_now() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest / 60 % 60, rest % 60)
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard
/// Hinnant's `civil_from_days`: eras of 400 years, years from March).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}
