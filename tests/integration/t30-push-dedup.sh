#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A push of what the registry already has uploads nothing: HEAD each blob, then PUT the manifest.
# Every blob is asked about before any upload starts.
. "$(dirname "$0")/lib.sh"
test_require_build

IMG=$T/img
DIGEST=$(make_image "$IMG" latest 3 20000) || test_fatal "mkimage failed"
NBLOBS=$(image_blobs "$IMG" latest | wc -l)

# second_push_only_heads TAG: the requests logged since $mark for the repository are HEADs of
# every blob, then one manifest PUT for TAG, last.
second_push_only_heads() {
	log_since "$mark" | grep " /v2/beam/python/" >second &&
	test_no_grep -E "^(POST|PATCH) " second &&
	test_no_grep -E "^PUT /v2/beam/python/blobs/" second &&
	grep -v "^HEAD " second >not-head &&
	test_line_count = 1 not-head &&
	test_grep -E "^PUT /v2/beam/python/manifests/$1 201 " not-head &&
	tail -n 1 second | grep -qE "^PUT /v2/beam/python/manifests/$1 201 " &&
	for d in $(image_blobs "$IMG" latest); do
		test_grep -E "^HEAD /v2/beam/python/blobs/$d 200 " second || return 1
	done
}

test_expect_success 'a second push of the same image to the same tag: one HEAD of the manifest, nothing else' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
	test "$(count_log "^POST /v2/beam/python/blobs/uploads/")" = "$NBLOBS" &&
	mark=$(log_mark) &&
	beampush --progress plain push --from oci:$IMG:latest $MOCK/beam/python:latest >out 2>err &&
	test_grep -F "$MOCK/beam/python@$DIGEST" out &&
	log_since "$mark" | grep " /v2/beam/python/" >second &&
	test_line_count = 1 second &&
	test_grep -E "^HEAD /v2/beam/python/manifests/latest 200 " second &&
	test "$(grep -c "already exists" err)" = "$NBLOBS"
'

test_expect_success 'the tag names another manifest: every blob is HEADed and the manifest put' '
	start_mock --auth none &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
	make_image --seed 3 other latest 1 2000 >/dev/null &&
	beampush push --from oci:$PWD/other:latest $MOCK/beam/python:latest &&
	mark=$(log_mark) &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest >out &&
	test_grep -E "^HEAD /v2/beam/python/manifests/latest 200 " "$MOCK_LOG" &&
	second_push_only_heads latest &&
	test "$(cat $MOCK_ROOT/repos/beam/python/_tags/latest)" = "$DIGEST"
'

test_expect_success 'the same image under a new tag uploads no blob either' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
	mark=$(log_mark) &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:2.60.0 >out &&
	test_grep -F "$MOCK/beam/python@$DIGEST" out &&
	second_push_only_heads 2.60.0 &&
	test "$(cat $MOCK_ROOT/repos/beam/python/_tags/2.60.0)" = "$DIGEST" &&
	beampush pull --to oci:$PWD/pulled:2.60.0 $MOCK/beam/python:2.60.0 &&
	test_same_image $IMG pulled 2.60.0 "$DIGEST"
'

test_expect_success 'an image sharing base layers uploads only the blobs that are new' '
	start_mock --auth none &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
	d4=$(make_image img4 latest 4 20000) &&
	image_blobs $IMG latest | sort >old &&
	image_blobs img4 latest | sort >new &&
	comm -13 old new >fresh &&
	test "$(comm -12 old new | wc -l)" = 2 &&
	mark=$(log_mark) &&
	beampush push --from oci:$PWD/img4:latest $MOCK/beam/python:next &&
	log_since $mark >second &&
	test "$(grep -c "^POST /v2/beam/python/blobs/uploads/" second)" = "$(wc -l <fresh)" &&
	for d in $(comm -12 old new); do
		test_no_grep -E "^(PUT|PATCH) [^ ]*digest=$d" second || exit 1
	done &&
	for d in $(cat fresh); do
		cmp "$(blob_path_layout img4 $d)" "$(blob_path_mock $d)" || exit 1
	done &&
	beampush pull --to oci:$PWD/pulled:next $MOCK/beam/python:next &&
	test_same_image img4 pulled next "$d4"
'

test_expect_success 'every blob is HEADed before the first upload starts, each once (--jobs 1)' '
	start_mock --auth none --monolithic-post drop &&
	no_docker_auth &&
	d8=$(make_image img8 latest 8 20000) &&
	beampush --jobs 1 push --from oci:$PWD/img8:latest $MOCK/beam/python:latest &&
	grep -nE "^(HEAD|POST) /v2/beam/python/blobs/" $MOCK_LOG >order &&
	first_post=$(grep -m1 ":POST " order | cut -d: -f1) &&
	last_head=$(grep ":HEAD " order | tail -n 1 | cut -d: -f1) &&
	test -n "$first_post" && test -n "$last_head" &&
	test "$last_head" -lt "$first_post" &&
	test "$(grep -c ":HEAD " order)" = 9 &&
	test "$(grep -c ":POST " order)" = 9 &&
	beampush pull --to oci:$PWD/pulled8:latest $MOCK/beam/python:latest &&
	test_same_image img8 pulled8 latest "$d8"
'

test_done
