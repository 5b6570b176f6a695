#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The transfer engine's failure handling against the mock registry's transfer faults: 429 and
# 5xx answers retried with backoff and Retry-After, bounded by --retries, 4xx never retried (the
# ping and the token requests as every other request); a
# PATCH cut off mid-chunk resumed from where the registry stands (or the blob started over when
# the registry cannot say, as public ECR); a download cut off mid-blob resumed with Range (or the
# bytes it already has dropped from a 200, where the registry ignores Range). Every time the
# bytes stored in the end are the source's.
. "$(dirname "$0")/lib.sh"
test_require_build

# Two layers of about 120 KB after gzip: a PATCH of 64 KiB each and the rest in the closing PUT
# (above --single-put-max 64K); the config in one PUT.
IMG=$T/img
DIGEST=$(make_image --seed 5 "$IMG" latest 2 400000) || test_fatal "mkimage failed"
BLOBS=$(image_blobs "$IMG" latest | wc -l)
# Every upload opened, by POST ?digest= too: the mocks that count them answer it as
# docker-registry does (--monolithic-post drop: 202 and a session, the body dropped).
POSTS='^POST /v2/beam/python/blobs/uploads/(\?digest=[^ ]*)? 202 '

# push_it [GLOBAL-OPTIONS...]: push $IMG in 64 KiB chunks (blobs over ${SPM:-64K}); out and err.
push_it() {
	beampush --progress none "$@" push --chunk-size 65536 --single-put-max "${SPM:-64K}" \
		--from "oci:$IMG:latest" "$MOCK/beam/python:latest" >out 2>err
}

# pull_it [GLOBAL-OPTIONS...]: pull into ./pulled; pull.out and pull.err.
pull_it() {
	beampush --progress none "$@" pull --to "oci:$PWD/pulled:latest" "$MOCK/beam/python:latest" \
		>pull.out 2>pull.err
}

# stored_is_source: every blob of $IMG is in the mock's storage, byte for byte.
stored_is_source() {
	local d
	for d in $(image_blobs "$IMG" latest); do
		cmp "$(blob_path_layout "$IMG" "$d")" "$(blob_path_mock "$d")" || return 1
	done
}

# uri_status URI STATUS: how many requests for exactly URI the mock answered STATUS.
uri_status() {
	awk -v u="$1" -v s="$2" '$2 == u && $3 == s { n++ } END { print n + 0 }' "$MOCK_LOG"
}

# millis: the time now in milliseconds.
millis() {
	echo $(($(date +%s%N) / 1000000))
}

test_expect_success '429 with Retry-After: 1 on a blob HEAD is waited for and retried' '
	start_mock --auth token --user alice:pw --status-fault HEAD:/blobs/:429:1:1 &&
	docker_auth "$MOCK" alice pw &&
	t0=$(millis) &&
	push_it &&
	test $(($(millis) - t0)) -ge 950 &&
	test_grep -F "beampush: retrying in 1s (attempt 2 of 5): HEAD answered 429" err &&
	test_line_count = 1 <(grep retrying err) &&
	test "$(count_log "^HEAD /v2/beam/python/blobs/[^ ]* 429 auth=bearer:alice ")" = 1 &&
	uri=$(awk "\$1 == \"HEAD\" && \$3 == 429 { print \$2 }" $MOCK_LOG) &&
	test "$(uri_status "$uri" 404)" = 1 &&
	test "$(count_log "^PUT /v2/beam/python/manifests/latest 201 ")" = 1 &&
	stored_is_source
'

test_expect_success '429 on the closing PUT: retried on the same Location, attempts counted' '
	start_mock --auth token --user alice:pw --status-fault PUT:/blobs/uploads/:429:2:0 \
		--monolithic-post drop &&
	docker_auth "$MOCK" alice pw &&
	SPM=1M push_it &&
	test_grep -F "retrying in 0s (attempt 2 of 5): PUT answered 429" err &&
	test_line_count = 2 <(grep "retrying in 0s" err) &&
	test "$(count_log "^PUT /v2/beam/python/blobs/uploads/[^ ]* 429 ")" = 2 &&
	for uri in $(awk "\$1 == \"PUT\" && \$3 == 429 { print \$2 }" $MOCK_LOG); do
		test "$(uri_status "$uri" 201)" = 1 || exit 1
	done &&
	test "$(count_log "$POSTS")" = $((BLOBS)) &&
	stored_is_source
'

test_expect_success '503 on the manifest GET of a pull is retried' '
	start_mock --auth token --user alice:pw --status-fault GET:/manifests/:503:1:0 &&
	docker_auth "$MOCK" alice pw &&
	push_it &&
	pull_it &&
	test_grep -F "retrying in 0s (attempt 2 of 5): GET answered 503" pull.err &&
	test "$(count_log "^GET /v2/beam/python/manifests/latest 503 auth=bearer:alice ")" = 1 &&
	test "$(count_log "^GET /v2/beam/python/manifests/latest 200 auth=bearer:alice ")" = 1 &&
	test_same_image $IMG pulled latest "$DIGEST"
'

test_expect_success '--retries 0: a 429 is not retried and the push fails (exit 1)' '
	start_mock --auth token --user alice:pw --status-fault HEAD:/blobs/:429:1:0 &&
	docker_auth "$MOCK" alice pw &&
	test_expect_code 1 push_it --retries 0 &&
	test_no_grep retrying err &&
	test_grep "429" err &&
	test "$(count_log "^HEAD /v2/beam/python/blobs/[^ ]* 429 ")" = 1 &&
	test "$(count_log "^PUT /v2/beam/python/manifests/")" = 0
'

test_expect_success '--retries 2: three attempts at most, then exit 1' '
	start_mock --auth token --user alice:pw --status-fault HEAD:/blobs/:503:0:0 &&
	docker_auth "$MOCK" alice pw &&
	test_expect_code 1 push_it --retries 2 --jobs 1 &&
	test_grep -F "(attempt 3 of 3): HEAD answered 503" err &&
	test_no_grep -F "attempt 4" err &&
	awk "\$1 == \"HEAD\" && \$3 == 503 { n[\$2]++ } END { for (u in n) print n[u] }" $MOCK_LOG | sort -u >attempts &&
	echo 3 >want &&
	test_cmp want attempts &&
	test "$(count_log "^PUT /v2/beam/python/manifests/")" = 0
'

test_expect_success 'a 404 is never retried' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	push_it &&
	test_expect_code 4 beampush --progress none pull --to oci:$PWD/p1:nope $MOCK/beam/python:nope 2>err1 &&
	test "$(count_log "^GET /v2/beam/python/manifests/nope 404 ")" = 1 &&
	layer=$(image_blobs $IMG latest | tail -n 1) &&
	start_mock --auth token --user alice:pw --status-fault GET:/blobs/$layer:404:0 &&
	docker_auth "$MOCK" alice pw &&
	push_it &&
	test_expect_code 4 pull_it &&
	test "$(count_log "^GET /v2/beam/python/blobs/$layer 404 ")" = 1 &&
	test_no_grep retrying err1 pull.err &&
	layout_clean pulled
'

test_expect_success 'a PATCH cut mid-chunk resumes at the Range the registry reports' '
	start_mock --auth token --user alice:pw --cut-upload-after 40000 --monolithic-post drop &&
	docker_auth "$MOCK" alice pw &&
	push_it &&
	test_grep -E "retrying in 1s \(attempt 2 of 5\): blob sha256:[0-9a-f]{12}: chunk 0-65535: connection closed while sending the request body" err &&
	test_no_grep -F "/blobs/uploads/" err &&
	test_no_grep -F "seek callback" err &&
	test "$(count_log "^PATCH [^ ]* 000 ")" = 1 &&
	cut=$(awk "\$1 == \"PATCH\" && \$3 == \"000\" { u = \$2; sub(/\\?.*/, \"\", u); print u }" $MOCK_LOG) &&
	test_grep -E "^PATCH $cut\?[^ ]* 000 [^ ]* ct=application/octet-stream cr=0-65535 cl=65536 " $MOCK_LOG &&
	grep -E "^[A-Z]+ $cut\?" $MOCK_LOG | awk "{ print \$1, \$3, \$6 }" >session &&
	printf "%s\n" "PATCH 000 cr=0-65535" "GET 204 cr=-" "PATCH 202 cr=40000-105535" >want &&
	head -n 3 session >got &&
	test_cmp want got &&
	test_no_grep -E "^PATCH 202 cr=0-" session &&
	test "$(tail -n 1 session | cut -d" " -f1-2)" = "PUT 201" &&
	test "$(count_log "$POSTS")" = $((BLOBS)) &&
	stored_is_source
'

test_expect_success '--no-upload-status: the cut blob starts over in a new upload and ends right' '
	start_mock --auth token --user alice:pw --cut-upload-after 40000 --no-upload-status \
		--monolithic-post drop &&
	docker_auth "$MOCK" alice pw &&
	push_it &&
	cut=$(awk "\$1 == \"PATCH\" && \$3 == \"000\" { u = \$2; sub(/\\?.*/, \"\", u); print u }" $MOCK_LOG) &&
	test -n "$cut" &&
	test_grep -E "^GET $cut\?[^ ]* 404 " $MOCK_LOG &&
	test "$(count_log "^[A-Z]+ $cut\?[^ ]* 20[124] ")" = 0 &&
	test "$(count_log "$POSTS")" = $((BLOBS + 1)) &&
	test "$(count_log "^PUT /v2/beam/python/blobs/uploads/[^ ]* 201 ")" = $((BLOBS)) &&
	stored_is_source
'

test_expect_success 'a download cut mid-blob resumes with Range: bytes=N-' '
	start_mock --auth token --user alice:pw --cut-download-after 50000 &&
	docker_auth "$MOCK" alice pw &&
	push_it &&
	pull_it --debug &&
	test_grep -E "^GET /v2/beam/python/blobs/sha256:[0-9a-f]{64} 206 [^ ]* [^ ]* [^ ]* [^ ]* range=bytes=50000-$" $MOCK_LOG &&
	test "$(count_log " range=bytes=")" = 1 &&
	test_grep -F "cut off at byte 50000, resuming" pull.err &&
	test_same_image $IMG pulled latest "$DIGEST"
'

test_expect_success '--no-ranges: a resumed download drops the bytes it already has from the 200' '
	start_mock --auth token --user alice:pw --cut-download-after 50000 --no-ranges &&
	docker_auth "$MOCK" alice pw &&
	push_it &&
	pull_it &&
	test_grep -E "^GET /v2/beam/python/blobs/sha256:[0-9a-f]{64} 200 [^ ]* [^ ]* [^ ]* [^ ]* range=bytes=50000-$" $MOCK_LOG &&
	test "$(count_log "^GET [^ ]* 206 ")" = 0 &&
	test_same_image $IMG pulled latest "$DIGEST"
'

test_expect_success 'a slow registry (--slow 150: every answer 150 ms late): push and pull end right' '
	start_mock --auth token --user alice:pw --slow 150 &&
	docker_auth "$MOCK" alice pw &&
	push_it &&
	pull_it &&
	test_grep -E "^PUT /v2/beam/python/manifests/latest 201 " $MOCK_LOG &&
	test "$(count_log " 000 ")" = 0 &&
	stored_is_source &&
	test_same_image $IMG pulled latest "$DIGEST"
'

# start_ping_fault STATUS COUNT RETRY-AFTER [ARGS...]: a mock (ARGS as start_mock's) whose
# GET /v2/ answers beampush STATUS COUNT times (0: always). start_mock's readiness probe, one
# GET /v2/, takes one of those answers first, so the fault counts it; what beampush sent is then
# ./requests, after the probe, once requests_since_probe has run.
start_ping_fault() {
	local status=$1 count=$2 ra=$3
	shift 3
	[ "$count" = 0 ] || count=$((count + 1))
	start_mock "$@" --status-fault "GET:/v2/:$status:$count:$ra" &&
	test "$(log_mark)" = 1 &&
	test_grep -E "^GET /v2/ $status " "$MOCK_LOG"
}

# requests_since_probe: the mock's log after start_mock's probe, into ./requests.
requests_since_probe() {
	log_since 1 >requests
}

test_expect_success 'the ping answered 429 with Retry-After: 1 twice: waited for, retried, pushed' '
	start_ping_fault 429 2 1 --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	t0=$(millis) &&
	push_it &&
	test $(($(millis) - t0)) -ge 1900 &&
	test_grep -F "beampush: retrying in 1s (attempt 2 of 5): GET /v2/ answered 429" err &&
	test_grep -F "beampush: retrying in 1s (attempt 3 of 5): GET /v2/ answered 429" err &&
	test_line_count = 2 <(grep retrying err) &&
	requests_since_probe &&
	test "$(count_log "^GET /v2/ " requests)" = 3 &&
	test "$(count_log "^GET /v2/ 429 " requests)" = 2 &&
	test "$(count_log "^PUT /v2/beam/python/manifests/latest 201 ")" = 1 &&
	stored_is_source
'

test_expect_success 'the token GET answered 503 twice: retried, pushed' '
	start_mock --auth token --user alice:pw --status-fault GET:/token:503:2:0 &&
	docker_auth "$MOCK" alice pw &&
	push_it &&
	test_grep -F "beampush: retrying in 0s (attempt 2 of 5): token service GET answered 503" err &&
	test_grep -F "(attempt 3 of 5): token service GET answered 503" err &&
	test "$(count_log "^GET /token[^ ]* 503 auth=basic:alice ")" = 2 &&
	test "$(count_log "^GET /token[^ ]* 200 auth=basic:alice ")" -ge 1 &&
	test "$(count_log "^PUT /v2/beam/python/manifests/latest 201 ")" = 1 &&
	stored_is_source
'

test_expect_success 'the OAuth2 POST of a login answered 429: retried, logged in' '
	start_mock --auth token --user alice:pw --status-fault POST:/token:429:1:0 &&
	no_docker_auth &&
	printf "pw\n" | beampush login -u alice --password-stdin --store file "$MOCK" >out 2>err &&
	test_grep -F "retrying in 0s (attempt 2 of 5): token service POST answered 429" err &&
	test "$(count_log "^POST /token 429 ")" = 1 &&
	test "$(count_log "^POST /token 200 ")" = 1 &&
	test_grep -F "\"$MOCK\"" "$DOCKER_CONFIG/config.json"
'

test_expect_success '--retries 0: a 429 on the ping is not retried (exit 1, the message names it)' '
	start_ping_fault 429 1 0 --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	test_expect_code 1 push_it --retries 0 &&
	test_no_grep retrying err &&
	test_grep -F "does not look like a registry: GET /v2/ answered 429" err &&
	requests_since_probe &&
	test "$(count_log . requests)" = 1
'

test_expect_success 'a ping that keeps answering 503: three attempts with --retries 2, then exit 1' '
	start_ping_fault 503 0 0 --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	test_expect_code 1 push_it --retries 2 &&
	test_grep -F "retrying in 0s (attempt 3 of 3): GET /v2/ answered 503" err &&
	test_no_grep -F "attempt 4" err &&
	test_grep -F "does not look like a registry: GET /v2/ answered 503" err &&
	requests_since_probe &&
	test "$(count_log "^GET /v2/ 503 " requests)" = 3 &&
	test "$(count_log . requests)" = 3
'

test_expect_success 'a token service answering 401 is not retried (exit 3)' '
	start_mock --auth token --user alice:pw --status-fault GET:/token:401:0 &&
	docker_auth "$MOCK" alice pw &&
	test_expect_code 3 beampush --progress none tags "$MOCK/beam/python" >out 2>err &&
	test_no_grep retrying err &&
	test_grep -F "refused the credentials of alice" err &&
	test "$(count_log "^GET /token")" = 1
'

test_done
