#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# oci-archive: an OCI image layout in a tar, as skopeo writes it. beampush pushes what skopeo
# wrote (read in place, nothing extracted) and pulls into one that skopeo, `ctr images import`
# and `podman load` take, named by the org.opencontainers.image.ref.name and
# io.containerd.image.name annotations; an index goes whole both ways; bad archives fail
# clearly, and a failed pull leaves nothing at the destination.
. "$(dirname "$0")/lib.sh"
test_require_build
test_have_prereq SKOPEO || test_skip_all "skopeo is missing (scripts/install-deps)"

IMG=$T/img
DIGEST=$(make_image "$IMG" latest 3 30000) || test_fatal "mkimage failed"
JAVA=$T/java
JAVA_DIGEST=$(make_image --seed 3 --sdk java "$JAVA" latest 2 20000) || test_fatal "mkimage failed"
MULTI=$T/multi
INDEX=$("$TEST_ROOT/scripts/mkindex" "$MULTI" latest linux/amd64 linux/arm64/v8) ||
	test_fatal "mkindex failed"
export XDG_CACHE_HOME=$T/cache

# What skopeo writes: ref.name "latest"; none at all; a whole name; the whole index.
ARCHIVE=$T/skopeo.tar
skopeo copy -q "oci:$IMG:latest" "oci-archive:$ARCHIVE:latest" ||
	test_fatal "skopeo copy to oci-archive failed"
skopeo copy -q "oci:$IMG:latest" "oci-archive:$T/unnamed.tar" || test_fatal "skopeo copy failed"
skopeo copy -q "oci:$IMG:latest" "oci-archive:$T/named.tar:docker.io/beam/python:2.55" ||
	test_fatal "skopeo copy failed"
skopeo copy -q --all "oci:$MULTI:latest" "oci-archive:$T/multi.tar:latest" ||
	test_fatal "skopeo copy --all failed"

# pushed_digest FILE: the digest line of beampush's output.
pushed_digest() {
	sed -n 's/^digest: //p' "$1"
}

# mock_has_image DIGEST LAYOUT: the mock holds manifest DIGEST and every blob it names, each
# byte for byte as in LAYOUT.
mock_has_image() {
	local d
	cmp "$(blob_path_layout "$2" "$1")" "$MOCK_ROOT/repos/beam/python/_manifests/${1#sha256:}" &&
	for d in $(grep -o 'sha256:[0-9a-f]\{64\}' "$(blob_path_layout "$2" "$1")"); do
		cmp "$(blob_path_layout "$2" "$d")" "$(blob_path_mock "$d")" || return 1
	done
}

# archive_index FILE: the index.json of an archive, without white space.
archive_index() {
	tar -xOf "$1" index.json | tr -d ' \n\t'
}

# names_are FILE REF-NAME IMAGE-NAME: index.json of archive FILE has one entry, whose
# annotations are exactly these names.
names_are() {
	archive_index "$1" >index.json &&
	test "$(grep -o '"digest":' index.json | wc -l)" = 1 &&
	test_grep -F "\"annotations\":{\"io.containerd.image.name\":\"$3\",\"org.opencontainers.image.ref.name\":\"$2\"}" index.json
}

# err_is_one_line FILE: beampush said one line, naming what it could not read.
err_is_one_line() {
	test_line_count = 1 "$1" &&
	test_grep "^beampush: " "$1"
}

test_expect_success 'push --from oci-archive: what skopeo wrote, the same manifest and blobs, nothing extracted' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	mkdir tmp &&
	TMPDIR=$PWD/tmp beampush push --from oci-archive:$ARCHIVE:latest $MOCK/beam/python:latest >out &&
	test "$(pushed_digest out)" = "$DIGEST" &&
	test_grep -F "pinned: $MOCK/beam/python@$DIGEST" out &&
	mock_has_image $DIGEST $IMG &&
	test "$(count_log "^PUT /v2/beam/python/manifests/latest 201 .*ct=application/vnd.oci.image.manifest.v1\+json")" = 1 &&
	ls -A tmp >left &&
	test_must_be_empty left &&
	ls -A >left &&
	printf "%s\n" left out tmp >want &&
	test_cmp want left
'

test_expect_success 'REF: the ref.name as skopeo wrote it, or the name it is; none for the only image' '
	start_mock --auth none &&
	no_docker_auth &&
	beampush push --from oci-archive:$T/unnamed.tar $MOCK/beam/python:a >out &&
	test "$(pushed_digest out)" = "$DIGEST" &&
	beampush push --from oci-archive:$ARCHIVE $MOCK/beam/python:b >out &&
	test "$(pushed_digest out)" = "$DIGEST" &&
	for ref in docker.io/beam/python:2.55 beam/python:2.55; do
		beampush push --from oci-archive:$T/named.tar:$ref $MOCK/beam/python:c >out &&
		test "$(pushed_digest out)" = "$DIGEST" || exit 1
	done &&
	mock_has_image $DIGEST $IMG
'

test_expect_success 'an archive of two images: REF picks one; without REF the error lists them' '
	start_mock --auth none &&
	no_docker_auth &&
	skopeo copy -q oci:$IMG:latest oci:$PWD/two:python &&
	skopeo copy -q oci:$JAVA:latest oci:$PWD/two:java &&
	tar -cf two.tar -C two . &&
	test_expect_code 1 beampush --progress none push --from oci-archive:$PWD/two.tar $MOCK/beam/python:latest 2>err &&
	err_is_one_line err &&
	test_grep -F "archive $PWD/two.tar holds 2 images; name one as oci-archive:$PWD/two.tar:REF (it holds: python, java)" err &&
	test_expect_code 4 beampush --progress none push --from oci-archive:$PWD/two.tar:go $MOCK/beam/python:latest 2>err &&
	err_is_one_line err &&
	test_grep -F "go is not in archive $PWD/two.tar (it holds: python, java)" err &&
	test "$(count_log "^(POST|PUT|PATCH) ")" = 0 &&
	beampush push --from oci-archive:$PWD/two.tar:java $MOCK/beam/python:java >out &&
	test "$(pushed_digest out)" = "$JAVA_DIGEST" &&
	beampush push --from oci-archive:$PWD/two.tar:python $MOCK/beam/python:latest >out &&
	test "$(pushed_digest out)" = "$DIGEST" &&
	mock_has_image $DIGEST $IMG && mock_has_image $JAVA_DIGEST $JAVA
'

test_expect_success 'pull --to oci-archive: skopeo copies it back, the same manifest digest and bytes' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush -q push --from oci:$IMG:latest $MOCK/beam/python:2.55 >/dev/null &&
	mkdir dir &&
	beampush pull --to oci-archive:$PWD/dir/out.tar:v1 $MOCK/beam/python:2.55 >out &&
	test_grep -F "digest: $DIGEST" out &&
	ls -A dir >left &&
	echo out.tar >want &&
	test_cmp want left &&
	names_are dir/out.tar v1 "$MOCK/beam/python:v1" &&
	skopeo copy -q oci-archive:$PWD/dir/out.tar:v1 oci:$PWD/back:v1 &&
	test_same_image $IMG back v1 "$DIGEST" &&
	tar -tf dir/out.tar >members &&
	printf "%s\n" oci-layout index.json blobs/ blobs/sha256/ >want &&
	head -n 4 members >head &&
	test_cmp want head &&
	test "$(tail -n +5 members | sort | uniq | wc -l)" = "$(($(image_blobs $IMG latest | wc -l) + 1))"
'

test_expect_success 'pull --to oci-archive: names without REF, with a whole name, by digest' '
	start_mock --auth none &&
	no_docker_auth &&
	beampush -q push --from oci:$IMG:latest $MOCK/beam/python:2.55 >/dev/null &&
	beampush -q pull --to oci-archive:$PWD/plain.tar $MOCK/beam/python:2.55 >out &&
	test "$(cat out)" = "$DIGEST" &&
	names_are plain.tar 2.55 "$MOCK/beam/python:2.55" &&
	skopeo inspect --raw oci-archive:$PWD/plain.tar:2.55 >raw &&
	cmp raw "$(blob_path_layout $IMG $DIGEST)" &&
	skopeo inspect --raw oci-archive:$PWD/plain.tar >raw &&
	cmp raw "$(blob_path_layout $IMG $DIGEST)" &&
	beampush -q pull --to oci-archive:$PWD/whole.tar:beam/python:3.0 $MOCK/beam/python:2.55 >out &&
	names_are whole.tar beam/python:3.0 docker.io/beam/python:3.0 &&
	skopeo inspect --raw oci-archive:$PWD/whole.tar:beam/python:3.0 >raw &&
	cmp raw "$(blob_path_layout $IMG $DIGEST)" &&
	beampush -q pull --to oci-archive:$PWD/pinned.tar $MOCK/beam/python@$DIGEST >out &&
	archive_index pinned.tar >index.json &&
	test_no_grep annotations index.json &&
	skopeo inspect --raw oci-archive:$PWD/pinned.tar >raw &&
	cmp raw "$(blob_path_layout $IMG $DIGEST)"
'

test_expect_success REGISTRY 'the real registry: skopeo'"'"'s archive pushed, pulled back into an archive' '
	start_registry &&
	no_docker_auth &&
	beampush push --from oci-archive:$ARCHIVE:latest $REG/beam/python:latest >out &&
	test "$(pushed_digest out)" = "$DIGEST" &&
	for d in $DIGEST $(image_blobs $IMG latest); do
		cmp "$(blob_path_layout $IMG $d)" "$(blob_path_registry $d)" || exit 1
	done &&
	beampush -q pull --to oci-archive:$PWD/out.tar $REG/beam/python:latest >out &&
	test "$(cat out)" = "$DIGEST" &&
	skopeo copy -q oci-archive:$PWD/out.tar:latest oci:$PWD/back:latest &&
	test_same_image $IMG back latest "$DIGEST"
'

test_expect_success 'round trip: push, pull --to oci-archive, push again: the same digests' '
	start_mock --auth none &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:one >out1 &&
	beampush -q pull --to oci-archive:$PWD/rt.tar $MOCK/beam/python:one >/dev/null &&
	beampush push --from oci-archive:$PWD/rt.tar $MOCK/beam/python:two >out2 &&
	test "$(pushed_digest out1)" = "$DIGEST" &&
	test "$(pushed_digest out2)" = "$DIGEST" &&
	beampush -q pull --to oci-archive:$PWD/rt2.tar:one $MOCK/beam/python:two >/dev/null &&
	beampush push --from oci-archive:$PWD/rt2.tar:one $MOCK/beam/python:three >out3 &&
	test "$(pushed_digest out3)" = "$DIGEST" &&
	mock_has_image $DIGEST $IMG
'

test_expect_success 'an index: pushed whole from skopeo'"'"'s archive, pulled whole with --all-platforms' '
	start_mock --auth none &&
	no_docker_auth &&
	beampush push --from oci-archive:$T/multi.tar:latest $MOCK/beam/python:multi >out &&
	test "$(pushed_digest out)" = "$INDEX" &&
	test "$(count_log "^PUT /v2/beam/python/manifests/sha256:[0-9a-f]* 201 ")" = 2 &&
	test "$(count_log "^PUT /v2/beam/python/manifests/multi 201 .*ct=application/vnd.oci.image.index.v1\+json")" = 1 &&
	beampush -q pull --all-platforms --to oci-archive:$PWD/all.tar $MOCK/beam/python:multi >out &&
	test "$(cat out)" = "$INDEX" &&
	archive_index all.tar >index.json &&
	test_grep -F "\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"digest\":\"$INDEX\"" index.json &&
	skopeo copy -q --all oci-archive:$PWD/all.tar:multi oci:$PWD/back:latest &&
	test_same_image $MULTI back latest "$INDEX" &&
	layout_contains $MULTI back &&
	beampush push --from oci-archive:$PWD/all.tar $MOCK/beam/python:again >out &&
	test "$(pushed_digest out)" = "$INDEX"
'

test_expect_success 'an index without --all-platforms: this machine'"'"'s image only' '
	test "$(uname -m)" = x86_64 || exit 0
	start_mock --auth none &&
	no_docker_auth &&
	beampush -q push --from oci:$MULTI:latest $MOCK/beam/python:multi >/dev/null &&
	beampush -q pull --to oci-archive:$PWD/one.tar $MOCK/beam/python:multi >out &&
	amd=$(grep -o "sha256:[0-9a-f]\{64\}\",\"size\":[0-9]*,\"platform\":{\"architecture\":\"amd64\"" \
		"$(blob_path_layout $MULTI $INDEX)" | cut -d\" -f1) &&
	test "$(cat out)" = "$amd" &&
	names_are one.tar multi "$MOCK/beam/python:multi" &&
	test_no_grep -F "${INDEX#sha256:}" <(tar -tf one.tar)
'

test_expect_success CONTAINERD 'ctr images import names the image io.containerd.image.name gives; the digest matches' '
	start_mock --auth none &&
	no_docker_auth &&
	start_containerd &&
	beampush -q push --from oci:$IMG:latest $MOCK/beam/python:2.55 >/dev/null &&
	beampush -q pull --to oci-archive:$PWD/a.tar $MOCK/beam/python:2.55 >/dev/null &&
	beampush -q pull --to oci-archive:$PWD/b.tar:beam/python:renamed $MOCK/beam/python:2.55 >/dev/null &&
	ctr -n test images import --snapshotter native a.tar >import.out &&
	ctr -n test images import --snapshotter native b.tar >>import.out &&
	ctr -n test images ls >ls &&
	test_grep -E "^$MOCK/beam/python:2.55 +application/vnd.oci.image.manifest.v1\+json +$DIGEST " ls &&
	test_grep -E "^docker.io/beam/python:renamed +application/vnd.oci.image.manifest.v1\+json +$DIGEST " ls &&
	test "$(grep -c "$DIGEST" ls)" = 2 &&
	ctr -n test content get $DIGEST >m &&
	cmp m "$(blob_path_layout $IMG $DIGEST)"
'

test_expect_success CONTAINERD 'ctr images import of skopeo'"'"'s archive: the tag alone gets a made-up name, hence both annotations' '
	start_containerd &&
	ctr -n test images import --snapshotter native $ARCHIVE >import.out &&
	ctr -n test images ls -q >ls &&
	test_no_grep "^docker.io/" ls &&
	test_grep -E ":latest$" ls
'

test_expect_success PODMAN 'podman load takes the archive: named by io.containerd.image.name, the digest the pulled one' '
	start_mock --auth none &&
	no_docker_auth &&
	start_podman_service &&
	beampush -q push --from oci:$IMG:latest $MOCK/beam/python:2.55 >/dev/null &&
	beampush -q pull --to oci-archive:$PWD/a.tar:beam/python:loaded $MOCK/beam/python:2.55 >/dev/null &&
	$PODMAN load -q -i $PWD/a.tar >load.out &&
	test_grep -F "docker.io/beam/python:loaded" load.out &&
	test "$($PODMAN image inspect docker.io/beam/python:loaded --format "{{.Digest}}")" = "$DIGEST"
'

test_expect_success 'bad archives: missing, truncated, not a tar, a docker save archive, bad index.json: one line, exit 1 or 4, nothing sent' '
	start_mock --auth none &&
	no_docker_auth &&
	test_expect_code 4 beampush --progress none push --from oci-archive:$PWD/missing.tar $MOCK/beam/python:latest 2>err &&
	err_is_one_line err &&
	test_grep -F "archive $PWD/missing.tar does not exist" err &&
	head -c $(($(file_size $ARCHIVE) / 2)) $ARCHIVE >truncated.tar &&
	test_expect_code 1 beampush --progress none push --from oci-archive:$PWD/truncated.tar $MOCK/beam/python:latest 2>err &&
	err_is_one_line err &&
	test_grep -F "$PWD/truncated.tar: " err &&
	test_grep -F "truncated archive" err &&
	head -c 10000 /dev/urandom >random.tar &&
	test_expect_code 1 beampush --progress none push --from oci-archive:$PWD/random.tar $MOCK/beam/python:latest 2>err &&
	err_is_one_line err &&
	test_grep -F "$PWD/random.tar: tar header at offset 0 (the first member): header checksum mismatch: not a tar archive" err &&
	skopeo copy -q oci:$IMG:latest docker-archive:$PWD/docker.tar:beam/python:latest &&
	test_expect_code 1 beampush --progress none push --from oci-archive:$PWD/docker.tar $MOCK/beam/python:latest 2>err &&
	err_is_one_line err &&
	test_grep -F "$PWD/docker.tar is not an OCI archive: it has no index.json (a docker save archive is docker-archive:FILE)" err &&
	mkdir x && tar -xf $ARCHIVE -C x &&
	echo "{\"manifests\":[" >x/index.json &&
	tar -cf badjson.tar -C x . &&
	test_expect_code 1 beampush --progress none push --from oci-archive:$PWD/badjson.tar $MOCK/beam/python:latest 2>err &&
	err_is_one_line err &&
	test_grep -F "$PWD/badjson.tar: index.json is not valid JSON" err &&
	test_expect_code 4 beampush --progress none push --from oci-archive:$ARCHIVE:nope $MOCK/beam/python:latest 2>err &&
	err_is_one_line err &&
	test_grep -F "nope is not in archive $ARCHIVE (it holds: latest)" err &&
	test "$(count_log "^(POST|PUT|PATCH) ")" = 0
'

test_expect_success 'a member outside the layout (../x, /x): refused before anything is read or sent' '
	start_mock --auth none &&
	no_docker_auth &&
	mkdir x && tar -xf $ARCHIVE -C x &&
	echo escape >x/evil &&
	tar -cf dotdot.tar -C x oci-layout index.json blobs evil --transform "s|^evil\$|../evil|" &&
	tar -tf dotdot.tar | grep -qx "../evil" &&
	test_expect_code 1 beampush --progress none push --from oci-archive:$PWD/dotdot.tar $MOCK/beam/python:latest 2>err &&
	err_is_one_line err &&
	test_grep -F "$PWD/dotdot.tar: tar member \"../evil\"" err &&
	test_grep -F "unsafe member name" err &&
	tar -cPf abs.tar -C x oci-layout index.json blobs "$PWD/x/evil" &&
	tar -tPf abs.tar | grep -qx "$PWD/x/evil" &&
	test_expect_code 1 beampush --progress none push --from oci-archive:$PWD/abs.tar $MOCK/beam/python:latest 2>err &&
	err_is_one_line err &&
	test_grep -F "$PWD/abs.tar: tar member \"$PWD/x/evil\"" err &&
	test ! -e ../evil && test ! -e "$T/evil" &&
	test "$(count_log "^(POST|PUT|PATCH) ")" = 0
'

test_expect_success 'a blob whose bytes are not its digest: exit 5 naming the archive, no manifest pushed' '
	start_mock --auth none &&
	no_docker_auth &&
	layer=$(image_blobs $IMG latest | sed -n 3p) &&
	cp $ARCHIVE bad.tar &&
	block=$(tar -tvR -f bad.tar | grep -F " blobs/sha256/${layer#sha256:}" | sed -n "s/^block \([0-9]*\): -.*/\1/p") &&
	test -n "$block" &&
	flip_byte bad.tar $(((block + 1) * 512 + 300)) &&
	test_expect_code 5 beampush --progress none push --from oci-archive:$PWD/bad.tar $MOCK/beam/python:latest 2>err &&
	err_is_one_line err &&
	test_grep -F "$PWD/bad.tar: blob $layer: digest mismatch (the bytes hash to sha256:" err &&
	test "$(count_log "^PUT /v2/beam/python/manifests/")" = 0 &&
	test ! -e "$(blob_path_mock $layer)"
'

test_expect_success 'a blob missing from the archive (incomplete, like a bad member): exit 1 naming it, no manifest pushed' '
	start_mock --auth none &&
	no_docker_auth &&
	layer=$(image_blobs $IMG latest | sed -n 2p) &&
	mkdir x && tar -xf $ARCHIVE -C x &&
	rm x/blobs/sha256/${layer#sha256:} &&
	tar -cf lacking.tar -C x . &&
	test_expect_code 1 beampush --progress none push --from oci-archive:$PWD/lacking.tar $MOCK/beam/python:latest 2>err &&
	err_is_one_line err &&
	test_grep -F "$PWD/lacking.tar: blob blobs/sha256/${layer#sha256:} is not in the archive" err &&
	test "$(count_log "^PUT /v2/beam/python/manifests/")" = 0
'

test_expect_success 'a pull that fails (a corrupt blob, a bad REF): exit 5 or 1, the destination as it was, nothing beside it' '
	start_mock --auth none &&
	no_docker_auth &&
	beampush -q push --from oci:$IMG:latest $MOCK/beam/python:latest >/dev/null &&
	layer=$(image_blobs $IMG latest | sed -n 2p) &&
	flip_byte "$(blob_path_mock $layer)" &&
	mkdir dir &&
	test_expect_code 5 beampush --progress none pull --to oci-archive:$PWD/dir/out.tar $MOCK/beam/python:latest 2>err &&
	err_is_one_line err &&
	test_grep -F "${layer#sha256:}" err &&
	ls -A dir >left &&
	test_must_be_empty left &&
	echo "an older archive" >dir/out.tar &&
	test_expect_code 5 beampush --progress none pull --to oci-archive:$PWD/dir/out.tar $MOCK/beam/python:latest 2>err &&
	echo "an older archive" >want &&
	test_cmp want dir/out.tar &&
	mark=$(log_mark) &&
	for ref in -x .hidden "beam/python@$DIGEST" "beam/Python:1"; do
		test_expect_code 1 beampush --progress none pull --to "oci-archive:$PWD/dir/out.tar:$ref" $MOCK/beam/python:latest 2>err &&
		err_is_one_line err &&
		test_grep -e "destination tag \"[^\"]*\" is invalid" -e "destination" err || exit 1
	done &&
	test "$(log_since $mark | wc -l)" = 0 &&
	test_cmp want dir/out.tar &&
	ls -A dir >left &&
	echo out.tar >want &&
	test_cmp want left &&
	test_expect_code 1 beampush --progress none pull --to oci-archive:$PWD/nodir/out.tar $MOCK/beam/python:latest 2>err &&
	err_is_one_line err &&
	test_grep -F "cannot write in $PWD/nodir: No such file or directory" err &&
	test ! -e nodir
'

test_done
