#!/usr/bin/env bash
# Drives the real `ymera` binary headless and checks what its users rely on:
# the --json contract, determinism for a seed, healing under faults, clear errors.
# Usage: .ci/cli-checks.sh [path/to/ymera]   Prints "N passed, N failed"; exits non-zero on failure.
set -u
Y=${1:-.build/debug/ymera}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export YMERA_HOME="$TMP/home" XDG_CONFIG_HOME="$TMP/config"
# No provider key may leak in from the environment: these checks are about the simulated twins.
for v in GROQ_API_KEY GEMINI_API_KEY MISTRAL_API_KEY DEEPSEEK_API_KEY ANTHROPIC_API_KEY OPENAI_API_KEY AI21_API_KEY TOGETHER_API_KEY OPENROUTER_API_KEY; do unset "$v"; done
pass=0; fail=0
ok() { pass=$((pass+1)); echo "  ok   $1"; }
no() { fail=$((fail+1)); echo "  FAIL $1"; [ -n "${2:-}" ] && echo "$2" | head -20 | sed 's/^/       /'; }
check() { local name=$1; shift; local out; if out=$("$@" 2>&1); then ok "$name"; else no "$name" "$out"; fi; }
summary() { python3 -c 'import json,sys; print(json.loads(sys.stdin.readlines()[-1])[sys.argv[1]])' "$1"; }

T="Create a REST API with authentication and deploy it"
echo "cli checks ($Y)"

"$Y" run "$T" --json --seed 7 > "$TMP/a.jsonl" 2> "$TMP/a.err"; rc=$?
check "run --json --seed 7 exits 0" test $rc -eq 0
check "every line is one JSON object" python3 -c '
import json,sys
for n,l in enumerate(open(sys.argv[1]),1): json.loads(l)' "$TMP/a.jsonl"
check "last line is a summary of six succeeded phases" python3 -c '
import json,sys
s=json.loads(open(sys.argv[1]).readlines()[-1])
assert s["type"]=="summary" and s["status"]=="succeeded", s["status"]
assert [p["name"] for p in s["phases"]]==["planning","research","generation","review","refinement","validation"], s["phases"]
for p in s["phases"]:
    for k in ("name","model","attempts","status","score"): assert k in p, k
for k in ("retries","fallbacks","breaker_trips","tokens","cost_usd","duration_ms"): assert k in s, k
assert s["tokens"]>0 and s["cost_usd"]>0' "$TMP/a.jsonl"
"$Y" run "$T" --json --seed 7 > "$TMP/b.jsonl" 2>/dev/null
check "same seed twice: identical event types, models and texts" python3 -c '
import json,sys
k=lambda p:[(e.get("type"),e.get("model"),e.get("text")) for e in map(json.loads,open(p))]
a,b=k(sys.argv[1]),k(sys.argv[2]); assert a==b, "runs differ"; assert len(a)>50' "$TMP/a.jsonl" "$TMP/b.jsonl"
check "the run says it is simulated" grep -q '"serving":"simulated"' "$TMP/a.jsonl"

"$Y" run "$T" --json --seed 7 --simulate-faults 0.3 > "$TMP/f3.jsonl" 2>/dev/null; rc=$?
# With 30% faults a cut-off subtask can leave a file that does not parse: the run then completes
# below the threshold (exit 4, the phases named) instead of claiming success; either way it completes.
check "30% faults: the run still completes, and its exit status says how well" python3 -c '
import json,sys
s=json.loads(open(sys.argv[1]).readlines()[-1]); rc=int(sys.argv[2])
assert (s["status"],rc) in (("succeeded",0),("completed_below_threshold",4)), (s["status"],rc)
assert s["status"]=="succeeded" or s["below_threshold"], s' "$TMP/f3.jsonl" $rc
check "30% faults: retries and at least one fallback" python3 -c '
import json,sys
s=json.loads(open(sys.argv[1]).readlines()[-1]); assert s["retries"]>0 and s["fallbacks"]>=1, (s["retries"],s["fallbacks"])' "$TMP/f3.jsonl"

"$Y" run "$T" --json --seed 7 --simulate-faults 0.8 > "$TMP/f8.jsonl" 2>/dev/null; rc=$?
check "80% faults: breakers open and the run ends with a stated reason" python3 -c '
import json,sys
s=json.loads(open(sys.argv[1]).readlines()[-1])
assert s["breaker_trips"]>0, s["breaker_trips"]
assert s["status"] in ("succeeded","completed_below_threshold") or (s["status"]=="failed" and s.get("reason")), s' "$TMP/f8.jsonl"
check "80% faults: exit status matches the outcome" python3 -c '
import json,sys
s=json.loads(open(sys.argv[1]).readlines()[-1]); rc=int(sys.argv[2])
assert (rc==0)==(s["status"]=="succeeded") and (rc==4)==(s["status"]=="completed_below_threshold"), (rc, s["status"])' "$TMP/f8.jsonl" $rc

for st in single multi parallel cascade; do
  "$Y" run "Write a Python function that parses ISO dates" --strategy $st --json --seed 3 > "$TMP/s.jsonl" 2>/dev/null
  check "strategy $st succeeds" test "$(summary status < "$TMP/s.jsonl")" = succeeded
done

out=$("$Y" plan "$T" --budget 0.000001 2>&1); rc=$?
check "a budget that cannot be met is refused, saying why" bash -c "[ $rc -eq 3 ] && echo \"\$0\" | grep -q 'over budget'" "$out"
out=$("$Y" run "$T" --model generation=nope/unknown --json 2>&1); rc=$?
check "an unknown model is named in the error" bash -c "[ $rc -ne 0 ] && echo \"\$0\" | grep -q \"unknown model 'nope/unknown'\"" "$out"
printf '[providers.x]\nkind = "openai-compatible"\nbase_url = "http://127.0.0.1:9/v1"\nbase_ulr = "typo"\n' > "$TMP/bad.toml"
out=$("$Y" models --config "$TMP/bad.toml" 2>&1); rc=$?
check "a config typo names the file, the line and the key" bash -c "[ $rc -ne 0 ] && echo \"\$0\" | grep -q 'bad.toml:4: key .providers.x.base_ulr.'" "$out"
head -c 1048576 /dev/zero | tr '\0' 'a' | sed 's/^/Summarize: /' > "$TMP/big.txt"
"$Y" run --task-file "$TMP/big.txt" --json --seed 1 > "$TMP/big.jsonl" 2>/dev/null
check "a 1 MB task runs to a summary" test "$(summary type < "$TMP/big.jsonl")" = summary
check "models lists the catalog with availability" bash -c "\"$Y\" models | grep -q 'groq/llama-3.1-8b-instant.*no key (set GROQ_API_KEY)'"
check "models dates the catalog and resolves retired names to successors" bash -c "\"$Y\" models | grep -q 'claude-3.5-sonnet.* → anthropic/claude-sonnet-5, retired 2025-10' && \"$Y\" models | grep -qE '^anthropic/claude-sonnet-5 .* 2026-[0-9]{2}-[0-9]{2} '"
check "models --refresh without keys asks only keyless providers, quickly, and still lists the catalog" bash -c "timeout 30 \"$Y\" models --refresh --timeout-ms 500 --data-dir \"$TMP/lists\" 2>&1 | grep -q 'groq/gpt-oss-120b.*no key (set GROQ_API_KEY)'"
check "--version" bash -c "\"$Y\" --version | grep -qE '^[0-9]+\.[0-9]+'"

init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"sh","version":"1"}}}'
out=$( (printf '%s\n' "$init" '{"jsonrpc":"2.0","method":"notifications/initialized"}' '{"jsonrpc":"2.0","id":2,"method":"tools/list"}'; sleep 2) | timeout 60 "$Y" mcp --simulate 2>/dev/null)
check "ymera mcp answers initialize and lists its tools over stdio (stdout is protocol only)" python3 -c '
import json,sys
lines=[json.loads(l) for l in sys.argv[1].splitlines() if l.strip()]
r={m.get("id"):m for m in lines}
assert r[1]["result"]["serverInfo"]["name"]=="ymera", r
names=[t["name"] for t in r[2]["result"]["tools"]]
assert {"plan_task","start_run","run_state","search_runs"}<=set(names), names' "$out"

printf '[mcp.servers.ymera]\ncommand = "%s"\nargs = ["mcp", "--simulate", "--validator", "heuristic", "--data-dir", "%s"]\n' "$(cd "$(dirname "$Y")" && pwd)/$(basename "$Y")" "$TMP/inner" > "$TMP/mcp.toml"
timeout 120 "$Y" run "Write a Python function that parses ISO dates" --json --seed 3 --config "$TMP/mcp.toml" > "$TMP/mcp.jsonl" 2>/dev/null
check "a run with an MCP server in the config calls its tool and journals the call and the result" python3 -c '
import json,sys
ev=[json.loads(l) for l in open(sys.argv[1])]
t=[e["type"] for e in ev]
assert "tool_called" in t and "tool_returned" in t, t
r=[e for e in ev if e["type"]=="tool_returned"][0]
assert r["tool"].startswith("ymera__") and not r["is_error"], r
assert ev[-1]["type"]=="summary" and ev[-1]["status"]=="succeeded", ev[-1]
assert ev[-1]["tool_calls"]>=1, ev[-1]' "$TMP/mcp.jsonl"
check "without --json, the tool call and its result are progress lines and the summary counts them" bash -c "timeout 120 \"$Y\" run 'Write a Python function that parses ISO dates' --seed 3 --config \"$TMP/mcp.toml\" 2>&1 >/dev/null | grep -q 'calls ymera__' && timeout 120 \"$Y\" run 'Write a Python function that parses ISO dates' --seed 3 --config \"$TMP/mcp.toml\" 2>&1 >/dev/null | grep -q 'tool calls [1-9]'"
check "doctor starts each MCP server of the config and counts its tools" bash -c "timeout 60 \"$Y\" doctor --config \"$TMP/mcp.toml\" --timeout-ms 300 2>&1 | grep -qE '^  ymera: ok, [0-9]+ tools'"
# A server that answers every request with one irrelevant sentence: the run completes, but below the
# quality threshold — status completed_below_threshold, exit 4, quality_passed false.
cat > "$TMP/stub.py" <<'PY'
import json, sys, http.server
SENTENCE = "The weather in Lisbon was mild and sunny last Tuesday afternoon."
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        body = json.dumps({"object": "list", "data": [{"id": "irrelevant", "object": "model"}]}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if req.get("stream"):
            self.send_response(200); self.send_header("Content-Type", "text/event-stream"); self.end_headers()
            for piece in [{"role": "assistant", "content": SENTENCE}, {}]:
                ch = {"id": "c1", "object": "chat.completion.chunk", "model": "irrelevant",
                      "choices": [{"index": 0, "delta": piece, "finish_reason": None if piece else "stop"}]}
                self.wfile.write(b"data: " + json.dumps(ch).encode() + b"\n\n")
            self.wfile.write(b"data: " + json.dumps({"id": "c1", "object": "chat.completion.chunk", "choices": [],
                             "usage": {"prompt_tokens": 50, "completion_tokens": 12, "total_tokens": 62}}).encode() + b"\n\n")
            self.wfile.write(b"data: [DONE]\n\n")
        else:
            body = json.dumps({"id": "c1", "object": "chat.completion", "model": "irrelevant",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": SENTENCE}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 50, "completion_tokens": 12, "total_tokens": 62}}).encode()
            self.send_response(200); self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.timeout = 1
for _ in range(600):
    s.handle_request()
PY
python3 "$TMP/stub.py" "$TMP/stub.port" & stub=$!
for _ in $(seq 50); do [ -s "$TMP/stub.port" ] && break; sleep 0.1; done
printf '[providers.stub]\nkind = "openai-compatible"\nbase_url = "http://127.0.0.1:%s/v1"\nlocal = true\n\n[[models]]\nid = "stub/irrelevant"\napi_name = "irrelevant"\ncontext_window = 8192\nprice_input = 0\nprice_output = 0\nspeed = 3\nquality = 3\ncapabilities = ["code", "review"]\n' "$(cat "$TMP/stub.port")" > "$TMP/stub.toml"
timeout 300 "$Y" run "Write a Python function that parses ISO 8601 dates, with tests" --config "$TMP/stub.toml" --model stub/irrelevant --json > "$TMP/irr.jsonl" 2> "$TMP/irr.err"; rc=$?
kill $stub 2>/dev/null; wait $stub 2>/dev/null
check "a server that answers every request with an irrelevant sentence: completed_below_threshold, exit 4" python3 -c '
import json,sys
s=json.loads(open(sys.argv[1]).readlines()[-1])
assert s["type"]=="summary" and s["status"]=="completed_below_threshold", s.get("status")
assert s["quality_passed"] is False, s
assert int(sys.argv[2])==4, "exit %s" % sys.argv[2]
assert s["below_threshold"] and all(p["score"] < p["threshold"] for p in s["below_threshold"]), s["below_threshold"]
assert "below the quality threshold" in (s.get("reason") or ""), s.get("reason")' "$TMP/irr.jsonl" $rc
check "the summary table names the phases below the threshold" bash -c "grep -q 'quality: below the threshold' \"\$0\" || (timeout 120 \"$Y\" show \"\$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readlines()[-1])[\"run_id\"])' \"\$1\")\" | grep -q '^quality  below the threshold')" "$TMP/irr.err" "$TMP/irr.jsonl"

# Steering a run of another process through the journal: pause, resume, swap, cancel from a shell.
"$Y" run "Write a haiku about write-ahead logs" --simulate --realtime --sim-pace 15 --strategy multi --validator heuristic --json \
  > "$TMP/live.jsonl" 2>"$TMP/live.err" &
live=$!
i=0; while [ $i -lt 150 ] && ! grep -q '"type":"step_started"' "$TMP/live.jsonl" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
rid=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["plan"]["run_id"])' "$TMP/live.jsonl" 2>/dev/null)
check "ymera pause RUN pauses a live run of another process and prints the confirming event" bash -c "\"$Y\" pause $rid --json | grep -q '\"type\":\"paused\"'"
check "ymera pause of a paused run is refused with the owner's reason (exit 2)" bash -c "\"$Y\" pause $rid 2>&1; test \$? -eq 2" 
check "the refusal says why" bash -c "\"$Y\" pause $rid 2>&1 | grep -q 'already paused'"
check "ymera resume RUN continues the paused live run through its owner" bash -c "\"$Y\" resume $rid 2>&1 | grep -q 'resumed'"
check "the owner's --json shows paused then resumed" bash -c "grep -q '\"type\":\"paused\"' $TMP/live.jsonl && grep -q '\"type\":\"resumed\"' $TMP/live.jsonl"
check "ymera swap RUN PHASE with an unknown model is a clear error (exit 2)" bash -c "\"$Y\" swap $rid validation no-such/model 2>&1 | grep -q \"model 'no-such/model'\""
check "ymera retry RUN with an unknown phase is refused by the owner, saying so" bash -c "\"$Y\" retry $rid deploy 2>&1 | grep -q 'has no phase deploy'"
check "ymera cancel RUN cancels it; the owner records the end" bash -c "\"$Y\" cancel $rid --reason 'enough' 2>&1 | grep -q 'cancelled: enough'"
wait $live; lrc=$?
check "the cancelled run's own process exits 1 with a cancelled summary" bash -c "test $lrc -eq 1 && tail -1 $TMP/live.jsonl | grep -q '\"status\":\"cancelled\"'"
check "a command for an ended run is refused (exit 2)" bash -c "\"$Y\" pause $rid 2>&1 | grep -q 'already ended'"
check "a command for an unknown run is a clear error" bash -c "\"$Y\" cancel no-such-run 2>&1 | grep -q \"no run matches 'no-such-run'\""
# Forks, side-by-side diff and offline replay, on the simulated provider.
"$Y" run "$T" --json --seed 9 --validator heuristic > "$TMP/h.jsonl" 2>/dev/null
hid=$(summary run_id < "$TMP/h.jsonl")
"$Y" fork "$hid" --from review --validator heuristic --json > "$TMP/fork.jsonl" 2>"$TMP/fork.err"; frc=$?
check "fork --from review: planning, research, generation reused at \$0; only review on runs" python3 -c '
import json,sys
ev=[json.loads(l) for l in open(sys.argv[1])]
assert int(sys.argv[3])==0, "exit %s" % sys.argv[3]
reused=[e["step"] for e in ev if e["type"]=="step_reused" and "/" not in e["step"]]
assert reused==["planning","research","generation"], reused
assert all(e["from_run"]==sys.argv[2] for e in ev if e["type"]=="step_reused")
started={e["step"].split("/")[0] for e in ev if e["type"]=="step_started"}
assert started <= {"review","refinement","validation"}, started
s=ev[-1]; assert s["fork_of"]["run"]==sys.argv[2], s.get("fork_of")
for p in s["phases"][:3]: assert p["cost"]=="$0.00" or p["tokens"]==0, p; assert p["reused_from"]==sys.argv[2], p' "$TMP/fork.jsonl" "$hid" $frc
fid=$(summary run_id < "$TMP/fork.jsonl")
check "diff RUN FORK --json: a row per phase; the reused phases have the same output" bash -c "\"$Y\" diff $hid $fid --json | python3 -c '
import json,sys
c=json.load(sys.stdin)[\"comparison\"]
assert [p[\"name\"] for p in c[\"phases\"]]==[\"planning\",\"research\",\"generation\",\"review\",\"refinement\",\"validation\"]
assert all(p[\"same_output\"] for p in c[\"phases\"][:3])'"
check "history shows the fork's parent" bash -c "\"$Y\" history | grep -q 'of ${hid:0:12}'"
check "replay --offline of a recorded run: the same, exit 0" bash -c "\"$Y\" replay $hid --offline | grep -q 'SAME'"
"$Y" replay "$hid" --offline --threshold 0.99 --json > "$TMP/replay.json" 2>/dev/null; rrc=$?
check "replay --offline --threshold 0.99: different, exit 1, the differences listed" python3 -c '
import json,sys
r=json.load(open(sys.argv[1]))["check"]
assert int(sys.argv[2])==1, "exit %s" % sys.argv[2]
assert r["same"] is False and r["differences"], r' "$TMP/replay.json" $rrc
check "fork of an unknown phase: a clear error naming it (exit 2)" bash -c "\"$Y\" fork $hid --from deploy 2>&1 | grep -q \"no phase 'deploy'\"; \"$Y\" fork $hid --from deploy >/dev/null 2>&1; test \$? -eq 2"
echo "cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
