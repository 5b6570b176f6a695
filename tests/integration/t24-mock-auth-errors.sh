#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Authentication refused: exit 3, one message, nothing kept.
. "$(dirname "$0")/lib.sh"
test_require_build

IMG=$T/img
DIGEST=$(make_image "$IMG" latest 2) || test_fatal "mkimage failed"

test_expect_success 'token auth: a wrong password exits 3, for push and pull' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
	docker_auth "$MOCK" alice wrong &&
	test_expect_code 3 beampush --progress none push --from oci:$IMG:latest $MOCK/beam/python:v2 >out 2>err &&
	test_line_count = 1 err &&
	test ! -e $MOCK_ROOT/repos/beam/python/_tags/v2 &&
	test_expect_code 3 beampush --progress none pull --to oci:$PWD/pulled:latest $MOCK/beam/python:latest 2>err &&
	test_line_count = 1 err &&
	layout_clean pulled
'

test_expect_success 'token auth: no credentials where anonymous access is refused exits 3' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
	no_docker_auth &&
	test_expect_code 3 beampush --progress none pull --to oci:$PWD/pulled:latest $MOCK/beam/python:latest 2>err &&
	test_line_count = 1 err &&
	test_expect_code 3 beampush --progress none push --from oci:$IMG:latest $MOCK/beam/python:v2 2>err &&
	test_line_count = 1 err
'

test_expect_success 'token auth: anonymous pull allowed, anonymous push refused' '
	start_mock --auth token --user alice:pw --anonymous pull &&
	docker_auth "$MOCK" alice pw &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
	no_docker_auth &&
	beampush pull --to oci:$PWD/pulled:latest $MOCK/beam/python:latest &&
	test_same_image $IMG pulled latest "$DIGEST" &&
	test_expect_code 3 beampush --progress none push --from oci:$IMG:latest $MOCK/beam/python:v2 2>err &&
	test_line_count = 1 err &&
	test ! -e $MOCK_ROOT/repos/beam/python/_tags/v2
'

test_expect_success 'token auth: a user allowed only to pull cannot push' '
	start_mock --auth token --user alice:pw --user bob:pw2:pull &&
	docker_auth "$MOCK" alice pw &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
	docker_auth "$MOCK" bob pw2 &&
	beampush pull --to oci:$PWD/pulled:latest $MOCK/beam/python:latest &&
	test_same_image $IMG pulled latest "$DIGEST" &&
	test_expect_code 3 beampush --progress none push --from oci:$IMG:latest $MOCK/beam/python:v2 2>err &&
	test_line_count = 1 err
'

test_done
