#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Cross-repository mount: a blob pushed to one repository of a registry is mounted, not
# uploaded, into another, with one token covering both; a refused mount falls back to an
# upload.
. "$(dirname "$0")/lib.sh"
test_require_build

IMG=$T/img
make_image "$IMG" latest 2 20000 >/dev/null || test_fatal "mkimage failed"
export XDG_CACHE_HOME=$T/cache

test_expect_success 'the second repository gets every blob by mount, none by upload' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush -q push --from "oci:$IMG:latest" "$MOCK/beam/python:latest" >/dev/null &&
	mark=$(log_mark) &&
	beampush --progress plain push --from "oci:$IMG:latest" "$MOCK/beam/java:latest" >out 2>err &&
	log_since $mark >second &&
	test "$(grep -cE "^POST /v2/beam/java/blobs/uploads/\?mount=sha256%3A[0-9a-f]{64}&from=beam%2Fpython 201" second)" = 3 &&
	test_no_grep -E "^(PATCH|PUT) /v2/beam/java/blobs/uploads/" second &&
	test_grep -E "^GET /token\?.*scope=repository%3Abeam%2Fjava%3Apull%2Cpush&scope=repository%3Abeam%2Fpython%3Apull" second &&
	test "$(grep -c "mounted from beam/python" err)" = 3 &&
	for d in $(image_blobs "$IMG" latest); do
		test -e "$MOCK_ROOT/repos/beam/java/_layers/${d#sha256:}" || exit 1
	done
'

test_expect_success 'a mount the registry will not do (202): the blob is uploaded into the session it opened' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush -q push --from "oci:$IMG:latest" "$MOCK/beam/python:latest" >/dev/null &&
	rm "$MOCK_ROOT"/repos/beam/python/_layers/* &&
	mark=$(log_mark) &&
	beampush -q push --from "oci:$IMG:latest" "$MOCK/beam/go:latest" >out 2>err &&
	log_since $mark >second &&
	test "$(grep -cE "^POST /v2/beam/go/blobs/uploads/\?mount=.* 202" second)" = 3 &&
	test_no_grep -E "^POST /v2/beam/go/blobs/uploads/ " second &&
	test_no_grep -E "^DELETE " second &&
	test "$(grep -cE "^PUT /v2/beam/go/blobs/uploads/.* 201" second)" = 3 &&
	for d in $(image_blobs "$IMG" latest); do
		cmp "$(blob_path_layout "$IMG" "$d")" "$(blob_path_mock "$d")" || exit 1
	done &&
	test_grep -E "^PUT /v2/beam/go/manifests/latest 201" second
'

test_done
