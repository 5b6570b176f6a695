#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Bad input (issue 2): malformed references, and registries and token services that answer
# with oversized, mistyped, mislabelled or garbled data (mock-registry --fault KIND). Each gets
# one printable line naming what was wrong and the exit status man/beampush.1 lists for it, never
# a crash, and a failed pull keeps nothing unverified.
. "$(dirname "$0")/lib.sh"
test_require_build

IMG=$T/img
DIGEST=$(make_image "$IMG" latest 3 20000) || test_fatal "mkimage failed"
LAYER=$(image_blobs "$IMG" latest | sed -n 3p)
OTHER=$T/other
OTHER_DIGEST=$(make_image --seed 7 "$OTHER" latest 2 10000) || test_fatal "mkimage failed"
UNKNOWN_TYPE=application/vnd.example.unknown+json

# err_is_one_clean_line FILE: FILE is one line from beampush, printable ASCII only and short,
# with no sanitizer report in it.
err_is_one_clean_line() {
	test_line_count = 1 "$1" &&
	test_grep "^beampush: " "$1" &&
	test_no_grep -e AddressSanitizer -e LeakSanitizer -e "runtime error" "$1" &&
	if [ -n "$(tr -d '\n[:print:]' <"$1")" ]; then
		echo "err_is_one_clean_line: $1 holds bytes that are not printable:" >&2
		od -c "$1" | head -n 20 >&2
		return 1
	fi &&
	if [ "$(wc -c <"$1")" -gt 400 ]; then
		echo "err_is_one_clean_line: $1 is longer than 400 bytes" >&2
		return 1
	fi
}

# pull_must_fail CODE REF: pull into ./pulled exits CODE with one clean line on stderr and
# nothing on stdout; the layout keeps no unverified or temporary file and no tag.
pull_must_fail() {
	test_expect_code "$1" beampush --progress none pull --to oci:$PWD/pulled:latest "$2" >out 2>err &&
	test_must_be_empty out &&
	err_is_one_clean_line err &&
	layout_clean pulled &&
	test -z "$(layout_digest pulled latest)"
}

# push_must_fail CODE REF: push of $IMG exits CODE with one clean line on stderr.
push_must_fail() {
	test_expect_code "$1" beampush --progress none push --from oci:$IMG:latest "$2" >out 2>err &&
	test_must_be_empty out &&
	err_is_one_clean_line err
}

# --- malformed references (t10 has the grammar's common cases) ---------------------------

# Nothing listens on port 1: a usage error must come before any connection.
BAD_REFS=(
	"http://127.0.0.1:1/beam/python:latest"
	"[::1/beam/python:latest"
	"127.0.0.1:/beam/python:latest"
	"127.0.0.1:1/beam/python/"
	"127.0.0.1:1/beam/__python"
	$'127.0.0.1:1/beam/py\tthon'
	$'127.0.0.1:1/beam/\e[31mpython'
	$'127.0.0.1:1/beam/python:v1\nINJECTED: yes'
	$'127.0.0.1:1/beam/pyth\xc3\xa9on'
	"127.0.0.1:1/beam/python@sha256:$(printf 'AB%.0s' $(seq 1 32))"
	"@sha256:$(printf 'ab%.0s' $(seq 1 32))"
)

test_expect_success 'pull of a malformed reference: exit 2, one printable line, nothing written' '
	for ref in "${BAD_REFS[@]}"; do
		printf "ref: %q\n" "$ref" &&
		test_expect_code 2 beampush --progress none pull --to oci:$PWD/dest:latest "$ref" >out 2>err &&
		test_must_be_empty out &&
		err_is_one_clean_line err &&
		test_grep "invalid reference" err &&
		test_no_grep INJECTED err &&
		cat err || exit 1
	done &&
	test ! -e dest
'

test_expect_success 'push of a malformed reference: exit 2, one printable line' '
	for ref in "${BAD_REFS[@]}"; do
		printf "ref: %q\n" "$ref" &&
		push_must_fail 2 "$ref" &&
		test_grep "invalid reference" err &&
		cat err || exit 1
	done
'

# --- manifests ---------------------------------------------------------------------------

test_expect_success 'a manifest over 4 MiB: pull exits 1 naming the limit, fetches no blob' '
	start_mock --fault manifest-huge &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
	pull_must_fail 1 $MOCK/beam/python:latest &&
	test_grep "manifest latest .*larger than 4 MiB" err &&
	test ! -e pulled &&
	test "$(count_log "^GET /v2/beam/python/manifests/latest 200 ")" = 1 &&
	test "$(count_log "^GET /v2/beam/python/blobs/")" = 0
'

test_expect_success 'an unknown manifest media type: pull exits 1 naming the type' '
	start_mock --fault manifest-unknown-type &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
	curl -sf -D hdr -o body "http://$MOCK/v2/beam/python/manifests/latest" &&
	test_grep -i "^content-type: $UNKNOWN_TYPE" hdr &&
	test_grep -F "\"mediaType\":\"$UNKNOWN_TYPE\"" body &&
	pull_must_fail 1 $MOCK/beam/python:latest &&
	test_grep "media type" err &&
	test_grep -F "$UNKNOWN_TYPE" err &&
	test ! -e pulled &&
	test "$(count_log "^GET /v2/beam/python/blobs/")" = 0
'

test_expect_success 'a Docker-Content-Digest of other bytes: pull by tag exits 5, keeps nothing' '
	start_mock --fault digest-header-wrong &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
	pull_must_fail 5 $MOCK/beam/python:latest &&
	test_grep "Docker-Content-Digest" err &&
	test ! -e "$(blob_path_layout pulled $DIGEST)" &&
	test "$(count_log "^GET /v2/beam/python/blobs/")" = 0
'

test_expect_success 'a Docker-Content-Digest of other bytes: pull by digest exits 5 too' '
	start_mock --fault digest-header-wrong &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
	pull_must_fail 5 $MOCK/beam/python@$DIGEST &&
	test_grep "Docker-Content-Digest" err &&
	test ! -e "$(blob_path_layout pulled $DIGEST)"
'

test_expect_success 'a manifest pulled by digest whose bytes are another image: exit 5, nothing kept' '
	start_mock --auth none &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
	beampush push --from oci:$OTHER:latest $MOCK/beam/python:other &&
	cat "$(blob_path_layout $OTHER $OTHER_DIGEST)" \
		>"$MOCK_ROOT/repos/beam/python/_manifests/${DIGEST#sha256:}" &&
	pull_must_fail 5 $MOCK/beam/python@$DIGEST &&
	test_grep -F "$DIGEST" err &&
	test_grep -F "$OTHER_DIGEST" err &&
	for d in $OTHER_DIGEST $(image_blobs $OTHER latest); do
		test ! -e "$(blob_path_layout pulled $d)" || exit 1
	done &&
	test "$(count_log "^GET /v2/beam/python/blobs/")" = 0
'

# --- token service -----------------------------------------------------------------------

test_expect_success 'a token response over 64 KiB: push and pull exit 1 (a failed request, not auth)' '
	start_mock --auth token --user alice:pw --fault token-huge &&
	docker_auth "$MOCK" alice pw &&
	push_must_fail 1 $MOCK/beam/python:latest &&
	test_grep "token response is larger than 64 KiB" err &&
	test_no_grep xxxxxxxx err &&
	pull_must_fail 1 $MOCK/beam/python:latest &&
	test_grep "token response is larger than 64 KiB" err &&
	test ! -e pulled &&
	test "$(count_log "^GET /token.* 200 ")" -ge 2 &&
	test "$(count_log " auth=bearer:")" = 0
'

test_expect_success 'a token response that is not JSON: push and pull exit 1' '
	start_mock --auth token --user alice:pw --fault token-not-json &&
	docker_auth "$MOCK" alice pw &&
	push_must_fail 1 $MOCK/beam/python:latest &&
	test_grep "token response is not JSON" err &&
	pull_must_fail 1 $MOCK/beam/python:latest &&
	test_grep "token response is not JSON" err &&
	test ! -e pulled &&
	test "$(count_log " auth=bearer:")" = 0
'

# --- error bodies ------------------------------------------------------------------------

# error_body_cases KIND CT: the scenarios every garbled error body must pass.
error_body_cases() {
	test_expect_success "$1 error bodies: the fault is live" '
		start_mock --fault '"$1"' &&
		curl -s -D hdr -o body "http://$MOCK/v2/beam/python/blobs/$LAYER" &&
		test_grep "^HTTP/1.1 404" hdr &&
		test_grep -i "^content-type: '"$2"'" hdr &&
		test_no_grep -F "{\"errors\"" body
	'

	test_expect_success "$1 error bodies: a missing layer, pull exits 4 with one clean line" '
		start_mock --fault '"$1"' &&
		no_docker_auth &&
		beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
		rm "$MOCK_ROOT/repos/beam/python/_layers/${LAYER#sha256:}" &&
		pull_must_fail 4 $MOCK/beam/python:latest &&
		test_grep "${LAYER#sha256:}: registry answered 404" err &&
		test_no_grep nginx err &&
		test ! -e "$(blob_path_layout pulled $LAYER)" &&
		test ! -e "$(blob_path_layout pulled $DIGEST)"
	'

	test_expect_success "$1 error bodies: a missing tag, pull exits 4" '
		start_mock --fault '"$1"' &&
		no_docker_auth &&
		pull_must_fail 4 $MOCK/beam/python:nope &&
		test_grep "nope not found" err
	'

	test_expect_success "$1 error bodies: push refused (403) exits 3 with one clean line" '
		start_mock --auth basic --user alice:pw:pull --fault '"$1"' &&
		docker_auth "$MOCK" alice pw &&
		push_must_fail 3 $MOCK/beam/python:latest &&
		test_grep "registry answered 403" err &&
		test_no_grep nginx err &&
		# the first upload may be a POST ?digest= with the blob (a host not known yet)
		test "$(count_log "^POST /v2/beam/python/blobs/uploads/(\\?[^ ]*)? 403 ")" -ge 1
	'

	test_expect_success "$1 error bodies: token auth still works through them" '
		start_mock --auth token --user alice:pw --fault '"$1"' &&
		docker_auth "$MOCK" alice pw &&
		beampush push --from oci:$IMG:latest $MOCK/beam/python:latest >out 2>err &&
		beampush pull --to oci:$PWD/pulled:latest $MOCK/beam/python:latest >out 2>err &&
		test_same_image $IMG pulled latest "$DIGEST" &&
		test "$(count_log " 401 ")" -ge 1 &&
		docker_auth "$MOCK" alice wrong &&
		rm -rf pulled &&
		pull_must_fail 3 $MOCK/beam/python:latest &&
		test_grep "refused the credentials of alice" err
	'
}

error_body_cases error-body-html text/html
error_body_cases error-body-binary application/octet-stream

test_expect_success 'error-body-binary: the body is 64 KiB + 1 bytes' '
	start_mock --fault error-body-binary &&
	curl -s -o body "http://$MOCK/v2/beam/python/manifests/nope" &&
	test "$(file_size body)" = 65537
'

# --- uploads -----------------------------------------------------------------------------

test_expect_success 'an upload Location that is not a URL: push exits 1 and sends nothing there' '
	start_mock --fault location-not-url &&
	no_docker_auth &&
	push_must_fail 1 $MOCK/beam/python:latest &&
	test_grep -F "Location \"http://[::1\" is not a URL" err &&
	test "$(count_log "^POST /v2/beam/python/blobs/uploads/ 202 ")" -ge 1 &&
	test "$(count_log "^(PATCH|PUT) /v2/beam/python/blobs/uploads/")" = 0 &&
	test "$(count_log "^PUT /v2/beam/python/manifests/")" = 0
'

test_done
