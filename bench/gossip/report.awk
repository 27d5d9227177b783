# report.awk: the report of bench/gossip/run.sh. Reads the per-repetition
# lines of both implementations ("ovn n=N rep=R key=value ..." from run.sh,
# "serf n=N rep=R key=value ..." from serf's bench.sh, "serfenc ..." from
# run.sh's idle window of serf with -encrypt), and prints
#   - a side-by-side table per N (median over repetitions; false failures
#     and suspicions summed over them), with the ratio ovn / serf,
#   - the same for the runs with loss,
#   - the issue 4 targets at the largest N, met or NOT met,
#   - "gossip.<metric>.<impl>.n<N> value" lines (metric gets _loss<P> for
#     the lossy runs), and writes them with the targets as JSON to `json`.
# Variables (-v): base_rss, base_pd (kB, gossipd --baseline), loss (%),
# maxn (largest N), json (output path), opts (gossipd options used).
# Does not: judge noise; the load1 of each repetition is in its line.

function med(arr, k,   i, j, t)
{
	for (i = 1; i <= k; i++)
		for (j = i + 1; j <= k; j++)
			if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
	return (k % 2) ? arr[(k + 1) / 2] : (arr[k / 2] + arr[k / 2 + 1]) / 2
}

# pick(run, key, part): median over the repetitions of one run (impl SUBSEP
# loss SUBSEP n) of key, or of the part-th field of an a/b/c value; "" if none.
function pick(run, key, part,   r, a, k, s, v)
{
	k = 0
	for (r = 1; r <= reps[run]; r++) {
		s = val[run, r, key]
		if (part) { split(s, a, "/"); s = a[part] }
		if (s == "" || s == "NA") continue
		v[++k] = s + 0
	}
	return k ? med(v, k) : ""
}

function total(run, key,   r, t, k)
{
	for (r = 1; r <= reps[run]; r++)
		if (val[run, r, key] != "") { t += val[run, r, key]; k++ }
	return k ? t : ""
}

# fig(name, impl, l, n, value): remember one figure for the lines and JSON.
function fig(name, impl, l, n, v)
{
	if (v == "") return
	if (l + 0) name = name "_loss" l
	key = "gossip." name "." impl ".n" n
	if (!(key in F)) order[++nf] = key
	v += 0
	F[key] = sprintf(v == int(v) ? "%d" : (v >= 1000 || v <= -1000) ? "%.0f" : \
			 (v >= 10 || v <= -10) ? "%.1f" : "%.3f", v)
}

# Figures of one run into F, under the same names for both implementations.
function collect(impl, l, n,   run, o, rss)
{
	run = impl SUBSEP l SUBSEP n
	if (!(run in reps)) return
	o = impl == "ovn"
	fig("join_p50_ms", impl, l, n, pick(run, "join_proto_ms", 1))
	fig("join_max_ms", impl, l, n, pick(run, "join_proto_ms", 2))
	fig("event_p50_ms", impl, l, n, pick(run, o ? "event_ms" : "event_proto_ms", 1))
	fig("event_p99_ms", impl, l, n, pick(run, o ? "event_ms" : "event_proto_ms", 2))
	fig("event_e2e_p50_ms", impl, l, n, pick(run, o ? "event_e2e_ms" : "event_proto_ms", 1))
	fig("event_e2e_p99_ms", impl, l, n, pick(run, o ? "event_e2e_ms" : "event_proto_ms", 2))
	fig("fail_first_ms", impl, l, n, pick(run, "fail_first_ms", 0))
	fig("fail_p50_ms", impl, l, n, pick(run, o ? "fail_ms" : "fail_proto_ms", 1))
	fig("fail_max_ms", impl, l, n, pick(run, o ? "fail_ms" : "fail_proto_ms", o ? 3 : 2))
	fig("idle_Bps_node", impl, l, n, pick(run, "idle_tx_Bps_node", 0))
	fig("idle_pps_node", impl, l, n, pick(run, "idle_tx_pps_node", 0))
	if (o) {
		rss = pick(run, "rss_kB_p50", 0)
		if (rss != "") {
			fig("rss_MiB", impl, l, n, rss / 1024)
			fig("mem_share_MiB", impl, l, n, (rss - base_rss) / 1024)
		}
		if (pick(run, "pdirty_kB_p50", 0) != "")
			fig("private_dirty_MiB", impl, l, n, pick(run, "pdirty_kB_p50", 0) / 1024)
		fig("cpu_pct", impl, l, n, pick(run, "cpu_pct_node", 0))
		fig("udp_payload_B", impl, l, n, pick(run, "udp_payload_B", 0))
	} else {
		fig("rss_MiB", impl, l, n, pick(run, "rss_MiB_p50", 0))
		if (impl == "serfenc") return
		fig("cpu_pct", impl, l, n, pick(run, "cpu_pct_agent", 0))
	}
	if (impl == "serfenc") return
	fig("false_fail", impl, l, n, total(run, "false_fail"))
	fig("suspicions", impl, l, n, total(run, "suspicions"))
	if (o) fig("died", impl, l, n, total(run, "died"))
	fig("reps", impl, l, n, reps[run])
}

function get(name, impl, l, n,   key)
{
	if (l + 0) name = name "_loss" l
	key = "gossip." name "." impl ".n" n
	return (key in F) ? F[key] : ""
}

function row(label, name, l, n,   a, b, ratio)
{
	a = get(name, "ovn", l, n)
	b = get(name, "serf", l, n)
	if (a == "" && b == "") return
	ratio = (a != "" && b != "" && b + 0 != 0) ? sprintf("%.3f", a / b) : "-"
	printf "  %-34s %12s %12s %10s\n", label, a == "" ? "NA" : a, b == "" ? "NA" : b, ratio
}

function block(l, n)
{
	if (!((("ovn" SUBSEP l SUBSEP n) in reps) || (("serf" SUBSEP l SUBSEP n) in reps)))
		return
	printf "\nN=%s%s  (reps ovn %s, serf %s)\n", n, (l + 0) ? ", " l "% loss" : "",
		get("reps", "ovn", l, n) == "" ? 0 : get("reps", "ovn", l, n),
		get("reps", "serf", l, n) == "" ? 0 : get("reps", "serf", l, n)
	printf "  %-34s %12s %12s %10s\n", "", "ovn", "serf", "ovn/serf"
	row("join, all saw it p50 (ms)", "join_p50_ms", l, n)
	row("join, all saw it max (ms)", "join_max_ms", l, n)
	row("event to all p50 (ms)", "event_p50_ms", l, n)
	row("event to all p99 (ms)", "event_p99_ms", l, n)
	row("event p99 from the command (ms)", "event_e2e_p99_ms", l, n)
	row("fail, first to see it (ms)", "fail_first_ms", l, n)
	row("fail, seen by all p50 (ms)", "fail_p50_ms", l, n)
	row("fail, seen by all max (ms)", "fail_max_ms", l, n)
	row("idle sent per node (B/s)", "idle_Bps_node", l, n)
	row("idle sent per node (pkt/s)", "idle_pps_node", l, n)
	row("idle UDP payload per packet (B)", "udp_payload_B", l, n)
	row("RSS per node (MiB)", "rss_MiB", l, n)
	row("gossip memory share (MiB)", "mem_share_MiB", l, n)
	row("private dirty (MiB)", "private_dirty_MiB", l, n)
	row("CPU per node (% of a core)", "cpu_pct", l, n)
	row("false failures (sum)", "false_fail", l, n)
	row("suspicions raised (sum)", "suspicions", l, n)
	row("nodes that died on their own (sum)", "died", l, n)
	if (get("idle_Bps_node", "serfenc", l, n) != "")
		printf "  serf with -encrypt, idle: %s B/s, %s pkt/s, RSS %s MiB per node; ovn / that: %.3f (B/s)\n",
			get("idle_Bps_node", "serfenc", l, n), get("idle_pps_node", "serfenc", l, n),
			get("rss_MiB", "serfenc", l, n),
			get("idle_Bps_node", "ovn", l, n) / get("idle_Bps_node", "serfenc", l, n)
}

# target(text, value, limit): one verdict line and its JSON entry.
function target(text, v, limit,   ok)
{
	ok = (v != "" && v + 0 <= limit + 0)
	printf "  %-50s %10s <= %-6s %s\n", text, v == "" ? "NA" : v, limit,
		v == "" ? "not measured" : ok ? "met" : "NOT met"
	tj[++nt] = sprintf("{\"target\": \"%s\", \"value\": %s, \"limit\": %s, \"met\": %s}",
		text, v == "" ? "null" : v, limit, ok ? "true" : "false")
}

{
	impl = $1
	n = ""; l = 0
	for (i = 2; i <= NF; i++) {
		split($i, kv, "=")
		if (kv[1] == "n") n = kv[2]
		if (kv[1] == "loss_pct") l = kv[2]
	}
	run = impl SUBSEP l SUBSEP n
	if (!((l SUBSEP n) in seen_nl)) { seen_nl[l SUBSEP n] = 1; nl_order[++nnl] = l SUBSEP n }
	r = ++reps[run]
	for (i = 2; i <= NF; i++) { split($i, kv, "="); val[run, r, kv[1]] = kv[2] }
}

END {
	if (nnl == 0) { print "no results"; exit 1 }
	for (i = 1; i <= nnl; i++) {
		split(nl_order[i], p, SUBSEP)
		collect("ovn", p[1], p[2])
		collect("serf", p[1], p[2])
		collect("serfenc", p[1], p[2])
	}
	printf "\n=== gossip: ovn (gossipd%s) vs serf; medians over repetitions ===\n",
		opts == "" ? ", ovn profile" : " " opts
	printf "ovn memory share = node RSS - RSS of gossipd --baseline (%d kB)\n", base_rss
	for (i = 1; i <= nnl; i++) { split(nl_order[i], p, SUBSEP); if (p[1] + 0 == 0) block(0, p[2]) }
	for (i = 1; i <= nnl; i++) { split(nl_order[i], p, SUBSEP); if (p[1] + 0) block(p[1], p[2]) }

	printf "\nissue 4 targets at N=%s%s:\n", maxn, maxn == 50 ? "" : " (the issue says N=50)"
	target("median failure detection (ms)", get("fail_p50_ms", "ovn", 0, maxn), 1500)
	target("false failures at " loss "% loss", get("false_fail", "ovn", loss, maxn), 0)
	b = get("idle_Bps_node", "serf", 0, maxn)
	a = get("idle_Bps_node", "ovn", 0, maxn)
	target("idle bandwidth, ovn / serf", (a != "" && b != "") ? sprintf("%.3f", a / b) : "", 2)
	b = get("idle_Bps_node", "serfenc", 0, maxn)
	if (b != "")
		target("  (same, serf with -encrypt like ovn)", a != "" ? sprintf("%.3f", a / b) : "", 2)
	target("event dissemination to all p99 (ms)", get("event_p99_ms", "ovn", 0, maxn), 100)
	target("gossip memory share, RSS - baseline (MiB)", get("mem_share_MiB", "ovn", 0, maxn), 4)

	print ""
	for (i = 1; i <= nf; i++) print order[i], F[order[i]]

	printf "{\n  \"gossipd_options\": \"%s\",\n  \"baseline_rss_kB\": %d,\n", opts, base_rss >json
	printf "  \"baseline_private_dirty_kB\": %d,\n  \"loss_pct\": %d,\n", base_pd, loss >json
	printf "  \"figures\": {\n" >json
	for (i = 1; i <= nf; i++)
		printf "    \"%s\": %s%s\n", order[i], F[order[i]], i < nf ? "," : "" >json
	printf "  },\n  \"targets\": [\n" >json
	for (i = 1; i <= nt; i++) printf "    %s%s\n", tj[i], i < nt ? "," : "" >json
	printf "  ]\n}\n" >json
	close(json)
	printf "\nJSON: %s\n", json
}
