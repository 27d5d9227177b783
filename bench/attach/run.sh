#!/usr/bin/env bash
# bench/attach: how fast ovnagent attaches containers, side by side with
# Docker's `network connect` measured in the same run when dockerd exists.
#
#   H (host namespace, ovnagent, dummy underlay 198.18.0.1/24 mtu 1400)
#   B1..B200   containers for the sequential-attach phase
#   K1..K1000  containers for the 1,000-endpoint phase
#
# Phases:
#   seq:  200 attaches one after another through ovnctl (a process per call,
#         as an operator or a script would run it): end-to-end p50/p99 from
#         the shell, and agent-side p50/p99 from /v1/debug/latency.
#   bulk: 1,000 endpoints attached back to back over one keep-alive API
#         connection (curl), then all detached: totals and the agent's RSS;
#         once on an IPv4-only network, once on a dual-stack one (each new
#         dual-stack interface still floods a few MLD reports to every port).
#   docker: ../shared/bench/docker/attach.sh (DOCKER_ROUNDS rounds, 30), if dockerd is installed or
#         BENCH_DOCKER=1 (which installs docker.io).
# Output: "key value" lines on stdout and the same as JSON in
# $BENCH_OUT (default build/bench/attach.json). Usage: run.sh [N_BULK]
set -u
HERE=$(dirname "$(readlink -f "$0")")
ROOT=$(readlink -f "$HERE/../..")
OVN_BIN=${OVN_BIN:-$ROOT/build/bin}
N_SEQ=${N_SEQ:-200}
N_BULK=${1:-1000}
BENCH_OUT=${BENCH_OUT:-$ROOT/build/bench/attach.json}
source "$ROOT/tests/netns/lib.sh"
trap cleanup EXIT
require_root
require_ovn_bin
require_command jq
require_command curl

A=bench
declare -A R=()		# results, printed and saved at the end

pct()	# pct P < numbers
{
	sort -n | awk -v p="$1" '{a[NR]=$1} END{i=int((NR*p+99)/100); if(i<1)i=1; print a[i]}'
}

ms3() { awk '{printf "%.3f\n", $1/1000}'; }	# us -> ms

phase_seq()
{
	local i t0 t1 f
	f=$T/seq_e2e
	: >"$f"
	for ((i = 1; i <= N_SEQ; i++)); do
		t0=$(date +%s%N)
		ovnctl_on "$A" network attach bench --netns "${BS[i]}" >/dev/null || return 1
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000)) >>"$f"
	done
	R[seq_attach_e2e_ms_p50]=$(pct 50 <"$f" | ms3)
	R[seq_attach_e2e_ms_p99]=$(pct 99 <"$f" | ms3)
	ovnctl_on "$A" --json status >/dev/null
	curl -s --unix-socket "$(agent_sock "$A")" http://ovn/v1/debug/latency |
		jq -r '.attach.recent_us[]' | tail -n "$N_SEQ" >"$T/seq_agent"
	R[seq_attach_agent_ms_p50]=$(pct 50 <"$T/seq_agent" | ms3)
	R[seq_attach_agent_ms_p99]=$(pct 99 <"$T/seq_agent" | ms3)
	for ((i = 1; i <= N_SEQ; i++)); do
		ovnctl_on "$A" network detach bench --netns "${BS[i]}" >/dev/null || return 1
	done
}

# One curl process, one keep-alive connection, N requests back to back.
curl_batch()	# curl_batch FILE-OF-"METHOD PATH BODY"-LINES
{
	local sock first=1 method path body
	sock=$(agent_sock "$A")
	{
		while read -r method path body; do
			((first)) || echo "next"
			first=0
			printf 'url = "http://ovn%s"\nrequest = "%s"\n' "$path" "$method"
			printf 'header = "Content-Type: application/json"\n'
			printf 'data = "%s"\nunix-socket = "%s"\nsilent\n' "${body//\"/\\\"}" "$sock"
			printf 'write-out = "%%{http_code}\\n"\noutput = "/dev/null"\n'
		done <"$1"
	} >"$1.curl"
	curl -K "$1.curl"
}

# phase_bulk NET TAG: attach N_BULK endpoints to NET back to back, then detach.
phase_bulk()
{
	local net=$1 tag=$2 i t0 t1 codes pid
	: >"$T/att"; : >"$T/det"
	for ((i = 1; i <= N_BULK; i++)); do
		echo "POST /v1/networks/$net/endpoints {\"netns\":\"${KS[i]}\"}" >>"$T/att"
		echo "POST /v1/networks/$net/detach {\"netns\":\"${KS[i]}\"}" >>"$T/det"
	done
	pid=$(agent_pid "$A")
	# idle: after the sequential phase, before the first bulk phase
	[[ -n ${R[agent_rss_kb_idle]:-} ]] ||
		R[agent_rss_kb_idle]=$(awk '/VmRSS/{print $2}' "/proc/$pid/status")
	t0=$(date +%s%N)
	codes=$(curl_batch "$T/att" | sort | uniq -c | tr -s ' ')
	t1=$(date +%s%N)
	R[bulk_${tag}_attach_total_s]=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b-a)/1e9}')
	R[bulk_${tag}_attach_http]="\"$codes\""
	R[bulk_${tag}_endpoints]=$(ovnctl_on "$A" endpoint ls --json | jq length)
	R[agent_rss_kb_1000_${tag}]=$(awk '/VmRSS/{print $2}' "/proc/$pid/status")
	# private memory of the agent (RSS also counts shared-library pages)
	R[agent_anon_kb_1000_${tag}]=$(awk '/^Anonymous:/{s+=$2} END{print s}' "/proc/$pid/smaps")
	t0=$(date +%s%N)
	curl_batch "$T/det" >/dev/null
	t1=$(date +%s%N)
	R[bulk_${tag}_detach_total_s]=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b-a)/1e9}')
	sleep 3	# the agent trims its heap 2 s after a burst of detaches
	R[agent_rss_kb_after_detach_${tag}]=$(awk '/VmRSS/{print $2}' "/proc/$pid/status")
	R[bulk_${tag}_left_links]=$(ip -n "$H" -o link show | grep -c ' ve-' || true)
}

phase_docker()
{
	local out
	if ! command -v dockerd >/dev/null && [[ ${BENCH_DOCKER:-0} != 1 ]]; then
		echo "INFO: dockerd not installed: Docker anchor skipped (BENCH_DOCKER=1 installs docker.io)"
		return 0
	fi
	out=$(bash "$ROOT/../shared/bench/docker/attach.sh" "${DOCKER_ROUNDS:-30}" 2>&1) || {
		echo "INFO: Docker anchor failed: $out" | head -5
		return 0
	}
	echo "$out" | sed 's/^/docker: /'
	R[docker_connect_ms_p50]=$(awk '/docker_network_connect_ms/{sub("p50=","",$2); print $2}' <<<"$out")
	R[docker_cli_roundtrip_ms_p50]=$(awk '/docker_cli_roundtrip_ms/{sub("p50=","",$2); print $2}' <<<"$out")
	R[dockerd_rss_kb]=$(awk '/dockerd_rss_kb/{print $2}' <<<"$out")
}

setup_ns H || exit 1
ip -n "$H" link add ul0 mtu 1400 type veth peer name ul1 mtu 1400
ip -n "$H" link set ul1 up
ip -n "$H" addr add 198.18.0.1/24 dev ul0
ip -n "$H" link set ul0 up
BS=(); KS=()
for ((i = 1; i <= N_SEQ; i++)); do ns_create "BS[$i]" "b$i" || exit 1; done
for ((i = 1; i <= N_BULK; i++)); do ns_create "KS[$i]" "k$i" || exit 1; done
agent_start "$H" "$A" "log:" "  level: warn" || exit 1
ovnctl_on "$A" network create bench --subnet 198.19.0.0/22 --subnet fd00:b::/64 >/dev/null || exit 1
ovnctl_on "$A" network create bulk4 --subnet 198.19.16.0/20 >/dev/null || exit 1
ovnctl_on "$A" network create bulk6 --subnet 198.19.32.0/20 --subnet fd00:c::/64 >/dev/null || exit 1
phase_seq || echo "ERROR: sequential phase failed"
phase_bulk bulk4 v4 || echo "ERROR: IPv4 bulk phase failed"
phase_bulk bulk6 dual || echo "ERROR: dual-stack bulk phase failed"
agent_stop "$A"
phase_docker

R[kernel_note]='"the kernel alone needs ~0.8 ms per veth pair moved into a namespace"'
if [[ -n ${R[docker_connect_ms_p50]:-} && -n ${R[docker_cli_roundtrip_ms_p50]:-} ]]; then
	R[ratio_docker_daemon_over_ovn_agent_p50]=$(awk -v d="${R[docker_connect_ms_p50]}" \
		-v c="${R[docker_cli_roundtrip_ms_p50]}" -v o="${R[seq_attach_agent_ms_p50]}" \
		'BEGIN{printf "%.1f", (d-c)/o}')
	R[ratio_docker_e2e_over_ovn_e2e_p50]=$(awk -v d="${R[docker_connect_ms_p50]}" \
		-v o="${R[seq_attach_e2e_ms_p50]}" 'BEGIN{printf "%.1f", d/o}')
	R[ratio_dockerd_rss_over_ovn_rss]=$(awk -v d="${R[dockerd_rss_kb]}" \
		-v o="${R[agent_rss_kb_1000_dual]}" 'BEGIN{printf "%.1f", d/o}')
fi
mkdir -p "$(dirname "$BENCH_OUT")"
{
	echo "{"
	first=1
	for k in $(printf '%s\n' "${!R[@]}" | sort); do
		((first)) || echo ","
		first=0
		v=${R[$k]}
		[[ $v =~ ^[0-9.]+$ || $v == \"* ]] || v="\"$v\""
		printf '  "%s": %s' "$k" "$v"
	done
	echo; echo "}"
} >"$BENCH_OUT"
for k in $(printf '%s\n' "${!R[@]}" | sort); do
	printf '%s %s\n' "$k" "${R[$k]}"
done
echo "results: $BENCH_OUT"
