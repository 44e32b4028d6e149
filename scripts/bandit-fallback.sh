#!/usr/bin/env bash
# Measures YMERA's built-in security rules (the fallback used where Bandit is not installed) against
# Bandit on Bandit's own example files, from Bandit's source distribution on PyPI.
#
#   bash scripts/bandit-fallback.sh [path/to/ymera]
#
# Prints: how many of Bandit's HIGH-severity findings the built-in rules also report (same file, same
# line), and what share of the built-in findings fall on lines where Bandit reports nothing at all.
# Bandit runs with --ignore-nosec, as YMERA runs it (a model's answer cannot switch its checks off).
# Needs python3 with venv and access to PyPI. The target: ≥ 60 % of Bandit's HIGH, ≤ 15 % outside.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-.build/debug/ymera}
[ -x "$BIN" ] || { echo "no ymera binary at $BIN: run 'swift build --product ymera' first"; exit 2; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
work=$(mktemp -d /tmp/ymera-bandit-XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "==> downloading Bandit's source distribution (for its examples/)" >&2
python3 -m pip download --quiet --no-deps --no-binary :all: bandit -d "$work/sdist" >&2
tar xzf "$work"/sdist/bandit-*.tar.gz -C "$work"
src=$(ls -d "$work"/bandit-*/ | head -1)
version=$(basename "$src")
examples="$src/examples"

BANDIT=${BANDIT:-}
if [ -z "$BANDIT" ]; then
  for c in "${YMERA_HOME:-$HOME/.local/share/ymera}/tools/venv/bin/bandit" "$(command -v bandit || true)"; do
    [ -n "$c" ] && [ -x "$c" ] && { BANDIT=$c; break; }
  done
fi
if [ -z "$BANDIT" ]; then
  echo "==> installing Bandit into a temporary venv" >&2
  python3 -m venv "$work/venv" >&2 && "$work/venv/bin/pip" install --quiet bandit >&2
  BANDIT="$work/venv/bin/bandit"
fi

echo "==> Bandit ($("$BANDIT" --version 2>/dev/null | head -1)) on $version/examples" >&2
"$BANDIT" --ignore-nosec -f json -q -r "$examples" -o "$work/bandit.json" >/dev/null 2>&1 || true

echo "==> YMERA's built-in rules on the same files (no Bandit on PATH)" >&2
mkdir -p "$work/ours" "$work/home"
n=0
for f in "$examples"/*.py; do
  n=$((n + 1))
  # PATH without Bandit: only the built-in rules report security findings.
  env -i HOME="$work/home" YMERA_HOME="$work/home" PATH=/usr/bin:/bin LANG=C.UTF-8 \
    "$BIN" validate "$f" --kind code --task "security check" --no-tests --json >"$work/ours/$(basename "$f").json" 2>/dev/null || true
done

python3 - "$work/bandit.json" "$work/ours" "$examples" "$version" "$n" <<'PY'
import json, os, sys
bandit_path, ours_dir, examples, version, n = sys.argv[1:6]
bandit = json.load(open(bandit_path))["results"]
by_line = {}
for r in bandit:
    by_line.setdefault((os.path.basename(r["filename"]), r["line_number"]), []).append(r)
high = {(os.path.basename(r["filename"]), r["line_number"]) for r in bandit if r["issue_severity"] == "HIGH"}
ours = []
for name in sorted(os.listdir(ours_dir)):
    try:
        d = json.load(open(os.path.join(ours_dir, name)))
    except Exception:
        continue
    src = name[:-5]
    for b in (d.get("code") or {}).get("blocks", []):
        for f in b.get("securityFindings", []):
            if f.get("source") == "ymera":
                ours.append((src, f.get("line"), f.get("rule"), f.get("severity")))
our_lines = {(s, l) for s, l, _, _ in ours}
found = sorted(high & our_lines)
missed = sorted(high - our_lines)
outside = [o for o in ours if (o[0], o[1]) not in by_line]
print(f"Bandit {version} examples: {n} files; Bandit reports {len(bandit)} findings, {len(high)} lines with HIGH severity")
print(f"built-in rules: {len(ours)} findings on {len(our_lines)} lines")
print(f"recall   {len(found)}/{len(high)} = {100 * len(found) / max(1, len(high)):.0f}% of Bandit's HIGH findings (same file and line)")
print(f"outside  {len(outside)}/{len(ours)} = {100 * len(outside) / max(1, len(ours)):.0f}% of the built-in findings are on lines where Bandit reports nothing")
if "-v" in os.environ.get("VERBOSE", ""):
    for m in missed:
        print("  missed", m, [r["test_id"] for r in by_line[m]])
    for o in outside:
        print("  outside", o)
PY
