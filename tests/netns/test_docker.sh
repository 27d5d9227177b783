#!/usr/bin/env bash
# Docker: two real dockerd "hosts" using ovnagent as their libnetwork remote
# network driver and IPAM driver (docs/docker.md).
#
#   c1 (busybox)                 c2 (busybox)
#   dockerd h1 + ovnagent h1     dockerd h2 + ovnagent h2     redis (st)
#   eth0 198.18.0.1/16           eth0 198.18.0.2/16           198.18.0.254
#   ----------------------------- br0 (ul) ----------------------------------
#
# Each host is a network namespace plus its own pinned mount and UTS
# namespace, in which /run/docker/plugins, /etc/docker and /etc/resolv.conf
# are private bind mounts (Docker's plugin paths are hard-coded), so each
# dockerd finds only its own agent's plugin socket. The agent runs in all
# three namespaces of its host, started before dockerd. dockerd is entered
# with nsenter, never `ip netns exec` (which empties /sys/fs/cgroup).
#
# c3 on h1 publishes -p 8080:80 (busybox nc); host 2's namespace reaches it
# on h1's underlay address through the agent's nftables table.
#
# Docker network "blue" on both hosts is bound (-o ovn.network=blue) to one
# ovn network, 198.19.7.0/24. Each agent learns its containers' names from
# its dockerd's API socket (docker.api) and answers them on 127.0.0.53 in
# the host namespace, the nameserver of the host's resolv.conf, to which
# dockerd's 127.0.0.11 forwards names it does not know. If dockerd cannot start here, every test is
# reported SKIP, loudly, never passed.

# shellcheck disable=SC2034
ALL_TESTS="test_network_bind test_cross_host_ping test_names test_publish test_connect_disconnect
	test_bad_input test_agent_kill9 test_agent_sigterm test_teardown"
HERE=$(dirname "$(readlink -f "$0")")
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$HERE/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_cluster.sh
source "$HERE/lib_cluster.sh"

SUB=198.19.7.0/24
SUB2=198.19.8.0/24
DK_ID=$(mktemp -u XXXXXX)
R=/run/ovdk-$DK_ID		# per-host runtime dirs (short: containerd socket paths)
D=/var/lib/ovdk-$DK_ID		# per-host data roots
DOCKER_OK=0

in_host() { local i=$1; shift; nsenter --mount="$R/ns/h$i.mnt" --uts="$R/ns/h$i.uts" --net="/run/netns/${HOST_NS[i]}" "$@"; }
dk() { local i=$1; shift; timeout 60 docker -H "unix://$R/h$i/docker.sock" "$@"; }
plugin_sock() { echo "$R/h$1/plugins/ovn.sock"; }

# host_setup I: pinned mount+UTS namespaces with the private bind mounts.
host_setup()
{
	local i=$1

	mkdir -p "$R/h$i/plugins" "$R/h$i/etc-docker" "$D/h$i" || return 1
	echo "nameserver 127.0.0.53" >"$R/h$i/resolv.conf"
	touch "$R/ns/h$i.mnt" "$R/ns/h$i.uts"
	unshare --mount="$R/ns/h$i.mnt" --uts="$R/ns/h$i.uts" --propagation private sh -ec "
		hostname dkh$i
		mkdir -p /run/docker/plugins
		mount --bind $R/h$i/plugins /run/docker/plugins
		mount --bind $R/h$i/etc-docker /etc/docker
		mount --bind $R/h$i/resolv.conf /etc/resolv.conf"
}

docker_agent_start()
{
	local i=$1 dir

	agent_config_write "${HOST_NS[i]}" "h$i" "$STORE_YAML" \
		"docker: { socket: /run/docker/plugins/ovn.sock, api: $R/h$i/docker.sock }" \
		"dns: { upstreams: [ \"198.18.255.254\" ], host_address: 127.0.0.53 }" || return 1
	dir=$(agent_dir "h$i")
	spawn_bg "agent:h$i" nsenter --mount="$R/ns/h$i.mnt" --uts="$R/ns/h$i.uts" \
		--net="/run/netns/${HOST_NS[i]}" "$OVN_BIN/ovnagent" --config "$dir/agent.yaml" \
		>>"$dir/agent.log" 2>&1 || return 1
	AGENT_NS[h$i]=${HOST_NS[i]}
	slowwait 10 test -S "$(plugin_sock "$i")"
}

dockerd_start()
{
	local i=$1

	spawn_bg "dockerd:h$i" setsid nsenter --mount="$R/ns/h$i.mnt" --uts="$R/ns/h$i.uts" \
		--net="/run/netns/${HOST_NS[i]}" dockerd --data-root "$D/h$i" \
		--exec-root "$R/h$i/x" -H "unix://$R/h$i/docker.sock" \
		--pidfile "$R/h$i/docker.pid" --iptables=false --ip-masq=false --bridge=none \
		--userland-proxy=false >>"$R/h$i/dockerd.log" 2>&1 </dev/null || return 1
	slowwait 60 dk_up "$i"
}

dk_up() { dk "$1" version &>/dev/null; }

image_import()
{
	local i a rootfs=$R/rootfs

	mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp"
	cp /bin/busybox "$rootfs/bin/" || return 1
	for a in sh ip ping nslookup sleep cat ls hostname true echo ifconfig nc; do
		ln -sf busybox "$rootfs/bin/$a"
	done
	tar -C "$rootfs" -cf "$R/bb.tar" . || return 1
	for i in 1 2; do
		dk "$i" import "$R/bb.tar" bb:latest >/dev/null || return 1
	done
}

# ip_of I CTR NET: the container's address on NET.
ip_of()
{
	dk "$1" inspect -f "{{(index .NetworkSettings.Networks \"$3\").IPAddress}}" "$2"
}

# host_links I PATTERN: ve-/dk- links in host I's namespace.
host_links()
{
	ip -n "${HOST_NS[$1]}" -o link show | awk -F': ' '{ print $2 }' | grep -E '^(ve|dk)-' |
		sed 's/@.*//'
}

net_exists()
{
	ovnctl_on h1 --json network ls | jq -e --arg n "$1" 'any(.[]; .name == $n)' >/dev/null
}

net_gone()
{
	! net_exists "$1"
}

ipam_keys()
{
	ip netns exec "$ST_NS" redis-cli -h "$STORE_IP" --scan --pattern '*/ipam/*' 2>/dev/null
}

docker_keys()
{
	ip netns exec "$ST_NS" redis-cli -h "$STORE_IP" --scan --pattern '*/docker/*' 2>/dev/null
}

# plugin_call I METHOD BODY: raw call to host I's plugin socket.
plugin_call()
{
	curl -s --unix-socket "$(plugin_sock "$1")" -X POST -d "$3" "http://x/$2" -w ' %{http_code}'
}

need_docker()
{
	((DOCKER_OK)) && return 0
	log_test_skip "$1" "dockerd could not start here (see $R/h1/dockerd.log)"
	return 1
}

test_network_bind()
{
	need_docker "docker: network create on both hosts binds one ovn network" || return
	RET=0
	dk 1 network create -d ovn --ipam-driver ovn --subnet $SUB -o ovn.network=blue blue \
		>/dev/null
	check_err $? "network create on h1"
	dk 2 network create -d ovn --ipam-driver ovn --subnet $SUB -o ovn.network=blue blue \
		>/dev/null
	check_err $? "network create on h2"
	[[ $(ovnctl_on h2 --json network ls | jq -r '.[] | select(.name=="blue") |
		.subnets[0].subnet') == "$SUB" ]]
	check_err $? "ovn network blue with $SUB not seen by h2"
	[[ $(ovnctl_on h1 --json network ls | jq 'length') == 1 ]]
	check_err $? "more than one ovn network"
	[[ $(docker_keys | wc -l) == 2 ]]
	check_err $? "expected two bindings in the store: $(docker_keys)"
	log_test "docker: network create on both hosts binds one ovn network"
}

test_cross_host_ping()
{
	need_docker "docker: containers on two hosts ping by address" || return
	RET=0
	dk 1 run -d --name c1 --network blue bb:latest sleep 3600 >/dev/null
	check_err $? "run c1"
	dk 2 run -d --name c2 --network blue bb:latest sleep 3600 >/dev/null
	check_err $? "run c2"
	IP1=$(ip_of 1 c1 blue)
	IP2=$(ip_of 2 c2 blue)
	[[ -n $IP1 && -n $IP2 && $IP1 != "$IP2" ]]
	check_err $? "addresses '$IP1' '$IP2'"
	dk 1 exec c1 ping -c1 -W3 "$IP2" >/dev/null
	check_err $? "c1 -> c2 ($IP2)"
	dk 2 exec c2 ping -c1 -W3 "$IP1" >/dev/null
	check_err $? "c2 -> c1 ($IP1)"
	[[ $(ovnctl_on h1 --json endpoint ls --network blue | jq 'length') == 2 ]]
	check_err $? "two ovn endpoints expected"
	[[ $(ipam_keys | wc -l) == 2 ]]
	check_err $? "two address reservations expected: $(ipam_keys)"
	dk 1 exec c1 ip route | grep -q "default via 198.19.7.1"
	check_err $? "default route via the ovn gateway"
	log_test "docker: containers on two hosts ping by address"
}

# resolves I CTR NAME IP: in container CTR of host I, NAME is IP.
resolves()
{
	dk "$1" exec "$2" nslookup "$3" 2>/dev/null | grep -A3 "^Name:" | grep -qw "$4"
}

test_names()
{
	need_docker "docker: containers on two hosts resolve each other by name" || return
	RET=0
	# The name comes from dockerd's API after Join, retried: wait for it.
	slowwait 20 resolves 1 c1 c2 "$IP2"
	check_err $? "c1: nslookup c2 -> $IP2: $(dk 1 exec c1 nslookup c2 2>&1 | xargs)"
	slowwait 20 resolves 2 c2 c1 "$IP1"
	check_err $? "c2: nslookup c1 -> $IP1: $(dk 2 exec c2 nslookup c1 2>&1 | xargs)"
	dk 1 exec c1 ping -c1 -W3 c2 >/dev/null
	check_err $? "c1: ping c2"
	dk 2 exec c2 ping -c1 -W3 c1 >/dev/null
	check_err $? "c2: ping c1"
	[[ $(ovnctl_on h2 --json endpoint ls --network blue | jq -r '[.[].name] | sort | join(" ")') \
		== "c1 c2" ]]
	check_err $? "endpoint records should carry the names c1 c2"
	resolves 1 c1 nosuch-ctr 198.19.7.
	check_fail $? "an unknown name resolved"
	log_test "docker: containers on two hosts resolve each other by name"
}

# ask_port NS IP PORT: what a TCP server at IP:PORT says to a client in NS.
ask_port()
{
	ip netns exec "$1" timeout 5 socat -T2 - "TCP:$2:$3,connect-timeout=2" </dev/null \
		2>/dev/null
}

# nft_has_port I PORT: host I's ovn table maps host port PORT.
nft_has_port()
{
	ip netns exec "${HOST_NS[$1]}" nft list table inet ovn 2>/dev/null | grep -qw "$2"
}

keys_are() { [[ $(ipam_keys | sort) == "$1" ]]; }
hello_on() { [[ $(ask_port "${HOST_NS[2]}" "$1" 8080) == hello ]]; }

test_publish()
{
	need_docker "docker: -p publishes a port without docker-proxy, refused when taken" || return
	local ul1 out keys

	RET=0
	ul1=$(host_underlay_ip "${HOST_NS[1]}")
	keys=$(ipam_keys | sort)
	dk 1 run -d --name c3 -p 8080:80 --network blue bb:latest \
		sh -c 'while true; do echo hello | nc -l -p 80; done' >/dev/null
	check_err $? "run c3 -p 8080:80"
	# From host 2's namespace (no container), to host 1's underlay address.
	slowwait 10 hello_on "$ul1"
	check_err $? "h2 -> $ul1:8080: '$(ask_port "${HOST_NS[2]}" "$ul1" 8080)'"
	nft_has_port 1 8080
	check_err $? "host port 8080 not in h1's table inet ovn"
	[[ $(ovnctl_on h1 --json endpoint ls --network blue | jq -r '.[].publish // empty | .[]') \
		== "8080:80/tcp" ]]
	check_err $? "the endpoint record should carry publish 8080:80/tcp"
	out=$(dk 1 run -d --name c4 -p 8080:81 --network blue bb:latest sleep 3600 2>&1)
	check_fail $? "a second container got host port 8080"
	grep -q "host port 8080/tcp is already published" <<<"$out"
	check_err $? "message: $out"
	dk 1 rm -f c4 &>/dev/null
	out=$(dk 1 run -d --name c5 -p 9000-9001:80 --network blue bb:latest sleep 3600 2>&1)
	check_fail $? "a host port range was accepted"
	grep -q "host port ranges (9000-9001) are not supported" <<<"$out"
	check_err $? "range message: $out"
	dk 1 rm -f c5 &>/dev/null
	out=$(dk 1 run -d --name c5 -p 80 --network blue bb:latest sleep 3600 2>&1)
	check_fail $? "-p without a host port was accepted"
	grep -q "does not choose host ports" <<<"$out"
	check_err $? "-p 80 message: $out"
	dk 1 rm -f c5 &>/dev/null
	slowwait 10 hello_on "$ul1"
	check_err $? "c3's port broken by the refused containers"
	# The mapping is part of the endpoint record: a kill -9 and restart
	# keeps it, and the restarted agent removes it at rm.
	agent_kill h1
	docker_agent_start 1
	check_err $? "agent h1 restart"
	slowwait 10 hello_on "$ul1"
	check_err $? "h2 -> $ul1:8080 after the agent's restart"
	dk 1 rm -f c3 >/dev/null
	check_err $? "rm -f c3"
	nft_has_port 1 8080
	check_fail $? "host port 8080 still in h1's table after rm -f"
	hello_on "$ul1"
	check_fail $? "port 8080 still answers after rm -f"
	[[ $(host_links 1 | wc -l) == 1 ]]
	check_err $? "h1 should hold exactly c1's host end: $(host_links 1 | xargs)"
	busywait 5000 keys_are "$keys"
	check_err $? "reservations changed: $(ipam_keys | xargs)"
	log_test "docker: -p publishes a port without docker-proxy, refused when taken"
}

test_connect_disconnect()
{
	need_docker "docker: network connect/disconnect" || return
	RET=0
	dk 1 network create -d ovn --ipam-driver ovn --subnet $SUB2 --internal \
		-o ovn.network=green green >/dev/null
	check_err $? "create internal network green"
	dk 1 network connect green c1
	check_err $? "connect"
	dk 1 exec c1 ip -o addr show eth1 | grep -q 198.19.8.
	check_err $? "c1 has eth1 on green"
	[[ $(ovnctl_on h1 --json endpoint ls --network green | jq 'length') == 1 ]]
	check_err $? "one endpoint on green"
	dk 1 network disconnect green c1
	check_err $? "disconnect"
	[[ $(ovnctl_on h1 --json endpoint ls --network green | jq 'length') == 0 ]]
	check_err $? "endpoint left on green"
	[[ $(host_links 1 | wc -l) == 1 ]]
	check_err $? "h1 should hold exactly c1's host end: $(host_links 1 | xargs)"
	[[ $(ipam_keys | grep -c green) == 0 ]]
	check_err $? "reservation left on green"
	dk 1 network rm green >/dev/null
	check_err $? "network rm green"
	net_exists green
	check_fail $? "ovn network green should be gone (created for Docker, unused)"
	log_test "docker: network connect/disconnect"
}

test_bad_input()
{
	need_docker "docker: bad input gets a clear error and changes nothing" || return
	local out keys

	RET=0
	keys=$(ipam_keys | sort)
	out=$(dk 2 network create -d ovn --ipam-driver ovn --subnet 198.19.9.0/24 \
		-o ovn.network=blue blue9 2>&1)
	check_fail $? "wrong subnet for blue accepted"
	grep -q "has subnet $SUB" <<<"$out"
	check_err $? "message: $out"
	out=$(dk 2 network create -d ovn --ipam-driver ovn --subnet 198.19.10.0/24 nonet 2>&1)
	check_fail $? "missing -o ovn.network accepted"
	grep -q "ovn.network" <<<"$out"
	check_err $? "message: $out"
	out=$(plugin_call 2 NetworkDriver.CreateNetwork '{"NetworkID": [')
	grep -q '"Err":"malformed JSON' <<<"$out" && grep -q ' 500$' <<<"$out"
	check_err $? "garbage JSON: $out"
	out=$(plugin_call 2 IpamDriver.RequestAddress '{"PoolID":"nope/1","Address":""}')
	grep -q '"Error":"unknown PoolID' <<<"$out"
	check_err $? "unknown PoolID: $out"
	out=$(plugin_call 2 IpamDriver.ReleaseAddress \
		"{\"PoolID\":\"ovn/$SUB\",\"Address\":\"198.19.9.9\"}")
	grep -q '"Error":"Address' <<<"$out"
	check_err $? "address outside the pool: $out"
	[[ $(ipam_keys | sort) == "$keys" && $(docker_keys | wc -l) == 2 ]]
	check_err $? "store changed"
	[[ $(ovnctl_on h1 --json network ls | jq 'length') == 1 ]]
	check_err $? "a network was created"
	log_test "docker: bad input gets a clear error and changes nothing"
}

test_agent_kill9()
{
	need_docker "docker: agent kill -9 while a container runs, then rm cleans up" || return
	RET=0
	agent_kill h2
	docker_agent_start 2
	check_err $? "agent h2 restart"
	dk 2 exec c2 ping -c1 -W3 "$IP1" >/dev/null
	check_err $? "c2 -> c1 after the restart"
	# Names come back from the store: no new lookup is needed.
	slowwait 10 resolves 2 c2 c1 "$IP1"
	check_err $? "c2: nslookup c1 after the restart"
	dk 2 rm -f c2 >/dev/null
	check_err $? "rm -f c2"
	busywait 5000 test -z "$(host_links 2)"
	check_err $? "links left on h2: $(host_links 2 | xargs)"
	[[ $(ipam_keys | wc -l) == 1 ]]
	check_err $? "c2's reservation left: $(ipam_keys)"
	[[ $(ovnctl_on h2 --json endpoint ls --network blue | jq 'length') == 1 ]]
	check_err $? "c2's endpoint left"
	log_test "docker: agent kill -9 while a container runs, then rm cleans up"
}

test_agent_sigterm()
{
	need_docker "docker: agent SIGTERM removes its socket; stop after restart cleans up" || return
	RET=0
	agent_stop h1
	check_err $? "agent h1 stop"
	[[ ! -e $(plugin_sock 1) ]]
	check_err $? "plugin socket left after SIGTERM"
	docker_agent_start 1
	check_err $? "agent h1 restart"
	dk 1 stop -t 1 c1 >/dev/null && dk 1 rm c1 >/dev/null
	check_err $? "stop + rm c1"
	busywait 5000 test -z "$(host_links 1)"
	check_err $? "links left on h1: $(host_links 1 | xargs)"
	[[ -z $(ipam_keys) ]]
	check_err $? "reservations left: $(ipam_keys)"
	log_test "docker: agent SIGTERM removes its socket; stop after restart cleans up"
}

test_teardown()
{
	need_docker "docker: network rm on both hosts leaves nothing" || return
	RET=0
	dk 1 network rm blue >/dev/null
	check_err $? "network rm on h1"
	net_exists blue
	check_err $? "blue must stay while h2 still binds it"
	dk 2 network rm blue >/dev/null
	check_err $? "network rm on h2"
	busywait 3000 net_gone blue
	check_err $? "ovn network blue left"
	[[ -z $(docker_keys) && -z $(ipam_keys) ]]
	check_err $? "store keys left: $(docker_keys) $(ipam_keys)"
	[[ -z $(host_links 1) && -z $(host_links 2) ]]
	check_err $? "links left"
	[[ -z $(ip -n "${HOST_NS[1]}" -o link show | grep -E ' (br|vx)-') ]]
	check_err $? "network devices left on h1"
	log_test "docker: network rm on both hosts leaves nothing"
}

docker_cleanup()
{
	local i pid

	for i in 1 2; do
		if [[ -S $R/h$i/docker.sock ]]; then
			dk "$i" rm -f c1 c2 c3 c4 c5 &>/dev/null
			dk "$i" network rm blue green &>/dev/null
		fi
		spawn_stop "dockerd:h$i" 20000
	done
	for i in 1 2; do
		agent_stop "h$i"
		pid=$(cat "$R/h$i/docker.pid" 2>/dev/null) && kill -KILL "$pid" 2>/dev/null
	done
	for i in 1 2; do
		umount "$R/ns/h$i.mnt" "$R/ns/h$i.uts" 2>/dev/null
	done
	umount "$R/ns" 2>/dev/null
	rm -rf "$R" "$D"
}

cleanup()
{
	docker_cleanup
	lib_cleanup
}

trap cleanup EXIT
require_root
require_ovn_bin
require_command jq
require_command curl
require_command redis-cli
require_command socat
require_command nft
underlay_create 2 || exit 1
store_start redis || exit $?
mkdir -p "$R/ns" && mount --bind "$R/ns" "$R/ns" && mount --make-private "$R/ns" || exit 1
for i in 1 2; do
	host_setup "$i" || exit 1
	docker_agent_start "$i" || { echo "agent h$i did not start" >&2; exit 1; }
done
if command -v dockerd >/dev/null && command -v docker >/dev/null && [[ -x /bin/busybox ]] &&
	dockerd_start 1 && dockerd_start 2 && image_import; then
	DOCKER_OK=1
else
	echo "########################################################################" >&2
	echo "# SKIP: dockerd could not start (or no docker/busybox); see $R/h*/dockerd.log" >&2
	tail -n 20 "$R"/h1/dockerd.log >&2 2>/dev/null
	echo "########################################################################" >&2
fi
tests_run
if ((DOCKER_OK)); then
	RET=0
	for i in 1 2; do
		agent_stop "h$i"
		check_err $? "agent h$i did not stop on SIGTERM within 10 s"
	done
	grep -E "Sanitizer|runtime error:" "$(agent_dir h1)/agent.log" "$(agent_dir h2)/agent.log"
	check_fail $? "sanitizer reports in the agent logs (ASan/UBSan build)"
	log_test "docker: agents stop cleanly, no sanitizer reports"
fi
tests_summary
