#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Interop with skopeo through the real registry, both ways: the same bytes and digests.
. "$(dirname "$0")/lib.sh"
test_require_build

IMG=$T/img
DIGEST=$(make_image "$IMG" latest 3 20000) || test_fatal "mkimage failed"

test_expect_success REGISTRY,SKOPEO 'pushed with beampush, copied back by skopeo' '
	start_registry &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $REG/beam/python:latest &&
	skopeo inspect --raw --tls-verify=false docker://$REG/beam/python:latest >raw &&
	test "$(sha256_of raw)" = "$DIGEST" &&
	skopeo copy -q --src-tls-verify=false docker://$REG/beam/python:latest oci:$PWD/out:latest &&
	test_same_image $IMG out latest "$DIGEST"
'

test_expect_success REGISTRY,SKOPEO 'pushed with skopeo, pulled by beampush' '
	start_registry &&
	no_docker_auth &&
	skopeo copy -q --dest-tls-verify=false oci:$IMG:latest docker://$REG/beam/python:latest &&
	beampush pull --to oci:$PWD/pulled:latest $REG/beam/python:latest &&
	test_same_image $IMG pulled latest "$DIGEST" &&
	beampush pull --to oci:$PWD/pinned:latest $REG/beam/python@$DIGEST &&
	test_same_image $IMG pinned latest "$DIGEST"
'

test_expect_success REGISTRY,SKOPEO 'beampush pushes over what skopeo pushed, uploading nothing' '
	start_registry &&
	no_docker_auth &&
	skopeo copy -q --dest-tls-verify=false oci:$IMG:latest docker://$REG/beam/python:latest &&
	mark=$(log_mark $REG_LOG) &&
	beampush push --from oci:$IMG:latest $REG/beam/python:latest >out &&
	test_grep -F "$REG/beam/python@$DIGEST" out &&
	log_since $mark $REG_LOG >second.log &&
	test "$(registry_requests second.log | grep -c "^POST ")" = 0
'

test_done
