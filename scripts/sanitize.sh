#!/usr/bin/env bash
# Runs the Swift test suites under a sanitizer (issue 20):
#   scripts/sanitize.sh thread|address [TARGET...]
# Builds with `swift build --build-tests --sanitize=X` into .build-X (so the normal .build is untouched),
# then runs each test target in its own process, one after another, as .ci/test.sh does. Prints per
# target: passed/failed and the number of sanitizer reports; the reports themselves are in
# .build-X/reports/TARGET.log. Exits non-zero when a target failed or any report appeared.
set -u
cd "$(dirname "$0")/.."
kind=${1:?usage: scripts/sanitize.sh thread|address [TARGET...]}
shift
case "$kind" in thread|address) ;; *) echo "unknown sanitizer '$kind' (thread or address)"; exit 2 ;; esac
scratch=".build-$kind"
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(YmeraCoreTests YmeraConfigTests YmeraProvidersTests YmeraStoreTests YmeraQualityTests YmeraLocalTests YmeraTUITests YmeraMCPTests ymeraCLITests)
mkdir -p "$scratch/reports"
start=$(date +%s)
echo "building with --sanitize=$kind into $scratch ..."
if ! swift build --build-tests --sanitize="$kind" --scratch-path "$scratch" >"$scratch/reports/build.log" 2>&1; then
  grep -E "error" "$scratch/reports/build.log" | head -20
  echo "build failed (log: $scratch/reports/build.log)"
  exit 1
fi
echo "build: $(( $(date +%s) - start ))s  (commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources Tests || echo ', with local changes'))"
# Reports go to stderr (and the log); halt_on_error=0 keeps a run going so every report is counted.
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=0:second_deadlock_stack=1:history_size=4}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:halt_on_error=0}
export SWIFT_BACKTRACE=enable=no
failed=0
rows=()
for t in "${targets[@]}"; do
  log="$scratch/reports/$t.log"
  t0=$(date +%s)
  swift test --skip-build --sanitize="$kind" --scratch-path "$scratch" --filter "^$t\\." >"$log" 2>&1
  rc=$?
  reports=$(grep -cE "^(WARNING: ThreadSanitizer|==[0-9]+==ERROR: AddressSanitizer|SUMMARY: (Thread|Address)Sanitizer)" "$log")
  warnings=$(grep -cE "^WARNING: ThreadSanitizer|==[0-9]+==ERROR: AddressSanitizer" "$log")
  result=$(grep -E "Test run with [0-9]+ tests?.*(passed|failed)" "$log" | tail -1 | sed -E 's/.*(Test run with)/\1/')
  [ "$rc" -ne 0 ] || [ "$warnings" -gt 0 ] && failed=1
  rows+=("$(printf '%-20s exit %-3s reports %-4s %4ss  %s' "$t" "$rc" "$warnings" "$(( $(date +%s) - t0 ))" "${result:-?}")")
  echo "${rows[-1]}"
  if [ "$warnings" -gt 0 ]; then grep -E "^SUMMARY:" "$log" | sort | uniq -c | head -10; fi
done
echo
echo "sanitize=$kind, commit $(git rev-parse --short HEAD), total $(( $(date +%s) - start ))s"
for r in "${rows[@]}"; do echo "$r"; done
[ $failed -eq 0 ]
