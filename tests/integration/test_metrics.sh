#!/bin/bash
# test_metrics.sh - GET /metrics through a
# real nginx and mxfeed-fcgi (issue 16 item 5, SPEC section 12)
#
# /metrics: 200 in the Prometheus text format from an allowed client
# (web.metrics_allow = 127.0.0.1/32 here), the counters read as numbers
# going up by exactly the requests made, unknown paths folded into one
# "other" route, database failures counted, and 404 (like any unknown
# path) from 127.0.0.2, outside the list.  (openapi.json:
# test_openapi.sh.)
set -u
. "$(dirname "$0")/../lib.sh"
pg_setup
cat >> "$T/mxfeed.conf" <<'CONF'
web = { metrics_allow = [ "127.0.0.1/32" ]; };
CONF
web_setup

READ=$("$FEEDCTL" token create t-read --role read --json | jq -r .token)
R=(-H "Authorization: Bearer $READ")

# value SERIES: the number of the sample named exactly SERIES in the
# last scrape ($T/out), 0 when it is absent
value() {
	awk -v s="$1" '$1 == s { print $2; found = 1 } END { if (!found) print 0 }' "$T/out"
}
scrape() { http GET /metrics; }
jqf() { jq -e "$@" > /dev/null; }

# --- /metrics from an allowed client ------------------------------------
expect_status 200 "/metrics answers 127.0.0.1" GET /metrics
check "in the Prometheus text format 0.0.4" \
	test "$(hdr Content-Type)" = "text/plain; version=0.0.4; charset=utf-8"
check "it has the request counter, the histogram and the database errors" \
	bash -c "grep -q '^# TYPE mxfeed_http_requests_total counter' '$T/out' &&
		grep -q '^# TYPE mxfeed_http_request_duration_seconds histogram' '$T/out' &&
		grep -q '^mxfeed_db_errors_total{kind=\"unavailable\"} ' '$T/out'"
check "the worker gauge says 4" test "$(value mxfeed_fcgi_workers)" = 4

LIST='mxfeed_http_requests_total{route="/api/v1/domains",status="200"}'
HCOUNT='mxfeed_http_request_duration_seconds_count{route="/api/v1/domains"}'
GET1='mxfeed_http_requests_total{route="/api/v1/domains/{name}",status="404"}'
OTHER='mxfeed_http_requests_total{route="other",status="404"}'
scrape
before=$(value "$LIST")
hbefore=$(value "$HCOUNT")
g1before=$(value "$GET1")
obefore=$(value "$OTHER")
for _ in 1 2 3; do http GET /api/v1/domains "${R[@]}"; done
http GET /api/v1/domains/nowhere.example "${R[@]}"
http GET /api/v1/no-such-thing "${R[@]}"
http GET /api/v1/domains/nowhere.example/no-such-sub "${R[@]}"
scrape
check "three lists: the route's 200 counter went up by 3 ($before -> $(value "$LIST"))" \
	test "$(value "$LIST")" -eq $((before + 3))
check "... and its histogram count by 3" test "$(value "$HCOUNT")" -eq $((hbefore + 3))
check "the +Inf bucket equals the count" \
	test "$(value 'mxfeed_http_request_duration_seconds_bucket{route="/api/v1/domains",le="+Inf"}')" = "$(value "$HCOUNT")"
check "a missing domain counts under its route template, 404" \
	test "$(value "$GET1")" -eq $((g1before + 1))
check "unknown paths count as route \"other\", not by their path" \
	test "$(value "$OTHER")" -eq $((obefore + 2))
check "no series is named after a client's path" \
	bash -c "! grep -qE 'no-such|nowhere.example' '$T/out'"
check "every sample line is NAME{labels} NUMBER" \
	bash -c "grep -v '^#' '$T/out' | grep -vqE '^[a-z_]+(\{[a-z_]+=\"[^\"]*\"(,[a-z_]+=\"[^\"]*\")*\})? [0-9.]+$' && exit 1 || exit 0"
expect_status 405 "POST /metrics is 405" POST /metrics

# --- a client outside web.metrics_allow ---------------------------------
status=$(curl -s -m 10 --interface 127.0.0.2 -o "$T/out" -w '%{http_code}' "$BASE/metrics")
check "/metrics from 127.0.0.2 is 404 (got $status)" test "$status" = 404
check "... and shows no metric" bash -c "! grep -q mxfeed_ '$T/out'"
status=$(curl -s -m 10 --interface 127.0.0.2 -o "$T/out2" -w '%{http_code}' "$BASE/api/v1/nothing-here")
check "... the same answer as an unknown path" \
	test "$(jq -c '{type, status, detail}' "$T/out")" = "$(jq -c '{type, status, detail}' "$T/out2")"

# --- database errors are counted ----------------------------------------
scrape
dbe=$(value 'mxfeed_db_errors_total{kind="unavailable"}')
bash "$TOP/contrib/pgcluster.sh" "$T/pg" stop > /dev/null 2>&1
expect_status 503 "database down: a list is 503" GET /api/v1/domains "${R[@]}"
expect_status 200 "database down: /metrics still answers" GET /metrics
check "the unavailable database was counted ($dbe -> $(value 'mxfeed_db_errors_total{kind="unavailable"}'))" \
	test "$(value 'mxfeed_db_errors_total{kind="unavailable"}')" -gt "$dbe"
check "the 503 is counted by route" \
	test "$(value 'mxfeed_http_requests_total{route="/api/v1/domains",status="503"}')" -ge 1
bash "$TOP/contrib/pgcluster.sh" "$T/pg" start > /dev/null 2>&1

# --- the example alerts (contrib/prometheus/alerts.yml) ------------------
# they parse, and every mxfeed_ metric they name is one we export
# (mxfeed-fcgi's, as scraped above, or the relay file's, lib/relaystat.c)
if python3 -c 'import yaml' 2> /dev/null; then
	check "alerts.yml parses, every rule has alert, expr and a summary" python3 -c '
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
rules = [r for g in d["groups"] for r in g["rules"]]
assert len(rules) >= 5
assert all(r.get("alert") and r.get("expr") and r["annotations"]["summary"] for r in rules)' \
		"$TOP/contrib/prometheus/alerts.yml"
else
	tap_ok "alerts.yml parses # SKIP python3-yaml not installed"
fi
http GET /metrics
known=$( (grep -o '^[a-z_]*' "$T/out"; grep -o '"mxfeed_[a-z_]*"' "$TOP/lib/relaystat.c" | tr -d '"') | sort -u)
unknown=
for m in $(grep -o 'mxfeed_[a-z_]*' "$TOP/contrib/prometheus/alerts.yml" | sort -u); do
	printf '%s\n' "$known" | grep -qx "$m" || unknown="$unknown $m"
done
check "the alerts name only metrics that exist${unknown:+ (unknown:$unknown)}" test -z "$unknown"

tap_done
