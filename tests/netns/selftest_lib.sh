#!/usr/bin/env bash
# selftest_lib.sh: tests of the harness (lib.sh) itself. Not named
# test_*.sh, so run.sh leaves it out by default; run it directly as root, or
# TESTS_FILES=selftest_lib.sh tests/netns/run.sh.
#
# Topology of t_underlay (underlay_create 3):
#
#   h1                     h2                     h3
#   eth0 198.18.0.1/16     eth0 198.18.0.2/16     eth0 198.18.0.3/16
#     | mtu 1400             | mtu 1400             | mtu 1400
#   +-h1---------------------h2---------------------h3-+
#   |                   br0            (ul)            |
#   +--------------------------------------------------+
#
# The other tests use bare namespaces: A and B (lifecycle), L (leak_check),
# H with eth0 198.18.0.1/16 (a veth) (agent helpers, run against fake
# ovnagent/ovnctl scripts under $T/fakebin since the real ones may not be
# built), and child scripts that source lib.sh, build things, then fail or
# time out, to prove their cleanup leaves nothing behind.

ALL_TESTS="
	t_ns_lifecycle
	t_busywait
	t_checks_counting
	t_spawn
	t_defer
	t_sysctl_neigh
	t_underlay
	t_leak_check
	t_agent_helpers
	t_cleanup_on_exit
"

HERE=$(dirname "$(readlink -f "$0")")
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$HERE/lib.sh"

ns_exists()
{
	ip netns list | grep -qE "^$1( |$)"
}

ms_since()
{
	echo $(((${EPOCHREALTIME//[.,]/} - $1) / 1000))
}

now_us()
{
	echo "${EPOCHREALTIME//[.,]/}"
}

t_ns_lifecycle()
{
	local A B pid ns

	setup_ns A B
	check_err $? "setup_ns failed"
	[[ $A == ovnt-A-?????? && $B == ovnt-B-?????? ]]
	check_err $? "unexpected names '$A' '$B'"
	for ns in "$A" "$B"; do
		ns_exists "$ns"
		check_err $? "$ns not in ip netns list"
		ip -n "$ns" -o link show lo | grep -q '<LOOPBACK,UP'
		check_err $? "lo is not up in $ns"
	done
	[[ " ${NS_LIST[*]} " == *" $A "* && " ${NS_LIST[*]} " == *" $B "* ]]
	check_err $? "NS_LIST lacks the new namespaces"

	# A process nobody registered: cleanup_ns must find it by namespace.
	ip netns exec "$A" sleep 1000 &
	pid=$!
	busywait 2000 _ns_has_pid "$A" "$pid"
	check_err $? "sleep $pid not seen in $A"

	cleanup_ns "$A" "$B"
	check_err $? "cleanup_ns failed"
	ns_exists "$A" || ns_exists "$B"
	check_fail $? "namespace still listed after cleanup_ns"
	pid_alive "$pid"
	check_fail $? "process $pid inside $A survived cleanup_ns"
	[[ " ${NS_LIST[*]} " == *" $A "* ]]
	check_fail $? "NS_LIST still holds $A"
	log_test "setup_ns/cleanup_ns: names, lo up, processes killed"
}

_ns_has_pid()
{
	ip netns pids "$1" | grep -qx "$2"
}

t_busywait()
{
	local start ms out

	start=$(now_us)
	busywait 300 false
	check_fail $? "busywait 300 false succeeded"
	ms=$(ms_since "$start")
	((ms >= 300 && ms < 1000))
	check_err $? "busywait 300 false took ${ms} ms"

	start=$(now_us)
	busywait 2000 true
	check_err $? "busywait true failed"
	ms=$(ms_since "$start")
	((ms < 200))
	check_err $? "busywait true took ${ms} ms"

	tmpdir_setup
	start=$(now_us)
	spawn_bg flag bash -c "sleep 0.3; touch '$T/flag'"
	busywait 3000 test -e "$T/flag"
	check_err $? "busywait missed a file created after 0.3 s"
	ms=$(ms_since "$start")
	((ms >= 250 && ms < 1500))
	check_err $? "waiting for the file took ${ms} ms"
	spawn_stop flag

	out=$(busywait 1000 echo hello)
	[[ $out == hello ]]
	check_err $? "busywait did not pass the output on: '$out'"

	start=$(now_us)
	slowwait 1 false
	check_fail $? "slowwait 1 false succeeded"
	ms=$(ms_since "$start")
	((ms >= 1000 && ms < 2000))
	check_err $? "slowwait 1 false took ${ms} ms"
	log_test "busywait/slowwait: deadlines, success, output"
}

# _inner_results: a fresh set of counters in a subshell, a scripted series of
# checks; prints what log_test and tests_summary print, plus RET traces.
_inner_results()
(
	NUM_PASS=0 NUM_FAIL=0 NUM_SKIP=0 PAUSE_ON_FAIL=no
	RET=0
	retmsg=""
	check_err 0 "not an error"
	check_err 3 "first"
	check_err 5 "second"
	echo "after check_err: RET=$RET retmsg=$retmsg"
	log_test "inner check_err"
	echo "after log_test: RET=$RET retmsg=$retmsg"
	check_fail 0 "the command should have failed"
	log_test "inner check_fail"
	check_fail 1 "unused"
	log_test "inner ok" "detail"
	log_test_skip "inner skip" "no such tool"
	log_test_rc 2 2 "inner rc as expected"
	log_test_rc 0 2 "inner rc unexpected"
	check_err 2 "exit 2 is a failure, not XFAIL"
	log_test "inner check_err 2"
	log_test_xfail "inner xfail" "known bug"
	tests_summary
	echo "summary rc=$?"
)

_inner_status()
(
	NUM_PASS=$1 NUM_FAIL=$2 NUM_SKIP=$3
	tests_summary >/dev/null
	echo $?
)

t_checks_counting()
{
	local out want col line
	local -a cols=()

	out=$(_inner_results)
	for want in \
		"after check_err: RET=1 retmsg=first" \
		"after log_test: RET=0 retmsg=" \
		$'\tfirst' \
		$'\tthe command should have failed' \
		$'\tno such tool' \
		$'\texit status 0, expected 2' \
		$'\texit 2 is a failure, not XFAIL' \
		"Tests passed: 3" \
		"Tests failed: 4" \
		"Tests skipped: 1" \
		"summary rc=1"; do
		grep -qxF -- "$want" <<<"$out"
		check_err $? "missing line '$want'"
	done
	grep -qE '^TEST: inner check_err +\[FAIL\]$' <<<"$out"
	check_err $? "check_err did not FAIL the test"
	grep -qE '^TEST: inner check_fail +\[FAIL\]$' <<<"$out"
	check_err $? "check_fail did not FAIL the test"
	grep -qE '^TEST: inner ok \(detail\) +\[ OK \]$' <<<"$out"
	check_err $? "no OK line with detail"
	grep -qE '^TEST: inner skip +\[SKIP\]$' <<<"$out"
	check_err $? "no SKIP line"
	grep -qE '^TEST: inner check_err 2 +\[FAIL\]$' <<<"$out"
	check_err $? "check_err 2 did not FAIL the test"
	grep -qE '^TEST: inner xfail +\[XFAIL\]$' <<<"$out"
	check_err $? "no XFAIL line"
	grep -qE '^TEST: inner rc as expected +\[ OK \]$' <<<"$out"
	check_err $? "log_test_rc with rc == expected did not pass"

	# Every verdict starts in the same column.
	while IFS= read -r line; do
		col=${line%%  \[*}
		cols+=("${#col}")
	done < <(grep '^TEST: ' <<<"$out")
	((${#cols[@]} == 8)) && [[ $(printf '%s\n' "${cols[@]}" | sort -u | wc -l) == 1 ]]
	check_err $? "TEST lines not aligned or not 8: ${cols[*]}"

	[[ $(_inner_status 2 0 1) == 0 ]]
	check_err $? "tests_summary: pass+skip should return 0"
	[[ $(_inner_status 0 0 3) == 4 ]]
	check_err $? "tests_summary: all skipped should return 4"
	[[ $(_inner_status 5 1 0) == 1 ]]
	check_err $? "tests_summary: a failure should return 1"
	log_test "check_err/check_fail/log_test: first error, counts"
}

t_spawn()
{
	local p1 p2 other rc start ms

	spawn_bg s1 sleep 1000
	p1=$(spawn_pid s1)
	spawn_bg s2 bash -c 'trap "" TERM; while :; do sleep 0.1; done'
	p2=$(spawn_pid s2)
	spawn_bg s1 true 2>/dev/null
	check_fail $? "spawn_bg accepted a name already in use"
	# Same command line as s1 but not spawned: must survive.
	sleep 1000 &
	other=$!

	busywait 2000 pid_alive "$p2"
	check_err $? "spawned processes did not start"

	start=$(now_us)
	spawn_stop s2 300
	rc=$?
	ms=$(ms_since "$start")
	((rc == 1))
	check_err $? "spawn_stop should report that SIGKILL was needed (rc $rc)"
	((ms < 2000))
	check_err $? "spawn_stop took ${ms} ms"
	pid_alive "$p2"
	check_fail $? "TERM-ignoring process $p2 survived spawn_stop"

	kill_all_spawned
	pid_alive "$p1"
	check_fail $? "spawned sleep $p1 survived kill_all_spawned"
	((${#SPAWNED[@]} == 0))
	check_err $? "registry not empty: ${!SPAWNED[*]}"
	pid_alive "$other"
	check_err $? "kill_all_spawned killed an unregistered process"

	kill "$other"
	wait "$other" 2>/dev/null
	log_test "spawn_bg/kill_all_spawned: by PID, TERM then KILL"
}

_append()
{
	echo "$1" >>"$2"
}

t_defer()
{
	local -a saved=("${DEFER_STACK[@]}")
	local f

	tmpdir_setup
	f=$T/defer
	DEFER_STACK=()
	defer _append first "$f"
	defer _append "second with 'quotes' and \$x" "$f"
	defer_run
	[[ $(cat "$f") == "second with 'quotes' and \$x"$'\n'"first" ]]
	check_err $? "defer_run order or quoting wrong: $(tr '\n' '|' <"$f")"
	((${#DEFER_STACK[@]} == 0))
	check_err $? "stack not empty after defer_run"
	DEFER_STACK=("${saved[@]}")
	log_test "defer/defer_run: reverse order, arguments kept"
}

t_sysctl_neigh()
{
	local fam i key t1
	local -A orig=()

	for fam in ipv4 ipv6; do
		for i in 1 2 3; do
			key=net.$fam.neigh.default.gc_thresh$i
			orig[$key]=$(sysctl -n "$key")
		done
	done
	# A second sysctl_set must not overwrite the saved value.
	t1=${orig[net.ipv4.neigh.default.gc_thresh1]}
	sysctl_set net.ipv4.neigh.default.gc_thresh1 "$((t1 + 1))"
	check_err $? "sysctl_set failed"
	neigh_thresholds_raise 131072
	check_err $? "neigh_thresholds_raise failed"
	for fam in ipv4 ipv6; do
		(($(sysctl -n "net.$fam.neigh.default.gc_thresh3") >= 131072 &&
			$(sysctl -n "net.$fam.neigh.default.gc_thresh2") >= 65536 &&
			$(sysctl -n "net.$fam.neigh.default.gc_thresh1") >= 16384))
		check_err $? "$fam thresholds not raised"
	done
	sysctl_restore_all
	for key in "${!orig[@]}"; do
		[[ $(sysctl -n "$key") == "${orig[$key]}" ]]
		check_err $? "$key not restored to ${orig[$key]}"
	done
	log_test "sysctl_set/neigh_thresholds_raise/sysctl_restore_all"
}

t_underlay()
{
	local i j ns all

	underlay_create 3
	check_err $? "underlay_create 3 failed"
	all="$UL_NS ${HOST_NS[*]}"
	for ns in $all; do
		ns_exists "$ns"
		check_err $? "$ns missing"
	done
	for i in 1 2 3; do
		[[ ${HOST_IP[i]} == "198.18.0.$i" ]]
		check_err $? "HOST_IP[$i] is '${HOST_IP[i]}'"
		ip -n "${HOST_NS[i]}" -o link show eth0 | grep -q 'mtu 1400 '
		check_err $? "eth0 of h$i does not have mtu 1400"
		ip -n "$UL_NS" -o link show "h$i" | grep -q 'mtu 1400 .*master br0'
		check_err $? "h$i in ul is not an mtu 1400 port of br0"
		ip -n "${HOST_NS[i]}" -4 -o addr show dev eth0 | grep -q "inet 198.18.0.$i/16"
		check_err $? "h$i lacks 198.18.0.$i/16"
	done
	for i in 1 2 3; do
		for j in 1 2 3; do
			((i == j)) && continue
			run_cmd ip netns exec "${HOST_NS[i]}" ping -c 1 -W 2 "198.18.0.$j"
			check_err $? "h$i cannot ping 198.18.0.$j: $RUN_CMD_OUT"
		done
	done
	# 1372 bytes of ICMP payload + 8 ICMP + 20 IP = 1400: fits, one more not.
	run_cmd ip netns exec "${HOST_NS[1]}" ping -c 1 -W 2 -M "do" -s 1372 198.18.0.3
	check_err $? "1400-byte packet did not pass: $RUN_CMD_OUT"
	run_cmd ip netns exec "${HOST_NS[1]}" ping -c 1 -W 1 -M "do" -s 1373 198.18.0.3
	check_fail $? "1401-byte packet passed an MTU 1400 underlay"

	underlay_destroy
	for ns in $all; do
		ns_exists "$ns"
		check_fail $? "$ns still exists after underlay_destroy"
	done
	[[ -z $UL_NS && ${#HOST_NS[@]} == 0 ]]
	check_err $? "underlay variables not reset"
	log_test "underlay_create 3: pings over 198.18/16, MTU 1400"
}

t_leak_check()
{
	local L out

	setup_ns L
	out=$(leak_check "$L")
	check_err $? "clean namespace reported leaks: $out"
	ip -n "$L" link add br-42 type bridge &&
		ip -n "$L" link add vx-42 type bridge &&
		ip -n "$L" link add ve-abc type veth peer name c0
	check_err $? "could not create test links"
	out=$(leak_check "$L")
	check_fail $? "leak_check returned 0 with links left"
	[[ $(sort <<<"$out" | tr '\n' ' ') == "br-42 ve-abc vx-42 " ]]
	check_err $? "leak_check listed '$(tr '\n' ' ' <<<"$out")'"
	cleanup_ns "$L"
	log_test "leak_check: lists vx-/br-/ve- links only"
}

# _fake_bin DIR MODE: stand-ins for ovnagent/ovnctl. "ok": the agent creates
# its "socket" (a plain file) after 0.2 s and removes it on SIGTERM; ovnctl
# status succeeds while the file exists. "dies": the agent exits 3 at once.
_fake_bin()
{
	local dir=$1 mode=$2

	mkdir -p "$dir"
	if [[ $mode == dies ]]; then
		printf '#!/bin/sh\necho "fake ovnagent: giving up" >&2\nexit 3\n' >"$dir/ovnagent"
	else
		cat >"$dir/ovnagent" <<-'EOF'
			#!/usr/bin/env bash
			cfg=$2
			sock=$(awk '$1 == "socket:" { print $2 }' "$cfg")
			echo "fake ovnagent: config $cfg" >&2
			trap 'echo "fake ovnagent: SIGTERM" >&2; rm -f "$sock"; exit 0' TERM
			sleep 0.2
			touch "$sock"
			while :; do sleep 0.1; done
		EOF
	fi
	cat >"$dir/ovnctl" <<-'EOF'
		#!/bin/sh
		[ "$1" = --socket ] && [ -e "$2" ] && [ "$3" = status ] && exit 0
		echo "ovnctl: cannot connect to $2" >&2
		exit 1
	EOF
	chmod +x "$dir/ovnagent" "$dir/ovnctl"
}

t_agent_helpers()
{
	local H saved_bin=$OVN_BIN cfg pid start ms out

	tmpdir_setup
	_fake_bin "$T/fakebin" ok
	_fake_bin "$T/fakebin-dies" dies
	OVN_BIN=$T/fakebin
	setup_ns H
	ip -n "$H" link add eth0 type veth peer name eth0p &&
		ip -n "$H" addr add 198.18.0.1/16 dev eth0 &&
		ip -n "$H" link set eth0 up
	check_err $? "could not give $H an underlay address"

	agent_start "$H" a1 "dns:" "  enabled: true" "log:" "  level: info"
	check_err $? "agent_start failed"
	cfg=$T/a1/agent.yaml
	for out in "node: a1" "advertise: 198.18.0.1" "run_dir: $T/a1/run" \
		"  socket: $T/a1/run/ovn.sock" "  path: $T/a1/store" \
		"  pool4: 198.19.0.0/16" "  pool6: fd00:198:19::/48" \
		"  level: info" "dns:" "  enabled: true"; do
		grep -qxF -- "$out" "$cfg"
		check_err $? "agent.yaml lacks '$out'"
	done
	grep -qxF "  level: debug" "$cfg"
	check_fail $? "an extra 'log:' did not replace the default log block"
	pid=$(agent_pid a1)
	ip netns pids "$H" | grep -qx "$pid"
	check_err $? "agent $pid is not running inside $H"
	ovnctl_on a1 status
	check_err $? "ovnctl_on a1 status failed"

	agent_stop a1
	check_err $? "agent_stop needed SIGKILL"
	pid_alive "$pid"
	check_fail $? "agent $pid survived agent_stop"
	grep -q "fake ovnagent: SIGTERM" "$T/a1/agent.log"
	check_err $? "agent did not get SIGTERM"

	agent_start "$H" a1
	check_err $? "restart of a1 failed"
	pid=$(agent_pid a1)
	agent_kill a1
	pid_alive "$pid"
	check_fail $? "agent $pid survived agent_kill"
	[[ $(agent_log a1 | grep -c "fake ovnagent: config") == 2 ]]
	check_err $? "the log of a restarted agent was not appended to"

	out=$(agent_logs_tail 30)
	grep -q "last 30 lines of $T/a1/agent.log" <<<"$out"
	check_err $? "agent_logs_tail did not show a1's log"

	OVN_BIN=$T/fakebin-dies
	start=$(now_us)
	agent_start "$H" a2 2>/dev/null
	check_fail $? "agent_start succeeded with an agent that exits"
	ms=$(ms_since "$start")
	((ms < 2000))
	check_err $? "agent_start took ${ms} ms to notice the agent had died"

	OVN_BIN=$saved_bin
	AGENT_NS=()
	cleanup_ns "$H"
	log_test "agent_start/stop/kill, ovnctl_on (fake agent)"
}

# _child_script FILE BODY: a scenario that sources lib.sh, prints what it
# made (NS, PID, TMP lines), then runs BODY.
_child_script()
{
	cat >"$1" <<-EOF
		source "$HERE/lib.sh"
		trap cleanup EXIT
		setup_ns X
		underlay_create 2
		container_create C
		spawn_bg sleeper sleep 1000
		tmpdir_setup
		echo "NS \${NS_LIST[*]}"
		echo "PID \$(spawn_pid sleeper)"
		echo "TMP \$T"
		$2
	EOF
}

# _child_check OUT: 0 if nothing the child printed it made still exists.
_child_check()
{
	local out=$1 ns pid tmp
	local -a made

	read -ra made <<<"$(sed -n 's/^NS //p' <<<"$out")"
	for ns in "${made[@]}"; do
		ns_exists "$ns" && echo "namespace $ns left" && return 1
	done
	pid=$(sed -n 's/^PID //p' <<<"$out")
	tmp=$(sed -n 's/^TMP //p' <<<"$out")
	[[ -n $pid && -n $tmp ]] || { echo "child printed no PID/TMP"; return 1; }
	pid_alive "$pid" && echo "process $pid left" && return 1
	[[ -e $tmp ]] && echo "temp dir $tmp left" && return 1
	return 0
}

t_cleanup_on_exit()
{
	local out rc msg

	tmpdir_setup
	_child_script "$T/fails.sh" \
		'check_err 1 "deliberate"; log_test "deliberate failure"; tests_summary'
	out=$(bash "$T/fails.sh" 2>&1)
	rc=$?
	((rc == 1))
	check_err $? "failing child exited $rc, not 1"
	[[ $(grep -c '^NS ' <<<"$out") == 1 && $(sed -n 's/^NS //p' <<<"$out" | wc -w) == 5 ]]
	check_err $? "child did not report its 5 namespaces: $out"
	msg=$(_child_check "$out")
	check_err $? "after a failed child: $msg"

	# Killed by the runner's timeout while in a foreground command.
	_child_script "$T/hangs.sh" 'sleep 1000'
	out=$(timeout -k 10 1 bash "$T/hangs.sh" 2>&1)
	rc=$?
	((rc == 124))
	check_err $? "timed-out child exited $rc, not 124"
	msg=$(_child_check "$out")
	check_err $? "after a timed-out child: $msg"
	log_test "cleanup on EXIT after failure and timeout"
}

trap cleanup EXIT
require_root
require_command ip
require_command ping
require_command sysctl
tests_run
tests_summary
