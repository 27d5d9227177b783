#!/usr/bin/env bash
# bench/converge: how long after `ovnctl network attach` returns on one host
# every other host can reach the new container, for clusters of N hosts
# sharing one store (redis, etcd).
#
#   h1 .. hN  (198.18.0.1..N, agent hI, resident container rI on "conv")
#   st        (198.18.0.254, redis-server or etcd)
#   all on br0 in ul, mtu 1400 (tests/netns/lib_cluster.sh)
#
# Per backend and per N (default 3 10 30): every host gets one resident
# container on network "conv" (so the network's devices exist everywhere),
# and the cluster is let converge. Then SAMPLES (30) times: a new container
# is attached on a random host A with a chosen address; on every other host
# a poller runs `ping -c1 -W0.2 <new ip>` from that host's resident in a
# loop until it is answered. The sample is the time from the moment the
# attach returned to the moment the LAST host was answered. The pollers
# start (and are seen pinging) before the attach, so forking 29 pollers is
# not in the figure; a host answered before the attach returned counts 0.
#
# The residents' ARP is made to retry every 10 ms for up to 1 s
# (neigh eth0 retrans_time_ms=10, mcast_solicit=100) so the figure is the
# agents' convergence, not the kernel's 1 s ARP retransmit timer.
#
# Output: "converge_ms_<backend>_n<N>_p50 X" and "..._p99 X" lines (the p99
# at N=30 followed by the target, p99 <= 250 ms), and the same with the
# samples as JSON in $BENCH_OUT (default build/bench/converge.json).
# A poller gives up CAP_MS (5000) after it started; three samples in a row
# with a poller giving up end that N early, reported as timeouts.
# Usage: run.sh [N...]   Environment: BACKENDS, SAMPLES, CAP_MS, BENCH_OUT,
# OVN_BIN. Everything made is removed (lib.sh registries, EXIT trap).
set -u
HERE=$(dirname "$(readlink -f "$0")")
ROOT=$(readlink -f "$HERE/../..")
OVN_BIN=${OVN_BIN:-$ROOT/build/bin}
BACKENDS=${BACKENDS:-redis etcd}
SAMPLES=${SAMPLES:-30}
CAP_MS=${CAP_MS:-5000}
TARGET_P99_MS=250
TARGET_N=30
BENCH_OUT=${BENCH_OUT:-$ROOT/build/bench/converge.json}
SIZES=${*:-3 10 30}
# shellcheck source=SCRIPTDIR/../../tests/netns/lib.sh
source "$ROOT/tests/netns/lib.sh"
# shellcheck source=SCRIPTDIR/../../tests/netns/lib_cluster.sh
source "$ROOT/tests/netns/lib_cluster.sh"
trap cleanup EXIT
require_root
require_ovn_bin
require_command jq

NET=conv
RES=()			# RES[i]: resident container of host i
NEW=()			# NEW[s]: container attached in sample s
RESULTS=()		# one JSON object per (backend, N)

now_us() { echo "${EPOCHREALTIME//[.,]/}"; }

# pct P < numbers: nearest-rank percentile.
pct()
{
	sort -n | awk -v p="$1" '{ a[NR] = $1 }
		END { if (NR == 0) exit 1; i = int((NR * p + 99) / 100); if (i < 1) i = 1; print a[i] }'
}

# fast_arp NS: ARP on eth0 of NS retries every 10 ms, 100 times.
fast_arp()
{
	ip netns exec "$1" sysctl -qw net.ipv4.neigh.eth0.retrans_time_ms=10 \
		net.ipv4.neigh.eth0.mcast_solicit=100
}

# poller RES_NS IP READY_FILE: ping IP from RES_NS until answered (the
# first tries run before the attach and fail), giving up CAP_MS after the
# start; print the wall-clock microseconds of the answer, or "timeout".
poller()
{
	local ns=$1 ip=$2 start

	start=$(now_us)
	: >"$3"
	until ip netns exec "$ns" ping -n -q -c 1 -W 0.2 "$ip" &>/dev/null; do
		if (($(now_us) - start > CAP_MS * 1000)); then
			echo timeout
			return 1
		fi
	done
	now_us
}

_pollers_ready()
{
	local f n=0

	for f in "$1"/ready*; do
		[[ -e $f ]] && n=$((n + 1))
	done
	((n == $2))
}

# one_sample S N: attach NEW[S] on a random host; print the sample in ms
# (one decimal) or "timeout".
one_sample()
{
	local s=$1 n=$2 a h ip t0 out last=0 v dir=$T/poll/$1

	a=$((RANDOM % n + 1))
	ip=198.19.1.$((128 + s))
	mkdir -p "$dir" || return 1
	for ((h = 1; h <= n; h++)); do
		((h == a)) && continue
		spawn_bg "poll:$h" poller "${RES[h]}" "$ip" "$dir/ready$h" \
			>"$dir/out$h" 2>/dev/null
	done
	busywait 10000 _pollers_ready "$dir" "$((n - 1))" ||
		echo "# warning: not all pollers started within 10 s" >&2
	out=$(ovnctl_on "h$a" network attach "$NET" --netns "${NEW[s]}" --ip "$ip" 2>&1)
	t0=$(now_us)
	grep -q "$ip" <<<"$out" || echo "# attach of sample $s on h$a failed: $out" >&2
	for ((h = 1; h <= n; h++)); do
		((h == a)) && continue
		spawn_wait "poll:$h"
		v=$(cat "$dir/out$h")
		[[ $v == timeout || -z $v ]] && v=timeout
		[[ $last == timeout || $v == timeout ]] && { last=timeout; continue; }
		((v > last)) && last=$v
	done
	if [[ $last == timeout ]]; then
		echo timeout
		return 0
	fi
	awk -v d="$((last - t0))" 'BEGIN { if (d < 0) d = 0; printf "%.1f\n", d / 1000 }'
}

_net_everywhere()
{
	local i

	for ((i = 1; i <= $1; i++)); do
		ovnctl_on "h$i" network inspect "$NET" &>/dev/null || return 1
	done
}

# measure BACKEND N: one cluster, residents, SAMPLES samples, one result.
measure()
{
	local backend=$1 n=$2 i s v out timeouts=0 streak=0 p50 p99 target=""
	local -a samples=()

	echo "# $backend, $n hosts: starting the cluster" >&2
	cluster_start "$n" "$backend" || return 1
	ovnctl_on h1 network create "$NET" --subnet 198.19.1.0/24 >/dev/null || return 1
	busywait 10000 _net_everywhere "$n" ||
		{ echo "network $NET not seen by every host" >&2; return 1; }
	RES=() NEW=()
	for ((i = 1; i <= n; i++)); do
		container_create "RES[$i]" || return 1
		ovnctl_on "h$i" network attach "$NET" --netns "${RES[i]}" >/dev/null || return 1
		fast_arp "${RES[i]}" || return 1
	done
	for ((s = 1; s <= SAMPLES; s++)); do
		container_create "NEW[$s]" || return 1
	done
	out=$(busywait 60000 cluster_converged) ||
		{ echo "residents did not converge: $out" >&2; return 1; }
	for ((s = 1; s <= SAMPLES; s++)); do
		v=$(one_sample "$s" "$n")
		if [[ $v == timeout ]]; then
			timeouts=$((timeouts + 1))
			streak=$((streak + 1))
			if ((streak >= 3)); then
				echo "# $backend n=$n: 3 samples in a row timed out, stopping" >&2
				break
			fi
			continue
		fi
		streak=0
		samples+=("$v")
	done
	p50=$(printf '%s\n' "${samples[@]}" | pct 50) || p50=null
	p99=$(printf '%s\n' "${samples[@]}" | pct 99) || p99=null
	((n == TARGET_N)) && target="  # target p99 <= $TARGET_P99_MS ms"
	echo "converge_ms_${backend}_n${n}_p50 $p50"
	echo "converge_ms_${backend}_n${n}_p99 $p99$target"
	((timeouts > 0)) && echo "converge_timeouts_${backend}_n${n} $timeouts"
	RESULTS+=("$(jq -cn --arg b "$backend" --argjson n "$n" --argjson p50 "$p50" \
		--argjson p99 "$p99" --argjson to "$timeouts" \
		--argjson s "$(printf '%s\n' "${samples[@]}" | jq -sc 'map(select(. != null))')" \
		'{backend: $b, hosts: $n, p50_ms: $p50, p99_ms: $p99, timeouts: $to,
		  samples_ms: $s}')")
}

# teardown: the cluster and the containers of one measurement.
teardown()
{
	cluster_stop
	((${#RES[@]} > 0)) && container_destroy "${RES[@]}"
	((${#NEW[@]} > 0)) && container_destroy "${NEW[@]}"
	RES=() NEW=()
	rm -rf "$T/poll"
}

main()
{
	local backend n bin rc=0

	tmpdir_setup || exit 1
	for backend in $BACKENDS; do
		bin=$(store_binary "$backend") || { echo "unknown backend $backend" >&2; rc=1; continue; }
		if ! command -v "$bin" >/dev/null; then
			echo "#### SKIPPED $backend: $bin is not installed ####" >&2
			continue
		fi
		for n in $SIZES; do
			if ! measure "$backend" "$n"; then
				echo "# $backend n=$n: setup failed" >&2
				agent_logs_tail 20 >&2
				rc=1
			fi
			teardown
		done
	done
	mkdir -p "$(dirname "$BENCH_OUT")"
	printf '%s\n' "${RESULTS[@]}" | jq -s --argjson t "$TARGET_P99_MS" --argjson tn "$TARGET_N" \
		--argjson k "$SAMPLES" '{target: {hosts: $tn, p99_ms_max: $t},
		samples_per_point: $k, results: .}' >"$BENCH_OUT"
	echo "# wrote $BENCH_OUT" >&2
	return "$rc"
}

main
