"""Turns the JSON lines of CompareBench and litellm_router.py into the side-by-side table.

Per client and mode, each figure is the median over the rounds. "added" is the client's wall time per
call minus the stub's own median service time in the same window; "over bare" is added minus bare
AsyncHTTPClient's added; ratios are against bare AsyncHTTPClient in the same mode.

    python3 report.py results.jsonl
"""
import json
import statistics
import sys

ROWS = [
    ("ahc", "bare AsyncHTTPClient"),
    ("provider", "YMERA provider client"),
    ("engine-nojournal", "(YMERA engine, one phase, no journal)"),
    ("engine", "YMERA engine, one phase (+journal)"),
    ("litellm", "LiteLLM Router"),
]


def ratio(x):
    """Three significant figures: 0.0038, 0.57, 12.5, 150."""
    return f"{x:.3g}"


def main(path):
    results = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                r = json.loads(line)
                results.setdefault((r["mode"], r["client"]), []).append(r)
    modes = [m for m in ("stream", "json") if any(k[0] == m for k in results)]
    for mode in modes:
        def med(client, key):
            rs = results.get((mode, client), [])
            return statistics.median(r[key] for r in rs) if rs else None

        bare_med, bare_p99, bare_cps = med("ahc", "added_median_us"), med("ahc", "added_p99_us"), med("ahc", "calls_per_s")
        any_r = next(iter(v for k, v in results.items() if k[0] == mode))[0]
        rounds = max(len(v) for k, v in results.items() if k[0] == mode)
        title = "streamed (SSE)" if mode == "stream" else "non-streamed (JSON)"
        print(f"\n### {title}: {any_r['sequential']} sequential calls, {any_r['calls']} calls at concurrency "
              f"{any_r['concurrency']}; medians of {rounds} rounds; stub service time median "
              f"{med('ahc', 'stub_median_us'):.0f} µs\n")
        print("| client | added median | added p99 | over bare (median) | calls/s at c=%d | median × bare | p99 × bare | calls/s × bare |"
              % any_r["concurrency"])
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for client, label in ROWS:
            if (mode, client) not in results:
                continue
            m, p, c = med(client, "added_median_us"), med(client, "added_p99_us"), med(client, "calls_per_s")
            over = "—" if client == "ahc" else f"+{(m - bare_med) / 1000:.2f} ms"
            print(f"| {label} | {m / 1000:.2f} ms | {p / 1000:.2f} ms | {over} | {c:,.0f} | "
                  f"{ratio(m / bare_med)} | {ratio(p / bare_p99)} | {ratio(c / bare_cps)} |")
        e, l = med("engine", "added_median_us"), med("litellm", "added_median_us")
        if e and l:
            print(f"\nYMERA engine (+journal) against LiteLLM Router: {l / e:.1f}× less added latency at the median, "
                  f"{med('litellm', 'added_p99_us') / med('engine', 'added_p99_us'):.1f}× at p99, "
                  f"{med('engine', 'calls_per_s') / med('litellm', 'calls_per_s'):.1f}× the calls per second.")
    extra = [r.get("litellm_version") for v in results.values() for r in v if r.get("litellm_version")]
    if extra:
        print(f"\nLiteLLM {extra[0]}.")


if __name__ == "__main__":
    main(sys.argv[1])
