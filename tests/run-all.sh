#!/usr/bin/env bash
# run-all.sh BUILD_DIR: the body of `make check`: build, unit tests, netns
# tests, then the one closing summary line "N passed, N failed, N skipped".
#
# Stages, each timed:
#   build  `make BUILD=BUILD_DIR -k all tests`, because `make check` itself
#          depends only on deps. A failed build counts 1 failed; whatever did
#          build still runs. OVN_NO_BUILD=1 skips this stage. SAN is passed
#          on; for BUILD_DIR build-asan it defaults to 1, as in `make asan`,
#          so a rebuild there never drops the sanitizers.
#   unit   tests/run-unit.sh BUILD_DIR       ("unit: N passed, ..." parsed)
#   sim    the gossip simulator, every scenario ("sim: N passed, ..." parsed)
#   asan   the unit tests again on the ASan/UBSan build (build-asan), so CI
#          runs the sanitizer build; `make check-asan` runs everything on it.
#          Only for a plain BUILD_DIR; OVN_NO_ASAN=1 skips it.
#   valgrind  `make check-valgrind`: the unit tests again under memcheck
#          ("valgrind: ..."; ~1 min). Not for build-asan. OVN_NO_VALGRIND=1
#          skips it.
#   fuzz   `make fuzz-smoke`: every libFuzzer target replays its kept
#          inputs (tests/fuzz/regress, seeds) and fuzzes 3 s ("fuzz: ...",
#          one count per target; ~45 s, plus ~1.5 min to build the targets
#          the first time). OVN_NO_FUZZ=1 skips it.
#   netns  tests/netns/run.sh, OVN_BIN=<abs BUILD_DIR>/bin  ("netns: ...")
# A stage whose totals line is missing counts 1 failed.
#
# Only the closing line has the bare form "N passed, N failed, N skipped"
# (stage lines carry a prefix, scenario output is indented), so CI can grep
# for it. Exit 0 iff nothing failed.

set -uo pipefail

ROOT=$(readlink -f "$(dirname "$(readlink -f "$0")")/..")
BUILD=${1:-build}

sum_pass=0
sum_fail=0
sum_skip=0

now_us()
{
	echo "${EPOCHREALTIME//[.,]/}"
}

# add_totals PREFIX OUTFILE: add the counts of the last "PREFIX: N passed,
# N failed, N skipped" line; 1 failed when there is none.
add_totals()
{
	local prefix=$1 out=$2 line
	local re="^$prefix: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$"

	line=$(grep -aE "$re" "$out" | tail -n 1)
	if [[ $line =~ $re ]]; then
		sum_pass=$((sum_pass + BASH_REMATCH[1]))
		sum_fail=$((sum_fail + BASH_REMATCH[2]))
		sum_skip=$((sum_skip + BASH_REMATCH[3]))
	else
		echo "run-all: $prefix stage printed no totals; counting 1 failed"
		sum_fail=$((sum_fail + 1))
	fi
}

# stage NAME CMD...: run CMD with output live and captured in $OUT, print
# its elapsed time.
stage()
{
	local name=$1 start rc

	shift
	echo "run-all: --- stage $name ---"
	start=$(now_us)
	# tee -i: on ^C it must outlive the runners, which still print while
	# their scripts clean up.
	"$@" 2>&1 | tee -i "$OUT"
	rc=${PIPESTATUS[0]}
	echo "run-all: stage $name: $((($(now_us) - start) / 1000000))s, exit $rc"
	return "$rc"
}

stage_build()
{
	local san=${SAN:-}
	local -a args=(-C "$ROOT" --no-print-directory -k "BUILD=$BUILD")

	[[ -z $san && $(basename "$BUILD") == build-asan ]] && san=1
	[[ -n $san ]] && args+=("SAN=$san")
	make "${args[@]}" all tests
}

# stage_sim: the gossip simulator (tests/sim: virtual time, lossy and
# partitionable network) built into BUILD_DIR/sim (with the sanitizers for
# build-asan) and run over every scenario; one result per scenario.
stage_sim()
{
	local san=${SAN:-} bin=$BUILD/sim/run line re='^sim: [0-9]+ scenarios, ([0-9]+) passed, ([0-9]+) failed$'

	[[ -z $san && $(basename "$BUILD") == build-asan ]] && san=1
	bin=$(readlink -m "$bin")
	make -C "$ROOT/tests/sim" --no-print-directory "OUT=$bin" ${san:+SAN=$san} "$bin" ||
		{ echo "sim: 0 passed, 1 failed, 0 skipped"; return 1; }
	"$bin" >"$BUILD/sim/run.log" 2>&1
	grep -E ' (ok|FAILED)$|assert_failed' "$BUILD/sim/run.log"
	line=$(grep -E "$re" "$BUILD/sim/run.log" | tail -n 1)
	if [[ $line =~ $re ]]; then
		echo "sim: ${BASH_REMATCH[1]} passed, ${BASH_REMATCH[2]} failed, 0 skipped"
	else
		echo "sim: 0 passed, 1 failed, 0 skipped"
	fi
}

# stage_asan_unit: build the unit tests with ASan/UBSan into build-asan and
# run them; prints "asan: N passed, ..." from run-unit.sh's totals.
stage_asan_unit()
{
	make -C "$ROOT" --no-print-directory -k BUILD=build-asan SAN=1 tests >/dev/null ||
		{ echo "asan: 0 passed, 1 failed, 0 skipped"; return 1; }
	UNIT_LABEL=asan tests/run-unit.sh build-asan
}

main()
{
	local total_start

	total_start=$(now_us)
	OUT=$(mktemp /tmp/ovn-run-all.XXXXXX) || exit 1
	trap 'rm -f "$OUT"' EXIT
	cd "$ROOT" || exit 1

	if [[ ${OVN_NO_BUILD:-0} != 1 ]]; then
		if ! stage build stage_build; then
			echo "run-all: build failed; counting 1 failed, running what was built"
			sum_fail=$((sum_fail + 1))
		fi
	fi

	stage unit tests/run-unit.sh "$BUILD"
	add_totals unit "$OUT"

	# valgrind and ASan do not mix: the sanitizer build skips this stage.
	if [[ ${OVN_NO_VALGRIND:-0} != 1 && -z ${SAN:-} && $(basename "$BUILD") != build-asan ]]; then
		stage valgrind make -C "$ROOT" --no-print-directory "BUILD=$BUILD" check-valgrind
		add_totals valgrind "$OUT"
	fi

	if [[ ${OVN_NO_FUZZ:-0} != 1 ]]; then
		stage fuzz make -C "$ROOT" --no-print-directory fuzz-smoke
		add_totals fuzz "$OUT"
	fi

	stage sim stage_sim
	add_totals sim "$OUT"

	if [[ ${OVN_NO_ASAN:-0} != 1 && -z ${SAN:-} && $(basename "$BUILD") != build-asan ]]; then
		stage asan stage_asan_unit
		add_totals asan "$OUT"
	fi

	stage netns env OVN_BIN="$(readlink -m "$BUILD/bin")" tests/netns/run.sh
	add_totals netns "$OUT"

	echo "run-all: total $((($(now_us) - total_start) / 1000000))s"
	echo "$sum_pass passed, $sum_fail failed, $sum_skip skipped"
	((sum_fail == 0))
}

main "$@"
