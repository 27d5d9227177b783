#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154
# (SC2034: counters read by test_chaos.sh; SC2154: lib.sh and
# lib_cluster.sh, sourced first, set T, HOST_NS, CLUSTER_N, ST_NS...)
#
# lib_chaos.sh: the injectors and the checks of tests/netns/test_chaos.sh,
# sourced after lib.sh and lib_cluster.sh.
#
# Injectors (each runs for a given time while the storms go on, and
# leaves the cluster healed): inject_kills, inject_store_outages,
# inject_loss, inject_partition. Each adds to the CH_* figures.
#
# Checks (after the storms stopped and the faults healed), each printing
# one line per problem; those that run under busywait (a subshell) leave
# the CK_* figures to their caller, the others add to them:
#   chk_api_truth      every pair the storm saw attached (last answer 201)
#                      is in the store with that id, every pair it saw
#                      detached has no endpoint there;
#   chk_views          every agent lists the same endpoints;
#   chk_reachable      every endpoint in the store answers ping (IPv4 and
#                      IPv6) from the probe container of another host;
#   chk_double         no address twice in the store, none twice in the
#                      containers' kernels, kernel and store hold the same
#                      set (an address without a record is a leak);
#   chk_ipam           the store's /ipam keys are exactly the endpoints'
#                      addresses, each naming its endpoint's id;
#   chk_counters       /metrics ovn_endpoints{scope="local"} equals the
#                      host's ve- links and ovn_peers_programmed its
#                      FDB entries towards remote endpoints.
# cluster_converged (lib_cluster.sh) checks links, FDB and neighbours.
#
# It does not: decide the order of phases or print the verdicts (the
# scenario does), or know the agent's code: only the API, /metrics, the
# kernel and the redis keys of kvstore/kv_redis.c's layout.

# Figures of what was injected and checked, printed by chaos_figures.
CH_KILLS=0
CH_OUTAGES=0
CH_OUTAGE_MS=0
CH_LOSS_MS=0
CH_PARTITIONS=0
CH_PARTITION_MS=0
CH_DELAY=""		# "" or the netem delay added with the loss
CK_UNREACHABLE=0
CK_DOUBLE=0
CK_LEAKED=0
CK_COUNTERS=0
CK_WRONG=0		# API answers the store contradicts
CK_VIEWS=0		# agents whose endpoint list differs from h1's
CK_PINGS=0		# addresses pinged

now_ms() { echo $((${EPOCHREALTIME//[.,]/} / 1000)); }

# rand_ms LO HI: a random duration in [LO, HI) ms, as seconds for sleep.
rand_sleep()
{
	local ms=$(($1 + RANDOM % ($2 - $1)))

	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
}

# ---------------------------------------------------------------------------
# Injectors. DEADLINE_MS arguments are absolute times from now_ms.

# inject_kills DEADLINE_MS: until then, kill -9 a random agent (recorded
# PID, agent_kill) at a random moment, wait a random moment, restart it.
inject_kills()
{
	local until=$1 h

	while (($(now_ms) < until)); do
		rand_sleep 300 1500
		h=$((1 + RANDOM % CLUSTER_N))
		agent_kill "h$h"
		CH_KILLS=$((CH_KILLS + 1))
		rand_sleep 0 1200
		if ! cluster_agent_start "$h"; then
			echo "agent h$h did not come back after kill -9"
			return 1
		fi
	done
}

# inject_store_outages N DOWN_MS UP_MS: N times: the store runs UP_MS, is
# stopped (SIGTERM: redis writes its append-only file) for DOWN_MS, starts
# again on the same data.
inject_store_outages()
{
	local n=$1 down=$2 up=$3 i t0

	for ((i = 0; i < n; i++)); do
		rand_sleep "$up" "$((up + 1))"
		t0=$(now_ms)
		store_stop
		rand_sleep "$down" "$((down + 1))"
		if ! _store_server_start; then
			echo "the store did not come back"
			return 1
		fi
		CH_OUTAGES=$((CH_OUTAGES + 1))
		CH_OUTAGE_MS=$((CH_OUTAGE_MS + $(now_ms) - t0))
	done
	rand_sleep "$up" "$((up + 1))"
}

# netem_works: this kernel has a netem qdisc (many test VMs do not).
netem_works()
{
	local ns rc

	ns=${HOST_NS[1]}
	tc -n "$ns" qdisc add dev eth0 root netem delay 1ms &>/dev/null
	rc=$?
	((rc == 0)) && tc -n "$ns" qdisc del dev eth0 root &>/dev/null
	return "$rc"
}

# loss_set add|del PCT: PCT% loss on INPUT of every host namespace
# (iptables' statistic match; on INPUT so a sender never sees EPERM and
# every host-to-host packet crosses one lossy hop), plus 20 ms +- 10 ms
# delay on each host's eth0 where netem exists.
loss_set()
{
	local op=$1 pct=$2 i p flag

	p=$(printf '0.%02d' "$pct")
	((pct >= 100)) && p=1
	flag=-A
	[[ $op == del ]] && flag=-D
	for ((i = 1; i <= CLUSTER_N; i++)); do
		ip netns exec "${HOST_NS[i]}" iptables -w "$flag" INPUT -i eth0 \
			-m statistic --mode random --probability "$p" -j DROP || return 1
		[[ -n $CH_DELAY ]] || continue
		if [[ $op == add ]]; then
			tc -n "${HOST_NS[i]}" qdisc add dev eth0 root netem delay 20ms 10ms
		else
			tc -n "${HOST_NS[i]}" qdisc del dev eth0 root
		fi
	done
}

# inject_loss PCT MS: PCT% loss (and delay if netem exists) for MS.
inject_loss()
{
	local pct=$1 ms=$2 t0 rc=0

	netem_works && CH_DELAY="20ms+-10ms"
	t0=$(now_ms)
	loss_set add "$pct" || { echo "iptables loss rule refused"; loss_set del "$pct"; return 1; }
	rand_sleep "$ms" "$((ms + 1))"
	loss_set del "$pct" || rc=1
	CH_LOSS_MS=$((CH_LOSS_MS + $(now_ms) - t0))
	return "$rc"
}

# ul_ports_to BRIDGE H...: move the underlay ports of hosts H to BRIDGE.
ul_ports_to()
{
	local br=$1 h

	shift
	for h in "$@"; do
		ip -n "$UL_NS" link set "h$h" master "$br" || return 1
	done
}

# inject_partition MS H...: hosts H move to a second bridge (cut from the
# others and from the store, which stays on br0) for MS, then back.
inject_partition()
{
	local ms=$1 t0 rc=0

	shift
	ip -n "$UL_NS" link add br1 type bridge && ip -n "$UL_NS" link set br1 up || return 1
	t0=$(now_ms)
	ul_ports_to br1 "$@" || rc=1
	rand_sleep "$ms" "$((ms + 1))"
	ul_ports_to br0 "$@" || rc=1
	ip -n "$UL_NS" link del br1 || rc=1
	CH_PARTITIONS=$((CH_PARTITIONS + 1))
	CH_PARTITION_MS=$((CH_PARTITION_MS + $(now_ms) - t0))
	return "$rc"
}

# ---------------------------------------------------------------------------
# Checks. EPS is the store's endpoint list (JSON) as an agent gives it.

# chk_api_truth EPS STATE_FILE...: the storms' last answers against the store.
chk_api_truth()
{
	local eps=$1 tag net c st id ip4 ip6 bad=0 have

	shift
	while read -r tag net c st id ip4 ip6; do
		[[ $tag == state ]] || continue
		have=$(jq -r --arg n "$net" --arg c "/run/netns/$c" --arg c2 "$c" \
			'[.[] | select(.network == $n and (.netns == $c or .netns == $c2)) | .id]
			 | join(",")' <<<"$eps")
		case $st in
		in)
			if [[ $have != "$id" ]]; then
				echo "$c on $net: API answered attached ($id), store has [$have]"
				bad=$((bad + 1))
			fi
			;;
		out)
			if [[ -n $have ]]; then
				echo "$c on $net: API answered detached, store has [$have]"
				bad=$((bad + 1))
			fi
			;;
		esac
	done < <(cat "$@")
	CK_WRONG=$((CK_WRONG + bad))
	((bad == 0))
}

# chk_views: every agent lists the same endpoint ids as h1.
chk_views()
{
	local i want have bad=0

	want=$(ovnctl_on h1 --json endpoint ls | jq -r '.[].id' | sort)
	for ((i = 2; i <= CLUSTER_N; i++)); do
		have=$(ovnctl_on "h$i" --json endpoint ls | jq -r '.[].id' | sort)
		if [[ $have != "$want" ]]; then
			echo "h$i lists other endpoints than h1: $(_diff_brief "$want" "$have")"
			bad=1
		fi
	done
	return "$bad"
}

# _ping_from P FAM ADDR MAC: P pings ADDR (3 tries in 0.6 s). A failure
# with P's neighbour cache holding ADDR at another MAC than the
# endpoint's is a stale cache, not a lost endpoint: an IPv6 address freed
# and handed to a new endpoint gets a new MAC (the MAC follows the IPv4
# address) and nothing tells the other containers' caches (no unsolicited
# NA; see the report in docs). That entry is deleted, logged to
# $T/stale.lst, and the ping tried once more; any other failure stands.
_ping_from()
{
	local p=$1 fam=$2 addr=$3 mac=$4 cached

	ip netns exec "$p" ping "$fam" -n -q -c 3 -i 0.2 -W 2 "$addr" &>/dev/null && return 0
	cached=$(ip -n "$p" "$fam" neigh show to "$addr" |
		awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print tolower($(i + 1)) }')
	[[ -n $cached && $cached != "${mac,,}" ]] || return 1
	echo "$addr cached at $cached, endpoint has ${mac,,}" >>"$T/stale.lst"
	ip -n "$p" "$fam" neigh flush to "$addr"
	ip netns exec "$p" ping "$fam" -n -q -c 3 -i 0.2 -W 2 "$addr" &>/dev/null
}

# chk_reachable EPS: ping every endpoint's addresses from the probe
# container of another host on the same network. PROBE[hN] (an
# associative array of the caller) names the probe container of host hN.
chk_reachable()
{
	local eps=$1 node net ip4 ip6 netns mac from p addr fam n=0 bad=0 f
	local -a pids=() what=()

	while read -r node net ip4 ip6 netns mac; do
		from=$(( (${node#h} % CLUSTER_N) + 1 ))
		p=${PROBE[h$from]}
		for addr in "$ip4" "$ip6"; do
			[[ $addr == - ]] && continue
			fam=-4
			[[ $addr == *:* ]] && fam=-6
			_ping_from "$p" "$fam" "${addr%/*}" "$mac" &
			pids+=("$!")
			what+=("${addr%/*} ($node, $net) from h$from")
			n=$((n + 1))
		done
	done < <(jq -r '.[] | "\(.node) \(.network) \(.ipv4 // "-") \(.ipv6 // "-") \(.netns) \(.mac)"' \
		<<<"$eps")
	for f in "${!pids[@]}"; do
		if ! wait "${pids[f]}"; then
			echo "unreachable: ${what[f]}"
			bad=$((bad + 1))
		fi
	done
	CK_PINGS=$((CK_PINGS + n))
	CK_UNREACHABLE=$((CK_UNREACHABLE + bad))
	((bad == 0))
}

# _kernel_addrs NS...: "ADDR NS" per overlay address (198.19/16, fd00::/8)
# configured in those container namespaces.
_kernel_addrs()
{
	local ns

	for ns in "$@"; do
		ip -n "$ns" -o addr show scope global 2>/dev/null |
			awk -v ns="$ns" '{ split($4, a, "/");
				if (a[1] ~ /^198\.19\./ || a[1] ~ /^fd/) print a[1], ns }'
	done
}

# chk_double EPS CONTAINER_NS...: no address held twice in the store or
# the kernel, and both hold the same (address, container) pairs.
chk_double()
{
	local eps=$1 dup store kern bad=0

	shift
	dup=$(jq -r '.[] | (.ipv4, .ipv6) | select(.) | split("/")[0]' <<<"$eps" | sort | uniq -d)
	if [[ -n $dup ]]; then
		echo "held twice in the store: $(paste -sd, <<<"$dup")"
		bad=$((bad + $(wc -l <<<"$dup")))
	fi
	kern=$(_kernel_addrs "$@" | sort)
	dup=$(awk '{ print $1 }' <<<"$kern" | sort | uniq -d)
	if [[ -n $dup ]]; then
		echo "held twice in the containers: $(paste -sd, <<<"$dup")"
		bad=$((bad + $(wc -l <<<"$dup")))
	fi
	CK_DOUBLE=$((CK_DOUBLE + bad))
	store=$(jq -r '.[] | . as $e | (.ipv4, .ipv6) | select(.)
		| "\(split("/")[0]) \($e.netns | sub("^/run/netns/"; ""))"' <<<"$eps" | sort)
	if [[ $store != "$kern" ]]; then
		echo "store vs containers' addresses: $(_diff_brief "$store" "$kern")"
		CK_LEAKED=$((CK_LEAKED + 1))
		bad=$((bad + 1))
	fi
	((bad == 0))
}

# chk_ipam EPS: the /ipam keys in redis are exactly the endpoints'
# addresses, each naming its endpoint (the value is the bare id,
# agent/netmgr.c).
chk_ipam()
{
	local eps=$1 want have key

	want=$(jq -r '.[] | . as $e | (.ipv4, .ipv6) | select(.)
		| "\($e.network)/\(split("/")[0]) \($e.id)"' <<<"$eps" | sort)
	have=$(ip netns exec "$ST_NS" redis-cli -h "$STORE_IP" --scan \
		--pattern "$STORE_PREFIX/ipam/*" | while read -r key; do
			printf '%s %s\n' "${key#"$STORE_PREFIX"/ipam/}" \
				"$(ip netns exec "$ST_NS" redis-cli -h "$STORE_IP" hget "$key" v)"
		done | sort)
	if [[ $want != "$have" ]]; then
		echo "ipam keys vs endpoints: $(_diff_brief "$want" "$have")"
		CK_LEAKED=$((CK_LEAKED + 1))
		return 1
	fi
}

# metric_of HOST SERIES: value of one series (labels included) in its /metrics.
metric_of()
{
	curl -s -m 5 --unix-socket "$(agent_sock "$1")" http://ovn/metrics |
		awk -v m="$2" '$1 == m { print $2 }'
}

# _kernel_peers NS: FDB entries with a remote VTEP and a real MAC on every
# vx- device of NS (what ovn_peers_programmed counts).
_kernel_peers()
{
	bridge -n "$1" fdb show 2>/dev/null |
		awk '$3 ~ /^vx-/ && / dst / && $1 != "00:00:00:00:00:00"' | wc -l
}

# _kernel_ve NS: the ve- links of NS.
_kernel_ve()
{
	ip -n "$1" -o link show 2>/dev/null | awk -F': ' '$2 ~ /^ve-/' | wc -l
}

# chk_counters: each agent's /metrics against its host's kernel.
chk_counters()
{
	local i ns m k bad=0

	for ((i = 1; i <= CLUSTER_N; i++)); do
		ns=${HOST_NS[i]}
		m=$(metric_of "h$i" 'ovn_endpoints{scope="local"}')
		k=$(_kernel_ve "$ns")
		if [[ $m != "$k" ]]; then
			echo "h$i: ovn_endpoints{local} $m, kernel has $k ve- links"
			bad=$((bad + 1))
		fi
		m=$(metric_of "h$i" ovn_peers_programmed)
		k=$(_kernel_peers "$ns")
		if [[ $m != "$k" ]]; then
			echo "h$i: ovn_peers_programmed $m, kernel has $k remote FDB entries"
			bad=$((bad + 1))
		fi
	done
	((bad == 0))
}

# chk_converged [TIMEOUT_MS]: cluster_converged within the time.
chk_converged()
{
	busywait "${1:-30000}" cluster_converged
}
