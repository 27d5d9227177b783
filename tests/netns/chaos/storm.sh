#!/usr/bin/env bash
# storm.sh: the attach/detach storm driver of one host, started in the
# background (spawn_bg, so by recorded PID) by tests/netns/test_chaos.sh.
#
#   storm.sh SOCK HOST SEED OUT STOPFILE NETS CONTAINER...
#
# Until STOPFILE exists it picks a random (container, network) pair and
# flips it: a pair it believes attached, or whose state it does not know,
# is detached; a pair it knows detached is attached. It talks HTTP to the
# agent's socket with curl (the status code tells a refusal from a lost
# connection, which ovnctl's exit code does not), each request bounded by
# 10 s.
#
# What it writes to OUT, one line per request:
#   OP RESULT NET CONTAINER HTTP_STATUS ID IPV4 IPV6
# OP attach|detach; RESULT ok (2xx), none (detach answered 404: nothing
# attached, which is also a known state), err (anything else: refused,
# agent killed mid-request, store away, timeout). Then, when it stops,
# one line per pair it ever touched:
#   state NET CONTAINER in|out|unknown ID IPV4 IPV6
# "in" and "out" are states the API confirmed by its last answer for the
# pair; "unknown" means the last request failed, and since a failed attach
# may still have committed (the agent died after its store write, or the
# store answered after the agent's timeout) the checks only demand that the
# store and the kernel agree on such a pair.
#
# It does not: create or destroy containers (the scenario owns them), or
# retry a failed request (the next flip of the pair does the repair).
# Env STORM_INIT: a file whose "state" lines (a previous storm's OUT) give
# the starting state; without it every pair starts "out".

set -u

SOCK=$1
HOST=$2
RANDOM=$3
OUT=$4
STOPFILE=$5
read -ra NETS <<<"$6"
shift 6
CONTAINERS=("$@")

declare -A STATE=() ID=() IP4=() IP6=()

# req METHOD PATH BODY: prints "STATUS BODY" (status 000 when no answer).
req()
{
	local body=$3 out

	out=$(curl -s -m 10 --unix-socket "$SOCK" -X "$1" \
		-H 'Content-Type: application/json' -d "$body" \
		-w '\n%{http_code}' "http://ovn$2" 2>/dev/null)
	printf '%s %s' "${out##*$'\n'}" "${out%$'\n'*}"
}

attach()
{
	local net=$1 c=$2 key="$1 $2" ans code body id ip4 ip6

	ans=$(req POST "/v1/networks/$net/endpoints" \
		"{\"netns\":\"$c\",\"name\":\"$c\"}")
	code=${ans%% *}
	body=${ans#* }
	if [[ $code == 201 ]]; then
		read -r id ip4 ip6 < <(jq -r '"\(.id) \(.ipv4 // "-") \(.ipv6 // "-")"' \
			<<<"$body" 2>/dev/null)
		ID[$key]=$id IP4[$key]=$ip4 IP6[$key]=$ip6
		STATE[$key]=in
		echo "attach ok $net $c $code ${ID[$key]} ${IP4[$key]} ${IP6[$key]}"
	else
		STATE[$key]=unknown
		ID[$key]=- IP4[$key]=- IP6[$key]=-
		echo "attach err $net $c $code - - - ${body//[[:space:]]/_}"
	fi
}

detach()
{
	local net=$1 c=$2 key="$1 $2" ans code

	ans=$(req POST "/v1/networks/$net/detach" "{\"netns\":\"$c\"}")
	code=${ans%% *}
	case $code in
	200) STATE[$key]=out; echo "detach ok $net $c $code ${ID[$key]:--} - -" ;;
	404) STATE[$key]=out; echo "detach none $net $c $code - - -" ;;
	*) STATE[$key]=unknown; echo "detach err $net $c $code - - -" ;;
	esac
	if [[ ${STATE[$key]} == out ]]; then
		ID[$key]=- IP4[$key]=- IP6[$key]=-
	fi
}

dump_state()
{
	local key

	for key in "${!STATE[@]}"; do
		echo "state $key ${STATE[$key]} ${ID[$key]:--} ${IP4[$key]:--} ${IP6[$key]:--}"
	done
}

# load_state FILE: start from the "state" lines a previous storm left, so
# a pair attached in an earlier phase is known attached here.
load_state()
{
	local tag net c st id ip4 ip6

	while read -r tag net c st id ip4 ip6; do
		[[ $tag == state ]] || continue
		STATE["$net $c"]=$st ID["$net $c"]=$id IP4["$net $c"]=$ip4 IP6["$net $c"]=$ip6
	done <"$1"
}

main()
{
	local net c key

	[[ -n ${STORM_INIT:-} && -f $STORM_INIT ]] && load_state "$STORM_INIT"

	while [[ ! -e $STOPFILE ]]; do
		net=${NETS[RANDOM % ${#NETS[@]}]}
		c=${CONTAINERS[RANDOM % ${#CONTAINERS[@]}]}
		key="$net $c"
		if [[ ${STATE[$key]:-out} == out ]]; then
			attach "$net" "$c"
		else
			detach "$net" "$c"
		fi
	done
	dump_state
}

[[ -n $HOST ]] && main >>"$OUT"
