#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Chunked blob upload: POST, PATCH chunks with Content-Type, Content-Range and Content-Length,
# the last chunk in the closing PUT ?digest=; --chunk-size, --single-put-max and the registry's
# OCI-Chunk-Min-Length.
. "$(dirname "$0")/lib.sh"
test_require_build

# Two layers of about 1.5 MB each after gzip: more than --chunk-size, and more than the size
# up to which a blob may go in one PUT.
BIG=$T/big
BIG_DIGEST=$(make_image --seed 4 "$BIG" latest 2 5000000) || test_fatal "mkimage failed"

# upload_sessions [LOG]: one line per finished upload session in the mock's log,
#   DIGEST TOTAL-BYTES CHUNK-SIZE...
# where the chunks are the PATCH bodies and then the body of the closing PUT, if any (a blob
# stored by one POST ?digest= is a session of one chunk). Checks
# on the way that every PATCH has Content-Type application/octet-stream, Content-Length equal
# to its Content-Range, and a range that starts where the previous one ended; prints
# "error: ..." lines otherwise.
upload_sessions() {
	awk '
	function field(k,   i) {
		for (i = 4; i <= NF; i++)
			if (index($i, k "=") == 1)
				return substr($i, length(k) + 2)
		return "-"
	}
	$1 == "POST" && $2 ~ /\/blobs\/uploads\/\?digest=/ && $3 == 201 {
		d = $2; sub(/.*digest=/, "", d); sub(/&.*/, "", d); sub(/%3[Aa]/, ":", d)
		print d, field("cl"), field("cl")
		next
	}
	$1 == "PATCH" || ($1 == "PUT" && $2 ~ /\/blobs\/uploads\//) {
		key = $2; sub(/\?.*/, "", key)
		cl = field("cl"); cr = field("cr"); ct = field("ct")
		if (cl == "-") cl = 0
		if ($1 == "PATCH") {
			if ($3 != 202) { print "error: PATCH answered " $3 ": " $0; next }
			if (ct != "application/octet-stream") print "error: PATCH without octet-stream: " $0
			if (split(cr, r, "-") != 2) { print "error: PATCH without Content-Range: " $0; next }
			if (r[1] + 0 != next_off[key] + 0) print "error: PATCH range does not follow on: " $0
			if (r[2] - r[1] + 1 != cl) print "error: PATCH length is not its range: " $0
			next_off[key] = r[2] + 1
			chunks[key] = chunks[key] " " cl
			next
		}
		if ($3 != 201) { print "error: closing PUT answered " $3 ": " $0; next }
		if (cl > 0) {
			if (cr != "-" && split(cr, r, "-") == 2 && r[1] + 0 != next_off[key] + 0)
				print "error: closing PUT range does not follow on: " $0
			chunks[key] = chunks[key] " " cl
			next_off[key] += cl
		}
		d = $2; sub(/.*digest=/, "", d); sub(/&.*/, "", d); sub(/%3[Aa]/, ":", d)
		print d, next_off[key] + 0 chunks[key]
	}' "${1:-$MOCK_LOG}"
}

# check_sizes MAX MIN: every session uploaded exactly its blob's bytes; no chunk is over MAX;
# every chunk but the last is at least MIN.
check_sizes() {
	upload_sessions >sessions &&
	test_no_grep "^error" sessions &&
	test "$(wc -l <sessions)" = "$(image_blobs $BIG latest | wc -l)" &&
	while read -r d total chunks; do
		test "$total" = "$(file_size "$(blob_path_layout $BIG $d)")" || {
			echo "blob $d: $total bytes uploaded" >&2; return 1; }
		set -- $chunks
		while [ $# -gt 0 ]; do
			if [ "$1" -gt "$MAXC" ]; then echo "blob $d: chunk of $1 > $MAXC" >&2; return 1; fi
			if [ $# -gt 1 ] && [ "$1" -lt "$MINC" ]; then
				echo "blob $d: chunk of $1 < $MINC before the last" >&2; return 1
			fi
			shift
		done
	done <sessions
}

test_expect_success 'layers larger than --chunk-size go up in PATCH chunks' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush push --chunk-size 65536 --from oci:$BIG:latest $MOCK/beam/python:latest &&
	test_grep -E "^PATCH /v2/beam/python/blobs/uploads/[^ ]* 202 auth=bearer:alice ct=application/octet-stream cr=0-65535 cl=65536 " $MOCK_LOG &&
	test_grep -E "^PATCH /v2/beam/python/blobs/uploads/[^ ]* 202 [^ ]* [^ ]* cr=65536-131071 cl=65536 " $MOCK_LOG &&
	MAXC=65536 MINC=1 check_sizes &&
	for d in $(image_blobs $BIG latest); do
		cmp "$(blob_path_layout $BIG $d)" "$(blob_path_mock $d)" || exit 1
	done &&
	beampush pull --to oci:$PWD/pulled:latest $MOCK/beam/python:latest &&
	test_same_image $BIG pulled latest "$BIG_DIGEST"
'

test_expect_success 'a small blob goes up in one PUT, without PATCH' '
	start_mock --auth token --user alice:pw --monolithic-post drop &&
	docker_auth "$MOCK" alice pw &&
	beampush push --chunk-size 65536 --from oci:$BIG:latest $MOCK/beam/python:latest &&
	config=$(image_blobs $BIG latest | head -n 1) &&
	upload_sessions >sessions &&
	test_grep -E "^$config [0-9]+ [0-9]+$" sessions &&
	test_grep -E "^PUT /v2/beam/python/blobs/uploads/[^ ]*digest=(sha256:|sha256%3[Aa])${config#sha256:}[^ ]* 201 .* cl=$(file_size "$(blob_path_layout $BIG $config)") " $MOCK_LOG
'

test_expect_success 'OCI-Chunk-Min-Length is honoured over a smaller --chunk-size' '
	start_mock --auth token --user alice:pw --chunk-min-length 100000 &&
	docker_auth "$MOCK" alice pw &&
	beampush push --chunk-size 65536 --from oci:$BIG:latest $MOCK/beam/python:latest &&
	test "$(count_log "^PATCH ")" -ge 2 &&
	MAXC=999999999 MINC=100000 check_sizes &&
	beampush pull --to oci:$PWD/pulled:latest $MOCK/beam/python:latest &&
	test_same_image $BIG pulled latest "$BIG_DIGEST"
'

test_expect_success 'the default chunk size also round-trips' '
	start_mock --auth none &&
	no_docker_auth &&
	beampush push --from oci:$BIG:latest $MOCK/beam/python:latest &&
	MAXC=999999999 MINC=1 check_sizes &&
	beampush pull --to oci:$PWD/pulled:latest $MOCK/beam/python:latest &&
	test_same_image $BIG pulled latest "$BIG_DIGEST"
'

test_expect_success 'a layer larger than --chunk-size, within --single-put-max: POST and one PUT' '
	start_mock --auth none --monolithic-post drop &&
	no_docker_auth &&
	beampush push --chunk-size 65536 --single-put-max 4M --from oci:$BIG:latest \
		$MOCK/beam/python:latest &&
	test "$(count_log "^PATCH ")" = 0 &&
	MAXC=999999999 MINC=1 check_sizes &&
	for d in $(image_blobs $BIG latest); do
		cmp "$(blob_path_layout $BIG $d)" "$(blob_path_mock $d)" || exit 1
	done
'

test_expect_success 'the last chunk goes with the closing PUT, its Content-Range following on' '
	start_mock --auth none --monolithic-post drop &&
	no_docker_auth &&
	beampush push --chunk-size 1M --from oci:$BIG:latest $MOCK/beam/python:latest &&
	test_grep -E "^PUT /v2/beam/python/blobs/uploads/[^ ]*digest=[^ ]* 201 [^ ]* ct=application/octet-stream cr=1048576-[0-9]+ cl=[1-9]" $MOCK_LOG &&
	test_no_grep -E "^PUT /v2/beam/python/blobs/uploads/[^ ]* 201 [^ ]* [^ ]* cr=- cl=(0|-) " $MOCK_LOG &&
	MAXC=1048576 MINC=1048576 check_sizes
'

test_done
