#!/usr/bin/env bash
# End-to-end check of the two real local models (issues 8 and 18):
#   install the llama.cpp runtime (xllamacpp wheel), SmolLM2-135M-Instruct and Gemma 3 270M into a
#   cached data directory, start both servers, measure them, run a task whose phases are spread over
#   the two local models (offline, no key), then stop them and prove that no process is left behind.
#
# Environment:
#   YMERA_BIN            ymera binary to use (default: build it with `swift build --product ymera`)
#   YMERA_LOCAL_CACHE    cache folder kept across runs (default: <repo>/.build-local-cache)
#   YMERA_E2E_TASK       the task text for the run
# Needs: python3 (3.10+) with venv, the system library libgomp1, access to PyPI on first install.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${YMERA_LOCAL_CACHE:-$ROOT/.build-local-cache}
INSTALL_DIR=$CACHE/data            # venv + model, reused across runs
export PIP_CACHE_DIR=$CACHE/pip    # wheels, reused across runs
MODEL_ID=local/smollm2-135m-instruct
GEMMA_ID=local-gemma/gemma-3-270m-it
TASK=${YMERA_E2E_TASK:-"Write a Python function that returns the n-th Fibonacci number, with a short docstring."}

say() { printf '== %s\n' "$*" >&2; }
fail() { printf 'local-e2e: FAIL: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {'d': d}))" "$1"; }

# --- system requirements, said plainly -------------------------------------------------------
command -v python3 >/dev/null || fail "python3 is missing (apt-get install python3 python3-venv)"
python3 -c 'import venv, ensurepip' 2>/dev/null || fail "python3's venv module is missing (apt-get install python3-venv)"
# (grep without -q reads all its input: under pipefail, an early exit would kill ldconfig with SIGPIPE.)
ldconfig -p 2>/dev/null | grep 'libgomp\.so\.1' >/dev/null || fail "libgomp1 is missing (apt-get install libgomp1)"

# --- the binary ------------------------------------------------------------------------------
if [[ -z "${YMERA_BIN:-}" ]]; then
    say "building ymera"
    (cd "$ROOT" && swift build --product ymera >/dev/null)
    YMERA_BIN="$(cd "$ROOT" && swift build --show-bin-path)/ymera"
fi
[[ -x "$YMERA_BIN" ]] || fail "no ymera binary at $YMERA_BIN"
"$YMERA_BIN" local --help >/dev/null 2>&1 || fail "$YMERA_BIN has no 'local' command (LocalCommand is not registered)"

# --- install (idempotent; the cache makes later runs fast) -----------------------------------
mkdir -p "$CACHE"
say "installing the runtime and model into $INSTALL_DIR"
t0=$(now)
"$YMERA_BIN" local install --data-dir "$INSTALL_DIR" --json >"$CACHE/install.json"
t1=$(now)
INSTALL_WALL=$(elapsed "$t0" "$t1")
# `install --json` prints one report per model (SmolLM2, then Gemma).
RUNTIME_S=$(json '"%.2f s" % d[0]["runtime_install_seconds"] if d[0].get("runtime_install_seconds") else "already installed"' <"$CACHE/install.json")
DOWNLOAD_S=$(json '", ".join(("%.2f s" % r["model_download_seconds"]) if r.get("model_download_seconds") else "cached" for r in d)' <"$CACHE/install.json")
[[ $(json 'len(d)' <"$CACHE/install.json") == 2 ]] || fail "install did not report both models: $(cat "$CACHE/install.json")"
# A second install must be a no-op.
"$YMERA_BIN" local install --data-dir "$INSTALL_DIR" --json >"$CACHE/install2.json"
[[ $(json 'all(s["skipped"] or s["title"].startswith("Check") for r in d for s in r["steps"])' <"$CACHE/install2.json") == True ]] \
    || fail "a second install did work again: $(cat "$CACHE/install2.json")"

# --- a run data dir of its own, borrowing the installed venv and model -----------------------
RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ymera-local-e2e.XXXXXX")
mkdir -p "$RUN_DIR/local"
ln -s "$INSTALL_DIR/local/venv" "$RUN_DIR/local/venv"
ln -s "$INSTALL_DIR/local/models" "$RUN_DIR/local/models"
cp "$INSTALL_DIR/local/runtime.json" "$RUN_DIR/local/runtime.json"
LAUNCHER="$RUN_DIR/local/ymera_llama_server.py"

cleanup() {
    local rc=$?
    "$YMERA_BIN" local stop --data-dir "$RUN_DIR" >/dev/null 2>&1 || true
    if pids=$(pgrep -f "$LAUNCHER"); then
        echo "local-e2e: killing leftover server(s): $pids" >&2
        for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
        rc=1
    fi
    rm -rf "$RUN_DIR"
    exit $rc
}
trap cleanup EXIT

# --- start -----------------------------------------------------------------------------------
say "starting both servers"
t0=$(now)
# Gemma's server gets a 4096-token context: enough for the run, and it keeps memory and CI time down.
"$YMERA_BIN" local start --data-dir "$RUN_DIR" --model smollm2 --threads 1 --ctx 8192 --json >"$RUN_DIR/start.json"
"$YMERA_BIN" local start --data-dir "$RUN_DIR" --model gemma --threads 1 --ctx 4096 --json >"$RUN_DIR/start-gemma.json"
t1=$(now)
START_WALL=$(elapsed "$t0" "$t1")
STARTUP_S=$(json '"%.2f" % d[0]["startup_seconds"]' <"$RUN_DIR/start.json")
GEMMA_STARTUP_S=$(json '"%.2f" % d[0]["startup_seconds"]' <"$RUN_DIR/start-gemma.json")
BASE_URL=$(json '"http://127.0.0.1:%d" % d[0]["port"]' <"$RUN_DIR/start.json")
[[ $(pgrep -f "$LAUNCHER" | wc -l) -ge 2 ]] || fail "not two launcher processes after start"

say "measuring one generation on each model"
"$YMERA_BIN" local bench --data-dir "$RUN_DIR" --model smollm2 --max-tokens 128 --json >"$RUN_DIR/bench.json"
"$YMERA_BIN" local bench --data-dir "$RUN_DIR" --model gemma --max-tokens 64 --json >"$RUN_DIR/bench-gemma.json"
TPS=$(json '"%.1f" % d["tokens_per_second"]' <"$RUN_DIR/bench.json")
GEMMA_TPS=$(json '"%.1f" % d["tokens_per_second"]' <"$RUN_DIR/bench-gemma.json")
BENCH_TOKENS=$(json 'd["output_tokens"]' <"$RUN_DIR/bench.json")
(( BENCH_TOKENS > 0 )) || fail "SmolLM2 generated no tokens"
(( $(json 'd["output_tokens"]' <"$RUN_DIR/bench-gemma.json") > 0 )) || fail "Gemma generated no tokens"

"$YMERA_BIN" local status --data-dir "$RUN_DIR" --json >"$RUN_DIR/status.json"
[[ $(json '",".join(s["state"] for s in d)' <"$RUN_DIR/status.json") == running,running ]] \
    || fail "status does not say both run: $(cat "$RUN_DIR/status.json")"
RSS_MB=$(json '" + ".join("%.0f" % (s["resident_bytes"] / 1048576) for s in d)' <"$RUN_DIR/status.json")

# --- ENGINE PART: a whole run served by the two local models --------------------------------
# No key, no --model: the planner spreads the phases over the two local models by their tiers
# (Gemma plans, reviews and validates; SmolLM2 writes). The run must say: status succeeded, both
# local models served phases, text streamed, tokens > 0, cost 0, serving local.
"$YMERA_BIN" run --help >/dev/null 2>&1 || fail "$YMERA_BIN has no 'run' command"
RUN_RESULT="not run"
if true; then
    say "running a task on the two local models: $TASK"
    # Small local models on a busy CI machine: an answer that reaches its output limit is marked
    # truncated rather than continued, and no refinement round — the run checks wiring, not quality.
    cat >"$RUN_DIR/e2e.toml" <<'TOML'
[engine]
max_continuations = 0
max_refinements = 0
TOML
    t0=$(now)
    rc=0
    # The CLI finds the running servers through <data>/local/server.json and gemma.json.
    env -u GROQ_API_KEY -u GEMINI_API_KEY -u MISTRAL_API_KEY -u DEEPSEEK_API_KEY -u ANTHROPIC_API_KEY -u OPENAI_API_KEY \
        -u AI21_API_KEY -u TOGETHER_API_KEY -u OPENROUTER_API_KEY YMERA_HOME="$RUN_DIR" \
        timeout 1200 "$YMERA_BIN" run "$TASK" --json --data-dir "$RUN_DIR" --config "$RUN_DIR/e2e.toml" --strategy multi --seed 7 --validator heuristic \
        >"$RUN_DIR/run.jsonl" 2>"$RUN_DIR/run.err" || rc=$?
    t1=$(now)
    RUN_WALL=$(elapsed "$t0" "$t1")
    python3 - "$RUN_DIR/run.jsonl" "$MODEL_ID" "$GEMMA_ID" <<'PY' || { sed 's/^/  run stderr: /' "$RUN_DIR/run.err" | tail -20 >&2; fail "the run was not a successful, local, free run over both models (exit $rc)"; }
import json, sys
path, smol, gemma = sys.argv[1], sys.argv[2], sys.argv[3]
lines = []
for raw in open(path):
    raw = raw.strip()
    if raw.startswith("{"):
        try: lines.append(json.loads(raw))
        except ValueError: pass
summary = [l for l in lines if l.get("type") == "summary"]
if not summary:
    print("  - no summary line in the JSON output", file=sys.stderr); sys.exit(1)
s = summary[-1]
deltas = [l for l in lines if l.get("type") == "text_delta"]
started = {l.get("model") for l in lines if l.get("type") == "step_started"}
problems = []
# SmolLM2-135M gets shapes right and substance often wrong: an honest verdict below the quality
# threshold (exit 4) is a completed run; a failed or cancelled one is not.
if s.get("status") not in ("succeeded", "completed_below_threshold"): problems.append("status %r (%s)" % (s.get("status"), s.get("reason")))
if not s.get("phases"): problems.append("no phases")
served = {p.get("model") for p in s.get("phases", [])}
if not served <= {smol, gemma}: problems.append("phases served by %s" % sorted(served - {smol, gemma}))
if smol not in started or gemma not in started: problems.append("not both local models ran attempts: %s" % sorted(m for m in started if m))
if not s.get("tokens", 0) > 0: problems.append("tokens %r" % s.get("tokens"))
if s.get("cost_usd") != 0: problems.append("cost %r" % s.get("cost_usd"))
if s.get("cost_complete") is False: problems.append("cost shown as unpriced")
if s.get("serving") != "local": problems.append("serving %r" % s.get("serving"))
if not deltas: problems.append("no streamed text (no text_delta events)")
for p in problems: print("  - " + p, file=sys.stderr)
print("  phases: " + ", ".join("%s=%s" % (p.get("name"), p.get("model")) for p in s.get("phases", [])), file=sys.stderr)
print("  tokens %s, cost %s, %d text deltas, %s ms" % (s.get("tokens"), s.get("cost"), len(deltas), s.get("duration_ms")), file=sys.stderr)
sys.exit(1 if problems else 0)
PY
    [[ $rc == 0 || $rc == 4 ]] || fail "ymera run exited $rc"
    RUN_RESULT="completed (exit $rc) in ${RUN_WALL}s, phases on $MODEL_ID and $GEMMA_ID, cost 0"
fi

# --- a user's own OpenAI-compatible server, named in a config file -----------------------------
CONFIG_RESULT="not run"
if true; then
    say "running on a server named in a config file (--config FILE --model MODEL)"
    cat >"$RUN_DIR/mybox.toml" <<TOML
# Any OpenAI-compatible server: here the same llama.cpp server, under a provider of the user's own.
[providers.mybox]
kind = "openai-compatible"
base_url = "$BASE_URL/v1"
local = true
max_concurrent = 1

[[models]]
id = "mybox/smollm2"
api_name = "smollm2"
context_window = 8192
max_output_tokens = 256
speed = 3
quality = 1
capabilities = ["fast"]
TOML
    rc=0
    timeout 600 "$YMERA_BIN" run "Say hello to a new colleague in one sentence" --json --config "$RUN_DIR/mybox.toml" \
        --model mybox/smollm2 --strategy single --data-dir "$RUN_DIR/cfg" >"$RUN_DIR/cfg.jsonl" 2>"$RUN_DIR/cfg.err" || rc=$?
    python3 - "$RUN_DIR/cfg.jsonl" <<'PY' || { sed 's/^/  run stderr: /' "$RUN_DIR/cfg.err" | tail -20 >&2; fail "the run on the configured server failed (exit $rc)"; }
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
s = lines[-1]
deltas = [l for l in lines if l.get("type") == "text_delta"]
usage = [l for l in lines if l.get("type") == "usage"]
problems = []
if s.get("type") != "summary" or s.get("status") not in ("succeeded", "completed_below_threshold"): problems.append("status %r (%s)" % (s.get("status"), s.get("reason")))
if any(p.get("model") != "mybox/smollm2" for p in s.get("phases", [])): problems.append("a phase not on mybox/smollm2")
if not deltas: problems.append("no streamed text")
if not usage or usage[-1]["usage"].get("estimated"): problems.append("usage not reported by the server")
if not s.get("tokens", 0) > 0: problems.append("no tokens counted")
if s.get("cost_complete") is not False: problems.append("a model with no price must be shown as unpriced, got %r" % s.get("cost"))
for p in problems: print("  - " + p, file=sys.stderr)
print("  %d text deltas, %s tokens (server-reported), cost %s" % (len(deltas), s.get("tokens"), s.get("cost")), file=sys.stderr)
sys.exit(1 if problems else 0)
PY
    CONFIG_RESULT="succeeded: streamed, usage from the server, cost shown as unpriced"
fi

# --- stop, and prove nothing is left ---------------------------------------------------------
say "stopping both servers"
"$YMERA_BIN" local stop --data-dir "$RUN_DIR" --json >"$RUN_DIR/stop.json"
[[ $(json 'all(r["was_running"] for r in d) and len(d) == 2' <"$RUN_DIR/stop.json") == True ]] || fail "stop did not find both servers running: $(cat "$RUN_DIR/stop.json")"
"$YMERA_BIN" local status --data-dir "$RUN_DIR" --json >"$RUN_DIR/status-after.json"
[[ $(json '",".join(s["state"] for s in d)' <"$RUN_DIR/status-after.json") == stopped,stopped ]] || fail "status after stop: $(cat "$RUN_DIR/status-after.json")"
if pgrep -f "$LAUNCHER" >/dev/null; then fail "a launcher process is still running after stop"; fi

cat <<REPORT
local-e2e figures (this machine):
  install wall time        ${INSTALL_WALL} s  (runtime pip install: ${RUNTIME_S}, model download: ${DOWNLOAD_S})
  server start-up          SmolLM2 ${STARTUP_S} s, Gemma ${GEMMA_STARTUP_S} s to healthy (both commands ${START_WALL} s)
  generation speed         SmolLM2 ${TPS} tokens/s (${BENCH_TOKENS} tokens), Gemma ${GEMMA_TPS} tokens/s, 1 thread each
  resident memory          ${RSS_MB} MB (SmolLM2 + Gemma)
  engine run               ${RUN_RESULT}
  --config FILE --model    ${CONFIG_RESULT}
  after stop               both stopped, no launcher process left
REPORT
echo "local-e2e: 1 passed, 0 failed"
