#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The real registry with htpasswd (bcrypt) Basic auth.
. "$(dirname "$0")/lib.sh"
test_require_build

IMG=$T/img
DIGEST=$(make_image "$IMG" latest 3 20000) || test_fatal "mkimage failed"

test_expect_success REGISTRY,HTPASSWD 'push and pull with htpasswd Basic auth' '
	start_registry "$(registry_htpasswd_auth alice pw)" &&
	test "$(curl -s -o /dev/null -w "%{http_code}" http://$REG/v2/)" = 401 &&
	docker_auth "$REG" alice pw &&
	beampush push --from oci:$IMG:latest $REG/beam/python:latest >out &&
	test_grep -F "$REG/beam/python@$DIGEST" out &&
	for d in $(image_blobs $IMG latest); do
		cmp "$(blob_path_layout $IMG $d)" "$(blob_path_registry $d)" || exit 1
	done &&
	beampush pull --to oci:$PWD/pulled:latest $REG/beam/python:latest &&
	test_same_image $IMG pulled latest "$DIGEST"
'

test_expect_success REGISTRY,HTPASSWD 'htpasswd: a wrong password or none exits 3' '
	start_registry "$(registry_htpasswd_auth alice pw)" &&
	docker_auth "$REG" alice pw &&
	beampush push --from oci:$IMG:latest $REG/beam/python:latest &&
	docker_auth "$REG" alice wrong &&
	test_expect_code 3 beampush --progress none pull --to oci:$PWD/pulled:latest $REG/beam/python:latest 2>err &&
	test_line_count = 1 err &&
	test_expect_code 3 beampush --progress none push --from oci:$IMG:latest $REG/beam/python:v2 2>err &&
	test_line_count = 1 err &&
	no_docker_auth &&
	test_expect_code 3 beampush --progress none pull --to oci:$PWD/pulled:latest $REG/beam/python:latest 2>err &&
	test_line_count = 1 err &&
	layout_clean pulled
'

test_done
