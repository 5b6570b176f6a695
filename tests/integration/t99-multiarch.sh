#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Multi-platform images: an OCI layout or a Docker 25+ archive holding an index (or a Docker
# manifest list) is pushed whole; a pull picks one platform (--platform) or keeps the whole
# index (--all-platforms).
. "$(dirname "$0")/lib.sh"
test_require_build

OCI=$T/oci
LIST=$T/list
INDEX=$("$TEST_ROOT/scripts/mkindex" "$OCI" latest linux/amd64 linux/arm64/v8) ||
	test_fatal "mkindex failed"
LISTD=$("$TEST_ROOT/scripts/mkindex" --docker "$LIST" latest linux/amd64 linux/arm64/v8) ||
	test_fatal "mkindex failed"
export XDG_CACHE_HOME=$T/cache

# platform_digest LAYOUT INDEX ARCH: the digest of ARCH's manifest in the index
platform_digest() {
	grep -o "sha256:[0-9a-f]\{64\}\",\"size\":[0-9]*,\"platform\":{\"architecture\":\"$3\"" \
		"$(blob_path_layout "$1" "$2")" | cut -d\" -f1
}
AMD=$(platform_digest "$OCI" "$INDEX" amd64)
ARM=$(platform_digest "$OCI" "$INDEX" arm64)
[ -n "$AMD" ] && [ -n "$ARM" ] || test_fatal "no platforms in the index"

start_mock >/dev/null || test_fatal "cannot start the mock registry"
beampush -q push --from "oci:$OCI:latest" "$MOCK/beam/python:latest" >"$T/pushed" ||
	test_fatal "cannot push the index"

test_expect_success 'an index is pushed whole: each platform by digest, then the index under the tag' '
	test "$(cat "$T/pushed")" = "$INDEX" &&
	amd_put=$(grep -n "^PUT /v2/beam/python/manifests/$AMD 201" "$MOCK_LOG" | cut -d: -f1) &&
	arm_put=$(grep -n "^PUT /v2/beam/python/manifests/$ARM 201" "$MOCK_LOG" | cut -d: -f1) &&
	tag_put=$(grep -n "^PUT /v2/beam/python/manifests/latest 201" "$MOCK_LOG" | cut -d: -f1) &&
	test -n "$amd_put" && test -n "$arm_put" && test -n "$tag_put" &&
	test "$amd_put" -lt "$tag_put" && test "$arm_put" -lt "$tag_put" &&
	curl -sf -H "Accept: application/vnd.oci.image.index.v1+json" \
		"http://$MOCK/v2/beam/python/manifests/latest" >got &&
	cmp got "$(blob_path_layout "$OCI" "$INDEX")"
'

test_expect_success 'pull --platform linux/arm64 keeps that image, tagged' '
	beampush -q --platform linux/arm64 pull --to "oci:$T/arm:latest" "$MOCK/beam/python:latest" >out &&
	test "$(cat out)" = "$ARM" &&
	test "$(layout_digest "$T/arm" latest)" = "$ARM" && layout_check "$T/arm" &&
	for d in $ARM $(grep -o "sha256:[0-9a-f]\{64\}" "$(blob_path_layout "$OCI" "$ARM")"); do
		cmp "$(blob_path_layout "$OCI" "$d")" "$(blob_path_layout "$T/arm" "$d")" || exit 1
	done &&
	test ! -e "$(blob_path_layout "$T/arm" "$AMD")"
'

test_expect_success 'pull without --platform takes this machine'"'"'s platform (linux/amd64 here)' '
	test "$(uname -m)" = x86_64 || exit 0
	beampush -q pull --to "oci:$T/mine:latest" "$MOCK/beam/python:latest" >out &&
	test "$(cat out)" = "$AMD"
'

test_expect_success 'pull --all-platforms keeps the index and every platform, verified' '
	beampush -q pull --all-platforms --to "oci:$T/all:latest" "$MOCK/beam/python:latest" >out &&
	test "$(cat out)" = "$INDEX" &&
	test_same_image "$OCI" "$T/all" latest "$INDEX" &&
	for m in "$AMD" "$ARM"; do
		for d in $(grep -o "sha256:[0-9a-f]\{64\}" "$(blob_path_layout "$OCI" "$m")"); do
			cmp "$(blob_path_layout "$OCI" "$d")" "$(blob_path_layout "$T/all" "$d")" || exit 1
		done
	done
'

test_expect_success 'pulling every platform again fetches no blob' '
	mark=$(log_mark) &&
	beampush -q pull --all-platforms --to "oci:$T/all:latest" "$MOCK/beam/python:latest" >out &&
	log_since $mark >again &&
	test_no_grep -E "^GET /v2/beam/python/blobs/" again
'

test_expect_success 'a corrupt blob of one platform fails the whole --all-platforms pull with exit 5' '
	layer=$(grep -o "sha256:[0-9a-f]\{64\}" "$(blob_path_layout "$OCI" "$ARM")" | tail -n 1) &&
	cp "$(blob_path_mock "$layer")" "$T/saved" &&
	flip_byte "$(blob_path_mock "$layer")" &&
	test_expect_code 5 beampush -q pull --all-platforms --to "oci:$T/bad:latest" \
		"$MOCK/beam/python:latest" 2>err &&
	cp "$T/saved" "$(blob_path_mock "$layer")" &&
	test_grep "$layer" err &&
	test ! -e "$(blob_path_layout "$T/bad" "$layer")" &&
	test "$(layout_digest "$T/bad" latest)" = ""
'

test_expect_success 'a platform the index does not offer: exit 4, naming those it offers' '
	test_expect_code 4 beampush --platform linux/s390x pull --to "oci:$T/none:latest" \
		"$MOCK/beam/python:latest" 2>err &&
	test_grep "linux/s390x" err && test_grep "linux/amd64" err && test_grep "linux/arm64/v8" err
'

test_expect_success '--all-platforms needs an OCI layout, and excludes --platform: exit 2' '
	test_expect_code 2 beampush pull --all-platforms --to "docker-archive:$T/a.tar" \
		"$MOCK/beam/python:latest" 2>err &&
	test_grep "oci:DIR" err &&
	test_expect_code 2 beampush --platform linux/arm64 pull --all-platforms --to "oci:$T/x" \
		"$MOCK/beam/python:latest" 2>err &&
	test_grep "exclude each other" err
'

test_expect_success 'a Docker manifest list is pushed whole and pulled back with its media type' '
	beampush -q push --from "oci:$LIST:latest" "$MOCK/beam/java:latest" >out &&
	test "$(cat out)" = "$LISTD" &&
	test_grep -E "^PUT /v2/beam/java/manifests/latest 201 .*ct=application/vnd.docker.distribution.manifest.list.v2\+json" "$MOCK_LOG" &&
	beampush -q pull --all-platforms --to "oci:$T/list:latest" "$MOCK/beam/java:latest" >out &&
	test "$(cat out)" = "$LISTD" && test_same_image "$LIST" "$T/list" latest "$LISTD"
'

test_expect_success 'skopeo reads the index beampush pushed to docker-registry, every platform' '
	test_have_prereq skopeo || exit 0
	start_registry >/dev/null &&
	beampush -q push --from "oci:$OCI:latest" "$REG/beam/python:latest" >out &&
	test "$(cat out)" = "$INDEX" &&
	skopeo inspect --raw --tls-verify=false "docker://$REG/beam/python:latest" >raw &&
	cmp raw "$(blob_path_layout "$OCI" "$INDEX")" &&
	skopeo copy -q --all --src-tls-verify=false "docker://$REG/beam/python:latest" "oci:$T/sk:latest" &&
	layout_contains "$OCI" "$T/sk"
'

# config_of LAYOUT MANIFEST: the config digest a manifest of the layout names
config_of() {
	tr -d " \n" <"$(blob_path_layout "$1" "$2")" | grep -o "\"config\":{[^}]*}" |
		grep -o "sha256:[0-9a-f]\{64\}"
}

# pushed_config HOST/REPO:TAG: the config digest of the image manifest the mock serves
pushed_config() {
	local ref=$1
	curl -sf -H "Accept: application/vnd.oci.image.manifest.v1+json" \
		-H "Accept: application/vnd.docker.distribution.manifest.v2+json" \
		"http://${ref%%/*}/v2/$(echo "${ref#*/}" | cut -d: -f1)/manifests/${ref##*:}" |
		tr -d " \n" | grep -o "\"config\":{[^}]*}" | grep -o "sha256:[0-9a-f]\{64\}"
}

# docker_archive LAYOUT FILE: the layout as `docker save` (Docker 25+) writes a multi-platform
# image: oci-layout, index.json naming it docker.io/beam/python:latest, blobs/sha256
docker_archive() {
	local idx size
	idx=$(layout_digest "$1" latest)
	size=$(file_size "$(blob_path_layout "$1" "$idx")")
	mkdir -p "$T/arch" && rm -rf "$T/arch"/* &&
	cp -R "$1/blobs" "$1/oci-layout" "$T/arch/" &&
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"%s","size":%s,"annotations":{"io.containerd.image.name":"docker.io/beam/python:latest","org.opencontainers.image.ref.name":"latest"}}]}' \
		"$idx" "$size" >"$T/arch/index.json" &&
	tar -C "$T/arch" -cf "$2" oci-layout index.json blobs
}

test_expect_success 'a Docker 25+ archive of a multi-platform image is pushed whole, digests kept' '
	docker_archive "$OCI" multi.tar &&
	beampush -q push --from "docker-archive:$PWD/multi.tar" "$MOCK/beam/archive:latest" >out &&
	test "$(cat out)" = "$INDEX" &&
	test_grep -E "^PUT /v2/beam/archive/manifests/$AMD 201" "$MOCK_LOG" &&
	test_grep -E "^PUT /v2/beam/archive/manifests/$ARM 201" "$MOCK_LOG" &&
	beampush -q pull --all-platforms --to "oci:$T/from-archive:latest" "$MOCK/beam/archive:latest" >out &&
	test "$(cat out)" = "$INDEX" && layout_contains "$OCI" "$T/from-archive"
'

test_expect_success 'with --platform, an archive of a multi-platform image pushes that platform only' '
	docker_archive "$OCI" multi.tar &&
	beampush -q --platform linux/arm64 push --from "docker-archive:$PWD/multi.tar" \
		"$MOCK/beam/archive:arm" >out &&
	test_grep -E "^PUT /v2/beam/archive/manifests/arm 201" "$MOCK_LOG" &&
	pushed_config "$MOCK/beam/archive:arm" >got &&
	test "$(cat got)" = "$(config_of "$OCI" "$ARM")"
'

test_expect_success 'an archive lacking the blobs of one platform (docker save of a pulled image): this machine'"'"'s' '
	test "$(uname -m)" = x86_64 || exit 0
	rm -rf part && cp -R "$OCI" part &&
	for d in $(grep -o "sha256:[0-9a-f]\{64\}" "$(blob_path_layout "$OCI" "$ARM")"); do
		rm -f "$(blob_path_layout part "$d")"
	done &&
	docker_archive part part.tar &&
	beampush -q --debug push --from "docker-archive:$PWD/part.tar" "$MOCK/beam/part:latest" >out 2>err &&
	test_grep "the archive lacks blobs of $ARM" err &&
	test_grep -E "^PUT /v2/beam/part/manifests/latest 201" "$MOCK_LOG" &&
	pushed_config "$MOCK/beam/part:latest" >got &&
	test "$(cat got)" = "$(config_of "$OCI" "$AMD")"
'

test_done
