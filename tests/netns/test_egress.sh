#!/usr/bin/env bash
# Egress NAT, isolation between networks, published ports (docs/egress.md):
# two agents sharing a redis store, an "outside" server one router away.
#
#                                                  out: 198.19.254.2/24 (servers)
#                                                    | eth0
#                                                  rt: eth1 198.19.254.1/24
#                                                      eth0 198.18.0.253/16, forwarding on
#   c11 c12 c13 c14 c15 sp1       c21                  |
#    |   |   |   |  /|   |         |                   |
#   h1: ovnagent "h1"            h2: ovnagent "h2"   st: redis 198.18.0.254
#   eth0 198.18.0.1/16           eth0 198.18.0.2/16    |
#    |  default via .253          |  default via .253  |
#   -h1---------------------------h2------- br0 -------st------rt----  ul
#
# Networks (made through h1, seen by h2 through the store):
#   web   198.19.1.0/24 + fd00:1::/64  c11 (publishes 8080:80, 5353:5300/udp,
#                                      8081:81 with an IPv6-only server),
#                                      c12, c15, c21 (on h2)
#   db    198.19.2.0/24                c14, c15 (c15 is on web and db)
#   priv  198.19.3.0/24 --internal     c13
# sp1 is a spare container for attach/detach checks. 198.19.254.0/24 is no
# ovn network: it stands for the world beyond the hosts' default route (the
# test ranges leave no other choice), and nothing routes it back to the
# overlay subnets, so only masqueraded traffic gets answers.
#
# Every listing check compares `nft -j list table inet ovn` with handles
# dropped and set elements sorted: a rebuild and the incremental path must
# give the same table. A foreign table in h1 must never change.

# shellcheck disable=SC2034
ALL_TESTS="test_forwarding test_routes test_gateway_local test_egress test_internal
	test_isolation test_publish test_publish_bad test_detach_rules test_network_rm_rules
	test_restart test_teardown"
HERE=$(dirname "$(readlink -f "$0")")
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$HERE/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_cluster.sh
source "$HERE/lib_cluster.sh"

RT_NS=""
OUT_NS=""
OUT_IP=198.19.254.2
RT_UL=198.18.0.253
declare -A C=()		# c11 c12 ... sp1 -> namespace
FOREIGN_LIST=""		# h1's foreign table as listed before any agent ran
FOREIGN='table ip foreign { chain c { type filter hook input priority 10; policy accept; udp dport 9 counter drop; }; }'

# ---------------------------------------------------------------------------
# Helpers.

h1() { echo "${HOST_NS[1]}"; }
h2() { echo "${HOST_NS[2]}"; }

# nft_dump NS: the agent's table, normalised; empty when there is none.
nft_dump()
{
	ip netns exec "$1" nft -j list table inet ovn 2>/dev/null |
		jq -S -c '.nftables | map(select(has("metainfo") | not))
			| walk(if type == "object" then del(.handle)
				| (if has("elem") then .elem |= sort_by(tostring) else . end)
			  else . end)'
}

# dump_is NS WANT / dump_differs NS OLD: for busywait.
dump_is()
{
	[[ $(nft_dump "$1") == "$2" ]]
}

dump_differs()
{
	[[ $(nft_dump "$1") != "$2" ]]
}

# forwarding_is NS 0|1: net.ipv4.ip_forward of NS.
forwarding_is()
{
	[[ $(ip netns exec "$1" sysctl -n net.ipv4.ip_forward) == "$2" ]]
}

# bridges_are NS N: the table of NS lists N bridges.
bridges_are()
{
	[[ $(nft_dump "$1" | jq '[.[] | select(.set.name == "bridges")][0].set.elem | length') == "$2" ]]
}

# log_count AGENT PATTERN N: PATTERN appears N times in AGENT's log.
log_count()
{
	[[ $(grep -c "$2" "$(agent_dir "$1")/agent.log") == "$3" ]]
}

# map_len DUMP MAP: number of elements of MAP in a nft_dump output.
map_len()
{
	jq --arg m "$2" '[.[] | select(.map.name == $m) | .map.elem // [] | .[]] | length' <<<"$1"
}

# ask NS ADDR PORT [udp]: one request to a socat server that answers with
# the peer address it saw; prints the answer.
ask()
{
	if [[ ${4:-tcp} == udp ]]; then
		echo q | ip netns exec "$1" timeout 5 socat -T1 - "UDP:$2:$3" 2>/dev/null
	elif [[ ${4:-tcp} == tcp6 ]]; then
		ip netns exec "$1" timeout 5 socat -T3 - "TCP6:[$2]:$3,connect-timeout=2" \
			</dev/null 2>/dev/null
	else
		ip netns exec "$1" timeout 5 socat -T3 - "TCP:$2:$3,connect-timeout=2" \
			</dev/null 2>/dev/null
	fi
}

# send_udp NS ADDR PORT WORD: one datagram, no answer expected.
send_udp()
{
	echo "$4" | ip netns exec "$1" timeout 3 socat -u - "UDP:$2:$3" 2>/dev/null
}

# answer_is NS ADDR PORT PROTO WANT: ask until the answer is WANT.
_answer_is()
{
	[[ $(ask "$1" "$2" "$3" "$4") == "$5" ]]
}

answer_is()
{
	slowwait 5 _answer_is "$@"
}

# serve NAME NS PORT PROTO: a socat server answering "PROTO PEERADDR".
serve()
{
	local addr

	if [[ $4 == udp ]]; then
		addr="UDP-RECVFROM:$3,fork,reuseaddr"
	elif [[ $4 == tcp6 ]]; then
		addr="TCP6-LISTEN:$3,fork,reuseaddr,ipv6only=1"
	else
		addr="TCP-LISTEN:$3,fork,reuseaddr"
	fi
	# shellcheck disable=SC2016  # $SOCAT_PEERADDR is for the server's shell
	spawn_bg "$1" ip netns exec "$2" socat "$addr" SYSTEM:'echo '"$4"' $SOCAT_PEERADDR' \
		>/dev/null 2>&1
}

# sink NAME NS PORT FILE: a UDP receiver appending what it gets to FILE.
sink()
{
	: >"$4"
	spawn_bg "$1" ip netns exec "$2" socat -u "UDP-RECV:$3,reuseaddr" "OPEN:$4,append" \
		>/dev/null 2>&1
}

_listening()
{
	ip netns exec "$1" ss -Hln "$2" "sport = :$3" | grep -q .
}

attach()
{
	local h=$1 ns=$2 net=$3

	shift 3
	ovnctl_on "h$h" network attach "$net" --netns "$ns" "$@" >/dev/null
}

endpoint_count()
{
	ovnctl_on h1 --json endpoint ls | jq length
}

ip_of() { ep_field "$1" "$2" ipv4; }

# ---------------------------------------------------------------------------
# Topology.

outside_create()
{
	ns_create RT_NS rt || return 1
	ns_create OUT_NS out || return 1
	ip -n "$UL_NS" link add rt mtu "$UNDERLAY_MTU" type veth peer name eth0 \
		mtu "$UNDERLAY_MTU" netns "$RT_NS" || return 1
	ip -n "$UL_NS" link set rt master br0 up || return 1
	ip -n "$RT_NS" link add eth1 type veth peer name eth0 netns "$OUT_NS" || return 1
	ip -n "$RT_NS" -batch - <<-EOF || return 1
		addr add $RT_UL/16 dev eth0
		addr add 198.19.254.1/24 dev eth1
		link set eth0 up
		link set eth1 up
	EOF
	ip netns exec "$RT_NS" sysctl -qw net.ipv4.ip_forward=1 || return 1
	ip -n "$OUT_NS" -batch - <<-EOF || return 1
		addr add $OUT_IP/24 dev eth0
		link set eth0 up
		route add default via 198.19.254.1
	EOF
}

setup()
{
	local h k

	cluster_start 2 redis || return
	outside_create || return 1
	for h in 1 2; do
		ip -n "${HOST_NS[h]}" route add default via "$RT_UL" || return 1
		# Loose or strict reverse-path filtering would hide what the
		# forward rules do: the isolation checks must fail on our drops.
		ip netns exec "${HOST_NS[h]}" sysctl -qw net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0 || return 1
		# A new namespace copies IPv4 forwarding from the root one: start
		# from "off" so the test sees the agent switch it on.
		ip netns exec "${HOST_NS[h]}" sysctl -qw net.ipv4.ip_forward=0 \
			net.ipv6.conf.all.forwarding=0 || return 1
	done
	ip netns exec "$(h1)" nft -f - <<<"$FOREIGN" || return 1
	FOREIGN_LIST=$(ip netns exec "$(h1)" nft list table ip foreign) || return 1
	for k in c11 c12 c13 c14 c15 c21 sp1; do
		container_create "C[$k]" || return 1
	done
	serve srv_out "$OUT_NS" 8000 tcp || return 1
	busywait 3000 _listening "$OUT_NS" -t 8000 || return 1
}

# ---------------------------------------------------------------------------
# Tests.

test_forwarding()
{
	local h vni

	RET=0
	forwarding_is "$(h1)" 0
	check_err $? "forwarding is on before any network"
	[[ -z $(nft_dump "$(h1)") ]]
	check_err $? "a table exists with no network"
	ovnctl_on h1 network create priv --subnet 198.19.3.0/24 --internal >/dev/null
	check_err $? "create priv"
	vni=$(ovnctl_on h1 --json network inspect priv | jq .vni)
	nft_dump "$(h1)" | jq -e --arg br "br-$vni" \
		'.[] | select(.set.name == "internal") | .set.elem == [$br]' >/dev/null
	check_err $? "internal network not in set 'internal'"
	forwarding_is "$(h1)" 0
	check_err $? "an internal network alone switched forwarding on"
	ovnctl_on h1 network create web --subnet 198.19.1.0/24 --subnet fd00:1::/64 >/dev/null &&
		ovnctl_on h1 network create db --subnet 198.19.2.0/24 >/dev/null
	check_err $? "create web, db"
	for h in 1 2; do
		busywait 5000 forwarding_is "${HOST_NS[h]}" 1
		check_err $? "h$h: IPv4 forwarding not switched on"
		[[ $(ip netns exec "${HOST_NS[h]}" sysctl -n net.ipv6.conf.all.forwarding) == 1 ]]
		check_err $? "h$h: IPv6 forwarding not switched on (web has fd00:1::/64)"
	done
	busywait 5000 bridges_are "$(h2)" 3
	check_err $? "h2's table lacks networks created through h1"
	log_test "forwarding on only with a non-internal network; table follows the store"
}

test_routes()
{
	RET=0
	attach 1 "${C[c11]}" web --name c11 --publish 8080:80 --publish 5353:5300/udp \
		--publish 8081:81 &&
		attach 1 "${C[c12]}" web --name c12 &&
		attach 1 "${C[c13]}" priv --name c13 &&
		attach 1 "${C[c14]}" db --name c14 &&
		attach 1 "${C[c15]}" web --name c15 &&
		attach 1 "${C[c15]}" db &&
		attach 2 "${C[c21]}" web --name c21
	check_err $? "attaches failed"
	ip -n "${C[c11]}" route show default | grep -q "via 198.19.1.1"
	check_err $? "c11 has no IPv4 default route via 198.19.1.1"
	ip -n "${C[c11]}" -6 route show default | grep -q "via fd00:1::1"
	check_err $? "c11 has no IPv6 default route via fd00:1::1"
	[[ -z $(ip -n "${C[c13]}" route show default) ]]
	check_err $? "c13 on internal priv has a default route"
	log_test "default routes via the gateway, none on an internal network"
}

# The gateway answers on every host by itself: its address is never a
# remote neighbour, and resolving it sends nothing over VxLAN.
test_gateway_local()
{
	local vni pid n

	RET=0
	vni=$(ovnctl_on h1 --json network inspect web | jq .vni)
	neigh_on h2 "$vni" | grep -qwE '198\.19\.1\.1|fd00:1::1'
	check_fail $? "h2 holds the gateway as a remote neighbour on vx-$vni"
	# VxLAN frames whose inner frame is ARP, or ICMPv6 neighbour
	# solicitation/advertisement (offsets from the UDP header: 8 UDP + 8
	# VxLAN + 12 = inner ethertype; inner IPv6 next header at 36, ICMPv6
	# type at 70). Other multicast (MLD reports) may cross; ARP/ND not.
	spawn_bg tcpd ip netns exec "$(h2)" timeout 4 tcpdump -l -n -i eth0 -c 5 \
		'udp port 4789 and (udp[28:2] = 0x0806 or (udp[28:2] = 0x86dd and udp[36] = 58 and (udp[70] = 135 or udp[70] = 136)))' \
		>"$T/vx.txt" 2>"$T/vx.err"
	busywait 3000 grep -q "listening on" "$T/vx.err"
	ip -n "${C[c21]}" neigh flush dev eth0
	ip netns exec "${C[c21]}" ping -c1 -W1 198.19.1.1 >/dev/null
	check_err $? "c21 cannot reach its gateway"
	ip netns exec "${C[c21]}" ping -6 -c1 -W1 fd00:1::1 >/dev/null
	check_err $? "c21 cannot reach its IPv6 gateway"
	spawn_wait tcpd
	n=$(grep -c . "$T/vx.txt")
	((n == 0))
	check_err $? "$n ARP/ND frames crossed VxLAN while c21 resolved its gateway: $(head -n 3 "$T/vx.txt")"
	ip -n "${C[c21]}" neigh show 198.19.1.1 | grep -q "$(ip -n "$(h2)" -j link show "br-$vni" |
		jq -r '.[0].address')"
	check_err $? "c21's gateway MAC is not h2's bridge MAC"
	log_test "gateway answered locally, nothing over VxLAN"
}

test_egress()
{
	RET=0
	answer_is "${C[c11]}" "$OUT_IP" 8000 tcp "tcp 198.18.0.1"
	check_err $? "c11 (h1) -> outside: got '$(ask "${C[c11]}" "$OUT_IP" 8000)', want h1's address"
	answer_is "${C[c21]}" "$OUT_IP" 8000 tcp "tcp 198.18.0.2"
	check_err $? "c21 (h2) -> outside: got '$(ask "${C[c21]}" "$OUT_IP" 8000)', want h2's address"
	log_test "containers reach the outside, masqueraded to their host"
}

# priv has no route out; even a container that forces one (on-link default
# route, the bridge's MAC as next hop) gets nothing forwarded.
test_internal()
{
	local mac vni

	RET=0
	[[ -z $(ask "${C[c13]}" "$OUT_IP" 8000) ]]
	check_err $? "c13 (internal) reached the outside"
	vni=$(ovnctl_on h1 --json network inspect priv | jq .vni)
	mac=$(ip -n "$(h1)" -j link show "br-$vni" | jq -r '.[0].address')
	ip -n "${C[c13]}" route add default dev eth0 &&
		ip -n "${C[c13]}" neigh replace "$OUT_IP" lladdr "$mac" dev eth0 nud permanent
	check_err $? "forcing a route in c13"
	sink sink_out "$OUT_NS" 9000 "$T/sink_out" || check_err 1 "sink"
	busywait 3000 _listening "$OUT_NS" -u 9000
	send_udp "${C[c13]}" "$OUT_IP" 9000 from-c13
	send_udp "${C[c11]}" "$OUT_IP" 9000 from-c11
	busywait 3000 grep -q from-c11 "$T/sink_out"
	check_err $? "control datagram from c11 did not arrive"
	grep -q from-c13 "$T/sink_out"
	check_fail $? "a datagram from internal c13 was forwarded out"
	spawn_stop sink_out
	ip -n "${C[c13]}" route del default dev eth0
	log_test "internal network: no route, nothing forwarded"
}

test_isolation()
{
	local ip14 ip11

	RET=0
	ip14=$(ip_of "${C[c14]}" db)
	ip11=$(ip_of "${C[c11]}" web)
	sink sink14 "${C[c14]}" 9001 "$T/sink14" || check_err 1 "sink"
	busywait 3000 _listening "${C[c14]}" -u 9001
	send_udp "${C[c11]}" "$ip14" 9001 from-c11
	send_udp "${C[c15]}" "$ip14" 9001 from-c15
	busywait 3000 grep -q from-c15 "$T/sink14"
	check_err $? "c15 (on web and db) cannot reach c14 on db"
	grep -q from-c11 "$T/sink14"
	check_fail $? "c11 on web reached c14 on db through h1"
	ip netns exec "${C[c14]}" ping -c1 -W1 "$ip11" >/dev/null
	check_fail $? "c14 on db pinged c11 on web"
	ip netns exec "${C[c15]}" ping -c1 -W1 "$ip11" >/dev/null
	check_err $? "c15 cannot ping c11 on web"
	spawn_stop sink14
	log_test "two networks on one host cannot reach each other"
}

test_publish()
{
	local ip11

	RET=0
	serve srv_tcp "${C[c11]}" 80 tcp && serve srv_udp "${C[c11]}" 5300 udp
	busywait 3000 _listening "${C[c11]}" -t 80 && busywait 3000 _listening "${C[c11]}" -u 5300
	check_err $? "servers in c11 did not start"
	answer_is "$(h2)" 198.18.0.1 8080 tcp "tcp 198.18.0.2"
	check_err $? "tcp from h2: '$(ask "$(h2)" 198.18.0.1 8080)'"
	answer_is "$(h2)" 198.18.0.1 5353 udp "udp 198.18.0.2"
	check_err $? "udp from h2: '$(ask "$(h2)" 198.18.0.1 5353 udp)'"
	answer_is "$OUT_NS" 198.18.0.1 8080 tcp "tcp $OUT_IP"
	check_err $? "tcp from outside keeps the client address: '$(ask "$OUT_NS" 198.18.0.1 8080)'"
	answer_is "$(h1)" 198.18.0.1 8080 tcp "tcp 198.18.0.1"
	check_err $? "tcp from h1 itself: '$(ask "$(h1)" 198.18.0.1 8080)'"
	answer_is "$(h1)" 198.18.0.1 5353 udp "udp 198.18.0.1"
	check_err $? "udp from h1 itself: '$(ask "$(h1)" 198.18.0.1 5353 udp)'"
	answer_is "${C[c12]}" 198.18.0.1 8080 tcp "tcp 198.19.1.1"
	check_err $? "hairpin from c12: '$(ask "${C[c12]}" 198.18.0.1 8080)'"
	answer_is "${C[c12]}" 198.18.0.1 5353 udp "udp 198.19.1.1"
	check_err $? "udp hairpin from c12: '$(ask "${C[c12]}" 198.18.0.1 5353 udp)'"
	answer_is "${C[c11]}" 198.18.0.1 8080 tcp "tcp 198.19.1.1"
	check_err $? "c11 to its own published port: '$(ask "${C[c11]}" 198.18.0.1 8080)'"
	answer_is "${C[c21]}" 198.18.0.1 8080 tcp "tcp 198.18.0.2"
	check_err $? "from c21 on h2: '$(ask "${C[c21]}" 198.18.0.1 8080)'"
	[[ -z $(ask "$(h1)" 198.18.0.2 8080) ]]
	check_err $? "h2 answers on 8080: ports are per host"
	ip11=$(ip_of "${C[c11]}" web)
	[[ -z $(ask "$(h2)" "$ip11" 80) ]]
	check_err $? "c11's unpublished address is reachable from outside its host"
	serve srv_tcp6 "${C[c11]}" 81 tcp6
	busywait 3000 _listening "${C[c11]}" -t 81
	answer_is "$(h1)" fd00:1::1 8081 tcp6 "tcp6 [fd00:0001:0000:0000:0000:0000:0000:0001]"
	check_err $? "IPv6 from h1 to its address fd00:1::1: '$(ask "$(h1)" fd00:1::1 8081 tcp6)'"
	answer_is "${C[c12]}" fd00:1::1 8081 tcp6 "tcp6 [fd00:0001:0000:0000:0000:0000:0000:0001]"
	check_err $? "IPv6 hairpin from c12: '$(ask "${C[c12]}" fd00:1::1 8081 tcp6)'"
	log_test "published tcp and udp ports: other host, outside, same host, hairpin"
}

test_publish_bad()
{
	local before after n0 rc

	RET=0
	before=$(nft_dump "$(h1)")
	n0=$(endpoint_count)
	attach 1 "${C[sp1]}" web --publish 70000:80 2>"$T/err"
	rc=$?
	((rc == 2)) && grep -q "ports must be numbers from 1 to 65535" "$T/err"
	check_err $? "port 70000: exit $rc, '$(cat "$T/err")'"
	attach 1 "${C[sp1]}" web --publish 80:80/sctp 2>"$T/err"
	check_fail $? "protocol sctp accepted"
	attach 1 "${C[sp1]}" web --publish 198.18.0.99:8081:80 2>"$T/err"
	rc=$?
	((rc == 1)) && grep -q "198.18.0.99 is not an address of this host" "$T/err"
	check_err $? "foreign HOST_IP: exit $rc, '$(cat "$T/err")'"
	attach 1 "${C[sp1]}" web --publish 8080:81 2>"$T/err"
	rc=$?
	((rc == 1)) && grep -q "host port 8080/tcp is already published" "$T/err"
	check_err $? "duplicate host port: exit $rc, '$(cat "$T/err")'"
	attach 1 "${C[sp1]}" web --publish 9000:90 --publish 198.18.0.1:9000:91 2>"$T/err"
	rc=$?
	((rc != 0)) && grep -q "use the same host port" "$T/err"
	check_err $? "duplicate inside one request: exit $rc, '$(cat "$T/err")'"
	attach 1 "${C[sp1]}" priv --publish 8090:80 2>"$T/err"
	rc=$?
	((rc == 1)) && grep -q "internal" "$T/err"
	check_err $? "publish on internal: exit $rc, '$(cat "$T/err")'"
	curl -s --unix-socket "$(agent_sock h1)" -o "$T/body" -w '%{http_code}' \
		-d '{"netns":"'"${C[sp1]}"'","publish":[8080]}' \
		http://x/v1/networks/web/endpoints >"$T/code"
	[[ $(cat "$T/code") == 400 ]]
	check_err $? "API publish [8080]: status $(cat "$T/code")"
	after=$(nft_dump "$(h1)")
	[[ $before == "$after" ]]
	check_err $? "the table changed after refused requests"
	[[ $(endpoint_count) == "$n0" ]]
	check_err $? "endpoint count changed after refused requests"
	[[ $(ip -n "${C[sp1]}" -o link show | grep -vc ': lo:') == 0 ]]
	check_err $? "sp1 got an interface from a refused attach"
	log_test "bad --publish is refused with a clear error and changes nothing"
}

# hup_wait AGENT: SIGHUP (a reconcile pass) and wait until it is logged.
hup_wait()
{
	local n

	n=$(grep -c "SIGHUP" "$(agent_dir "$1")/agent.log")
	kill -HUP "$(agent_pid "$1")"
	slowwait 3 log_count "$1" "SIGHUP" "$((n + 1))"
}

test_detach_rules()
{
	local before with after writes

	RET=0
	before=$(nft_dump "$(h1)")
	writes=$(grep -c "table inet ovn written" "$(agent_dir h1)/agent.log")
	attach 1 "${C[sp1]}" web --publish 9090:90 --publish 198.18.0.1:9091:91/udp
	check_err $? "attach sp1 with ports"
	hup_wait h1
	log_count h1 "table inet ovn written" "$writes"
	check_err $? "the table was rewritten after an incremental attach (reconcile should find it current)"
	with=$(nft_dump "$(h1)")
	[[ $(map_len "$with" pub4any) == $(($(map_len "$before" pub4any) + 1)) &&
		$(map_len "$with" pub4) == $(($(map_len "$before" pub4) + 1)) ]]
	check_err $? "the new mappings are not in the table"
	ovnctl_on h1 network detach web --netns "${C[sp1]}" >/dev/null
	check_err $? "detach sp1"
	after=$(nft_dump "$(h1)")
	[[ $before == "$after" ]]
	check_err $? "detach left the table different from before the attach"
	hup_wait h1
	log_count h1 "table inet ovn written" "$writes"
	check_err $? "the table was rewritten after an incremental detach"
	log_test "detach removes exactly its port mappings"
}

test_network_rm_rules()
{
	local b1 b2

	RET=0
	b1=$(nft_dump "$(h1)")
	b2=$(nft_dump "$(h2)")
	ovnctl_on h1 network create tmp --subnet 198.19.5.0/24 >/dev/null
	check_err $? "create tmp"
	busywait 5000 dump_differs "$(h2)" "$b2"
	check_err $? "h2's table did not gain network tmp"
	nft_dump "$(h1)" | jq -e '[.[] | select(.set.name == "nets4") | .set.elem[]] | map(tostring) | any(test("198.19.5.0"))' >/dev/null
	check_err $? "tmp's subnet not in nets4"
	attach 1 "${C[sp1]}" tmp --publish 9092:92
	check_err $? "attach sp1 to tmp"
	ovnctl_on h1 network rm --force tmp >/dev/null
	check_err $? "rm tmp"
	[[ $(nft_dump "$(h1)") == "$b1" ]]
	check_err $? "h1's table differs after network rm"
	busywait 5000 dump_is "$(h2)" "$b2"
	check_err $? "h2's table differs after network rm"
	log_test "network rm removes exactly its rules (both hosts)"
}

test_restart()
{
	local before

	RET=0
	before=$(nft_dump "$(h1)")
	agent_stop h1
	check_err $? "h1 did not stop on SIGTERM"
	[[ $(nft_dump "$(h1)") == "$before" ]]
	check_err $? "the table changed when the agent stopped"
	answer_is "$(h2)" 198.18.0.1 8080 tcp "tcp 198.18.0.2"
	check_err $? "published port down while the agent is stopped"
	cluster_agent_start 1
	check_err $? "h1 restart"
	[[ $(nft_dump "$(h1)") == "$before" ]]
	check_err $? "table after SIGTERM restart differs"
	agent_kill h1
	ip netns exec "$(h1)" nft delete element inet ovn pub4any '{ tcp . 8080 }'
	cluster_agent_start 1
	check_err $? "h1 restart after kill -9"
	[[ $(nft_dump "$(h1)") == "$before" ]]
	check_err $? "table after kill -9 restart differs (a lost element is not restored)"
	answer_is "$(h2)" 198.18.0.1 8080 tcp "tcp 198.18.0.2"
	check_err $? "published port after restart"
	answer_is "${C[c21]}" "$OUT_IP" 8000 tcp "tcp 198.18.0.2"
	answer_is "${C[c11]}" "$OUT_IP" 8000 tcp "tcp 198.18.0.1"
	check_err $? "egress after restart"
	[[ $(ip netns exec "$(h1)" nft list tables | grep -c .) == 2 ]]
	check_err $? "tables in h1: $(ip netns exec "$(h1)" nft list tables | tr '\n' ' ')"
	# Reconcile (SIGHUP here, every 30 s otherwise) rewrites the table only
	# when something touched nftables: not after an idle SIGHUP, yes after
	# an element was deleted behind the agent's back.
	hup_wait h1
	hup_wait h1
	! grep -q "table inet ovn rewritten" "$(agent_dir h1)/agent.log"
	check_err $? "an idle reconcile rewrote the table"
	ip netns exec "$(h1)" nft delete element inet ovn pub4any '{ udp . 5353 }'
	kill -HUP "$(agent_pid h1)"
	busywait 3000 dump_is "$(h1)" "$before"
	check_err $? "reconcile did not restore a deleted element"
	grep -q "table inet ovn rewritten" "$(agent_dir h1)/agent.log"
	check_err $? "no log line for the rewrite"
	# Killed between the kernel half of an attach (veth and map element
	# made) and its store record: the restart removes both.
	agent_stop h1
	OVN_CRASH_AT=attach-kernel cluster_agent_start 1
	attach 1 "${C[sp1]}" web --publish 9093:93 2>/dev/null
	check_fail $? "attach survived OVN_CRASH_AT=attach-kernel"
	# (bash reports the self-killed agent when it reaps it: not news here)
	busywait 3000 _pid_gone "$(agent_pid h1)" 2>/dev/null
	agent_kill h1 2>/dev/null
	nft_dump "$(h1)" | jq -e '[.[] | select(.map.name == "pub4any") | .map.elem[]] | map(tostring) | any(test("9093"))' >/dev/null
	check_err $? "the crashed attach's map element is not in the table"
	cluster_agent_start 1
	check_err $? "h1 restart after the crash"
	[[ $(nft_dump "$(h1)") == "$before" ]]
	check_err $? "the crashed attach's map element survived the restart"
	log_test "agent restart (SIGTERM, kill -9, crash in attach): same table, no duplicate"
}

test_teardown()
{
	local k

	RET=0
	for k in c11 c12 c15; do
		ovnctl_on h1 network detach web --netns "${C[$k]}" >/dev/null
	done
	ovnctl_on h2 network detach web --netns "${C[c21]}" >/dev/null
	ovnctl_on h1 network detach db --netns "${C[c14]}" >/dev/null
	ovnctl_on h1 network detach db --netns "${C[c15]}" >/dev/null
	ovnctl_on h1 network detach priv --netns "${C[c13]}" >/dev/null
	check_err $? "detaches"
	nft_dump "$(h1)" | jq -e '[.[] | select(.map) | .map.elem // [] | .[]] | length == 0' >/dev/null
	check_err $? "port mappings left after every detach"
	for net in web db priv; do
		ovnctl_on h1 network rm "$net" >/dev/null
		check_err $? "rm $net"
	done
	[[ -z $(nft_dump "$(h1)") ]]
	check_err $? "h1 keeps table inet ovn with no network"
	busywait 5000 dump_is "$(h2)" ""
	check_err $? "h2 keeps table inet ovn with no network"
	[[ $(ip netns exec "$(h1)" nft list table ip foreign) == "$FOREIGN_LIST" ]]
	check_err $? "the foreign table changed"
	log_test "teardown: no ovn table left, foreign table untouched"
}

trap cleanup EXIT
require_root
require_ovn_bin
require_command jq
require_command socat
require_command nft
require_command tcpdump
require_command curl
tmpdir_setup || exit 1
if ! setup; then
	RET=1
	retmsg="setup failed (see above)"
	log_test "egress setup"
	tests_summary
	exit
fi
tests_run
RET=0
for h in 1 2; do
	agent_stop "h$h"
	check_err $? "h$h did not stop on SIGTERM within 10 s"
	grep -E "Sanitizer|runtime error:" "$(agent_dir "h$h")/agent.log"
	check_fail $? "sanitizer reports in h$h's log"
done
log_test "agents stop cleanly, no sanitizer reports"
tests_summary
