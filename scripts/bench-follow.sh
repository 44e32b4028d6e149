#!/usr/bin/env bash
# Latency from a headless run's event being journaled to a dashboard's screen, in another process.
# A dashboard (in tmux) follows the journal; `ymera run --simulate --realtime` runs headless beside it.
# The headless run traces each event's commit time (YMERA_TRACE_JOURNAL), the dashboard the time of
# the first frame that drew it (YMERA_TRACE_FRAMES); both are wall-clock ms on this machine, joined
# by (run, seq). Prints count, median, p90, p99 and max, for all events and for non-text events.
# Usage: scripts/bench-follow.sh [path/to/ymera] [runs]     (needs tmux and python3)
set -eu
BIN="${1:-./.build/debug/ymera}"
RUNS="${2:-3}"
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
TMP="$(mktemp -d)"
SOCK="ymera-bench-follow-$$"
cleanup() { tmux -L "$SOCK" kill-server >/dev/null 2>&1 || true; rm -rf "$TMP"; }
trap cleanup EXIT
export LANG=C.UTF-8 LC_ALL=C.UTF-8
tmux -L "$SOCK" -f /dev/null new-session -d -s b -x 120 -y 40 \
  "env TERM=tmux-256color YMERA_HOME=$TMP/data YMERA_TRACE_FRAMES=$TMP/frames.log $BIN dashboard --simulate; sleep 60"
i=0; until tmux -L "$SOCK" capture-pane -p -t b 2>/dev/null | grep -q YMERA; do
  i=$((i + 1)); [ $i -gt 200 ] && { echo "the dashboard did not open"; exit 1; }; sleep 0.1
done
for n in $(seq 1 "$RUNS"); do
  env YMERA_HOME="$TMP/data" YMERA_TRACE_JOURNAL="$TMP/commits-$n.log" "$BIN" run "Write a haiku about journals, take $n" \
    --simulate --realtime --strategy multi --validator heuristic --json >/dev/null 2>&1
done
sleep 1
cat "$TMP"/commits-*.log >"$TMP/commits.log"
python3 - "$TMP/commits.log" "$TMP/frames.log" <<'PY'
import sys, statistics
def load(path):
    out = {}
    for line in open(path):
        t, run, seq, kind = line.split()
        out.setdefault((run, int(seq)), (float(t), kind))
    return out
commits, frames = load(sys.argv[1]), load(sys.argv[2])
def report(name, keys):
    lat = sorted(frames[k][0] - commits[k][0] for k in keys)
    if not lat:
        print(f"{name}: no events"); return
    q = lambda p: lat[min(len(lat) - 1, int(round(p * (len(lat) - 1))))]
    print(f"{name}: {len(lat)} events, median {statistics.median(lat):.1f} ms, p90 {q(0.9):.1f} ms, p99 {q(0.99):.1f} ms, max {lat[-1]:.1f} ms")
both = [k for k in commits if k in frames]
print(f"journaled {len(commits)} events; the dashboard drew {len(frames)} (text rows are coalesced), {len(both)} joined")
report("all events", both)
report("non-text events", [k for k in both if commits[k][1] != "text_delta"])
PY
