#!/usr/bin/env bash
# run-unit.sh BUILD_DIR: run every cmocka binary BUILD_DIR/tests/test_* and add
# up their results.
#
# Each binary's full output goes to BUILD_DIR/test-logs/unit/<name>.log; the
# terminal gets one line per binary, the tail of the log when it failed, and
# a totals line "unit: N passed, N failed, N skipped". That line is not the
# closing summary of `make check` (run-all.sh prints that one).
#
# Counting, from cmocka's own summary lines (summed over every group):
#   "[  PASSED  ] N test(s)."  "[  FAILED  ] N test(s)"  "[  SKIPPED ] N test(s)"
# A binary that exits nonzero but reports no failed test (a crash, a
# sanitizer or leak report at exit, a bad exit code) adds 1 failed. A binary
# that prints no cmocka summary adds 1 failed too, unless it exits 77 or 4
# (automake / kselftest "skip"), then 1 skipped. Tests needing root skip
# themselves with cmocka's skip().
#
# Environment: UNIT_TIMEOUT (seconds per binary, default 300); UNIT_WRAP, a
# command each binary runs under (`make check-valgrind` sets valgrind's);
# UNIT_LABEL, the prefix of the lines and the log directory (default unit).
# Exit: 0 when nothing failed, 1 otherwise.

set -uo pipefail

UNIT_TIMEOUT=${UNIT_TIMEOUT:-300}
UNIT_LABEL=${UNIT_LABEL:-unit}
read -r -a UNIT_WRAP <<<"${UNIT_WRAP:-}"

total_pass=0
total_fail=0
total_skip=0

# sum_count LOG TAG: the sum of N over the lines "[ TAG ] N test(s)".
sum_count()
{
	awk -v tag="$2" '
		index($0, "[" tag "] ") == 1 {
			rest = substr($0, length(tag) + 4)
			if (rest ~ /^[0-9]+ test\(s\)/) { split(rest, w, " "); n += w[1] }
		}
		END { print n + 0 }' "$1"
}

# run_binary BIN LOGDIR: run one test binary, print its line, add its counts.
run_binary()
{
	local bin=$1 logdir=$2
	local name log rc pass fail skip note="" start elapsed

	name=$(basename "$bin")
	log=$logdir/$name.log
	start=${EPOCHREALTIME//[.,]/}
	# STDOUT format: the only one whose summary lines we parse.
	# The braces take bash's own "Aborted"/"Segmentation fault" notice off
	# the terminal; the line below says it with the exit status.
	{ CMOCKA_MESSAGE_OUTPUT=STDOUT timeout -k 10 "$UNIT_TIMEOUT" "${UNIT_WRAP[@]}" "$bin" \
		</dev/null >"$log" 2>&1; } 2>/dev/null
	rc=$?
	elapsed=$((${EPOCHREALTIME//[.,]/} - start))
	elapsed=$((elapsed / 1000000)).$((elapsed / 100000 % 10))

	pass=$(sum_count "$log" "  PASSED  ")
	fail=$(sum_count "$log" "  FAILED  ")
	skip=$(sum_count "$log" "  SKIPPED ")

	if ((rc == 124 || rc == 137)); then
		fail=$((fail + 1))
		note=" (timed out after ${UNIT_TIMEOUT}s)"
	elif ((pass + fail + skip == 0)) && ((rc == 77 || rc == 4)); then
		skip=1
		note=" (skipped itself, exit $rc)"
	elif ((pass + fail + skip == 0)); then
		fail=1
		note=" (no cmocka summary, exit $rc)"
	elif ((rc != 0 && fail == 0)); then
		fail=1
		note=" (exit $rc with no failed test: crash or sanitizer report)"
	fi

	printf '%s: %-28s %3d passed, %d failed, %d skipped  %ss%s\n' \
		"$UNIT_LABEL" "$name" "$pass" "$fail" "$skip" "$elapsed" "$note"
	if ((fail > 0)); then
		echo "  --- last 40 lines of $log ---"
		tail -n 40 "$log" | sed 's/^/  | /'
	fi

	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	total_skip=$((total_skip + skip))
}

main()
{
	local build=${1:-build}
	local logdir=$build/test-logs/$UNIT_LABEL
	local bin found=0

	mkdir -p "$logdir" || exit 1
	for bin in "$build"/tests/test_*; do
		[[ -f $bin && -x $bin ]] || continue
		found=$((found + 1))
		run_binary "$bin" "$logdir"
	done
	((found > 0)) || echo "$UNIT_LABEL: no test binaries in $build/tests"

	echo "$UNIT_LABEL: $total_pass passed, $total_fail failed, $total_skip skipped"
	((total_fail == 0))
}

main "$@"
