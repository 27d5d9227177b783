#!/usr/bin/env bash
# Gossip: five agents sharing a redis store find each other by gossip,
# spread endpoint events ahead of the store, withdraw a failed host's
# entries, survive a partition, rotate keys, and refuse a host with the
# wrong key.
#
#   h1 .. h5: ovnagent "hN", gossip on 198.18.0.N:7946, seed h1, keyring
#             $T/hN/keyring.json (each host its own copy of one key)
#   h6:       spare host for the wrong-key test (not started by default)
#   st:       redis-server 198.18.0.254
#   c1 .. c5: one container per host on network "g" (198.19.7.0/24)
#
# Partition: the underlay ports of h4 and h5 move from br0 to a second
# bridge in the underlay namespace (and back to heal); the store stays on
# br0, with h1..h3.

# shellcheck disable=SC2034
ALL_TESTS="test_members test_gossip_ahead_of_store test_failed_host test_partition
	test_keys_rotate test_keys_bad_input test_wrong_key test_clean_stop"
HERE=$(dirname "$(readlink -f "$0")")
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$HERE/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_cluster.sh
source "$HERE/lib_cluster.sh"

N=5
NET=g
VNI=""
declare -A CN=()
KEY1=""

now_ms() { echo $((${EPOCHREALTIME//[.,]/} / 1000)); }

# Every agent runs gossip (lib_cluster.sh: GOSSIP_KEY, seed h1).

# members_of H: "name status" lines of agent hH's gossip view, sorted.
members_of()
{
	ovnctl_on "h$1" --json members 2>/dev/null | jq -r '.[] | "\(.name) \(.status)"' | sort
}

# view_is H WANT: hH's view equals WANT ("name status" lines).
view_is()
{
	[[ $(members_of "$1") == "$2" ]]
}

# all_alive_view H...: the lines "hK alive" for the given hosts.
all_alive_view()
{
	local h

	for h in "$@"; do
		echo "h$h alive"
	done | sort
}

# views_are WANT H...: every listed host sees exactly WANT.
views_are()
{
	local want=$1 h

	shift
	for h in "$@"; do
		view_is "$h" "$want" || return 1
	done
}

# vtep_entries H VTEP: FDB entries of hH's vx-VNI pointing at VTEP.
vtep_entries()
{
	_fdb_remote "h$1" "$VNI" | awk -v v="$2" '$2 == v' | wc -l
}

# metric_of H NAME: the value of an unlabelled series in hH's /metrics.
metric_of()
{
	curl -s --unix-socket "$(agent_sock "h$1")" http://x/metrics |
		awk -v m="$2" '$1 == m { print $2 }'
}

setup()
{
	local i out

	require_command redis-server jq curl nft
	tmpdir_setup || return 1
	KEY1=$("$OVN_BIN/ovnctl" keys generate) || return 1
	GOSSIP_KEY=$KEY1
	# Host 6 is on the underlay but not in the cluster until test_wrong_key.
	underlay_create 6 || return 1
	store_start redis || return
	CLUSTER_N=$N
	for ((i = 1; i <= N; i++)); do
		cluster_agent_start "$i" || return 1
	done
	out=$(ovnctl_on h1 network create "$NET" --subnet 198.19.7.0/24 2>&1) ||
		{ echo "network create: $out"; return 1; }
	VNI=$(ovnctl_on h1 network inspect "$NET" | jq -r .vni)
	for ((i = 1; i <= N; i++)); do
		container_create "CN[$i]" "c$i" || return 1
		busywait 10000 ovnctl_on "h$i" network inspect "$NET" >/dev/null || return 1
		out=$(ovnctl_on "h$i" network attach "$NET" --netns "${CN[$i]}" --name "c$i" 2>&1) ||
			{ echo "attach c$i: $out"; return 1; }
	done
}

test_members()
{
	local i out

	out=$(busywait 15000 views_are "$(all_alive_view 1 2 3 4 5)" 1 2 3 4 5)
	check_err $? "not every host sees 5 alive members: h3 sees $(members_of 3 | paste -sd,)"
	out=$(ovnctl_on h2 --json members | jq -r '.[] | select(.name == "h4") | .tags.vtep')
	[[ $out == "${HOST_IP[4]}" ]]
	check_err $? "h4's vtep tag seen from h2 is '$out'"
	out=$(ovnctl_on h2 members)
	[[ $out == *NAME*STATUS*RTT* && $out == *h5*alive* ]]
	check_err $? "ovnctl members table: $out"
	out=$(busywait 10000 cluster_converged)
	check_err $? "not converged: $out"
	log_test "5 hosts see each other alive by gossip; store and kernel agree"
}

# store_cut H add|delete: drop (or stop dropping) everything hH receives
# from the store. Input, not a route: a watch's long poll already sent is
# answered without hH sending anything.
store_cut()
{
	if [[ $2 == add ]]; then
		ip netns exec "${HOST_NS[$1]}" nft -f - <<-EOF
			table inet gtest {
				chain in { type filter hook input priority 0; ip saddr 198.18.0.254 drop; }
			}
		EOF
	else
		ip netns exec "${HOST_NS[$1]}" nft delete table inet gtest
	fi
}

# h3's way to the store is cut (input from it dropped): an endpoint attached on h1
# still reaches h3's FDB, by gossip, and leaves it again on detach.
test_gossip_ahead_of_store()
{
	local extra mac before after out

	before=$(metric_of 3 ovn_gossip_endpoint_events_applied_total)
	store_cut 3 add || return 1
	container_create extra x1 || return 1
	out=$(ovnctl_on h1 network attach "$NET" --netns "$extra" --name x1 2>&1)
	check_err $? "attach x1 on h1: $out"
	mac=$(jq -r .mac <<<"$(ovnctl_on h1 --json endpoint ls --network "$NET" |
		jq -c '.[] | select(.name == "x1")')" | tr 'A-F' 'a-f')
	busywait 3000 eval "_fdb_remote h3 $VNI | grep -q '^$mac '"
	check_err $? "x1 ($mac) not in h3's FDB within 3 s while h3 cannot reach the store"
	ovnctl_on h3 --json endpoint ls --network "$NET" | jq -e '.[] | select(.name == "x1")' \
		>/dev/null
	check_err $? "h3 does not list x1"
	out=$(ovnctl_on h1 network detach "$NET" --netns "$extra" 2>&1)
	check_err $? "detach x1: $out"
	busywait 3000 eval "! _fdb_remote h3 $VNI | grep -q '^$mac '"
	check_err $? "x1 still in h3's FDB 3 s after its detach"
	after=$(metric_of 3 ovn_gossip_endpoint_events_applied_total)
	((after >= before + 2))
	check_err $? "gossip applied counter on h3 went $before -> $after (want +2;\
 h1 oversize $(metric_of 1 ovn_gossip_events_oversize_total),\
 h3 watch events $(metric_of 3 ovn_store_watch_events_total))"
	store_cut 3 delete
	container_destroy "$extra"
	out=$(busywait 15000 cluster_converged)
	check_err $? "not converged after the store came back: $out"
	log_test "endpoint events reach a host cut off from the store (gossip)"
}

test_failed_host()
{
	local t0 t1 want out

	((vtep_entries_before = $(vtep_entries 1 "${HOST_IP[2]}")))
	((vtep_entries_before >= 2))
	check_err $? "h1 has $vtep_entries_before entries for h2 before the kill"
	t0=$(now_ms)
	agent_kill h2
	want=$(printf 'h1 alive\nh2 failed\nh3 alive\nh4 alive\nh5 alive')
	busywait 10000 views_are "$want" 1 3 4 5
	check_err $? "h2 not failed everywhere within 10 s: h4 sees $(members_of 4 | paste -sd,)"
	t1=$(now_ms)
	busywait 2000 eval "(( \$(vtep_entries 1 ${HOST_IP[2]}) == 0 )) &&
		(( \$(vtep_entries 5 ${HOST_IP[2]}) == 0 ))"
	check_err $? "h2's entries not withdrawn: h1 still has $(vtep_entries 1 "${HOST_IP[2]}")"
	echo "    failure of h2 seen by h1,h3,h4,h5 in $((t1 - t0)) ms"
	cluster_agent_start 2
	check_err $? "h2 did not restart"
	busywait 10000 views_are "$(all_alive_view 1 2 3 4 5)" 1 2 3 4 5
	check_err $? "h2 not back everywhere: h4 sees $(members_of 4 | paste -sd,)"
	out=$(busywait 10000 cluster_converged)
	check_err $? "entries not back after h2 returned: $out"
	ping_c 1 2
	check_err $? "c1 cannot reach c2 after h2 came back"
	log_test "kill -9 of an agent: failed everywhere, entries withdrawn, back on restart"
}

# ping_c A B: container cA pings cB's address once.
ping_c()
{
	local ip

	ip=$(ep_field "${CN[$2]}" "$NET" ipv4)
	ip netns exec "${CN[$1]}" ping -n -q -c 1 -W 2 "$ip" &>/dev/null
}

ul_port_bridge()
{
	local h

	for h in "${@:2}"; do
		ip -n "$UL_NS" link set "h$h" master "$1" || return 1
	done
}

test_partition()
{
	local a b out

	ip -n "$UL_NS" link add br1 type bridge && ip -n "$UL_NS" link set br1 up || return 1
	ul_port_bridge br1 4 5
	a=$(printf 'h1 alive\nh2 alive\nh3 alive\nh4 failed\nh5 failed')
	b=$(printf 'h1 failed\nh2 failed\nh3 failed\nh4 alive\nh5 alive')
	busywait 15000 views_are "$a" 1 2 3
	check_err $? "side A does not see h4,h5 failed: h1 sees $(members_of 1 | paste -sd,)"
	busywait 15000 views_are "$b" 4 5
	check_err $? "side B does not see h1..h3 failed: h4 sees $(members_of 4 | paste -sd,)"
	ping_c 1 3
	check_err $? "c1 cannot reach c3 inside side A"
	ping_c 4 5
	check_err $? "c4 cannot reach c5 inside side B"
	ul_port_bridge br0 4 5
	ip -n "$UL_NS" link del br1
	busywait 40000 views_are "$(all_alive_view 1 2 3 4 5)" 1 2 3 4 5
	check_err $? "not healed: h1 sees $(members_of 1 | paste -sd,), h5 $(members_of 5 | paste -sd,)"
	out=$(busywait 10000 cluster_converged)
	check_err $? "not converged after the heal: $out"
	ping_c 1 5
	check_err $? "c1 cannot reach c5 after the heal"
	log_test "partition: both sides keep working, then merge again"
}

# keys_view H: "primary:members" per key of hH's keys list.
keys_view()
{
	ovnctl_on "h$1" --json keys list | jq -r 'map("\(.primary):\(.members)") | join(",")'
}

# keyring_is H KEY...: hH's keyring file holds exactly these keys, in order.
keyring_is()
{
	local h=$1 want

	shift
	want=$(printf '%s\n' "$@" | jq -R . | jq -sc .)
	[[ $(jq -c . "$(agent_dir "h$h")/keyring.json") == "$want" ]]
}

test_keys_rotate()
{
	local key2 out h dead0 dead1

	dead0=$(metric_of 1 ovn_gossip_declared_dead_total)
	key2=$("$OVN_BIN/ovnctl" keys generate)
	out=$(ovnctl_on h1 keys install "$key2" 2>&1)
	check_err $? "keys install: $out"
	[[ $out == *"on 5 of 5 live members"* ]]
	check_err $? "keys install answer: $out"
	# h4's view of the others' tags may trail h1's by a gossip round or two.
	busywait 3000 eval "[[ \$(keys_view 4) == true:5,false:5 ]]"
	check_err $? "h4 keys list after install: $(keys_view 4)"
	out=$(ovnctl_on h2 keys use "$key2" 2>&1)
	check_err $? "keys use: $out"
	out=$(ovnctl_on h3 keys remove "$KEY1" 2>&1)
	check_err $? "keys remove old: $out"
	for h in 1 2 3 4 5; do
		busywait 3000 keyring_is "$h" "$key2"
		check_err $? "h$h keyring file is not [key2]: $(cat "$(agent_dir "h$h")/keyring.json")"
	done
	busywait 5000 views_are "$(all_alive_view 1 2 3 4 5)" 1 2 3 4 5
	check_err $? "membership lost during rotation: $(members_of 1 | paste -sd,)"
	dead1=$(metric_of 1 ovn_gossip_declared_dead_total)
	[[ $dead0 == "$dead1" ]]
	check_err $? "h1 declared members dead during the rotation ($dead0 -> $dead1)"
	# A restarted agent comes back with the key it saved (SIGTERM: a
	# graceful leave, so nothing is withdrawn meanwhile).
	agent_stop h5
	busywait 5000 eval "members_of 1 | grep -q '^h5 left$'"
	check_err $? "h5 not seen as left after SIGTERM: $(members_of 1 | paste -sd,)"
	(($(vtep_entries 1 "${HOST_IP[5]}") >= 2))
	check_err $? "h5's entries were withdrawn on a graceful leave"
	cluster_agent_start 5
	busywait 10000 views_are "$(all_alive_view 1 2 3 4 5)" 1 2 3 4 5
	check_err $? "h5 not back with its saved key: $(members_of 1 | paste -sd,)"
	KEY1=$key2
	log_test "keys rotate across the running cluster (install, use, remove)"
}

test_keys_bad_input()
{
	local out before fp

	before=$(cat "$(agent_dir h1)/keyring.json")
	out=$(ovnctl_on h1 keys install not-a-key 2>&1)
	check_fail $? "install of a bad key succeeded"
	[[ $out == *base64* ]]
	check_err $? "bad key message: $out"
	out=$(ovnctl_on h1 keys use "$("$OVN_BIN/ovnctl" keys generate)" 2>&1)
	check_fail $? "use of an uninstalled key succeeded"
	[[ $out == *"no installed key"* ]]
	check_err $? "uninstalled key message: $out"
	fp=$(ovnctl_on h1 --json keys list | jq -r '.[0].fingerprint')
	out=$(ovnctl_on h1 keys remove "$fp" 2>&1)
	check_fail $? "removal of the primary key succeeded"
	[[ $out == *"primary key of 5 live member"* ]]
	check_err $? "primary removal message: $out"
	out=$(curl -s --unix-socket "$(agent_sock h1)" -X POST -d '{"op":"rotate","key":"x"}' \
		http://x/v1/keys)
	[[ $out == *"expected install, use or remove"* ]]
	check_err $? "bad op answer: $out"
	[[ $(cat "$(agent_dir h1)/keyring.json") == "$before" ]]
	check_err $? "the keyring changed after refused requests"
	out=$("$OVN_BIN/ovnagent" --check-config --config <(printf 'gossip:\n  join: [ 198.18.0.1 ]\n') 2>&1)
	check_fail $? "gossip.join without a port was accepted"
	[[ $out == *"gossip.join"*"set gossip.port"* ]]
	check_err $? "config message: $out"
	log_test "bad key requests and gossip config are refused and change nothing"
}

test_wrong_key()
{
	local other out fails0 fails1

	fails0=$(metric_of 1 ovn_gossip_auth_failures_total)
	other=$("$OVN_BIN/ovnctl" keys generate)
	mkdir -p "$(agent_dir h6)" && (umask 077; echo "[\"$other\"]" >"$(agent_dir h6)/keyring.json") &&
		chmod 600 "$(agent_dir h6)/keyring.json"
	agent_start "${HOST_NS[6]}" h6 "$STORE_YAML" "$(gossip_yaml 6)"
	check_err $? "h6 did not start"
	sleep 3
	out=$(members_of 1 | paste -sd,)
	[[ $out != *h6* ]]
	check_err $? "h6 with the wrong key was admitted: h1 sees $out"
	out=$(members_of 6 | paste -sd,)
	[[ $out == "h6 alive" ]]
	check_err $? "h6 sees others: $out"
	fails1=$(metric_of 1 ovn_gossip_auth_failures_total)
	((fails1 > fails0))
	check_err $? "h1 counted no authentication failures ($fails0 -> $fails1)"
	agent_stop h6
	log_test "a host with the wrong key is not admitted (and counted)"
}

test_clean_stop()
{
	local i log

	for ((i = 1; i <= N; i++)); do
		agent_stop "h$i"
		check_err $? "h$i did not stop on SIGTERM within 10 s"
		log=$(agent_dir "h$i")/agent.log
		grep -E "Sanitizer|runtime error:" "$log"
		check_fail $? "sanitizer reports in h$i's log"
	done
	log_test "agents stop cleanly (graceful leave), no sanitizer reports"
}

cleanup()
{
	local i

	for i in "${!CN[@]}"; do
		container_destroy "${CN[i]}"
	done
	lib_cleanup
}

trap cleanup EXIT
require_root
require_ovn_bin
cluster_tests_main "gossip cluster"
