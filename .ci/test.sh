#!/usr/bin/env bash
# The test command (README: "run the tests"). Builds, runs the Swift test suites, then drives the real
# binary: headless CLI checks, the dashboard under tmux, and a run on the real local model.
# Ends with one line "checks: N passed, N failed"; exits non-zero when anything failed.
set -u
cd "$(dirname "$0")/.."
export SNAPSHOT_TESTING_RECORD=never YMERA_RECORD_GOLDEN=0
passed=0; failed=0; failures=()
stage() {
  local name=$1; shift
  echo; echo "=== $name"
  local start=$(date +%s)
  if "$@"; then passed=$((passed+1)); echo "=== $name: ok ($(( $(date +%s) - start ))s)"
  else failed=$((failed+1)); failures+=("$name"); echo "=== $name: FAILED ($(( $(date +%s) - start ))s)"; fi
}
build() {
  swift build --build-tests 2>&1 | tee /tmp/ymera-build.log | grep -E "error|warning: |Build complete" | grep -v "swift-distributed-tracing" | sort -u
  local rc=${PIPESTATUS[0]}
  # Our own code builds without warnings.
  if grep -E "^/.*/(Sources|Tests)/.*warning: " /tmp/ymera-build.log | grep -v "/.build/" | grep -q .; then
    echo "warnings in our code:"; grep -E "^/.*/(Sources|Tests)/.*warning: " /tmp/ymera-build.log | grep -v "/.build/" | sort -u | head -20
    return 1
  fi
  return $rc
}
stage "build (no warnings)" build
# One test target per process, one after another: the quality corpus runs real toolchains for minutes,
# and beside it the loopback servers' first-byte timeouts were starved on a 2-core machine.
swift_tests() {
  local rc=0 t
  for t in YmeraCoreTests YmeraConfigTests YmeraProvidersTests YmeraStoreTests YmeraQualityTests YmeraLocalTests YmeraTUITests YmeraMCPTests ymeraCLITests; do
    echo "--- $t"
    swift test --skip-build --filter "^$t\\." || rc=1
  done
  return $rc
}
stage "swift test" swift_tests
stage "cli checks" bash .ci/cli-checks.sh .build/debug/ymera
stage "MCP: the official Python SDK as client" bash .ci/mcp-python-sdk.sh .build/debug/ymera
[ -f .ci/tui-test.sh ] && stage "dashboard under tmux" bash .ci/tui-test.sh .build/debug/ymera
[ -f .ci/local-e2e.sh ] && stage "real local model end to end" bash .ci/local-e2e.sh .build/debug/ymera
echo
[ $failed -gt 0 ] && echo "failed stages: ${failures[*]}"
echo "checks: $passed passed, $failed failed"
[ $failed -eq 0 ]
