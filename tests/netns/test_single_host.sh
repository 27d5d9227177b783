#!/usr/bin/env bash
# Single host: one agent, networks, containers, crash and churn.
#
#   H (host namespace; ovnagent "a1" runs here, all ovn devices live here)
#   +-- ul0 (veth to ul1) 198.18.0.1/24 mtu 1400: the underlay; overlay MTU 1350
#   +-- br-<vni red> 198.19.1.1/24 fd00:1::1/64
#   |     +-- ve-... <-> C1:eth0 198.19.1.x fd00:1::x   (name api, alias a1)
#   |     +-- ve-... <-> C2:eth0 198.19.1.y fd00:1::y   (name db)
#   +-- br-<vni blue> 198.19.0.1/24  (subnet from the default pool)
#         +-- ve-... <-> C3:eth0 198.19.0.x
#   C4..C23: scratch containers for crash and churn tests
#
# ovnctl runs in the root namespace against the agent's socket file.

ALL_TESTS="test_create test_attach test_ping test_isolation test_bad_cli test_bad_api
	test_detach test_restart test_container_gone test_crash_mid_attach test_crash_points
	test_operability test_cycles
	test_rm"
source "$(dirname "$(readlink -f "$0")")/lib.sh"

A=a1

ctl() { ovnctl_on "$A" "$@"; }
jqr() { jq -r "$@"; }

# Every ve- link in H belongs to a stored endpoint and vice versa; every
# endpoint's container has its address; no address is given twice.
converged()
{
	local eps links want
	eps=$(ctl endpoint ls --json) || return 1
	want=$(jqr '.[].host_ifname' <<<"$eps" | sort)
	links=$(ip -n "$H" -o link show | awk -F': ' '{sub(/@.*/,"",$2); if ($2 ~ /^ve-/) print $2}' | sort)
	[[ "$want" == "$links" ]] || return 1
	[[ -z $(jqr '.[].ipv4 // empty' <<<"$eps" | sort | uniq -d) ]] || return 1
	while read -r ns ip; do
		ip -n "${ns##*/}" -o addr show | grep -qF " ${ip} " || return 1
	done < <(jqr '.[] | select(.ipv4) | "\(.netns) \(.ipv4)"' <<<"$eps")
}

snapshot()
{
	ctl network ls --json | jq -S .
	ctl endpoint ls --json | jq -S 'sort_by(.id)'
	ip -n "$H" -o link show | awk -F': ' '{sub(/@.*/,"",$2); print $2}' | sort
}

ip4_of() { ctl endpoint ls --json | jqr ".[] | select(.netns | endswith(\"/$1\")) | select(.network == \"$2\") | .ipv4 | split(\"/\")[0]"; }
ip6_of() { ctl endpoint ls --json | jqr ".[] | select(.netns | endswith(\"/$1\")) | select(.network == \"$2\") | .ipv6 | split(\"/\")[0]"; }

test_create()
{
	RET=0
	run_cmd ctl network create red --subnet 198.19.1.0/24 --subnet fd00:1::/64 --label tier=web
	check_err $? "create red: $RUN_CMD_OUT"
	run_cmd ctl network create blue
	check_err $? "create blue: $RUN_CMD_OUT"
	[[ $(ctl network inspect blue | jqr '.subnets[0].subnet') == 198.19.0.0/24 ]]
	check_err $? "blue did not get 198.19.0.0/24 from the pool"
	[[ $(ctl network inspect red | jqr '.mtu') == 1350 ]]
	check_err $? "red's MTU is not underlay 1400 - 50"
	[[ $(ctl network inspect red | jqr '.labels.tier') == web ]]
	check_err $? "label not kept"
	run_cmd ctl network ls
	grep -q '^red ' <<<"$RUN_CMD_OUT" && grep -q '^blue ' <<<"$RUN_CMD_OUT"
	check_err $? "network ls: $RUN_CMD_OUT"
	[[ $(ctl network inspect red | jqr '.vni') != $(ctl network inspect blue | jqr '.vni') ]]
	check_err $? "VNIs are not unique"
	log_test "create dual-stack and default-pool networks"
}

test_attach()
{
	local vni mac
	RET=0
	run_cmd ctl network attach red --netns "$C1" --name api --alias a1
	check_err $? "attach C1: $RUN_CMD_OUT"
	run_cmd ctl network attach red --netns "$C2" --name db
	check_err $? "attach C2: $RUN_CMD_OUT"
	run_cmd ctl network attach blue --netns "$C3" --name other
	check_err $? "attach C3: $RUN_CMD_OUT"
	ip -n "$C1" -o link show eth0 | grep -q 'mtu 1350'
	check_err $? "C1 eth0 missing or wrong MTU"
	mac=$(ip -n "$C1" -o link show eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
	[[ $mac == 02:42:c6:13:01:* ]]
	check_err $? "C1 MAC $mac is not 02:42 + its IPv4"
	ip -n "$C1" -o addr show eth0 | grep -q 'inet 198.19.1'
	check_err $? "C1 has no IPv4"
	ip -n "$C1" -o addr show eth0 | grep -q 'inet6 fd00:1::'
	check_err $? "C1 has no IPv6"
	ip -n "$C1" route show default | grep -q 'via 198.19.1.1'
	check_err $? "C1 has no IPv4 default route"
	ip -n "$C1" -6 route show default | grep -q 'via fd00:1::1'
	check_err $? "C1 has no IPv6 default route"
	vni=$(ctl network inspect red | jqr .vni)
	ip -n "$H" -d link show "vx-$vni" | grep -q 'nolearning' &&
		ip -n "$H" -d link show "vx-$vni" | grep -q 'proxy'
	check_err $? "vx-$vni missing or not nolearning+proxy"
	ip -n "$H" -d link show "vx-$vni" | grep -q "master br-$vni"
	check_err $? "vx-$vni not enslaved to br-$vni"
	bridge -n "$H" -d link show dev "vx-$vni" | grep -q "learning off"
	check_err $? "the bridge learns on vx-$vni"
	run_cmd ctl network attach red --netns "$C3" --ifname eth5
	check_err $? "second network on C3 with --ifname: $RUN_CMD_OUT"
	ip -n "$C3" link show eth5 >/dev/null 2>&1
	check_err $? "C3 eth5 missing"
	run_cmd ctl network detach red --netns "$C3"
	check_err $? "detach C3 from red: $RUN_CMD_OUT"
	converged
	check_err $? "kernel and store disagree"
	log_test "attach: veth, MAC, MTU, addresses, routes, vxlan flags"
}

test_ping()
{
	local ip4 ip6
	RET=0
	ip4=$(ip4_of "$C2" red); ip6=$(ip6_of "$C2" red)
	run_cmd ip netns exec "$C1" ping -c 2 -i 0.2 -W 2 "$ip4"
	check_err $? "C1 -> C2 $ip4 IPv4: $RUN_CMD_OUT"
	run_cmd ip netns exec "$C1" ping -6 -c 2 -i 0.2 -W 2 "$ip6"
	check_err $? "C1 -> C2 $ip6 IPv6: $RUN_CMD_OUT"
	run_cmd ip netns exec "$C1" ping -c 1 -W 2 198.19.1.1
	check_err $? "C1 -> gateway: $RUN_CMD_OUT"
	run_cmd ip netns exec "$C1" ping -c 1 -s 1322 -M do -W 2 "$ip4"
	check_err $? "C1 -> C2 full-MTU packet (1350) did not pass: $RUN_CMD_OUT"
	log_test "containers on one network ping over IPv4 and IPv6"
}

test_isolation()
{
	local ip4 ip6
	RET=0
	ip4=$(ip4_of "$C1" red); ip6=$(ip6_of "$C1" red)
	run_cmd ip netns exec "$C3" ping -c 1 -W 1 "$ip4"
	check_fail $? "C3 (blue) reached C1 (red) $ip4"
	run_cmd ip netns exec "$C3" ping -6 -c 1 -W 1 "$ip6"
	check_fail $? "C3 (blue) reached C1 (red) $ip6"
	log_test "a container on another network cannot reach them"
}

# expect_rc RC SUBSTRING ARGS...: ovnctl ARGS exits RC, says SUBSTRING, and
# changes nothing.
expect_rc()
{
	local want=$1 msg=$2 before after rc
	shift 2
	before=$(snapshot)
	run_cmd ctl "$@"
	rc=$?
	after=$(snapshot)
	local bad=""
	if ((rc != want)); then
		bad="exit $rc, expected $want"
	elif ! grep -qiF -- "$msg" <<<"$RUN_CMD_OUT"; then
		bad="message lacks '$msg'"
	elif [[ $before != "$after" ]]; then
		bad="changed state"
	elif [[ $(grep -c . <<<"$RUN_CMD_OUT") -gt $((want == 2 ? 2 : 1)) ]]; then
		bad="error is not one line"
	fi
	if [[ -n $bad ]]; then
		BAD_CLI+=$'\n\t'"ovnctl $*: $bad: ${RUN_CMD_OUT//$'\n'/ | }"
		check_err 1 "bad input checks failed:"
	fi
}

test_bad_cli()
{
	local c1ip
	RET=0
	BAD_CLI=""
	c1ip=$(ip4_of "$C1" red)
	expect_rc 2 "NAME" network create
	expect_rc 2 "subnet" network create x --subnet 198.19.9.0
	expect_rc 2 "vni" network create x --vni abc
	expect_rc 2 "vni" network create x --vni 16777216
	expect_rc 2 "mtu" network create x --mtu 12
	expect_rc 1 "already exists" network create red
	expect_rc 1 "overlaps" network create x --subnet 198.19.1.128/25
	expect_rc 1 "overlaps" network create x --subnet fd00:1::/48
	expect_rc 2 "host bits" network create x --subnet 198.19.9.1/24
	expect_rc 1 "not a host address" network create x --subnet 198.19.9.0/24 --gateway 198.19.9.255
	expect_rc 1 "vni" network create x --vni "$(ctl network inspect red | jqr .vni)"
	expect_rc 1 "no such network" network attach nosuch --netns "$C4"
	expect_rc 1 "nosuchns" network attach red --netns nosuchns
	expect_rc 1 "999999" network attach red --pid 999999
	expect_rc 1 "outside" network attach red --netns "$C4" --ip 198.19.2.5
	expect_rc 1 "in use" network attach red --netns "$C4" --ip "$c1ip"
	expect_rc 1 "reserved" network attach red --netns "$C4" --ip 198.19.1.1
	expect_rc 1 "already used" network attach red --netns "$C4" --name api
	expect_rc 1 "already used" network attach red --netns "$C4" --name a1
	expect_rc 1 "name of another endpoint" network attach red --netns "$C4" --alias api
	expect_rc 1 "already attached" network attach red --netns "$C1"
	expect_rc 2 "mac" network attach red --netns "$C4" --mac zz:zz
	expect_rc 2 "mac" network attach red --netns "$C4" --mac 01:00:5e:00:00:01
	expect_rc 2 "" network attach red
	expect_rc 2 "" network attach red --netns "$C4" --pid 1
	expect_rc 1 "no such network" network rm nosuch
	expect_rc 1 "endpoint" network detach red --endpoint 0000000000000000
	expect_rc 1 "not attached" network detach red --netns "$C4"
	expect_rc 1 "no such network" endpoint ls --network nosuch
	expect_rc 2 "" network frobnicate
	run_cmd "$OVN_BIN/ovnctl" --socket /nonexistent/ovn.sock network ls
	(($? == 1)) && grep -q "is ovnagent running" <<<"$RUN_CMD_OUT" ||
		check_err 1 "unreachable agent: $RUN_CMD_OUT"
	retmsg+=$BAD_CLI
	log_test "bad CLI input: clear one-line error, right exit code, no change"
}

# raw HTTP on the socket: STATUS for the body given
api_status()
{
	local method=$1 path=$2 body=$3
	printf '%s' "$body" >"$T/body"
	curl -s -o /dev/null -w '%{http_code}' --unix-socket "$(agent_sock "$A")" \
		-X "$method" -H 'Content-Type: application/json' --data-binary "@$T/body" \
		"http://ovn$path"
}

test_bad_api()
{
	local before after big
	RET=0
	before=$(snapshot)
	[[ $(api_status POST /v1/networks '{"name":') == 400 ]]
	check_err $? "truncated JSON not 400"
	[[ $(api_status POST /v1/networks '[1,2]') == 400 ]]
	check_err $? "JSON array body not 400"
	[[ $(api_status POST /v1/networks '{"name":["x"]}') == 400 ]]
	check_err $? "wrong type not 400"
	[[ $(api_status POST /v1/networks '{"name":"x","subnets":[{"subnet":"198.19.9.0/24","gateway":1}]}') == 400 ]]
	check_err $? "wrong nested type not 400"
	[[ $(api_status POST /v1/networks '{"name":"x","name":"y"}') == 400 ]]
	check_err $? "duplicate key not 400"
	[[ $(api_status POST /v1/networks '{"name":"x","vni":1.5}') == 400 ]]
	check_err $? "float VNI not 400"
	[[ $(api_status POST /v1/networks/red/endpoints '{"netns":"x","pid":1}') == 400 ]]
	check_err $? "netns+pid not 400"
	{ printf '{"name":"'; head -c 2000000 /dev/zero | tr '\0' 'a'; printf '"}'; } >"$T/big"
	[[ $(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$(agent_sock "$A")" \
		-X POST --data-binary "@$T/big" http://ovn/v1/networks) == 413 ]]
	check_err $? "2 MB body not 413"
	[[ $(api_status GET /v1/nothing '') == 404 ]]
	check_err $? "unknown path not 404"
	[[ $(api_status PUT /v1/networks '{}') == 405 ]]
	check_err $? "wrong method not 405"
	printf 'GARBAGE\r\n\r\n' | timeout 5 socat - UNIX-CONNECT:"$(agent_sock "$A")" 2>/dev/null | head -1 | grep -q ' 400 '
	check_err $? "garbage request line not answered 400"
	after=$(snapshot)
	[[ $before == "$after" ]]
	check_err $? "bad API bodies changed state"
	ctl status >/dev/null
	check_err $? "agent not answering after bad input"
	log_test "bad API bodies: 400/404/405/413, no change, agent alive"
}

test_detach()
{
	local vni
	RET=0
	run_cmd ctl network detach red --netns "$C2"
	check_err $? "detach C2: $RUN_CMD_OUT"
	ip -n "$C2" link show eth0 >/dev/null 2>&1
	check_fail $? "C2 still has eth0"
	[[ $(ctl endpoint ls --network red --json | jq length) == 1 ]]
	check_err $? "red should have 1 endpoint left"
	converged
	check_err $? "kernel and store disagree after detach"
	# the last endpoint of blue takes blue's devices with it
	vni=$(ctl network inspect blue | jqr .vni)
	run_cmd ctl network detach blue --netns "$C3"
	check_err $? "detach C3: $RUN_CMD_OUT"
	ip -n "$H" link show "vx-$vni" >/dev/null 2>&1 || ip -n "$H" link show "br-$vni" >/dev/null 2>&1
	check_fail $? "blue's vx-/br- left after its last detach"
	run_cmd ctl network attach red --netns "$C2" --name db
	check_err $? "re-attach C2: $RUN_CMD_OUT"
	run_cmd ctl network attach blue --netns "$C3" --name other
	check_err $? "re-attach C3: $RUN_CMD_OUT"
	log_test "detach removes every kernel object and frees addresses"
}

test_restart()
{
	local before after c2ip
	RET=0
	before=$(snapshot)
	c2ip=$(ip4_of "$C2" red)
	agent_stop "$A"
	check_err $? "agent did not stop on SIGTERM"
	run_cmd ip netns exec "$C1" ping -c 1 -W 2 "$c2ip"
	check_err $? "forwarding stopped while the agent was down: $RUN_CMD_OUT"
	agent_start "$H" "$A"
	check_err $? "agent did not start again"
	after=$(snapshot)
	[[ $before == "$after" ]]
	check_err $? "state differs after restart"
	log_test "SIGTERM and restart: state kept, traffic never stopped"
}

test_container_gone()
{
	local id
	RET=0
	run_cmd ctl network attach red --netns "$C4" --name gone
	check_err $? "attach C4: $RUN_CMD_OUT"
	id=$(jqr '.[] | select(.name=="gone") | .id' < <(ctl endpoint ls --json))
	container_destroy "$C4"
	kill -HUP "$(agent_pid "$A")"
	busywait 5000 bash -c "! $OVN_BIN/ovnctl --socket $(agent_sock "$A") endpoint ls --json | grep -q $id"
	check_err $? "endpoint of a deleted namespace not forgotten after SIGHUP reconcile"
	converged
	check_err $? "kernel and store disagree"
	container_create C4
	log_test "a container's namespace deleted: endpoint and addresses released"
}

test_crash_mid_attach()
{
	local round i loop_pid ok=0
	RET=0
	for round in 1 2 3 4 5; do
		(
			for ((i = 5; i <= 23; i++)); do
				ctl network attach red --netns "${CS[i]}" >/dev/null 2>&1
			done
		) &
		loop_pid=$!
		sleep "0.0$((RANDOM % 9 + 1))"
		agent_kill "$A"
		wait "$loop_pid"
		agent_start "$H" "$A"
		check_err $? "restart after kill -9 (round $round)"
		busywait 5000 converged
		check_err $? "round $round: not converged after kill -9 and restart"
		((RET == 0)) && ok=$((ok + 1))
		for ((i = 5; i <= 23; i++)); do
			ctl network detach red --netns "${CS[i]}" >/dev/null 2>&1
		done
		converged
		check_err $? "round $round: detach left something"
	done
	log_test "kill -9 during attaches, restart converges" "$ok/5 rounds"
}

# crash_at POINT CMD...: run the agent with OVN_CRASH_AT=POINT, run CMD (the
# agent kills itself inside it), restart normally, wait for convergence.
crash_at()
{
	local point=$1
	shift
	agent_stop "$A"
	OVN_CRASH_AT=$point agent_start "$H" "$A" || return 1
	run_cmd ctl "$@"
	busywait 3000 bash -c "! kill -0 $(agent_pid "$A") 2>/dev/null" || return 1
	agent_kill "$A"		# reap it
	agent_start "$H" "$A" || return 1
	busywait 5000 converged
}

test_crash_points()
{
	RET=0
	crash_at attach-kernel network attach red --netns "$C4" --name crash1
	check_err $? "attach-kernel: not converged"
	ctl endpoint ls --json | grep -q crash1
	check_fail $? "attach-kernel: endpoint exists though the store was never written"
	grep -q "deleted orphan link" "$(agent_dir "$A")/agent.log"
	check_err $? "attach-kernel: restart did not delete the orphan veth"
	crash_at attach-store network attach red --netns "$C4" --name crash2
	check_err $? "attach-store: not converged"
	ctl endpoint ls --json | grep -q crash2
	check_err $? "attach-store: the stored endpoint was lost"
	ip -n "$C4" -o addr show | grep -q 'inet 198.19.1'
	check_err $? "attach-store: container has no address after restart"
	crash_at detach-store network detach red --netns "$C4"
	check_err $? "detach-store: not converged"
	ctl endpoint ls --json | grep -q crash2
	check_fail $? "detach-store: endpoint came back"
	ip -n "$C4" -o link show | grep -qv ': lo:'
	check_fail $? "detach-store: container kept its interface"
	log_test "kill -9 exactly between kernel and store steps converges"
}

test_operability()
{
	local cfg bad mode before
	RET=0
	mode=$(stat -c %a "$(agent_sock "$A")")
	[[ $mode == 660 ]]
	check_err $? "API socket mode is $mode, not 660"
	# SIGHUP re-reads log.level: at warn, an attach logs nothing at info
	cfg=$(agent_dir "$A")/agent.yaml
	sed -i 's/level: debug/level: warn/' "$cfg"
	kill -HUP "$(agent_pid "$A")"
	busywait 3000 grep -q "SIGHUP: log level" "$(agent_dir "$A")/agent.log"
	check_err $? "SIGHUP not acknowledged in the log"
	before=$(grep -c "attached to" "$(agent_dir "$A")/agent.log")
	ctl network attach red --netns "$C4" >/dev/null && ctl network detach red --netns "$C4" >/dev/null
	[[ $(grep -c "attached to" "$(agent_dir "$A")/agent.log") == "$before" ]]
	check_err $? "info lines still logged after SIGHUP to level warn"
	sed -i 's/level: warn/level: debug/' "$cfg"
	kill -HUP "$(agent_pid "$A")"
	# a bad config stops start-up with FILE:LINE: key: reason, exit 1
	bad=$T/bad.yaml
	printf 'node: x\nstore:\n  bakend: redis\n' >"$bad"
	run_cmd "$OVN_BIN/ovnagent" --config "$bad"
	(($? == 1)) && grep -q "^ovnagent: $bad:3: store.bakend: unknown key, did you mean 'backend'?" <<<"$RUN_CMD_OUT"
	check_err $? "bad config: $RUN_CMD_OUT"
	printf 'mtu: 100\n' >"$bad"
	run_cmd "$OVN_BIN/ovnagent" --config "$bad"
	(($? == 1)) && grep -q "$bad:1: mtu:" <<<"$RUN_CMD_OUT"
	check_err $? "bad mtu: $RUN_CMD_OUT"
	# metrics agree with the API
	local m n
	m=$(curl -s --unix-socket "$(agent_sock "$A")" http://ovn/metrics)
	n=$(ctl endpoint ls --json | jq length)
	grep -q "^ovn_endpoints{scope=\"local\"} $n\$" <<<"$m"
	check_err $? "metrics: ovn_endpoints local != $n"
	grep -qE '^ovn_attach_total [1-9]' <<<"$m" && grep -q '^ovn_attach_duration_seconds_count' <<<"$m"
	check_err $? "metrics: attach counters missing"
	grep -qE '^ovn_reconcile_orphans_removed_total [1-9]' <<<"$m"
	check_err $? "metrics: the crash tests' orphans were not counted"
	# an agent without advertise (no underlay at all) still serves its host
	local h2 c
	ns_create h2 nounderlay && ns_create c nocontainer
	agent_start "$h2" solo	# no 198.18 address: no advertise line
	run_cmd ovnctl_on solo network create lone --subnet 198.19.40.0/24
	check_err $? "create without advertise: $RUN_CMD_OUT"
	run_cmd ovnctl_on solo network attach lone --netns "$c"
	check_err $? "attach without advertise: $RUN_CMD_OUT"
	grep -q "advertise is not set" "$(agent_dir solo)/agent.log"
	check_err $? "no warning about the missing advertise address"
	agent_stop solo
	log_test "socket 0660, SIGHUP log level, bad config refused, /metrics"
}

test_cycles()
{
	local i before after fails=0
	RET=0
	before=$(snapshot)
	for ((i = 0; i < 200; i++)); do
		ctl network attach red --netns "$C4" --name churn >/dev/null || fails=$((fails + 1))
		ctl network detach red --netns "$C4" >/dev/null || fails=$((fails + 1))
	done
	((fails == 0))
	check_err $? "$fails attach/detach calls failed"
	after=$(snapshot)
	[[ $before == "$after" ]]
	check_err $? "200 cycles left something behind"
	ip -n "$C4" -o link show | grep -qv ': lo:'
	check_fail $? "C4 kept an interface"
	log_test "200 attach/detach cycles leave nothing behind"
}

test_rm()
{
	local vni
	RET=0
	vni=$(ctl network inspect red | jqr .vni)
	run_cmd ctl network rm red
	check_fail $? "rm of a network with endpoints was not refused"
	grep -q -- "--force" <<<"$RUN_CMD_OUT"
	check_err $? "refusal does not name --force: $RUN_CMD_OUT"
	run_cmd ctl network rm red --force
	check_err $? "rm --force: $RUN_CMD_OUT"
	ip -n "$C1" link show eth0 >/dev/null 2>&1
	check_fail $? "C1 kept eth0 after rm --force"
	ip -n "$H" link show "br-$vni" >/dev/null 2>&1
	check_fail $? "br-$vni left after rm --force"
	run_cmd ctl network detach blue --netns "$C3"
	check_err $? "detach C3: $RUN_CMD_OUT"
	run_cmd ctl network rm blue
	check_err $? "rm blue: $RUN_CMD_OUT"
	leak_check "$H" >/dev/null
	check_err $? "ovn links left in the host: $(leak_check "$H")"
	[[ $(ctl network ls --json) == "[]" ]]
	check_err $? "networks left"
	log_test "rm refused with endpoints, --force removes all"
}

trap cleanup EXIT
require_root
require_ovn_bin
require_command jq
require_command curl
require_command socat
setup_ns H C1 C2 C3 C4 || exit 1
CS=()
for ((i = 5; i <= 23; i++)); do
	ns_create "CS[$i]" "c$i" || exit 1
done
ip -n "$H" link add ul0 mtu 1400 type veth peer name ul1 mtu 1400
ip -n "$H" link set ul1 up
ip -n "$H" addr add 198.18.0.1/24 dev ul0
ip -n "$H" link set ul0 up
agent_start "$H" "$A" || exit 1
tests_run
RET=0
agent_stop "$A"
check_err $? "agent did not stop on SIGTERM within 10 s"
grep -E "Sanitizer|runtime error:" "$(agent_dir "$A")/agent.log"
check_fail $? "sanitizer reports in the agent log (ASan/UBSan build)"
log_test "agent stops cleanly, no sanitizer reports"
tests_summary
