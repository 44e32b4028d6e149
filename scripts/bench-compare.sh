#!/usr/bin/env bash
# YMERA side by side with bare AsyncHTTPClient and LiteLLM's Router, in one run, from a fresh clone:
#
#   scripts/bench-compare.sh
#
# 1. builds the Benchmarks package in release into .build-bench/swift (never the main .build);
# 2. installs LiteLLM from PyPI into .build-bench/venv (LITELLM_LOCAL_MODEL_COST_MAP=True: no fetch);
# 3. starts Benchmarks' StubServer, an OpenAI-compatible chat completions server on 127.0.0.1 only;
# 4. per round, measures bare AsyncHTTPClient, YMERA's provider client and YMERA's engine on a
#    one-phase plan with the SQLite journal (CompareBench), then LiteLLM's Router (litellm_router.py);
# 5. prints one table per mode (streamed SSE and non-streamed JSON): added latency median and p99
#    over N sequential calls, calls/s at concurrency 50, ratios against bare AsyncHTTPClient;
# 6. then the dashboard's idle CPU over 10 s (DashboardBench) and the history figures (JournalBench).
#
# Settings (environment): BENCH_ROUNDS (3), BENCH_SEQUENTIAL (300), BENCH_WARMUP (50), BENCH_CALLS (500),
# BENCH_CONCURRENCY (50), BENCH_MODES (stream,json), BENCH_LITELLM (the pip requirement, default the
# version measured in BENCHMARKS.md), BENCH_EXTRAS (1: run step 6; 0: skip it), BENCH_JOURNAL_RUNS
# (100000, as in BENCHMARKS.md: its fill takes ~3 min the first time, then the database is
# cached in .build-bench/journal-<runs>; 10000 for a quick look).
#
# Not a CI step: figures are printed, never asserted. The machine is shared: read ratios, not absolutes.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/.build-bench"
SCRATCH="$OUT/swift"
ROUNDS=${BENCH_ROUNDS:-3}
SEQUENTIAL=${BENCH_SEQUENTIAL:-300}
WARMUP=${BENCH_WARMUP:-50}
CALLS=${BENCH_CALLS:-500}
CONCURRENCY=${BENCH_CONCURRENCY:-50}
MODES=${BENCH_MODES:-stream,json}
LITELLM_REQ=${BENCH_LITELLM:-litellm==1.110.2}
EXTRAS=${BENCH_EXTRAS:-1}
JOURNAL_RUNS=${BENCH_JOURNAL_RUNS:-100000}
mkdir -p "$OUT"
started=$(date +%s)

say() { printf '\n== %s\n' "$*" >&2; }

say "machine"
{
    echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "cores:   $(nproc); memory: $(free -g 2>/dev/null | awk '/^Mem:/ {print $2 " GiB"}'); kernel: $(uname -r)"
    echo "swift:   $(swift --version 2>&1 | head -1)"
    echo "python:  $(python3 --version 2>&1)"
    echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at start"
    echo "commit:  $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
} | tee "$OUT/machine.txt"

say "building the Benchmarks package in release ($SCRATCH)"
products=(StubServer CompareBench)
if [ "$EXTRAS" = 1 ]; then products+=(DashboardBench JournalBench); fi
for p in "${products[@]}"; do
    swift build -c release --package-path "$ROOT/Benchmarks" --scratch-path "$SCRATCH" --product "$p" >&2
done
BIN=$(swift build -c release --package-path "$ROOT/Benchmarks" --scratch-path "$SCRATCH" --show-bin-path)

say "LiteLLM into $OUT/venv ($LITELLM_REQ)"
if [ ! -x "$OUT/venv/bin/python" ]; then python3 -m venv "$OUT/venv"; fi
"$OUT/venv/bin/pip" install --quiet --disable-pip-version-check "$LITELLM_REQ" >&2
export LITELLM_LOCAL_MODEL_COST_MAP=True

say "starting the loopback stub"
PORT_FILE="$OUT/stub.port"
rm -f "$PORT_FILE"
"$BIN/StubServer" --port 0 --threads 1 --port-file "$PORT_FILE" >&2 &
STUB_PID=$!
trap 'kill "$STUB_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -s "$PORT_FILE" ] && break; sleep 0.1; done
[ -s "$PORT_FILE" ] || { echo "the stub did not start" >&2; exit 1; }
BASE="http://127.0.0.1:$(cat "$PORT_FILE")/v1"

RESULTS="$OUT/compare-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
common=(--base "$BASE" --modes "$MODES" --sequential "$SEQUENTIAL" --warmup "$WARMUP" --calls "$CALLS" --concurrency "$CONCURRENCY")
for round in $(seq 1 "$ROUNDS"); do
    say "round $round of $ROUNDS: bare AsyncHTTPClient, YMERA provider, YMERA engine"
    "$BIN/CompareBench" "${common[@]}" --round "$round" | tee -a "$RESULTS" >&2
    say "round $round of $ROUNDS: LiteLLM Router"
    "$OUT/venv/bin/python" "$ROOT/scripts/bench/litellm_router.py" "${common[@]}" --round "$round" | tee -a "$RESULTS" >&2
done
kill "$STUB_PID" 2>/dev/null || true
wait "$STUB_PID" 2>/dev/null || true
trap - EXIT

if [ "$EXTRAS" = 1 ]; then
    say "dashboard: frames, 10 s idle, 10 s at 1 000 tokens/s (DashboardBench)"
    BENCH_SECONDS=10 "$BIN/DashboardBench" | tee "$OUT/dashboard.txt"
    say "history at $JOURNAL_RUNS runs (JournalBench; database cached in $OUT/journal-$JOURNAL_RUNS)"
    JOURNAL_BENCH_RUNS=$JOURNAL_RUNS "$BIN/JournalBench" "$OUT/journal-$JOURNAL_RUNS" | tee "$OUT/journal.txt"

    say "the ymera binary in release: --version, and history at $JOURNAL_RUNS runs (wall time, peak RSS)"
    # The root package's product, built through the Benchmarks package's scratch path (its modules are
    # already built there in release); a separate release build of the root package if SwiftPM refuses.
    if swift build -c release --package-path "$ROOT/Benchmarks" --scratch-path "$SCRATCH" --product ymera >&2; then
        YMERA="$BIN/ymera"
    else
        swift build -c release --package-path "$ROOT" --scratch-path "$OUT/ymera" --product ymera >&2
        YMERA="$(swift build -c release --package-path "$ROOT" --scratch-path "$OUT/ymera" --show-bin-path)/ymera"
    fi
    # Median wall time and the largest peak RSS over N runs of a command (GNU time: %e s, %M KiB).
    cli_figure() {
        local label=$1 n=$2; shift 2
        local f="$OUT/cli-times.txt"; : > "$f"
        for _ in $(seq 1 "$n"); do /usr/bin/time -f "%e %M" -a -o "$f" "$@" > /dev/null 2>&1 || true; done
        sort -n "$f" | awk -v label="$label" -v n="$n" '{ t[NR] = $1; if ($2 > m) m = $2 }
            END { printf "%-34s median %.0f ms, peak RSS %.1f MB (%d runs)\n", label, t[int((NR + 1) / 2)] * 1000, m / 1024, n }'
    }
    {
        cli_figure "ymera --version" 21 "$YMERA" --version
        cli_figure "ymera history ($JOURNAL_RUNS runs)" 5 "$YMERA" history --data-dir "$OUT/journal-$JOURNAL_RUNS"
        cli_figure "ymera history --json ($JOURNAL_RUNS runs)" 5 "$YMERA" history --json --data-dir "$OUT/journal-$JOURNAL_RUNS"
    } | tee "$OUT/cli.txt"
fi

echo
echo "## YMERA vs bare AsyncHTTPClient vs LiteLLM Router (loopback stub)"
echo
sed 's/^/    /' "$OUT/machine.txt"
echo "    load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at end"
"$OUT/venv/bin/python" "$ROOT/scripts/bench/report.py" "$RESULTS"
echo
echo "Raw results: $RESULTS. Whole script: $(( $(date +%s) - started )) s."
