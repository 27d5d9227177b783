#!/usr/bin/env bash
# bench/report.sh: turn the benchmarks' JSON into PNG plots (gnuplot) and a
# markdown table, ovn beside the anchor each benchmark measured in the same
# run.
#
# Usage: report.sh [IN_DIR [OUT_DIR]]   (defaults: build/bench, docs/bench)
# Reads whichever of IN_DIR/{attach,converge,dataplane,dns,meta}.json exist
# (bench/run-all.sh writes them; each run.sh can also be run alone) and
# writes OUT_DIR/results.md plus, per benchmark found:
#   attach.png     attach p50 inside the daemon and from the CLI: ovn vs Docker
#   memory.png     resident memory: ovnagent vs dockerd, dns/ vs dnsmasq
#   dns.png        DNS queries per CPU-second per load: ovn (dns/ alone) and
#                  the agent vs dnsmasq, unbound and Docker's embedded DNS
#   converge.png   cluster convergence p50/p99 vs hosts: redis vs etcd
#   dataplane.png  N veth attaches: dataplane/ vs `ip -batch` (the floor)
#   gossip.png     failure detection, event p99, idle bytes/s: ovn vs serf at the
#                  largest N of bench/gossip
# A figure the run did not produce (no dockerd, no dnsmasq) is left out of
# the plot and shown as "-" in the table, never invented.
# Needs jq and gnuplot (gnuplot-nox); does not run anything else.
set -euo pipefail
HERE=$(dirname "$(readlink -f "$0")")
ROOT=$(readlink -f "$HERE/..")
IN=${1:-$ROOT/build/bench}
OUT=${2:-$ROOT/docs/bench}

for c in jq gnuplot; do
	command -v "$c" >/dev/null || { echo "report: missing $c (scripts/install-deps.sh)" >&2; exit 4; }
done
mkdir -p "$OUT"
W=$(mktemp -d -t ovnreport.XXXXXX)
trap 'rm -rf "$W"' EXIT
MD=$W/results.md

has() { [[ -s $IN/$1.json ]] && jq -e . "$IN/$1.json" >/dev/null 2>&1; }
# j FILE FILTER: one value, "?" when null or absent (gnuplot's missing mark).
j() { jq -r "($2) // \"?\" | if type == \"number\" then (. * 1000 | round / 1000) else . end" "$IN/$1.json"; }
# cell VALUE: "-" for missing in the markdown tables.
cell() { [[ $1 == "?" || -z $1 ]] && echo "-" || echo "$1"; }

# bars NAME TITLE YLABEL "SERIES..." < DATA: a clustered bar chart with a
# value label on each bar. DATA lines: "label" v1 v2 ... ("?" = missing).
bars()
{
	local name=$1 title=$2 ylabel=$3 series=$4 n i plot="" off xtic rows
	cat >"$W/$name.dat"
	rows=$(grep -c . "$W/$name.dat")
	read -ra S <<<"$series"
	n=${#S[@]}
	for ((i = 0; i < n; i++)); do
		off=$(awk -v i="$i" -v n="$n" 'BEGIN { printf "%.4f", (i - (n - 1) / 2) / (n + 1) }')
		xtic=""
		((i == 0)) && xtic=":xtic(1)"
		plot+="'$W/$name.dat' using $((i + 2))$xtic title '${S[i]//_/ }' lc $((i + 1)), "
		plot+="'' using (\$0 + $off):$((i + 2)):(sprintf('%g', \$$((i + 2)))) with labels offset 0,0.7 notitle, "
	done
	gnuplot <<-EOF
		set terminal pngcairo size 820,460 font ",10"
		set output "$OUT/$name.png"
		set title "$title"
		set ylabel "$ylabel"
		set datafile missing "?"
		set style data histogram
		set style histogram cluster gap 1
		set style fill solid 0.85 border -1
		set boxwidth 0.9
		set yrange [0:*]
		set xrange [-0.6:$rows - 0.4]
		set offsets 0, 0, graph 0.12, 0
		set grid ytics
		set key top left
		plot ${plot%, }
	EOF
}

attach_report()
{
	local a e d_conn d_cli d_daemon nb
	a=$(j attach .seq_attach_agent_ms_p50)
	e=$(j attach .seq_attach_e2e_ms_p50)
	d_conn=$(j attach .docker_connect_ms_p50)
	d_cli=$(j attach .docker_cli_roundtrip_ms_p50)
	d_daemon="?"
	[[ $d_conn != "?" && $d_cli != "?" ]] &&
		d_daemon=$(awk -v c="$d_conn" -v r="$d_cli" 'BEGIN { printf "%.2f", c - r }')
	nb=$(j attach '.bulk_dual_endpoints')
	bars attach "attach one container, p50 (same run; lower is better)" "ms" "ovn Docker" <<-EOF
		"inside the daemon" $a $d_daemon
		"from the CLI (end to end)" $e $d_conn
	EOF
	cat >>"$MD" <<-EOF

		## attach (bench/attach)

		![attach](attach.png)

		| figure | ovn | Docker (same run) |
		|---|---:|---:|
		| attach inside the daemon, p50 / p99 ms | $(cell "$a") / $(cell "$(j attach .seq_attach_agent_ms_p99)") | $(cell "$d_daemon") (connect - CLI round trip) |
		| attach from the CLI, p50 / p99 ms | $(cell "$e") / $(cell "$(j attach .seq_attach_e2e_ms_p99)") | $(cell "$d_conn") |
		| $(cell "$nb") endpoints attached back to back, IPv4-only / dual-stack s | $(cell "$(j attach .bulk_v4_attach_total_s)") / $(cell "$(j attach .bulk_dual_attach_total_s)") | |
		| the same detached, IPv4-only / dual-stack s | $(cell "$(j attach .bulk_v4_detach_total_s)") / $(cell "$(j attach .bulk_dual_detach_total_s)") | |
		| daemon RSS with those endpoints, MB (private) | $(cell "$(j attach '.agent_rss_kb_1000_dual / 102.4 | round / 10')") ($(cell "$(j attach '.agent_anon_kb_1000_dual / 102.4 | round / 10')")) | $(cell "$(j attach '.dockerd_rss_kb / 102.4 | round / 10')") (dockerd) |
	EOF
}

memory_report()
{
	local ovn_a dockerd ovn_d dnsmasq
	ovn_a=$(has attach && j attach '.agent_rss_kb_1000_dual / 102.4 | round / 10' || echo "?")
	dockerd=$(has attach && j attach '.dockerd_rss_kb / 102.4 | round / 10' || echo "?")
	ovn_d=$(has dns && j dns '.idle_rss_mb.ovn' || echo "?")
	dnsmasq=$(has dns && j dns '.idle_rss_mb.dnsmasq' || echo "?")
	bars memory "resident memory (same runs; lower is better)" "MB" "ovn anchor" <<-EOF
		"ovnagent vs dockerd" $ovn_a $dockerd
		"dns/ server vs dnsmasq" $ovn_d $dnsmasq
	EOF
	cat >>"$MD" <<-EOF

		## memory

		![memory](memory.png)

		ovnagent's RSS with the bulk phase's endpoints attached (bench/attach) beside
		dockerd's (the Docker anchor, idle with one container); the dns/ server's RSS
		serving 1,000 names beside dnsmasq's with the same names (bench/dns).
	EOF
}

dns_report()
{
	local servers runs r s line
	servers=$(jq -r '[.runs[].server] | unique | sort_by(if . == "ovn" then 0 else 1 end) | .[]' \
		"$IN/dns.json")
	runs=$(jq -r '[.runs[].run] | unique | .[]' "$IN/dns.json")
	for r in $runs; do
		line="\"$r\""
		for s in $servers; do
			line+=" $(jq -r --arg s "$s" --arg r "$r" \
				'(.runs[] | select(.server == $s and .run == $r) | .q_per_cpu_s) // "?"' \
				"$IN/dns.json")"
		done
		echo "$line"
	done | bars dns "DNS: queries answered per CPU-second of the server (higher is better)" \
		"queries / CPU-s" "$(tr '\n' ' ' <<<"$servers")"
	{
		echo
		echo "## DNS (bench/dns)"
		echo
		echo "![dns](dns.png)"
		echo
		echo "$(j dns .names) names, dnsperf $(j dns .clients) clients, $(j dns .secs) s per run." \
			"max = no rate limit (UDP), qN = N queries/s, tcpmax = TCP, no rate limit."
		echo
		echo "| server | run | q/s | lost | p50 us | p99 us | server CPU s | q/CPU-s | RSS MB |"
		echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
		jq -r '.runs[] | [.server, .run, (.qps | if . then floor else null end), .lost, .p50_us,
			.p99_us, .cpu_s, .q_per_cpu_s, .rss_mb] | map(. // "-" | tostring) |
			"| " + join(" | ") + " |"' "$IN/dns.json"
	} >>"$MD"
}

converge_report()
{
	jq -r '[.results[].hosts] | unique | .[]' "$IN/converge.json" | while read -r n; do
		echo "$n $(jq -r --argjson n "$n" '[("redis", "etcd") as $b |
			(.results[] | select(.backend == $b and .hosts == $n)) as $x |
			($x.p50_ms // "?"), ($x.p99_ms // "?")] | if length == 4 then join(" ")
			else "? ? ? ?" end' "$IN/converge.json")"
	done >"$W/converge.dat"
	gnuplot <<-EOF
		set terminal pngcairo size 820,460 font ",10"
		set output "$OUT/converge.png"
		set title "attach on one host until every other host pings it (lower is better)"
		set xlabel "hosts"
		set ylabel "ms"
		set datafile missing "?"
		set yrange [0:*]
		set grid
		set key top left
		set style line 9 lc rgb "#c00000" dt 2 lw 1
		plot "$W/converge.dat" using 1:2 with linespoints lw 2 title "redis p50", \
		     "" using 1:3 with linespoints lw 2 title "redis p99", \
		     "" using 1:4 with linespoints lw 2 title "etcd p50", \
		     "" using 1:5 with linespoints lw 2 title "etcd p99"
	EOF
	{
		echo
		echo "## convergence (bench/converge)"
		echo
		echo "![converge](converge.png)"
		echo
		echo "$(j converge .samples_per_point) samples per point; target at" \
			"$(j converge .target.hosts) hosts: p99 <= $(j converge .target.p99_ms_max) ms."
		echo
		echo "| backend | hosts | p50 ms | p99 ms | timeouts |"
		echo "|---|---:|---:|---:|---:|"
		jq -r '.results[] | [.backend, .hosts, .p50_ms, .p99_ms, .timeouts] | map(. // "-" | tostring) |
			"| " + join(" | ") + " |"' "$IN/converge.json"
	} >>"$MD"
}

dataplane_report()
{
	local m n
	n=$(j dataplane '.dual_dp_n // .ipv4_dp_n')
	for m in ipv4 dual; do
		echo "\"$m, $n veths\" $(j dataplane ".${m}_dp_attach_total_s") $(j dataplane ".${m}_ip_batch_attach_total_s")"
	done | bars dataplane "attach $n veth pairs to one network (lower is better)" "s" \
		"dataplane/ ip_-batch:_the_same_veths,_no_addresses_(floor)"
	{
		echo
		echo "## dataplane (bench/dataplane)"
		echo
		echo "![dataplane](dataplane.png)"
		echo
		echo "| mode | attach total s | mean ms | detach total s | \`ip -batch\` attach / detach s |"
		echo "|---|---:|---:|---:|---:|"
		for m in ipv4 dual; do
			echo "| $m | $(cell "$(j dataplane ".${m}_dp_attach_total_s")") |" \
				"$(cell "$(j dataplane ".${m}_dp_attach_mean_ms")") |" \
				"$(cell "$(j dataplane ".${m}_dp_detach_total_s")") |" \
				"$(cell "$(j dataplane ".${m}_ip_batch_attach_total_s")") /" \
				"$(cell "$(j dataplane ".${m}_ip_batch_detach_total_s")") |"
		done
	} >>"$MD"
}

gossip_report()
{
	local n f
	n=$(jq -r '[.figures | keys[] | capture("\\.n(?<n>[0-9]+)$").n | tonumber] | max' "$IN/gossip.json")
	g() { j gossip ".figures[\"gossip.$1.$2.n$n\"]"; }
	{
		echo "\"failure seen by all, p50 (ms)\" $(g fail_p50_ms ovn) $(g fail_p50_ms serf)"
		echo "\"event to all, p99 (ms)\" $(g event_p99_ms ovn) $(g event_p99_ms serf)"
		echo "\"idle sent per node (B/s)\" $(g idle_Bps_node ovn) $(g idle_Bps_node serf)"
	} | bars gossip "gossip at N = $n, same run (lower is better)" "" "ovn serf"
	{
		echo
		echo "## gossip (bench/gossip, N = $n)"
		echo
		echo "![gossip](gossip.png)"
		echo
		echo "| figure | ovn | serf |"
		echo "|---|---:|---:|"
		for f in fail_p50_ms event_p50_ms event_p99_ms join_p50_ms idle_Bps_node idle_pps_node rss_MiB \
			false_fail fail_p50_ms_loss10 false_fail_loss10; do
			echo "| $f | $(cell "$(g "$f" ovn)") | $(cell "$(g "$f" serf)") |"
		done
	} >>"$MD"
}

{
	echo "# Benchmark results"
	echo
	if has meta; then
		echo "Mode **$(j meta .mode)**, $(j meta .date), revision $(j meta .revision)," \
			"$(j meta .cpus) CPUs, $(j meta .memory), kernel $(j meta .kernel)." \
			"Produced by \`make bench$( [[ $(j meta .mode) == full ]] && echo " BENCH_FULL=1")\`" \
			"(bench/run-all.sh), which ran:"
		echo
		jq -r '.commands | to_entries[] | "- `\(.value)`"' "$IN/meta.json"
	else
		echo "From the JSON in $IN (no meta.json: the benchmarks were run one by one)."
	fi
	echo
	echo "Every anchor (Docker, dnsmasq, \`ip -batch\`) was measured in the same run on the"
	echo "same machine. The VM is shared and noisy: compare within a run, not across runs."
} >"$MD"

has attach && attach_report
has attach || has dns && memory_report
has dns && dns_report
has converge && converge_report
has dataplane && dataplane_report
has gossip && gossip_report
cp "$MD" "$OUT/results.md"
echo "report: $OUT/results.md and $(cd "$OUT" && ls -- *.png 2>/dev/null | tr '\n' ' ')"
