#!/usr/bin/env bash
# Runs the libFuzzer harnesses for a bounded time each, building them first (a CMake build with
# clang-14, ECLIP_SANITIZE and ECLIP_FUZZ, at -O1: the harnesses CI's ASan stage builds, optimised
# for fuzzing speed) unless given.
# Fails when any harness finds a crash, a sanitizer report, a leak, an escaped non-eclip
# exception, a broken invariant or a hang (a single input over 10 s).
#
#   tests/fuzz/run.sh [seconds per harness, default 30] [harness...]
#
# Harnesses: profile (Profile::from_json), plan (Plan::from_json_text), mix (Mix::from_json,
# Mix::list_from_json), optimizer (the optimizer behind the profile reader).
# Environment: ECLIP_FUZZ_BIN (a folder holding fuzz_<name> already built, e.g. a clang ASan
# build's tests/fuzz with -DECLIP_FUZZ=ON, as CI does: nothing is built here then),
# ECLIP_FUZZ_BUILD (folder for the CMake build, corpus and logs, default build/fuzz),
# ECLIP_FUZZ_JOBS (parallel jobs, default nproc). Findings land in $ECLIP_FUZZ_BUILD/artifacts;
# reproduce one with: <folder of the harness>/fuzz_<name> <artifact>.
set -euo pipefail

secs=${1:-30}
shift || true
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${ECLIP_FUZZ_BUILD:-$root/build/fuzz}
jobs=${ECLIP_FUZZ_JOBS:-$(nproc)}
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(profile plan mix optimizer)

case "$secs" in '' | *[!0-9]*) echo "fuzz: seconds must be a whole number, got \"$secs\"" >&2; exit 2 ;; esac
mkdir -p "$out/artifacts"
bin_dir=${ECLIP_FUZZ_BIN:-$out}
if [ -n "${ECLIP_FUZZ_BIN:-}" ]; then
  for h in "${harnesses[@]}"; do
    [ -x "$bin_dir/fuzz_$h" ] || { echo "fuzz: ECLIP_FUZZ_BIN=$bin_dir has no fuzz_$h" >&2; exit 2; }
  done
else
  for tool in clang++-14 clang-14 cmake ninja; do
    command -v "$tool" >/dev/null || {
      echo "fuzz: $tool not found (apt-get install clang-14 libclang-rt-14-dev cmake ninja-build catch2 libfmt-dev nlohmann-json3-dev)" >&2
      exit 1
    }
  done
  for h in "${harnesses[@]}"; do
    [ -f "$root/tests/fuzz/fuzz_$h.cpp" ] || { echo "fuzz: no harness \"$h\" ($root/tests/fuzz/fuzz_$h.cpp)" >&2; exit 2; }
  done
  echo "fuzz: building with clang-14 into $out/cmake"
  CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$out/cmake" -G Ninja -DECLIP_SANITIZE=ON -DECLIP_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-g1 -O1" -DECLIP_WITH_HIP=OFF -DECLIP_WITH_CUDA=OFF \
    -DECLIP_BUILD_BENCH=OFF -DECLIP_BUILD_EXAMPLES=OFF -DECLIP_BUILD_CLI=OFF -DECLIP_BUILD_HOST_TESTS=OFF \
    -DECLIP_INSTALL_PYTHON=OFF >"$out/cmake.log" 2>&1 || {
      echo "fuzz: configuring failed; the last lines of $out/cmake.log:" >&2
      tail -20 "$out/cmake.log" >&2
      exit 1
    }
  cmake --build "$out/cmake" -j "$jobs" --target "${harnesses[@]/#/fuzz_}"
  bin_dir=$out/cmake/tests/fuzz
fi

# One harness per core at a time (each fuzzer is single-threaded): the same seconds per harness,
# less wall time.
fuzz_one() {  # fuzz_one <harness>: its log in $out/<harness>.log, exit status its verdict
  local h=$1 corpus="$out/corpus/$1"
  mkdir -p "$corpus"
  # First folder: the working corpus (grows between runs); second: the checked-in seeds.
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$bin_dir/fuzz_$h" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
      -dict="$root/tests/fuzz/json.dict" -artifact_prefix="$out/artifacts/$h-" -print_final_stats=1 \
      "$corpus" "$root/tests/fuzz/corpus/$h" >"$out/$h.log" 2>&1
}
declare -A run_pid=()
for h in "${harnesses[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  echo "fuzz: $h for ${secs}s"
  fuzz_one "$h" &
  run_pid[$h]=$!
done
failed=()
for h in "${harnesses[@]}"; do
  if wait "${run_pid[$h]}"; then
    grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb)" "$out/$h.log" | sed "s/^/fuzz: $h /" || true
  else
    echo "fuzz: $h FAILED; the last lines of $out/$h.log:" >&2
    tail -40 "$out/$h.log" >&2
    failed+=("$h")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in: ${failed[*]} (inputs in $out/artifacts)" >&2
  exit 1
fi
echo "fuzz: no crash, leak or hang in ${harnesses[*]} (${secs}s each)"
