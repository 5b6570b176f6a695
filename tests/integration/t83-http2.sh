#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Connections over TLS: a registry that speaks HTTP/2 gets every request of a run on one
# connection, many streams at once (a second opens past 16 streams at once: Go's servers let
# 1 MiB of request bodies be in flight per connection); a body over 1 MiB goes on a connection
# of its own in HTTP/1.1, resuming the TLS session; a host without HTTP/2 gets kept-alive
# HTTP/1.1 connections, one per request in flight. The bad input: a host that resets its HTTP/2 streams (HTTP/1.1 from then on,
# said once) and a GOAWAY in the middle of a push (what was in flight goes again, the image
# ends intact; libcurl may open more than one new connection while the old one dies).
# Connections are counted on the server's side: tests/integration/h2-proxy, a TLS front of
# the mock registry that logs each connection, its ALPN protocol and its streams, and resets
# or goes away on request; and for distribution 2.8, which speaks HTTP/2 over TLS itself, by
# the --debug line of beampush.
. "$(dirname "$0")/lib.sh"
test_require_build

H2PROXY=$TEST_ROOT/tests/integration/h2-proxy
HTTP_GET=$B/tests/helpers/http-get
PKI=$T/pki
make_tls_certs "$PKI" || test_fatal "openssl could not make the test certificates"
IMG=$T/img
DIGEST=$(make_image --seed 83 "$IMG" latest 40 262144) || test_fatal "mkimage failed"
BIG=$T/big
BIG_DIGEST=$(make_image --seed 84 --random "$BIG" latest 1 3145728) || test_fatal "mkimage failed"
MIB=$T/mib
make_image --seed 85 --random "$MIB" latest 6 1048576 >/dev/null || test_fatal "mkimage failed"

# start_h2_proxy [ARGS...]: the mock (no auth, relative Locations) behind h2-proxy ARGS on a
# free port, its CA in certs.d. Exports PROXY (127.0.0.1:PORT) and PLOG (the proxy's log).
start_h2_proxy() {
	local n portfile deadline pid
	# the mock answers a POST ?digest= as distribution does (202, the body dropped)
	start_mock --auth none --relative-location --monolithic-post drop || return 1
	n=$(_bp_server_id)
	portfile=$T/h2proxy-$n.port
	PLOG=$T/h2proxy-$n.log
	"$H2PROXY" --to "$MOCK_PORT" --cert "$PKI/server.crt" --key "$PKI/server.key" \
		--port-file "$portfile" --log "$PLOG" "$@" </dev/null >"$T/h2proxy-$n.out" 2>&1 &
	pid=$!
	echo "$pid h2proxy-$n" >>"$T/.servers"
	deadline=$(($(date +%s) + 10))
	until [ -s "$portfile" ]; do
		if ! _bp_alive "$pid" || [ "$(date +%s)" -ge "$deadline" ]; then
			echo "start_h2_proxy: h2-proxy $* did not start:" >&2
			cat "$T/h2proxy-$n.out" >&2
			return 1
		fi
		sleep 0.05
	done
	PROXY=127.0.0.1:$(tr -d ' \n' <"$portfile")
	mkdir -p "$T/certs.d/$PROXY" && cp "$PKI/ca.crt" "$T/certs.d/$PROXY/" &&
	BEAMPUSH_CERTS_D=$T/certs.d
	export PROXY PLOG BEAMPUSH_CERTS_D
}

# h2_conns: the HTTP/2 connections the proxy took; h1_conns: the HTTP/1.1 ones that carried
# bytes (a TLS try that sends no request carries none); streams: the requests it answered.
h2_conns() {
	grep -c '^conn [0-9]* open alpn=h2 ' "$PLOG" || true
}
h1_conns() {
	grep -cE '^conn [0-9]+ close in=[1-9]' "$PLOG" || true
}
streams() {
	grep -c '^conn [0-9]* stream ' "$PLOG" || true
}
# max_open: the most streams one connection had open at once.
max_open() {
	sed -n 's/.* max-open=\([0-9]*\)$/\1/p' "$PLOG" | sort -n | tail -1
}

# the proxy logs a connection's close once it is over: wait for every one opened to be logged
proxy_settled() {
	local i=0
	while [ "$(grep -c ' open ' "$PLOG")" != "$(grep -c ' close' "$PLOG")" ]; do
		[ $i -lt 100 ] || return 1
		i=$((i + 1))
		sleep 0.05
	done
}

push() {
	beampush --progress none "$@" push --from "oci:$IMG:latest" "$PROXY/beam/h2:latest"
}

pull() {
	rm -rf pulled &&
	beampush --progress none "$@" pull --to "oci:$PWD/pulled:latest" "$PROXY/beam/h2:latest"
}

# mock_holds DIR: every blob of the image in layout DIR is in the mock's storage, whole.
mock_holds() {
	local d
	for d in $(image_blobs "$1"); do
		[ "$(sha256_of "$(blob_path_mock "$d")")" = "$d" ] || {
			echo "mock_holds: $d missing or wrong" >&2
			return 1
		}
	done
}

test_expect_success H2PROXY 'every request of a push and of a pull on at most two HTTP/2 connections, many streams at once' '
	start_h2_proxy &&
	mark=$(log_mark) &&
	push >out 2>err &&
	proxy_settled &&
	test "$(h2_conns)" -ge 1 && test "$(h2_conns)" -le 2 &&
	test "$(h1_conns)" = 0 &&
	test "$(streams)" = "$(log_since "$mark" | wc -l)" &&
	test "$(streams)" -ge 120 &&
	test "$(max_open)" -ge 2 &&
	mock_holds "$IMG" &&
	: >"$PLOG" &&
	pull >pull.out 2>pull.err &&
	proxy_settled &&
	test_same_image "$IMG" pulled latest "$DIGEST" &&
	test "$(h2_conns)" -ge 1 && test "$(h2_conns)" -le 2 &&
	test "$(h1_conns)" = 0
'

test_expect_success H2PROXY 'a body over 1 MiB goes on a connection of its own, HTTP/1.1, TLS session resumed' '
	start_h2_proxy &&
	beampush --progress none --debug push --from "oci:$BIG:latest" "$PROXY/beam/big:latest" \
		>out 2>err &&
	proxy_settled &&
	test "$(h2_conns)" = 1 &&
	grep -E "^conn [0-9]+ open alpn=http/1.1 resumed=1" "$PLOG" >resumed &&
	test_line_count -ge 1 resumed &&
	grep -E "^conn [0-9]+ close in=[0-9]{7,} " "$PLOG" >big-up &&
	test_line_count = 1 big-up &&
	test_grep "connections to https://$PROXY: [0-9]* ([0-9]* HTTP/2, [1-9][0-9]* TLS resumed)" err &&
	mock_holds "$BIG" &&
	: >"$PLOG" &&
	rm -rf pulled &&
	beampush --progress none pull --to "oci:$PWD/pulled:latest" "$PROXY/beam/big:latest" \
		>pull.out 2>pull.err &&
	proxy_settled &&
	test_same_image "$BIG" pulled latest "$BIG_DIGEST" &&
	grep -E "^conn [0-9]+ close in=[0-9]+ out=[0-9]{7,}$" "$PLOG" >big-down &&
	test_line_count = 1 big-down &&
	grep -E "^conn [0-9]+ open alpn=http/1.1 resumed=1" "$PLOG" >resumed &&
	test_line_count -ge 1 resumed
'

test_expect_success H2PROXY 'a TLS host without HTTP/2: kept-alive HTTP/1.1 connections, one per request in flight' '
	start_h2_proxy --no-h2 &&
	mark=$(log_mark) &&
	# 40 small blobs go 16 at once (4 x --jobs): a connection each, and the first request
	push --jobs 4 >out 2>err &&
	proxy_settled &&
	test "$(h2_conns)" = 0 &&
	test "$(h1_conns)" -ge 1 &&
	test "$(h1_conns)" -le 17 &&
	test "$(log_since "$mark" | wc -l)" -ge 120 &&
	mock_holds "$IMG"
'

test_expect_success H2PROXY 'a host that resets HTTP/2 streams: HTTP/1.1 from then on, said once, image intact' '
	start_h2_proxy --reset-after 3 &&
	push >out 2>err &&
	proxy_settled &&
	grep "broke HTTP/2" err >said &&
	test_line_count = 1 said &&
	test_grep "^beampush: https://$PROXY broke HTTP/2 (HTTP/2 stream [0-9]* was not closed cleanly: INTERNAL_ERROR (err 2)): using HTTP/1.1 for it$" said &&
	test_no_grep "retrying" err &&
	grep -E "^conn [0-9]+ reset " "$PLOG" >resets &&
	test_line_count -ge 1 resets &&
	test "$(h2_conns)" -ge 1 && test "$(h2_conns)" -le 2 &&
	test "$(h1_conns)" -ge 1 &&
	mock_holds "$IMG" &&
	pull >pull.out 2>pull.err &&
	test_same_image "$IMG" pulled latest "$DIGEST" &&
	grep "broke HTTP/2" pull.err >said &&
	test_line_count = 1 said
'

test_expect_success H2PROXY 'a GOAWAY in the middle of a push: what was in flight goes again, the image ends intact' '
	start_h2_proxy --goaway-after 40 &&
	push >out 2>err &&
	proxy_settled &&
	grep -E "^conn [0-9]+ goaway last=[0-9]+ open=[0-9]+$" "$PLOG" >goaway &&
	test_line_count = 1 goaway &&
	test "$(h2_conns)" -ge 2 &&
	test_no_grep "broke HTTP/2" err &&
	mock_holds "$IMG" &&
	test "$(count_log "^PUT /v2/beam/h2/manifests/latest 201 ")" = 1 &&
	pull >pull.out 2>pull.err &&
	test_same_image "$IMG" pulled latest "$DIGEST"
'

test_expect_success H2PROXY 'the answer to a closing PUT lost: the blob is found there, not uploaded again' '
	start_h2_proxy --lose-answer-to "PUT /v2/beam/h2/blobs/uploads/" &&
	push >out 2>err &&
	grep -E "^conn [0-9]+ lost [0-9]+ PUT /v2/beam/h2/blobs/uploads/[^ ]*digest=sha256%3A[0-9a-f]{64} 201$" "$PLOG" >lost &&
	test_line_count = 1 lost &&
	hex=$(sed "s/.*digest=sha256%3A\([0-9a-f]*\) 201$/\1/" lost) &&
	test "$(count_log "^PUT /v2/beam/h2/blobs/uploads/[^ ]*digest=sha256%3A$hex 201 ")" = 1 &&
	test "$(count_log "^HEAD /v2/beam/h2/blobs/sha256:$hex 200 ")" -ge 1 &&
	mock_holds "$IMG" &&
	pull >pull.out 2>pull.err &&
	test_same_image "$IMG" pulled latest "$DIGEST"
'

test_expect_success H2PROXY 'downloads that outrun their reader wait for it on the shared connection, bytes intact' '
	test -x "$HTTP_GET" || { echo "make unit-tests builds $HTTP_GET" >&2; exit 1; } &&
	start_h2_proxy &&
	beampush --progress none push --from "oci:$MIB:latest" "$PROXY/beam/mib:latest" \
		>out 2>err &&
	: >want &&
	for d in $(image_blobs "$MIB"); do
		echo "$d $(file_size "$(blob_path_layout "$MIB" "$d")") 200 https://$PROXY/v2/beam/mib/blobs/$d" >>want &&
		echo "https://$PROXY/v2/beam/mib/blobs/$d" >>urls || exit 1
	done &&
	: >"$PLOG" &&
	"$HTTP_GET" --jobs 3 --slow $(cat urls) >got &&
	head -n -1 got >bodies &&
	test_cmp want bodies &&
	tail -1 got >stats &&
	test_grep "^requests=[0-9]* connections=1 h2=1 resumed=0 pauses=[1-9][0-9]* multiplexed=" stats &&
	proxy_settled &&
	test "$(h2_conns)" = 1 &&
	: >"$PLOG" &&
	tac urls >urls-back &&
	# libcurl 7.88 loses the bytes it held for a paused HTTP/2 stream that is cancelled
	# (a direct leak inside libcurl, under the sanitizers); and when the cancel meets the
	# stream ending, the abandoned transfer may end in another error than the sink full
	LSAN_OPTIONS=suppressions=$TEST_ROOT/tests/integration/lsan-libcurl.supp \
		test_expect_code 1 "$HTTP_GET" --jobs 3 --slow --fail-after 300000 $(cat urls-back) >got &&
	head -1 got >first &&
	test_grep -E "^error .*$(head -1 urls-back)" first &&
	tac want | sed 1d >want-rest &&
	sed -n "2,$(wc -l <urls)p" got >got-rest &&
	test_cmp want-rest got-rest &&
	tail -1 got >stats &&
	test_grep "^requests=[0-9]* connections=1 h2=1 " stats
'

# start_tls_registry: docker-registry over TLS (a certificate for 127.0.0.1 made here), its CA
# in certs.d; exports BEAMPUSH_CERTS_D. Run inside a scenario (files in its directory).
start_tls_registry() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout key.pem \
		-out cert.pem >/dev/null 2>&1 &&
	REG_HTTP_EXTRA="  tls:
    certificate: $PWD/cert.pem
    key: $PWD/key.pem" &&
	start_registry &&
	mkdir -p "certs.d/$REG" && cp cert.pem "certs.d/$REG/ca.crt" &&
	BEAMPUSH_CERTS_D=$PWD/certs.d &&
	export BEAMPUSH_CERTS_D
}

# distribution 2.8 over TLS, as t88 runs it: HTTP/2 by ALPN
test_expect_success REGISTRY 'distribution over TLS: a push and a pull of 40 layers on at most two HTTP/2 connections' '
	start_tls_registry &&
	beampush --progress none --debug push --from "oci:$IMG:latest" "$REG/beam/h2:latest" \
		>out 2>err &&
	grep "^debug: connections to https://$REG: " err >conns &&
	test_line_count = 1 conns &&
	test_grep ": [123] ([12] HTTP/2, [0-9]* TLS resumed) for [0-9]* requests$" conns &&
	for d in $(image_blobs "$IMG"); do
		test "$(sha256_of "$(blob_path_registry "$d")")" = "$d" || exit 1
	done &&
	rm -rf pulled &&
	beampush --progress none --debug pull --to "oci:$PWD/pulled:latest" "$REG/beam/h2:latest" \
		>pull.out 2>pull.err &&
	test_same_image "$IMG" pulled latest "$DIGEST" &&
	grep "^debug: connections to https://$REG: " pull.err >conns &&
	test_grep ": [123] ([12] HTTP/2, [0-9]* TLS resumed) for [0-9]* requests$" conns
'

test_expect_success REGISTRY 'a loopback registry with its CA in certs.d: no TLS try, one connection' '
	start_tls_registry &&
	small=$(make_image --seed 86 small latest 2 20000) &&
	beampush --progress none --debug push --from "oci:$PWD/small:latest" "$REG/beam/small:latest" \
		>out 2>err &&
	grep "^debug: connections to https://$REG: " err >conns &&
	test_grep ": 1 (1 HTTP/2, [0-9]* TLS resumed) for [0-9]* requests$" conns &&
	rm -rf pulled &&
	beampush --progress none pull --to "oci:$PWD/pulled:latest" "$REG/beam/small:latest" &&
	test_same_image small pulled latest "$small"
'

test_done
