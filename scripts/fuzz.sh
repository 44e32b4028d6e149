#!/usr/bin/env bash
# Fuzzes everything YMERA parses from outside (issue 20), with libFuzzer from the Swift toolchain.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     (default 600 s per target, every target)
# Builds Fuzz/ (its own package) with -sanitize=fuzzer,address, runs each target for SECONDS on its
# committed seed corpus (Fuzz/corpus/TARGET, read-only) plus a working corpus, and prints per target:
# executions, coverage (libFuzzer's `cov`: edges reached), corpus size and crashes. Crashing inputs
# are kept under .build-fuzz/crashes/TARGET/; exits non-zero when any target crashed.
# Environment: FUZZ_SANITIZE (default "fuzzer,address"; "fuzzer" alone builds faster), FUZZ_JOBS unused.
set -u
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
sanitize=${FUZZ_SANITIZE:-fuzzer,address}
work=.build-fuzz
mkdir -p "$work"

start=$(date +%s)
echo "building Fuzz/ with -sanitize=$sanitize ..."
if ! swift build --package-path Fuzz --scratch-path "$work/build" -Xswiftc "-sanitize=$sanitize" >"$work/build.log" 2>&1; then
  grep -E "error" "$work/build.log" | head -20
  echo "fuzz build failed (log: $work/build.log)"
  exit 1
fi
echo "fuzz build: $(( $(date +%s) - start ))s"
bin="$work/build/debug/ymera-fuzz"
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(sse json openai anthropic gemini classifier config catalog theme workspace mcp sanitizer)

# The Swift backtracer would run before libFuzzer's crash handler; leaks are the runtime's own.
export SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}
crashed=0
rows=()
for t in "${targets[@]}"; do
  mkdir -p "$work/corpus/$t" "$work/crashes/$t" "Fuzz/corpus/$t"
  log="$work/$t.log"
  "$bin" "$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -detect_leaks=0 \
    -print_final_stats=1 -artifact_prefix="$work/crashes/$t/" "$work/corpus/$t" "Fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  execs=$(grep -E "^stat::number_of_executed_units" "$log" | awk '{print $2}' | tail -1)
  cov=$(grep -oE " cov: [0-9]+" "$log" | tail -1 | awk '{print $2}')
  corpus=$(grep -oE " corp: [0-9]+/[0-9]+[a-zA-Z]*" "$log" | tail -1 | awk '{print $2}')
  crashes=$(find "$work/crashes/$t" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)
  if [ "$rc" -ne 0 ] || [ "$crashes" -gt 0 ]; then
    crashed=1
    echo "--- $t: exit $rc; first lines of the report:"
    grep -E "property violated|Fatal error|ERROR: AddressSanitizer|ERROR: libFuzzer|SUMMARY" "$log" | head -5
    ls "$work/crashes/$t" | head -5
  fi
  rows+=("$(printf '%-11s %12s %8s %14s %8s' "$t" "${execs:-?}" "${cov:-?}" "${corpus:-?}" "$crashes")")
done
echo
printf '%-11s %12s %8s %14s %8s\n' target executions cov corpus crashes
for r in "${rows[@]}"; do echo "$r"; done
echo "fuzz: ${seconds}s per target, ${#targets[@]} targets, sanitize=$sanitize, total $(( $(date +%s) - start ))s"
[ $crashed -eq 0 ]
