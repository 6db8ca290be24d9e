#!/usr/bin/env bash
# `just fuzz [SECONDS]`: runs every target of fuzz/ for SECONDS each with cargo-fuzz on
# stable (`--sanitizer none`) and prints how many inputs each ran. A crash stops the run
# and leaves its input under fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-60}"
mkdir -p corpus
for target in $(cargo fuzz list); do
  mkdir -p "corpus/$target"
  log=$(mktemp)
  if ! cargo fuzz run --sanitizer none "$target" "corpus/$target" -- -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "fuzz: $target failed; the input is under fuzz/artifacts/$target/" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  echo "fuzz: $target: ${runs:-?} inputs in ${seconds} s, no crash"
  rm -f "$log"
done
