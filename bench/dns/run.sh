#!/usr/bin/env bash
# bench/dns/run.sh - the dns/ library against dnsmasq (and unbound when
# installed) on the data set and query mix of the project's DNS anchors
# (specs/dns.md section 6), so the figures compare with that table.
#
# Usage:  run.sh [-l SECS] [-c CLIENTS] [-n NAMES] [-Q "RATE ..."] [-t] [-p] [SERVER ...]
#         (root: everything runs in a private network namespace with only lo)
# SERVER: ovn dnsmasq unbound (default: those installed; ovn is built here).
#
# Data: names c0001..cNNNN.net1 with A 10.1.(i/250).(i%250+1) and AAAA
# fd00:1::<hex i>, v4only.net1 (A only), PTR for each IPv4. Queries: 10,000
# lines, awk srand(42): 80% A hit, 10% AAAA hit, 10% A for uNNNN.net1
# (NXDOMAIN). Runs per server: dig probes, 2 s warm-up, dnsperf "max" (no
# rate limit), "qRATE" (-Q RATE -v: p50/p99 from per-query latencies),
# "tcpmax" (-m tcp; -t skips). CPU = utime+stime+cutime+cstime delta of the
# server PID; RSS from /proc. -p pins dnsperf to CPU 0, the server to CPU 1.
# Servers are stopped by their recorded PID; namespace and temp dir removed
# at exit. Needs dnsperf, dig (bind9-dnsutils), gcc, libuv1-dev, jq.
# Output: a markdown table on stdout, and the same figures as JSON in
# $BENCH_OUT (default build/bench/dns.json): {"runs": [{server, run, qps,
# lost, avg_us, p50_us, p99_us, cpu_s, q_per_cpu_s, rss_mb}, ...],
# "idle_rss_mb": {server: MB}, and the parameters}.

set -uo pipefail
export LC_ALL=C

SECS=15 CLIENTS=10 NAMES=1000 RATES="20000 2000" TCP=1 PIN=0
while getopts "l:c:n:Q:tph" o; do
	case $o in
	l) SECS=$OPTARG ;; c) CLIENTS=$OPTARG ;; n) NAMES=$OPTARG ;;
	Q) RATES=$OPTARG ;; t) TCP=0 ;; p) PIN=1 ;;
	*) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ "$(id -u)" = 0 ] || { echo "needs root (network namespace)" >&2; exit 4; }
for c in dnsperf dig gcc jq; do
	command -v $c >/dev/null || { echo "missing $c" >&2; exit 4; }
done
REPO=$(cd "$(dirname "$0")/../.." && pwd)
BENCH_OUT=${BENCH_OUT:-$REPO/build/bench/dns.json}
SERVERS=("$@")
if [ ${#SERVERS[@]} = 0 ]; then
	SERVERS=(ovn)
	command -v dnsmasq >/dev/null && SERVERS+=(dnsmasq)
	command -v unbound >/dev/null && SERVERS+=(unbound)
fi

TMP=$(mktemp -d -t ovndnsb.XXXXXX) || exit 1
chmod 755 "$TMP"
NS=ovndnsb$$
NS_MADE=0
PIDS=()
SPIN=() DPIN=()
[ "$PIN" = 1 ] && SPIN=(taskset -c 1) DPIN=(taskset -c 0)
IN=(ip netns exec "$NS")

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }

stop_pid() { # TERM, up to 5 s, then KILL; only PIDs we started
	local p=$1 end=$((SECONDS + 5))
	kill -TERM "$p" 2>/dev/null
	while kill -0 "$p" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.1; done
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	return 0
}

cleanup() {
	local p
	trap - EXIT INT TERM
	for p in "${PIDS[@]}"; do stop_pid "$p"; done
	[ "$NS_MADE" = 1 ] && ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

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

build_ovn() {
	gcc -std=gnu11 -O2 -g -D_GNU_SOURCE -I"$REPO/lib" -I"$REPO/dns" -o "$TMP/ovn_dns_bench" \
		"$REPO/bench/dns/ovn_dns_bench.c" "$REPO"/dns/*.c "$REPO"/lib/*.c -luv
}

start() { # server port -> SPID
	local s=$1 p=$2 d=$TMP/$1
	mkdir -p "$d"
	case $s in
	ovn)
		"${IN[@]}" "${SPIN[@]}" "$TMP/ovn_dns_bench" "$p" "$NAMES" 600 >"$d/log" 2>&1 </dev/null & ;;
	dnsmasq)
		"${IN[@]}" "${SPIN[@]}" dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts \
			--addn-hosts="$TMP/hosts" --local=/net1/ --listen-address=127.0.0.1 \
			--bind-interfaces --port="$p" --cache-size=10000 --local-ttl=600 \
			--user=root --pid-file= >"$d/log" 2>&1 </dev/null & ;;
	unbound)
		printf '%s\n' "server:" "  verbosity: 0" "  num-threads: 1" "  interface: 127.0.0.1" \
			"  port: $p" "  do-ip6: no" "  access-control: 127.0.0.0/8 allow" \
			"  username: \"\"" "  chroot: \"\"" "  directory: \"$d\"" "  pidfile: \"\"" \
			"  use-syslog: no" "  do-daemonize: no" "  module-config: \"iterator\"" \
			"  include: \"$TMP/unbound-data.conf\"" "remote-control:" "  control-enable: no" \
			>"$d/unbound.conf"
		"${IN[@]}" "${SPIN[@]}" unbound -d -p -c "$d/unbound.conf" >"$d/log" 2>&1 </dev/null & ;;
	esac
	SPID=$!
	PIDS+=("$SPID")
}

q() { "${IN[@]}" dig @127.0.0.1 -p "$1" +time=2 +tries=1 "${@:2}"; }

ready() { # port pid
	local end=$((SECONDS + 20))
	while [ $SECONDS -lt $end ]; do
		kill -0 "$2" 2>/dev/null || return 1
		[ "$(q "$1" +short c0001.net1 A 2>/dev/null)" = 10.1.0.2 ] && return 0
		sleep 0.2
	done
	return 1
}

ticks() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_mb() { awk '$1 == "VmRSS:" { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null; }

probe() { # port -> one line
	local p=$1 nx ds aaaa ptr
	nx=$(q "$p" nosuch.net1 | awk '/status:/ { s = $6 } /AUTHORITY:/ { a = $NF } END { print s a }')
	aaaa=$(q "$p" v4only.net1 AAAA | awk '/status:/ { s = $6 }
		/^;; flags:/ { for (i = 1; i <= NF; i++) if ($i == "ANSWER:") a = $(i + 1) } END { print s "an=" a }')
	ptr=$(q "$p" +short -x 10.1.0.2)
	ds=$(q "$p" +tcp +short c0001.net1)
	echo "NX:$nx AAAA-v4only:$aaaa PTR:$ptr TCP:$ds"
}

run() { # server pid port mode
	local s=$1 pid=$2 p=$3 mode=$4 f=$TMP/$1/perf-$4.txt args c0 c1 qps lost avg p50 p99 hz cpu
	args=(-s 127.0.0.1 -p "$p" -d "$TMP/queries.txt" -l "$SECS" -c "$CLIENTS")
	case $mode in
	q*) args+=(-Q "${mode#q}" -v) ;;
	tcpmax) args+=(-m tcp) ;;
	esac
	c0=$(ticks "$pid")
	"${IN[@]}" "${DPIN[@]}" timeout $((SECS + 30)) dnsperf "${args[@]}" >"$f" 2>&1
	c1=$(ticks "$pid")
	hz=$(getconf CLK_TCK)
	qps=$(awk '/Queries per second:/ { print $4 }' "$f")
	lost=$(awk '/Queries lost:/ { print $3 }' "$f")
	# the first "Average Latency" is per query (TCP runs add a per-connection one)
	avg=$(awk '/Average Latency \(s\):/ && !n++ { printf "%.0f", $4 * 1e6 }' "$f")
	read -r p50 p99 < <(awk '$1 == ">" && $NF ~ /^[0-9.]+$/ { print $NF * 1e6 }' "$f" | sort -n |
		awk '{ v[NR] = $1 } END { if (NR) printf "%.0f %.0f\n", v[int(NR * .5) + 1], v[int(NR * .99) + 1]; else print "- -" }')
	cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz }')
	printf '| %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %s |\n' "$s" "$mode" "${qps:-0}" \
		"${lost:--}" "${avg:--}" "$p50" "$p99" "$cpu" \
		"$(awk -v q="${qps:-0}" -v s="$SECS" -v c="$cpu" 'BEGIN { if (c > 0) printf "%.0f", q * s / c; else print "-" }')" \
		"$(rss_mb "$pid")" >>"$TMP/results.md"
	jq -cn --arg s "$s" --arg m "$mode" --arg qps "${qps:-0}" --arg lost "${lost:-}" \
		--arg avg "${avg:-}" --arg p50 "$p50" --arg p99 "$p99" --arg cpu "$cpu" \
		--arg secs "$SECS" --arg rss "$(rss_mb "$pid")" '
		def num: tonumber? // null;
		{server: $s, run: $m, qps: ($qps | num), lost: ($lost | num),
		 avg_us: ($avg | num), p50_us: ($p50 | num), p99_us: ($p99 | num),
		 cpu_s: ($cpu | num), rss_mb: ($rss | num),
		 q_per_cpu_s: (if ($cpu | num) > 0 then ((($qps | num) * ($secs | num) / ($cpu | num)) | floor)
			       else null end)}' >>"$TMP/results.jsonl"
	log "$s $mode: ${qps:-0} q/s, CPU ${cpu}s"
}

log "data: $NAMES names in $TMP"
make_data
build_ovn || exit 1
ip netns add "$NS" || exit 1
NS_MADE=1
ip -n "$NS" link set lo up || exit 1
: >"$TMP/results.md"
: >"$TMP/probes.md"
: >"$TMP/results.jsonl"
: >"$TMP/idle_rss"
port=15400
for s in "${SERVERS[@]}"; do
	port=$((port + 1))
	log "starting $s on 127.0.0.1:$port"
	start "$s" "$port"
	pid=$SPID
	if ! ready "$port" "$pid"; then
		log "$s did not come up"; tail -5 "$TMP/$s/log" >&2; continue
	fi
	echo "| $s | $(probe "$port") |" >>"$TMP/probes.md"
	"${IN[@]}" "${DPIN[@]}" timeout 20 dnsperf -s 127.0.0.1 -p "$port" -d "$TMP/queries.txt" \
		-l 2 -c "$CLIENTS" >/dev/null 2>&1
	sleep 1
	echo "| $s | idle RSS | $(rss_mb "$pid") MB |" >>"$TMP/probes.md"
	echo "$s $(rss_mb "$pid")" >>"$TMP/idle_rss"
	run "$s" "$pid" "$port" max
	for r in $RATES; do run "$s" "$pid" "$port" "q$r"; done
	[ "$TCP" = 1 ] && run "$s" "$pid" "$port" tcpmax
	stop_pid "$pid"
done

echo "## dns/ vs reference servers ($(date -u +%F), $(nproc) CPUs, kernel $(uname -r))"
echo
echo "$NAMES names, dnsperf -c $CLIENTS -l $SECS; pinned: $PIN. q/CPU-s = completed queries / server CPU s."
echo
echo "| server | run | q/s | lost | avg us | p50 us | p99 us | server CPU s | q/CPU-s | RSS MB |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
cat "$TMP/results.md"
echo
echo "| server | probes |"
echo "|---|---|"
cat "$TMP/probes.md"
mkdir -p "$(dirname "$BENCH_OUT")"
jq -s --arg date "$(date -u +%FT%TZ)" --argjson names "$NAMES" --argjson clients "$CLIENTS" \
	--argjson secs "$SECS" --argjson pinned "$PIN" --argjson cpus "$(nproc)" \
	--rawfile idle "$TMP/idle_rss" '
	{date: $date, names: $names, clients: $clients, secs: $secs, pinned: ($pinned == 1),
	 cpus: $cpus, runs: .,
	 idle_rss_mb: ($idle | split("\n") | map(select(length > 0) | split(" ") |
		{(.[0]): (.[1] | tonumber? // null)}) | add // {})}' \
	"$TMP/results.jsonl" >"$BENCH_OUT" && log "wrote $BENCH_OUT"
