#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang++-14 (-fsanitize=fuzzer,address,undefined) and runs
# each for a bounded time. Fails when any harness finds a crash, a sanitizer report, a leak, an
# escaped non-eclip exception, a broken invariant or a hang (a single input over 10 s).
#
#   tests/fuzz/run.sh [seconds per harness, default 30] [harness...]
#
# Harnesses: profile (Profile::from_json), plan (Plan::from_json_text), mix (Mix::from_json,
# Mix::list_from_json), optimizer (the optimizer behind the profile reader).
# Environment: ECLIP_FUZZ_BIN (a folder holding fuzz_<name> already built, e.g. a clang ASan
# build's tests/fuzz with -DECLIP_FUZZ=ON, as CI does: nothing is built here then),
# ECLIP_FUZZ_BUILD (build folder, default build/fuzz: objects, corpus, logs), CXX_FUZZ (default
# clang++-14), ECLIP_FUZZ_JOBS (parallel compiles, default nproc). Findings land in
# $ECLIP_FUZZ_BUILD/artifacts; reproduce one with: <folder of the harness>/fuzz_<name> <artifact>.
set -euo pipefail

secs=${1:-30}
shift || true
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${ECLIP_FUZZ_BUILD:-$root/build/fuzz}
cxx=${CXX_FUZZ:-clang++-14}
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
  if ! command -v "$cxx" >/dev/null; then
    echo "fuzz: $cxx not found (apt-get install clang-14 libclang-rt-14-dev)" >&2
    exit 1
  fi

  # fmt header-only so it is instrumented too and no gcc-built libfmt is linked in.
  common=(-std=c++20 -g1 -O1 -fno-omit-frame-pointer -DFMT_HEADER_ONLY -I"$root/include" -I"$root/tests/fuzz"
          -fsanitize=address,undefined -fno-sanitize-recover=all)
  mkdir -p "$out/obj" "$out/artifacts"

  # The core library's sources, as the top-level CMakeLists.txt builds them (no CLI, no GPU backends).
  sources=("$root"/src/{plan,planner,model,energy,experiments}/*.cpp "$root"/src/backend/sim/*.cpp)

  # Rebuild an object when its source or any header is newer.
  newest_header=$(find "$root/include" "$root/tests/fuzz" -name '*.hpp' -printf '%T@\n' | sort -n | tail -1)
  stale() {  # stale <object> <source>
    [ ! -f "$1" ] && return 0
    [ "$2" -nt "$1" ] && return 0
    local t
    t=$(stat -c %Y "$1")
    awk -v h="$newest_header" -v o="$t" 'BEGIN { exit !(h > o) }'
  }

  echo "fuzz: building with $cxx into $out"
  objects=()
  pids=()
  for src in "${sources[@]}"; do
    obj="$out/obj/$(basename "${src%.cpp}").o"
    objects+=("$obj")
    if stale "$obj" "$src"; then
      "$cxx" "${common[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$obj" &
      pids+=($!)
      if [ ${#pids[@]} -ge "$jobs" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
    fi
  done
  for p in "${pids[@]}"; do wait "$p"; done
  for h in "${harnesses[@]}"; do
    src="$root/tests/fuzz/fuzz_$h.cpp"
    [ -f "$src" ] || { echo "fuzz: no harness \"$h\" ($src)" >&2; exit 2; }
    bin="$out/fuzz_$h"
    if stale "$bin" "$src" || [ -n "$(find "$out/obj" -newer "$bin" -name '*.o')" ]; then
      "$cxx" "${common[@]}" -fsanitize=fuzzer "$src" "${objects[@]}" -o "$bin"
    fi
  done
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
