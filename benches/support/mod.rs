//! Shared benchmark harness: child processes, medians, the ratio table;
//! `report`: the JSON file and progress lines beside it; `foreign_echo`:
//! the Go and gevent echo servers; `server_process`: a server in a child
//! process (its address, its CPU time); `wrk`: wrk's report.
#![allow(dead_code)]

pub(crate) mod foreign_echo;
pub(crate) mod report;
pub(crate) mod server_process;
pub(crate) mod wrk;

use std::process::Command;

use report::{Report, Series};

/// The runtimes compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Peer {
    Sprout,
    Tokio,
    Smol,
}

impl Peer {
    pub(crate) const ALL: [Peer; 3] = [Peer::Sprout, Peer::Tokio, Peer::Smol];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Peer::Sprout => "sprout",
            Peer::Tokio => "tokio",
            Peer::Smol => "smol",
        }
    }

    fn parse(s: &str) -> Option<Peer> {
        Peer::ALL.into_iter().find(|p| p.name() == s)
    }
}

/// One figure from one run.
pub(crate) enum Measure {
    Value(f64),
}

/// A named workload, run once per child process.
pub(crate) struct Workload {
    pub name: &'static str,
    pub unit: &'static str,
    pub goal: &'static str,
    pub run: fn(Peer) -> Measure,
}

/// Resident set size of this process, in bytes.
pub(crate) fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    pages * 4096
}

/// One workload's medians, by peer (in `Peer::ALL`'s order), as `main`
/// printed them: for ratios between workloads.
pub(crate) struct Row {
    pub name: &'static str,
    pub medians: Vec<f64>,
}

/// Parses the command line: `--child <workload> <peer>` runs one
/// measurement and prints it; otherwise runs every selected workload on
/// every peer `--runs N` times (default 3) in child processes, prints the
/// table and writes it to `bench`'s JSON report (see `report`). Returns
/// the medians of the workloads it ran (none in a child).
pub(crate) fn main(bench: &str, workloads: &[Workload]) -> Vec<Row> {
    let args: Vec<String> = std::env::args().collect();
    let mut rows = Vec::new();
    if let Some(pos) = args.iter().position(|a| a == "--child") {
        let w = workloads.iter().find(|w| w.name == args[pos + 1]).expect("unknown workload");
        let peer = Peer::parse(&args[pos + 2]).expect("unknown peer");
        let Measure::Value(v) = (w.run)(peer);
        println!("{v}");
        return rows;
    }
    let runs: usize =
        args.iter().position(|a| a == "--runs").and_then(|p| args.get(p + 1)).and_then(|s| s.parse().ok()).unwrap_or(3);
    // cargo bench passes `--bench`; any other free word filters workloads.
    let filters: Vec<&String> =
        args.iter().skip(1).filter(|a| !a.starts_with("--") && a.parse::<usize>().is_err()).collect();
    let exe = std::env::current_exe().expect("own path");
    let mut report = Report::new(bench);
    println!(
        "{:<16} {:>10} {:>12} {:>12} {:>12} {:>9} {:>9}   goal",
        "workload", "unit", "sprout", "tokio", "smol", "tok/spr", "smol/spr"
    );
    for w in workloads {
        if !filters.is_empty() && !filters.iter().any(|f| w.name.contains(f.as_str())) {
            continue;
        }
        // Rounds interleave the peers (sprout, tokio, smol, sprout, ...), so a
        // drift in the machine's speed hits all three alike.
        let mut values: Vec<Vec<f64>> = vec![Vec::new(); Peer::ALL.len()];
        for run in 1..=runs {
            for (i, peer) in Peer::ALL.into_iter().enumerate() {
                report::progress(bench, w.name, peer.name(), run, runs);
                let out = Command::new(&exe).args(["--child", w.name, peer.name()]).output().expect("run child");
                assert!(
                    out.status.success(),
                    "{} on {} failed: {}",
                    w.name,
                    peer.name(),
                    String::from_utf8_lossy(&out.stderr)
                );
                values[i].push(String::from_utf8_lossy(&out.stdout).trim().parse().expect("a number"));
            }
        }
        let medians: Vec<f64> = values.iter().map(|v| report::median(v)).collect();
        println!(
            "{:<16} {:>10} {:>12.1} {:>12.1} {:>12.1} {:>8.2}x {:>8.2}x   {}",
            w.name,
            w.unit,
            medians[0],
            medians[1],
            medians[2],
            medians[1] / medians[0],
            medians[2] / medians[0],
            w.goal
        );
        let mut series = Series::new(w.name, w.unit).goal(w.goal);
        for (peer, runs) in Peer::ALL.into_iter().zip(values) {
            series = series.peer(peer.name(), runs);
        }
        report.add(series);
        rows.push(Row { name: w.name, medians });
    }
    rows
}
