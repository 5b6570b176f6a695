#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Push and pull against the mock registry with HTTP Basic auth (htpasswd-style registries).
. "$(dirname "$0")/lib.sh"
test_require_build

IMG=$T/img
DIGEST=$(make_image "$IMG" latest 3 20000) || test_fatal "mkimage failed"

test_expect_success 'push and pull with Basic auth, byte for byte' '
	start_mock --auth basic --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest >out &&
	test_grep -F "$MOCK/beam/python@$DIGEST" out &&
	for d in $(image_blobs $IMG latest); do
		cmp "$(blob_path_layout $IMG $d)" "$(blob_path_mock $d)" || exit 1
	done &&
	beampush pull --to oci:$PWD/pulled:latest $MOCK/beam/python:latest &&
	test_same_image $IMG pulled latest "$DIGEST"
'

test_expect_success 'Basic credentials go with the requests, and no token is asked for' '
	start_mock --auth basic --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
	beampush pull --to oci:$PWD/pulled:latest $MOCK/beam/python:latest &&
	test "$(count_log "^PUT /v2/beam/python/manifests/latest 201 auth=basic:alice ")" = 1 &&
	test "$(count_log "^GET /v2/beam/python/manifests/latest 200 auth=basic:alice ")" -ge 1 &&
	test "$(count_log " auth=bearer:")" = 0 &&
	test "$(count_log " auth=bad ")" = 0
'

test_expect_success 'Basic auth: wrong password or none exits 3' '
	start_mock --auth basic --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
	docker_auth "$MOCK" alice nope &&
	test_expect_code 3 beampush --progress none push --from oci:$IMG:latest $MOCK/beam/python:latest 2>err &&
	test -s err &&
	test_expect_code 3 beampush --progress none pull --to oci:$PWD/pulled:latest $MOCK/beam/python:latest 2>err &&
	test -s err &&
	no_docker_auth &&
	test_expect_code 3 beampush --progress none pull --to oci:$PWD/pulled:latest $MOCK/beam/python:latest 2>err &&
	test -s err &&
	layout_clean pulled
'

test_done
