#!/usr/bin/env bash
# ovn-cni with real Podman (CNI backend) on two hosts sharing a redis store,
# and the plugin binary driven directly for CHECK, VERSION and error codes.
#
#   a1 (podman, h1)       a2 (podman, h2)       c1 (plain netns, plugin run by hand)
#    eth0 198.19.7.x       eth0 198.19.7.y       eth0
#     |                     |                     |
#   h1: ovnagent "h1"     h2: ovnagent "h2"         (attached through h1's agent)
#       podman 1              podman 2          st: redis-server
#   br-V, vx-V            br-V, vx-V
#   eth0 198.18.0.1/16    eth0 198.18.0.2/16    eth0 198.18.0.254/16
#    |                     |                     |
#   -h1--------------------h2------- br0 --------st-----   ul (mtu 1400)
#
# ovn network "pnet": 198.19.7.0/24 + fd00:7::/64, made with ovnctl. Each
# host has its own podman: CONTAINERS_CONF, --root, --runroot, --tmpdir
# under $T/pN, the vfs storage driver (no overlay mounts to leak), the
# host's network namespace (nsenter --net, not `ip netns exec`, which
# empties /sys/fs/cgroup), and a conflist whose "socket" is that host's
# agent. The image is Debian's static busybox, imported on both hosts.
# Podman's own namespaces (/run/netns/netns-<uuid>) live in the root mount
# namespace; the agents (ip netns exec, a slave of it) see them.
#
# Podman missing or unable to run a container here: said loudly, and the
# podman tests count as skipped, never passed; the direct plugin tests
# still run. Everything (containers, podman stores, namespaces, agents,
# store) is removed at the end, also on failure.

# shellcheck disable=SC2034
ALL_TESTS="test_version test_errors test_direct_add_check_del test_podman_ping
	test_podman_dns test_podman_disconnect test_podman_bad_conf test_podman_teardown"
HERE=$(dirname "$(readlink -f "$0")")
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$HERE/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_cluster.sh
source "$HERE/lib_cluster.sh"

NET=pnet
PODMAN_OK=no		# yes once a container ran on both hosts
PODMAN_WHY=""		# why not, for the skip lines
C1=""			# the namespace of the direct tests
PODMAN_NETNS=()		# podman's namespaces of a1, a2 (gone at the end)

# pm I ARGS...: podman of host I.
pm()
{
	local i=$1

	shift
	CONTAINERS_CONF=$T/p$i/containers.conf nsenter --net="/run/netns/${HOST_NS[i]}" \
		podman --root "$T/p$i/root" --runroot "$T/p$i/run" --tmpdir "$T/p$i/tmp" \
		--storage-driver vfs --network-backend cni "$@"
}

# conflist I FILE NAME NETWORK: a one-plugin list for host I's agent.
conflist()
{
	cat >"$2" <<-EOF
		{ "cniVersion": "1.0.0", "name": "$3",
		  "plugins": [ { "type": "ovn-cni", "network": "$4",
				 "socket": "$(agent_sock "h$1")",
				 "capabilities": { "aliases": true } } ] }
	EOF
}

podman_host_setup()
{
	local i=$1 d=$T/p$1

	mkdir -p "$d/net.d" "$d/root" "$d/run" "$d/tmp" || return 1
	conflist "$i" "$d/net.d/$NET.conflist" "$NET" "$NET" || return 1
	cat >"$d/containers.conf" <<-EOF
		[containers]
		default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
		[network]
		network_backend = "cni"
		cni_plugin_dirs = ["$T/cni/bin"]
		network_config_dir = "$d/net.d"
		default_network = "$NET"
		[engine]
		cgroup_manager = "cgroupfs"
		events_logger = "none"
	EOF
	pm "$i" import "$T/bb-rootfs.tar" localhost/bb:latest >"$d/import.log" 2>&1 ||
		{ cat "$d/import.log" >&2; return 1; }
}

# podman_setup: image, plugin dir, per-host podman; PODMAN_OK=yes when a
# container ran on both hosts.
podman_setup()
{
	local i a d

	if ! command -v podman >/dev/null; then
		PODMAN_WHY="podman is not installed (scripts/install-deps.sh installs it)"
		return 0
	fi
	# Machine-wide files podman makes whatever --root says: its lock
	# segment, and the blob cache `import` writes. Removed at the end only
	# when this test made them.
	[[ -e /dev/shm/libpod_lock ]] || defer rm -f /dev/shm/libpod_lock
	for d in /var/lib/containers /var/lib/containers/cache \
		/var/lib/containers/cache/blob-info-cache-v1.boltdb; do
		if [[ ! -e $d ]]; then
			defer rm -rf "$d"
			break
		fi
	done
	mkdir -p "$T/cni/bin" "$T/img/bin" "$T/img/etc" "$T/img/tmp" || return 1
	install -m 0755 "$OVN_BIN/ovn-cni" "$T/cni/bin/ovn-cni" || return 1
	cp "$(command -v busybox)" "$T/img/bin/" || return 1
	for a in sh ip ping nslookup cat sleep hostname ls true echo; do
		ln -s busybox "$T/img/bin/$a"
	done
	tar -C "$T/img" -cf "$T/bb-rootfs.tar" . || return 1
	for i in 1 2; do
		defer podman_host_teardown "$i"
		if ! podman_host_setup "$i" ||
			! pm "$i" run --rm --network none localhost/bb:latest true; then
			PODMAN_WHY="podman cannot run a container on this machine (host $i)"
			return 0
		fi
	done
	PODMAN_OK=yes
}

# podman_host_teardown I: containers (their DELs reach the agent while it
# runs), the store, and whatever podman left mounted under $T/pI.
podman_host_teardown()
{
	local i=$1 m

	[[ -d $T/p$i ]] || return 0
	pm "$i" rm -af -t 0 &>/dev/null
	pm "$i" system reset --force &>/dev/null
	while read -r m; do
		umount -l "$m" 2>/dev/null
	done < <(awk -v p="$T/p$i/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
	rm -rf "${T:?}/p$i"
}

podman_required()
{
	[[ $PODMAN_OK == yes ]] && return 0
	echo "SKIP: $1: $PODMAN_WHY" >&2
	log_test_skip "$1" "$PODMAN_WHY"
	return 1
}

# ---------------------------------------------------------------------------
# The plugin run by hand, as a runtime would.

CONF_VERSION=1.0.0
CNI_OUT=""

# cni CMD NETNS IFNAME ID [CONF_JSON]: run ovn-cni; stdout in CNI_OUT, exit
# status returned.
cni()
{
	local conf=${5:-$(direct_conf)}

	CNI_OUT=$(CNI_COMMAND=$1 CNI_NETNS=$2 CNI_IFNAME=$3 CNI_CONTAINERID=$4 \
		CNI_ARGS=${CNI_ARGS_X:-IgnoreUnknown=1;K8S_POD_NAME=direct} CNI_PATH=$T/cni/bin \
		"$OVN_BIN/ovn-cni" <<<"$conf")
}

direct_conf()
{
	printf '{"cniVersion":"%s","name":"%s","type":"ovn-cni","socket":"%s"%s}' \
		"$CONF_VERSION" "$NET" "$(agent_sock h1)" "${CONF_EXTRA:-}"
}

# cni_code: the "code" of the error in CNI_OUT.
cni_code()
{
	jq -r '.code // empty' <<<"$CNI_OUT"
}

# expect_code CODE CMD...: the plugin fails (exit 1) with that CNI code.
expect_code()
{
	local want=$1 rc

	shift
	"$@"
	rc=$?
	[[ $rc == 1 && $(cni_code) == "$want" ]] && return 0
	echo "expected exit 1 + code $want, got exit $rc: $CNI_OUT" >&2
	return 1
}

ID1=$(printf 'c1%.0s' {1..32})	# 64 characters like a real container id

test_version()
{
	RET=0
	CNI_OUT=$(CNI_COMMAND=VERSION CNI_CONTAINERID='' CNI_NETNS=dummy CNI_IFNAME=dummy \
		CNI_PATH=dummy CNI_ARGS='' "$OVN_BIN/ovn-cni" <<<'{"cniVersion":"1.0.0"}')
	check_err $? "VERSION failed: $CNI_OUT"
	[[ $(jq -c .supportedVersions <<<"$CNI_OUT") == '["0.3.0","0.3.1","0.4.0","1.0.0"]' &&
		$(jq -r .cniVersion <<<"$CNI_OUT") == 1.0.0 ]]
	check_err $? "VERSION answered $CNI_OUT"
	log_test "VERSION lists 0.3.0 0.3.1 0.4.0 1.0.0"
}

test_errors()
{
	local ns=/run/netns/$C1

	RET=0
	CNI_OUT=$(CNI_COMMAND=FROB "$OVN_BIN/ovn-cni" </dev/null)
	[[ $? == 1 && $(cni_code) == 4 ]]
	check_err $? "bad CNI_COMMAND: $CNI_OUT"
	expect_code 4 cni ADD "" eth0 "$ID1"
	check_err $? "ADD without CNI_NETNS"
	expect_code 4 cni ADD "$ns" "bad/if" "$ID1"
	check_err $? "bad CNI_IFNAME"
	CNI_ARGS_X="IP=198.19.7.300" expect_code 4 cni ADD "$ns" eth0 "$ID1"
	check_err $? "bad IP in CNI_ARGS"
	CNI_ARGS_X="FOO=1" expect_code 4 cni ADD "$ns" eth0 "$ID1"
	check_err $? "unknown CNI_ARGS key without IgnoreUnknown"
	expect_code 6 cni ADD "$ns" eth0 "$ID1" '{"cniVersion": '
	check_err $? "conf that is not JSON"
	CONF_VERSION=9.9.9 expect_code 1 cni ADD "$ns" eth0 "$ID1"
	check_err $? "unsupported cniVersion"
	CONF_EXTRA=',"ipam":{"type":"host-local"}' expect_code 2 cni ADD "$ns" eth0 "$ID1"
	check_err $? "ipam section"
	CONF_EXTRA=',"network":"nosuchnet"' expect_code 7 cni ADD "$ns" eth0 "$ID1"
	check_err $? "unknown ovn network"
	grep -q "does not exist in ovn" <<<"$CNI_OUT"
	check_err $? "message of the unknown network: $CNI_OUT"
	CONF_EXTRA=',"dns":"yes"' expect_code 7 cni ADD "$ns" eth0 "$ID1"
	check_err $? "dns not a boolean"
	expect_code 11 cni ADD "$ns" eth0 "$ID1" \
		"{\"cniVersion\":\"1.0.0\",\"name\":\"$NET\",\"type\":\"ovn-cni\",\"socket\":\"$T/none.sock\"}"
	check_err $? "agent socket absent"
	# none of it attached anything
	[[ $(ovnctl_on h1 --json endpoint ls --network "$NET" | jq length) == 0 ]]
	check_err $? "a failed ADD left an endpoint"
	log_test "errors: codes 1 2 4 6 7 11 on stdout, exit 1, nothing attached"
}

test_direct_add_check_del()
{
	local ns=/run/netns/$C1 res ep

	RET=0
	cni ADD "$ns" eth0 "$ID1"
	check_err $? "ADD failed: $CNI_OUT"
	res=$CNI_OUT
	jq -e --arg ns "$ns" '.cniVersion == "1.0.0" and (.interfaces | length) == 2 and
		.interfaces[1].name == "eth0" and .interfaces[1].sandbox == $ns and
		(.interfaces[0].name | startswith("ve-")) and
		(.ips | length) == 2 and .ips[0].gateway == "198.19.7.1" and
		.ips[0].interface == 1 and (.ips[0] | has("version") | not) and
		.ips[1].gateway == "fd00:7::1" and
		.routes == [{"dst":"0.0.0.0/0","gw":"198.19.7.1"},{"dst":"::/0","gw":"fd00:7::1"}] and
		.dns.nameservers == ["127.0.0.11"] and .dns.search == ["pnet"]' \
		<<<"$res" >/dev/null
	check_err $? "ADD result: $res"
	ip -n "$C1" -o -4 addr show dev eth0 | grep -q " $(jq -r '.ips[0].address' <<<"$res") "
	check_err $? "eth0 in the namespace lacks the result's address"
	ep=$(ovnctl_on h1 --json endpoint ls --network "$NET" | jq -c '.[0]')
	[[ $(jq -r .owner <<<"$ep") == "cni:$ID1/eth0" && $(jq -r .name <<<"$ep") == direct ]]
	check_err $? "the endpoint's owner/name: $ep"

	cni ADD "$ns" eth0 "$ID1"
	[[ $? == 1 && $(cni_code) == 999 ]]
	check_err $? "a second ADD of the same container/ifname must fail: $CNI_OUT"

	CONF_EXTRA=",\"prevResult\":$res" cni CHECK "$ns" eth0 "$ID1"
	check_err $? "CHECK of a good attach failed: $CNI_OUT"
	CONF_EXTRA=",\"prevResult\":$res" CONF_VERSION=0.3.1 expect_code 1 cni CHECK "$ns" eth0 "$ID1"
	check_err $? "CHECK with 0.3.1"
	expect_code 7 cni CHECK "$ns" eth0 "$ID1"
	check_err $? "CHECK without prevResult"
	ip -n "$C1" -4 addr flush dev eth0
	CONF_EXTRA=",\"prevResult\":$res" cni CHECK "$ns" eth0 "$ID1"
	[[ $? == 1 && $(cni_code) == 999 && $CNI_OUT == *lacks* ]]
	check_err $? "CHECK after the address was removed must fail: $CNI_OUT"

	CONF_EXTRA=",\"prevResult\":$res" cni DEL "$ns" eth0 "$ID1"
	check_err $? "DEL failed: $CNI_OUT"
	[[ -z $CNI_OUT ]]
	check_err $? "DEL printed something: $CNI_OUT"
	cni DEL "$ns" eth0 "$ID1"
	check_err $? "second DEL failed: $CNI_OUT"
	cni DEL "" eth0 "$ID1"
	check_err $? "DEL without CNI_NETNS failed: $CNI_OUT"
	CONF_EXTRA=",\"prevResult\":$res" cni CHECK "$ns" eth0 "$ID1"
	[[ $? == 1 && $CNI_OUT == *"no endpoint"* ]]
	check_err $? "CHECK after DEL must fail: $CNI_OUT"
	[[ $(ovnctl_on h1 --json endpoint ls --network "$NET" | jq length) == 0 ]]
	check_err $? "endpoint left after DEL"
	! ip -n "$C1" link show eth0 &>/dev/null
	check_err $? "eth0 left in the namespace after DEL"

	# 0.4.0: ips carry "version"; a static IP and MAC through CNI_ARGS
	CONF_VERSION=0.4.0 CNI_ARGS_X="IgnoreUnknown=1;IP=198.19.7.77;MAC=02:00:00:00:07:77" \
		cni ADD "$ns" eth1 "$ID1"
	check_err $? "0.4.0 ADD failed: $CNI_OUT"
	jq -e '.cniVersion == "0.4.0" and .ips[0].version == "4" and
		.ips[0].address == "198.19.7.77/24" and .interfaces[1].mac == "02:00:00:00:07:77"' \
		<<<"$CNI_OUT" >/dev/null
	check_err $? "0.4.0 result: $CNI_OUT"
	CONF_VERSION=0.4.0 cni DEL "$ns" eth1 "$ID1"
	check_err $? "DEL eth1 failed: $CNI_OUT"
	leak_check "${HOST_NS[1]}" >/dev/null
	check_err $? "ovn links left in h1: $(leak_check "${HOST_NS[1]}")"
	log_test "direct: ADD result, CHECK good/bad, DEL twice and without netns, 0.4.0 form"
}

# ---------------------------------------------------------------------------
# Podman

ip_of()
{
	pm "$1" inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" "$2"
}

test_podman_ping()
{
	local i ip1 ip2

	podman_required "podman: containers on two hosts ping each other" || return 0
	RET=0
	pm 1 run -d --name a1 --network "$NET" --network-alias alias1 \
		localhost/bb:latest sleep 600 >/dev/null
	check_err $? "podman run on host 1 failed"
	# a static address and MAC (podman sends them in CNI_ARGS)
	pm 2 run -d --name a2 --network "$NET" --ip 198.19.7.50 --mac-address 02:00:c6:13:07:32 \
		localhost/bb:latest sleep 600 >/dev/null
	check_err $? "podman run on host 2 failed"
	ip1=$(ip_of 1 a1)
	ip2=$(ip_of 2 a2)
	[[ $ip1 == 198.19.7.* && $ip2 == 198.19.7.50 ]]
	check_err $? "podman inspect addresses: '$ip1' '$ip2'"
	pm 2 exec a2 ip link show eth0 | grep -q "02:00:c6:13:07:32"
	check_err $? "a2's eth0 does not have the MAC asked for"
	pm 1 exec a1 ping -c 1 -W 2 "$ip2" >/dev/null
	check_err $? "a1 cannot ping a2 ($ip2)"
	pm 2 exec a2 ping -c 1 -W 2 "$ip1" >/dev/null
	check_err $? "a2 cannot ping a1 ($ip1)"
	mapfile -t PODMAN_NETNS < <(ovnctl_on h1 --json endpoint ls --network "$NET" |
		jq -r '.[].netns')
	[[ ${#PODMAN_NETNS[@]} == 2 ]]
	check_err $? "the agents do not list 2 endpoints"
	log_test "podman: containers on two hosts ping each other by address (one with --ip/--mac-address)"
}

test_podman_dns()
{
	local rc

	podman_required "podman: names through the agent's DNS" || return 0
	RET=0
	pm 1 exec a1 cat /etc/resolv.conf | grep -qx "nameserver 127.0.0.11"
	check_err $? "a1's resolv.conf lacks the agent: $(pm 1 exec a1 cat /etc/resolv.conf)"
	busywait 5000 pm 1 exec a1 ping -c 1 -W 2 a2 >/dev/null
	check_err $? "a1 cannot ping a2 by name"
	pm 2 exec a2 ping -c 1 -W 2 a1.$NET >/dev/null
	check_err $? "a2 cannot ping a1.$NET"
	pm 2 exec a2 ping -c 1 -W 2 alias1 >/dev/null
	check_err $? "a2 cannot ping a1 by its network alias"
	pm 2 exec a2 cat /etc/resolv.conf | grep -qx "search $NET"
	check_err $? "a2's resolv.conf lacks 'search $NET'"
	pm 1 exec a1 nslookup a2 127.0.0.11 2>&1 | grep -q "$(ip_of 2 a2)"
	rc=$?
	check_err $rc "nslookup a2 in a1 does not answer a2's address"
	log_test "podman: names across hosts through the agent's DNS (name, name.net, alias)"
}

# endpoints_of I: number of endpoints host I's agent owns on NET.
endpoints_of()
{
	ovnctl_on "h$1" --json endpoint ls --network "$NET" | jq --arg n "h$1" \
		'[.[] | select(.node == $n)] | length'
}

test_podman_disconnect()
{
	podman_required "podman: disconnect, stop, rm leave nothing" || return 0
	RET=0
	pm 1 network disconnect "$NET" a1
	check_err $? "network disconnect failed"
	[[ $(endpoints_of 1) == 0 ]]
	check_err $? "endpoint of a1 left after disconnect"
	leak_check "${HOST_NS[1]}" >/dev/null
	check_err $? "links left in h1 after disconnect: $(leak_check "${HOST_NS[1]}")"
	pm 1 network connect "$NET" a1
	check_err $? "network connect failed"
	[[ $(endpoints_of 1) == 1 ]]
	check_err $? "no endpoint after connect"
	pm 1 stop -t 0 a1 >/dev/null
	check_err $? "podman stop failed"
	[[ $(endpoints_of 1) == 0 ]]
	check_err $? "endpoint left after stop"
	pm 1 start a1 >/dev/null
	check_err $? "podman start failed"
	[[ $(endpoints_of 1) == 1 ]]
	check_err $? "no endpoint after start"
	pm 1 rm -f -t 0 a1 >/dev/null
	check_err $? "podman rm failed"
	pm 2 rm -f -t 0 a2 >/dev/null
	check_err $? "podman rm on host 2 failed"
	[[ $(endpoints_of 1) == 0 && $(endpoints_of 2) == 0 ]]
	check_err $? "endpoints left after rm"
	leak_check "${HOST_NS[1]}" >/dev/null && leak_check "${HOST_NS[2]}" >/dev/null
	check_err $? "ovn links left after rm"
	log_test "podman: disconnect/connect, stop/start, rm leave no endpoint or link"
}

test_podman_bad_conf()
{
	local out

	podman_required "podman: a bad conf gives the CNI error" || return 0
	RET=0
	conflist 1 "$T/p1/net.d/ghost.conflist" ghost nosuchnet
	out=$(pm 1 run --rm --network ghost localhost/bb:latest true 2>&1)
	[[ $? != 0 && $out == *"network nosuchnet does not exist in ovn"* ]]
	check_err $? "podman run on a missing ovn network: $out"
	[[ -z $(pm 1 ps -aq) ]]
	check_err $? "a container was left"
	rm -f "$T/p1/net.d/ghost.conflist"
	log_test "podman: a conf naming a missing ovn network fails with the plugin's message"
}

test_podman_teardown()
{
	local i f

	podman_required "podman: teardown leaves nothing" || return 0
	RET=0
	for i in 1 2; do
		pm "$i" run --rm --network "$NET" localhost/bb:latest true
		check_err $? "run --rm on host $i failed"
		podman_host_teardown "$i"
		[[ $(endpoints_of "$i") == 0 ]]
		check_err $? "endpoints left on host $i"
		leak_check "${HOST_NS[i]}" >/dev/null
		check_err $? "links left on host $i"
		! grep -q "$T/p$i/" /proc/self/mountinfo
		check_err $? "mounts left under $T/p$i"
	done
	for f in "${PODMAN_NETNS[@]}"; do
		[[ ! -e $f && ! -e /etc/netns/${f##*/} ]]
		check_err $? "podman's namespace $f (or the agent's /etc/netns file for it) is left"
	done
	log_test "podman: run --rm, system reset: no endpoint, link or mount left"
}

cleanup()
{
	lib_cleanup
}

trap cleanup EXIT
require_root
require_command jq
cluster_start 2 redis || exit
ovnctl_on h1 network create "$NET" --subnet 198.19.7.0/24 --subnet fd00:7::/64 >/dev/null ||
	exit 1
container_create C1 || exit 1
podman_setup || exit 1
if [[ $PODMAN_OK != yes ]]; then
	echo "############################################################" >&2
	echo "# SKIP: $PODMAN_WHY" >&2
	echo "# the podman tests below count as skipped, not passed" >&2
	echo "############################################################" >&2
fi
tests_run
tests_summary
