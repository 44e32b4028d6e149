#!/usr/bin/env bash
# `ymera mcp` against an independent client: the official Python MCP SDK (PyPI `mcp`), in its own venv.
# Skipped (exit 0, with a message saying so) when the SDK cannot be installed, e.g. offline.
# Usage: .ci/mcp-python-sdk.sh [path/to/ymera]
set -u
cd "$(dirname "$0")/.."
bin=${1:-.build/debug/ymera}
[ -x "$bin" ] || { echo "no ymera binary at $bin"; exit 1; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
venv=${YMERA_MCP_VENV:-/tmp/ymera-mcp-sdk-venv}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import mcp" 2>/dev/null; then
  if ! { python3 -m venv "$venv" && "$venv/bin/pip" install -q --disable-pip-version-check mcp; } >/tmp/ymera-mcp-sdk-pip.log 2>&1; then
    echo "SKIPPED: the Python MCP SDK could not be installed (pip install mcp failed; see /tmp/ymera-mcp-sdk-pip.log):"
    tail -3 /tmp/ymera-mcp-sdk-pip.log
    exit 0
  fi
fi
echo "python MCP SDK $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("mcp"))')"
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
HOME=$data XDG_CONFIG_HOME=$data/.config timeout 300 "$venv/bin/python" .ci/mcp_sdk_check.py "$bin" "$data/data"
