#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Push and pull against the mock registry with Docker token auth (the common case: Docker Hub,
# GCR, Artifactory).
. "$(dirname "$0")/lib.sh"
test_require_build

IMG=$T/img
DIGEST=$(make_image "$IMG" latest 3 20000) || test_fatal "mkimage failed"

test_expect_success 'push prints the digest and the digest-pinned reference' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest >out 2>err &&
	test_grep -F "$DIGEST" out &&
	test_grep -F "$MOCK/beam/python@$DIGEST" out
'

test_expect_success 'push stores every blob and the manifest byte for byte, with bearer tokens' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest >out &&
	for d in $(image_blobs $IMG latest); do
		cmp "$(blob_path_layout $IMG $d)" "$(blob_path_mock $d)" || exit 1
	done &&
	cmp "$(blob_path_layout $IMG $DIGEST)" "$MOCK_ROOT/repos/beam/python/_manifests/${DIGEST#sha256:}" &&
	test "$(cat $MOCK_ROOT/repos/beam/python/_tags/latest)" = "$DIGEST" &&
	test "$(count_log "^PUT /v2/beam/python/manifests/latest 201 auth=bearer:alice ct=application/vnd.oci.image.manifest.v1\+json ")" = 1 &&
	test "$(count_log " auth=bad ")" = 0
'

test_expect_success 'pull gives back the same image, byte for byte' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
	beampush pull --to oci:$PWD/pulled:latest $MOCK/beam/python:latest >out 2>err &&
	test_same_image $IMG pulled latest "$DIGEST" &&
	test "$(count_log "^GET /v2/beam/python/manifests/latest 200 auth=bearer:alice ")" -ge 1
'

test_expect_success 'pull by digest' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
	beampush pull --to oci:$PWD/pulled:pinned $MOCK/beam/python@$DIGEST &&
	test_same_image $IMG pulled pinned "$DIGEST" &&
	test "$(count_log "^GET /v2/beam/python/manifests/$DIGEST 200 ")" -ge 1
'

test_expect_success 'pull into a layout that has another image keeps it' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
	other=$(make_image --seed 7 --sdk java pulled v0 2) &&
	beampush pull --to oci:$PWD/pulled:latest $MOCK/beam/python:latest &&
	test_same_image $IMG pulled latest "$DIGEST" &&
	test "$(layout_digest pulled v0)" = "$other"
'

test_expect_success '--digestfile writes the pushed digest (push option and global option)' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush push --digestfile $PWD/d1 --from oci:$IMG:latest $MOCK/beam/python:latest &&
	test "$(cat d1)" = "$DIGEST" &&
	beampush --digestfile $PWD/d2 push --from oci:$IMG:latest $MOCK/beam/python:v2 &&
	test "$(cat d2)" = "$DIGEST"
'

test_expect_success 'push -q prints the digest alone' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush -q push --from oci:$IMG:latest $MOCK/beam/python:latest >out &&
	echo "$DIGEST" >want &&
	test_cmp want out
'

test_expect_success '--debug and errors never show the password' '
	secret=s3cr3t-Pa55w0rd &&
	start_mock --auth token --user alice:$secret &&
	docker_auth "$MOCK" alice $secret &&
	beampush --debug push --from oci:$IMG:latest $MOCK/beam/python:latest >out 2>err &&
	beampush --debug pull --to oci:$PWD/pulled:latest $MOCK/beam/python:latest >>out 2>>err &&
	test -s err &&
	b64=$(printf "alice:%s" $secret | base64 -w0) &&
	test_no_grep -F -e "$secret" -e "$b64" out &&
	test_no_grep -F -e "$secret" -e "$b64" err &&
	docker_auth "$MOCK" alice wrong-$secret &&
	test_expect_code 3 beampush --progress none --debug pull --to oci:$PWD/p2:latest $MOCK/beam/python:latest >out 2>err &&
	test_no_grep -F -e "$secret" out err
'

test_done
