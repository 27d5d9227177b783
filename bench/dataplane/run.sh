#!/usr/bin/env bash
# bench/dataplane: attach N endpoints to one network through dataplane/ and
# time it per block of 100, dual-stack then IPv4-only (see scale.c for what
# one run does). Every run is its own process in its own namespaces, so
# nothing outlives it; between runs the kernel is given time to tear the
# last run's namespaces down (scale -w polls until it is quiet).
#
# Usage: run.sh [N]       env: MODES="dual ipv4"  SNOOP="" (or "0 1 2", see scale -m)
#                              IPCMP=1 (add the `ip -batch' floor)
# Output: "key value" lines, each run's keys prefixed "<mode>[_snoop<X>]_",
# also saved to $BENCH_OUT (default build/bench/dataplane.txt) and as one
# JSON object to $BENCH_JSON (default build/bench/dataplane.json; numbers as
# numbers). IPCMP=1 adds the anchor: the same veth work by `ip -batch`.
set -eu
HERE=$(dirname "$(readlink -f "$0")")
ROOT=$(readlink -f "$HERE/../..")
N=${1:-1000}
MODES=${MODES:-dual ipv4}
SNOOP=${SNOOP:-}
IPCMP=${IPCMP:-0}
BIN=$ROOT/build/bench/dp_scale
BENCH_OUT=${BENCH_OUT:-$ROOT/build/bench/dataplane.txt}
BENCH_JSON=${BENCH_JSON:-$ROOT/build/bench/dataplane.json}

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root" >&2
	exit 4
fi

build()
{
	local cc="cc -O2 -g -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -I$ROOT/lib"
	cc+=" -I$ROOT/dataplane"

	mkdir -p "$(dirname "$BIN")"
	# The archive when it builds; the sources it would hold for us when
	# someone else's half-written file breaks it.
	if make -s -C "$ROOT" build/libovn.a >/dev/null 2>&1; then
		$cc -o "$BIN" "$HERE/scale.c" "$ROOT/build/libovn.a" -lmnl -lpthread
	else
		echo "note: build/libovn.a does not build, using dataplane/ + lib/ sources" >&2
		$cc -o "$BIN" "$HERE/scale.c" "$ROOT"/dataplane/*.c "$ROOT"/lib/*.c \
			-lmnl -lpthread
	fi
}

run_one()	# run_one MODE SNOOP
{
	local mode=$1 snoop=$2 tag=$1 args=(-n "$N")

	[ "$mode" = ipv4 ] && args+=(-4)
	if [ -n "$snoop" ]; then
		args+=(-m "$snoop")
		tag+="_snoop$snoop"
	fi
	[ "$IPCMP" = 1 ] && args+=(-I)
	"$BIN" -w >/dev/null
	"$BIN" "${args[@]}" | sed "s/^/${tag}_/" | tee -a "$BENCH_OUT"
}

build
mkdir -p "$(dirname "$BENCH_OUT")"
: >"$BENCH_OUT"
for mode in $MODES; do
	if [ -z "$SNOOP" ]; then
		run_one "$mode" ""
	else
		for s in $SNOOP; do
			run_one "$mode" "$s"
		done
	fi
done
"$BIN" -w >/dev/null
# A key printed twice (the quiet waits) keeps its last value.
jq -Rn '[inputs | select(test("^[A-Za-z0-9_]+ ")) | capture("^(?<k>[^ ]+) (?<v>.*)$") |
	{(.k): (.v | tonumber? // .)}] | add // {}' <"$BENCH_OUT" >"$BENCH_JSON"
echo "results: $BENCH_OUT $BENCH_JSON"
