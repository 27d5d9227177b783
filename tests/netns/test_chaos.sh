#!/usr/bin/env bash
# Chaos: attach/detach storms from five hosts at once while the world
# misbehaves, then proof that nothing was lost, doubled or leaked.
#
#   h1 .. h5: ovnagent "hN", redis store, gossip on 198.18.0.N:7946 (seed
#             h1, one shared key), each host with CHAOS_CONTAINERS storm
#             containers sN_K and one probe container pN
#   h6:       single host "d1": embedded store on a 1 MiB tmpfs ($T/dfs)
#   st:       redis-server 198.18.0.254
#
#   h1 198.18.0.1 ... h5 198.18.0.5   h6 198.18.0.6   st 198.18.0.254
#       |                 |               |               |
#   ----+-----------------+------ br0 ----+---------------+----  ul (UL_NS)
#                         (br1: h4, h5 during the partition)
#
# Networks: "ca" 198.19.40.0/24 + fd00:40::/64, "cb" 198.19.41.0/24; the
# probes are attached to both and never touched by the storms; "dk"
# 198.19.42.0/24 on d1.
#
# Each phase runs one storm driver per host (tests/netns/chaos/storm.sh:
# random attach/detach of its own containers, every answer recorded)
# while one fault is injected, then heals, stops the storms and checks
# (tests/netns/chaos/lib_chaos.sh): the API's answers against the store,
# every agent's view, reachability of every endpoint from another host,
# no address held twice, store / kernel / ipam keys agreeing, no leaked
# link or stale peer (cluster_converged), /metrics against the kernel.
#
#   kills      kill -9 of a random agent at random moments, restarted
#   store      redis stopped and restarted twice during the storm
#   loss       20% loss on every host's INPUT (iptables statistic match;
#              plus netem delay where the kernel has netem)
#   partition  h4, h5 cut from h1..h3 and the store, then healed
#   lost answers  the store applies h3's attach and detach but its answers
#              are dropped (its watch still runs): the API must answer by
#              what the store did (regression check of an agent fix)
#   disk_full  d1's store filesystem full: attach and detach refused with
#              a clear error, nothing half-done; work again once freed
#   teardown   everything detached: no link, address or ipam key left
#
# Knobs: CHAOS_ROUNDS (default 1: each cluster phase once; more for a
# soak), CHAOS_STORM_S (seconds of storm per phase, default 12),
# CHAOS_CONTAINERS (storm containers per host, default 4), CHAOS_LOSS
# (percent, default 20), CHAOS_SEED (default: random, printed),
# CHAOS_SEEDS (all: every host is a gossip seed, the default; h1: only h1,
# which makes restarted agents merge late, replaying gossip history).

# shellcheck disable=SC2034
ALL_TESTS="test_kills test_store_outage test_loss test_partition test_lost_answers
	test_disk_full test_teardown"
HERE=$(dirname "$(readlink -f "$0")")
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$HERE/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_cluster.sh
source "$HERE/lib_cluster.sh"
# shellcheck source-path=SCRIPTDIR source=chaos/lib_chaos.sh
source "$HERE/chaos/lib_chaos.sh"

N=5
NETS="ca cb"
CHAOS_ROUNDS=${CHAOS_ROUNDS:-1}
CHAOS_STORM_S=${CHAOS_STORM_S:-12}
CHAOS_CONTAINERS=${CHAOS_CONTAINERS:-4}
CHAOS_LOSS=${CHAOS_LOSS:-20}
CHAOS_SEED=${CHAOS_SEED:-$RANDOM}
RANDOM=$CHAOS_SEED
KEY=""
declare -A PROBE=()	# hN -> probe container namespace
declare -A STORMC=()	# hN -> "ns ns ..." storm containers
ALLC=()			# every container namespace of the cluster
PHASE_N=0
# Storm figures, summed over the phases.
OPS_ATTACH_OK=0
OPS_ATTACH_ERR=0
OPS_DETACH_OK=0
OPS_DETACH_ERR=0
DISK_REFUSED=0

# Every host is a gossip seed (lib_cluster.sh). With h1 alone as the seed, a
# restarted h1 knows nobody until the others' reconnect push-pull reaches it,
# meanwhile they keep its entries withdrawn as failed; and that merge replays
# recent endpoint events to it. CHAOS_SEEDS=h1 configures that.
if [[ ${CHAOS_SEEDS:-all} == h1 ]]; then
	GOSSIP_SEEDS=1
else
	GOSSIP_SEEDS=$(seq -s ' ' 1 "$N")
fi

setup_containers()
{
	local i k cns out net

	for ((i = 1; i <= N; i++)); do
		for ((k = 1; k <= CHAOS_CONTAINERS; k++)); do
			ns_create cns "s$i-$k" || return 1
			STORMC[h$i]+="$cns "
			ALLC+=("$cns")
		done
		ns_create cns "p$i" || return 1
		PROBE[h$i]=$cns
		ALLC+=("$cns")
		for net in $NETS; do
			busywait 10000 ovnctl_on "h$i" network inspect "$net" >/dev/null ||
				{ echo "h$i does not see network $net"; return 1; }
			out=$(ovnctl_on "h$i" network attach "$net" --netns "$cns" \
				--name "p$i" 2>&1) || { echo "attach probe p$i: $out"; return 1; }
		done
	done
}

setup()
{
	local i out

	require_command redis-server
	require_command redis-cli
	require_command jq
	require_command curl
	require_command iptables
	tmpdir_setup || return 1
	KEY=$("$OVN_BIN/ovnctl" keys generate) || return 1
	GOSSIP_KEY=$KEY
	underlay_create 6 || return 1
	store_start redis || return
	CLUSTER_N=$N
	for ((i = 1; i <= N; i++)); do
		cluster_agent_start "$i" || return 1
	done
	out=$(ovnctl_on h1 network create ca --subnet 198.19.40.0/24 \
		--subnet fd00:40::/64 2>&1) || { echo "create ca: $out"; return 1; }
	out=$(ovnctl_on h1 network create cb --subnet 198.19.41.0/24 2>&1) ||
		{ echo "create cb: $out"; return 1; }
	setup_containers || return 1
	echo "    seed $CHAOS_SEED, $N hosts x $CHAOS_CONTAINERS storm containers, networks $NETS"
}

# ---------------------------------------------------------------------------
# Storms.

storms_start()
{
	local i

	rm -f "$T/storm.stop"
	for ((i = 1; i <= N; i++)); do
		: >"$T/storm.h$i.out"
		# shellcheck disable=SC2086 # the containers are a word list
		STORM_INIT="$T/state.h$i" spawn_bg "storm:h$i" bash "$HERE/chaos/storm.sh" \
			"$(agent_sock "h$i")" "h$i" "$RANDOM" "$T/storm.h$i.out" \
			"$T/storm.stop" "$NETS" ${STORMC[h$i]} || return 1
	done
}

# storms_stop: ask the drivers to stop, wait for them (a request in flight
# ends within curl's 10 s), keep their final states for the next phase and
# add their answers to the figures.
storms_stop()
{
	local i out a b c d

	touch "$T/storm.stop"
	for ((i = 1; i <= N; i++)); do
		spawn_wait "storm:h$i"
		out=$T/storm.h$i.out
		grep '^state ' "$out" >"$T/state.h$i"
		read -r a b c d < <(awk '$1 == "attach" && $2 == "ok" { a++ }
			$1 == "attach" && $2 == "err" { b++ }
			$1 == "detach" && $2 != "err" { c++ }
			$1 == "detach" && $2 == "err" { d++ }
			END { print a + 0, b + 0, c + 0, d + 0 }' "$out")
		PH_AOK=$((PH_AOK + a)) PH_AERR=$((PH_AERR + b))
		PH_DOK=$((PH_DOK + c)) PH_DERR=$((PH_DERR + d))
		cat "$out" >>"$T/storm.all"
	done
	OPS_ATTACH_OK=$((OPS_ATTACH_OK + PH_AOK)) OPS_ATTACH_ERR=$((OPS_ATTACH_ERR + PH_AERR))
	OPS_DETACH_OK=$((OPS_DETACH_OK + PH_DOK)) OPS_DETACH_ERR=$((OPS_DETACH_ERR + PH_DERR))
}

# chk FIGURE WHAT CMD...: run one check in this shell (the figures it
# keeps itself must survive, so no $(...)), its problems into RET and, when
# FIGURE is not "-", their number (lines printed) added to that variable.
chk()
{
	local fig=$1 label=$2

	shift 2
	"$@" >"$T/chk.out" 2>&1 && return 0
	check_err 1 "$label: $(head -n 6 "$T/chk.out")"
	# check_err keeps the first failure only; show every one.
	echo "    $label:"
	head -n 12 "$T/chk.out" | awk '{ print "      " $0 }'
	echo "    (end of $label)" >>"$T/chk.all"
	cat "$T/chk.out" >>"$T/chk.all"
	[[ $fig == - ]] || printf -v "$fig" '%d' $((${!fig} + $(grep -c . "$T/chk.out")))
}

# verify: the checks of lib_chaos.sh over the whole cluster, into RET.
verify()
{
	local eps i

	for ((i = 1; i <= N; i++)); do
		slowwait 10 ovnctl_on "h$i" status &>/dev/null
		check_err $? "h$i does not answer after the phase"
	done
	chk CK_LEAKED "not converged" chk_converged 30000
	eps=$(ovnctl_on h1 --json endpoint ls)
	check_err $? "endpoint ls on h1 failed"
	chk - "API answers contradicted by the store" chk_api_truth "$eps" "$T"/state.h*
	chk CK_VIEWS "agents disagree" busywait 10000 chk_views
	chk - "reachability" chk_reachable "$eps"
	chk - "addresses" chk_double "$eps" "${ALLC[@]}"
	chk - "ipam keys" chk_ipam "$eps"
	chk CK_COUNTERS "counters disagree with the kernel" busywait 10000 chk_counters
	PH_EPS=$(jq length <<<"$eps")
}

# phase NAME INJECTOR ARGS...: storms + injector, then verify and log.
phase()
{
	local name=$1 rc

	shift
	PHASE_N=$((PHASE_N + 1))
	PH_AOK=0 PH_AERR=0 PH_DOK=0 PH_DERR=0 PH_EPS=0
	RET=0
	storms_start || { check_err 1 "storms did not start"; log_test "$name"; return; }
	"$@" >"$T/inject.out" 2>&1
	rc=$?
	storms_stop
	check_err "$rc" "injector: $(tail -n 3 "$T/inject.out")"
	verify
	log_test "chaos $name: answers kept, reachable, no double, no leak, counters" \
		"attach ok $PH_AOK/err $PH_AERR, detach ok $PH_DOK/err $PH_DERR, $PH_EPS eps"
}

deadline() { echo $(($(now_ms) + CHAOS_STORM_S * 1000)); }

# Between kills there must be time for real attaches, or the storms would
# only measure refused connections.
inj_kills() { inject_kills "$(deadline)"; }

inj_store()
{
	local part=$((CHAOS_STORM_S * 1000 / 5))

	# up, down, up, down, up: two outages of a fifth of the storm each.
	inject_store_outages 2 "$part" "$part"
}

inj_loss()
{
	local rc

	sleep 1
	inject_loss "$CHAOS_LOSS" "$((CHAOS_STORM_S * 1000 - 2000))"
	rc=$?
	sleep 1
	return "$rc"
}

inj_partition()
{
	local part=$((CHAOS_STORM_S * 1000 / 2)) rc

	rand_sleep "$((part / 4))" "$((part / 4 + 1))"
	inject_partition "$part" 4 5
	rc=$?
	rand_sleep "$((part / 4))" "$((part / 4 + 1))"
	return "$rc"
}

test_kills()
{
	local r

	for ((r = 1; r <= CHAOS_ROUNDS; r++)); do
		phase "kills (kill -9 at random, restart)" inj_kills
	done
}

test_store_outage()
{
	local r

	for ((r = 1; r <= CHAOS_ROUNDS; r++)); do
		phase "store stopped and restarted twice" inj_store
	done
}

test_loss()
{
	local r

	for ((r = 1; r <= CHAOS_ROUNDS; r++)); do
		phase "$CHAOS_LOSS% underlay loss" inj_loss
	done
}

test_partition()
{
	local r

	for ((r = 1; r <= CHAOS_ROUNDS; r++)); do
		phase "partition h4,h5 | h1-h3+store, healed" inj_partition
	done
}

# ---------------------------------------------------------------------------
# Lost answers: the store applies a write, its answer never arrives, the
# watch (another connection) shows the change. Before the fix the agent
# answered 503 and kept (detach) or undid (attach) its kernel half, so
# the store and the kernel disagreed for good.

# cmd_port H: the local port of hH's command connection to redis (the
# client that is not blocked in XREAD, the watch).
cmd_port()
{
	ip netns exec "$ST_NS" redis-cli -h "$STORE_IP" client list |
		awk -v ip="${HOST_IP[$1]}" '{ a = ""; c = ""
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^addr=/) a = substr($i, 6)
				if ($i ~ /^cmd=/) c = substr($i, 5)
			}
			n = split(a, p, ":")
			if (p[1] == ip && c != "xread") print p[n] }' | head -n 1
}

# answers_cut H PORT add|del: drop (or stop dropping) what redis sends to
# hH's command connection.
answers_cut()
{
	if [[ $3 == add ]]; then
		ip netns exec "${HOST_NS[$1]}" nft -f - <<-EOF
			table inet chaoslost {
				chain in {
					type filter hook input priority 0;
					ip saddr $STORE_IP tcp sport 6379 tcp dport $2 drop;
				}
			}
		EOF
	else
		ip netns exec "${HOST_NS[$1]}" nft delete table inet chaoslost
	fi
}

# lost_req H PATH BODY: the request on hH with its store answers dropped;
# "CODE BODY" on stdout.
lost_req()
{
	local port ans

	port=$(cmd_port "$1")
	[[ -n $port ]] || { echo "000 no command connection of h$1 in client list"; return; }
	answers_cut "$1" "$port" add || { echo "000 nft refused"; return; }
	ans=$(curl -s -m 10 --unix-socket "$(agent_sock "h$1")" -X POST \
		-H 'Content-Type: application/json' -d "$3" -w '\n%{http_code}' "http://ovn$2")
	answers_cut "$1" "$port" del
	printf '%s %s' "${ans##*$'\n'}" "${ans%$'\n'*}"
}

test_lost_answers()
{
	local c ans id out

	RET=0
	require_command nft
	ns_create c lost || return 1
	ALLC+=("$c")
	ans=$(lost_req 3 /v1/networks/cb/endpoints "{\"netns\":\"$c\"}")
	[[ $ans == 201* ]]
	check_err $? "attach whose store answer was lost (the watch saw it) answered: ${ans:0:200}"
	id=$(jq -r '.[] | select(.netns == "/run/netns/'"$c"'") | .id' \
		<<<"$(ovnctl_on h1 --json endpoint ls --network cb)")
	[[ -n $id ]]
	check_err $? "the store has no endpoint for $c"
	chk CK_LEAKED "after the lost attach answer" chk_converged 10000
	ans=$(lost_req 3 /v1/networks/cb/detach "{\"netns\":\"$c\"}")
	[[ $ans == 200* ]]
	check_err $? "detach whose store answer was lost (the watch saw it) answered: ${ans:0:200}"
	chk CK_LEAKED "after the lost detach answer" chk_converged 10000
	out=$(_kernel_addrs "$c")
	[[ -z $out ]]
	check_err $? "the container kept addresses the store freed: $out"
	chk - "ipam keys" chk_ipam "$(ovnctl_on h1 --json endpoint ls)"
	log_test "chaos lost store answers: API answers what the store did"
}

# ---------------------------------------------------------------------------
# Disk full under the embedded store (one host, d1 in h6).

DFS=""			# the tmpfs mount point while mounted
D1C=()			# d1's containers

dfs_umount()
{
	[[ -n $DFS ]] || return 0
	agent_stop d1
	umount "$DFS" && DFS=""
}

d1_start()
{
	agent_start "${HOST_NS[6]}" d1 "$(printf 'store:\n  path: %s/store' "$DFS")"
}

# d1_attach NS NAME: attach through the API, "CODE BODY" on stdout.
d1_req()
{
	local out

	out=$(curl -s -m 10 --unix-socket "$(agent_sock d1)" -X POST \
		-H 'Content-Type: application/json' -d "$2" -w '\n%{http_code}' "http://ovn$1")
	printf '%s %s' "${out##*$'\n'}" "${out%$'\n'*}"
}

# d1_state: what must not change while the disk is full: the endpoint list,
# the host's links, the containers' addresses.
d1_state()
{
	ovnctl_on d1 --json endpoint ls | jq -c 'sort_by(.id)'
	ip -n "${HOST_NS[6]}" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort
	_kernel_addrs "${D1C[@]}" | sort
}

d1_same()
{
	local after

	after=$(d1_state)
	[[ $after == "$1" ]] && return 0
	_diff_brief "$(sort <<<"$1")" "$(sort <<<"$after")"
	return 1
}

# d1_ping: the first endpoint of dk pings every other one.
d1_ping()
{
	local eps from ip

	eps=$(ovnctl_on d1 --json endpoint ls --network dk) || return 1
	from=$(jq -r '.[0].netns // empty | sub("^/run/netns/"; "")' <<<"$eps")
	[[ -n $from ]] || return 0
	for ip in $(jq -r '.[1:][] | .ipv4 | split("/")[0]' <<<"$eps"); do
		ip netns exec "$from" ping -n -q -c 1 -W 2 "$ip" &>/dev/null || return 1
	done
}

# d1_free_container: a container of D1C without an endpoint.
d1_free_container()
{
	local eps c

	eps=$(ovnctl_on d1 --json endpoint ls --network dk) || return 1
	for c in "${D1C[@]}"; do
		jq -e --arg c "/run/netns/$c" 'any(.[]; .netns == $c)' <<<"$eps" >/dev/null ||
			{ echo "$c"; return 0; }
	done
	return 1
}

# d1_refused WHAT ANSWER BEFORE: ANSWER is a clean refusal: 5xx naming
# the full disk, and d1_state still BEFORE.
d1_refused()
{
	[[ $2 == 5* && $2 == *"No space left on device"* ]]
	check_err $? "$1 on a full disk answered: ${2:0:200}"
	d1_same "$3" >"$T/d1.diff"
	check_err $? "refused $1 changed something: $(cat "$T/d1.diff")"
	DISK_REFUSED=$((DISK_REFUSED + 1))
}

# Attach until the store refuses (the log's last page may still hold a
# record or two after the filesystem is full: those attaches are real and
# must survive), then detach until it refuses: each answer is either done
# or refused with nothing changed.
disk_full_requests()
{
	local i k before ans aliases="" attached=0 refused=0

	# Big records (16 long aliases, about 1.3 KiB) so few fit in that page.
	for ((k = 0; k < 16; k++)); do
		aliases+="${aliases:+,}\"a$k-$(printf '%058d' 0)\""
	done
	for ((i = 2; i < ${#D1C[@]}; i++)); do
		before=$(d1_state)
		ans=$(d1_req /v1/networks/dk/endpoints \
			"{\"netns\":\"${D1C[i]}\",\"name\":\"x$i\",\"aliases\":[$aliases]}")
		case $ans in
		201*) attached=$((attached + 1)) ;;
		*) d1_refused attach "$ans" "$before"; refused=1; break ;;
		esac
	done
	((refused))
	check_err $? "no attach refused on a full disk ($attached went through)"
	refused=0
	for ((i = 0; i < ${#D1C[@]} - 1; i++)); do
		before=$(d1_state)
		ans=$(d1_req /v1/networks/dk/detach "{\"netns\":\"${D1C[i]}\"}")
		case $ans in
		200* | 404*) ;;
		*) d1_refused detach "$ans" "$before"; refused=1; break ;;
		esac
	done
	((refused)) || echo "    (every detach fitted in the log's last page)"
}

test_disk_full()
{
	local i cns before out

	RET=0
	DFS=$T/dfs
	if ! mkdir -p "$DFS" || ! mount -t tmpfs -o size=1m,mode=0700 ovnt-chaos "$DFS"; then
		DFS=""
		check_err 1 "cannot mount a tmpfs"
		log_test "chaos disk full"
		return
	fi
	d1_start
	check_err $? "d1 did not start on the tmpfs store"
	out=$(ovnctl_on d1 network create dk --subnet 198.19.42.0/24 2>&1)
	check_err $? "create dk: $out"
	for ((i = 1; i <= 10; i++)); do
		ns_create cns "d$i" || return 1
		D1C+=("$cns")
	done
	for i in 0 1; do
		out=$(ovnctl_on d1 network attach dk --netns "${D1C[i]}" 2>&1)
		check_err $? "attach before the disk is full: $out"
	done
	# Fill it: the last write fails with ENOSPC, which is the point.
	dd if=/dev/zero of="$DFS/filler" bs=4k status=none 2>/dev/null
	disk_full_requests
	d1_ping
	check_err $? "forwarding broke while the disk is full"
	rm -f "$DFS/filler"
	for i in 1 2; do
		out=$(ovnctl_on d1 network attach dk --netns "$(d1_free_container)" 2>&1)
		check_err $? "attach after space was freed: $out"
	done
	d1_ping
	check_err $? "endpoints unreachable after the disk was freed"
	# The log holds exactly what was acknowledged: a kill -9 and a restart
	# give back the same state.
	before=$(d1_state)
	agent_kill d1
	d1_start
	check_err $? "d1 did not restart after kill -9"
	busywait 5000 d1_same "$before" >"$T/d1.diff"
	check_err $? "state after kill -9 and restart differs: $(cat "$T/d1.diff")"
	for i in "${D1C[@]}"; do
		out=$(ovnctl_on d1 --json network detach dk --netns "$i" 2>&1) ||
			[[ $out == *"is not attached"* ]]
		check_err $? "final detach: $out"
	done
	out=$(leak_check "${HOST_NS[6]}")
	check_err $? "d1 left links: $out"
	log_test "chaos disk full: refused cleanly, nothing half-done, recovers" \
		"$DISK_REFUSED refusals"
	dfs_umount
}

# ---------------------------------------------------------------------------

test_teardown()
{
	local eps id net node i out rc n=0

	RET=0
	eps=$(ovnctl_on h1 --json endpoint ls)
	while read -r net id node; do
		out=$(ovnctl_on "$node" network detach "$net" --endpoint "$id" 2>&1)
		check_err $? "detach $id on $node: $out"
		n=$((n + 1))
	done < <(jq -r '.[] | "\(.network) \(.id) \(.node)"' <<<"$eps")
	chk CK_LEAKED "not converged after detaching all" chk_converged 20000
	for ((i = 1; i <= N; i++)); do
		out=$(busywait 5000 leak_check "${HOST_NS[i]}")
		rc=$?
		check_err "$rc" "h$i left links: $out"
		((rc == 0)) || CK_LEAKED=$((CK_LEAKED + 1))
	done
	chk - "addresses left" chk_double "[]" "${ALLC[@]}"
	chk - "ipam keys left" chk_ipam "[]"
	chk CK_COUNTERS "counters" busywait 5000 chk_counters
	for ((i = 1; i <= N; i++)); do
		agent_stop "h$i"
		check_err $? "h$i did not stop on SIGTERM"
	done
	# Every agent that ran, d1 and the killed ones' earlier runs included
	# (their logs are appended to).
	for i in "$T"/*/agent.log; do
		grep -E "Sanitizer|runtime error:" "$i"
		check_fail $? "sanitizer reports in $i"
	done
	log_test "chaos teardown: $n endpoints detached, nothing left anywhere"
}

figures()
{
	local loss="none"

	((CH_LOSS_MS > 0)) && loss="$CHAOS_LOSS% for $((CH_LOSS_MS / 1000)) s${CH_DELAY:+ + delay $CH_DELAY}"
	echo "    injected: kills $CH_KILLS, store outages $CH_OUTAGES" \
		"($((CH_OUTAGE_MS / 1000)).$(((CH_OUTAGE_MS % 1000) / 100)) s)," \
		"loss $loss, partitions $CH_PARTITIONS ($((CH_PARTITION_MS / 1000)) s)," \
		"disk-full refusals $DISK_REFUSED"
	echo "    storms: attaches ok $OPS_ATTACH_OK / refused $OPS_ATTACH_ERR," \
		"detaches ok $OPS_DETACH_OK / refused $OPS_DETACH_ERR (seed $CHAOS_SEED)"
	echo "    checks: $CK_PINGS addresses pinged, $CK_UNREACHABLE unreachable," \
		"$CK_DOUBLE double-held, $CK_LEAKED leaked, $CK_WRONG API answers contradicted," \
		"$CK_VIEWS views differing, $CK_COUNTERS counter mismatches"
	[[ -z $CH_DELAY ]] && echo "    (no netem qdisc in this kernel: loss only, no delay)"
	[[ -s $T/stale.lst ]] && echo "    stale neighbour caches flushed before a ping passed:" \
		"$(grep -c . "$T/stale.lst") (IPv6 address reused with a new MAC)"
}

cleanup()
{
	local c

	touch "${T:-/nonexistent}/storm.stop" 2>/dev/null
	dfs_umount
	for c in "${ALLC[@]}" "${D1C[@]}"; do
		container_destroy "$c"
	done
	lib_cleanup
}

trap cleanup EXIT
require_root
require_ovn_bin
cluster_tests_main "chaos cluster" figures
