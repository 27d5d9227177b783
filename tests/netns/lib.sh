#!/usr/bin/env bash
# shellcheck disable=SC2034
# (SC2034: many globals here are set for the scenario scripts to read.)
#
# lib.sh: the harness every netns scenario sources, in the manner of the
# kernel's tools/testing/selftests/net/lib.sh and forwarding/lib.sh.
#
# It gives: kselftest exit codes; namespaces with unique names that are
# always deleted; polling with a deadline (busywait/slowwait) instead of
# guessed sleeps; check_err/check_fail/log_test, one aligned line per check
# and a closing "Tests passed/failed/skipped" block; a registry of the
# processes a test starts, killed by PID only; a defer stack; saved and
# restored sysctls; an underlay of N "hosts" behind one bridge; container
# namespaces; and helpers to run ovnagent/ovnctl in those hosts.
# It does not: create anything in the root namespace except sysctl changes
# (restored) and a temp dir (removed); know about VxLAN or the agent's
# internals; decide what a scenario tests.
#
# The one convention, used by every scenario:
#
#   #!/usr/bin/env bash
#   # <ASCII topology with every namespace, device and address>
#   # shellcheck disable=SC2034   (ALL_TESTS is read by lib.sh)
#   ALL_TESTS="test_a test_b"
#   # shellcheck source-path=SCRIPTDIR source=lib.sh
#   source "$(dirname "$(readlink -f "$0")")/lib.sh"
#
#   test_a() { RET=0; ...; check_err $? "what went wrong"; log_test "a does x"; }
#
#   trap cleanup EXIT       # cleanup() below; a scenario may redefine it,
#                           # then its own last command is lib_cleanup
#   require_root
#   setup_ns c1 c2          # or underlay_create 3, tmpdir_setup, ...
#   defer ip netns exec ... # undo steps not covered by the registries
#   tests_run
#   tests_summary
#
# Verdicts: check_err/check_fail then log_test; log_test_rc for "this must
# fail with status N"; log_test_skip/log_test_xfail. require_root,
# require_command and require_ovn_bin exit 4 (SKIP) before anything is built.
#
# tests_summary is the last command so the script's exit status is its
# return value; the EXIT trap keeps that status. INT, TERM and HUP are turned
# into exits here, so cleanup also runs when the runner's timeout fires.
#
# Knobs (environment): VERBOSE=1 echoes every run_cmd; PAUSE_ON_FAIL=yes
# waits for Enter after a failed check (inspect the namespaces meanwhile);
# TESTS="a b" runs a subset; KEEP_TMP=yes keeps the temp dir; BUSYWAIT_MS
# default wait of the helpers; UNDERLAY_MTU (1400, this VM's NIC); OVN_BIN
# directory of ovnagent and ovnctl. tests/netns/run.sh sets OVNT_NS_REGISTRY
# and OVNT_PID_REGISTRY (files) so it can find and report anything a script
# left behind.
#
# TODO: IPv6 underlay addresses; tc helpers (counters, tbf, iptables loss)
# once a scenario needs them.

# kselftest exit codes.
ksft_pass=0
ksft_fail=1
ksft_xfail=2
ksft_skip=4

VERBOSE=${VERBOSE:-0}
PAUSE_ON_FAIL=${PAUSE_ON_FAIL:-no}
KEEP_TMP=${KEEP_TMP:-no}
BUSYWAIT_MS=${BUSYWAIT_MS:-5000}
UNDERLAY_MTU=${UNDERLAY_MTU:-1400}
NS_PREFIX=${NS_PREFIX:-ovnt-}
OVN_BIN=${OVN_BIN:-}

# Results: RET/retmsg for the check in progress, counters for the summary.
RET=0
retmsg=""
EXIT_STATUS=0
NUM_PASS=0
NUM_FAIL=0
NUM_SKIP=0

NS_LIST=()		# namespaces made by setup_ns, in creation order
T=""			# per-script temp dir (tmpdir_setup)
RUN_CMD_OUT=""		# output of the last run_cmd
declare -A SPAWNED=()	# name -> pid of spawn_bg processes
declare -A SYSCTL_SAVED=()	# key -> value before the first sysctl_set
DEFER_STACK=()		# commands for defer_run, pushed in order
UL_NS=""		# underlay bridge namespace
HOST_NS=()		# HOST_NS[1..N]: host namespaces
HOST_IP=()		# HOST_IP[1..N]: their underlay addresses
declare -A AGENT_NS=()	# agent name -> host namespace it runs in

# Signals become exits so the EXIT trap (cleanup) runs; 128 + signal number.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------
# Requirements: exit with SKIP (4) when the test cannot run here.

require_root()
{
	if ((EUID != 0)); then
		echo "SKIP: need root privileges"
		exit "$ksft_skip"
	fi
}

require_command()
{
	local cmd=$1

	if ! command -v "$cmd" >/dev/null; then
		echo "SKIP: could not run test without $cmd"
		exit "$ksft_skip"
	fi
}

# require_ovn_bin: skip when the agent binaries were not built.
require_ovn_bin()
{
	local b

	for b in ovnagent ovnctl; do
		if [[ -z $OVN_BIN || ! -x $OVN_BIN/$b ]]; then
			echo "SKIP: $b not found in OVN_BIN='$OVN_BIN' (make; or set OVN_BIN)"
			exit "$ksft_skip"
		fi
	done
}

# ---------------------------------------------------------------------------
# Polling. Both run CMD until it succeeds or the deadline passes; they print
# the output of the last try and return its status. busywait polls every
# 10 ms for fast kernel state, slowwait every 100 ms for daemons.

# loopy_wait SLEEP TIMEOUT_MS CMD...
loopy_wait()
{
	local nap=$1 timeout_ms=$2
	local start now out ret

	shift 2
	start=${EPOCHREALTIME//[.,]/}
	while :; do
		out=$("$@")
		ret=$?
		if ((ret == 0)); then
			printf '%s' "$out"
			return 0
		fi
		now=${EPOCHREALTIME//[.,]/}
		if (((now - start) / 1000 >= timeout_ms)); then
			printf '%s' "$out"
			return "$ret"
		fi
		sleep "$nap"
	done
}

busywait()
{
	local timeout_ms=$1

	shift
	loopy_wait 0.01 "$timeout_ms" "$@"
}

slowwait()
{
	local timeout_s=$1

	shift
	loopy_wait 0.1 "$((timeout_s * 1000))" "$@"
}

# ---------------------------------------------------------------------------
# Checks and reporting.

# check_err ERR MSG: record the first nonzero ERR as a failure, and its
# message. RET becomes $ksft_fail, not ERR: a command exiting 2 or 4 must not
# turn into XFAIL or SKIP (use log_test_skip/log_test_xfail for those).
check_err()
{
	local err=$1 msg=$2

	if ((RET == 0 && err != 0)); then
		RET=$ksft_fail
		retmsg=$msg
	fi
}

# check_fail ERR MSG: the negative form; ERR == 0 is the failure.
check_fail()
{
	local err=$1 msg=$2

	if ((RET == 0 && err == 0)); then
		RET=1
		retmsg=$msg
	fi
}

# run_cmd CMD...: run CMD, keep its output in RUN_CMD_OUT, return its status;
# with VERBOSE=1 echo the command and its output.
run_cmd()
{
	local rc

	RUN_CMD_OUT=$("$@" 2>&1)
	rc=$?
	if [[ $VERBOSE == 1 ]]; then
		echo "COMMAND: $*"
		[[ -n $RUN_CMD_OUT ]] && printf '%s\n' "$RUN_CMD_OUT" | sed 's/^/    /'
	fi
	return "$rc"
}

pause_on_fail()
{
	local key

	[[ $PAUSE_ON_FAIL == yes ]] || return 0
	echo "Paused for inspection (namespaces: ${NS_LIST[*]}). Enter continues, 'q' quits."
	read -r key || return 0
	[[ $key == q ]] && exit 1
	return 0
}

# log_test NAME [DETAIL]: print one line for the check just done, from RET:
# 0 OK, $ksft_skip SKIP, $ksft_xfail XFAIL (counted as passed), else FAIL with
# retmsg indented below. Resets RET and retmsg for the next check.
log_test()
{
	local name="$1${2:+ ($2)}"

	case $RET in
	0)
		printf 'TEST: %-60s  [ OK ]\n' "$name"
		NUM_PASS=$((NUM_PASS + 1))
		;;
	"$ksft_skip")
		printf 'TEST: %-60s  [SKIP]\n' "$name"
		[[ -n $retmsg ]] && printf '\t%s\n' "$retmsg"
		NUM_SKIP=$((NUM_SKIP + 1))
		;;
	"$ksft_xfail")
		printf 'TEST: %-60s  [XFAIL]\n' "$name"
		[[ -n $retmsg ]] && printf '\t%s\n' "$retmsg"
		NUM_PASS=$((NUM_PASS + 1))
		;;
	*)
		printf 'TEST: %-60s  [FAIL]\n' "$name"
		[[ -n $retmsg ]] && printf '\t%s\n' "$retmsg"
		NUM_FAIL=$((NUM_FAIL + 1))
		EXIT_STATUS=$ksft_fail
		agent_logs_tail 30
		pause_on_fail
		;;
	esac
	RET=0
	retmsg=""
}

# log_test_rc RC EXPECTED NAME: for negative tests, pass when RC == EXPECTED.
log_test_rc()
{
	local rc=$1 expected=$2 name=$3

	RET=0
	retmsg=""
	if ((rc != expected)); then
		RET=1
		retmsg="exit status $rc, expected $expected"
	fi
	log_test "$name"
}

# log_test_skip NAME [REASON]
log_test_skip()
{
	RET=$ksft_skip
	retmsg=${2:-}
	log_test "$1"
}

# log_test_xfail NAME [REASON]: a known failure, counted as passed.
log_test_xfail()
{
	RET=$ksft_xfail
	retmsg=${2:-}
	log_test "$1"
}

# tests_run: run each function named in $TESTS (default $ALL_TESTS).
tests_run()
{
	local t

	for t in ${TESTS:-${ALL_TESTS:-}}; do
		RET=0
		retmsg=""
		if [[ $(type -t "$t") != function ]]; then
			RET=1
			retmsg="no test function '$t' in this script"
			log_test "$t"
			continue
		fi
		"$t"
	done
}

# tests_summary: print the counts tests/netns/run.sh parses; return 1 when
# anything failed, 4 when nothing passed (all skipped, or none ran), else 0.
tests_summary()
{
	echo "Tests passed: $NUM_PASS"
	echo "Tests failed: $NUM_FAIL"
	echo "Tests skipped: $NUM_SKIP"
	if ((NUM_FAIL > 0)); then
		return "$ksft_fail"
	elif ((NUM_PASS == 0)); then
		return "$ksft_skip"
	fi
	return "$ksft_pass"
}

# ---------------------------------------------------------------------------
# Cleanup: a defer stack, run in reverse, plus lib_cleanup for everything the
# registries below know about. Safe to call twice.

# defer CMD...: remember CMD (quoted as given) for defer_run.
defer()
{
	local q

	printf -v q '%q ' "$@"
	DEFER_STACK+=("$q")
}

# defer_run: run the deferred commands, last first, and forget them.
defer_run()
{
	local i

	for ((i = ${#DEFER_STACK[@]} - 1; i >= 0; i--)); do
		eval "${DEFER_STACK[i]}"
	done
	DEFER_STACK=()
}

lib_cleanup()
{
	defer_run
	agent_stop_all
	kill_all_spawned
	cleanup_all_ns
	sysctl_restore_all
	tmpdir_cleanup
}

# The default; scenarios with extra teardown redefine it and end with
# lib_cleanup.
cleanup()
{
	lib_cleanup
}

# ---------------------------------------------------------------------------
# Processes. Everything started in the background goes through spawn_bg so
# it is killed by its PID, never by name: other tests and other users of the
# machine run the same binaries.

# pid_alive PID: the process exists and is not a zombie.
pid_alive()
{
	local stat

	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} != Z ]]
}

# pid_starttime PID: field 22 of /proc/PID/stat, which tells a process from a
# later one that got the same PID.
pid_starttime()
{
	local stat
	local -a f

	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	read -ra f <<<"${stat##*) }"
	echo "${f[19]}"
}

# pid_stop PID [GRACE_MS]: SIGTERM, wait up to GRACE_MS (default 5000), then
# SIGKILL; reap it when it is our child. Returns 1 if SIGKILL was needed.
# Its stderr is closed: bash prints "line N: PID Killed ..." when it reaps a
# child killed by a signal, which here only repeats what the caller did.
# (A process that dies on its own still gets that line, wherever bash is.)
pid_stop()
{
	local pid=$1 grace=${2:-5000} rc=0

	kill -TERM "$pid" 2>/dev/null
	if ! busywait "$grace" _pid_gone "$pid"; then
		kill -KILL "$pid" 2>/dev/null
		busywait 2000 _pid_gone "$pid"
		rc=1
	fi
	wait "$pid" 2>/dev/null
	return "$rc"
} 2>/dev/null

_pid_gone()
{
	! pid_alive "$1"
}

# spawn_bg NAME CMD...: start CMD in the background and record its PID under
# NAME (also left in SPAWN_PID). Redirect the call to send CMD's output
# somewhere: spawn_bg srv ip netns exec "$h" nc -l 80 >"$T/srv.log" 2>&1
# Must not run in a subshell ($(...)), or the PID would be lost.
spawn_bg()
{
	local name=$1

	shift
	if [[ -n ${SPAWNED[$name]:-} ]]; then
		echo "spawn_bg: '$name' already running (pid ${SPAWNED[$name]})" >&2
		return 1
	fi
	"$@" &
	SPAWN_PID=$!
	SPAWNED[$name]=$SPAWN_PID
	if [[ -n ${OVNT_PID_REGISTRY:-} ]]; then
		echo "$SPAWN_PID $(pid_starttime "$SPAWN_PID") $name" >>"$OVNT_PID_REGISTRY"
	fi
	return 0
}

# spawn_pid NAME: print the PID of a spawned process.
spawn_pid()
{
	[[ -n ${SPAWNED[$1]:-} ]] && echo "${SPAWNED[$1]}"
}

# spawn_stop NAME [GRACE_MS]: stop one spawned process (see pid_stop).
spawn_stop()
{
	local name=$1 pid rc

	pid=${SPAWNED[$name]:-}
	[[ -n $pid ]] || return 0
	pid_stop "$pid" "${2:-5000}"
	rc=$?
	unset "SPAWNED[$name]"
	return "$rc"
}

# kill_all_spawned: stop every process spawn_bg started: SIGTERM to all at
# once, one shared grace period, then SIGKILL for the rest.
kill_all_spawned()
{
	local name pid

	((${#SPAWNED[@]} > 0)) || return 0
	for pid in "${SPAWNED[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for name in "${!SPAWNED[@]}"; do
		spawn_stop "$name" 3000
	done
	SPAWNED=()
}

# ---------------------------------------------------------------------------
# Namespaces.

# ns_create VAR HINT: create namespace ovnt-HINT-XXXXXX with lo up, store its
# name in VAR (array elements allowed: "HOST_NS[2]") and in NS_LIST.
ns_create()
{
	local var=$1 hint=${2//[^A-Za-z0-9_-]/_}
	local ns

	ns=$NS_PREFIX$hint-$(mktemp -u XXXXXX)
	if ! ip netns add "$ns"; then
		echo "failed to create netns $ns" >&2
		return "$ksft_skip"
	fi
	NS_LIST+=("$ns")
	if [[ -n ${OVNT_NS_REGISTRY:-} ]]; then
		echo "$ns" >>"$OVNT_NS_REGISTRY"
	fi
	ip -n "$ns" link set lo up || return 1
	printf -v "$var" '%s' "$ns"
}

# setup_ns VAR...: one namespace per variable name, the name as hint.
setup_ns()
{
	local var

	for var in "$@"; do
		ns_create "$var" "$var" || return
	done
}

_ns_absent()
{
	! ip netns list | grep -qxE "$1( \(id: [0-9]+\))?"
}

# cleanup_ns NS...: kill every process inside by PID (TERM, then KILL after
# 2 s), delete the namespace and wait until it is gone.
cleanup_ns()
{
	local ns pid ret=0 i
	local -a pids

	for ns in "$@"; do
		[[ -n $ns ]] || continue
		mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null)
		for pid in "${pids[@]}"; do
			kill -TERM "$pid" 2>/dev/null
		done
		for pid in "${pids[@]}"; do
			if ! busywait 2000 _pid_gone "$pid"; then
				kill -KILL "$pid" 2>/dev/null
				busywait 2000 _pid_gone "$pid"
			fi
			wait "$pid" 2>/dev/null
		done
		ip netns delete "$ns" &>/dev/null
		# resolv.conf the agent wrote for the namespace (ip netns exec reads it)
		rm -rf "/etc/netns/${ns:?}"
		if ! busywait "$BUSYWAIT_MS" _ns_absent "$ns"; then
			echo "cleanup_ns: namespace $ns is still there" >&2
			ret=1
		fi
		for i in "${!NS_LIST[@]}"; do
			[[ ${NS_LIST[i]} == "$ns" ]] && unset "NS_LIST[i]"
		done
	done
	NS_LIST=("${NS_LIST[@]}")
	return "$ret"
}

cleanup_all_ns()
{
	((${#NS_LIST[@]} > 0)) || return 0
	cleanup_ns "${NS_LIST[@]}"
}

# container_create VAR: a namespace standing for a container (lo up, nothing
# else); the agent or the test plugs it into a network.
container_create()
{
	ns_create "$1" "$1"
}

# container_destroy NS...: what container_create made (takes the names).
container_destroy()
{
	cleanup_ns "$@"
}

# ---------------------------------------------------------------------------
# Sysctls of the root namespace, restored by lib_cleanup. (A namespace's own
# sysctls need no restore: they go with it.)

# sysctl_set KEY VALUE: save the first value seen, then set.
sysctl_set()
{
	local key=$1 value=$2 old

	if [[ -z ${SYSCTL_SAVED[$key]+set} ]]; then
		old=$(sysctl -n "$key") || return 1
		SYSCTL_SAVED[$key]=$old
	fi
	sysctl -qw "$key=$value"
}

sysctl_restore_all()
{
	local key

	for key in "${!SYSCTL_SAVED[@]}"; do
		sysctl -qw "$key=${SYSCTL_SAVED[$key]}"
	done
	SYSCTL_SAVED=()
}

# neigh_thresholds_raise [THRESH3]: the neighbour table is one for all
# namespaces and gc_thresh3 defaults to 1024, so a mesh of 30+ hosts
# overflows it ("neighbor table overflow", ENOBUFS). Raise gc_thresh3 to
# THRESH3 (default 32768), gc_thresh2 to half, gc_thresh1 to an eighth, for
# IPv4 and IPv6; never lowers a value someone already raised.
neigh_thresholds_raise()
{
	local t3=${1:-32768} fam i cur
	local -a want=("$((t3 / 8))" "$((t3 / 2))" "$t3")

	for fam in ipv4 ipv6; do
		for i in 1 2 3; do
			cur=$(sysctl -n "net.$fam.neigh.default.gc_thresh$i") || return 1
			((cur >= want[i - 1])) && continue
			sysctl_set "net.$fam.neigh.default.gc_thresh$i" "${want[i - 1]}" || return 1
		done
	done
}

# ---------------------------------------------------------------------------
# Temp dir: $T, removed by lib_cleanup unless KEEP_TMP=yes.

tmpdir_setup()
{
	[[ -n $T ]] && return 0
	T=$(mktemp -d /tmp/ovnt.XXXXXX) || return 1
}

tmpdir_cleanup()
{
	[[ -n $T && -d $T ]] || return 0
	if [[ $KEEP_TMP == yes ]]; then
		echo "INFO: kept $T"
	else
		rm -rf "$T"
	fi
	T=""
}

# ---------------------------------------------------------------------------
# Underlay: N hosts on one L2 segment, like VMs on a switch.
#
#   h1 (HOST_NS[1])       h2 (HOST_NS[2])        hN (HOST_NS[N])
#   eth0 198.18.0.1/16    eth0 198.18.0.2/16     eth0 198.18.x.y/16
#     |                     |                      |
#   h1 ------------------ h2 ---- ul (UL_NS) ---- hN   veths in ul, mtu 1400
#                         br0 (bridge, no address)
#
# Host i gets 198.18.(i / 256).(i % 256); i = 1..65534. MTU is UNDERLAY_MTU
# (1400, the NIC MTU of this VM) so overlay MTU bugs show here as there.
# With 16 hosts or more the neighbour thresholds are raised (see above).

# underlay_ip I: the underlay address of host I.
underlay_ip()
{
	echo "198.18.$(($1 / 256)).$(($1 % 256))"
}

underlay_create()
{
	local n=$1 i batch=""

	if ((n < 1 || n > 65534)); then
		echo "underlay_create: bad host count '$n'" >&2
		return 1
	fi
	if ((n >= 16)); then
		neigh_thresholds_raise 32768 || return 1
	fi
	ns_create UL_NS ul || return 1
	ip -n "$UL_NS" link add br0 type bridge || return 1
	for ((i = 1; i <= n; i++)); do
		ns_create "HOST_NS[$i]" "h$i" || return 1
		HOST_IP[i]=$(underlay_ip "$i")
		batch+="link add h$i mtu $UNDERLAY_MTU type veth peer name eth0"
		batch+=" mtu $UNDERLAY_MTU netns ${HOST_NS[i]}"$'\n'
		batch+="link set h$i master br0 up"$'\n'
	done
	batch+="link set br0 up"$'\n'
	ip -n "$UL_NS" -batch - <<<"$batch" || return 1
	for ((i = 1; i <= n; i++)); do
		ip -n "${HOST_NS[i]}" -batch - <<-EOF || return 1
			addr add ${HOST_IP[i]}/16 dev eth0
			link set eth0 up
		EOF
	done
}

underlay_destroy()
{
	local i

	for i in "${!HOST_NS[@]}"; do
		cleanup_ns "${HOST_NS[i]}"
	done
	cleanup_ns "$UL_NS"
	HOST_NS=()
	HOST_IP=()
	UL_NS=""
}

# ---------------------------------------------------------------------------
# Agents. One ovnagent per host namespace, each with its own files under
# $T/NAME: agent.yaml, agent.log, run/ (run_dir, API socket), store/.

agent_dir()
{
	echo "$T/$1"
}

agent_sock()
{
	echo "$T/$1/run/ovn.sock"
}

# host_underlay_ip NS: the first 198.18/16 address in NS, if any.
host_underlay_ip()
{
	ip -n "$1" -4 -o addr show 2>/dev/null |
		awk '{ split($4, a, "/"); if (a[1] ~ /^198\.18\./) { print a[1]; exit } }'
}

# agent_config_write HOSTNS NAME [YAML_LINE...]: write $T/NAME/agent.yaml.
# Extra lines are appended as given; one that starts a top-level key
# ("store:") replaces the default block of that key instead of duplicating it.
agent_config_write()
{
	local ns=$1 name=$2 dir line adv key
	local -A over=()

	shift 2
	dir=$(agent_dir "$name")
	mkdir -p "$dir/run" "$dir/store" || return 1
	for line in "$@"; do
		[[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*): ]] && over[${BASH_REMATCH[1]}]=1
	done
	adv=$(host_underlay_ip "$ns")
	{
		for key in node advertise run_dir api store ipam log dns; do
			[[ -n ${over[$key]:-} ]] && continue
			case $key in
			node) echo "node: $name" ;;
			advertise) [[ -n $adv ]] && echo "advertise: $adv" ;;
			run_dir) echo "run_dir: $dir/run" ;;
			api) printf 'api:\n  socket: %s\n' "$(agent_sock "$name")" ;;
			store) printf 'store:\n  path: %s\n' "$dir/store" ;;
			ipam) printf 'ipam:\n  pool4: 198.19.0.0/16\n  pool6: fd00:198:19::/48\n' ;;
			log) printf 'log:\n  level: debug\n' ;;
			# Never the machine's real resolvers: an address on the test
			# underlay that nothing answers (scenarios testing DNS set their own).
			dns) printf 'dns:\n  upstreams: [ "198.18.255.254" ]\n' ;;
			esac
		done
		for line in "$@"; do
			echo "$line"
		done
	} >"$dir/agent.yaml"
}

# _agent_wait_ready NAME PID TIMEOUT_MS: poll `ovnctl status` until it
# answers (0), the agent dies (2: no point waiting out the deadline) or the
# deadline passes (1).
_agent_wait_ready()
{
	local name=$1 pid=$2 timeout_ms=$3 start

	start=${EPOCHREALTIME//[.,]/}
	while :; do
		ovnctl_on "$name" status &>/dev/null && return 0
		pid_alive "$pid" || return 2
		((((${EPOCHREALTIME//[.,]/} - start) / 1000) >= timeout_ms)) && return 1
		sleep 0.02
	done
}

# agent_start HOSTNS NAME [YAML_LINE...]: write the config, start ovnagent in
# HOSTNS (stdout and stderr appended to $T/NAME/agent.log), wait up to 5 s for
# `ovnctl status` to answer. Starting NAME again after agent_stop/agent_kill
# reuses its store, which is how restart tests are written.
agent_start()
{
	local ns=$1 name=$2 dir pid

	shift 2
	require_ovn_bin
	tmpdir_setup || return 1
	agent_config_write "$ns" "$name" "$@" || return 1
	dir=$(agent_dir "$name")
	spawn_bg "agent:$name" ip netns exec "$ns" \
		"$OVN_BIN/ovnagent" --config "$dir/agent.yaml" >>"$dir/agent.log" 2>&1 ||
		return 1
	pid=$SPAWN_PID
	AGENT_NS[$name]=$ns
	if ! _agent_wait_ready "$name" "$pid" 5000; then
		if pid_alive "$pid"; then
			echo "agent_start: $name: no answer to status within 5 s" >&2
		else
			wait "$pid"
			echo "agent_start: $name: ovnagent exited with status $?" >&2
			unset "SPAWNED[agent:$name]"
		fi
		agent_log "$name" | tail -n 30 | sed 's/^/    /' >&2
		return 1
	fi
}

# agent_stop NAME: SIGTERM, wait up to 10 s; 1 if it had to be killed.
agent_stop()
{
	spawn_stop "agent:$1" 10000
}

# agent_kill NAME: SIGKILL, no chance to clean up (crash tests).
agent_kill()
{
	local pid

	pid=$(spawn_pid "agent:$1") || return 0
	kill -KILL "$pid" 2>/dev/null
	busywait 2000 _pid_gone "$pid"
	wait "$pid" 2>/dev/null
	unset "SPAWNED[agent:$1]"
	return 0
} 2>/dev/null

agent_stop_all()
{
	local name

	for name in "${!AGENT_NS[@]}"; do
		agent_stop "$name"
	done
	AGENT_NS=()
}

# agent_pid NAME: the PID of a running agent.
agent_pid()
{
	spawn_pid "agent:$1"
}

# ovnctl_on NAME ARGS...: ovnctl against that agent's socket. The socket is a
# file, so ovnctl runs in the root namespace.
ovnctl_on()
{
	local name=$1

	shift
	"$OVN_BIN/ovnctl" --socket "$(agent_sock "$name")" "$@"
}

agent_log()
{
	local log

	log=$(agent_dir "$1")/agent.log
	[[ -n $T && -f $log ]] && cat "$log"
}

# agent_logs_tail N: the last N lines of every agent log (after a failure).
agent_logs_tail()
{
	local n=$1 log

	[[ -n $T && -d $T ]] || return 0
	for log in "$T"/*/agent.log; do
		[[ -f $log ]] || continue
		echo "    --- last $n lines of $log ---"
		tail -n "$n" "$log" | sed 's/^/    | /'
	done
}

# leak_check NS: print the ovn links (vx-, br-, ve-) left in NS, read over
# netlink (sysfs shows the wrong namespace under nsenter); 1 if any.
leak_check()
{
	local links

	links=$(ip -n "$1" -o link show |
		awk -F': ' '{ sub(/@.*/, "", $2); if ($2 ~ /^(vx|br|ve)-/) print $2 }')
	[[ -z $links ]] && return 0
	echo "$links"
	return 1
}
