#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Push and pull against the mock registry with no authentication at all.
. "$(dirname "$0")/lib.sh"
test_require_build

IMG=$T/img
DIGEST=$(make_image "$IMG" latest 3 20000) || test_fatal "mkimage failed"

test_expect_success 'anonymous push and pull, byte for byte' '
	start_mock --auth none &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest >out &&
	test_grep -F "$MOCK/beam/python@$DIGEST" out &&
	for d in $(image_blobs $IMG latest); do
		cmp "$(blob_path_layout $IMG $d)" "$(blob_path_mock $d)" || exit 1
	done &&
	beampush pull --to oci:$PWD/pulled:latest $MOCK/beam/python:latest &&
	test_same_image $IMG pulled latest "$DIGEST" &&
	test "$(count_log " auth=none ")" -gt 0 &&
	test "$(count_log " auth=(basic|bearer|bad)")" = 0
'

test_expect_success 'anonymous pull by digest' '
	start_mock --auth none &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
	beampush pull --to oci:$PWD/pulled:v1 $MOCK/beam/python@$DIGEST &&
	test_same_image $IMG pulled v1 "$DIGEST"
'

test_expect_success 'credentials for another registry are not sent' '
	start_mock --auth none &&
	docker_auth 127.0.0.1:1 alice pw &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
	beampush pull --to oci:$PWD/pulled:latest $MOCK/beam/python:latest &&
	test "$(count_log " auth=(basic|bearer|bad)")" = 0
'

test_expect_success 'nested repository names and tag names with dots and dashes' '
	start_mock --auth none &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $MOCK/apache/beam_python3.11_sdk:2.60.0-rc.1 &&
	beampush pull --to oci:$PWD/pulled:2.60.0-rc.1 $MOCK/apache/beam_python3.11_sdk:2.60.0-rc.1 &&
	test_same_image $IMG pulled 2.60.0-rc.1 "$DIGEST"
'

test_done
