#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154
# (SC2034: STORE_YAML, ST_NS and friends are read by the scenarios;
# SC2154: lib.sh, sourced first, sets ksft_skip, T, UL_NS, HOST_NS...)
#
# lib_cluster.sh: helpers for scenarios with several hosts sharing one
# store, sourced after lib.sh:
#
#   source "$HERE/lib.sh"
#   source "$HERE/lib_cluster.sh"
#   cluster_start 3 redis          # underlay, store, agents h1..h3
#   ...
#   busywait 10000 cluster_converged
#   cluster_stop                   # or let lib_cleanup take everything
#
#   h1 198.18.0.1   h2 198.18.0.2   ...   hN        st 198.18.0.254
#      eth0            eth0                 eth0       eth0
#       |               |                    |          |
#   ----h1--------------h2---------  br0  ---hN--------st----  ul (UL_NS)
#
# The store runs in its own namespace "st", one more port on lib.sh's
# underlay bridge, so agents reach it over the underlay like real hosts
# would and stopping it cuts every agent off at once.
#
# It gives: store_start/store_stop/store_restart for a real redis-server
# or etcd (data kept across a restart), STORE_YAML for agent_start,
# cluster_start/cluster_stop, and the checks of what the agents programmed:
# peers_on, neigh_on, cluster_converged (the kernel of every host matches
# the endpoints in the store).
# It does not: start consul; run several store members (one server, no
# quorum games); know the agent's internals beyond the device names of
# DESIGN.md (vx-<vni>, br-<vni>, ve-...) and the JSON of docs/api.md.
#
# Knobs: STORE_TIMEOUT (seconds per store request in the agent config,
# default 2), STORE_PREFIX (default /ovn).
#
# TODO: consul; a TLS store (needs certificates made by the harness).

STORE_TIMEOUT=${STORE_TIMEOUT:-2}
STORE_PREFIX=${STORE_PREFIX:-/ovn}
STORE_IP=198.18.0.254
ST_NS=""		# the store's namespace
STORE_BACKEND=""	# redis | etcd while a store exists
STORE_YAML=""		# the "store:" line for agent_start
CLUSTER_N=0		# hosts h1..hN of the running cluster

# store_url BACKEND: the client URL the agents are given.
store_url()
{
	case $1 in
	redis) echo "redis://$STORE_IP:6379" ;;
	etcd) echo "http://$STORE_IP:2379" ;;
	*) return 1 ;;
	esac
}

# store_binary BACKEND: the server binary a backend needs.
store_binary()
{
	case $1 in
	redis) echo redis-server ;;
	etcd) echo etcd ;;
	*) return 1 ;;
	esac
}

# _store_ns_create: namespace "st" plugged into br0 like underlay_create
# plugs a host: veth "st" in UL_NS, its peer eth0 in ST_NS.
_store_ns_create()
{
	[[ -n $ST_NS ]] && return 0
	if [[ -z $UL_NS ]]; then
		echo "store_start: no underlay (underlay_create first)" >&2
		return 1
	fi
	ns_create ST_NS st || return 1
	ip -n "$UL_NS" -batch - <<-EOF || return 1
		link add st mtu $UNDERLAY_MTU type veth peer name eth0 mtu $UNDERLAY_MTU netns $ST_NS
		link set st master br0 up
	EOF
	ip -n "$ST_NS" -batch - <<-EOF || return 1
		addr add $STORE_IP/16 dev eth0
		link set eth0 up
	EOF
}

_store_answers()
{
	case $STORE_BACKEND in
	redis)
		[[ $(ip netns exec "$ST_NS" redis-cli -h "$STORE_IP" -p 6379 ping 2>&1) == PONG ]]
		;;
	etcd)
		ip netns exec "$ST_NS" env ETCDCTL_API=3 etcdctl --dial-timeout=1s \
			--command-timeout=1s --endpoints "$(store_url etcd)" \
			endpoint health &>/dev/null
		;;
	esac
}

# _store_server_start: the server process, data under $T/store-BACKEND,
# output appended to $T/store-BACKEND.log; waits up to 10 s for an answer.
_store_server_start()
{
	local dir=$T/store-$STORE_BACKEND log=$T/store-$STORE_BACKEND.log url

	mkdir -p "$dir" || return 1
	url=$(store_url "$STORE_BACKEND")
	case $STORE_BACKEND in
	redis)
		spawn_bg store ip netns exec "$ST_NS" redis-server --bind "$STORE_IP" \
			--port 6379 --save '' --appendonly yes --dir "$dir" \
			--protected-mode no --daemonize no >>"$log" 2>&1 || return 1
		;;
	etcd)
		spawn_bg store ip netns exec "$ST_NS" etcd --name st --data-dir "$dir" \
			--listen-client-urls "$url" --advertise-client-urls "$url" \
			--listen-peer-urls http://127.0.0.1:2380 \
			--initial-advertise-peer-urls http://127.0.0.1:2380 \
			--initial-cluster st=http://127.0.0.1:2380 \
			--logger zap >>"$log" 2>&1 || return 1
		;;
	esac
	if ! slowwait 10 _store_answers; then
		echo "store_start: $STORE_BACKEND does not answer on $url within 10 s:" >&2
		tail -n 20 "$log" | sed 's/^/    /' >&2
		return 1
	fi
}

# store_start redis|etcd: namespace st on the underlay (once), the server in
# it, STORE_YAML set. Needs underlay_create first.
store_start()
{
	local backend=$1 bin

	bin=$(store_binary "$backend") || {
		echo "store_start: unknown backend '$backend' (redis or etcd)" >&2
		return 1
	}
	if ! command -v "$bin" >/dev/null; then
		echo "store_start: $bin not installed" >&2
		return "$ksft_skip"
	fi
	if [[ -n $STORE_BACKEND && $STORE_BACKEND != "$backend" ]]; then
		echo "store_start: a $STORE_BACKEND store is already set up" >&2
		return 1
	fi
	tmpdir_setup || return 1
	_store_ns_create || return 1
	STORE_BACKEND=$backend
	STORE_YAML="store: { backend: $backend, endpoints: [ \"$(store_url "$backend")\" ],"
	STORE_YAML+=" prefix: $STORE_PREFIX, timeout: $STORE_TIMEOUT }"
	_store_server_start
}

# store_stop: stop the server (SIGTERM; redis writes its AOF, etcd its WAL);
# the namespace and the data stay for store_restart.
store_stop()
{
	spawn_stop store 10000
}

# store_restart: start the server again on the same data.
store_restart()
{
	store_stop
	_store_server_start
}

# store_destroy: server, data and namespace gone.
store_destroy()
{
	store_stop
	[[ -n $ST_NS ]] && cleanup_ns "$ST_NS"
	[[ -n $T && -n $STORE_BACKEND ]] && rm -rf "$T/store-$STORE_BACKEND"
	ST_NS=""
	STORE_BACKEND=""
	STORE_YAML=""
}

# host_ns NAME: the namespace of host hI (the agent named hI runs there).
host_ns()
{
	local i=${1#h}

	[[ $i =~ ^[0-9]+$ && -n ${HOST_NS[i]:-} ]] || return 1
	echo "${HOST_NS[i]}"
}

# Gossip for the cluster's agents: set GOSSIP_KEY (from `ovnctl keys
# generate`) and cluster_agent_start gives hI a keyring (0600, written once,
# so a rotated key survives a restart) and a gossip section joining the
# hosts listed in GOSSIP_SEEDS (indexes, default "1"). CLUSTER_AGENT_YAML:
# one more config line (a section) for every agent.
GOSSIP_KEY=""
GOSSIP_SEEDS=${GOSSIP_SEEDS:-1}
CLUSTER_AGENT_YAML=""

# gossip_yaml I: the gossip section of host I.
gossip_yaml()
{
	local s seeds=""

	for s in $GOSSIP_SEEDS; do
		seeds+="${seeds:+, }\"$(underlay_ip "$s")\""
	done
	printf 'gossip:\n  port: 7946\n  join: [ %s ]\n  keyring: %s\n' "$seeds" \
		"$(agent_dir "h$1")/keyring.json"
}

# cluster_agent_start I: (re)start agent hI in host I with STORE_YAML (and
# gossip when GOSSIP_KEY is set).
cluster_agent_start()
{
	local dir
	local -a extra=()

	if [[ -n $GOSSIP_KEY ]]; then
		dir=$(agent_dir "h$1")
		mkdir -p "$dir" || return 1
		[[ -f $dir/keyring.json ]] ||
			(umask 077; echo "[\"$GOSSIP_KEY\"]" >"$dir/keyring.json") || return 1
		extra+=("$(gossip_yaml "$1")")
	fi
	[[ -n $CLUSTER_AGENT_YAML ]] && extra+=("$CLUSTER_AGENT_YAML")
	agent_start "${HOST_NS[$1]}" "h$1" "$STORE_YAML" "${extra[@]}"
}

# cluster_start N BACKEND: underlay of N hosts, the store, agents h1..hN
# started in parallel and waited for. 4 (skip) when the store binary is
# missing.
cluster_start()
{
	local n=$1 backend=$2 i rc

	if ((n < 1 || n >= 254)); then
		echo "cluster_start: 1-253 hosts (198.18.0.254 is the store)" >&2
		return 1
	fi
	require_ovn_bin
	tmpdir_setup || return 1
	underlay_create "$n" || return 1
	store_start "$backend" || return
	CLUSTER_N=$n
	for ((i = 1; i <= n; i++)); do
		cluster_agent_start "$i"
		rc=$?
		if ((rc != 0)); then
			echo "cluster_start: agent h$i did not start" >&2
			return "$rc"
		fi
	done
}

# cluster_stop: agents, store and underlay gone; the agents' directories
# move to $T/old/BACKEND-nN.XXXX/ (kept for KEEP_TMP=yes readers, out of
# the way of the next cluster and of agent_logs_tail).
cluster_stop()
{
	local i rc=0 backend=$STORE_BACKEND old

	agent_stop_all || rc=1
	store_destroy
	underlay_destroy
	if [[ -n $T && -n $backend ]] && mkdir -p "$T/old" &&
		old=$(mktemp -d "$T/old/$backend-n$CLUSTER_N.XXXX"); then
		for ((i = 1; i <= CLUSTER_N; i++)); do
			[[ -d $T/h$i ]] && mv "$T/h$i" "$old/"
		done
	fi
	CLUSTER_N=0
	return "$rc"
}

# ---------------------------------------------------------------------------
# What the agents programmed.

# peers_on HOSTNAME VNI: the FDB entries of vx-VNI in that host.
peers_on()
{
	local ns

	ns=$(host_ns "$1") || return 1
	bridge -n "$ns" fdb show dev "vx-$2"
}

# neigh_on HOSTNAME VNI: the neighbour entries of vx-VNI in that host.
neigh_on()
{
	local ns

	ns=$(host_ns "$1") || return 1
	ip -n "$ns" neigh show dev "vx-$2"
}

# cluster_query_agent: the name of a running agent to ask for the store's
# view (the first one alive).
cluster_query_agent()
{
	local i pid

	for ((i = 1; i <= CLUSTER_N; i++)); do
		pid=$(agent_pid "h$i") || continue
		pid_alive "$pid" && { echo "h$i"; return 0; }
	done
	return 1
}

# _fdb_remote HOSTNAME VNI: "MAC VTEP" per entry of vx-VNI that sends to a
# remote VTEP (has a dst), lowercased, sorted. Bridge entries (the device's
# own address, entries learned "master br-") have no dst and are not peers.
_fdb_remote()
{
	peers_on "$1" "$2" 2>/dev/null |
		awk '{ for (i = 2; i < NF; i++) if ($i == "dst") print tolower($1), $(i + 1) }' |
		sort
}

# _neigh_perm HOSTNAME VNI: "IP MAC" per permanent neighbour entry of
# vx-VNI, sorted.
_neigh_perm()
{
	neigh_on "$1" "$2" 2>/dev/null |
		awk '/PERMANENT/ { for (i = 2; i < NF; i++) if ($i == "lladdr") print $1, tolower($(i + 1)) }' |
		sort
}

# _expected_peers EPS_JSON NET NODE fdb|neigh: what NODE must hold for the
# other nodes' endpoints of NET, in the format of _fdb_remote/_neigh_perm:
# fdb: "MAC VTEP" per remote endpoint plus "00:00:00:00:00:00 VTEP" (the
# flood entry) per remote host with endpoints; neigh: "IPv4 MAC" and
# "IPv6 MAC" per remote endpoint.
_expected_peers()
{
	jq -r --arg net "$2" --arg node "$3" --arg what "$4" '
		[.[] | select(.network == $net and .node != $node)] as $r
		| if $what == "fdb" then
			($r[] | "\(.mac | ascii_downcase) \(.vtep)"),
			($r | map(.vtep) | unique[] | "00:00:00:00:00:00 \(.)")
		  else
			($r[] | . as $e | (.ipv4, .ipv6) | select(.)
			 | "\(split("/")[0]) \($e.mac | ascii_downcase)")
		  end' <<<"$1" | sort
}

# _diff_brief WANT HAVE: one line saying what is missing and what is extra.
_diff_brief()
{
	local missing extra

	missing=$(comm -23 <(echo "$1") <(echo "$2") | grep . | head -n 4 | paste -sd, -)
	extra=$(comm -13 <(echo "$1") <(echo "$2") | grep . | head -n 4 | paste -sd, -)
	echo "missing [$missing] extra [$extra]"
}

# _ns_ip NETNS_PATH ARGS...: ip ARGS inside that namespace (a name under
# /run/netns, else any path nsenter takes).
_ns_ip()
{
	local path=$1

	shift
	if [[ $path == /run/netns/* ]]; then
		ip -n "${path#/run/netns/}" "$@"
	else
		nsenter --net="$path" ip "$@"
	fi
}

# _local_ok EPS_JSON: the endpoint half of cluster_converged; one line per
# problem, 1 if any.
_local_ok()
{
	local node vtep hif netns ifname ip4 ip6 i bad=0 addrs
	local -A links=()

	for ((i = 1; i <= CLUSTER_N; i++)); do
		links[h$i]=" $(ip -n "${HOST_NS[i]}" -o link show 2>/dev/null |
			awk -F': ' '{ sub(/@.*/, "", $2); printf "%s ", $2 }')"
	done
	while read -r node vtep hif netns ifname ip4 ip6; do
		i=${node#h}
		if [[ ! $i =~ ^[0-9]+$ ]] || ((i < 1 || i > CLUSTER_N)); then
			echo "endpoint on unknown node '$node' (vtep $vtep)"
			bad=1
			continue
		fi
		if [[ $vtep != "${HOST_IP[i]}" ]]; then
			echo "endpoint on $node has vtep $vtep, expected ${HOST_IP[i]}"
			bad=1
		fi
		if [[ ${links[$node]} != *" $hif "* ]]; then
			echo "$node: no $hif for the endpoint in $netns"
			bad=1
		fi
		addrs=$(_ns_ip "$netns" -o addr show dev "$ifname" 2>&1)
		if [[ $ip4 != - && $addrs != *" $ip4 "* ]] ||
			[[ $ip6 != - && $addrs != *" $ip6 "* ]]; then
			echo "$netns $ifname lacks its record's $ip4 $ip6"
			bad=1
		fi
	done < <(jq -r '.[] | [.node, .vtep, .host_ifname, .netns, .ifname,
		(.ipv4 // "-"), (.ipv6 // "-")] | join(" ")' <<<"$1")
	return "$bad"
}

# cluster_converged [AGENT]: 0 when the kernel of every host matches the
# endpoints in the store, as AGENT (default: the first one running) lists
# them; else 1 with one line per disagreement on stdout (busywait prints
# the last try's, which is what a failed check wants to show).
#
# For each endpoint: its vtep is the underlay address of its node's host,
# its host_ifname exists in that host, and its container holds its IPv4 and
# IPv6 on its ifname (a record in the store with nothing in the kernel is
# as wrong as a stale peer).
# For each network N (VNI V) and each host H:
#  - H without local endpoints on N has no vx-V (devices live only where
#    they are used);
#  - H with local endpoints has exactly the FDB entries (MAC -> VTEP of
#    every remote endpoint, 00:00:00:00:00:00 -> every remote VTEP with
#    endpoints) and permanent neighbour entries (IPv4/IPv6 -> MAC of every
#    remote endpoint) that the store implies: nothing missing, nothing
#    stale, nothing doubled (the lists are compared with duplicates kept).
cluster_converged()
{
	local agent=${1:-} eps nets name vni node i ns want have bad=0

	if [[ -z $agent ]]; then
		agent=$(cluster_query_agent) || { echo "no agent running"; return 1; }
	fi
	eps=$(ovnctl_on "$agent" --json endpoint ls 2>&1) ||
		{ echo "endpoint ls on $agent: $eps"; return 1; }
	nets=$(ovnctl_on "$agent" --json network ls 2>&1) ||
		{ echo "network ls on $agent: $nets"; return 1; }

	_local_ok "$eps" || bad=1
	while read -r name vni; do
		for ((i = 1; i <= CLUSTER_N; i++)); do
			node=h$i
			ns=${HOST_NS[i]}
			if [[ $(jq --arg n "$name" --arg h "$node" \
				'[.[] | select(.network == $n and .node == $h)] | length' \
				<<<"$eps") == 0 ]]; then
				if ip -n "$ns" link show "vx-$vni" &>/dev/null; then
					echo "$node: vx-$vni ($name) exists without local endpoints"
					bad=1
				fi
				continue
			fi
			if ! ip -n "$ns" link show "vx-$vni" &>/dev/null; then
				echo "$node: vx-$vni ($name) missing though it has local endpoints"
				bad=1
				continue
			fi
			want=$(_expected_peers "$eps" "$name" "$node" fdb)
			have=$(_fdb_remote "$node" "$vni")
			if [[ $want != "$have" ]]; then
				echo "$node: fdb of vx-$vni ($name): $(_diff_brief "$want" "$have")"
				bad=1
			fi
			want=$(_expected_peers "$eps" "$name" "$node" neigh)
			have=$(_neigh_perm "$node" "$vni")
			if [[ $want != "$have" ]]; then
				echo "$node: neigh of vx-$vni ($name): $(_diff_brief "$want" "$have")"
				bad=1
			fi
		done
	done < <(jq -r '.[] | "\(.name) \(.vni)"' <<<"$nets")
	return "$bad"
}

# ---------------------------------------------------------------------------
# Endpoint look-ups (from the store's view on any running agent).

# ep_field CONTAINER_NS NET FIELD: FIELD of the endpoint of that container
# on NET, addresses without their /len.
ep_field()
{
	local agent

	agent=$(cluster_query_agent) || return 1
	ovnctl_on "$agent" --json endpoint ls --network "$2" |
		jq -r --arg c "/$1" --arg f "$3" '.[] | select(.netns | endswith($c))
			| .[$f] // empty | tostring | split("/")[0]'
}

# ---------------------------------------------------------------------------
# Background jobs that end on their own.

# spawn_wait NAME: wait for a spawn_bg process to finish by itself, forget
# it, return its exit status.
spawn_wait()
{
	local pid rc

	pid=${SPAWNED[$1]:-}
	[[ -n $pid ]] || return 127
	wait "$pid"
	rc=$?
	unset "SPAWNED[$1]"
	return "$rc"
}

# ---------------------------------------------------------------------------
# A cluster test's main part.

# cluster_tests_main LABEL [AFTER]: run setup, then the tests (and the AFTER
# command, e.g. a figures summary) when it worked; a failed setup is one
# failed check named "LABEL setup" with the agents' last log lines.
cluster_tests_main()
{
	if ! setup; then
		agent_logs_tail 20
		RET=1
		retmsg="setup failed"
		log_test "$1 setup"
	else
		tests_run
		[[ -z ${2:-} ]] || "$2"
	fi
	tests_summary
}
