#!/usr/bin/env bash
# run.sh: run the netns scenarios (tests/netns/test_*.sh, or the files named
# in $TESTS_FILES) one after the other and add up their results.
#
# Each script runs under `timeout` (NETNS_TIMEOUT seconds, default 600, then
# 30 s more for its cleanup before SIGKILL), with stdin from /dev/null, its
# output saved in LOG_DIR/<script>.log and shown live, indented. Counts come
# from the script's last "Tests passed: N" / "Tests failed: N" /
# "Tests skipped: N" lines. Without counts: exit 0 counts 1 passed, exit 4
# (kselftest skip) 1 skipped, anything else (crash, timeout) 1 failed. A
# timeout, or a nonzero exit with no failed test, adds 1 failed even with
# counts. So does anything the script left behind: lib.sh records every
# namespace and background process it creates in two files named by
# OVNT_NS_REGISTRY and OVNT_PID_REGISTRY; whatever is still there afterwards
# is reported, counted as 1 failed, and removed (by name and PID, so other
# users of the machine are never touched).
#
# Not root: nothing runs; every script counts as skipped, said loudly.
# Prints "netns: N passed, N failed, N skipped" last; exit 0 iff none failed.
#
# Environment: OVN_BIN (default <repo>/build/bin; exported to the scripts),
# NETNS_TIMEOUT, TESTS_FILES, LOG_DIR (default OVN_BIN/../test-logs/netns),
# plus the knobs of lib.sh (VERBOSE, TESTS, KEEP_TMP), passed through.

set -uo pipefail

HERE=$(dirname "$(readlink -f "$0")")
ROOT=$(readlink -f "$HERE/../..")
NETNS_TIMEOUT=${NETNS_TIMEOUT:-600}
OVN_BIN=$(readlink -m "${OVN_BIN:-$ROOT/build/bin}")
LOG_DIR=${LOG_DIR:-$(dirname "$OVN_BIN")/test-logs/netns}
export OVN_BIN

total_pass=0
total_fail=0
total_skip=0
CHILD=""
INTERRUPTED=0

# last_count LOG WORD: N from the last "Tests WORD: N" line, empty if none.
last_count()
{
	grep -aE "^Tests $2: *[0-9]+ *$" "$1" | tail -n 1 | tr -dc '0-9'
}

now_us()
{
	echo "${EPOCHREALTIME//[.,]/}"
}

# reap_leftovers SCRIPT NSREG PIDREG: report and remove what SCRIPT left
# behind; 1 if anything was.
reap_leftovers()
{
	local script=$1 nsreg=$2 pidreg=$3
	local ns pid start name now leaked=0

	while read -r pid start name; do
		[[ -n $pid ]] || continue
		now=$(awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[20] }' \
			"/proc/$pid/stat" 2>/dev/null) || continue
		[[ $now == "$start" ]] || continue
		echo "netns: $script: LEAK: process $pid ($name) still running; killing it"
		kill -KILL "$pid" 2>/dev/null
		leaked=1
	done <"$pidreg"

	while read -r ns; do
		[[ -n $ns ]] || continue
		ip netns list | grep -qE "^$ns( |$)" || continue
		echo "netns: $script: LEAK: namespace $ns still exists; deleting it"
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns delete "$ns"
		leaked=1
	done <"$nsreg"
	return "$leaked"
}

on_signal()
{
	INTERRUPTED=1
	[[ -n $CHILD ]] && kill -TERM "$CHILD" 2>/dev/null
}

# run_script FILE: run one scenario, print its line, add its counts.
run_script()
{
	local file=$1 name log nsreg pidreg tail_pid rc start secs
	local pass fail skip note=""

	name=$(basename "$file" .sh)
	log=$LOG_DIR/$name.log
	nsreg=$LOG_DIR/$name.ns
	pidreg=$LOG_DIR/$name.pids
	: >"$nsreg"
	: >"$pidreg"

	echo "netns: === $name ==="
	start=$(now_us)
	# The script writes to its log file, and `tail --pid` shows it live.
	# Not a pipe: a process the script leaked would hold a pipe open and
	# hang the runner; a file it may keep.
	: >"$log"
	OVNT_NS_REGISTRY=$nsreg OVNT_PID_REGISTRY=$pidreg \
		timeout -k 30 "$NETNS_TIMEOUT" bash "$file" </dev/null >"$log" 2>&1 &
	CHILD=$!
	tail -n +1 -s 0.2 -f --pid="$CHILD" "$log" | sed -u 's/^/  /' &
	tail_pid=$!
	# wait returns early when a trapped signal arrives; wait again then.
	# (Its stderr would only repeat the exit status as "Segmentation fault".)
	while :; do
		wait "$CHILD" 2>/dev/null
		rc=$?
		kill -0 "$CHILD" 2>/dev/null || break
	done
	CHILD=""
	# tail sees the (now reaped) PID gone within 0.2 s and ends after
	# printing the rest.
	wait "$tail_pid" 2>/dev/null
	secs=$((($(now_us) - start) / 1000000))

	pass=$(last_count "$log" passed)
	fail=$(last_count "$log" failed)
	skip=$(last_count "$log" skipped)
	if [[ -z $pass$fail$skip ]]; then
		pass=0 fail=0 skip=0
		case $rc in
		0) pass=1 ;;
		4) skip=1 note=" (skipped, exit 4)" ;;
		124 | 137) fail=1 note=" (TIMEOUT after ${NETNS_TIMEOUT}s)" ;;
		*) fail=1 note=" (exit $rc, no counts)" ;;
		esac
	else
		pass=${pass:-0} fail=${fail:-0} skip=${skip:-0}
		if ((rc == 124 || rc == 137)); then
			fail=$((fail + 1))
			note=" (TIMEOUT after ${NETNS_TIMEOUT}s)"
		elif ((rc != 0 && rc != 4 && fail == 0)); then
			fail=1
			note=" (exit $rc with no failed test)"
		fi
	fi
	if ! reap_leftovers "$name" "$nsreg" "$pidreg"; then
		fail=$((fail + 1))
		note+=" (left namespaces or processes behind)"
	fi
	rm -f "$nsreg" "$pidreg"

	printf 'netns: %-28s %3d passed, %d failed, %d skipped  %ds%s\n' \
		"$name" "$pass" "$fail" "$skip" "$secs" "$note"
	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	total_skip=$((total_skip + skip))
}

# list_scripts: TESTS_FILES (paths, or names in tests/netns) or the default
# glob, one per line.
list_scripts()
{
	local f

	if [[ -n ${TESTS_FILES:-} ]]; then
		for f in $TESTS_FILES; do
			[[ ! -f $f && -f $HERE/$f ]] && f=$HERE/$f
			echo "$f"
		done
		return
	fi
	for f in "$HERE"/test_*.sh; do
		[[ -f $f ]] && echo "$f"
	done
}

main()
{
	local -a scripts
	local f

	mapfile -t scripts < <(list_scripts)
	if ((${#scripts[@]} == 0)); then
		echo "netns: no test scripts in $HERE"
	elif ((EUID != 0)); then
		echo "netns: ##########################################################"
		echo "netns: SKIPPED ${#scripts[@]} netns test script(s): they need root"
		echo "netns: (network namespaces, veths, sysctls). Run make check as root."
		echo "netns: ##########################################################"
		total_skip=${#scripts[@]}
	else
		mkdir -p "$LOG_DIR" || exit 1
		trap on_signal INT TERM
		for f in "${scripts[@]}"; do
			if [[ ! -f $f ]]; then
				echo "netns: $f: no such script"
				total_fail=$((total_fail + 1))
				continue
			fi
			run_script "$f"
			if ((INTERRUPTED)); then
				echo "netns: interrupted; not running the remaining scripts"
				total_fail=$((total_fail + 1))
				break
			fi
		done
	fi

	echo "netns: $total_pass passed, $total_fail failed, $total_skip skipped"
	((total_fail == 0))
}

main "$@"
