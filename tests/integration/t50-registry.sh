#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Against the real registry: Debian's docker-registry (distribution 2.8), anonymous, on a free
# loopback port over plain http (tried over https first, as docker does).
. "$(dirname "$0")/lib.sh"
test_require_build

IMG=$T/img
DIGEST=$(make_image "$IMG" latest 3 20000) || test_fatal "mkimage failed"
BIG=$T/big
BIG_DIGEST=$(make_image --seed 5 "$BIG" latest 2 5000000) || test_fatal "mkimage failed"

test_expect_success REGISTRY 'push stores every blob byte for byte; pull gives the same image' '
	start_registry &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $REG/beam/python:latest >out &&
	test_grep -F "$REG/beam/python@$DIGEST" out &&
	for d in $(image_blobs $IMG latest) $DIGEST; do
		cmp "$(blob_path_layout $IMG $d)" "$(blob_path_registry $d)" || exit 1
	done &&
	test "$(curl -s -o /dev/null -w "%{http_code}" -H "Accept: application/vnd.oci.image.manifest.v1+json" http://$REG/v2/beam/python/manifests/$DIGEST)" = 200 &&
	beampush pull --to oci:$PWD/pulled:latest $REG/beam/python:latest &&
	test_same_image $IMG pulled latest "$DIGEST"
'

test_expect_success REGISTRY 'pull by digest' '
	start_registry &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $REG/beam/python:latest &&
	beampush pull --to oci:$PWD/pulled:pinned $REG/beam/python@$DIGEST &&
	test_same_image $IMG pulled pinned "$DIGEST"
'

test_expect_success REGISTRY 'a second push finds the manifest under its tag and sends nothing else' '
	start_registry &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $REG/beam/python:latest &&
	registry_requests >first &&
	test "$(grep -c "^POST /v2/beam/python/blobs/uploads/" first)" = 4 &&
	mark=$(log_mark $REG_LOG) &&
	beampush push --from oci:$IMG:latest $REG/beam/python:latest >out &&
	test_grep -F "$REG/beam/python@$DIGEST" out &&
	log_since $mark $REG_LOG >second.log &&
	registry_requests second.log | grep " /v2/beam/python/" >second &&
	test_line_count = 1 second &&
	test_grep -E "^HEAD /v2/beam/python/manifests/latest 200$" second
'

test_expect_success REGISTRY 'chunked upload into distribution, and back' '
	start_registry &&
	no_docker_auth &&
	beampush push --chunk-size 65536 --from oci:$BIG:latest $REG/beam/python:latest &&
	registry_requests >reqs &&
	test "$(grep -c "^PATCH /v2/beam/python/blobs/uploads/[^ ]* 202$" reqs)" -ge 20 &&
	test_no_grep -E "^PATCH [^ ]* (4|5)[0-9][0-9]$" reqs &&
	for d in $(image_blobs $BIG latest); do
		cmp "$(blob_path_layout $BIG $d)" "$(blob_path_registry $d)" || exit 1
	done &&
	beampush pull --to oci:$PWD/pulled:latest $REG/beam/python:latest &&
	test_same_image $BIG pulled latest "$BIG_DIGEST"
'

test_expect_success REGISTRY 'pull of a missing tag or repository exits 4' '
	start_registry &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $REG/beam/python:latest &&
	test_expect_code 4 beampush --progress none pull --to oci:$PWD/pulled:latest $REG/beam/python:nosuchtag 2>err &&
	test_line_count = 1 err &&
	test_expect_code 4 beampush --progress none pull --to oci:$PWD/pulled:latest $REG/beam/nosuchrepo:latest 2>err &&
	test_line_count = 1 err &&
	layout_clean pulled
'

test_done
