#!/usr/bin/env bash
# End-to-end check of the real local model (issue 8):
#   install the llama.cpp runtime (xllamacpp wheel) and SmolLM2-135M-Instruct into a cached data
#   directory, start the server, measure it, run a task whose every phase is served by the local
#   model, then stop it and prove that no process is left behind.
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
RUNTIME_S=$(json '"%.2f s" % d["runtime_install_seconds"] if d.get("runtime_install_seconds") else "already installed"' <"$CACHE/install.json")
DOWNLOAD_S=$(json '"%.2f s" % d["model_download_seconds"] if d.get("model_download_seconds") else "already downloaded"' <"$CACHE/install.json")
# A second install must be a no-op.
"$YMERA_BIN" local install --data-dir "$INSTALL_DIR" --json >"$CACHE/install2.json"
[[ $(json 'all(s["skipped"] or s["title"].startswith("Check") for s in d["steps"])' <"$CACHE/install2.json") == True ]] \
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
say "starting the server"
t0=$(now)
"$YMERA_BIN" local start --data-dir "$RUN_DIR" --threads 1 --ctx 8192 --json >"$RUN_DIR/start.json"
t1=$(now)
START_WALL=$(elapsed "$t0" "$t1")
STARTUP_S=$(json '"%.2f" % d["startup_seconds"]' <"$RUN_DIR/start.json")
BASE_URL=$(json 'd["address"] if "address" in d else "http://127.0.0.1:%d" % d["port"]' <"$RUN_DIR/start.json")
pgrep -f "$LAUNCHER" >/dev/null || fail "no launcher process after start"

say "measuring one generation"
"$YMERA_BIN" local bench --data-dir "$RUN_DIR" --max-tokens 128 --json >"$RUN_DIR/bench.json"
TPS=$(json '"%.1f" % d["tokens_per_second"]' <"$RUN_DIR/bench.json")
BENCH_TOKENS=$(json 'd["output_tokens"]' <"$RUN_DIR/bench.json")
(( BENCH_TOKENS > 0 )) || fail "the model generated no tokens"

"$YMERA_BIN" local status --data-dir "$RUN_DIR" --json >"$RUN_DIR/status.json"
[[ $(json 'd["state"]' <"$RUN_DIR/status.json") == running ]] || fail "status does not say running: $(cat "$RUN_DIR/status.json")"
RSS_MB=$(json '"%.0f" % (d["resident_bytes"] / 1048576)' <"$RUN_DIR/status.json")

# --- ENGINE PART: a whole run served by the local model --------------------------------------
# Needs the lead's engine and `ymera run` (on main) and the providers' OpenAI-compatible client.
# Every phase is pinned to the local model (--model), and the run must say: status succeeded,
# every phase's model is the local model, text streamed, tokens > 0, cost 0.
"$YMERA_BIN" run --help >/dev/null 2>&1 || fail "$YMERA_BIN has no 'run' command"
RUN_RESULT="not run"
if true; then
    say "running a task on the local model: $TASK"
    t0=$(now)
    # YMERA_LOCAL_BASE_URL: how the CLI learns the running server's address until it reads
    # <data>/local/server.json itself (LocalRuntime.catalogEntries()).
    rc=0
    # The CLI finds the running server through <data>/local/server.json (no address is passed).
    YMERA_HOME="$RUN_DIR" \
        timeout 1200 "$YMERA_BIN" run "$TASK" --json --data-dir "$RUN_DIR" --model "$MODEL_ID" --strategy multi --seed 7 \
        >"$RUN_DIR/run.jsonl" 2>"$RUN_DIR/run.err" || rc=$?
    t1=$(now)
    RUN_WALL=$(elapsed "$t0" "$t1")
    python3 - "$RUN_DIR/run.jsonl" "$MODEL_ID" <<'PY' || { sed 's/^/  run stderr: /' "$RUN_DIR/run.err" | tail -20 >&2; fail "the run was not a successful, local, free run (exit $rc)"; }
import json, sys
path, model = sys.argv[1], sys.argv[2]
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
problems = []
if s.get("status") != "succeeded": problems.append("status %r (%s)" % (s.get("status"), s.get("reason")))
if not s.get("phases"): problems.append("no phases")
for p in s.get("phases", []):
    if p.get("model") != model: problems.append("phase %s served by %s" % (p.get("name"), p.get("model")))
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
    [[ $rc == 0 ]] || fail "ymera run exited $rc"
    RUN_RESULT="succeeded in ${RUN_WALL}s, every phase on $MODEL_ID, cost 0"
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
if s.get("type") != "summary" or s.get("status") != "succeeded": problems.append("status %r (%s)" % (s.get("status"), s.get("reason")))
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
say "stopping the server"
"$YMERA_BIN" local stop --data-dir "$RUN_DIR" --json >"$RUN_DIR/stop.json"
[[ $(json 'd["was_running"]' <"$RUN_DIR/stop.json") == True ]] || fail "stop did not find the server running"
"$YMERA_BIN" local status --data-dir "$RUN_DIR" --json >"$RUN_DIR/status-after.json"
[[ $(json 'd["state"]' <"$RUN_DIR/status-after.json") == stopped ]] || fail "status after stop: $(cat "$RUN_DIR/status-after.json")"
if pgrep -f "$LAUNCHER" >/dev/null; then fail "a launcher process is still running after stop"; fi

cat <<REPORT
local-e2e figures (this machine):
  install wall time        ${INSTALL_WALL} s  (runtime pip install: ${RUNTIME_S}, model download: ${DOWNLOAD_S})
  server start-up          ${STARTUP_S} s to healthy (command wall ${START_WALL} s)
  generation speed         ${TPS} tokens/s (${BENCH_TOKENS} tokens, 1 thread)
  resident memory          ${RSS_MB} MB
  engine run               ${RUN_RESULT}
  --config FILE --model    ${CONFIG_RESULT}
  after stop               status stopped, no launcher process left
REPORT
echo "local-e2e: 1 passed, 0 failed"
