#!/usr/bin/env bash
# Metrics over TCP (metrics.listen): a Prometheus scrape from another
# namespace, nothing of the API reachable there, bounded connections, IPv6,
# bad addresses refused.
#
#   H (ovnagent "m1"; metrics on 198.18.0.1:9464, later [fd00:18::1]:9465)
#   +-- ul0 198.18.0.1/24 fd00:18::1/64 mtu 1400 ---- ul1 in MON
#   +-- br-<vni> 198.19.7.1/24 -- ve-... <-> C1:eth0, C2:eth0
#   MON (the "Prometheus" side: curl, bash /dev/tcp)
#   +-- ul1 198.18.0.2/24 fd00:18::2/64
#
# ovnctl runs in the root namespace against the agent's socket file.

# shellcheck disable=SC2034
ALL_TESTS="test_off_by_default test_scrape test_only_metrics test_bounded test_ipv6
	test_bad_listen"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

A=m1
ADDR4=198.18.0.1:9464
ADDR6="[fd00:18::1]:9465"

ctl() { ovnctl_on "$A" "$@"; }
# mcurl ARGS...: curl from the monitoring namespace, 3 s at most.
mcurl() { ip netns exec "$MON" curl -sS -m 3 "$@"; }
sock_metrics() { curl -s --unix-socket "$(agent_sock "$A")" http://ovn/metrics; }
# listening PORT: whether anything in H listens on TCP PORT.
listening() { ip netns exec "$H" ss -Hltn "sport = :$1" | grep -q .; }

start_with()	# start_with ADDR|"": (re)start the agent with metrics.listen ADDR
{
	agent_stop "$A"
	if [[ -n $1 ]]; then
		agent_start "$H" "$A" "metrics:" "  listen: \"$1\""
	else
		agent_start "$H" "$A"
	fi
}

test_off_by_default()
{
	RET=0
	start_with ""
	check_err $? "agent did not start"
	# Any TCP listener of the agent would be one of these sockets.
	! ip netns exec "$H" ss -Hltnp | grep -q "pid=$(agent_pid "$A"),"
	check_err $? "a TCP listener without metrics.listen: $(ip netns exec "$H" ss -ltnp)"
	log_test "no metrics.listen: no TCP socket at all"
}

test_scrape()
{
	local out n
	RET=0
	start_with "$ADDR4"
	check_err $? "agent with metrics.listen $ADDR4 did not start"
	grep -q "msg=\"ready\" .* metrics=$ADDR4" "$(agent_dir "$A")/agent.log"
	check_err $? "ready line does not name the metrics address"
	# the probe test_off_by_default relies on sees this listener
	ip netns exec "$H" ss -Hltnp | grep "pid=$(agent_pid "$A")," | grep -q "198.18.0.1:9464"
	check_err $? "ss does not show the agent's listener: $(ip netns exec "$H" ss -ltnp)"
	ctl network create mon --subnet 198.19.7.0/24 >/dev/null &&
		ctl network attach mon --netns "$C1" >/dev/null &&
		ctl network attach mon --netns "$C2" >/dev/null
	check_err $? "create/attach failed"
	# one local DNS answer (a bare name nothing has: NXDOMAIN, never forwarded)
	ip netns exec "$C1" dig +time=2 +tries=1 @127.0.0.11 nosuchname >/dev/null
	check_err $? "no DNS answer in $C1"
	out=$(mcurl -D "$T/h" "http://$ADDR4/metrics")
	check_err $? "scrape from MON failed"
	grep -qi '^content-type: text/plain; version=0.0.4' "$T/h"
	check_err $? "not the Prometheus text content type: $(cat "$T/h")"
	grep -q '^ovn_endpoints{scope="local"} 2$' <<<"$out"
	check_err $? "ovn_endpoints local is not 2 over TCP"
	grep -qE '^ovn_attach_total 2$' <<<"$out" && grep -q '^ovn_attach_duration_seconds_bucket' <<<"$out"
	check_err $? "attach counter or histogram missing over TCP"
	grep -qE '^ovn_dns_answer_duration_seconds_bucket\{le="0.001"\} [1-9]' <<<"$out" &&
		grep -qE '^ovn_dns_answer_duration_seconds_count [1-9]' <<<"$out"
	check_err $? "DNS answer histogram missing or empty: $(grep dns_answer <<<"$out" | head -3)"
	# the same series as on the API socket (values may move between reads)
	n=$(diff <(grep -v '^#' <<<"$out" | awk '{print $1}') \
		<(sock_metrics | grep -v '^#' | awk '{print $1}') | grep -c '^[<>]')
	[[ $n == 0 ]]
	check_err $? "TCP and socket expositions differ in $n series"
	log_test "scrape over TCP: 200, text 0.0.4, the socket's series, right counts"
}

test_only_metrics()
{
	local code
	RET=0
	for path in /v1/status /v1/networks /v1/endpoints /v1/debug/latency / /metricsx; do
		code=$(mcurl -o /dev/null -w '%{http_code}' "http://$ADDR4$path")
		[[ $code == 404 ]]
		check_err $? "GET $path answered $code, not 404"
	done
	code=$(mcurl -o /dev/null -w '%{http_code}' -X DELETE "http://$ADDR4/v1/networks/mon?force=true")
	[[ $code == 405 ]]
	check_err $? "DELETE answered $code, not 405"
	code=$(mcurl -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
		-d '{"name":"evil"}' "http://$ADDR4/v1/networks")
	[[ $code == 405 ]]
	check_err $? "POST answered $code, not 405"
	[[ $(ctl network ls --json | jq -c '[.[].name]') == '["mon"]' ]]
	check_err $? "the network set changed through the TCP port"
	code=$(mcurl -o /dev/null -w '%{http_code}' -H "X-Pad: $(printf 'a%.0s' {1..5000})" \
		"http://$ADDR4/metrics")
	[[ $code == 431 ]]
	check_err $? "a 5 KB request head answered $code, not 431"
	code=$(mcurl -o /dev/null -w '%{http_code}' "http://$ADDR4/metrics?name[]=x")
	[[ $code == 200 ]]
	check_err $? "query parameters are not ignored ($code)"
	log_test "TCP port: only GET /metrics; API paths 404, writes 405, big head 431"
}

test_bounded()
{
	local t0 t1
	RET=0
	# One bash in MON holds 16 idle connections (the limit); the builtin
	# read waits on the last one, so no child inherits the sockets.
	# shellcheck disable=SC2016  # expanded by the inner bash
	spawn_bg holder ip netns exec "$MON" bash -c '
		for i in $(seq 16); do exec {fd}<>/dev/tcp/198.18.0.1/9464 || exit 1; done
		read -r -t 30 -u "$fd"'
	busywait 3000 bash -c "[[ \$(ip netns exec $H ss -Htn state established 'sport = :9464' | wc -l) -ge 16 ]]"
	check_err $? "16 held connections were not established"
	t0=$(date +%s%N)
	mcurl -o /dev/null "http://$ADDR4/metrics" 2>/dev/null
	check_fail $? "a 17th connection was served while 16 were held"
	t1=$(date +%s%N)
	(((t1 - t0) / 1000000 < 2000))
	check_err $? "the 17th connection was not refused at once ($(((t1 - t0) / 1000000)) ms)"
	ctl status >/dev/null
	check_err $? "the API socket stopped answering while the TCP port was full"
	spawn_stop holder
	busywait 3000 mcurl -o /dev/null "http://$ADDR4/metrics"
	check_err $? "scrapes did not work again after the held connections went"
	log_test "at most 16 TCP connections; the API socket unaffected"
}

test_ipv6()
{
	local out
	RET=0
	start_with "$ADDR6"
	check_err $? "agent with metrics.listen $ADDR6 did not start"
	out=$(mcurl -g "http://$ADDR6/metrics")
	check_err $? "scrape over IPv6 failed"
	grep -q '^ovn_endpoints{scope="local"} 2$' <<<"$out"
	check_err $? "ovn_endpoints over IPv6 is not 2"
	! listening 9464
	check_err $? "the old IPv4 listener is still there"
	log_test "metrics.listen [IPv6]:PORT scraped over IPv6"
}

test_bad_listen()
{
	local bad=$T/badm.yaml v
	RET=0
	for v in 198.18.0.1 198.18.0.1:0 198.18.0.1:70000 fd00:18::1:9464 "[fd00:18::1]" host:80 \
		"198.18.0.1:9464x"; do
		printf 'metrics:\n  listen: "%s"\n' "$v" >"$bad"
		run_cmd "$OVN_BIN/ovnagent" --check-config --config "$bad"
		(($? == 1)) && grep -qF "$bad:2: metrics.listen: '$v' is not IPv4:PORT or [IPv6]:PORT" <<<"$RUN_CMD_OUT"
		check_err $? "'$v' not refused with file:line: $RUN_CMD_OUT"
	done
	# an address this host does not have: the agent says so and exits 1
	agent_stop "$A"
	agent_config_write "$H" "$A" "metrics:" "  listen: \"198.18.9.9:9464\""
	run_cmd timeout 10 ip netns exec "$H" "$OVN_BIN/ovnagent" --config "$(agent_dir "$A")/agent.yaml"
	(($? == 1)) && grep -q "metrics.listen 198.18.9.9:9464: address not available" <<<"$RUN_CMD_OUT"
	check_err $? "unbindable address: $RUN_CMD_OUT"
	# and the endpoints it had are untouched, for the next start
	start_with "$ADDR4"
	check_err $? "agent did not start again"
	[[ $(ctl endpoint ls --json | jq length) == 2 ]]
	check_err $? "endpoints changed by the failed start"
	log_test "bad metrics.listen refused (file:line), unbindable address exits 1"
}

trap cleanup EXIT
require_root
require_ovn_bin
require_command jq
require_command curl
require_command ss
setup_ns H MON C1 C2 || exit 1
ip -n "$H" link add ul0 mtu 1400 type veth peer name ul1 mtu 1400 netns "$MON"
ip -n "$H" addr add 198.18.0.1/24 dev ul0
ip -n "$H" addr add fd00:18::1/64 dev ul0 nodad
ip -n "$MON" addr add 198.18.0.2/24 dev ul1
ip -n "$MON" addr add fd00:18::2/64 dev ul1 nodad
ip -n "$H" link set ul0 up
ip -n "$MON" link set ul1 up
tests_run
RET=0
ctl network rm mon --force >/dev/null 2>&1
agent_stop "$A"
check_err $? "agent did not stop on SIGTERM within 10 s"
grep -E "Sanitizer|runtime error:" "$(agent_dir "$A")/agent.log"
check_fail $? "sanitizer reports in the agent log (ASan/UBSan build)"
log_test "agent stops cleanly, no sanitizer reports"
tests_summary
