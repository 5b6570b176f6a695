#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# beampush copy: registry to registry through memory. Blobs are streamed from the source into
# the destination and committed only when they hash right; within one registry they are
# mounted; an index goes whole unless --platform picks one image; errors name their side.
. "$(dirname "$0")/lib.sh"
test_require_build

IMG=$T/img
MULTI=$T/multi
make_image "$IMG" latest 3 30000 >/dev/null || test_fatal "mkimage failed"
INDEX=$("$TEST_ROOT/scripts/mkindex" "$MULTI" latest linux/amd64 linux/arm64/v8) ||
	test_fatal "mkindex failed"
export XDG_CACHE_HOME=$T/cache
IMG_DIGEST=$(layout_digest "$IMG" latest)

# two registries with token auth, alice on the source, bob on the destination
two_mocks() {
	start_mock --auth token --user alice:pw "$@" &&
	SRC=$MOCK SRC_ROOT=$MOCK_ROOT SRC_LOG=$MOCK_LOG &&
	start_mock --auth token --user bob:pw2 &&
	DST=$MOCK DST_ROOT=$MOCK_ROOT DST_LOG=$MOCK_LOG &&
	docker_auth "$SRC" alice pw "$DST" bob pw2 &&
	beampush -q push --from "oci:$IMG:latest" "$SRC/beam/python:2.55" >/dev/null
}

two_mocks >/dev/null || test_fatal "cannot start the registries"
beampush -q push --from "oci:$MULTI:latest" "$SRC/beam/python:multi" >/dev/null ||
	test_fatal "cannot push the index"

test_expect_success 'copy between two registries: the same manifest, the same bytes, nothing mounted' '
	beampush copy "$SRC/beam/python:2.55" "$DST/mirror/python:latest" >out 2>err &&
	test_grep "^digest: $IMG_DIGEST\$" out &&
	test_grep "^pinned: $DST/mirror/python@$IMG_DIGEST\$" out &&
	for d in $(image_blobs "$IMG" latest); do
		cmp "$(blob_path_layout "$IMG" "$d")" "$DST_ROOT/blobs/sha256/${d#sha256:}" || exit 1
		test_grep -E "^GET /v2/beam/python/blobs/$d 200" "$SRC_LOG" || exit 1
	done &&
	test_grep -E "^PUT /v2/mirror/python/manifests/latest 201" "$DST_LOG" &&
	test_no_grep "mount=" "$DST_LOG" &&
	beampush -q pull --to "oci:$T/back:latest" "$DST/mirror/python:latest" >/dev/null &&
	test_same_image "$IMG" "$T/back" latest "$IMG_DIGEST"
'

test_expect_success 'copying again moves no blob: the destination has them' '
	mark=$(wc -l <"$DST_LOG") &&
	beampush --progress plain copy "$SRC/beam/python:2.55" "$DST/mirror/python:latest" >out 2>err &&
	tail -n +$((mark + 1)) "$DST_LOG" >again &&
	test_no_grep -E "^(POST|PATCH) " again &&
	test "$(grep -c "already exists" err)" = 4
'

test_expect_success 'within one registry, blobs are mounted from the source repository, not moved' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush -q push --from "oci:$IMG:latest" "$MOCK/beam/python:2.55" >/dev/null &&
	mark=$(log_mark) &&
	beampush --progress plain copy "$MOCK/beam/python:2.55" "$MOCK/release/python:2.55" >out 2>err &&
	log_since $mark >log &&
	test "$(grep -cE "^POST /v2/release/python/blobs/uploads/\?mount=sha256%3A[0-9a-f]{64}&from=beam%2Fpython 201" log)" = 4 &&
	test_no_grep -E "^GET /v2/beam/python/blobs/" log &&
	test_no_grep -E "^(PATCH|PUT) /v2/release/python/blobs/" log &&
	test "$(grep -c "mounted from beam/python" err)" = 4 &&
	test_grep "^digest: $IMG_DIGEST\$" out
'

test_expect_success 'an index is copied whole: every platform, then the index under the tag' '
	beampush -q copy "$SRC/beam/python:multi" "$DST/mirror/python:multi" >out &&
	test "$(cat out)" = "$INDEX" &&
	for m in $(grep -o "sha256:[0-9a-f]\{64\}" "$(blob_path_layout "$MULTI" "$INDEX")"); do
		test_grep -E "^PUT /v2/mirror/python/manifests/$m 201" "$DST_LOG" || exit 1
		for d in $(grep -o "sha256:[0-9a-f]\{64\}" "$(blob_path_layout "$MULTI" "$m")"); do
			cmp "$(blob_path_layout "$MULTI" "$d")" "$DST_ROOT/blobs/sha256/${d#sha256:}" || exit 1
		done
	done &&
	test_grep -E "^PUT /v2/mirror/python/manifests/multi 201" "$DST_LOG" &&
	beampush -q pull --all-platforms --to "oci:$T/all:multi" "$DST/mirror/python:multi" >out &&
	test "$(cat out)" = "$INDEX" && layout_check "$T/all" && layout_contains "$MULTI" "$T/all"
'

test_expect_success '--platform copies one image of an index under the tag' '
	arm=$(grep -o "sha256:[0-9a-f]\{64\}\",\"size\":[0-9]*,\"platform\":{\"architecture\":\"arm64\"" \
		"$(blob_path_layout "$MULTI" "$INDEX")" | cut -d\" -f1) &&
	test -n "$arm" &&
	beampush -q --platform linux/arm64 copy "$SRC/beam/python:multi" "$DST/mirror/python:arm" >out &&
	test "$(cat out)" = "$arm" &&
	test_grep -E "^PUT /v2/mirror/python/manifests/arm 201" "$DST_LOG"
'

test_expect_success 'a platform the index does not offer: exit 4, and what it offers' '
	test_expect_code 4 beampush --platform linux/s390x copy "$SRC/beam/python:multi" \
		"$DST/mirror/python:s390x" 2>err &&
	test_grep "linux/s390x" err && test_grep "linux/amd64" err && test_grep "linux/arm64" err
'

test_expect_success 'credentials refused by the destination: exit 3, and the message names it' '
	two_mocks &&
	docker_auth "$SRC" alice pw "$DST" bob wrong &&
	test_expect_code 3 beampush copy "$SRC/beam/python:2.55" "$DST/mirror/python:latest" 2>err &&
	test_grep "destination $DST/mirror/python" err &&
	test_no_grep -E "^PUT " "$DST_LOG"
'

test_expect_success 'credentials refused by the source: exit 3, and the message names it' '
	two_mocks &&
	docker_auth "$SRC" alice wrong "$DST" bob pw2 &&
	test_expect_code 3 beampush copy "$SRC/beam/python:2.55" "$DST/mirror/python:latest" 2>err &&
	test_grep "source $SRC/beam/python" err &&
	test_no_grep -E "^(PUT|PATCH|POST) /v2/" "$DST_LOG"
'

test_expect_success 'a source blob that does not hash to its digest: exit 5, the destination keeps nothing' '
	two_mocks &&
	layer=$(image_blobs "$IMG" latest | tail -n 1) &&
	flip_byte "$SRC_ROOT/blobs/sha256/${layer#sha256:}" &&
	test_expect_code 5 beampush copy "$SRC/beam/python:2.55" "$DST/mirror/python:latest" 2>err &&
	test_grep "source $SRC/beam/python: blob $layer: the bytes hash to sha256:" err &&
	test ! -e "$DST_ROOT/blobs/sha256/${layer#sha256:}" &&
	test_no_grep -E "^PUT /v2/mirror/python/blobs/uploads/.*digest=${layer/:/%3A}" "$DST_LOG" &&
	test_no_grep -E "^PUT /v2/mirror/python/manifests/" "$DST_LOG"
'

test_expect_success 'a download cut off in the middle goes on from where it stopped' '
	two_mocks --cut-download-after 5000 &&
	beampush -q copy "$SRC/beam/python:2.55" "$DST/mirror/python:latest" >out 2>err &&
	test "$(cat out)" = "$IMG_DIGEST" &&
	test_grep -E "range=bytes=5000-" "$SRC_LOG" &&
	for d in $(image_blobs "$IMG" latest); do
		cmp "$(blob_path_layout "$IMG" "$d")" "$DST_ROOT/blobs/sha256/${d#sha256:}" || exit 1
	done
'

test_expect_success 'between two docker-registry instances, then pulled back verified' '
	start_registry >/dev/null && A=$REG &&
	start_registry >/dev/null && B=$REG &&
	no_docker_auth &&
	beampush -q push --from "oci:$MULTI:latest" "$A/beam/python:multi" >/dev/null &&
	beampush -q copy "$A/beam/python:multi" "$B/beam/python:multi" >out &&
	test "$(cat out)" = "$INDEX" &&
	beampush -q pull --all-platforms --to "oci:$T/reg:multi" "$B/beam/python:multi" >out &&
	test "$(cat out)" = "$INDEX" && layout_contains "$MULTI" "$T/reg"
'

test_expect_success 'usage errors: exit 2' '
	test_expect_code 2 beampush copy "$T" 2>err && test_grep "expected SRC-REF and DST-REF" err &&
	test_expect_code 2 beampush copy "a:b:c:d" "x/y" 2>err &&
	beampush copy --help >out && test_grep "usage: beampush .*copy .*SRC-REF DST-REF" out
'

test_done
