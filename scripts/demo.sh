#!/usr/bin/env bash
# demo.sh: a three-host ovn cluster in network namespaces on this machine.
#
#            ovn-demo-ul (bridge br0: the "switch" of the underlay, MTU 1400)
#     +--------------+----------------+----------------+
#   ovn-demo-h1    ovn-demo-h2      ovn-demo-h3      ovn-demo-store
#   198.18.0.1     198.18.0.2       198.18.0.3       198.18.0.254 redis-server
#   ovnagent       ovnagent         ovnagent
#   web1 (front)   web2 (front)     db (back)
#   cache (back)   api (front, back) web3 (front)
#
# Networks: "front" dual-stack 198.19.10.0/24 + fd00:10::/64, "back" 198.19.20.0/24.
# `demo.sh` builds it, shows cross-host traffic and isolation, and leaves it
# running; `demo.sh clean` removes all of it (also done if set-up is interrupted).
# State: /run/ovn-demo/<host>/ (config, socket, log, pid), redis in /run/ovn-demo/store.
set -u
ROOT=$(readlink -f "$(dirname "$0")/..")
BIN=${OVN_BIN:-$ROOT/build/bin}
D=/run/ovn-demo
P=ovn-demo
HOSTS="h1 h2 h3"
CONTAINERS="web1 cache web2 api db web3"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
ctl() { local h=$1; shift; "$BIN/ovnctl" --socket "$D/$h/ovn.sock" "$@"; }
ip_of() { ctl h1 endpoint ls --json | jq -r ".[] | select(.name==\"$1\" and .network==\"$2\") | .$3 | split(\"/\")[0]"; }

stop_pid() {
	local pid
	[[ -f $1 ]] || return 0
	pid=$(cat "$1")
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null
}

clean()
{
	local h ns
	for h in $HOSTS; do stop_pid "$D/$h/ovnagent.pid"; done
	stop_pid "$D/store/redis.pid"
	for ns in $CONTAINERS $HOSTS store ul; do
		ip netns list | grep -qw "$P-$ns" && ip netns delete "$P-$ns"
		rm -rf "/etc/netns/${P:?}-$ns"	# resolv.conf the agents wrote
	done
	rm -rf "$D"
	echo "ovn demo removed"
}

host_up()	# host_up NAME ADDR: a namespace on the underlay switch
{
	ip netns add "$P-$1"
	ip -n "$P-$1" link set lo up
	ip -n "$P-ul" link add "$1" mtu 1400 type veth peer name eth0 mtu 1400 netns "$P-$1"
	ip -n "$P-ul" link set "$1" master br0 up
	ip -n "$P-$1" addr add "$2/16" dev eth0
	ip -n "$P-$1" link set eth0 up
}

agent_up()	# agent_up HOST ADDR
{
	mkdir -p "$D/$1"
	(umask 077; echo "[\"$KEY\"]" >"$D/$1/keyring.json")
	cat >"$D/$1/agent.yaml" <<-YAML
		node: $1
		advertise: $2
		run_dir: $D/$1
		api: { socket: $D/$1/ovn.sock }
		store: { backend: redis, endpoints: [ "redis://198.18.0.254:6379" ], timeout: 2 }
		ipam: { pool4: 198.19.0.0/16, pool6: "fd00:198:19::/48" }
		gossip: { port: 7946, join: [ 198.18.0.1 ], keyring: $D/$1/keyring.json }
	YAML
	ip netns exec "$P-$1" "$BIN/ovnagent" --config "$D/$1/agent.yaml" >"$D/$1/agent.log" 2>&1 &
	for _ in $(seq 50); do ctl "$1" status >/dev/null 2>&1 && return 0; sleep 0.1; done
	echo "ovnagent on $1 did not start: see $D/$1/agent.log" >&2
	return 1
}

if [[ ${1:-} == clean ]]; then
	clean
	exit 0
fi
if ((EUID != 0)); then
	echo "demo: run as root (it creates network namespaces)" >&2
	exit 1
fi
if [[ -d $D ]]; then
	echo "demo: already running ($D exists): run 'make demo-clean' first" >&2
	exit 1
fi
trap 'echo "interrupted: cleaning up"; clean; exit 1' INT TERM
set -e
say "Underlay: three hosts and a store on one switch (MTU 1400)"
mkdir -p "$D/store"
ip netns add "$P-ul"
ip -n "$P-ul" link add br0 type bridge
ip -n "$P-ul" link set br0 up
host_up h1 198.18.0.1; host_up h2 198.18.0.2; host_up h3 198.18.0.3
host_up store 198.18.0.254
ip netns exec "$P-store" redis-server --bind 198.18.0.254 --port 6379 --save '' \
	--appendonly yes --dir "$D/store" --protected-mode no --daemonize yes \
	--pidfile "$D/store/redis.pid" --logfile "$D/store/redis.log"
say "One ovnagent per host, all sharing the redis store, gossiping (encrypted) with each other"
KEY=$("$BIN/ovnctl" keys generate)
agent_up h1 198.18.0.1; agent_up h2 198.18.0.2; agent_up h3 198.18.0.3
run ctl h1 status
for _ in $(seq 50); do [[ $(ctl h3 --json members | jq '[.[] | select(.status == "alive")] | length') == 3 ]] && break; sleep 0.1; done
run ctl h3 members
say "Networks, created on h1, known everywhere"
run ctl h1 network create front --subnet 198.19.10.0/24 --subnet fd00:10::/64
run ctl h1 network create back --subnet 198.19.20.0/24
for c in $CONTAINERS; do ip netns add "$P-$c"; done
say "Containers on different hosts"
run ctl h1 network attach front --netns "$P-web1" --name web1 >/dev/null
run ctl h2 network attach front --netns "$P-web2" --name web2 >/dev/null
run ctl h2 network attach front --netns "$P-api" --name api >/dev/null
run ctl h2 network attach back --netns "$P-api" --name api >/dev/null
run ctl h3 network attach back --netns "$P-db" --name db >/dev/null
run ctl h1 network attach back --netns "$P-cache" --name cache >/dev/null
run ctl h3 network attach front --netns "$P-web3" --name web3 >/dev/null
run ctl h3 endpoint ls
set +e
say "web1 (h1) -> web2 (h2) over IPv4 and IPv6, through VxLAN"
run ip netns exec "$P-web1" ping -c 2 -i 0.2 "$(ip_of web2 front ipv4)"
run ip netns exec "$P-web1" ping -6 -c 2 -i 0.2 "$(ip_of web2 front ipv6)"
say "web3 (h3) -> web1 (h1) over IPv6"
run ip netns exec "$P-web3" ping -6 -c 2 -i 0.2 "$(ip_of web1 front ipv6)"
say "api (h2) -> db (h3) on the back network"
run ip netns exec "$P-api" ping -c 2 -i 0.2 "$(ip_of db back ipv4)"
say "Names: each container's resolver (127.0.0.11, served by its host's agent)"
run ip netns exec "$P-web1" dig +short @127.0.0.11 web2 A
run ip netns exec "$P-web1" dig +short @127.0.0.11 web2.front AAAA
run ip netns exec "$P-web1" dig +short @127.0.0.11 -x "$(ip_of web2 front ipv4)"
run ip netns exec "$P-api" ping -c 1 db
say "web1 (front only) cannot reach db (back only)"
run ip netns exec "$P-web1" ping -c 1 -W 1 "$(ip_of db back ipv4)" || echo "(unreachable: as intended)"
say "How h1 reaches web2: static FDB and neighbour entries, no learning, no flooding"
vni=$(ctl h1 network inspect front | jq .vni)
run bridge -n "$P-h1" fdb show dev "vx-$vni"
run ip -n "$P-h1" neigh show dev "vx-$vni"
say "Look around"
cat <<TXT
  $BIN/ovnctl --socket $D/h2/ovn.sock network ls        (each host has its own socket)
  $BIN/ovnctl --socket $D/h3/ovn.sock endpoint ls
  $BIN/ovnctl --socket $D/h1/ovn.sock members           (gossip: kill an agent, watch it fail)
  ip netns exec $P-web2 ip addr                         (a container's side)
  ip -n $P-h1 -d link show type vxlan                   (vx-<vni>: nolearning, proxy)
  tail $D/h1/agent.log
Remove everything with: make demo-clean
TXT
