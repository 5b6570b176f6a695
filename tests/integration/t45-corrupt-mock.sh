#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Corrupted bytes in the registry's storage: pull exits 5 and keeps nothing unverified.
. "$(dirname "$0")/lib.sh"
test_require_build

IMG=$T/img
DIGEST=$(make_image "$IMG" latest 3 20000) || test_fatal "mkimage failed"
CONFIG=$(image_blobs "$IMG" latest | head -n 1)
LAYER=$(image_blobs "$IMG" latest | sed -n 3p)

# pull_must_fail_integrity REF: pull exits 5 with one message; the destination keeps no
# unverified file and no tag.
pull_must_fail_integrity() {
	test_expect_code 5 beampush --progress none pull --to oci:$PWD/pulled:latest "$1" >out 2>err &&
	test_line_count = 1 err &&
	layout_clean pulled &&
	test -z "$(layout_digest pulled latest)"
}

test_expect_success 'a corrupted layer: pull exits 5, the bad blob is not kept' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
	flip_byte "$(blob_path_mock $LAYER)" &&
	pull_must_fail_integrity $MOCK/beam/python:latest &&
	test ! -e "$(blob_path_layout pulled $LAYER)" &&
	grep -q "${LAYER#sha256:}" err
'

test_expect_success 'a corrupted config: pull exits 5' '
	start_mock --auth none &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
	flip_byte "$(blob_path_mock $CONFIG)" 10 &&
	pull_must_fail_integrity $MOCK/beam/python:latest &&
	test ! -e "$(blob_path_layout pulled $CONFIG)"
'

test_expect_success 'a corrupted manifest: pull by digest exits 5' '
	start_mock --auth none &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
	m=$MOCK_ROOT/repos/beam/python/_manifests/${DIGEST#sha256:} &&
	test -f "$m" &&
	sed "s/\"schemaVersion\":2/\"schemaVersion\": 2/" "$m" >m.new &&
	! cmp -s "$m" m.new &&
	cat m.new >"$m" &&
	pull_must_fail_integrity $MOCK/beam/python@$DIGEST &&
	test ! -e "$(blob_path_layout pulled $DIGEST)"
'

test_expect_success 'a truncated layer: pull exits 5' '
	start_mock --auth none &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
	f=$(blob_path_mock $LAYER) &&
	head -c 1000 "$f" >short && cat short >"$f" &&
	pull_must_fail_integrity $MOCK/beam/python:latest
'

test_expect_success 'after the registry is repaired, the same pull succeeds' '
	start_mock --auth none &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
	flip_byte "$(blob_path_mock $LAYER)" &&
	pull_must_fail_integrity $MOCK/beam/python:latest &&
	flip_byte "$(blob_path_mock $LAYER)" &&
	beampush pull --to oci:$PWD/pulled:latest $MOCK/beam/python:latest &&
	test_same_image $IMG pulled latest "$DIGEST"
'

test_done
