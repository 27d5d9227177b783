#!/usr/bin/env bash
# The agent's lockdown and its sockets' gatekeeping (docs/security.md):
# capabilities and seccomp after start-up, the API socket's mode, group,
# peer credentials in the log and the per-user rate limit, and files with
# loose permissions refused.
#
#   H (ovnagent "s1", api.group nogroup, api.rate 2/s burst 3)
#   +-- br-<vni> 198.19.9.1/24 -- ve-... <-> C1:eth0
#
# ovnctl and curl run in the root namespace against the agent's socket
# file; "nobody" (uid 65534, group nogroup) is the unprivileged peer, made
# with setpriv. The test's temporary directory is opened for traversal
# (o+x) so that nobody can reach the socket at all.

# shellcheck disable=SC2034
ALL_TESTS="test_lockdown test_socket_peers test_rate_limit test_loose_files test_unit_caps"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

A=s1
# Bits of CAP_NET_BIND_SERVICE (10), CAP_NET_ADMIN (12), CAP_SYS_PTRACE (19)
# and CAP_SYS_ADMIN (21): what security.c keeps.
CAPS_KEPT=0000000000281400

ctl() { ovnctl_on "$A" "$@"; }
# as_nobody CMD...: CMD as uid/gid 65534 with no other groups.
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
# ncurl ARGS...: curl on the API socket as nobody.
ncurl() { as_nobody curl -sS -m 3 --unix-socket "$(agent_sock "$A")" "$@"; }
status_of() { grep -E "^$1:" "/proc/$(agent_pid "$A")/status" | awk '{print $2}'; }

start_agent()
{
	agent_start "$H" "$A" "api:" "  socket: $(agent_sock "$A")" "  group: nogroup" \
		"  rate: 2" "  burst: 3"
}

test_lockdown()
{
	local out
	RET=0
	start_agent
	check_err $? "agent did not start"
	[[ $(status_of Seccomp) == 2 && $(status_of NoNewPrivs) == 1 ]]
	check_err $? "no seccomp filter or no_new_privs: $(grep -E 'Seccomp|NoNewPrivs' \
		"/proc/$(agent_pid "$A")/status")"
	[[ $(status_of CapEff) == "$CAPS_KEPT" && $(status_of CapPrm) == "$CAPS_KEPT" &&
		$(status_of CapBnd) == "$CAPS_KEPT" && $(status_of CapInh) == 0000000000000000 ]]
	check_err $? "capabilities: $(grep Cap "/proc/$(agent_pid "$A")/status" | tr '\n' ' ')"
	grep -q 'msg="lockdown: capabilities=net_admin,sys_admin,net_bind_service,sys_ptrace seccomp=kill process"' \
		"$(agent_dir "$A")/agent.log"
	check_err $? "no lockdown line in the log"
	# What the filter allows, as printed: setns yes, exec and mount never.
	out=$("$OVN_BIN/ovnagent" --print-seccomp)
	grep -qx setns <<<"$out" && ! grep -qxE 'execve|mount|ptrace|bpf|kexec_load' <<<"$out"
	check_err $? "--print-seccomp: $(tr '\n' ' ' <<<"$out" | head -c 300)"
	# The steady state works under the filter: netlink, setns into C1,
	# the DNS server's port 53 there, the store; and SIGHUP re-reads.
	ctl network create sec --subnet 198.19.9.0/24 >/dev/null &&
		ctl network attach sec --netns "$C1" --name c1 >/dev/null
	check_err $? "create/attach under the filter failed"
	ip netns exec "$C1" ping -c1 -W2 198.19.9.1 >/dev/null
	check_err $? "C1 cannot reach its gateway"
	kill -HUP "$(agent_pid "$A")"
	busywait 3000 grep -q "SIGHUP: log level" "$(agent_dir "$A")/agent.log"
	check_err $? "no SIGHUP answer"
	ctl network detach sec --netns "$C1" >/dev/null && ctl network rm sec >/dev/null
	check_err $? "detach/rm under the filter failed"
	pid_alive "$(agent_pid "$A")"
	check_err $? "the agent died under its filter"
	log_test "lockdown: 4 capabilities, seccomp filter, the agent still works"
}

test_socket_peers()
{
	local sock out
	RET=0
	sock=$(agent_sock "$A")
	[[ $(stat -c '%a %U %G' "$sock") == "660 root nogroup" ]]
	check_err $? "socket is $(stat -c '%a %U %G' "$sock"), not 660 root nogroup"
	# A member of the group may talk to the agent, and its changing calls
	# are logged with its credentials.
	out=$(ncurl -X POST -H 'Content-Type: application/json' \
		-d '{"name":"bynobody","subnets":[{"subnet":"198.19.10.0/24"}]}' \
		-w ' %{http_code}' http://ovn/v1/networks)
	[[ $out == *" 201" ]]
	check_err $? "nobody (group member) could not create a network: $out"
	grep -qE 'msg="api: POST /v1/networks" uid=65534 gid=65534 pid=[0-9]+' \
		"$(agent_dir "$A")/agent.log"
	check_err $? "the POST was not logged with the peer's uid, gid and pid"
	grep -q 'msg="api: GET ' "$(agent_dir "$A")/agent.log"
	check_fail $? "a GET was logged as a changing call"
	# Outside the group the kernel refuses the connection (mode 0660).
	out=$(setpriv --reuid=65534 --regid=65533 --clear-groups \
		curl -sS -m 3 --unix-socket "$sock" http://ovn/v1/status 2>&1)
	check_fail $? "a non-member reached the API: $out"
	ctl network rm bynobody >/dev/null
	check_err $? "rm bynobody"
	log_test "socket 0660 root:nogroup; member served and logged, others refused"
}

test_rate_limit()
{
	local out codes _
	RET=0
	sleep 2	# a full bucket for nobody again
	# Six requests back to back on one connection: three (the burst) pass.
	local -a six=()
	for _ in 1 2 3 4 5 6; do six+=(-o /dev/null http://ovn/v1/status); done
	out=$(ncurl -w '%{http_code}\n' "${six[@]}")
	codes=$(tr '\n' ' ' <<<"$out")
	[[ $(grep -c '^200$' <<<"$out") -ge 3 && $(grep -c '^429$' <<<"$out") -ge 2 ]]
	check_err $? "nobody's 6 quick requests gave: $codes"
	out=$(ncurl http://ovn/v1/status)
	[[ $out == *"rate limit: uid 65534 sent more than 2 requests/s (burst 3); retry later"* ]]
	check_err $? "429 body: $out"
	busywait 3000 bash -c "$(declare -f as_nobody); as_nobody curl -sf -m 3 \
		--unix-socket $(agent_sock "$A") http://ovn/v1/status" >/dev/null
	check_err $? "nobody was not served again after a pause"
	# root is not limited
	out=$(for _ in 1 2 3 4 5 6 7 8; do
		curl -s -o /dev/null -w '%{http_code}\n' --unix-socket "$(agent_sock "$A")" \
			http://ovn/v1/status; done | sort -u | tr '\n' ' ')
	[[ $out == "200 " ]]
	check_err $? "root's requests gave: $out"
	log_test "rate limit per uid: burst then 429 with the reason; root exempt"
}

test_loose_files()
{
	local dir out
	RET=0
	dir=$(agent_dir "$A")
	chmod 664 "$dir/agent.yaml"
	out=$("$OVN_BIN/ovnagent" --config "$dir/agent.yaml" --check-config 2>&1)
	check_fail $? "a group-writable config was accepted"
	[[ $out == *"config: $dir/agent.yaml has mode 0664: group or others may write it; fix: chmod 600 $dir/agent.yaml"* ]]
	check_err $? "message: $out"
	chmod 644 "$dir/agent.yaml"
	# A store password file others may read stops the start, naming it.
	echo s3cret >"$dir/pw" && chmod 644 "$dir/pw"
	printf 'store:\n  backend: redis\n  endpoints: [ "redis://198.18.255.253:6379" ]\n  password_file: %s\n' \
		"$dir/pw" >"$dir/redis.yaml"
	out=$(ip netns exec "$H" timeout 10 "$OVN_BIN/ovnagent" --config "$dir/redis.yaml" 2>&1)
	check_fail $? "the agent started with a readable password file"
	[[ $out == *"store.password_file: $dir/pw has mode 0644"*"fix: chmod 600 $dir/pw"* ]]
	check_err $? "message: $(tail -n 2 <<<"$out")"
	rm -f "$dir/pw" "$dir/redis.yaml"
	log_test "loose config and password file refused, naming file and fix"
}

# The shipped systemd unit starts the agent with a narrowed bounding set and
# without CAP_SETPCAP: the lockdown must still work (the bounding set then
# stays as given). setpriv does what the unit's CapabilityBoundingSet= and
# NoNewPrivileges= do; a wrapper in OVN_BIN keeps the agent's PID.
test_unit_caps()
{
	local bin=$T/unitbin pid
	RET=0
	agent_stop "$A"
	mkdir -p "$bin" && ln -sf "$OVN_BIN/ovnctl" "$bin/ovnctl" &&
		printf '#!/bin/sh\nexec setpriv --no-new-privs --bounding-set=-all,+net_admin,+sys_admin,+sys_ptrace,+net_bind_service,+chown %s/ovnagent "$@"\n' \
			"$OVN_BIN" >"$bin/ovnagent" && chmod +x "$bin/ovnagent"
	OVN_BIN=$bin start_agent
	check_err $? "agent did not start under the unit's capabilities"
	pid=$(agent_pid "$A")
	[[ $(status_of CapEff) == "$CAPS_KEPT" && $(status_of CapBnd) == 0000000000281401 &&
		$(status_of Seccomp) == 2 ]]
	check_err $? "$(grep -E 'Cap|Seccomp:' "/proc/$pid/status" | tr '\n' ' ')"
	grep -q 'no CAP_SETPCAP, the bounding set stays as given' "$(agent_dir "$A")/agent.log"
	check_err $? "no log line about the bounding set"
	ctl network create unit --subnet 198.19.11.0/24 >/dev/null &&
		ctl network attach unit --netns "$C1" >/dev/null &&
		ctl network rm unit --force >/dev/null
	check_err $? "create/attach/rm under the unit's capabilities failed"
	log_test "under systemd's narrowed bounding set: same 4 capabilities, filter on"
}

trap cleanup EXIT
require_root
require_ovn_bin
require_command curl
require_command setpriv
getent group nogroup >/dev/null || { echo "SKIP: no group nogroup"; exit "$ksft_skip"; }
setup_ns H C1 || exit 1
tmpdir_setup || exit 1
chmod o+x "$T"
mkdir -p "$(agent_dir "$A")/run" && chmod o+x "$(agent_dir "$A")" "$(agent_dir "$A")/run"
tests_run
RET=0
agent_stop "$A"
check_err $? "agent did not stop on SIGTERM within 10 s"
grep -E "Sanitizer|runtime error:" "$(agent_dir "$A")/agent.log"
check_fail $? "sanitizer reports in the agent log (ASan/UBSan build)"
log_test "agent stops cleanly, no sanitizer reports"
tests_summary
