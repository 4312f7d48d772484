#!/usr/bin/env python3
"""Turns the benches' JSON reports into the SVG charts of docs/benchmarks.md.

    python3 -m venv target/plotenv && target/plotenv/bin/pip install matplotlib   # once
    target/plotenv/bin/python benches/plot.py                  # target/bench-json -> docs/img
    target/plotenv/bin/python benches/plot.py docs/img/data    # the committed data -> docs/img

Reads `<bench>.json` (the format is described in benches/support/report.rs)
from the directory given (default target/bench-json) and writes one SVG per
chart into docs/img (or --out DIR). A chart whose bench has no JSON file is
skipped and said so. Every bar is a median; its whisker spans the runs'
minimum to maximum. Nothing here holds a measured value: everything drawn
comes from the JSON files.
"""

import argparse
import json
import sys
from pathlib import Path

try:
    import matplotlib
except ImportError:
    sys.exit(
        "benches/plot.py needs matplotlib: python3 -m venv target/plotenv && "
        "target/plotenv/bin/pip install matplotlib, then run it with target/plotenv/bin/python"
    )

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

# Stable SVG output for the same data (no random ids, no timestamp), so a
# regenerated chart shows up in git only when its data changed.
matplotlib.rcParams["svg.hashsalt"] = "sprout"
matplotlib.rcParams["svg.fonttype"] = "path"
# A white page in GitHub's dark theme as in its light one: dark text on
# white stays readable in both.
matplotlib.rcParams.update(
    {
        "figure.facecolor": "white",
        "axes.facecolor": "white",
        "savefig.facecolor": "white",
        "text.color": "#1f2328",
        "axes.labelcolor": "#1f2328",
        "xtick.color": "#1f2328",
        "ytick.color": "#1f2328",
        "axes.edgecolor": "#57606a",
        "font.size": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "axes.grid.axis": "y",
        "grid.color": "#d0d7de",
        "grid.linewidth": 0.6,
        "axes.axisbelow": True,
    }
)

# One colour per runtime, the same in every chart (colour-blind-safe
# Okabe-Ito palette); sprout's is the strongest.
COLOURS = {
    "sprout": "#009E73",
    "tokio": "#E69F00",
    "smol": "#0072B2",
    "mio": "#999999",
    "gevent": "#CC79A7",
    "go": "#56B4E9",
    "hyper": "#E69F00",
}

# How a peer name in the JSON is shown, and which colour family it takes.
LABELS = {
    "mio": "mio loop (floor, no tasks)",
    "tokio": "tokio current_thread",
    "smol": "smol LocalExecutor",
    "sprout-1": "sprout, 1 worker",
    "sprout-2": "sprout, 2 workers",
    "tokio-mt2": "tokio multi_thread(2)",
    "hyper-mt2": "hyper, tokio multi_thread(2)",
    "go-2": "Go, GOMAXPROCS=2",
    "go": "Go",
    "gevent": "gevent StreamServer (Python)",
    "sprout-owned": "sprout, 8 KiB buffer in the task",
    "hyper-util": "hyper-util on tokio",
}


def colour(peer):
    # sprout's own API is full green; sprout under another API (a second
    # set-up, a peer's combinator on sprout's runtime) a light green.
    if peer.startswith("Pool::"):
        return COLOURS["sprout"]
    if peer in ("sprout-owned", "sprout-1") or peer.startswith("sprout+"):
        return "#8fd3bf"
    for key, c in COLOURS.items():
        if peer.startswith(key):
            return c
    return "#666666"


def label(peer, bench=None):
    if bench == "http" and peer == "tokio":
        return "hyper, tokio current_thread"
    if bench == "echo" and peer == "go":
        return "Go, GOMAXPROCS=1"
    return LABELS.get(peer, peer)


def load(data_dir):
    reports = {}
    for path in sorted(Path(data_dir).glob("*.json")):
        doc = json.loads(path.read_text())
        if doc.get("format") == "sprout-bench/1":
            reports[doc["bench"]] = doc
    return reports


def find(report, workload, metric=""):
    for s in report["series"]:
        if s["workload"] == workload and s["metric"] == metric:
            return s
    return None


def peer_of(series, peer):
    for p in series["peers"]:
        if p["peer"] == peer:
            return p
    return None


def caption(fig, reports, note=""):
    """The machine, the date and the command of every report drawn."""
    lines = []
    for r in reports:
        m = r["machine"]
        # The binary's own argv, as the cargo command that runs it (cargo
        # bench adds the `--bench` flag itself).
        args = [a for a in r["command"][1:] if a != "--bench"]
        cmd = f"cargo bench --bench {r['bench']}" + (" -- " + " ".join(args) if args else "")
        usable = m.get("usable_cores", m["cores"])
        pinned = f" (pinned to {usable})" if usable < m["cores"] else ""
        load_avg = m.get("load_average_start") or []
        load_txt = f", load average {load_avg[0]:.1f}" if load_avg else ""
        when = r["date"][:16].replace("T", " ")
        lines.append(f"{r['bench']}: {m['cpu']}, {m['cores']} cores{pinned}{load_txt}; {when} UTC; {cmd}")
    text = "\n".join(lines)
    if note:
        text = note + "\n" + text
    fig.text(0.01, 0.005, text, fontsize=7, color="#57606a", va="bottom", ha="left", wrap=True)


def bars(ax, groups, peers, bench=None, value_fmt="{:,.0f}", log=False):
    """Grouped bars: `groups` is [(group label, series)], one bar per peer
    present in the series: the median, with a min-max whisker when there
    are several runs."""
    present = [p for p in peers if any(s and peer_of(s, p) for _, s in groups)]
    n = max(len(present), 1)
    width = 0.8 / n
    for k, peer in enumerate(present):
        xs, meds, lo, hi = [], [], [], []
        for g, (_, s) in enumerate(groups):
            p = s and peer_of(s, peer)
            if not p or p["median"] is None:
                continue
            xs.append(g - 0.4 + width * (k + 0.5))
            meds.append(p["median"])
            multi = len(p["runs"]) > 1
            lo.append(p["median"] - p["min"] if multi else 0)
            hi.append(p["max"] - p["median"] if multi else 0)
        # A single measurement gets no whisker at all, rather than a flat one.
        whiskers = [lo, hi] if any(lo) or any(hi) else None
        ax.bar(
            xs,
            meds,
            width * 0.92,
            color=colour(peer),
            label=label(peer, bench),
            yerr=whiskers,
            error_kw={"ecolor": "#24292f", "elinewidth": 0.8, "capsize": 2},
        )
        for x, m, h in zip(xs, meds, hi):
            ax.annotate(
                value_fmt.format(m),
                (x, m + h),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=6.5,
                rotation=90 if n > 3 else 0,
            )
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([g for g, _ in groups])
    if log:
        ax.set_yscale("log")
        plain = FuncFormatter(lambda v, _: f"{v:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
        ax.tick_params(axis="y", which="minor", labelsize=7)
    else:
        ax.margins(y=0.18)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v == int(v) else f"{v:,g}"))
    return present


def legend(fig, top=0.93):
    """One legend above the panels: every peer drawn, once, in order."""
    handles = {}
    for ax in fig.axes:
        for h, l in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(l, h)
    fig.legend(list(handles.values()), list(handles), loc="upper center", ncol=min(len(handles), 4),
               frameon=False, bbox_to_anchor=(0.5, top), fontsize=8.5)


FORMAT = "svg"


def save(fig, out, name, made):
    path = Path(out) / name
    if FORMAT == "png":  # a preview, for eyes and image viewers
        path = path.with_suffix(".png")
        fig.savefig(path, format="png", dpi=110)
    else:
        fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)
    made.append(path)


def chart_echo(reports, out, made, size=64, name="echo.svg"):
    r = reports.get("echo")
    if not r:
        return
    conns = sorted({s["params"]["conns"] for s in r["series"] if s["params"].get("size") == size})
    if not conns:
        return
    peers = ["sprout", "tokio", "smol", "gevent", "go", "mio"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.8))
    rps = [(f"{c:,}", find(r, f"{c} x {size} B", "rps")) for c in conns]
    # At one connection the server idles between requests, and its CPU per
    # request is mostly wake-ups (several times the figure under load): on
    # the same axis it would flatten the loaded points, which compare the
    # runtimes. The table and the JSON keep it.
    loaded = [c for c in conns if c > 1] or conns
    cpu = [(f"{c:,}", find(r, f"{c} x {size} B", "cpu")) for c in loaded]
    bars(a, rps, peers, bench="echo", value_fmt="{:,.0f}")
    a.set_title(f"Requests per second ({size} B messages; higher is better)")
    a.set_xlabel("connections")
    a.set_ylabel("requests/s")
    bars(b, cpu, peers, bench="echo", value_fmt="{:.2f}")
    b.set_title("Server CPU per request under load (lower is better)")
    b.set_xlabel("connections")
    b.set_ylabel("server CPU, µs/request")
    fig.suptitle(f"Echo server, {size} B messages, server on one core", fontweight="bold")
    legend(fig)
    caption(fig, [r], "Bars: medians; whiskers: min–max over the runs. One mio load client on the other core; "
            "CPU at 1 connection (mostly wake-ups) is in the JSON and the table.")
    fig.tight_layout(rect=(0, 0.07, 1, 0.89))
    save(fig, out, name, made)


def chart_http(reports, out, made):
    r = reports.get("http")
    if not r:
        return
    conns = sorted({s["params"]["conns"] for s in r["series"] if "conns" in s["params"]})
    peers = ["sprout", "tokio"]
    client = find(r, "client", "fetch")
    fig, axes = plt.subplots(1, 3 if client else 2, figsize=(13 if client else 10, 4.8),
                             gridspec_kw={"width_ratios": [2, 2, 1] if client else [1, 1]})
    rps = [(f"{c:,}", find(r, f"{c} conns", "rps")) for c in conns]
    cpu = [(f"{c:,}", find(r, f"{c} conns", "cpu")) for c in conns]
    bars(axes[0], rps, peers, bench="http")
    axes[0].set_title("Requests per second (higher is better)")
    axes[0].set_xlabel("connections")
    axes[0].set_ylabel("requests/s")
    bars(axes[1], cpu, peers, bench="http", value_fmt="{:.2f}")
    axes[1].set_title("Server CPU per request (lower is better)")
    axes[1].set_xlabel("connections")
    axes[1].set_ylabel("server CPU, µs/request")
    if client:
        bars(axes[2], [("50 tasks", client)], ["sprout", "hyper-util"], value_fmt="{:,.0f}")
        axes[2].set_title("Client fetch rate (higher is better)", fontsize=9)
        axes[2].set_ylabel("pages/s")
    fig.suptitle("HTTP/1.1 hello world: sprout::http vs hyper on tokio (server on one core, wrk -t1)",
                 fontweight="bold")
    legend(fig)
    caption(fig, [r], "Bars: medians; whiskers: min–max over the rounds.")
    fig.tight_layout(rect=(0, 0.07, 1, 0.89))
    save(fig, out, "http.svg", made)


def panels(reports, out, made, name, title, specs, ncols=None, note="", bench_names=None, size=None):
    """One panel per (bench, workload, metric, panel title, y label,
    group label, value format), grouped bars over the core peers."""
    specs = [s for s in specs if reports.get(s[0]) and find(reports[s[0]], s[1], s[2])]
    if not specs:
        return
    ncols = ncols or len(specs)
    nrows = (len(specs) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=size or (3.6 * ncols, 3.9 * nrows), squeeze=False)
    used = []
    for i, (bench, workload, metric, ptitle, ylabel, fmt, peers) in enumerate(specs):
        ax = axes[i // ncols][i % ncols]
        s = find(reports[bench], workload, metric)
        bars(ax, [("", s)], peers or [p["peer"] for p in s["peers"]], bench=bench, value_fmt=fmt)
        ax.set_xticks([])
        ax.set_title(ptitle, fontsize=9.5)
        ax.set_ylabel(ylabel)
        if bench not in used:
            used.append(bench)
    for j in range(len(specs), nrows * ncols):
        axes[j // ncols][j % ncols].axis("off")
    legend(fig)
    fig.suptitle(title, fontweight="bold")
    caption(fig, [reports[b] for b in used], note or "Bars: medians; whiskers: min–max over the runs.")
    fig.tight_layout(rect=(0, 0.04 + 0.025 * len(used), 1, 0.88))
    save(fig, out, name, made)


CORE = ["sprout", "tokio", "smol"]


def chart_core(reports, out, made):
    panels(reports, out, made, "core.svg",
           "Runtime core: spawn, switch and timer costs (lower is better; one core)",
           [
               ("core", "spawn_join", "", "spawn + join, 1,000,000 tasks", "ns per task", "{:.0f}", CORE),
               ("core", "yield_switch", "", "yield_now switch", "ns per switch", "{:.0f}", CORE),
               ("core", "sleep_1m_total", "", "1,000,000 sleeps of 0–1 s, whole run", "ms", "{:,.0f}", CORE),
           ])


def chart_memory(reports, out, made):
    panels(reports, out, made, "memory.svg",
           "Memory: per task and per idle connection (lower is better)",
           [
               ("core", "idle_event_rss", "", "100,000 tasks waiting on one event", "bytes per task", "{:.0f}", CORE),
               ("core", "sleep_1m_rss", "", "1,000,000 sleeping tasks", "bytes per task", "{:.0f}", CORE),
               ("scale", "idle connections", "rss", "idle echo connection, server RSS", "bytes per connection",
                "{:,.0f}", ["sprout", "sprout-owned", "tokio", "go"]),
           ], size=(12, 4.8))


def chart_sync(reports, out, made):
    r = reports.get("sync")
    if not r:
        return
    specs = [("sync", s["workload"], s["metric"], s["workload"], s["unit"].replace("ns/", "ns per "), "{:.0f}", CORE)
             for s in r["series"]]
    panels(reports, out, made, "sync.svg", "Sync and queues on one runtime (lower is better; one core)", specs,
           ncols=3)


def chart_pools(reports, out, made):
    r = reports.get("pools")
    if not r:
        return
    specs = [("pools", s["workload"], s["metric"], s["workload"], s["unit"], "{:,.0f}", None)
             for s in r["series"] if s["workload"] != "imap_10m_rss"]
    panels(reports, out, made, "pools.svg", "Blocking pool and Pool::map (lower is better; one core)", specs,
           ncols=len(specs), size=(4.2 * len(specs), 4.8))


def chart_process(reports, out, made):
    r = reports.get("process")
    if not r:
        return
    specs = []
    for s in r["series"]:
        if s["metric"] in ("wall", "parent_cpu"):
            what = "wall time" if s["metric"] == "wall" else "parent CPU"
            specs.append(("process", s["workload"], s["metric"], f"{s['workload']}: {what}", "µs per child",
                          "{:,.1f}", ["sprout", "tokio"]))
    panels(reports, out, made, "process.svg", "Child processes, 50 at a time (lower is better; one core)", specs,
           ncols=len(specs), size=(3.3 * len(specs), 4.6))


def chart_scale(reports, out, made):
    """Several cores: echo and HTTP on 2 cores by connection count, and
    the cross-core round trips."""
    parts = [b for b in ("scale", "scale_http", "cores") if b in reports]
    if not parts:
        return
    fig, axes = plt.subplots(1, 3, figsize=(15, 5), gridspec_kw={"width_ratios": [2, 1.5, 1.2]})
    scale = reports.get("scale")
    if scale and any(s["metric"] == "rps" for s in scale["series"]):
        conns = sorted({s["params"]["conns"] for s in scale["series"] if s["metric"] == "rps"})
        bars(axes[0], [(f"{c:,}", find(scale, f"{c} x 64 B", "rps")) for c in conns],
             ["sprout-1", "sprout-2", "tokio-mt2", "go-2"])
        threads = next(s["params"].get("client_threads") for s in scale["series"] if s["metric"] == "rps")
        axes[0].set_title(f"Echo 64 B on 2 cores, {threads} client thread(s) (higher is better)", fontsize=9.5)
        axes[0].set_xlabel("connections")
        axes[0].set_ylabel("requests/s")
    else:
        axes[0].axis("off")
    http = reports.get("scale_http")
    if http:
        conns = sorted({s["params"]["conns"] for s in http["series"]})
        bars(axes[1], [(f"{c:,}", find(http, f"{c} conns", "rps")) for c in conns], ["sprout-1", "sprout-2", "hyper-mt2"])
        axes[1].set_title("HTTP hello on 2 cores (higher is better)", fontsize=9.5)
        axes[1].set_xlabel("connections")
        axes[1].set_ylabel("requests/s")
    else:
        axes[1].axis("off")
    cores = reports.get("cores")
    if cores:
        groups = [(s["workload"].replace("_rtt", ""), s) for s in cores["series"]]
        converted = []  # the JSON holds ns; µs read better here
        for g, s in groups:
            c = json.loads(json.dumps(s))
            for p in c["peers"]:
                for k in ("median", "min", "max"):
                    p[k] = p[k] / 1000 if p[k] is not None else None
                p["runs"] = [v / 1000 for v in p["runs"]]
            converted.append((g, c))
        bars(axes[2], converted, CORE, value_fmt="{:.1f}", log=True)
        axes[2].set_title("Cross-core round trip (lower is better)", fontsize=9.5)
        axes[2].set_ylabel("µs per round trip (log scale)")
    else:
        axes[2].axis("off")
    fig.suptitle("Several cores: sprout::cores and workers vs tokio multi_thread, Go, smol", fontweight="bold")
    legend(fig)
    caption(fig, [reports[b] for b in parts], "Bars: medians; whiskers: min–max over the runs. Load client shares the cores.")
    fig.tight_layout(rect=(0, 0.03 + 0.025 * len(parts), 1, 0.84))
    save(fig, out, "scale.svg", made)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default="target/bench-json", help="directory of <bench>.json files")
    parser.add_argument("--out", default="docs/img", help="where the SVG files go")
    parser.add_argument("--png", action="store_true", help="write PNG previews instead of SVG")
    args = parser.parse_args()
    global FORMAT
    FORMAT = "png" if args.png else "svg"
    reports = load(args.data)
    if not reports:
        sys.exit(f"no sprout-bench JSON files in {args.data}")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    made = []
    chart_echo(reports, args.out, made)
    chart_echo(reports, args.out, made, size=4096, name="echo-4k.svg")
    chart_http(reports, args.out, made)
    chart_core(reports, args.out, made)
    chart_memory(reports, args.out, made)
    chart_sync(reports, args.out, made)
    chart_pools(reports, args.out, made)
    chart_process(reports, args.out, made)
    chart_scale(reports, args.out, made)
    for path in made:
        print(path)
    missing = {"echo", "http", "core", "sync", "pools", "process", "scale", "scale_http", "cores"} - reports.keys()
    if missing:
        print("no data (not drawn): " + ", ".join(sorted(missing)), file=sys.stderr)


if __name__ == "__main__":
    main()
