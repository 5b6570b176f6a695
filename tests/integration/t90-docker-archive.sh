#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# docker-archive: push `docker save` tarballs as skopeo, podman and docker (up to 24) write them,
# their plain layers gzip-compressed on the way and the config byte for byte (the image ID is
# kept); the cache makes a second push upload nothing; pull --to docker-archive: writes what
# podman load and skopeo read; bad archives fail clearly.
. "$(dirname "$0")/lib.sh"
test_require_build
test_have_prereq SKOPEO || test_skip_all "skopeo is missing (scripts/install-deps)"

# Layers of 1.5 MB: more than one 1 MiB compression block each.
IMG=$T/img
make_image "$IMG" latest 3 1500000 >/dev/null || test_fatal "mkimage failed"
ARCHIVE=$T/python.tar
skopeo copy -q "oci:$IMG:latest" "docker-archive:$ARCHIVE:beam/python:latest" ||
	test_fatal "skopeo copy to docker-archive failed"
# the config as the archive holds it: its file name is the image ID
CONFIG_NAME=$(tar -xOf "$ARCHIVE" manifest.json | sed -n 's/.*"Config":"\([^"]*\)".*/\1/p')
tar -xOf "$ARCHIVE" "$CONFIG_NAME" >"$T/config.json" || test_fatal "no config in $ARCHIVE"
CONFIG=sha256:${CONFIG_NAME%.json}
[ "$(sha256_of "$T/config.json")" = "$CONFIG" ] || test_fatal "$CONFIG_NAME: not its digest"
config_diff_ids "$T/config.json" >"$T/diff_ids"
NLAYERS=$(wc -l <"$T/diff_ids")
[ "$NLAYERS" = 3 ] || test_fatal "expected 3 diff_ids, got $NLAYERS"

# mock_manifest DIGEST: the manifest the mock stores under DIGEST.
mock_manifest() {
	echo "$MOCK_ROOT/repos/beam/python/_manifests/${1#sha256:}"
}

# manifest_layers FILE: the layer digests of a manifest, in order (the config's comes first).
manifest_layers() {
	grep -o '"digest":"sha256:[0-9a-f]*"' "$1" | sed 's/"digest":"//; s/"$//' | tail -n +2
}

# check_pushed DIGEST [CONFIG-FILE [DIFF-IDS-FILE]]: the mock holds manifest DIGEST, Docker v2
# schema 2, whose config is CONFIG-FILE byte for byte (default: the archive's) and whose layers
# are gzip streams that decompress to the diff_ids, in order.
check_pushed() {
	local m cfg=${2:-$T/config.json} ids=${3:-$T/diff_ids} d i=0 want
	m=$(mock_manifest "$1")
	test -f "$m" &&
	test "$(sha256_of "$m")" = "$1" &&
	test_grep -F '"mediaType":"application/vnd.docker.distribution.manifest.v2+json"' "$m" &&
	test_grep -F "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"size\":$(file_size "$cfg"),\"digest\":\"$(sha256_of "$cfg")\"}" "$m" &&
	cmp "$cfg" "$(blob_path_mock "$(sha256_of "$cfg")")" &&
	manifest_layers "$m" >layers &&
	test_line_count = "$(wc -l <"$ids")" layers &&
	test "$(grep -c '"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip"' <(tr '{' '\n' <"$m"))" = "$(wc -l <"$ids")" || return 1
	for d in $(cat layers); do
		i=$((i + 1))
		want=$(sed -n "${i}p" "$ids")
		test "$(head -c 2 "$(blob_path_mock "$d")" | od -An -tx1 | tr -d ' ')" = 1f8b || {
			echo "check_pushed: layer $d is not gzip" >&2
			return 1
		}
		test "sha256:$(gzip -dc "$(blob_path_mock "$d")" | sha256sum | cut -d' ' -f1)" = "$want" || {
			echo "check_pushed: layer $d does not decompress to $want" >&2
			return 1
		}
	done
}

# pushed_digest FILE: the digest line of push's output.
pushed_digest() {
	sed -n 's/^digest: //p' "$1"
}

test_expect_success 'push --from docker-archive: config byte for byte, gzip layers, Docker v2 schema 2' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush push --from docker-archive:$ARCHIVE $MOCK/beam/python:latest >out 2>err &&
	digest=$(pushed_digest out) &&
	test_grep -F "pinned: $MOCK/beam/python@$digest" out &&
	check_pushed "$digest" &&
	test "$(count_log "^PUT /v2/beam/python/manifests/latest 201 auth=bearer:alice ct=application/vnd.docker.distribution.manifest.v2\+json ")" = 1 &&
	test "$(count_log " auth=bad ")" = 0 &&
	skopeo inspect --raw --creds alice:pw --tls-verify=false docker://$MOCK/beam/python:latest >raw &&
	cmp raw "$(mock_manifest $digest)"
'

test_expect_success 'skopeo copies the pushed image back: same config, layers decompress to the diff_ids' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush push --from docker-archive:$ARCHIVE:beam/python:latest $MOCK/beam/python:latest >out &&
	digest=$(pushed_digest out) &&
	skopeo copy -q --src-creds alice:pw --src-tls-verify=false docker://$MOCK/beam/python:latest dir:$PWD/back &&
	test "$(sha256_of back/manifest.json)" = "$digest" &&
	cmp "$T/config.json" back/${CONFIG#sha256:} &&
	manifest_layers back/manifest.json >back-layers &&
	test_line_count = $NLAYERS back-layers &&
	i=0 &&
	for d in $(cat back-layers); do
		i=$((i + 1)) &&
		test "sha256:$(gzip -dc back/${d#sha256:} | sha256sum | cut -d" " -f1)" = "$(sed -n "${i}p" $T/diff_ids)" || exit 1
	done
'

test_expect_success 'a second push of the same archive uploads nothing: HEADs, then the manifest PUT' '
	export XDG_CACHE_HOME=$PWD/cache &&
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush push --from docker-archive:$ARCHIVE $MOCK/beam/python:latest >out1 &&
	test "$(count_log "^POST /v2/beam/python/blobs/uploads/")" = $((NLAYERS + 1)) &&
	cache=$XDG_CACHE_HOME/beampush/blobs &&
	test_grep -F "$MOCK" $cache &&
	manifest_layers "$(mock_manifest $(pushed_digest out1))" >layers &&
	i=0 &&
	for id in $(cat $T/diff_ids); do
		i=$((i + 1)) &&
		grep -F "$MOCK" $cache | grep -F "$id" | grep -qF "$(sed -n "${i}p" layers)" || {
			echo "the cache does not map $id to $(sed -n "${i}p" layers) for $MOCK" >&2
			exit 1
		}
	done &&
	mark=$(log_mark) &&
	beampush push --from docker-archive:$ARCHIVE $MOCK/beam/python:latest >out2 &&
	test "$(pushed_digest out2)" = "$(pushed_digest out1)" &&
	log_since $mark | grep " /v2/beam/python/" >second &&
	test_no_grep -E "^(POST|PATCH) " second &&
	test_no_grep -E "^PUT /v2/beam/python/blobs/" second &&
	grep -v "^HEAD " second >not-head &&
	test_line_count = 1 not-head &&
	tail -n 1 second | grep -qE "^PUT /v2/beam/python/manifests/latest 201 " &&
	for d in $CONFIG $(cat layers); do
		test_grep -E "^HEAD /v2/beam/python/blobs/$d 200 " second || exit 1
	done
'

test_expect_success 'without the cache a second push compresses again, to the same bytes' '
	export XDG_CACHE_HOME=$PWD/cache &&
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush push --from docker-archive:$ARCHIVE $MOCK/beam/python:latest >out1 &&
	ls $MOCK_ROOT/blobs/sha256 >blobs1 &&
	manifest_layers "$(mock_manifest $(pushed_digest out1))" >layers &&
	rm -rf "$XDG_CACHE_HOME" &&
	mark=$(log_mark) &&
	beampush push --from docker-archive:$ARCHIVE $MOCK/beam/python:latest >out2 &&
	test "$(pushed_digest out2)" = "$(pushed_digest out1)" &&
	log_since $mark >second &&
	test_grep -E "^HEAD /v2/beam/python/blobs/$CONFIG 200 " second &&
	test "$(grep -c "^POST /v2/beam/python/blobs/uploads/ " second)" = $NLAYERS &&
	for d in $(cat layers); do
		test "$(grep -c "^PUT /v2/beam/python/blobs/uploads/[^ ]*digest=sha256%3A${d#sha256:} 201 " second)" = 1 || exit 1
	done &&
	ls $MOCK_ROOT/blobs/sha256 >blobs2 &&
	test_cmp blobs1 blobs2
'

test_expect_success 'an archive of two images: REF picks one; without REF the error lists the tags' '
	start_mock --auth none &&
	no_docker_auth &&
	make_image --seed 3 --sdk java java latest 2 20000 >/dev/null &&
	skopeo copy -q oci:$PWD/java:latest docker-archive:$PWD/java.tar:beam/java:v1 &&
	mkdir two &&
	tar -xf $ARCHIVE -C two &&
	tar -xf java.tar -C two --exclude manifest.json --exclude repositories &&
	rm two/repositories &&
	{ printf "[" && tar -xOf $ARCHIVE manifest.json | sed "s/^\[//; s/\]$//" && printf "," &&
	  tar -xOf java.tar manifest.json | sed "s/^\[//; s/\]$//" && printf "]"; } >two/manifest.json &&
	tar -cf two.tar -C two . &&
	java_config=$(tar -xOf java.tar manifest.json | sed -n "s/.*\"Config\":\"\([^\"]*\)\".*/\1/p") &&
	tar -xOf java.tar $java_config >java-config.json &&
	config_diff_ids java-config.json >java-ids &&

	test_expect_code 1 beampush --progress none push --from docker-archive:$PWD/two.tar $MOCK/beam/python:latest 2>err &&
	test_line_count = 1 err &&
	test_grep -F "holds 2 images" err &&
	test_grep -F "docker-archive:$PWD/two.tar:REF" err &&
	test_grep -F "docker.io/beam/python:latest" err &&
	test_grep -F "docker.io/beam/java:v1" err &&

	test_expect_code 4 beampush --progress none push --from docker-archive:$PWD/two.tar:beam/go:latest $MOCK/beam/python:latest 2>err &&
	test_line_count = 1 err &&
	test_grep -F "docker.io/beam/go:latest is not in archive" err &&
	test_grep -F "docker.io/beam/java:v1" err &&
	test "$(count_log "^(POST|PUT|PATCH) ")" = 0 &&

	beampush push --from docker-archive:$PWD/two.tar:beam/java:v1 $MOCK/beam/python:java >out &&
	check_pushed "$(pushed_digest out)" java-config.json java-ids &&
	beampush push --from docker-archive:$PWD/two.tar:docker.io/beam/python:latest $MOCK/beam/python:latest >out &&
	check_pushed "$(pushed_digest out)"
'

test_expect_success 'docker (up to 24) layout: <id>/layer.tar files, no symlinks' '
	start_mock --auth none &&
	no_docker_auth &&
	mkdir x &&
	tar -xf $ARCHIVE -C x &&
	cp x/manifest.json manifest.json &&
	for dir in $(cd x && ls -d */ | tr -d /); do
		target=$(readlink x/$dir/layer.tar) &&
		sed -i "s|\"${target#../}\"|\"$dir/layer.tar\"|" manifest.json || exit 1
	done &&
	test_no_grep -F "\"$(head -n 1 $T/diff_ids | sed s/sha256://).tar\"" manifest.json &&
	cp manifest.json x/manifest.json &&
	(cd x && tar -chf ../docker.tar manifest.json repositories $CONFIG_NAME $(ls -d */)) &&
	test "$(tar -tvf docker.tar | grep -c "^-.* [0-9a-f]*/layer.tar$")" = $NLAYERS &&
	test_no_grep "^l" <(tar -tvf docker.tar) &&
	beampush push --from docker-archive:$PWD/docker.tar $MOCK/beam/python:latest >out &&
	check_pushed "$(pushed_digest out)"
'

test_expect_success PODMAN 'podman save archives push too; the image ID is kept' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	start_podman_service &&
	$PODMAN load -q -i $ARCHIVE &&
	test "sha256:$($PODMAN inspect beam/python:latest --format "{{.Id}}")" = "$CONFIG" &&
	$PODMAN save -o $PWD/podman.tar beam/python:latest &&
	beampush push --from docker-archive:$PWD/podman.tar $MOCK/beam/python:latest >out &&
	check_pushed "$(pushed_digest out)"
'

test_expect_success 'pull --to docker-archive: writes a docker save archive skopeo reads' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush push --from docker-archive:$ARCHIVE $MOCK/beam/python:latest >out &&
	mkdir dir &&
	beampush pull --to docker-archive:$PWD/dir/out.tar $MOCK/beam/python:latest >pulled &&
	test_grep -F "digest: $(pushed_digest out)" pulled &&
	ls -A dir >left &&
	echo out.tar >want &&
	test_cmp want left &&
	tar -xOf dir/out.tar $CONFIG_NAME >config &&
	cmp $T/config.json config &&
	tar -xOf dir/out.tar manifest.json >manifest.json &&
	test_grep -F "\"RepoTags\":[\"$MOCK/beam/python:latest\"]" manifest.json &&
	i=0 &&
	for member in $(sed -n "s/.*\"Layers\":\[\([^]]*\)\].*/\1/p" manifest.json | tr , " " | tr -d "\""); do
		i=$((i + 1)) &&
		test "sha256:$(tar -xOf dir/out.tar $member | sha256sum | cut -d" " -f1)" = "$(sed -n "${i}p" $T/diff_ids)" || exit 1
	done &&
	test $i = $NLAYERS &&
	skopeo inspect docker-archive:$PWD/dir/out.tar >inspect &&
	for id in $(cat $T/diff_ids); do
		test_grep -F "\"$id\"" inspect || exit 1
	done
'

test_expect_success PODMAN 'what pull --to docker-archive: writes, podman load takes: the image ID is the config digest' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush push --from docker-archive:$ARCHIVE $MOCK/beam/python:latest >out &&
	beampush pull --to docker-archive:$PWD/out.tar $MOCK/beam/python:latest &&
	beampush pull --to docker-archive:$PWD/retagged.tar:beam/python:2.3.0 $MOCK/beam/python:latest &&
	tar -xOf retagged.tar manifest.json >manifest.json &&
	test_grep -F "\"RepoTags\":[\"docker.io/beam/python:2.3.0\"]" manifest.json &&
	start_podman_service &&
	$PODMAN load -q -i $PWD/out.tar &&
	$PODMAN load -q -i $PWD/retagged.tar &&
	test "sha256:$($PODMAN inspect $MOCK/beam/python:latest --format "{{.Id}}")" = "$CONFIG" &&
	test "sha256:$($PODMAN inspect docker.io/beam/python:2.3.0 --format "{{.Id}}")" = "$CONFIG"
'

test_expect_success 'a corrupted blob: pull --to docker-archive exits 5, leaves no file and no temporary directory' '
	start_mock --auth none &&
	no_docker_auth &&
	beampush push --from docker-archive:$ARCHIVE $MOCK/beam/python:latest >out &&
	layer=$(manifest_layers "$(mock_manifest $(pushed_digest out))" | sed -n 2p) &&
	flip_byte "$(blob_path_mock $layer)" &&
	mkdir dir &&
	test_expect_code 5 beampush --progress none pull --to docker-archive:$PWD/dir/out.tar $MOCK/beam/python:latest >out 2>err &&
	test_line_count = 1 err &&
	test_grep -F "${layer#sha256:}" err &&
	ls -A dir >left &&
	test_must_be_empty left &&
	echo "an older archive" >dir/out.tar &&
	test_expect_code 5 beampush --progress none pull --to docker-archive:$PWD/dir/out.tar $MOCK/beam/python:latest 2>err &&
	echo "an older archive" >want &&
	test_cmp want dir/out.tar &&
	ls -A dir >left &&
	echo out.tar >want &&
	test_cmp want left
'

test_expect_success 'bad archives: missing, a directory, truncated, not a docker save: one clear line, nothing sent' '
	start_mock --auth none &&
	no_docker_auth &&
	test_expect_code 4 beampush --progress none push --from docker-archive:$PWD/missing.tar $MOCK/beam/python:latest 2>err &&
	test_line_count = 1 err &&
	test_grep -F "archive $PWD/missing.tar does not exist" err &&
	mkdir adir &&
	test_expect_code 1 beampush --progress none push --from docker-archive:$PWD/adir $MOCK/beam/python:latest 2>err &&
	test_line_count = 1 err &&
	test_grep -F "$PWD/adir is not a regular file" err &&
	head -c $(($(file_size $ARCHIVE) / 2)) $ARCHIVE >truncated.tar &&
	test_expect_code 1 beampush --progress none push --from docker-archive:$PWD/truncated.tar $MOCK/beam/python:latest 2>err &&
	test_line_count = 1 err &&
	test_grep -F "truncated archive" err &&
	mkdir files && echo hello >files/README && tar -cf files.tar -C files . &&
	test_expect_code 1 beampush --progress none push --from docker-archive:$PWD/files.tar $MOCK/beam/python:latest 2>err &&
	test_line_count = 1 err &&
	test_grep -F "is not a docker save archive" err &&
	test "$(count_log "^(POST|PUT|PATCH) ")" = 0
'

test_expect_success 'a layer that does not hash to its diff_id: exit 5, no manifest pushed' '
	export XDG_CACHE_HOME=$PWD/cache &&
	start_mock --auth none &&
	no_docker_auth &&
	id=$(sed -n 2p $T/diff_ids) &&
	member=${id#sha256:}.tar &&
	cp $ARCHIVE bad.tar &&
	block=$(tar -tvR -f bad.tar | grep -F " $member" | sed -n "s/^block \([0-9]*\): -.*/\1/p") &&
	test -n "$block" &&
	off=$(((block + 1) * 512 + 700)) &&
	test "$(tar -xOf bad.tar $member | sha256sum | cut -d" " -f1)" = ${id#sha256:} &&
	flip_byte bad.tar $off &&
	test "$(tar -xOf bad.tar $member | sha256sum | cut -d" " -f1)" != ${id#sha256:} &&
	test_expect_code 5 beampush --progress none push --from docker-archive:$PWD/bad.tar $MOCK/beam/python:latest 2>err &&
	test_line_count = 1 err &&
	test_grep -F "layer $id: its bytes hash to" err &&
	test "$(count_log "^PUT /v2/beam/python/manifests/")" = 0 &&
	# the corrupt layer was never closed: its upload was cancelled, not PUT
	test_grep -E "^DELETE /v2/beam/python/blobs/uploads/" "$MOCK_LOG" &&
	test "$(count_log "^PUT /v2/beam/python/blobs/uploads/.* 201 ")" -le 4
'

test_done
