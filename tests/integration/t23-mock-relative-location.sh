#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Registries that answer upload requests with a relative Location (resolved against the
# request URL, its _state query kept).
. "$(dirname "$0")/lib.sh"
test_require_build

IMG=$T/img
DIGEST=$(make_image "$IMG" latest 3 20000) || test_fatal "mkimage failed"
BIG=$T/big
BIG_DIGEST=$(make_image --seed 3 "$BIG" latest 2 5000000) || test_fatal "mkimage failed"

test_expect_success 'push and pull with relative Locations, byte for byte' '
	start_mock --auth token --user alice:pw --relative-location --monolithic-post drop &&
	docker_auth "$MOCK" alice pw &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest >out &&
	test_grep -F "$MOCK/beam/python@$DIGEST" out &&
	for d in $(image_blobs $IMG latest); do
		cmp "$(blob_path_layout $IMG $d)" "$(blob_path_mock $d)" || exit 1
	done &&
	test "$(count_log "^PUT /v2/beam/python/blobs/uploads/[^ ]*_state=[^ ]* 201 ")" = 4 &&
	beampush pull --to oci:$PWD/pulled:latest $MOCK/beam/python:latest &&
	test_same_image $IMG pulled latest "$DIGEST"
'

test_expect_success 'chunked upload follows each new relative Location' '
	start_mock --auth token --user alice:pw --relative-location &&
	docker_auth "$MOCK" alice pw &&
	beampush push --chunk-size 65536 --from oci:$BIG:latest $MOCK/beam/python:latest &&
	test "$(count_log "^PATCH /v2/beam/python/blobs/uploads/[^ ]*_state=[^ ]* 202 ")" -ge 2 &&
	test "$(count_log "^PATCH [^ ]* 4[0-9][0-9] ")" = 0 &&
	beampush pull --to oci:$PWD/pulled:latest $MOCK/beam/python:latest &&
	test_same_image $BIG pulled latest "$BIG_DIGEST"
'

test_expect_success 'absolute Locations name the Host the client asked, as distribution does' '
	start_mock --auth none &&
	curl -s -o /dev/null -D hdr -X POST -H "Host: mirror.example:8443" \
		-H "X-Forwarded-Proto: https" "http://$MOCK/v2/beam/python/blobs/uploads/" &&
	test_grep -E "^Location: https://mirror\.example:8443/v2/beam/python/blobs/uploads/" hdr &&
	curl -s -o /dev/null -D hdr -X POST -H "Host: other.example:5000" \
		"http://$MOCK/v2/beam/python/blobs/uploads/" &&
	test_grep -E "^Location: http://other\.example:5000/v2/beam/python/blobs/uploads/" hdr &&
	curl -s -o /dev/null -D hdr -X POST -H "Host: bad\"host" \
		"http://$MOCK/v2/beam/python/blobs/uploads/" &&
	test_grep -E "^Location: http://$MOCK/v2/beam/python/blobs/uploads/" hdr
'

test_expect_success 'behind a proxy, every upload request goes through the proxy' '
	start_mock --auth none &&
	no_docker_auth &&
	start_tcp_proxy "$MOCK_PORT" &&
	mark=$(log_mark) &&
	beampush push --chunk-size 1048576 --from oci:$BIG:latest $PROXY/beam/python:latest &&
	patches=$(count_log "^PATCH /v2/beam/python/blobs/uploads/[^ ]* 202 ") &&
	test "$patches" -ge 2 &&
	log_since $mark >sent &&
	test "$(grep -c " host=$PROXY\$" sent)" = "$(grep -c . sent)" &&
	beampush pull --to oci:$PWD/pulled:latest $PROXY/beam/python:latest &&
	test_same_image $BIG pulled latest "$BIG_DIGEST"
'

test_done
