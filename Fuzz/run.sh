#!/usr/bin/env bash
# Builds the libFuzzer target (if needed) and fuzzes ktop's request path for
# SECONDS (default 60). See Fuzz/README.md.
#
#   Fuzz/run.sh [SECONDS]
#
# Environment:
#   FUZZ_FORK=0        stop at the first crash (default: fork mode, keep going and collect every crash)
#   FUZZ_SKIP_BUILD=1  use the binary as built
#   FUZZ_ARGS="..."    more libFuzzer flags
#
# Exit status: 0 when the run found nothing new; 1 when it saved a crash, a
# hang or an out-of-memory input (listed at the end). The known crashers in
# Fuzz/crashers/ are replayed first and reported, but do not decide the status.
set -euo pipefail

SECONDS_TO_RUN="${1:-60}"
DIR="$(cd "$(dirname "$0")" && pwd)"
WORK="$DIR/.work"
BIN="$DIR/.build/release/ktop-fuzz"
mkdir -p "$WORK/corpus" "$WORK/artifacts"

if [[ "${FUZZ_SKIP_BUILD:-0}" != 1 ]]; then
    start=$(date +%s)
    swift build --package-path "$DIR" --scratch-path "$DIR/.build" -c release \
        -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\] (Compiling|Write|Linking)' || true
    [[ -x "$BIN" ]] || { echo "run.sh: build failed" >&2; exit 2; }
    echo "run.sh: build took $(( $(date +%s) - start )) s"
fi

# ASan's leak check would report the engine kept across inputs on purpose.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}"
# Swift's own crash backtracer fights ASan and libFuzzer for the signal (and is slow); theirs report.
export SWIFT_BACKTRACE=enable=no

first_error() {  # why a replay failed, and the first frame in ktop's own Sources/ (file:line symbol)
    local why where
    why=$(grep -m1 -oE 'Swift runtime failure: [^/]*[a-z]' "$1" \
        || grep -m1 -E '^ktop-fuzz: |Fatal error|ERROR: (AddressSanitizer|libFuzzer)|timeout after|out-of-memory' "$1" \
        || echo "(no error line)")
    where=$(grep -E '^ +#[0-9]+ .* /[^ ]*/Sources/[A-Za-z]+/' "$1" | grep -v '/Fuzz/' | head -n 1 \
        | sed -E 's/^ +#[0-9]+ 0x[0-9a-f]+ in (.*) ([^ ]+)$/\2 \1/' | sed -E 's|^/[^ ]*/Sources/||' | swift demangle --simplified | cut -c1-160)
    echo "${why:0:160}${where:+ at $where}"
}

if compgen -G "$DIR/crashers/*" >/dev/null; then
    echo "run.sh: replaying the known crashers in Fuzz/crashers/"
    for f in "$DIR"/crashers/*; do
        log="$WORK/replay.log"
        if "$BIN" -timeout=10 "$f" >"$log" 2>&1; then
            echo "  fixed        $(basename "$f")"
        else
            echo "  still fails  $(basename "$f"): $(first_error "$log")"
        fi
    done
fi

before=$(ls "$WORK/artifacts" | wc -l)
mode=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
[[ "${FUZZ_FORK:-1}" == 0 ]] && mode=()
echo "run.sh: fuzzing for $SECONDS_TO_RUN s"
set +e
# New inputs go to the first folder (.work/corpus, not in git); Fuzz/corpus holds the seeds.
# shellcheck disable=SC2086
"$BIN" "$WORK/corpus" "$DIR/corpus" -dict="$DIR/ktop.dict" -max_total_time="$SECONDS_TO_RUN" \
    -timeout=10 -rss_limit_mb=4096 -max_len=8192 -artifact_prefix="$WORK/artifacts/" \
    -print_final_stats=1 "${mode[@]}" ${FUZZ_ARGS:-} >"$WORK/fuzz.log" 2>&1
status=$?
set -e
grep -E '^#[0-9]+: cov|^#[0-9]+.*(DONE|pulse|NEW)' "$WORK/fuzz.log" | tail -n 1 || true
grep -E '^(stat::|INFO: exiting|Done [0-9]+ runs)' "$WORK/fuzz.log" || true
echo "run.sh: libFuzzer exited $status; log: $WORK/fuzz.log"

new=$(( $(ls "$WORK/artifacts" | wc -l) - before ))
if (( new > 0 )); then
    echo "run.sh: $new new crash/hang/oom inputs in $WORK/artifacts/:"
    for f in $(ls -t "$WORK/artifacts" | head -n "$new"); do
        if "$BIN" -timeout=10 "$WORK/artifacts/$f" >"$WORK/replay.log" 2>&1; then
            echo "  $f: passes when replayed alone (it needed engine state from earlier inputs)"
        else
            echo "  $f: $(first_error "$WORK/replay.log")"
        fi
    done
    exit 1
fi
[[ $status == 0 || ${#mode[@]} -gt 0 ]] || exit 1
echo "run.sh: no new crashes"
