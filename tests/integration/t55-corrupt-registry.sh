#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A blob corrupted in the real registry's storage: pull exits 5 and keeps nothing unverified.
. "$(dirname "$0")/lib.sh"
test_require_build

IMG=$T/img
DIGEST=$(make_image "$IMG" latest 3 20000) || test_fatal "mkimage failed"
LAYER=$(image_blobs "$IMG" latest | sed -n 2p)
CONFIG=$(image_blobs "$IMG" latest | head -n 1)

test_expect_success REGISTRY 'a corrupted layer in distribution storage: pull exits 5' '
	start_registry &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $REG/beam/python:latest &&
	flip_byte "$(blob_path_registry $LAYER)" &&
	test_expect_code 5 beampush --progress none pull --to oci:$PWD/pulled:latest $REG/beam/python:latest >out 2>err &&
	test_line_count = 1 err &&
	test ! -e "$(blob_path_layout pulled $LAYER)" &&
	test -z "$(layout_digest pulled latest)" &&
	layout_clean pulled
'

test_expect_success REGISTRY 'a corrupted config in distribution storage: pull exits 5' '
	start_registry &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $REG/beam/python:latest &&
	flip_byte "$(blob_path_registry $CONFIG)" 5 &&
	test_expect_code 5 beampush --progress none pull --to oci:$PWD/pulled:latest $REG/beam/python:latest 2>err &&
	test_line_count = 1 err &&
	test ! -e "$(blob_path_layout pulled $CONFIG)" &&
	layout_clean pulled
'

test_done
