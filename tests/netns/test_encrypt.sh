#!/usr/bin/env bash
# Encrypted networks: VxLAN between hosts inside IPsec ESP (kernel XFRM,
# AES-GCM), next to a plain network that stays plain VxLAN.
#
#   p1 s1               p2 s2               p3 s3        (container netns)
#    |  |                |  |                |  |
#   h1: ovnagent "h1"   h2: ovnagent "h2"   h3: ovnagent "h3"   st: redis-server
#   vx-P (udp 4789)     vx-P                vx-P
#   vx-S (udp 4790)     vx-S                vx-S
#   eth0 198.18.0.1     eth0 198.18.0.2     eth0 198.18.0.3     eth0 198.18.0.254
#    |                   |                   |                   |
#   -h1------------------h2------- br0 ------h3------------------st-   ul
#
# Network "plain" (198.19.20.0/24, VNI P) and, where the kernel can do ESP
# with AES-GCM, network "sec" --encrypted (198.19.21.0/24, VNI S, MTU 40
# lower). Gossip on, as in test_gossip.sh. tcpdump on br0 of the underlay
# namespace tells what crosses the wire.
#
# This script needs CONFIG_INET_ESP and CONFIG_CRYPTO_GCM for most of its
# checks. On a kernel without them (the agent's probe says so in `ovnctl
# status`), it checks that an encrypted network is refused with that reason
# and leaves nothing behind, and SKIPs the rest, loudly.

# shellcheck disable=SC2034
ALL_TESTS="test_plain_unaffected test_support test_encrypted_traffic test_rotation
	test_restart_same test_rm_clean"
HERE=$(dirname "$(readlink -f "$0")")
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$HERE/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_cluster.sh
source "$HERE/lib_cluster.sh"

N=3
declare -A PC=()	# H -> container on "plain"
declare -A SC=()	# H -> container on "sec"
KEY1=""
ESP_OK=""		# "yes" when the agents' probe found ESP + GCM
ESP_WHY=""
SEC_UP=""		# "yes" once "sec" exists with s1..s3 attached
GRACE=3

# Every agent runs gossip (lib_cluster.sh), every host a seed so a restarted
# agent rejoins at once (with h1 the only seed, a restarted h1 would wait for
# the others' join backoff), and rotates only when asked (the API hook), so
# the restart comparison is not raced by a scheduled rotation.
GOSSIP_SEEDS="1 2 3"
CLUSTER_AGENT_YAML=$(printf 'encryption:\n  rotate_interval: 0\n  grace: %s' "$GRACE")

# api_post H PATH: POST to hH's API, prints the body.
api_post()
{
	curl -s -X POST --unix-socket "$(agent_sock "h$1")" "http://x$2"
}

# all_alive: every host's gossip view has h1..h3 alive.
all_alive()
{
	local i

	for ((i = 1; i <= N; i++)); do
		[[ $(ovnctl_on "h$i" --json members 2>/dev/null |
			jq -r '[.[] | select(.status == "alive")] | length') == "$N" ]] || return 1
	done
}

status_enc()
{
	ovnctl_on "h$1" --json status | jq -c .encryption
}

# xfrm_all H: every XFRM state and policy of host H, with what traffic
# changes (counters, use times, replay windows) cut out, but add times,
# policy indexes, SPIs and keys kept: equal listings mean the same objects.
xfrm_all()
{
	local ns

	ns=$(host_ns "h$1") || return 1
	{
		ip -n "$ns" -s xfrm state
		ip -n "$ns" -s xfrm policy
	} | awk '
		/anti-replay|replay-window|lifetime|limit:|expire|\(bytes\)|stats:|bitmap|seq/ { next }
		$1 == "add" { print "add", $2, $3; next }
		{ print }'
}

# xfrm_count H state|policy: how many objects of that kind host H holds.
xfrm_count()
{
	local ns

	ns=$(host_ns "h$1") || return 1
	if [[ $2 == state ]]; then
		ip -n "$ns" xfrm state | grep -c '^src'
	else
		ip -n "$ns" xfrm policy | grep -c '^src'
	fi
}

xfrm_none_anywhere()
{
	local i

	for ((i = 1; i <= N; i++)); do
		(($(xfrm_count "$i" state) == 0 && $(xfrm_count "$i" policy) == 0)) || return 1
	done
}

# h1..h3 each hold: 2 peers x (in + out) states, 2 blocks + 2 peers x 2 policies.
xfrm_full_mesh()
{
	local i

	for ((i = 1; i <= N; i++)); do
		(($(xfrm_count "$i" state) == 4 && $(xfrm_count "$i" policy) == 6)) || return 1
	done
}

ping_ok()
{
	ip netns exec "$1" ping -q -c 2 -W 2 -i 0.2 "$2" >/dev/null 2>&1
}

# pings NET: every container of NET reaches the others' IPv4.
pings()
{
	local -n conts=$1
	local a b ip

	for a in 1 2 3; do
		for b in 1 2 3; do
			((a == b)) && continue
			ip=$(ep_field "${conts[$b]}" "$2" ipv4) || return 1
			ping_ok "${conts[$a]}" "${ip%/*}" || { echo "$2: c$a -> c$b ($ip)"; return 1; }
		done
	done
}

# capture_start FILE / capture_stop: tcpdump on the underlay bridge of
# everything VxLAN (either port) or ESP.
capture_start()
{
	rm -f "$1"
	spawn_bg tcpdump ip netns exec "$UL_NS" tcpdump -Z root -i br0 -nn -U --immediate-mode \
		-s 128 -w "$1" 'udp port 4789 or udp port 4790 or ip proto 50' \
		>"$T/tcpdump.log" 2>&1
	slowwait 5 grep -q "listening on" "$T/tcpdump.log"
}

capture_stop()
{
	sleep 0.3	# the last packets into the file (-U writes each as it comes)
	spawn_stop tcpdump
}

pcap_count()
{
	tcpdump -r "$1" -nn "$2" 2>/dev/null | wc -l
}

setup()
{
	local i out

	require_command redis-server jq curl tcpdump
	tmpdir_setup || return 1
	KEY1=$("$OVN_BIN/ovnctl" keys generate) || return 1
	GOSSIP_KEY=$KEY1
	cluster_start "$N" redis || return
	out=$(ovnctl_on h1 network create plain --subnet 198.19.20.0/24 2>&1) ||
		{ echo "create plain: $out"; return 1; }
	for ((i = 1; i <= N; i++)); do
		container_create "PC[$i]" "p$i" || return 1
		busywait 10000 ovnctl_on "h$i" network inspect plain >/dev/null || return 1
		out=$(ovnctl_on "h$i" network attach plain --netns "${PC[$i]}" 2>&1) ||
			{ echo "attach p$i: $out"; return 1; }
	done
	if [[ $(status_enc 1 | jq -r .supported) == true ]]; then
		ESP_OK=yes
	else
		ESP_WHY=$(status_enc 1 | jq -r .reason)
		echo "WARNING: this kernel cannot run encrypted networks: $ESP_WHY"
		echo "WARNING: the ESP data path checks below are SKIPPED, not passed"
	fi
}

# (b) an encrypted network where the kernel can carry it, a clear refusal
# that changes nothing where it cannot.
test_support()
{
	local out rc plain_mtu mtu i

	plain_mtu=$(ovnctl_on h1 network inspect plain | jq -r .mtu)
	out=$(ovnctl_on h1 network create sec --encrypted --subnet 198.19.21.0/24 2>&1)
	rc=$?
	if [[ $ESP_OK != yes ]]; then
		((rc == 1))
		check_err $? "create --encrypted exited $rc: $out"
		[[ $out == *CONFIG_INET_ESP* ]]
		check_err $? "the refusal does not name the missing kernel option: $out"
		ovnctl_on h1 network inspect sec &>/dev/null
		check_fail $? "refused network sec is in the store anyway"
		out=$(ovnctl_on h1 --json network ls | jq -r '.[].name' | paste -sd,)
		[[ $out == plain ]]
		check_err $? "networks after the refusal: $out"
		xfrm_none_anywhere
		check_err $? "XFRM objects appeared after a refused create"
		log_test "encrypted network refused: kernel lacks ESP/GCM, nothing changed"
		return
	fi
	check_err $rc "create --encrypted: $out"
	mtu=$(ovnctl_on h1 network inspect sec | jq -r .mtu)
	((mtu == plain_mtu - 40))
	check_err $? "sec MTU $mtu, plain $plain_mtu: expected 40 less"
	[[ $(ovnctl_on h1 network inspect sec | jq -r .encrypted) == true ]]
	check_err $? "inspect does not show encrypted: true"
	out=$(ovnctl_on h1 network ls)
	[[ $out == *ENCRYPTED* ]]
	check_err $? "network ls has no ENCRYPTED column: $out"
	for ((i = 1; i <= N; i++)); do
		container_create "SC[$i]" "s$i" || return 1
		busywait 10000 ovnctl_on "h$i" network inspect sec >/dev/null
		out=$(ovnctl_on "h$i" network attach sec --netns "${SC[$i]}" 2>&1)
		check_err $? "attach s$i: $out"
	done
	SEC_UP=yes
	log_test "encrypted network created (MTU $mtu = $plain_mtu - 40), attached on 3 hosts"
}

skip_without_esp()
{
	[[ $ESP_OK == yes && $SEC_UP == yes ]] && return 1
	log_test_skip "$1" "kernel without ESP/GCM ($ESP_WHY)"
	return 0
}

# (a) the plain network pings across hosts as plain VxLAN on 4789, the
# echo requests readable inside (before "sec" exists: no ESP at all).
test_plain_unaffected()
{
	local pcap=$T/plain.pcap out n4789 nesp necho

	capture_start "$pcap"
	check_err $? "tcpdump did not start: $(cat "$T/tcpdump.log")"
	out=$(pings PC plain)
	check_err $? "plain ping failed: $out"
	capture_stop
	n4789=$(pcap_count "$pcap" 'udp port 4789')
	nesp=$(pcap_count "$pcap" 'ip proto 50')
	necho=$(tcpdump -r "$pcap" -nn -T vxlan 'udp port 4789' 2>/dev/null | grep -c 'ICMP echo request')
	((n4789 > 0 && necho > 0))
	check_err $? "plain VxLAN on udp 4789: $n4789 datagrams, $necho readable echo requests"
	((nesp == 0))
	check_err $? "$nesp ESP packets while only the plain network talked"
	log_test "plain network: plain VxLAN across hosts" \
		"$n4789 udp/4789, $necho echo requests in clear, $nesp ESP"
}

# (c) the encrypted network pings across hosts and the wire shows only ESP
# for it: not one UDP 4790 datagram in clear.
test_encrypted_traffic()
{
	local pcap=$T/sec.pcap out n4790 nesp

	skip_without_esp "encrypted network: only ESP on the underlay" && return
	out=$(busywait 15000 xfrm_full_mesh)
	check_err $? "XFRM objects not as expected: h1 $(xfrm_count 1 state) states," \
		"$(xfrm_count 1 policy) policies"
	capture_start "$pcap"
	check_err $? "tcpdump did not start: $(cat "$T/tcpdump.log")"
	out=$(busywait 10000 pings SC sec)
	check_err $? "encrypted ping failed: $out"
	out=$(pings PC plain)
	check_err $? "plain ping failed next to the encrypted one: $out"
	capture_stop
	n4790=$(pcap_count "$pcap" 'udp port 4790')
	nesp=$(pcap_count "$pcap" 'ip proto 50')
	((nesp > 0))
	check_err $? "no ESP seen while the encrypted network talked"
	((n4790 == 0))
	check_err $? "$n4790 clear VxLAN datagrams of the encrypted network on the wire"
	log_test "encrypted network: only ESP on the underlay" "$nesp ESP, $n4790 udp/4790"
}

# (d) rotating keys on both ends of a flow during a ping flood loses nothing.
test_rotation()
{
	local ip out g1 g2 loss sent

	skip_without_esp "key rotation under traffic loses no packet" && return
	ip=$(ep_field "${SC[2]}" sec ipv4)
	g1=$(status_enc 2 | jq -r .generation)
	ip netns exec "${SC[1]}" ping -c 200 -i 0.02 -W 1 "${ip%/*}" >"$T/rot.ping" 2>&1 &
	local pid=$!
	sleep 1
	api_post 2 /v1/encryption/rotate >/dev/null	# receiver of the flow
	sleep 1
	api_post 1 /v1/encryption/rotate >/dev/null	# and its sender
	wait "$pid"
	g2=$(status_enc 2 | jq -r .generation)
	((g2 == g1 + 1))
	check_err $? "h2 generation $g1 -> $g2"
	sent=$(awk '/packets transmitted/ { print $1 }' "$T/rot.ping")
	loss=$(awk '/packets transmitted/ { print $1 - $4 }' "$T/rot.ping")
	((sent == 200 && loss == 0))
	check_err $? "ping across the rotation: $(grep transmitted "$T/rot.ping")"
	# After the grace period only the new generation's states are left.
	out=$(busywait $(((GRACE + 5) * 1000)) xfrm_full_mesh)
	check_err $? "old states not removed after the grace: h2 $(xfrm_count 2 state) states"
	out=$(pings SC sec)
	check_err $? "encrypted ping after the rotation: $out"
	log_test "key rotation under traffic loses no packet" "$loss of $sent lost"
}

# (e) a restart (graceful on h1, kill -9 on h2) keeps exactly the same
# XFRM objects on all three hosts: same SPIs, keys, add times, policy
# indexes (a failed host keeps its pair's objects on the others).
test_restart_same()
{
	local i out
	local -A before=()

	skip_without_esp "agent restart keeps exactly the same XFRM objects" && return
	busywait 10000 xfrm_full_mesh
	for ((i = 1; i <= N; i++)); do
		before[$i]=$(xfrm_all "$i")
	done
	# One at a time, gossip whole again in between.
	agent_stop h1
	cluster_agent_start 1
	check_err $? "h1 did not restart"
	busywait 20000 all_alive
	check_err $? "gossip did not see all 3 hosts alive after h1's restart"
	agent_kill h2
	cluster_agent_start 2
	check_err $? "h2 did not restart after kill -9"
	busywait 20000 all_alive
	check_err $? "gossip did not see all 3 hosts alive after h2's restart"
	sleep 3	# a few ticks and a kick for anything a restart would change
	for ((i = 1; i <= N; i++)); do
		out=$(diff <(echo "${before[$i]}") <(xfrm_all "$i") | head -n 6 | paste -sd'|')
		[[ -z $out ]]
		check_err $? "h$i XFRM changed across the restart: $out"
	done
	# h2's kill -9 may have made gossip declare it failed on the others,
	# which withdraws its peer entries until it is seen alive again.
	out=$(busywait 20000 cluster_converged)
	check_err $? "not converged after the restarts: $out"
	out=$(busywait 10000 pings SC sec)
	check_err $? "encrypted ping after the restarts: $out"
	log_test "agent restart keeps exactly the same XFRM objects"
}

# (f) detach and rm leave no XFRM object on any host; the plain network
# still works.
test_rm_clean()
{
	local i out

	skip_without_esp "network rm leaves no XFRM object" && return
	for ((i = 1; i <= N; i++)); do
		out=$(ovnctl_on "h$i" network detach sec --netns "${SC[$i]}" 2>&1)
		check_err $? "detach s$i: $out"
	done
	out=$(ovnctl_on h1 network rm sec 2>&1)
	check_err $? "rm sec: $out"
	out=$(busywait 10000 xfrm_none_anywhere)
	check_err $? "XFRM objects left: h1 $(xfrm_count 1 state) states, $(xfrm_count 1 policy) policies"
	out=$(pings PC plain)
	check_err $? "plain ping after rm sec: $out"
	log_test "network rm leaves no XFRM object"
}

cleanup()
{
	local i

	for i in "${!PC[@]}"; do
		container_destroy "${PC[i]}"
	done
	for i in "${!SC[@]}"; do
		container_destroy "${SC[i]}"
	done
	lib_cleanup
}

trap cleanup EXIT
require_root
require_ovn_bin
cluster_tests_main "encryption cluster"
