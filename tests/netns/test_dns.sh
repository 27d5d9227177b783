#!/usr/bin/env bash
# Embedded DNS: each container asks 127.0.0.11 inside its own namespace, the
# agent of its host answers the names of its networks and forwards the rest.
#
#   c1 c3 c5 c6 sp1 pid1          c2 c4 c7             up: dnsmasq
#    |  |  |  |  |   |             |  |  |              ext.test -> 198.19.250.1
#   h1: ovnagent "h1"            h2: ovnagent "h2"      everything else NXDOMAIN
#   upstreams [198.18.0.253]     upstreams [198.18.0.252] (nobody: dead)
#   eth0 198.18.0.1/16           eth0 198.18.0.2/16     eth0 198.18.0.253/16
#    |                            |                      |        st: redis
#   -h1---------------------------h2-------- br0 --------up-------st-  ul
#
# Networks: net1 198.19.10.0/24 + fd00:10::/64 (c1 "c1" h1, c2 "c2" h2,
# c3 alias "svc" h1, c4 alias "svc" h2, sp1 h1 for attach/detach);
# net2 198.19.11.0/24, IPv4 only (c5 "v4only" h1, c6 "asker2" h1: NODATA
# and "names of other networks"); net3 198.19.12.0/24 --internal (c7 "int7"
# h2). pid1 (h1) is a process's namespace attached by --pid to net1 as
# "bypid"; c4 is reused by test_detach_remote as "gone".
# Every query runs inside a container: `ip netns exec C dig @127.0.0.11 ...`.
# Upstream traffic never leaves the test namespaces: both agents have
# dns.upstreams set (h2's to an address nobody answers on).

# shellcheck disable=SC2034
ALL_TESTS="test_a_aaaa test_case_dot test_ptr test_round_robin test_nodata_nxdomain
	test_tcp_edns test_other_network test_internal test_forward test_dead_upstream
	test_resolv_conf test_pid_attach test_detach_remote test_container_gone test_restart test_resolv_reload
	test_metrics
	test_latency"
HERE=$(dirname "$(readlink -f "$0")")
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$HERE/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_cluster.sh
source "$HERE/lib_cluster.sh"

UP_IP=198.18.0.253
DEAD_IP=198.18.0.252
UP_NS=""
DNS_ADDR=127.0.0.11
declare -A C=()		# key -> container namespace
PID1=""			# the process whose namespace is attached by --pid
PID_NS=""
VANISH_NS=""		# test_container_gone's container

# Agents get their upstream in the config: h1 the test resolver, h2 a dead
# address. (lib_cluster.sh's version passes STORE_YAML only.)
cluster_agent_start()
{
	local up=\"$UP_IP\"

	(($1 == 2)) && up=\"$DEAD_IP\"
	[[ $1 == "${HOST_RESOLV_ON:-}" ]] && up=""	# the host's resolv.conf
	agent_start "${HOST_NS[$1]}" "h$1" "$STORE_YAML" "dns: { upstreams: [ $up ], ttl: 5 }"
}

# q C ARGS...: dig from container C at the embedded server, short timeouts.
q()
{
	local c=$1

	shift
	ip netns exec "${C[$c]}" dig +tries=1 +time=3 @"$DNS_ADDR" "$@" 2>&1
}

# qs C ARGS...: the answer lines only (+short), sorted.
qs()
{
	q "$@" +short | sort
}

# status_of OUT: the rcode of a full dig output.
status_of()
{
	sed -n 's/.*status: \([A-Z]*\),.*/\1/p' <<<"$1"
}

ip_of() { ep_field "${C[$1]}" "$2" "$3"; }

# want_status C STATUS ARGS...: busywait-friendly.
want_status()
{
	local c=$1 want=$2 out

	shift 2
	out=$(q "$c" "$@")
	[[ $(status_of "$out") == "$want" ]]
}

upstream_start()
{
	ns_create UP_NS up || return 1
	ip -n "$UL_NS" -batch - <<-EOF || return 1
		link add upst mtu $UNDERLAY_MTU type veth peer name eth0 mtu $UNDERLAY_MTU netns $UP_NS
		link set upst master br0 up
	EOF
	ip -n "$UP_NS" -batch - <<-EOF || return 1
		addr add $UP_IP/16 dev eth0
		link set eth0 up
	EOF
	spawn_bg upstream ip netns exec "$UP_NS" dnsmasq --no-daemon --conf-file=/dev/null \
		--no-resolv --no-hosts --listen-address="$UP_IP" --bind-interfaces --pid-file= \
		--address=/ext.test/198.19.250.1 --server=/#/ --log-queries \
		>"$T/dnsmasq.log" 2>&1 || return 1
	slowwait 5 ip netns exec "$UP_NS" dig +short +tries=1 +time=1 @"$UP_IP" ext.test \
		>/dev/null
}

attach()
{
	local h=$1 key=$2 net=$3

	shift 3
	ovnctl_on "h$h" network attach "$net" --netns "${C[$key]}" "$@" >/dev/null
}

setup()
{
	local k out

	cluster_start 2 redis || return
	upstream_start || { echo "dnsmasq did not start: $(tail -3 "$T/dnsmasq.log")"; return 1; }
	for k in c1 c2 c3 c4 c5 c6 c7 sp1; do
		container_create "C[$k]" || return 1
		# The files of containers still attached when the agents stop
		# stay (by design); the test removes them.
		defer rm -rf "/etc/netns/${C[$k]:?}"
	done
	out=$(ovnctl_on h1 network create net1 --subnet 198.19.10.0/24 \
		--subnet fd00:10::/64 2>&1) || { echo "$out"; return 1; }
	out=$(ovnctl_on h1 network create net2 --subnet 198.19.11.0/24 2>&1) ||
		{ echo "$out"; return 1; }
	out=$(ovnctl_on h1 network create net3 --subnet 198.19.12.0/24 --internal 2>&1) ||
		{ echo "$out"; return 1; }
	busywait 10000 _nets_on_h2 || { echo "networks not seen by h2"; return 1; }
	if ! { attach 1 c1 net1 --name c1 && attach 2 c2 net1 --name c2 &&
		attach 1 c5 net2 --name v4only && attach 1 c6 net2 --name asker2 &&
		attach 2 c7 net3 --name int7; }; then
		echo "attach failed"
		return 1
	fi
	# Visible everywhere before the checks start.
	busywait 10000 want_status c1 NOERROR c2.net1 A ||
		{ echo "c1 does not resolve c2: $(q c1 c2.net1)"; return 1; }
}

_nets_on_h2()
{
	ovnctl_on h2 network ls 2>/dev/null | grep -q '^net3 '
}

test_a_aaaa()
{
	local v4 v6 out
	RET=0
	v4=$(ip_of c2 net1 ipv4) v6=$(ip_of c2 net1 ipv6)
	out=$(qs c1 c2 A)
	[[ $out == "$v4" ]]
	check_err $? "A c2: '$out', want $v4"
	out=$(qs c1 c2.net1 A)
	[[ $out == "$v4" ]]
	check_err $? "A c2.net1: '$out', want $v4"
	out=$(qs c1 c2 AAAA)
	[[ $out == "$v6" ]]
	check_err $? "AAAA c2: '$out', want $v6"
	out=$(qs c1 c2.net1 AAAA)
	[[ $out == "$v6" ]]
	check_err $? "AAAA c2.net1: '$out', want $v6"
	out=$(q c1 c2.net1 A)
	grep -q 'flags: qr aa rd ra' <<<"$out"
	check_err $? "local answer without AA or RA: $(grep flags <<<"$out")"
	log_test "A/AAAA of a container on the other host, bare and name.network"
}

test_case_dot()
{
	local v4 out
	RET=0
	v4=$(ip_of c2 net1 ipv4)
	for name in C2 c2. C2.NET1. c2.Net1; do
		out=$(qs c1 "$name" A)
		[[ $out == "$v4" ]]
		check_err $? "A $name: '$out', want $v4"
	done
	q c1 C2.NeT1 A | grep -q '^C2\.NeT1\.[[:space:]].*IN[[:space:]]*A'
	check_err $? "the answer does not echo the question's case"
	log_test "case-insensitive names, trailing dot, case echoed"
}

test_ptr()
{
	local v4 v6 out
	RET=0
	v4=$(ip_of c2 net1 ipv4) v6=$(ip_of c2 net1 ipv6)
	out=$(qs c1 -x "$v4")
	[[ $out == c2.net1. ]]
	check_err $? "PTR $v4: '$out', want c2.net1."
	out=$(qs c1 -x "$v6")
	[[ $out == c2.net1. ]]
	check_err $? "PTR $v6: '$out', want c2.net1."
	out=$(q c1 -x 198.19.10.250)
	[[ $(status_of "$out") == NXDOMAIN ]]
	check_err $? "PTR of an unused overlay address: $(status_of "$out"), want NXDOMAIN"
	log_test "PTR v4 and v6 of a remote container; unknown overlay address NXDOMAIN"
}

test_round_robin()
{
	local v3 v4 out firsts="" i
	RET=0
	out=$(attach 1 c3 net1 --alias svc 2>&1)
	check_err $? "attach c3 --alias svc: $out"
	out=$(attach 2 c4 net1 --alias svc 2>&1)
	check_err $? "attach c4 --alias svc: $out"
	v3=$(ip_of c3 net1 ipv4) v4=$(ip_of c4 net1 ipv4)
	out=$(busywait 5000 bash -c "[[ \$(ip netns exec ${C[c1]} dig +short @$DNS_ADDR svc | wc -l) == 2 ]] && echo ok")
	[[ $out == ok ]]
	check_err $? "svc does not get two A records"
	out=$(qs c1 svc)
	[[ $out == "$(printf '%s\n' "$v3" "$v4" | sort)" ]]
	check_err $? "svc: '$out', want $v3 and $v4"
	for i in 1 2 3 4 5 6 7 8; do
		firsts+=$(q c1 svc +short | head -n 1)" "
	done
	[[ $firsts == *"$v3"* && $firsts == *"$v4"* ]]
	check_err $? "first record never changes over 8 queries: $firsts"
	ovnctl_on h1 network detach net1 --netns "${C[c3]}" >/dev/null
	ovnctl_on h2 network detach net1 --netns "${C[c4]}" >/dev/null
	log_test "alias shared by two endpoints on two hosts: both A, rotating"
}

test_nodata_nxdomain()
{
	local out
	RET=0
	out=$(q c6 v4only AAAA)
	[[ $(status_of "$out") == NOERROR ]] && grep -q 'ANSWER: 0,' <<<"$out"
	check_err $? "AAAA of an IPv4-only name: $(status_of "$out"), want NOERROR with no answer"
	out=$(q c6 v4only.net2 AAAA)
	[[ $(status_of "$out") == NOERROR ]] && grep -q 'ANSWER: 0,' <<<"$out"
	check_err $? "AAAA v4only.net2: $(status_of "$out"), want NODATA"
	out=$(q c6 nosuchname A)
	[[ $(status_of "$out") == NXDOMAIN ]]
	check_err $? "unknown single-label name: $(status_of "$out"), want NXDOMAIN"
	out=$(q c6 nosuchname.net2 A)
	[[ $(status_of "$out") == NXDOMAIN ]]
	check_err $? "unknown name in net2: $(status_of "$out"), want NXDOMAIN"
	out=$(q c6 net2 A)
	[[ $(status_of "$out") == NOERROR ]]
	check_err $? "the zone apex net2: $(status_of "$out"), want NODATA (RFC 8020)"
	log_test "NODATA (AAAA of an IPv4-only name) vs NXDOMAIN (unknown name)"
}

test_tcp_edns()
{
	local v4 out
	RET=0
	v4=$(ip_of c2 net1 ipv4)
	out=$(q c1 +tcp c2.net1)
	grep -q "^c2\.net1\..*$v4" <<<"$out"
	check_err $? "over TCP: $(status_of "$out")"
	out=$(q c1 +bufsize=1232 c2.net1)
	grep -q 'EDNS: version: 0, flags:; udp: 1232' <<<"$out"
	check_err $? "no OPT record (udp 1232) in the reply to an EDNS query"
	out=$(q c1 +noedns c2.net1)
	! grep -q 'OPT PSEUDOSECTION' <<<"$out" && grep -q "$v4" <<<"$out"
	check_err $? "+noedns: OPT in the reply or no answer"
	out=$(q c1 +edns=1 +noednsneg c2.net1)
	[[ $(status_of "$out") == BADVERS ]]
	check_err $? "EDNS version 1: $(status_of "$out"), want BADVERS"
	log_test "TCP, EDNS0 (OPT echoed, +noedns, BADVERS)"
}

test_other_network()
{
	local out
	RET=0
	out=$(q c6 c2 A)
	[[ $(status_of "$out") == NXDOMAIN ]]
	check_err $? "c6 (net2 only) asking c2 (net1): $(status_of "$out"), want NXDOMAIN"
	out=$(q c6 c2.net1 A)
	[[ $(status_of "$out") == NXDOMAIN ]] && ! grep -q "$(ip_of c2 net1 ipv4)" <<<"$out"
	check_err $? "c6 asking c2.net1: $(status_of "$out"), want NXDOMAIN"
	out=$(q c1 v4only A)
	[[ $(status_of "$out") == NXDOMAIN ]]
	check_err $? "c1 (net1) asking v4only (net2): $(status_of "$out"), want NXDOMAIN"
	log_test "names of a network the container is not on: NXDOMAIN"
}

test_internal()
{
	local out
	RET=0
	out=$(q c7 int7 A)
	[[ $(status_of "$out") == NOERROR ]] && grep -q "$(ip_of c7 net3 ipv4)" <<<"$out"
	check_err $? "own name on an internal network: $(status_of "$out")"
	out=$(q c7 ext.test A)
	[[ $(status_of "$out") == REFUSED ]]
	check_err $? "forwardable name from an internal-only view: $(status_of "$out"), want REFUSED"
	log_test "internal network: names answered, nothing forwarded"
}

test_forward()
{
	local out before after
	RET=0
	before=$(grep -c 'query\[A\] ext.test' "$T/dnsmasq.log")
	out=$(qs c1 ext.test A)
	[[ $out == 198.19.250.1 ]]
	check_err $? "ext.test through the upstream: '$out'"
	out=$(q c1 nope.ext2.test A)
	[[ $(status_of "$out") == NXDOMAIN ]]
	check_err $? "upstream NXDOMAIN passed through: $(status_of "$out")"
	after=$(grep -c 'query\[A\] ext.test' "$T/dnsmasq.log")
	((after == before + 1))
	check_err $? "dnsmasq saw $((after - before)) queries for ext.test, want 1"
	# Names of the asker's own networks never go upstream (c2.net1 asked
	# from c6, which is not on net1, does: like Docker, see docs/dns.md).
	grep -E 'query\[[A-Z]+\] (c1|c2|v4only|asker2|int7|svc|gone|bypid) from' \
		"$T/dnsmasq.log"
	check_fail $? "a container name leaked upstream"
	log_test "unknown names forwarded to the configured upstream"
}

test_dead_upstream()
{
	local out t0 t1 ms
	RET=0
	t0=${EPOCHREALTIME//[.,]/}
	out=$(ip netns exec "${C[c2]}" dig +tries=1 +time=5 @"$DNS_ADDR" ext.test 2>&1)
	t1=${EPOCHREALTIME//[.,]/}
	ms=$(((t1 - t0) / 1000))
	[[ $(status_of "$out") == SERVFAIL ]]
	check_err $? "dead upstream: '$(status_of "$out")' after $ms ms, want SERVFAIL"
	((ms < 4000))
	check_err $? "SERVFAIL took $ms ms (client timeout 5 s)"
	log_test "dead upstream: SERVFAIL within the deadline" "${ms} ms"
}

_resolv()
{
	echo "/etc/netns/${C[$1]}/resolv.conf"
}

_file_gone() { [[ ! -e $1 ]]; }

test_resolv_conf()
{
	local f d out
	RET=0
	f=$(_resolv c1)
	grep -qx "nameserver $DNS_ADDR" "$f" && grep -qx 'options ndots:0' "$f"
	check_err $? "$f: $(cat "$f" 2>&1)"
	out=$(ip netns exec "${C[c1]}" getent hosts c2.net1)
	[[ $out == "$(ip_of c2 net1 ipv6) "* || $out == "$(ip_of c2 net1 ipv4) "* ]]
	check_err $? "getent hosts c2.net1 through resolv.conf: '$out'"
	f=$(_resolv sp1) d=/etc/netns/${C[sp1]:?}
	out=$(attach 1 sp1 net1 --name sp1 2>&1)
	check_err $? "attach sp1: $out"
	[[ -f $f ]]
	check_err $? "$f not created on attach"
	ovnctl_on h1 network detach net1 --netns "${C[sp1]}" >/dev/null
	check_err $? "detach sp1"
	[[ ! -e $f && ! -e $d ]]
	check_err $? "$d still there after the last detach"
	# A file the agent did not write is left alone.
	mkdir -p "$d" && echo "nameserver 192.0.2.1" >"$f"
	out=$(attach 1 sp1 net1 --name sp1 2>&1)
	check_err $? "attach sp1 again: $out"
	grep -qx 'nameserver 192.0.2.1' "$f"
	check_err $? "a foreign resolv.conf was overwritten: $(cat "$f")"
	ovnctl_on h1 network detach net1 --netns "${C[sp1]}" >/dev/null
	grep -qx 'nameserver 192.0.2.1' "$f"
	check_err $? "a foreign resolv.conf was removed on detach"
	rm -rf "$d"
	log_test "/etc/netns/NAME/resolv.conf written, removed, foreign file kept"
}

test_pid_attach()
{
	local out
	RET=0
	ns_create PID_NS pid1 || { check_err 1 "netns"; log_test "attach by PID"; return; }
	spawn_bg pid1 ip netns exec "$PID_NS" sleep 600
	PID1=$SPAWN_PID
	busywait 2000 bash -c "[[ \$(readlink /proc/$PID1/ns/net) == \$(ip netns exec $PID_NS readlink /proc/self/ns/net) ]]"
	out=$(ovnctl_on h1 network attach net1 --pid "$PID1" --name bypid 2>&1)
	check_err $? "attach --pid: $out"
	out=$(nsenter -t "$PID1" -n dig +short +tries=1 +time=3 @"$DNS_ADDR" c2.net1)
	[[ $out == "$(ip_of c2 net1 ipv4)" ]]
	check_err $? "dig from the PID's namespace: '$out'"
	[[ ! -e /etc/netns/$PID_NS ]]
	check_err $? "a file was written for a PID attach"
	out=$(busywait 5000 bash -c "ip netns exec ${C[c2]} dig +short @$DNS_ADDR bypid")
	[[ -n $out ]]
	check_err $? "c2 (h2) does not resolve bypid"
	ovnctl_on h1 network detach net1 --pid "$PID1" >/dev/null
	check_err $? "detach --pid"
	spawn_stop pid1
	cleanup_ns "$PID_NS"
	PID_NS=""
	log_test "attach by PID: served, no file written"
}

test_detach_remote()
{
	local out
	RET=0
	out=$(attach 2 c4 net1 --name gone 2>&1)
	check_err $? "attach c4 as gone: $out"
	busywait 5000 want_status c1 NOERROR gone A
	check_err $? "gone not visible from h1"
	ovnctl_on h2 network detach net1 --netns "${C[c4]}" >/dev/null
	check_err $? "detach on h2"
	busywait 5000 want_status c1 NXDOMAIN gone A
	check_err $? "gone still answered on h1 after its detach on h2: $(qs c1 gone)"
	busywait 5000 want_status c1 NXDOMAIN gone.net1 A
	check_err $? "gone.net1 still answered"
	log_test "a name goes when its endpoint detaches on the other host"
}

# A container deleted without a detach: the agent's sockets keep its
# namespace alive, so the agent itself must notice and let go.
test_container_gone()
{
	local ns out id
	RET=0
	ns_create VANISH_NS vanish || { check_err 1 "netns"; log_test "container gone"; return; }
	ns=$VANISH_NS
	out=$(ovnctl_on h1 --json network attach net1 --netns "$ns" --name vanish 2>&1)
	check_err $? "attach: $out"
	id=$(jq -r .host_ifname <<<"$out")
	busywait 5000 want_status c2 NOERROR vanish A
	check_err $? "vanish not visible from h2"
	cleanup_ns "$ns"
	kill -HUP "$(agent_pid h1)"
	busywait 5000 want_status c2 NXDOMAIN vanish A
	check_err $? "vanish still answered after its namespace was deleted"
	busywait 5000 bash -c "! ip -n ${HOST_NS[1]} link show $id &>/dev/null"
	check_err $? "$id still in h1: the namespace is still pinned"
	[[ ! -e /etc/netns/$ns ]]
	check_err $? "/etc/netns/$ns left behind"
	rm -rf "/etc/netns/${ns:?}"
	log_test "a deleted container's namespace is released and its names go"
}

test_restart()
{
	local out v4
	RET=0
	v4=$(ip_of c2 net1 ipv4)
	agent_stop h1
	check_err $? "h1 did not stop on SIGTERM"
	[[ -f $(_resolv c1) ]]
	check_err $? "resolv.conf removed by an agent stop"
	cluster_agent_start 1
	check_err $? "h1 did not restart"
	out=$(qs c1 c2.net1)
	[[ $out == "$v4" ]]
	check_err $? "after a restart: '$out'"
	agent_kill h1
	cluster_agent_start 1
	check_err $? "h1 did not restart after kill -9"
	out=$(qs c1 +tcp c2.net1)
	[[ $out == "$v4" ]]
	check_err $? "after kill -9 and restart (TCP): '$out'"
	out=$(qs c1 ext.test)
	[[ $out == 198.19.250.1 ]]
	check_err $? "forwarding after restart: '$out'"
	grep -qx "nameserver $DNS_ADDR" "$(_resolv c1)"
	check_err $? "resolv.conf lost across restarts"
	log_test "agent restart (SIGTERM and kill -9): running containers keep DNS"
}

# With dns.upstreams empty the agent reads its host's /etc/resolv.conf (here
# /etc/netns/H1/resolv.conf, which `ip netns exec` mounts there) and re-reads
# it on SIGHUP; a change restarts the transport and reopens the listeners.
test_resolv_reload()
{
	local f=/etc/netns/${HOST_NS[1]:?}/resolv.conf out
	RET=0
	mkdir -p "${f%/*}" && echo "nameserver $DEAD_IP" >"$f"
	defer rm -rf "${f%/*}"
	agent_stop h1
	HOST_RESOLV_ON=1 cluster_agent_start 1
	check_err $? "h1 did not start with upstreams from resolv.conf"
	out=$(q c1 ext.test)
	[[ $(status_of "$out") == SERVFAIL ]]
	check_err $? "with a dead upstream in resolv.conf: $(status_of "$out"), want SERVFAIL"
	echo "nameserver $UP_IP" >"$f"	# in place: the bind mount stays
	kill -HUP "$(agent_pid h1)"
	out=$(busywait 5000 bash -c "ip netns exec ${C[c1]} dig +short +tries=1 +time=1 @$DNS_ADDR ext.test | grep .")
	[[ $out == 198.19.250.1 ]]
	check_err $? "after SIGHUP with a new resolv.conf: '$out'"
	out=$(qs c1 +tcp c2.net1)
	[[ $out == "$(ip_of c2 net1 ipv4)" ]]
	check_err $? "local names after the transport restart: '$out'"
	agent_stop h1
	cluster_agent_start 1
	check_err $? "h1 did not restart with its usual config"
	log_test "upstreams from the host's resolv.conf, re-read on SIGHUP"
}

test_metrics()
{
	local out
	RET=0
	q c1 c2.net1 >/dev/null
	q c1 ext.test >/dev/null
	out=$(curl -s --unix-socket "$(agent_sock h1)" http://x/metrics 2>/dev/null)
	if [[ -z $out ]]; then
		log_test_skip "DNS metrics" "no curl or no /metrics route"
		return
	fi
	grep -q '^ovn_dns_queries_total [1-9]' <<<"$out"
	check_err $? "ovn_dns_queries_total missing or zero"
	grep -q '^ovn_dns_responses_total{rcode="noerror"} [1-9]' <<<"$out"
	check_err $? "noerror responses missing"
	grep -q '^ovn_dns_forwarded_total [1-9]' <<<"$out"
	check_err $? "forwarded missing"
	log_test "DNS counters in /metrics"
}

# Not a pass/fail figure: dig's own "Query time" over 50 local queries.
test_latency()
{
	local f=$T/dig.batch i times t0 t1
	RET=0
	for ((i = 0; i < 200; i++)); do
		echo "c2.net1 A"
	done >"$f"
	t0=${EPOCHREALTIME//[.,]/}
	times=$(ip netns exec "${C[c1]}" dig +tries=1 +time=2 @"$DNS_ADDR" -f "$f" |
		sed -n 's/^;; Query time: \([0-9]*\) msec/\1/p' | sort -n)
	t1=${EPOCHREALTIME//[.,]/}
	[[ $(wc -l <<<"$times") == 200 ]]
	check_err $? "not 200 answers"
	log_test "200 local queries answered in sequence" \
		"$(((t1 - t0) / 200)) us each incl. dig; Query time max $(tail -1 <<<"$times") ms"
}

cleanup()
{
	[[ -n $PID_NS ]] && cleanup_ns "$PID_NS"
	lib_cleanup
}

trap cleanup EXIT
require_root
require_ovn_bin
require_command jq
require_command dig
require_command dnsmasq
require_command redis-server
tmpdir_setup || exit 1
if ! setup >"$T/setup.out" 2>&1; then
	check_err 1 "setup: $(tail -5 "$T/setup.out")"
	log_test "setup"
else
	tests_run
	RET=0
	for h in 1 2; do
		agent_stop "h$h"
		check_err $? "h$h did not stop on SIGTERM within 10 s"
		grep -E "Sanitizer|runtime error:|loop closed with handles" "$(agent_dir "h$h")/agent.log"
		check_fail $? "sanitizer or unclosed handle reports in h$h's log"
	done
	log_test "agents stop cleanly (loop closed, no sanitizer reports)"
fi
tests_summary
