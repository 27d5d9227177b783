#!/usr/bin/env bash
# bench/gossip: ovn's gossip (gossip/, run by build/bench/gossipd) side by side
# with HashiCorp serf measured in the same run, at N = 5, 20, 50 nodes.
#
#   hN (gb-hN-XXXXXX) ... h2         h1 (gb-h1-XXXXXX)
#   eth0 198.18.0.N/16   ...         eth0 198.18.0.1/16, one gossipd each,
#     |                                |  UDP+TCP 7946, sealed (one random key)
#   hN ------------ br0 (gb-ul-XXXXXX) ------------ h1    veths, mtu 1400
#
# The underlay is the one of serf's bench (../shared/bench/serf/bench.sh):
# one bridge, a namespace per host, IPv6 off, a permanent neighbour entry for
# every other host (no ARP in the byte counts, no neighbour-table overflow),
# loss injected with iptables' statistic match on INPUT of every host. Names
# get a random suffix (tests/netns/lib.sh), so runs never collide; everything
# is removed on exit and processes are killed by recorded PID only.
#
# Per N and repetition, as serf's bench does:
#   join   start node N -> every other node logs it joined (ms)
#   idle   bytes/s and packets/s each node sends (bridge-side veth counters,
#          so IP/UDP/TCP headers, crypto and push-pull all count), CPU %
#   mem    RSS per node; gossip's share = RSS minus the RSS of the same
#          binary with no node (gossipd --baseline); private dirty as well
#   flaky  members wrongly marked failed before the kill (false_fail) and
#          suspicions raised (gossip_stats().suspicions summed over nodes)
#   event  a user event from h1 -> every other node logged it: from the
#          origin's own stamp (event_ms, what the target is about) and from
#          the runner's command (event_e2e_ms, which serf's figure includes:
#          it also counts the `serf event` CLI start)
#   fail   kill -9 node N -> every other node logged it failed: first, p50,
#          p99, max
#   died   nodes that stopped without being killed (a crash): should be 0
# Nodes stamp their log lines with CLOCK_REALTIME (= $EPOCHREALTIME); p99 is
# nearest-rank, so with N-1 <= 99 receivers it is the max, as serf's is.
# The same runs again with LOSS_PCT % loss (fail and flaky figures), then
# serf's bench runs for the same N (and once with loss at the largest N).
# serf's bench runs serf unencrypted while ovn seals every packet, so at the
# largest N serf agents with -encrypt also run on our underlay for one idle
# window ("serfenc": bytes, packets, RSS), the like-for-like bandwidth figure.
#
# Usage: run.sh [N ...]            (root; default N = 5 20 50)
# Output: one "ovn n=N rep=R loss=L key=value ..." line per repetition and
# serf's own lines, a side-by-side table with ratios and the issue targets
# (met / NOT met), "gossip.<metric>.<impl>.n<N> value" lines, and the same
# figures as JSON in $BENCH_OUT (default build/bench/gossip.json).
# Environment: REPS (3), IDLE_S (15), SETTLE_S (3), LOSS_PCT (10, 0 = no loss
# phase), LOSS_REPS (1), SERF_REPS (1), SERF_IDLE_S (IDLE_S), BENCH_SERF
# (1; 0 skips serf), SERF_LOSS (1: serf with loss at the largest N),
# SERF_ENC (1: serf -encrypt idle window at the largest N),
# SERF_BENCH (path of serf's bench.sh), GOSSIPD (binary), GOSSIPD_OPTS (extra
# gossipd options for every node, e.g. "-p lan" or "-o probe_interval_ms=400"
# to see what a knob trades), BENCH_QUICK=1 (N = 5 20, 1 rep, short windows).
# Serf (Debian package `serf`) is installed with apt-get when missing.
set -u
HERE=$(dirname "$(readlink -f "$0")")
ROOT=$(readlink -f "$HERE/../..")
GOSSIPD=${GOSSIPD:-$ROOT/build/bench/gossipd}
SERF_BENCH=${SERF_BENCH:-$ROOT/../shared/bench/serf/bench.sh}
BENCH_OUT=${BENCH_OUT:-$ROOT/build/bench/gossip.json}
GOSSIPD_OPTS=${GOSSIPD_OPTS:-}
if [[ ${BENCH_QUICK:-0} == 1 ]]; then
	NS_DEFAULT="5 20"
	REPS=${REPS:-1} IDLE_S=${IDLE_S:-8} SETTLE_S=${SETTLE_S:-2}
else
	NS_DEFAULT="5 20 50"
	REPS=${REPS:-3} IDLE_S=${IDLE_S:-15} SETTLE_S=${SETTLE_S:-3}
fi
LOSS_PCT=${LOSS_PCT:-10}
LOSS_REPS=${LOSS_REPS:-1}
SERF_REPS=${SERF_REPS:-1}
SERF_IDLE_S=${SERF_IDLE_S:-$IDLE_S}
BENCH_SERF=${BENCH_SERF:-1}
SERF_LOSS=${SERF_LOSS:-1}
SERF_ENC=${SERF_ENC:-1}
MAX_N=0
PORT=7946
# shellcheck disable=SC2034 # read by lib.sh
NS_PREFIX=gb-
# shellcheck source-path=SCRIPTDIR source=../../tests/netns/lib.sh
source "$ROOT/tests/netns/lib.sh"

RESULTS=""		# per-repetition lines of both implementations
BASE_RSS_KB=0		# gossipd --baseline
BASE_PD_KB=0

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }

usage()
{
	sed -n '/^# Usage:/,/^# Serf (Debian/p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
}

check_args()
{
	local n v

	for n in "$@"; do
		if ! [[ $n =~ ^[0-9]+$ ]] || ((n < 3 || n > 250)); then
			echo "run.sh: N must be 3..250, got '$n'" >&2
			usage
		fi
	done
	for v in REPS IDLE_S LOSS_REPS SERF_REPS SERF_IDLE_S; do
		[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: $v must be >= 1" >&2; exit 2; }
	done
	if ! [[ $SETTLE_S =~ ^[0-9]+$ && $LOSS_PCT =~ ^[0-9]+$ ]] || ((LOSS_PCT > 99)); then
		echo "run.sh: SETTLE_S and LOSS_PCT (0..99) must be whole numbers" >&2
		exit 2
	fi
	[[ -x $GOSSIPD ]] || { echo "run.sh: no $GOSSIPD (run make)" >&2; exit 2; }
}

# serf comes from Debian; idempotent like scripts/install-deps.sh.
serf_install()
{
	command -v serf >/dev/null && return 0
	log "installing serf (apt-get)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends serf \
		>/dev/null || { apt-get update -q >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends serf \
		>/dev/null; }
}

# ---------------------------------------------------------------- underlay

# After lib.sh's underlay: IPv6 off and static neighbours, as serf's bench.
underlay_static()
{
	local n=$1 i j batch
	local -a mac=()

	for ((i = 1; i <= n; i++)); do
		ip netns exec "${HOST_NS[i]}" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 || return 1
		mac[i]=$(ip -n "${HOST_NS[i]}" -br link show eth0 | awk '{print $3}')
	done
	ip netns exec "$UL_NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 || return 1
	for ((i = 1; i <= n; i++)); do
		batch=""
		for ((j = 1; j <= n; j++)); do
			((i == j)) && continue
			batch+="neigh replace ${HOST_IP[j]} lladdr ${mac[j]} dev eth0 nud permanent"$'\n'
		done
		ip -n "${HOST_NS[i]}" -batch - <<<"$batch" || return 1
	done
}

# loss_on PCT: drop PCT % of what arrives at every host, until the underlay
# goes. On INPUT, not OUTPUT: a sender would see EPERM, not a lost packet.
loss_on()
{
	local i p

	p=$(awk -v l="$1" 'BEGIN { printf "%.4f", l / 100 }')
	for i in "${!HOST_NS[@]}"; do
		ip netns exec "${HOST_NS[i]}" iptables -w -A INPUT -i eth0 -m statistic \
			--mode random --probability "$p" -j DROP || return 1
	done
}

# Bytes and packets the hosts sent = received by the bridge-side veths.
bridge_counters()
{
	ip netns exec "$UL_NS" cat /proc/net/dev |
		awk -F'[: ]+' '$2 ~ /^h[0-9]+$/ { b += $3; p += $4 } END { printf "%d %d\n", b, p }'
}

# ---------------------------------------------------------------- nodes

node_sock() { echo "$D/h$1.sock"; }
node_ctl() { echo "$2" | socat -t 2 - "UNIX-CONNECT:$(node_sock "$1")" 2>/dev/null; }
node_pid() { spawn_pid "h$1"; }

node_start() # i n
{
	local i=$1 join=()

	((i > 1)) && join=(-j "${HOST_IP[1]}:$PORT")
	# shellcheck disable=SC2086 # GOSSIPD_OPTS is a list of options
	spawn_bg "h$i" ip netns exec "${HOST_NS[i]}" "$GOSSIPD" -n "h$i" \
		-b "${HOST_IP[i]}:$PORT" -k "$T/key" -c "$(node_sock "$i")" $GOSSIPD_OPTS \
		"${join[@]}" >"$D/h$i.log" 2>&1 </dev/null
}

node_ready() { [[ $(node_ctl "$1" ping) == ok ]]; }

# joined_all FROM TO WANT: every log hFROM..hTO has WANT distinct joins.
joined_all()
{
	local i files=()

	for ((i = $1; i <= $2; i++)); do files+=("$D/h$i.log"); done
	awk -v want="$3" '
		$2 == "ev=join" && !seen[FILENAME, $3]++ && ++joins[FILENAME] == want { ok++ }
		END { exit !(ok == ARGC - 1) }' "${files[@]}"
}

# firsts T0 PATTERN FROM TO: the first stamp at/after T0 of a line holding
# PATTERN in each log hFROM..hTO that has one.
firsts()
{
	local i files=()

	for ((i = $3; i <= $4; i++)); do files+=("$D/h$i.log"); done
	awk -v t0="$1" -v pat="$2" '
		FNR == 1 { done = 0 }
		!done && index($0, pat) { t = substr($1, 3)
			if (t + 0 >= t0 + 0) { print t; done = 1; nextfile } }' "${files[@]}"
}

all_seen() { (($(firsts "$@" | grep -c .) >= $4 - $3 + 1)); }

# latencies T0 PATTERN FROM TO -> "p50 p99 max seen" (ms; nearest rank)
latencies()
{
	firsts "$@" | awk -v t0="$1" '{ printf "%.1f\n", ($1 - t0) * 1000 }' | sort -n |
		awk '{ v[NR] = $1 }
		END {
			if (NR == 0) { print "NA NA NA 0"; exit }
			i = int((NR * 99 + 99) / 100)
			printf "%s %s %s %d\n", v[int((NR + 1) / 2)], v[i], v[NR], NR
		}'
}

cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/$3" 2>/dev/null; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "NA" }'; }

# stats_snap N FILE: every node's gossip_stats, one line each.
stats_snap()
{
	local i

	for ((i = 1; i <= $1; i++)); do node_ctl "$i" stats; done >"$2"
}

# stats_sum KEY FILE: KEY summed over the nodes of a snapshot.
stats_sum()
{
	tr ' ' '\n' <"$2" | awk -F= -v k="$1" '$1 == k { s += $2 } END { print s + 0 }'
}

baseline_measure()
{
	local pid

	spawn_bg base "$GOSSIPD" --baseline -c "$T/base.sock" >/dev/null 2>&1 </dev/null
	pid=$(spawn_pid base)
	busywait 5000 eval "[[ \$(echo ping | socat - UNIX-CONNECT:$T/base.sock 2>/dev/null) == ok ]]" >/dev/null
	BASE_RSS_KB=$(status_kb "$pid" VmRSS status)
	BASE_PD_KB=$(status_kb "$pid" Private_Dirty smaps_rollup)
	spawn_stop base
	log "gossipd --baseline: RSS ${BASE_RSS_KB} kB, private dirty ${BASE_PD_KB} kB"
}

# ---------------------------------------------------------------- one repetition

# Start h1..h(n-1) and wait until all know each other.
rep_cluster_up()
{
	local n=$1 i

	node_start 1
	slowwait 10 node_ready 1 || { log "h1 did not start"; cat "$D/h1.log" >&2; return 1; }
	for ((i = 2; i < n; i++)); do node_start "$i"; done
	slowwait $((20 + n)) joined_all 1 $((n - 1)) $((n - 2)) ||
		{ log "h1..h$((n - 1)) did not converge"; return 1; }
}

# Sets JOIN: the N-th node joins the running cluster.
rep_join()
{
	local n=$1 t0

	t0=$EPOCHREALTIME
	node_start "$n"
	slowwait 30 all_seen "$t0" "ev=join member=h$n " 1 $((n - 1)) || log "join: not all saw h$n"
	JOIN=$(latencies "$t0" "ev=join member=h$n " 1 $((n - 1)))
	slowwait 30 joined_all "$n" "$n" $((n - 1)) || log "h$n does not see everyone"
}

# Sets IDLE (B/s pkt/s per node), CPU (% per node), MEM (rss p50, rss max,
# private dirty p50, kB).
rep_idle()
{
	local n=$1 i c0 c1 t0 t1 pid
	local -a tk0=() tk1=()

	sleep "$SETTLE_S"
	stats_snap "$n" "$D/stats0"
	c0=$(bridge_counters)
	for ((i = 1; i <= n; i++)); do tk0[i]=$(cpu_ticks "$(node_pid "$i")"); done
	t0=$EPOCHREALTIME
	sleep "$IDLE_S"
	c1=$(bridge_counters)
	t1=$EPOCHREALTIME
	for ((i = 1; i <= n; i++)); do tk1[i]=$(cpu_ticks "$(node_pid "$i")"); done
	stats_snap "$n" "$D/stats1"
	# What the core itself sent (UDP payload, crypto included, no headers).
	UDP_PAYLOAD=$(awk -v b0="$(stats_sum bytes_out "$D/stats0")" -v b1="$(stats_sum bytes_out "$D/stats1")" \
		-v p0="$(stats_sum pkts_out "$D/stats0")" -v p1="$(stats_sum pkts_out "$D/stats1")" \
		'BEGIN { if (p1 > p0) printf "%.1f", (b1 - b0) / (p1 - p0); else print "NA" }')
	IDLE=$(awk -v a="$c0" -v b="$c1" -v n="$n" -v t0="$t0" -v t1="$t1" 'BEGIN {
		split(a, x, " "); split(b, y, " "); dt = t1 - t0
		printf "%.0f %.1f", (y[1] - x[1]) / n / dt, (y[2] - x[2]) / n / dt }')
	CPU=$(for ((i = 1; i <= n; i++)); do echo "${tk0[i]} ${tk1[i]}"; done |
		awk -v dt="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
		    -v hz="$(getconf CLK_TCK)" '{ s += $2 - $1 } END { printf "%.2f", s / NR / hz / dt * 100 }')
	MEM="$(for ((i = 1; i <= n; i++)); do status_kb "$(node_pid "$i")" VmRSS status; done | median)"
	MEM+=" $(for ((i = 1; i <= n; i++)); do status_kb "$(node_pid "$i")" VmRSS status; done | sort -n | tail -1)"
	MEM+=" $(for ((i = 1; i <= n; i++)); do
		pid=$(node_pid "$i")
		status_kb "$pid" Private_Dirty smaps_rollup
	done | median)"
}

# Sets EVENT and EVENT_E2E: one user event from h1.
rep_event()
{
	local n=$1 rep=$2 name="bev${2}z" t0 ts

	t0=$EPOCHREALTIME
	[[ $(node_ctl 1 "event $name x") == ok ]] || log "event: h1 refused"
	slowwait 30 all_seen "$t0" "ev=user name=$name " 2 "$n" || log "event: not all received"
	ts=$(firsts "$t0" "ev=sent name=$name " 1 1)
	EVENT=$(latencies "${ts:-$t0}" "ev=user name=$name " 2 "$n")
	EVENT_E2E=$(latencies "$t0" "ev=user name=$name " 2 "$n")
}

# Sets FAIL and FAIL_FIRST: kill -9 of node N.
rep_fail()
{
	local n=$1 t0

	sleep 2
	t0=$EPOCHREALTIME
	kill -KILL "$(node_pid "$n")"
	# (stderr closed: bash would report the kill we just did)
	{ wait "$(node_pid "$n")"; } 2>/dev/null
	unset "SPAWNED[h$n]"
	slowwait 60 all_seen "$t0" "ev=fail member=h$n " 1 $((n - 1)) || log "fail: not all detected"
	FAIL=$(latencies "$t0" "ev=fail member=h$n " 1 $((n - 1)))
	FAIL_FIRST=$(firsts "$t0" "ev=fail member=h$n " 1 $((n - 1)) | sort -n | head -1 |
		awk -v b="$t0" '{ printf "%.1f", ($1 - b) * 1000 }')
}

# nodes_dead FROM TO: how many of those nodes are not running (a crash, or
# anything else that killed them: the figures of that repetition are void).
nodes_dead()
{
	local i dead=0

	for ((i = $1; i <= $2; i++)); do
		pid_alive "$(node_pid "$i")" || dead=$((dead + 1))
	done
	echo "$dead"
}

# One repetition; appends its line to RESULTS.
run_rep()
{
	local n=$1 rep=$2 loss=$3 fp susp refute line dead

	D=$T/n$n-l$loss-r$rep
	if [[ ! -f $T/key ]]; then
		log "$T/key is gone: something removed the temp dir"
		return 1
	fi
	mkdir -p "$D"
	rep_cluster_up "$n" && rep_join "$n" || return 1
	rep_idle "$n"
	fp=$(cat "$D"/h*.log | grep -c 'ev=fail ')
	susp=$(stats_sum suspicions "$D/stats1")
	refute=$(stats_sum refutations "$D/stats1")
	rep_event "$n" "$rep"
	dead=$(nodes_dead 1 "$n")
	rep_fail "$n"
	dead=$((dead + $(nodes_dead 1 $((n - 1)))))
	((dead == 0)) || log "N=$n rep $rep: $dead node(s) died on their own; logs in $D"
	# (unquoted on purpose: each holds several space-separated figures)
	# shellcheck disable=SC2086
	set -- $JOIN; local jp="$1/$3" jseen=$4
	# shellcheck disable=SC2086
	set -- $EVENT; local ep="$1/$2/$3" eseen=$4
	# shellcheck disable=SC2086
	set -- $EVENT_E2E; local ee="$1/$2/$3"
	# shellcheck disable=SC2086
	set -- $FAIL; local fl="$1/$2/$3" fseen=$4
	# shellcheck disable=SC2086
	set -- $IDLE; local bps=$1 pps=$2
	# shellcheck disable=SC2086
	set -- $MEM
	line=$(printf 'ovn n=%d rep=%d join_proto_ms=%s join_seen=%s event_ms=%s event_seen=%s event_e2e_ms=%s fail_first_ms=%s fail_ms=%s fail_seen=%s idle_tx_Bps_node=%s idle_tx_pps_node=%s udp_payload_B=%s rss_kB_p50=%s rss_kB_max=%s pdirty_kB_p50=%s cpu_pct_node=%s false_fail=%s suspicions=%s refutations=%s died=%s loss_pct=%s load1=%s' \
		"$n" "$rep" "$jp" "$jseen" "$ep" "$eseen" "$ee" "${FAIL_FIRST:-NA}" "$fl" "$fseen" \
		"$bps" "$pps" "$UDP_PAYLOAD" "$1" "$2" "$3" "$CPU" "$fp" "$susp" "$refute" "$dead" "$loss" \
		"$(cut -d' ' -f1 /proc/loadavg)")
	echo "$line"
	RESULTS+="$line"$'\n'
}

# rep_cleanup PREFIX: stop the nodes (h) or serf agents (s) of a repetition.
rep_cleanup()
{
	local i

	for i in "${!SPAWNED[@]}"; do
		[[ $i == "$1"* ]] && spawn_stop "$i" 2000
	done
	rm -f "$D"/*.sock
}

# ---------------------------------------------------------------- serf, sealed

# serf's bench runs serf unencrypted; ovn always seals. To compare like with
# like, serf agents with -encrypt (AES-256-GCM) run on our underlay for one
# idle window (bytes, packets, RSS only).
serf_alive() # i want
{
	(($(ip netns exec "${HOST_NS[$1]}" serf members -status=alive -rpc-addr=127.0.0.1:7373 \
		2>/dev/null | grep -c .) >= $2))
}

serf_agent_start() # i key
{
	local i=$1 join=()

	((i > 1)) && join=(-join="${HOST_IP[1]}:$PORT")
	spawn_bg "s$i" ip netns exec "${HOST_NS[i]}" serf agent -node="s$i" \
		-bind="${HOST_IP[i]}:$PORT" -rpc-addr=127.0.0.1:7373 -encrypt="$2" \
		-log-level=warn "${join[@]}" >"$D/s$i.log" 2>&1 </dev/null
}

serf_sealed_idle()
{
	local n=$1 i key c0 c1 t0 t1 idle rss line

	D=$T/serfenc-n$n
	mkdir -p "$D"
	key=$(head -c 32 /dev/urandom | base64 -w0)
	serf_agent_start 1 "$key"
	slowwait 15 serf_alive 1 1 || { log "serf -encrypt: s1 did not start"; return 1; }
	for ((i = 2; i <= n; i++)); do serf_agent_start "$i" "$key"; done
	if ! slowwait $((30 + n)) serf_alive 1 "$n" || ! slowwait 30 serf_alive "$n" "$n"; then
		log "serf -encrypt: no convergence to $n"
		return 1
	fi
	sleep "$SETTLE_S"
	c0=$(bridge_counters)
	t0=$EPOCHREALTIME
	sleep "$IDLE_S"
	c1=$(bridge_counters)
	t1=$EPOCHREALTIME
	idle=$(awk -v a="$c0" -v b="$c1" -v n="$n" -v t0="$t0" -v t1="$t1" 'BEGIN {
		split(a, x, " "); split(b, y, " "); dt = t1 - t0
		printf "%.0f %.1f", (y[1] - x[1]) / n / dt, (y[2] - x[2]) / n / dt }')
	rss=$(for ((i = 1; i <= n; i++)); do status_kb "$(spawn_pid "s$i")" VmRSS status; done | median)
	# shellcheck disable=SC2086
	set -- $idle
	line=$(printf 'serfenc n=%d rep=1 idle_tx_Bps_node=%s idle_tx_pps_node=%s rss_MiB_p50=%.1f loss_pct=0' \
		"$n" "$1" "$2" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')")
	echo "$line"
	RESULTS+="$line"$'\n'
}

ovn_bench_n()
{
	local n=$1 r

	log "ovn N=$n: building underlay"
	if ! underlay_create "$n" || ! underlay_static "$n"; then
		log "underlay failed"
		return 1
	fi
	for ((r = 1; r <= REPS; r++)); do
		log "ovn N=$n rep $r"
		run_rep "$n" "$r" 0 || log "ovn N=$n rep $r failed"
		rep_cleanup h
	done
	if [[ $BENCH_SERF == 1 && $SERF_ENC == 1 ]] && ((n == MAX_N)) && serf_install; then
		log "serf -encrypt N=$n: idle window on this underlay"
		serf_sealed_idle "$n" || log "serf -encrypt N=$n failed"
		rep_cleanup s
	fi
	if ((LOSS_PCT > 0)); then
		loss_on "$LOSS_PCT" || log "iptables loss rule failed"
		for ((r = 1; r <= LOSS_REPS; r++)); do
			log "ovn N=$n rep $r, ${LOSS_PCT}% loss"
			run_rep "$n" "$r" "$LOSS_PCT" || log "ovn N=$n loss rep $r failed"
			rep_cleanup h
		done
	fi
	# (ip netns list may complain about a namespace half gone: noise)
	underlay_destroy 2> >(grep -v 'Peer netns reference is invalid' >&2)
}

# ---------------------------------------------------------------- serf

serf_run() # args for bench.sh
{
	local out

	out=$(bash "$SERF_BENCH" "$@" 2> >(sed 's/^/serf: /' >&2)) || log "serf bench: exit $?"
	grep '^serf n=' <<<"$out"
	RESULTS+=$(grep '^serf n=' <<<"$out")$'\n'
}

serf_bench()
{
	local max=$1

	shift
	if [[ $BENCH_SERF != 1 ]]; then
		log "serf skipped (BENCH_SERF=$BENCH_SERF)"
		return 0
	fi
	if [[ ! -r $SERF_BENCH ]]; then
		log "no serf bench at $SERF_BENCH (set SERF_BENCH): serf skipped"
		return 0
	fi
	serf_install || { log "cannot install serf: serf skipped"; return 0; }
	serf_run -r "$SERF_REPS" -i "$SERF_IDLE_S" "$@"
	if [[ $SERF_LOSS == 1 ]] && ((LOSS_PCT > 0)); then
		serf_run -r 1 -i "$SERF_IDLE_S" -l "$LOSS_PCT" "$max"
	fi
}

# ---------------------------------------------------------------- report

main()
{
	local n max=0
	local -a ns

	read -ra ns <<<"${*:-$NS_DEFAULT}"
	check_args "${ns[@]}"
	require_root
	require_command socat
	require_command iptables
	for n in "${ns[@]}"; do ((n > max)) && max=$n; done
	MAX_N=$max
	tmpdir_setup || exit 1
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/key"
	log "ovn gossipd ${GOSSIPD_OPTS:-(ovn profile)}; reps=$REPS idle=${IDLE_S}s loss=${LOSS_PCT}% N=${ns[*]}"
	baseline_measure
	for n in "${ns[@]}"; do ovn_bench_n "$n"; done
	serf_bench "$max" "${ns[@]}"
	mkdir -p "$(dirname "$BENCH_OUT")"
	printf '%s' "$RESULTS" | awk -v base_rss="$BASE_RSS_KB" -v base_pd="$BASE_PD_KB" \
		-v loss="$LOSS_PCT" -v maxn="$max" -v json="$BENCH_OUT" \
		-v opts="$GOSSIPD_OPTS" -f "$HERE/report.awk"
}

trap cleanup EXIT
main "$@"
