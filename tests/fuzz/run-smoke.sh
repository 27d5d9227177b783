#!/usr/bin/env bash
# run-smoke.sh TARGET...: the fuzz stage of the test suite (`make
# fuzz-smoke`, tests/run-all.sh). For each libFuzzer target in $FUZZ_DIR:
#   1. replay every file of tests/fuzz/regress/TARGET (inputs that once
#      crashed it: each must now run clean) and tests/fuzz/seeds/TARGET;
#   2. fuzz for FUZZ_SMOKE_SECS seconds from build-fuzz/corpus/TARGET (kept
#      between runs, so coverage grows) plus the seeds and regressions.
# One line per target with the executions and the rate, then the totals
# line "fuzz: N passed, N failed, N skipped" that run-all.sh adds up. A
# failing target's log tail is shown; its crashing input is saved by
# libFuzzer in $FUZZ_DIR/artifacts/ (move it to tests/fuzz/regress/TARGET
# once fixed).
set -uo pipefail

ROOT=$(readlink -f "$(dirname "$(readlink -f "$0")")/../..")
FUZZ_DIR=${FUZZ_DIR:-build-fuzz}
SECS=${FUZZ_SMOKE_SECS:-3}
pass=0
fail=0
skip=0

cd "$ROOT" || exit 1
mkdir -p "$FUZZ_DIR/artifacts"

# run_one TARGET: 0 when both steps ran clean.
run_one()
{
	local t=$1 bin=$FUZZ_DIR/$1 log=$FUZZ_DIR/$1.smoke.log
	local -a files=() dirs=()
	local f d runs rate

	for d in tests/fuzz/regress/$t tests/fuzz/seeds/$t; do
		[[ -d $d ]] || continue
		dirs+=("$d")
		for f in "$d"/*; do
			[[ -f $f ]] && files+=("$f")
		done
	done
	if ((${#files[@]})) &&
		! "$bin" -artifact_prefix="$FUZZ_DIR/artifacts/$t-" "${files[@]}" >"$log" 2>&1; then
		echo "fuzz: $t: a kept input fails:"
		tail -n 30 "$log" | sed 's/^/  | /'
		return 1
	fi
	mkdir -p "$FUZZ_DIR/corpus/$t"
	if ! "$bin" -max_total_time="$SECS" -print_final_stats=1 \
		-artifact_prefix="$FUZZ_DIR/artifacts/$t-" \
		"$FUZZ_DIR/corpus/$t" "${dirs[@]}" >"$log" 2>&1; then
		echo "fuzz: $t: crashed while fuzzing:"
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -n 10 |
			sed 's/^/  | /'
		return 1
	fi
	runs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$log")
	rate=$(awk '/stat::average_exec_per_sec/ { print $2 }' "$log")
	printf 'fuzz: %-22s ok  %d kept inputs, %s runs in %ss (%s/s)\n' "$t" "${#files[@]}" \
		"${runs:-?}" "$SECS" "${rate:-?}"
}

main()
{
	local t

	for t in "$@"; do
		if [[ ! -x $FUZZ_DIR/$t ]]; then
			echo "fuzz: $t: not built (clang and libclang-rt-14-dev: make deps)"
			skip=$((skip + 1))
		elif run_one "$t"; then
			pass=$((pass + 1))
		else
			fail=$((fail + 1))
		fi
	done
	echo "fuzz: $pass passed, $fail failed, $skip skipped"
	((fail == 0))
}

main "$@"
