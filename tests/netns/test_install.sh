#!/usr/bin/env bash
# Installation: `make install` / `make uninstall` into a scratch DESTDIR, and
# what they install: binaries, man pages, systemd unit, bash completion.
#
#   $T/root    make install DESTDIR=$T/root PREFIX=/usr   (the packaging case)
#   $T/local   make install DESTDIR=$T/local              (PREFIX=/usr/local)
#   $T/user    a DESTDIR whose etc/ovn/agent.yaml exists before install
#
#   H (namespace; ovnagent "a1" runs here, for network-name completion)
#     ul0 (veth to ul1, both in H) 198.18.0.1/24: the address the agent advertises
#   C1 (namespace; attached to network "red", for endpoint-id completion)
#
# Only the completion-against-an-agent check needs root (namespaces); as
# non-root it is skipped and the rest runs. The binaries installed are the
# ones in OVN_BIN (make -o: install never rebuilds them here).

ALL_TESTS="test_install_files test_install_local test_binaries test_man test_unit
	test_unit_propagation test_completion test_completion_agent test_user_config test_uninstall"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

REPO=$(readlink -f "$(dirname "$(readlink -f "$0")")/../..")
ROOT=""		# $T/root, the PREFIX=/usr install
A=a1

# Relative to DESTDIR, for PREFIX=/usr.
EXPECTED_USR="etc/ovn/agent.yaml
etc/ovn/agent.yaml.example
lib/systemd/system/ovnagent.service
usr/bin/ovnagent
usr/bin/ovnctl
usr/lib/cni/ovn-cni
usr/share/bash-completion/completions/ovnctl
usr/share/man/man5/ovn-agent.yaml.5
usr/share/man/man8/ovnagent.8
usr/share/man/man8/ovnctl.8"

EXPECTED_LOCAL="etc/ovn/agent.yaml
etc/ovn/agent.yaml.example
usr/local/bin/ovnagent
usr/local/bin/ovnctl
usr/local/lib/cni/ovn-cni
usr/local/lib/systemd/system/ovnagent.service
usr/local/share/bash-completion/completions/ovnctl
usr/local/share/man/man5/ovn-agent.yaml.5
usr/local/share/man/man8/ovnagent.8
usr/local/share/man/man8/ovnctl.8"

# ovn_make TARGET VAR=VALUE...: make in the repository with the BUILD that
# holds OVN_BIN, never remaking the binaries. Until the Makefile includes
# mk/install.mk, it is added with -f.
ovn_make()
{
	local build
	local -a files=()

	build=$(dirname "$OVN_BIN")
	grep -q 'mk/install.mk' "$REPO/Makefile" || files=(-f Makefile -f mk/install.mk)
	make --no-print-directory -C "$REPO" "${files[@]}" \
		-o "$build/bin/ovnagent" -o "$build/bin/ovnctl" -o "$build/bin/ovn-cni" BUILD="$build" "$@"
}

# files_under DIR: the files and links under DIR, relative, sorted.
files_under()
{
	(cd "$1" && find . \( -type f -o -type l \) -printf '%P\n' | LC_ALL=C sort)
}

# complete_line WORD...: the candidates of _ovnctl for that command line (the
# last word is the one being completed), one per line, sorted. Runs in a
# fresh bash that sources the installed completion file; COMP_PATH, when
# set, is its PATH while completing.
complete_line()
{
	COMPLETION_FILE=$ROOT/usr/share/bash-completion/completions/ovnctl \
		bash -c 'source "$COMPLETION_FILE" || exit 1
			[[ -n ${COMP_PATH:-} ]] && PATH=$COMP_PATH
			COMP_WORDS=("$@")
			COMP_CWORD=$(($# - 1))
			COMPREPLY=()
			_ovnctl || exit 1
			((${#COMPREPLY[@]} == 0)) || printf "%s\n" "${COMPREPLY[@]}"' _ "$@" |
		LC_ALL=C sort
}

# expect_completion "EXPECTED (space-separated)" WORD...: check_err on mismatch.
expect_completion()
{
	local expected=$1 got

	shift
	got=$(complete_line "$@" | tr '\n' ' ')
	got=${got% }
	[[ $got == "$expected" ]]
	check_err $? "completing '$*': got '$got', expected '$expected'"
}

test_install_files()
{
	local got mode

	RET=0
	run_cmd ovn_make install DESTDIR="$ROOT" PREFIX=/usr
	check_err $? "make install failed: $RUN_CMD_OUT"
	got=$(files_under "$ROOT")
	[[ $got == "$EXPECTED_USR" ]]
	check_err $? "installed files differ: $(diff <(echo "$EXPECTED_USR") <(echo "$got") | tr '\n' ' ')"
	for f in usr/bin/ovnagent usr/bin/ovnctl; do
		mode=$(stat -c %a "$ROOT/$f" 2>/dev/null)
		[[ $mode == 755 ]]
		check_err $? "$f has mode '$mode', not 755"
	done
	cmp -s "$ROOT/etc/ovn/agent.yaml" "$REPO/etc/agent.yaml.example"
	check_err $? "agent.yaml is not the example"
	grep -qx 'ExecStart=/usr/bin/ovnagent --config /etc/ovn/agent.yaml' \
		"$ROOT/lib/systemd/system/ovnagent.service"
	check_err $? "unit's ExecStart does not name /usr/bin/ovnagent"
	! grep -v '^#' "$ROOT/lib/systemd/system/ovnagent.service" | grep -q /usr/local
	check_err $? "unit still names /usr/local"
	log_test "make install PREFIX=/usr installs the 9 expected files"
}

test_install_local()
{
	local dest=$T/local got

	RET=0
	run_cmd ovn_make install DESTDIR="$dest"
	check_err $? "make install failed: $RUN_CMD_OUT"
	got=$(files_under "$dest")
	[[ $got == "$EXPECTED_LOCAL" ]]
	check_err $? "installed files differ: $(diff <(echo "$EXPECTED_LOCAL") <(echo "$got") | tr '\n' ' ')"
	grep -qx 'ExecStart=/usr/local/bin/ovnagent --config /etc/ovn/agent.yaml' \
		"$dest/usr/local/lib/systemd/system/ovnagent.service"
	check_err $? "unit's ExecStart does not name /usr/local/bin/ovnagent"
	run_cmd ovn_make uninstall DESTDIR="$dest"
	check_err $? "make uninstall failed: $RUN_CMD_OUT"
	got=$(files_under "$dest")
	[[ -z $got ]]
	check_err $? "left behind: $got"
	log_test "default PREFIX=/usr/local: install and uninstall"
}

test_binaries()
{
	RET=0
	run_cmd "$ROOT/usr/bin/ovnagent" --version
	check_err $? "ovnagent --version: $RUN_CMD_OUT"
	[[ $RUN_CMD_OUT == "ovnagent "[0-9]* ]]
	check_err $? "ovnagent --version printed '$RUN_CMD_OUT'"
	run_cmd "$ROOT/usr/bin/ovnctl" --version
	check_err $? "ovnctl --version: $RUN_CMD_OUT"
	[[ $RUN_CMD_OUT == "ovnctl "[0-9]* ]]
	check_err $? "ovnctl --version printed '$RUN_CMD_OUT'"
	run_cmd "$ROOT/usr/bin/ovnagent" --config "$ROOT/etc/ovn/agent.yaml" --check-config
	check_err $? "installed agent.yaml refused: $RUN_CMD_OUT"
	log_test "installed binaries run; installed agent.yaml passes --check-config"
}

test_man()
{
	local page name sec out

	RET=0
	for page in man8/ovnagent.8 man8/ovnctl.8 man5/ovn-agent.yaml.5; do
		name=$(basename "$page")
		sec=${name##*.}
		name=${name%.*}
		out=$(MANWIDTH=80 man --warnings -l "$ROOT/usr/share/man/$page" 2>&1 >/dev/null)
		[[ -z $out ]]
		check_err $? "man -l $page warns: $out"
		out=$(MANWIDTH=80 man -l "$ROOT/usr/share/man/$page" 2>/dev/null)
		grep -q '^NAME' <<<"$out" && grep -qF -- "$name - " <<<"$out"
		check_err $? "man -l $page: no NAME section for $name"
		# man finds it by name and section under the installed MANDIR.
		out=$(MANPATH=$ROOT/usr/share/man man -w "$sec" "$name" 2>&1)
		[[ $out == "$ROOT/usr/share/man/$page" ]]
		check_err $? "man -w $sec $name found '$out'"
	done
	log_test "man pages render without warnings and are found by name"

	RET=0
	if ! command -v mandoc >/dev/null; then
		log_test_skip "mandoc -T lint" "mandoc is not installed (apt-get install mandoc)"
		return
	fi
	run_cmd mandoc -T lint -W warning "$ROOT"/usr/share/man/man*/*
	check_err $? "mandoc lint: $RUN_CMD_OUT"
	log_test "man pages pass mandoc -T lint"
}

# systemd-analyze verify checks that ExecStart's binary exists and that the
# Documentation= man pages are found, so the unit is verified as a copy whose
# paths point into DESTDIR, with MANPATH on the installed pages.
test_unit()
{
	local unit=$ROOT/lib/systemd/system/ovnagent.service check=$T/verify

	RET=0
	if ! command -v systemd-analyze >/dev/null; then
		echo "WARNING: systemd-analyze is not installed: the unit is NOT verified"
		log_test_skip "systemd-analyze verify ovnagent.service" "no systemd-analyze here"
		return
	fi
	mkdir -p "$check"
	sed "s|/usr/bin/ovnagent|$ROOT/usr/bin/ovnagent|g" "$unit" >"$check/ovnagent.service"
	run_cmd env MANPATH="$ROOT/usr/share/man" systemd-analyze verify "$check/ovnagent.service"
	check_err $? "systemd-analyze verify: $RUN_CMD_OUT"
	[[ -z $RUN_CMD_OUT ]]
	check_err $? "systemd-analyze verify warns: $RUN_CMD_OUT"
	# shellcheck disable=SC2016 # $MAINPID is systemd's, not ours
	grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$unit"
	check_err $? "unit does not reload with SIGHUP"
	! grep -qE '^(PrivateNetwork|PrivateMounts)=yes|^MountFlags=private' "$unit"
	check_err $? "unit hides new namespaces from the agent"
	log_test "systemd unit passes systemd-analyze verify"
}

_mntns_differs()
{
	[[ $(readlink "/proc/$1/ns/mnt") != "$(readlink /proc/self/ns/mnt)" ]]
}

# The unit's sandbox gives the agent a mount namespace that is a slave of
# the host's (ProtectSystem=, PrivateTmp=). A namespace added under
# /run/netns after that must still be visible and enterable in it; this is
# what the unit's comment relies on. Emulated with unshare, plus a read-only
# remount as ProtectSystem=strict makes. (That /run/netns itself appears
# when it did not exist at the service's start depends on systemd's shared
# /, which is not testable without systemd as PID 1.)
test_unit_propagation()
{
	local pid late=""

	RET=0
	if ((EUID != 0)); then
		log_test_skip "netns added later is visible in a slave mount namespace" "needs root"
		return
	fi
	if ! command -v unshare >/dev/null || ! command -v nsenter >/dev/null; then
		log_test_skip "netns added later is visible in a slave mount namespace" \
			"needs unshare and nsenter (util-linux)"
		return
	fi
	setup_ns EARLY || check_err 1 "namespace"
	spawn_bg mntns unshare -m --propagation slave \
		sh -c 'mount -o remount,bind,ro / 2>/dev/null; exec sleep 60' &&
		pid=$SPAWN_PID
	busywait 2000 _mntns_differs "$pid"
	check_err $? "unshare did not start"
	if ((RET == 0)); then
		ns_create late late
		check_err $? "namespace"
		nsenter -m -t "$pid" test -e "/run/netns/$late"
		check_err $? "/run/netns/$late is not visible in the slave mount namespace"
		nsenter -m -t "$pid" nsenter --net="/run/netns/$late" true
		check_err $? "/run/netns/$late cannot be entered from the slave mount namespace"
	fi
	spawn_stop mntns
	cleanup_ns "$late" "$EARLY"
	log_test "netns added later is visible in a slave mount namespace"
}

test_completion()
{
	local ns=$T/none.sock

	RET=0
	expect_completion "endpoint keys members network status" ovnctl ""
	expect_completion "generate install list remove use" ovnctl keys ""
	expect_completion "--help --json" ovnctl members --
	expect_completion "network" ovnctl ne
	expect_completion "--socket" ovnctl --s
	expect_completion "--help --json --socket --version" ovnctl --
	expect_completion "attach create detach inspect ls rm" ovnctl network ""
	expect_completion "ls" ovnctl endpoint ""
	expect_completion "--alias --help --ifname --ip --ip6 --json --mac --name --netns --pid --publish" \
		ovnctl network attach web --
	# Single-use options and the ones they conflict with are not offered.
	expect_completion "--alias --help --ifname --ip --ip6 --json --mac --name --publish" \
		ovnctl network attach web --netns c1 --
	expect_completion "--help --json" ovnctl network detach web --pid 1 --
	expect_completion "--subnet" ovnctl network create x --subnet 198.19.1.0/24 --sub
	expect_completion "--force" ovnctl network rm x --f
	expect_completion "--help --json --network" ovnctl endpoint ls --
	expect_completion "" ovnctl bogus ""
	# No agent on the socket: nothing, quickly, and no error.
	expect_completion "" ovnctl --socket "$ns" network inspect ""
	log_test "completion: commands, subcommands, options"

	RET=0
	mkdir -p "$T/socks" && : >"$T/socks/agent.sock"
	expect_completion "$T/socks/agent.sock" ovnctl --socket "$T/socks/a"
	expect_completion "$T/socks/agent.sock" ovnctl --socket = "$T/socks/a"
	expect_completion "--socket=$T/socks/agent.sock" ovnctl "--socket=$T/socks/a"
	log_test "completion: --socket file names, --opt=value forms"
}

test_completion_agent()
{
	local sock ep nojq=$T/nojq t

	RET=0
	if ((EUID != 0)); then
		log_test_skip "completion: network names and endpoint ids from an agent" \
			"needs root (namespaces)"
		return
	fi
	# The agent needs an underlay address to advertise (its VTEP): a veth
	# pair inside H carries it (this kernel has no dummy driver).
	setup_ns H C1 &&
		ip -n "$H" link add ul0 type veth peer name ul1 &&
		ip -n "$H" addr add 198.18.0.1/24 dev ul0 &&
		ip -n "$H" link set ul1 up &&
		ip -n "$H" link set ul0 up
	check_err $? "namespaces and underlay"
	((RET == 0)) && agent_start "$H" "$A"
	check_err $? "agent did not start"
	if ((RET != 0)); then
		log_test "completion: network names, endpoint ids, netns from an agent"
		return
	fi
	sock=$(agent_sock "$A")
	ovnctl_on "$A" network create red --subnet 198.19.7.0/24 >/dev/null &&
		ovnctl_on "$A" network create blue --subnet 198.19.8.0/24 >/dev/null &&
		ovnctl_on "$A" network create rose --subnet 198.19.9.0/24 >/dev/null
	check_err $? "network create failed"
	ovnctl_on "$A" network attach red --netns "$C1" >/dev/null
	check_err $? "attach C1 failed"
	ep=$(ovnctl_on "$A" --json endpoint ls --network red | jq -r '.[0].id')

	# ovnctl as the line names it: the installed one, on the line's socket.
	t=$ROOT/usr/bin/ovnctl
	expect_completion "blue red rose" "$t" --socket "$sock" network inspect ""
	expect_completion "red rose" "$t" --socket "$sock" network rm r
	expect_completion "blue red rose" "$t" "--socket=$sock" endpoint ls --network ""
	expect_completion "red rose" "$t" --socket = "$sock" endpoint ls --network = r
	expect_completion "$ep" "$t" --socket "$sock" network detach red --endpoint ""
	expect_completion "" "$t" --socket "$sock" network detach blue --endpoint ""
	expect_completion "" "$t" --socket "$sock" network create ""
	OVN_SOCKET=$sock expect_completion "blue" "$t" network attach b
	expect_completion "$C1" "$t" network attach red --netns "${C1:0:-2}"
	log_test "completion: network names, endpoint ids, netns from an agent"

	# The same without jq: ovnctl's indented JSON read by indentation.
	RET=0
	mkdir -p "$nojq"
	for t in sed timeout ip; do
		ln -sf "$(command -v "$t")" "$nojq/$t"
	done
	t=$ROOT/usr/bin/ovnctl
	COMP_PATH=$nojq expect_completion "blue red rose" "$t" --socket "$sock" network inspect ""
	COMP_PATH=$nojq expect_completion "$ep" "$t" --socket "$sock" network detach red --endpoint ""
	log_test "completion without jq"
}

test_user_config()
{
	local dest=$T/user edit=$T/edit got

	RET=0
	mkdir -p "$dest/etc/ovn"
	printf 'log:\n  level: debug\n' >"$dest/etc/ovn/agent.yaml"
	run_cmd ovn_make install DESTDIR="$dest" PREFIX=/usr
	check_err $? "make install failed: $RUN_CMD_OUT"
	[[ $(cat "$dest/etc/ovn/agent.yaml") == $'log:\n  level: debug' ]]
	check_err $? "install overwrote the user's agent.yaml"
	run_cmd ovn_make uninstall DESTDIR="$dest" PREFIX=/usr
	check_err $? "make uninstall failed: $RUN_CMD_OUT"
	got=$(files_under "$dest")
	[[ $got == etc/ovn/agent.yaml ]]
	check_err $? "after uninstall, expected only the user's agent.yaml, got: $got"

	# One that install made, then edited, is kept by uninstall too.
	run_cmd ovn_make install DESTDIR="$edit"
	check_err $? "make install failed: $RUN_CMD_OUT"
	echo "mtu: 1400" >>"$edit/etc/ovn/agent.yaml"
	run_cmd ovn_make uninstall DESTDIR="$edit"
	check_err $? "make uninstall failed: $RUN_CMD_OUT"
	got=$(files_under "$edit")
	[[ $got == etc/ovn/agent.yaml ]]
	check_err $? "after uninstall, expected only the edited agent.yaml, got: $got"
	log_test "a user's agent.yaml is neither overwritten nor removed"
}

test_uninstall()
{
	local got

	RET=0
	# agent.yaml as install made it (unchanged) goes too.
	run_cmd ovn_make uninstall DESTDIR="$ROOT" PREFIX=/usr
	check_err $? "make uninstall failed: $RUN_CMD_OUT"
	got=$(files_under "$ROOT")
	[[ -z $got ]]
	check_err $? "left behind: $got"
	[[ ! -e $ROOT/etc/ovn ]]
	check_err $? "etc/ovn was not removed"
	run_cmd ovn_make uninstall DESTDIR="$ROOT" PREFIX=/usr
	check_err $? "a second uninstall failed: $RUN_CMD_OUT"
	log_test "make uninstall leaves no file behind"
}

trap cleanup EXIT
require_ovn_bin
require_command make
require_command man
require_command jq
tmpdir_setup || exit 1
ROOT=$T/root
tests_run
tests_summary
