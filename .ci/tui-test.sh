#!/usr/bin/env bash
# Drives the real `ymera` binary in tmux (simulated models) and asserts on what the screen shows.
# Usage: .ci/tui-test.sh [path/to/ymera]     (default ./.build/debug/ymera)
#   YMERA_TUI_ARGS   arguments that open the dashboard (default "dashboard --simulate --sim-pace 4";
#                    "dashboard --demo" uses the scripted backend instead of the engine)
# Needs tmux (apt-get install -y tmux). Prints "N passed, N failed" and exits non-zero on failure.
set -u
BIN="${1:-./.build/debug/ymera}"
# Simulated models, slowed down so there is time to pause, swap and retry while the run goes.
ARGS="${YMERA_TUI_ARGS-dashboard --simulate --sim-pace 4}"
SOCK="ymera-tui-$$-0"
NSESS=0
SOCKS=""
PASS=0
FAIL=0
LAST=""
export LANG=C.UTF-8 LC_ALL=C.UTF-8

if ! command -v tmux >/dev/null 2>&1; then echo "tmux is not installed (apt-get install -y tmux)"; echo "0 passed, 1 failed"; exit 1; fi
if [ ! -x "$BIN" ]; then echo "no binary at $BIN"; echo "0 passed, 1 failed"; exit 1; fi
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"

T() { tmux -L "$SOCK" "$@"; }
cleanup() { T kill-server >/dev/null 2>&1 || true; }
cleanup_all() { for s in $SOCKS; do tmux -L "$s" kill-server >/dev/null 2>&1 || true; done; }
DATA="$(mktemp -d)"   # a private journal, never the user's
trap 'cleanup_all; rm -rf "$DATA"' EXIT

ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad() {
  FAIL=$((FAIL + 1)); echo "FAIL - $1"
  echo "----- screen -----"; T capture-pane -p -t ymera 2>/dev/null | sed 's/^/  | /'; echo "------------------"
}
screen() { LAST="$(T capture-pane -p -t ymera 2>/dev/null)"; printf '%s' "$LAST"; }

# wait_for PATTERN [TRIES]: polls capture-pane (bounded; 100 ms between polls), grep -E.
wait_for() {
  local pat="$1" tries="${2:-100}" i=0
  while [ $i -lt "$tries" ]; do
    if screen | grep -Eq -- "$pat"; then return 0; fi
    sleep 0.1; i=$((i + 1))
  done
  return 1
}
# wait_gone PATTERN [TRIES]: polls until the pattern is no longer on screen.
wait_gone() {
  local pat="$1" tries="${2:-50}" i=0
  while [ $i -lt "$tries" ]; do
    if ! screen | grep -Eq -- "$pat"; then return 0; fi
    sleep 0.1; i=$((i + 1))
  done
  return 1
}
check() { if wait_for "$2" "${3:-100}"; then ok "$1"; else bad "$1 (waited for /$2/)"; fi; }
keys() { T send-keys -t ymera "$@"; }
text() { T send-keys -t ymera -l "$1"; }

start() {  # start SIZE_X SIZE_Y ENV...
  local x="$1" y="$2"; shift 2
  NSESS=$((NSESS + 1)); SOCK="ymera-tui-$$-$NSESS"; SOCKS="$SOCKS $SOCK"   # a fresh private server each time
  T -f /dev/null new-session -d -s ymera -x "$x" -y "$y" \
    "env TERM=tmux-256color LANG=C.UTF-8 YMERA_HOME=$DATA $* $BIN $ARGS; echo EXITED:\$?; sleep 60"
  T set-option -t ymera -g status off >/dev/null
}

# --- 0. No terminal: a clear message and a non-zero exit, never a curses crash.
tmpout="$(mktemp)"; "$BIN" $ARGS </dev/null >"$tmpout" 2>&1; rc=$?; out="$(cat "$tmpout")"; rm -f "$tmpout"
if [ "$rc" -ne 0 ] && echo "$out" | grep -qi "not a terminal"; then ok "stdout not a terminal: says so, exits $rc"; else FAIL=$((FAIL+1)); echo "FAIL - not-a-tty: rc=$rc out=$out"; fi

start 100 30 TERM=no-such-terminal-xyz
check "unknown TERM: says so and exits non-zero" "not known.*terminfo|EXITED:[1-9]" 80
wait_for "EXITED:[1-9]" 50 && ok "unknown TERM exit status non-zero" || bad "unknown TERM exit status"
cleanup

# --- 1. The dashboard opens (below 120 columns the event log spans the width).
start 110 36
check "dashboard opens with the serving badge" "YMERA.*(SIMULATED|LOCAL|CLOUD|MIXED)"
check "footer hints come from the binding table" "\? help.*q quit|q quit"

# --- 2. Task entry, analysis, plan, forecast.
keys n
check "n opens the task editor" "Describe the task"
text "Build a REST API for a todo app with authentication, tests and docs"
keys Enter
text "Use SQLite for storage."
keys C-s
check "submit shows the analysis" "Complexity"
check "the plan and forecast" "Forecast"
check "plan lists the phases" "generation"
keys s
check "strategy can be changed before the start" "Strategy +.*\(yours\)"
# The command line sets it by name (s cycles; a name is deterministic).
keys :
text "strategy multi"
keys Enter
check "multi-model strategy chosen" "multi-model \(yours\)"
wait_gone "planning…" 50 >/dev/null
keys Enter
check "Enter starts the run: run view with the pipeline" "Pipeline [0-9]+/[0-9]+"
check "the header shows the run and elapsed clock" "Run [0-9a-z-]+ +. (running|planned|paused).*Elapsed [0-9]{2}:[0-9]{2}"

# --- 3. Phases complete.
check "a phase completes" "✓ planning" 200

# --- 4. Pause and resume.
keys p
check "p pauses the run" "‖ paused" 100
keys p
check "p again resumes it" "▶ running" 100

# --- 5. Swap a model: select generation (3rd row) and pick another model.
# The provider of the models in use (models pane rows start "│provider/…"), read before the picker covers it.
first="$(screen | grep -Eo '│[a-z0-9._-]+/[a-zA-Z0-9._:-]+' | sed -n 1p | sed 's/^│//')"
prov="${first%%/*}"
keys g j j
keys m
check "m opens the model picker" "Swap model of" 50
# Another available model of that provider (not the current one, marked ◂): type its id to filter.
target="$(screen | grep -E "│ $prov/" | grep -v "◂" | grep -v "unavailable" | grep -Eo "$prov/[A-Za-z0-9._:-]+" | sed -n 1p)"
text "$target"
check "typing filters the picker" "filter: $target" 30
keys Enter
check "the swap shows in the event log" "model [^ ]+ → $target" 100

# --- 6. Retry a phase (planning, done).
keys g
keys r
check "r retries the selected phase" "retrying planning|retry planning" 50
check "the retried phase runs again (attempt 2)" "(▶|✓|↻) planning +[^ ]+ +2 " 200

# --- 7. The run finishes.
# The simulated models earn their scores: a run may end below the quality threshold, honestly.
check "all phases complete" "✓ succeeded|completed below threshold" 1800

# --- 7b. The run's files: w opens the files view (the workspace tree and the selected file).
keys w
check "w opens the files view with the run's files" "Files [0-9]+.*" 50
check "the file tree lists a generated file" "[a-z0-9_]+\.py +v[0-9]+" 50
check "the selected file's content is shown" "def [a-z0-9_]+\(" 50
keys w
wait_gone "Files [0-9]+" 30 && ok "w closes the files view" || bad "w closes the files view"

# --- 8. History and a past run with replay.
keys H
check "H opens the history" "History \([0-9]+" 50
check "the finished run is listed" "succeeded|below thr" 50
keys Enter
check "Enter opens the past run read-only with replay" "REPLAY [0-9]+/[0-9]+" 50
keys "{"
keys "{"
check "scrubbing back re-folds an earlier prefix" "REPLAY [0-9]+/[0-9]+" 20
before="$(screen | grep -Eo 'REPLAY [0-9]+/[0-9]+')"
keys 0
check "replay to the start" "REPLAY 0/" 30
keys "]"
check "step forward one event" "REPLAY 1/" 30
keys '$'
wait_for "REPLAY ([0-9]+)/\1" 30 && ok "replay to the end ($before before)" || bad "replay to the end"

# --- 9. Resize at any time, including below the minimum.
T resize-window -t ymera -x 80 -y 24
check "resize to 80x24 redraws" "Pipeline" 50
T resize-window -t ymera -x 40 -y 10
check "below the minimum size: a message, not garbage" "Terminal too small" 50
T resize-window -t ymera -x 160 -y 48
check "back to 160x48" "Models & breakers" 50

# --- 10. Help overlay from the binding table.
keys "?"
check "? shows the help" "Keys \(\? or Esc" 30
keys Escape
wait_gone "Keys \(\? or Esc" 30 && ok "Esc closes the help" || bad "Esc closes the help"

# --- 11. Quit (no active runs: no question).
keys Escape
keys q
check "q quits and the terminal is restored" "EXITED:0" 50

# --- 12. Quit asks while a run is active; SIGTERM restores the terminal.
cleanup
start 120 40
wait_for "YMERA" 100
keys n; wait_for "Describe the task" 50; text "Write a haiku"; keys C-s; wait_for "Forecast" 100; keys Enter
check "second run starts" "Pipeline" 100
keys q
check "q asks when runs are active" "quit and cancel them\? y / n" 30
keys n
check "n keeps the dashboard" "Pipeline" 30
panepid="$(T display-message -p -t ymera '#{pane_pid}')"
pid="$(pgrep -P "$panepid" | head -1 || true)"
if [ -n "$pid" ]; then kill -TERM "$pid"; check "SIGTERM restores the terminal and exits" "EXITED:143" 50; else bad "no pid for SIGTERM test"; fi

# --- 13. Colours: 256-colour escapes normally; none with NO_COLOR (monochrome: bold/reverse only).
start 100 30
wait_for "YMERA" 100
if T capture-pane -e -p -t ymera | grep -Eq '(38|48);(5|2);'; then ok "colour theme draws in 256 colours"; else bad "colour theme draws in 256 colours"; fi
keys q
start 100 30 NO_COLOR=1
wait_for "YMERA" 100
esc="$(T capture-pane -e -p -t ymera)"
if ! echo "$esc" | grep -Eq '(38|48);(5|2);|\[3[0-7]m|\[4[0-7]m' && echo "$esc" | grep -q $'\e\[[0-9;]*7m'; then
  ok "NO_COLOR: no colours, state shown with reverse/bold"
else
  bad "NO_COLOR: no colours, state shown with reverse/bold"
fi
keys q

# --- 14. Control you can trust (issue #14): pause and resume alone, at three moments, and the run
# still ends; swap on a done phase offers to run it again and never relabels; the footer names an
# action while it is pending and shows its result once its event arrived.
start 150 50
wait_for "YMERA" 100
keys n; wait_for "Describe the task" 50; text "Create a REST API with authentication and deploy it"; keys C-s
wait_for "Forecast" 100; wait_gone "planning…" 50 >/dev/null; keys Enter
check "control run starts" "Pipeline [0-9]+/[0-9]+" 100
# Moment 1: planning in flight. p, then p again, nothing else.
wait_for "▶ planning" 100 >/dev/null
keys p
check "pause while planning runs" "‖ paused" 100
check "the footer turns into the pause's result" "paused: attempts in flight finish" 50
keys p
check "resume after planning's pause" "▶ running" 100
# Moment 2: generation's subtasks in flight.
check "generation's subtasks run" "▶ +[├└] " 300
keys p
check "pause while subtasks run" "‖ paused" 100
sleep 1
keys p
check "resume while subtasks were in flight" "▶ running" 100
# A done phase: m offers to run it again; nothing is relabelled until that attempt starts.
keys g
keys m
check "m on a done phase offers to run it again" "planning is done — Enter runs it again" 50
cur="$(screen | grep -Eo '[a-z0-9._-]+/[a-zA-Z0-9._:-]+ ◂' | sed -n 1p | sed 's/ ◂$//')"
prov="${cur%%/*}"
target="$(screen | grep -E "│ $prov/" | grep -v "◂" | grep -v "unavailable" | grep -Eo "$prov/[A-Za-z0-9._:-]+" | sed -n 1p)"
text "$target"
keys Enter
if wait_for "running planning again on $target…" 20 || wait_for "planning runs again on $target" 20; then ok "the footer names the rerun"; else bad "the footer names the rerun"; fi
check "planning runs again on the new model (attempt 2)" "(▶|✓) planning +$target +2 " 300
check "the footer shows the result once its event arrived" "planning runs again on $target" 50
wait_gone "running planning again on" 30 && ok "the footer no longer shows the pending action" || bad "the footer still shows the pending action"
# Moment 3: review in flight.
check "review runs" "▶ review" 900
keys p
check "pause while review runs" "‖ paused" 100
sleep 1
keys p
check "resume after review's pause" "▶ running" 100
check "the run reaches succeeded with no other key" "✓ succeeded" 900
keys q
wait_for "EXITED" 50 >/dev/null

# --- 15. A run of another process: listed, followed live, paused and resumed from here; then idle.
# The dashboard follows the journal; `ymera run` in another tmux window owns the run and applies the
# dashboard's commands (written to the journal) — its own --json shows them.
FOLLOW="$(mktemp -d)"
start 120 40
wait_for "YMERA" 100
T new-window -d -t ymera -n headless \
  "env YMERA_HOME=$DATA $BIN run 'Write a haiku about write-ahead logs' --simulate --realtime --sim-pace 3 --strategy multi \
   --validator heuristic --json >$FOLLOW/run.jsonl 2>$FOLLOW/run.err; echo \$? >$FOLLOW/run.rc"
check "a run started by \`ymera run\` elsewhere appears in the Runs list" "\[pid [0-9]+\].*haiku about write-ahead" 150
keys Enter
check "opening it follows it live (its owner named)" "FOLLOWING pid [0-9]+" 50
check "its pipeline advances on screen" "✓ planning" 300
keys p
check "p pauses it through its owner" "‖ paused" 100
i=0; while [ $i -lt 100 ] && ! grep -q '"type":"paused"' "$FOLLOW/run.jsonl" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
if grep -q '"type":"paused"' "$FOLLOW/run.jsonl"; then ok "the headless process's --json shows paused"; else bad "the headless process's --json shows paused"; fi
keys p
check "p resumes it" "▶ running" 100
if grep -q '"type":"resumed"' "$FOLLOW/run.jsonl"; then ok "the headless process's --json shows resumed"; else bad "the headless process's --json shows resumed"; fi
check "it finishes, on screen" "✓ succeeded" 900
i=0; while [ $i -lt 100 ] && [ ! -s "$FOLLOW/run.rc" ]; do sleep 0.1; i=$((i + 1)); done
if [ "$(cat "$FOLLOW/run.rc" 2>/dev/null)" = "0" ]; then ok "the headless run exits 0"; else bad "the headless run exits 0 (rc $(cat "$FOLLOW/run.rc" 2>/dev/null))"; fi
# Idle with another process's run finished and journaled: the dashboard uses no CPU over 10 s.
panepid="$(T display-message -p -t ymera:0 '#{pane_pid}')"
dpid="$(pgrep -P "$panepid" | head -1 || true)"
if [ -n "$dpid" ]; then
  sleep 1
  cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
  before="$(cpu "$dpid")"; sleep 10; after="$(cpu "$dpid")"
  ticks=$((after - before)); hz="$(getconf CLK_TCK)"
  echo "     dashboard CPU over 10 s idle after following a finished run: $ticks ticks (1/$hz s)"
  if [ "$ticks" -le 3 ]; then ok "idle dashboard after a followed run ended: $ticks ticks in 10 s"; else bad "idle dashboard uses CPU: $ticks ticks in 10 s"; fi
else
  bad "no dashboard pid for the idle check"
fi
keys q
rm -rf "$FOLLOW"

# --- 16. Gates between phases (issue #16): g gates a phase in plan review; the run stops after it with
# the gate's actions on screen; e opens $EDITOR on the output (here a script that rewrites the file, as
# a person would), and the run goes on with the edit. The outcome is checked in the journal.
GATE="$(mktemp -d)"
cat >"$GATE/editor.sh" <<'EOF'
#!/bin/sh
# Rewrites the file it is given (the output waiting at the gate).
printf '```python\n# file: gated.py\ndef gated():\n    return "EDITED-AT-THE-GATE"\n```\n' >"$1"
EOF
chmod +x "$GATE/editor.sh"
start 120 40 EDITOR="$GATE/editor.sh" VISUAL=
wait_for "YMERA" 100
keys n; wait_for "Describe the task" 50; text "Write a Python function that greets a user by name"; keys C-s
wait_for "Forecast" 100
keys :; text "strategy multi"; keys Enter
wait_for "multi-model \(yours\)" 50 >/dev/null
wait_gone "planning…" 50 >/dev/null
keys k k k k k k j
keys g
check "g gates the selected phase in plan review" "⏸ generation" 30
check "plan review says the run will wait there" "gate after generation" 30
keys Enter
check "the gated run stops at the gate with its actions on screen" "generation waits for your decision.*a approve · e edit · i instruct · o re-route · d reject" 900
check "the run header says it waits" "awaiting.approval|at gate" 30
keys e
check "e edits the output in \$EDITOR and approves it" "approved with your edit" 100
check "the run goes on past the gate and ends" "✓ succeeded|completed below threshold" 1800
gid="$(env YMERA_HOME=$DATA "$BIN" history --json --limit 1 2>/dev/null | grep -Eo '"id" *: *"[^"]+"' | head -1 | sed -E 's/.*"([^"]+)"$/\1/')"
if [ -n "$gid" ] && env YMERA_HOME=$DATA "$BIN" show "$gid" 2>/dev/null | grep -q "(edited by you)"; then ok "the journal marks generation's output as written by you"; else bad "the journal marks generation's output as written by you (run '$gid')"; fi
if [ -n "$gid" ] && env YMERA_HOME=$DATA "$BIN" export "$gid" --format json 2>/dev/null | grep -q "EDITED-AT-THE-GATE"; then ok "the edited text is the kept output"; else bad "the edited text is the kept output"; fi
if [ -n "$gid" ] && [ -f "$DATA/workspaces/$gid/files/gated.py" ] && grep -q "EDITED-AT-THE-GATE" "$DATA/workspaces/$gid/files/gated.py"; then ok "the edit's file is in the run's workspace"; else bad "the edit's file is in the run's workspace ($(ls "$DATA/workspaces/$gid/files" 2>/dev/null | tr '\n' ' '))"; fi
keys q
wait_for "EXITED" 50 >/dev/null
rm -rf "$GATE"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
