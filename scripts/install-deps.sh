#!/usr/bin/env bash
# install-deps.sh: install the Debian 12 packages that ovn's build and tests
# need, and nothing else.
#
# Idempotent: each package is checked with dpkg-query first; `apt-get update`
# and `apt-get install` run only when something is missing, so a second run
# (and every `make check` on a prepared machine) touches no network.
# Does not: add repositories, upgrade installed packages, or install
# recommends. Not root and something missing: print the command to run and
# exit 1, since a build without these would fail later with a worse message.
#
# Why each package:
#   build-essential pkg-config       compiler, make, flags of the libraries
#   libuv1-dev libjansson-dev        event loop, JSON (agent, cli)
#   libyaml-dev libmnl-dev           config file, netlink (dataplane)
#   libcmocka-dev                    unit tests
#   iproute2 iputils-ping procps     netns tests: ip/bridge, ping, sysctl
#   util-linux                       nsenter (dockerd/podman scenarios)
#   tcpdump                          netns tests that prove where packets go
#   libhiredis-dev libcurl4-openssl-dev  redis and etcd/consul store backends
#   redis-server etcd-server etcd-client real servers for the store tests
#   libsodium-dev                    gossip encryption (AEAD)
#   dnsutils dnsmasq-base            DNS tests: dig, a real upstream resolver
#   clang libclang-rt-14-dev         libFuzzer targets (make fuzz)
#   openssl                          store TLS test: a CA and certificates
#   man-db mandoc                    man pages: render (man) and lint (make man)
#   jq curl socat                    netns tests: read JSON answers, raw HTTP
#                                    on the API socket, malformed requests;
#                                    socat is also the egress tests' server
#   libnftables-dev                  egress NAT, isolation, published ports
#   nftables                         netns tests: list the agent's table (nft -j),
#                                    cut one host off the store
#   iptables                         test_chaos.sh: random loss (statistic match)
#   podman containernetworking-plugins  test_podman.sh: real Podman 4.3 with its
#                                    CNI backend (no netavark is pulled in)
#   busybox-static                   the image of the podman test's containers
#   docker.io                        Docker plugin test: two real dockerd hosts
#   gnuplot-nox dnsperf              make bench: plots (bench/report.sh), the
#                                    DNS load generator (bench/dns)
#   libseccomp-dev libcap-dev        the agent's lockdown: syscall allow-list,
#                                    dropping capabilities (agent/security.c)
#   valgrind                         make check-valgrind
# With --vm also (make check-vm only, never the README's two commands):
#   qemu-system-x86 linux-image-amd64  test_encrypt.sh in a guest with Debian's
#                                    kernel (ESP + GCM modules) when the host's
#                                    kernel lacks them (tests/vm/run.sh)

DEPS_PACKAGES="build-essential pkg-config libuv1-dev libjansson-dev libyaml-dev
libmnl-dev libcmocka-dev iproute2 iputils-ping procps util-linux tcpdump
jq curl socat libhiredis-dev libcurl4-openssl-dev redis-server etcd-server
etcd-client libsodium-dev dnsutils dnsmasq-base clang libclang-rt-14-dev
man-db mandoc openssl libnftables-dev nftables iptables podman containernetworking-plugins
busybox-static docker.io gnuplot-nox dnsperf libseccomp-dev libcap-dev valgrind"
VM_PACKAGES="qemu-system-x86 linux-image-amd64"

set -euo pipefail

# is_installed PKG: dpkg's "ii" state means unpacked and configured; any other
# state (half-installed, config-files only, unknown) needs apt-get.
is_installed()
{
	local status

	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null) || return 1
	[[ $status == ii* ]]
}

main()
{
	local pkg
	local -a missing=()

	if ! command -v dpkg-query >/dev/null; then
		echo "install-deps: dpkg-query not found; this script is for Debian 12" >&2
		exit 1
	fi

	[[ ${1:-} == --vm ]] && DEPS_PACKAGES+=" $VM_PACKAGES"
	for pkg in $DEPS_PACKAGES; do
		is_installed "$pkg" || missing+=("$pkg")
	done

	if ((${#missing[@]} == 0)); then
		echo "install-deps: all packages present"
		exit 0
	fi

	if ((EUID != 0)); then
		echo "install-deps: missing packages: ${missing[*]}" >&2
		echo "install-deps: run as root: apt-get install --no-install-recommends ${missing[*]}" >&2
		exit 1
	fi

	echo "install-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
}

main "$@"
