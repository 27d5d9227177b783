#!/usr/bin/env bash
# bench/run-all.sh: `make bench`. Runs every benchmark of bench/ with its
# anchor measured in the same run, collects their JSON in build/bench/, then
# bench/report.sh draws the plots and writes the markdown table.
#
#   attach     ovnagent attach/detach latency, bulk, RSS     anchor: dockerd
#              (bench/attach/run.sh)                         `network connect`
#   converge   attach on one host until all others ping it   redis vs etcd,
#              (bench/converge/run.sh)                       target p99 250 ms
#   dataplane  dataplane/ attach of N veths                  `ip -batch`, the
#              (bench/dataplane/run.sh, IPCMP=1)             kernel's floor
#   dns        the dns/ server and the real agent's          dnsmasq, unbound,
#              resolver under dnsperf (bench/dns/run.sh)     Docker's embedded
#                                                            DNS (if dockerd)
#   gossip     membership and events, N nodes               serf, same N
#              (bench/gossip/run.sh)
#
# Quick mode (default, a few minutes on 2 cores): small sizes, to check that
# everything runs and to see the shape. BENCH_FULL=1: the sizes the README's
# figures come from (about 15-25 minutes here; most of it kernel teardown of
# namespaces and the 30-host clusters). Sizes per mode are in size_args().
#
# Output: build/bench/<name>.json and <name>.log per benchmark, meta.json
# (mode, date, machine), and the report: in build/bench/report/ by default,
# or in $BENCH_REPORT_DIR (`make bench BENCH_FULL=1 BENCH_REPORT_DIR=docs/bench`
# refreshes the committed plots). BENCH_ONLY="attach dns" runs a subset.
# The Docker anchor runs when dockerd is installed (BENCH_DOCKER=1 installs
# docker.io first, through ../shared/bench/docker/attach.sh).
#
# Exit: 0 when every benchmark that ran succeeded (a benchmark that skips
# itself, exit 4, for a missing tool is reported and does not fail the run).
set -uo pipefail
HERE=$(dirname "$(readlink -f "$0")")
ROOT=$(readlink -f "$HERE/..")
OUT=${BENCH_DIR:-$ROOT/build/bench}
FULL=${BENCH_FULL:-0}
ONLY=${BENCH_ONLY:-attach converge dataplane dns gossip}
REPORT_DIR=${BENCH_REPORT_DIR:-$OUT/report}
export OVN_BIN=${OVN_BIN:-$ROOT/build/bin}

if [[ $(id -u) != 0 ]]; then
	echo "bench: needs root (network namespaces)" >&2
	exit 4
fi

# cmd_of NAME: the command line of one benchmark in the chosen mode; the
# environment part is exported by run_one.
cmd_of()
{
	if [[ $FULL == 1 ]]; then
		case $1 in
		attach) echo "N_SEQ=200 DOCKER_ROUNDS=30 bench/attach/run.sh 1000" ;;
		converge) echo "SAMPLES=30 BACKENDS='redis etcd' bench/converge/run.sh 3 10 30" ;;
		dataplane) echo "IPCMP=1 bench/dataplane/run.sh 1000" ;;
		dns) echo "bench/dns/run.sh -l 15 -Q '20000 2000'" ;;
		gossip) echo "bench/gossip/run.sh" ;;
		esac
	else
		case $1 in
		attach) echo "N_SEQ=50 DOCKER_ROUNDS=10 bench/attach/run.sh 200" ;;
		converge) echo "SAMPLES=10 BACKENDS='redis etcd' bench/converge/run.sh 3" ;;
		dataplane) echo "IPCMP=1 bench/dataplane/run.sh 200" ;;
		dns) echo "bench/dns/run.sh -l 3 -Q 2000" ;;
		gossip) echo "BENCH_QUICK=1 bench/gossip/run.sh" ;;
		esac
	fi
}

# run_one NAME: run it with its JSON going to $OUT/NAME.json (dataplane
# keeps its "key value" text in BENCH_OUT, its JSON in BENCH_JSON).
run_one()
{
	local name=$1 cmd rc t0 out=$OUT/$1.json
	cmd=$(cmd_of "$name")
	[[ -n $cmd ]] || { echo "bench: unknown benchmark '$name'" >&2; return 1; }
	[[ $name == dataplane ]] && out=$OUT/dataplane.txt
	rm -f "$OUT/$name.json"
	echo "bench: $name: $cmd" >&2
	t0=$SECONDS
	(cd "$ROOT" && eval "BENCH_OUT=$out BENCH_JSON=$OUT/$name.json $cmd") >"$OUT/$name.log" 2>&1
	rc=$?
	echo "bench: $name: exit $rc after $((SECONDS - t0)) s (log $OUT/$name.log)" >&2
	return $rc
}

mkdir -p "$OUT"
declare -A RC=()
for name in $ONLY; do
	run_one "$name"
	RC[$name]=$?
done

jq -n --arg mode "$([[ $FULL == 1 ]] && echo full || echo quick)" \
	--arg date "$(date -u +%FT%TZ)" --arg kernel "$(uname -r)" --argjson cpus "$(nproc)" \
	--arg rev "$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)" \
	--arg mem "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)" \
	--argjson rc "$(for k in "${!RC[@]}"; do echo "{\"$k\": ${RC[$k]}}"; done | jq -s 'add // {}')" \
	--argjson cmds "$(for n in $ONLY; do jq -n --arg n "$n" --arg c "$(cmd_of "$n")" '{($n): $c}'; done | jq -s 'add // {}')" \
	'{mode: $mode, date: $date, kernel: $kernel, cpus: $cpus, memory: $mem, revision: $rev,
	  commands: $cmds, exit: $rc}' >"$OUT/meta.json"

"$HERE/report.sh" "$OUT" "$REPORT_DIR" || RC[report]=1

fail=0
for k in "${!RC[@]}"; do
	case ${RC[$k]} in
	0) ;;
	4) echo "bench: $k skipped itself (see its log)" >&2 ;;
	*) echo "bench: $k FAILED (exit ${RC[$k]})" >&2; fail=1 ;;
	esac
done
exit $fail
