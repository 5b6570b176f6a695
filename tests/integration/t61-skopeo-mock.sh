#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Interop with skopeo through the mock registry with token auth, both ways: a check of the mock
# as much as of beampush.
. "$(dirname "$0")/lib.sh"
test_require_build

IMG=$T/img
DIGEST=$(make_image "$IMG" latest 3 20000) || test_fatal "mkimage failed"

test_expect_success SKOPEO 'pushed with beampush to the mock, copied back by skopeo' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
	skopeo copy -q --src-tls-verify=false --src-creds alice:pw \
		docker://$MOCK/beam/python:latest oci:$PWD/out:latest &&
	test_same_image $IMG out latest "$DIGEST"
'

test_expect_success SKOPEO 'pushed with skopeo to the mock, pulled by beampush' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	skopeo copy -q --dest-tls-verify=false --dest-creds alice:pw \
		oci:$IMG:latest docker://$MOCK/beam/python:latest &&
	beampush pull --to oci:$PWD/pulled:latest $MOCK/beam/python:latest &&
	test_same_image $IMG pulled latest "$DIGEST"
'

test_done
