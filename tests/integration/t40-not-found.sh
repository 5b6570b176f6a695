#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What is not there: exit 4 with one message, and nothing written.
. "$(dirname "$0")/lib.sh"
test_require_build

IMG=$T/img
DIGEST=$(make_image "$IMG" latest 2) || test_fatal "mkimage failed"
NOSUCH=sha256:0000000000000000000000000000000000000000000000000000000000000000

test_expect_success 'pull of a missing tag exits 4' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
	test_expect_code 4 beampush --progress none pull --to oci:$PWD/pulled:latest $MOCK/beam/python:nosuchtag >out 2>err &&
	test_line_count = 1 err &&
	grep -q nosuchtag err &&
	test -z "$(layout_digest pulled latest)" &&
	layout_clean pulled
'

test_expect_success 'pull from a missing repository exits 4' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	test_expect_code 4 beampush --progress none pull --to oci:$PWD/pulled:latest $MOCK/beam/nosuchrepo:latest 2>err &&
	test_line_count = 1 err &&
	layout_clean pulled
'

test_expect_success 'pull of a missing digest exits 4' '
	start_mock --auth none &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
	test_expect_code 4 beampush --progress none pull --to oci:$PWD/pulled:latest $MOCK/beam/python@$NOSUCH 2>err &&
	test_line_count = 1 err &&
	layout_clean pulled
'

test_expect_success 'push of a tag missing from the source layout exits 4 and names it' '
	start_mock --auth none &&
	no_docker_auth &&
	test_expect_code 4 beampush --progress none push --from oci:$IMG:nosuchtag $MOCK/beam/python:latest 2>err &&
	test_line_count = 1 err &&
	grep -q nosuchtag err &&
	test "$(count_log "^PUT ")" = 0
'

test_done
