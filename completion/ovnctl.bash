# ovnctl.bash: bash completion for ovnctl(8).
#
# Completes commands and subcommands, the options of each command (single-use
# options already on the line, and ones that conflict with those, are not
# offered again), and values: network names and endpoint ids asked from the
# agent (`ovnctl --json network ls` / `endpoint ls`, on the --socket given on
# the line, else $OVN_SOCKET or the default), namespace names from
# `ip netns list`, PIDs, and file names for --socket and --netns paths.
#
# It does not need the bash-completion package (it only reads COMP_WORDS and
# COMP_CWORD), nor jq (without it the agent's JSON, indented two spaces per
# level by ovnctl, is read by indentation). "--opt=value" works whether or not
# '=' splits words (COMP_WORDBREAKS).
#
# Installed as <prefix>/share/bash-completion/completions/ovnctl; to try it
# from the source tree: source completion/ovnctl.bash
#
# Keep the option lists in step with the option tables in cli/*.c.

# Options per context; "+" marks the repeatable ones, "=" those taking a value.
_ovnctl_opts_top="--socket= --json --help --version"
_ovnctl_opts_status="--json --help"
_ovnctl_opts_network_create="--subnet=+ --gateway=+ --vni= --mtu= --internal --encrypted --ipv6 --label=+ --json --help"
_ovnctl_opts_network_ls="--json --help"
_ovnctl_opts_network_inspect="--help"
_ovnctl_opts_network_rm="--force --json --help"
_ovnctl_opts_network_attach="--netns= --pid= --name= --alias=+ --ip= --ip6= --ifname= --mac= --publish=+ --json --help"
_ovnctl_opts_network_detach="--netns= --pid= --endpoint= --json --help"
_ovnctl_opts_endpoint_ls="--network= --json --help"
_ovnctl_opts_members="--json --help"
_ovnctl_opts_keys_list="--json --help"
_ovnctl_opts_keys_install="--json --help"
_ovnctl_opts_keys_use="--json --help"
_ovnctl_opts_keys_remove="--json --help"
_ovnctl_opts_keys_generate="--help"

# _ovnctl_takes_value CONTEXT OPT: OPT takes a value in CONTEXT.
_ovnctl_takes_value()
{
	local spec=_ovnctl_opts_$1 o

	for o in ${!spec}; do
		o=${o%+}
		[[ $o == "$2=" ]] && return 0
	done
	return 1
}

# _ovnctl_json_field ARRAY_JSON FIELD: FIELD of each object of a top-level
# array, one per line.
_ovnctl_json_field()
{
	if command -v jq >/dev/null 2>&1; then
		jq -r ".[] | .$2 // empty" 2>/dev/null <<<"$1"
		return
	fi
	# ovnctl prints the array's objects at 2 spaces, their keys at 4, so
	# keys of nested objects (labels) are not matched.
	sed -n "s/^    \"$2\": \"\\([^\"\\\\]*\\)\",\\{0,1\\}\$/\\1/p" <<<"$1"
}

# _ovnctl_query CTL SOCKET ARGS...: run ovnctl, quietly, for a few seconds
# at most: a hung agent must not hang the shell.
_ovnctl_query()
{
	local ctl=$1 sock=$2
	local -a cmd=("$ctl")

	shift 2
	[[ -n $sock ]] && cmd+=(--socket "$sock")
	if command -v timeout >/dev/null 2>&1; then
		timeout 3 "${cmd[@]}" --json "$@" 2>/dev/null
	else
		"${cmd[@]}" --json "$@" 2>/dev/null
	fi
}

_ovnctl_networks()
{
	_ovnctl_json_field "$(_ovnctl_query "$1" "$2" network ls)" name
}

# _ovnctl_endpoints CTL SOCKET [NETWORK]
_ovnctl_endpoints()
{
	_ovnctl_json_field "$(_ovnctl_query "$1" "$2" endpoint ls ${3:+--network "$3"})" id
}

_ovnctl_netns_names()
{
	ip netns list 2>/dev/null | while read -r name _; do
		printf '%s\n' "$name"
	done
}

# _ovnctl_reply PREFIX CUR WORD...: COMPREPLY = the WORDs starting with CUR,
# each with PREFIX put in front (the "--opt=" bash did not split off).
_ovnctl_reply()
{
	local prefix=$1 cur=$2 w

	shift 2
	COMPREPLY=()
	for w in "$@"; do
		[[ -n $w && $w == "$cur"* ]] && COMPREPLY+=("$prefix$w")
	done
}

# _ovnctl_files PREFIX CUR: file names, for --socket and --netns paths.
_ovnctl_files()
{
	local prefix=$1 cur=$2
	local -a f

	mapfile -t f < <(compgen -f -- "$cur")
	_ovnctl_reply "$prefix" "$cur" "${f[@]}"
	if [[ -z $prefix ]] && ((${#COMPREPLY[@]})); then
		compopt -o filenames 2>/dev/null
	fi
}

# _ovnctl_values CONTEXT OPT PREFIX CUR CTL SOCKET NAME: complete OPT's value.
_ovnctl_values()
{
	local ctx=$1 opt=$2 prefix=$3 cur=$4 ctl=$5 sock=$6 name=$7
	local -a v=()

	case $opt in
	--socket)
		_ovnctl_files "$prefix" "$cur"
		return
		;;
	--netns)
		if [[ $cur == /* ]]; then
			_ovnctl_files "$prefix" "$cur"
			return
		fi
		mapfile -t v < <(_ovnctl_netns_names)
		;;
	--pid)
		v=(/proc/[0-9]*)
		v=("${v[@]#/proc/}")
		;;
	--endpoint)
		mapfile -t v < <(_ovnctl_endpoints "$ctl" "$sock" "$name")
		;;
	--network)
		mapfile -t v < <(_ovnctl_networks "$ctl" "$sock")
		;;
	esac
	_ovnctl_reply "$prefix" "$cur" "${v[@]}"
}

# _ovnctl_options CONTEXT CUR USED...: the options of CONTEXT minus the
# single-use ones in USED and the ones conflicting with them.
_ovnctl_options()
{
	local spec=_ovnctl_opts_$1 cur=$2 o name u skip
	local -a out=()

	shift 2
	for o in ${!spec}; do
		name=${o%+}
		name=${name%=}
		skip=0
		if [[ $o != *+ ]]; then
			for u in "$@"; do
				case $u in
				"$name") skip=1 ;;
				--netns | --pid | --endpoint)
					[[ $name == --netns || $name == --pid ||
						$name == --endpoint ]] && skip=1
					;;
				esac
			done
		fi
		((skip)) || out+=("$name")
	done
	_ovnctl_reply "" "$cur" "${out[@]}"
}

_ovnctl()
{
	local -a w=() used=()
	local i cur ctx="" group="" sock="" name="" ctl prefix="" opt spec
	local opts_done=0 expect=""

	# Rebuild the words up to the cursor, joining "--opt" "=" "value" that
	# bash split at '='.
	for ((i = 0; i <= COMP_CWORD; i++)); do
		if [[ ${COMP_WORDS[i]} == "=" && ${#w[@]} -gt 0 && ${w[-1]} == --* &&
			${w[-1]} != *=* ]]; then
			w[-1]+="="
			if ((i < COMP_CWORD)); then
				w[-1]+=${COMP_WORDS[i + 1]}
				((i++))
			fi
			continue
		fi
		w+=("${COMP_WORDS[i]}")
	done
	cur=${w[-1]}
	ctl=${w[0]}
	ctl=${ctl/#\~\//$HOME/}
	command -v "$ctl" >/dev/null 2>&1 || ctl=ovnctl

	# Walk the words before the cursor: global options, command, group,
	# positional NAME, options given (and whether one awaits its value).
	ctx=top
	for ((i = 1; i < ${#w[@]} - 1; i++)); do
		local word=${w[i]}

		if [[ -n $expect ]]; then
			[[ $expect == --socket ]] && sock=$word
			expect=""
			continue
		fi
		if ((!opts_done)) && [[ $word == -- ]]; then
			opts_done=1
			continue
		fi
		if ((!opts_done)) && [[ $word == -* ]]; then
			opt=${word%%=*}
			used+=("$opt")
			if [[ $word == *=* ]]; then
				[[ $opt == --socket && $ctx == top ]] && sock=${word#*=}
			elif _ovnctl_takes_value "$ctx" "$opt"; then
				expect=$opt
			fi
			continue
		fi
		case $ctx in
		top)
			case $word in
			status | members) ctx=$word ;;
			network | endpoint | keys) ctx=$word group=$word ;;
			*) return 0 ;;
			esac
			used=()
			;;
		network | endpoint | keys)
			[[ $word =~ ^[a-z]+$ ]] || return 0
			spec=_ovnctl_opts_${group}_$word
			[[ -n ${!spec:-} ]] || return 0
			ctx=${group}_$word
			used=()
			;;
		*)
			[[ -z $name ]] && name=$word
			;;
		esac
	done
	sock=${sock/#\~\//$HOME/}

	COMPREPLY=()
	# The value of an option: "--opt value" or "--opt=value".
	if [[ -n $expect ]]; then
		_ovnctl_values "$ctx" "$expect" "" "$cur" "$ctl" "$sock" "$name"
		return 0
	fi
	if ((!opts_done)) && [[ $cur == --*=* ]]; then
		opt=${cur%%=*}
		# When '=' did not split the word, replies must keep "--opt=".
		[[ ${COMP_WORDS[COMP_CWORD]} == "$opt="* ]] && prefix=$opt=
		_ovnctl_takes_value "$ctx" "$opt" &&
			_ovnctl_values "$ctx" "$opt" "$prefix" "${cur#*=}" "$ctl" "$sock" "$name"
		return 0
	fi
	if ((!opts_done)) && [[ $cur == -* ]]; then
		case $ctx in
		network | endpoint | keys) _ovnctl_reply "" "$cur" --help ;;
		*) _ovnctl_options "$ctx" "$cur" "${used[@]}" ;;
		esac
		return 0
	fi
	case $ctx in
	top)
		_ovnctl_reply "" "$cur" status network endpoint members keys
		;;
	keys)
		_ovnctl_reply "" "$cur" list install use remove generate
		;;
	network)
		_ovnctl_reply "" "$cur" create ls inspect rm attach detach
		;;
	endpoint)
		_ovnctl_reply "" "$cur" ls
		;;
	network_inspect | network_rm | network_attach | network_detach)
		if [[ -z $name ]]; then
			local -a nets
			mapfile -t nets < <(_ovnctl_networks "$ctl" "$sock")
			_ovnctl_reply "" "$cur" "${nets[@]}"
		fi
		;;
	esac
	return 0
}

complete -F _ovnctl ovnctl
