#!/usr/bin/env bash
# bench/dns/run.sh - ovn's DNS (the dns/ library alone, and the real agent)
# against dnsmasq, unbound and Docker's embedded DNS, in one run, on the data
# set and query mix of the project's DNS anchors (specs/dns.md section 6).
#
# Usage:  run.sh [-l SECS] [-c CLIENTS] [-n NAMES] [-Q "RATE ..."] [-t] [-p] [SERVER ...]
#         (root: every server and dnsperf run in namespaces this script makes)
# SERVER: ovn agent dnsmasq unbound docker (default: all five; unbound is
#         installed with apt-get when missing, docker runs when dockerd is
#         installed; a server that cannot start is reported and skipped).
#
# Servers. Every name is c0001..cNNNN in zone/network "net1":
#   ovn      the dns/ library in a stand-alone server (ovn_dns_bench.c, built
#            here); dnsmasq and unbound: the same data as local data. All
#            three on 127.0.0.1 in a private namespace with only lo. Data:
#            cI.net1 A 10.1.(I/250).(I%250+1), AAAA fd00:1::<hex I>,
#            v4only.net1 (A only), PTR for each IPv4.
#   agent    ovnagent from $OVN_BIN (default build/bin) in a host namespace
#            (tests/netns/lib.sh): dual-stack network net1 (198.19.0.0/22,
#            fd00:b::/64), ceil(NAMES/16) container namespaces attached with
#            --name and 15 --alias each, so 16 names share an endpoint's
#            addresses; dnsperf runs in the first container against the
#            agent's resolver there, 127.0.0.11:53. Unknown names of net1 are
#            NXDOMAIN from the agent itself (its only upstream is unroutable).
#   docker   a private dockerd (its own network and mount namespace, data and
#            exec roots): user-defined bridge net1 (198.19.64.0/20,
#            fd00:d0c::/64, --ipv6) with the same containers (busybox
#            `sleep`, name + 15 --network-alias); dnsperf in the first
#            container's namespace (nsenter) against 127.0.0.11:53 (Docker's
#            NAT rules). Docker forwards the names it does not know: its
#            resolv.conf names 127.0.0.54, a dnsmasq in dockerd's namespace
#            that answers NXDOMAIN for net1 at once (without one, 10% of the
#            queries would be lost); that dnsmasq's CPU is reported apart.
# Queries: 10,000 lines, awk srand(42): 80% A hit, 10% AAAA hit, 10% A for
# uNNNN.net1 (NXDOMAIN), the same file for every server. Runs per server: dig
# probes, 2 s warm-up, dnsperf "max" (no rate limit), "qRATE" (-Q RATE -v:
# p50/p99 from per-query latencies), "tcpmax" (-m tcp: CLIENTS pipelined
# connections; -t skips). CPU = utime+stime+cutime+cstime delta of the
# server process (ovnagent, dockerd), all its threads; RSS from /proc.
# -p pins dnsperf to CPU 0 and the server (all threads) to CPU 1.
# Everything started is stopped by its PID; namespaces, containers, dockerd's
# roots and the temp dir are removed at exit. Needs dnsperf, dig
# (bind9-dnsutils), gcc, libuv1-dev, jq, curl; docker needs busybox.
# Output: a markdown table on stdout, and the same figures as JSON in
# $BENCH_OUT (default build/bench/dns.json): {"runs": [{server, run, qps,
# lost, avg_us, p50_us, p99_us, cpu_s, q_per_cpu_s, rss_mb, rcodes,
# upstream_cpu_s, kernel_share (stime / CPU of the server)}, ...], "idle_rss_mb":
# {server: MB}, "ratios": {A_over_B_
# METRIC_RUN: x}, "targets": [{name, value, target, met}], parameters}.

set -uo pipefail
export LC_ALL=C

SECS=15 CLIENTS=10 NAMES=1000 RATES="20000 2000" TCP=1 PIN=0
NPER=16			# names per container: --name + 15 aliases (the API allows 16)
ALL_SERVERS="ovn agent dnsmasq unbound docker"
while getopts "l:c:n:Q:tph" o; do
	case $o in
	l) SECS=$OPTARG ;; c) CLIENTS=$OPTARG ;; n) NAMES=$OPTARG ;;
	Q) RATES=$OPTARG ;; t) TCP=0 ;; p) PIN=1 ;;
	*) sed -n '6,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if ! [[ $SECS =~ ^[1-9][0-9]*$ && $CLIENTS =~ ^[1-9][0-9]*$ && $NAMES =~ ^[1-9][0-9]*$ ]] ||
	((NAMES > 9999)); then
	echo "bad -l/-c/-n" >&2
	exit 2
fi
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 4; }
for c in dnsperf dig gcc jq curl; do
	command -v $c >/dev/null || { echo "missing $c" >&2; exit 4; }
done
REPO=$(cd "$(dirname "$0")/../.." && pwd)
BENCH_OUT=${BENCH_OUT:-$REPO/build/bench/dns.json}
OVN_BIN=${OVN_BIN:-$REPO/build/bin}
SERVERS=("$@")
[ ${#SERVERS[@]} = 0 ] && read -ra SERVERS <<<"$ALL_SERVERS"
for s in "${SERVERS[@]}"; do
	[[ " $ALL_SERVERS " == *" $s "* ]] || { echo "unknown server '$s'" >&2; exit 2; }
done

# shellcheck source-path=SCRIPTDIR source=../../tests/netns/lib.sh
source "$REPO/tests/netns/lib.sh"
tmpdir_setup || exit 1
TMP=$T
chmod 755 "$TMP"
SPIN=() DPIN=()
[ "$PIN" = 1 ] && SPIN=(taskset -c 1) DPIN=(taskset -c 0)
NCONT=$(((NAMES + NPER - 1) / NPER))
POLICY_MADE=0
DK_R="" DK_D=""		# dockerd's exec root (short: socket paths) and data root
DK_NS=""

# Per server, set by its start function: how to run a client next to it,
# where it listens, the PID whose CPU counts, the PID of Docker's upstream.
EXEC=() ADDR="" PORT="" SPID="" UPID=""

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }

cleanup() {
	docker_teardown
	[ "$POLICY_MADE" = 1 ] && rm -f /usr/sbin/policy-rc.d
	lib_cleanup
}
trap cleanup EXIT

make_data() {
	awk -v n="$NAMES" -v d="$TMP" 'BEGIN {
		ub = d "/unbound-data.conf"
		print "local-zone: \"net1.\" static" > ub
		print "local-data: \"net1. 600 IN SOA ns.net1. hostmaster.net1. 1 3600 600 86400 600\"" > ub
		for (i = 1; i <= n + 1; i++) {
			name = i <= n ? sprintf("c%04d", i) : "v4only"
			a = sprintf("10.1.%d.%d", int(i / 250), i % 250 + 1)
			printf "%s %s.net1\n", a, name > (d "/hosts")
			printf "local-data: \"%s.net1. 600 IN A %s\"\n", name, a > ub
			printf "local-data-ptr: \"%s 600 %s.net1.\"\n", a, name > ub
			if (i <= n) {
				printf "fd00:1::%x %s.net1\n", i, name > (d "/hosts")
				printf "local-data: \"%s.net1. 600 IN AAAA fd00:1::%x\"\n", name, i > ub
			}
		}
		srand(42)
		for (q = 0; q < 10000; q++) {
			r = rand(); i = 1 + int(rand() * n)
			if (r < 0.8) printf "c%04d.net1 A\n", i > (d "/queries.txt")
			else if (r < 0.9) printf "c%04d.net1 AAAA\n", i > (d "/queries.txt")
			else printf "u%04d.net1 A\n", i > (d "/queries.txt")
		}
	}'
}

# names_of K: the names of container K (1-based): NPER consecutive cNNNN.
names_of() {
	local k=$1 i last
	last=$((k * NPER))
	((last > NAMES)) && last=$NAMES
	for ((i = (k - 1) * NPER + 1; i <= last; i++)); do printf 'c%04d\n' "$i"; done
}

build_ovn() {
	gcc -std=gnu11 -O2 -g -D_GNU_SOURCE -I"$REPO/lib" -I"$REPO/dns" -o "$TMP/ovn_dns_bench" \
		"$REPO/bench/dns/ovn_dns_bench.c" "$REPO"/dns/*.c "$REPO"/lib/*.c -luv
}

# unbound_ensure: install unbound when missing. A policy-rc.d that exits 101
# (created only if none exists, removed after) keeps the package's service
# from starting, so the install leaves nothing running.
unbound_ensure() {
	local apt=(apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=120 unbound)
	command -v unbound >/dev/null && return 0
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d &&
			POLICY_MADE=1
	fi
	log "installing unbound (apt-get)"
	export DEBIAN_FRONTEND=noninteractive
	"${apt[@]}" >"$TMP/apt.log" 2>&1 ||
		{ apt-get update -q >>"$TMP/apt.log" 2>&1 && "${apt[@]}" >>"$TMP/apt.log" 2>&1; }
	[ "$POLICY_MADE" = 1 ] && rm -f /usr/sbin/policy-rc.d && POLICY_MADE=0
	command -v unbound >/dev/null || { tail -3 "$TMP/apt.log" >&2; return 1; }
}

# --- ovn, dnsmasq, unbound: one private namespace, 127.0.0.1, high ports

LNS=""
LPORT=15400

start_local() { # server
	local s=$1 d=$TMP/$1 p
	if [ -z "$LNS" ]; then setup_ns LNS || return 1; fi
	LPORT=$((LPORT + 1))
	p=$LPORT
	mkdir -p "$d"
	case $s in
	ovn)
		spawn_bg "$s" ip netns exec "$LNS" "${SPIN[@]}" "$TMP/ovn_dns_bench" "$p" "$NAMES" 600 \
			>"$d/log" 2>&1 </dev/null ;;
	dnsmasq)
		spawn_bg "$s" ip netns exec "$LNS" "${SPIN[@]}" dnsmasq -k --conf-file=/dev/null \
			--no-resolv --no-hosts --addn-hosts="$TMP/hosts" --local=/net1/ \
			--listen-address=127.0.0.1 --bind-interfaces --port="$p" --cache-size=10000 \
			--local-ttl=600 --user=root --pid-file= >"$d/log" 2>&1 </dev/null ;;
	unbound)
		unbound_ensure || return 1
		printf '%s\n' "server:" "  verbosity: 0" "  num-threads: 1" "  interface: 127.0.0.1" \
			"  port: $p" "  do-ip6: no" "  access-control: 127.0.0.0/8 allow" \
			"  username: \"\"" "  chroot: \"\"" "  directory: \"$d\"" "  pidfile: \"\"" \
			"  use-syslog: no" "  do-daemonize: no" "  module-config: \"iterator\"" \
			"  include: \"$TMP/unbound-data.conf\"" "remote-control:" "  control-enable: no" \
			>"$d/unbound.conf"
		spawn_bg "$s" ip netns exec "$LNS" "${SPIN[@]}" unbound -d -p -c "$d/unbound.conf" \
			>"$d/log" 2>&1 </dev/null ;;
	esac
	SPID=$SPAWN_PID
	EXEC=(ip netns exec "$LNS") ADDR=127.0.0.1 PORT=$p UPID=""
}

# --- agent: host namespace H, container namespaces AC[1..NCONT]

AH="" AC=()

start_agent() {
	local k args n pid
	[[ -x $OVN_BIN/ovnagent && -x $OVN_BIN/ovnctl ]] ||
		{ log "agent: no ovnagent/ovnctl in $OVN_BIN (make)"; return 1; }
	setup_ns AH || return 1
	# an underlay address to advertise, as on a real host (bench/attach)
	ip -n "$AH" link add ul0 type veth peer name ul1 &&
		ip -n "$AH" link set ul1 up && ip -n "$AH" addr add 198.18.0.1/24 dev ul0 &&
		ip -n "$AH" link set ul0 up || return 1
	for ((k = 1; k <= NCONT; k++)); do ns_create "AC[$k]" "c$k" || return 1; done
	agent_start "$AH" dnsb "log:" "  level: warn" || return 1
	pid=$(agent_pid dnsb)
	mkdir -p "$TMP/agent"
	rss_mb "$pid" >"$TMP/agent/rss_empty"
	ovnctl_on dnsb network create net1 --subnet 198.19.0.0/22 --subnet fd00:b::/64 \
		>/dev/null || return 1
	for ((k = 1; k <= NCONT; k++)); do
		args=()
		for n in $(names_of "$k"); do
			if [ ${#args[@]} = 0 ]; then args=(--name "$n"); else args+=(--alias "$n"); fi
		done
		ovnctl_on dnsb network attach net1 --netns "${AC[k]}" "${args[@]}" >/dev/null ||
			{ log "agent: attach of container $k failed"; return 1; }
	done
	[ "$PIN" = 1 ] && taskset -a -p -c 1 "$pid" >/dev/null
	SPID=$pid
	EXEC=(ip netns exec "${AC[1]}") ADDR=127.0.0.11 PORT=53 UPID=""
}

# --- docker: dockerd in namespace DK_NS with a private mount namespace whose
# /etc/resolv.conf names the NXDOMAIN upstream (dnsmasq on 127.0.0.54 there).

dk() { timeout 60 docker -H "unix://$DK_R/docker.sock" "$@"; }
dk_up() { dk version &>/dev/null; }

start_docker() {
	local k args n first cpid
	if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null || [ ! -x /bin/busybox ]; then
		log "docker: dockerd, docker or /bin/busybox not installed"
		return 1
	fi
	DK_R=/run/ovdnsb-$(mktemp -u XXXXXX)
	DK_D=/var/lib/${DK_R#/run/}
	mkdir -p "$DK_R/rootfs/bin" "$DK_D" || return 1
	setup_ns DK_NS || return 1
	echo "nameserver 127.0.0.54" >"$DK_R/resolv.conf"
	echo "{}" >"$DK_R/daemon.json"
	spawn_bg dkup ip netns exec "$DK_NS" dnsmasq -k --conf-file=/dev/null --no-resolv \
		--no-hosts --local=/net1/ --listen-address=127.0.0.54 --bind-interfaces --port=53 \
		--user=root --pid-file= >"$DK_R/upstream.log" 2>&1 </dev/null
	UPID=$SPAWN_PID
	# nsenter, not `ip netns exec` (which remounts /sys: dockerd needs the cgroups)
	# shellcheck disable=SC2016 # $1/$@ are the inner shell's
	spawn_bg dockerd unshare --mount --propagation private sh -c \
		'mount --bind "$1" /etc/resolv.conf && shift && exec nsenter --net="$@"' sh \
		"$DK_R/resolv.conf" "/run/netns/$DK_NS" dockerd --config-file "$DK_R/daemon.json" \
		--data-root "$DK_D" --exec-root "$DK_R/x" -H "unix://$DK_R/docker.sock" \
		--pidfile "$DK_R/docker.pid" --iptables=false --ip-masq=false --bridge=none \
		--userland-proxy=false >"$DK_R/dockerd.log" 2>&1 </dev/null
	slowwait 60 dk_up || { log "docker: dockerd did not start"; tail -5 "$DK_R/dockerd.log" >&2; return 1; }
	SPID=$(cat "$DK_R/docker.pid") || return 1
	cp /bin/busybox "$DK_R/rootfs/bin/" && ln -s busybox "$DK_R/rootfs/bin/sleep" &&
		tar -C "$DK_R/rootfs" -c . | dk import - ovdnsb:latest >/dev/null || return 1
	dk network create --ipv6 --subnet 198.19.64.0/20 --subnet fd00:d0c::/64 net1 >/dev/null ||
		return 1
	for ((k = 1; k <= NCONT; k++)); do
		args=() first=""
		for n in $(names_of "$k"); do
			if [ -z "$first" ]; then first=$n; else args+=(--network-alias "$n"); fi
		done
		dk run -d --name "$first" --network net1 "${args[@]}" ovdnsb:latest sleep 86400 \
			>/dev/null || { log "docker: container $first did not start"; return 1; }
		echo "$first" >>"$DK_R/containers"
	done
	cpid=$(dk inspect -f '{{.State.Pid}}' c0001) && [ "$cpid" -gt 0 ] || return 1
	[ "$PIN" = 1 ] && taskset -a -p -c 1 "$SPID" >/dev/null
	EXEC=(nsenter --net="/proc/$cpid/ns/net") ADDR=127.0.0.11 PORT=53
}

docker_teardown() {
	[ -n "$DK_R" ] || return 0
	if [ -S "$DK_R/docker.sock" ]; then
		[ -s "$DK_R/containers" ] && xargs timeout 120 docker -H "unix://$DK_R/docker.sock" \
			rm -f <"$DK_R/containers" >/dev/null 2>&1
		dk network rm net1 >/dev/null 2>&1
	fi
	spawn_stop dockerd 20000
	spawn_stop dkup
	[ -n "$DK_NS" ] && cleanup_ns "$DK_NS"
	rm -rf "$DK_R" "$DK_D"
	DK_R="" DK_D="" DK_NS=""
}

start() { # server -> EXEC ADDR PORT SPID UPID
	case $1 in
	ovn | dnsmasq | unbound) start_local "$1" ;;
	agent) start_agent ;;
	docker) start_docker ;;
	esac
}

stop() { # server
	case $1 in
	ovn | dnsmasq | unbound) spawn_stop "$1" ;;
	agent) agent_counters; agent_stop dnsb ;;
	docker) docker_teardown ;;
	esac
}

# agent_counters: the agent's own DNS counters after its runs; forwarded must
# stay 0 (unknown names of net1 are answered NXDOMAIN locally).
agent_counters() {
	local m
	m=$(curl -s --max-time 5 --unix-socket "$(agent_sock dnsb)" http://ovn/metrics |
		awk '/^ovn_dns_(queries|forwarded)_total / { printf "%s%s %s", n++ ? ", " : "", $1, $2 }')
	[ -n "$m" ] || return 0
	echo "| agent | after the runs: $m |" >>"$TMP/probes.md"
	sed -n 's/.*ovn_dns_forwarded_total \([0-9]*\).*/\1/p' <<<"$m" >"$TMP/agent/forwarded"
}

q() { "${EXEC[@]}" dig @"$ADDR" -p "$PORT" +time=2 +tries=1 "$@"; }

ready() { # -> C1 (the address of c0001)
	local end=$((SECONDS + 20))
	while [ $SECONDS -lt $end ]; do
		pid_alive "$SPID" || return 1
		C1=$(q +short c0001.net1 A 2>/dev/null)
		[[ $C1 =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] && return 0
		sleep 0.2
	done
	return 1
}

ticks() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
sticks() { awk '{ print $15 + $17 }' "/proc/$1/stat" 2>/dev/null || echo 0; }	# kernel part
rss_mb() { awk '$1 == "VmRSS:" { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null; }

probe() { # one line of conformance findings
	local nx ds aaaa ptr
	nx=$(q u0001.net1 | awk '/status:/ { s = $6 } /AUTHORITY:/ { a = $NF } END { print s a }')
	aaaa=$(q c0001.net1 AAAA | awk '/status:/ { s = $6 }
		/^;; flags:/ { for (i = 1; i <= NF; i++) if ($i == "ANSWER:") a = $(i + 1) } END { print s "an=" a }')
	ptr=$(q +short -x "$C1")
	ds=$(q +tcp +short c0001.net1)
	echo "NX:$nx AAAA:$aaaa PTR($C1):$ptr TCP:$ds"
}

run() { # server mode
	local s=$1 mode=$2 out=$TMP/$1/perf-$2.txt args c0 c1 u0 u1 k0 k1 qps lost avg p50 p99 hz cpu ucpu rc
	local kshare
	args=(-s "$ADDR" -p "$PORT" -d "$TMP/queries.txt" -l "$SECS" -c "$CLIENTS")
	case $mode in
	q*) args+=(-Q "${mode#q}" -v) ;;
	tcpmax) args+=(-m tcp) ;;
	esac
	c0=$(ticks "$SPID") u0=$(ticks "${UPID:-0}") k0=$(sticks "$SPID")
	"${EXEC[@]}" "${DPIN[@]}" timeout $((SECS + 30)) dnsperf "${args[@]}" >"$out" 2>&1
	c1=$(ticks "$SPID") u1=$(ticks "${UPID:-0}") k1=$(sticks "$SPID")
	hz=$(getconf CLK_TCK)
	# share of the server's CPU spent in the kernel (the UDP/TCP stack)
	kshare=$(awk -v a="$c0" -v b="$c1" -v x="$k0" -v y="$k1" \
		'BEGIN { if (b > a) printf "%.2f", (y - x) / (b - a) }')
	qps=$(awk '/Queries per second:/ { print $4 }' "$out")
	lost=$(awk '/Queries lost:/ { print $3 }' "$out")
	rc=$(sed -n 's/^ *Response codes: *//p' "$out")
	# the first "Average Latency" is per query (TCP runs add a per-connection one)
	avg=$(awk '/Average Latency \(s\):/ && !n++ { printf "%.0f", $4 * 1e6 }' "$out")
	read -r p50 p99 < <(awk '$1 == ">" && $NF ~ /^[0-9.]+$/ { print $NF * 1e6 }' "$out" | sort -n |
		awk '{ v[NR] = $1 } END { if (NR) printf "%.0f %.0f\n", v[int(NR * .5) + 1], v[int(NR * .99) + 1]; else print "- -" }')
	cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz }')
	ucpu=""
	[ -n "$UPID" ] && ucpu=$(awk -v a="$u0" -v b="$u1" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz }')
	printf '| %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$s" "$mode" "${qps:-0}" \
		"${lost:--}" "${avg:--}" "$p50" "$p99" "$cpu${ucpu:+ (+$ucpu)}" \
		"$(awk -v q="${qps:-0}" -v s="$SECS" -v c="$cpu" 'BEGIN { if (c > 0) printf "%.0f", q * s / c; else print "-" }')" \
		"$(rss_mb "$SPID")" "${rc:--}" >>"$TMP/results.md"
	jq -cn --arg s "$s" --arg m "$mode" --arg qps "${qps:-0}" --arg lost "${lost:-}" \
		--arg avg "${avg:-}" --arg p50 "$p50" --arg p99 "$p99" --arg cpu "$cpu" \
		--arg secs "$SECS" --arg rss "$(rss_mb "$SPID")" --arg rc "$rc" --arg ucpu "$ucpu" --arg ks "$kshare" '
		def num: tonumber? // null;
		{server: $s, run: $m, qps: ($qps | num), lost: ($lost | num),
		 avg_us: ($avg | num), p50_us: ($p50 | num), p99_us: ($p99 | num),
		 cpu_s: ($cpu | num), rss_mb: ($rss | num), rcodes: $rc,
		 upstream_cpu_s: ($ucpu | num), kernel_share: ($ks | num),
		 q_per_cpu_s: (if ($cpu | num) > 0 then ((($qps | num) * ($secs | num) / ($cpu | num)) | floor)
			       else null end)}' >>"$TMP/results.jsonl"
	log "$s $mode: ${qps:-0} q/s, CPU ${cpu}s (kernel ${kshare:-?}), $rc"
}

bench_one() { # server
	local s=$1 r
	log "starting $s"
	if ! start "$s"; then
		log "$s: could not start, skipped"
		echo "| $s | skipped: could not start (see stderr) |" >>"$TMP/probes.md"
		stop "$s"
		return 0
	fi
	mkdir -p "$TMP/$s"
	if ! ready; then
		log "$s did not answer c0001.net1"
		echo "| $s | skipped: no answer for c0001.net1 |" >>"$TMP/probes.md"
		stop "$s"
		return 0
	fi
	echo "| $s | $(probe) |" >>"$TMP/probes.md"
	"${EXEC[@]}" "${DPIN[@]}" timeout 20 dnsperf -s "$ADDR" -p "$PORT" -d "$TMP/queries.txt" \
		-l 2 -c "$CLIENTS" >/dev/null 2>&1
	sleep 1
	echo "$s $(rss_mb "$SPID")" >>"$TMP/idle_rss"
	run "$s" max
	for r in $RATES; do run "$s" "q$r"; done
	[ "$TCP" = 1 ] && run "$s" tcpmax
	stop "$s"
}

# summarize: results.jsonl -> $BENCH_OUT with the ratios and targets of the
# DNS issue computed explicitly.
summarize() {
	local extra=null fwd=null
	[ -s "$TMP/agent/rss_empty" ] && extra=$(cat "$TMP/agent/rss_empty")
	[ -s "$TMP/agent/forwarded" ] && fwd=$(cat "$TMP/agent/forwarded")
	jq -s --arg date "$(date -u +%FT%TZ)" --argjson names "$NAMES" --argjson clients "$CLIENTS" \
		--argjson secs "$SECS" --argjson pinned "$PIN" --argjson cpus "$(nproc)" \
		--argjson nper "$NPER" --argjson agent_empty "${extra:-null}" \
		--argjson agent_fwd "${fwd:-null}" \
		--rawfile idle "$TMP/idle_rss" '
		. as $runs
		| ($idle | split("\n") | map(select(length > 0) | split(" ") |
			{(.[0]): (.[1] | tonumber? // null)}) | add // {}) as $idle_rss
		| def v($s; $r; $m): first($runs[] | select(.server == $s and .run == $r) | .[$m]) // null;
		  def ratio($a; $b): if $a != null and $b != null and $b > 0
			then ($a / $b * 100 | round / 100) else null end;
		  def t($name; $val; $op; $target): {name: $name,
			value: (if $val == null then null else ($val * 100 | round / 100) end), target: "\($op) \($target)",
			met: (if $val == null then null elif $op == ">=" then $val >= $target
			      else $val <= $target end)};
		{date: $date, names: $names, clients: $clients, secs: $secs, pinned: ($pinned == 1),
		 cpus: $cpus, names_per_container: $nper, runs: $runs,
		 idle_rss_mb: $idle_rss,
		 agent_rss_mb_no_endpoints: $agent_empty, agent_dns_forwarded_total: $agent_fwd,
		 ratios: ([[["ovn", "dnsmasq"], ["ovn", "unbound"], ["ovn", "docker"], ["agent", "docker"],
			   ["agent", "dnsmasq"], ["agent", "unbound"], ["agent", "ovn"]][] as [$a, $b]
			| ([$runs[].run] | unique)[] as $r | ["qps", "q_per_cpu_s"][] as $m
			| {("\($a)_over_\($b)_\($m)_\($r)"): ratio(v($a; $r; $m); v($b; $r; $m))}]
			| add // {}),
		 targets: [
			t("ovn_over_dnsmasq_q_per_cpu_s_max"; ratio(v("ovn"; "max"; "q_per_cpu_s");
				v("dnsmasq"; "max"; "q_per_cpu_s")); ">="; 3),
			t("agent_over_dnsmasq_q_per_cpu_s_max"; ratio(v("agent"; "max"; "q_per_cpu_s");
				v("dnsmasq"; "max"; "q_per_cpu_s")); ">="; 3),
			t("agent_over_docker_qps_max"; ratio(v("agent"; "max"; "qps"); v("docker"; "max"; "qps")); ">="; 2),
			t("agent_qps_tcpmax"; v("agent"; "tcpmax"; "qps"); ">="; 80000),
			t("agent_q_per_cpu_s_q2000"; v("agent"; "q2000"; "q_per_cpu_s"); ">="; 50000),
			t("agent_p50_us_q2000"; v("agent"; "q2000"; "p50_us"); "<="; 50),
			t("agent_p50_us_q20000"; v("agent"; "q20000"; "p50_us"); "<="; 50),
			t("agent_lost_all_runs"; ([$runs[] | select(.server == "agent") | .lost] |
				if length > 0 then add else null end); "<="; 0),
			t("ovn_over_docker_qps_max"; ratio(v("ovn"; "max"; "qps"); v("docker"; "max"; "qps")); ">="; 2),
			t("ovn_qps_tcpmax"; v("ovn"; "tcpmax"; "qps"); ">="; 80000),
			t("ovn_q_per_cpu_s_q2000"; v("ovn"; "q2000"; "q_per_cpu_s"); ">="; 50000),
			t("ovn_p50_us_q2000"; v("ovn"; "q2000"; "p50_us"); "<="; 50),
			t("ovn_p50_us_q20000"; v("ovn"; "q20000"; "p50_us"); "<="; 50),
			t("ovn_rss_mb_idle"; $idle_rss.ovn; "<="; 6),
			t("agent_rss_mb_idle_minus_no_endpoints";
				(if $idle_rss.agent != null and $agent_empty != null
				 then $idle_rss.agent - $agent_empty else null end); "<="; 6)]}' \
		"$TMP/results.jsonl"
}

log "data: $NAMES names in $TMP"
make_data
build_ovn || exit 1
: >"$TMP/results.md"
: >"$TMP/probes.md"
: >"$TMP/results.jsonl"
: >"$TMP/idle_rss"
for s in "${SERVERS[@]}"; do bench_one "$s"; done

mkdir -p "$(dirname "$BENCH_OUT")"
summarize >"$BENCH_OUT" && log "wrote $BENCH_OUT"
echo "## ovn DNS vs reference servers and Docker ($(date -u +%F), $(nproc) CPUs, kernel $(uname -r))"
echo
echo "$NAMES names, dnsperf -c $CLIENTS -l $SECS; pinned: $PIN. q/CPU-s = completed queries /" \
	"server CPU s. agent/docker: $NCONT containers of $NPER names; docker's CPU (+ its NXDOMAIN upstream's)."
echo
echo "| server | run | q/s | lost | avg us | p50 us | p99 us | server CPU s | q/CPU-s | RSS MB | rcodes |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
cat "$TMP/results.md"
echo
echo "| server | probes |"
echo "|---|---|"
cat "$TMP/probes.md"
echo
echo "| target | value | wanted | met |"
echo "|---|---:|---|---|"
jq -r '.targets[] | "| \(.name) | \(.value // "-") | \(.target) | \(if .met == null then "-" else .met end) |"' \
	"$BENCH_OUT"
echo
echo "agent RSS before any endpoint: $(jq -r '.agent_rss_mb_no_endpoints // "-"' "$BENCH_OUT") MB;" \
	"idle RSS after warm-up: $(jq -c '.idle_rss_mb' "$BENCH_OUT")"
echo
echo "ratios (same run): $(jq -c '.ratios | with_entries(select(.value != null))' "$BENCH_OUT")"
