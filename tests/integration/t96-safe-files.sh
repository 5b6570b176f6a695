#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Files beampush writes: under umask 000 nothing is writable by others, credentials and upload
# sessions are 0600 in 0700 directories; a pull killed in the middle leaves the layout's
# previous index.json and no partial blob under a blob's name; pulls of two images into one
# layout at the same time both end up in index.json.
. "$(dirname "$0")/lib.sh"
test_require_build

IMG=$T/img
IMG2=$T/img2
make_image --seed 1 "$IMG" latest 2 20000 >/dev/null || test_fatal "mkimage failed"
make_image --seed 2 --random "$IMG2" latest 3 300000 >/dev/null || test_fatal "mkimage failed"

# mode FILE: its permission bits in octal, as stat prints them.
mode() {
	stat -c %a "$1"
}

# nothing_writable_by_others PATH...: no file or directory at or under PATHs is writable by
# others (the scenario's own files, made by the shell under umask 000, are not among PATHs).
nothing_writable_by_others() {
	find "$@" ! -type l -perm -0002 >writable &&
	test_must_be_empty writable
}

# wait_log PATTERN: wait (at most 30 s) until the mock has logged a line matching PATTERN.
wait_log() {
	local deadline=$(($(date +%s) + 30))
	while [ "$(count_log "$1")" = 0 ]; do
		[ "$(date +%s)" -lt "$deadline" ] || { echo "wait_log: no '$1' in 30 s" >&2; return 1; }
		sleep 0.05
	done
}

test_expect_success 'umask 000: login, push, pull and the cache write nothing writable by others' '
	umask 000 &&
	export XDG_CACHE_HOME=$PWD/cache XDG_STATE_HOME=$PWD/state &&
	DOCKER_CONFIG=$PWD/dockercfg && export DOCKER_CONFIG &&
	start_mock --auth token --no-refresh-tokens --user alice:pw &&
	printf "pw\n" | beampush login -u alice --password-stdin --store file "$MOCK" >out 2>err &&
	test "$(mode dockercfg)" = 700 &&
	test "$(mode dockercfg/config.json)" = 600 &&
	beampush -q push --digestfile "$PWD/digest" --from "oci:$IMG:latest" \
		"$MOCK/beam/app:latest" >/dev/null &&
	test "$(mode digest)" = 644 &&
	test "$(cat digest)" = "$(layout_digest "$IMG" latest)" &&
	ls -A . >files && test_no_grep "^\.digest\." files &&
	beampush -q pull --to "oci:$PWD/layout:latest" "$MOCK/beam/app:latest" >/dev/null &&
	test_same_image "$IMG" layout latest "$(cat digest)" &&
	test "$(mode layout)" = 755 &&
	test "$(mode layout/blobs/sha256)" = 755 &&
	test "$(mode layout/index.json)" = 644 &&
	test "$(mode layout/oci-layout)" = 644 &&
	for f in layout/blobs/sha256/*; do test "$(mode "$f")" = 644 || exit 1; done &&
	beampush -q pull --to "docker-archive:$PWD/app.tar" "$MOCK/beam/app:latest" >/dev/null &&
	test "$(mode app.tar)" = 644 &&
	test "$(mode cache/beampush)" = 700 &&
	for f in cache/beampush/*; do test "$(mode "$f")" = 600 || exit 1; done &&
	nothing_writable_by_others dockercfg digest layout app.tar cache
'

test_expect_success 'umask 000: --digestfile over a symbolic link writes where it points' '
	umask 000 &&
	start_mock --auth none &&
	no_docker_auth &&
	echo old >target && chmod 0600 target && ln -s target link &&
	beampush -q --digestfile "$PWD/link" push --from "oci:$IMG:latest" \
		"$MOCK/beam/app:latest" >/dev/null &&
	test -L link &&
	test "$(cat target)" = "$(layout_digest "$IMG" latest)" &&
	test "$(mode target)" = 600 &&
	ls -A . >files && test_no_grep "^\.target\." files
'

test_expect_success 'umask 000: a saved upload session is 0600 in 0700 directories' '
	umask 000 &&
	export XDG_STATE_HOME=$PWD/state &&
	start_mock --auth none --cut-upload-after 30000 &&
	no_docker_auth &&
	test_expect_code 1 beampush --retries 0 --progress none push --chunk-size 65536 \
		--single-put-max 64K --from "oci:$IMG2:latest" "$MOCK/beam/big:latest" 2>err &&
	ls state/beampush/uploads >saved &&
	test_line_count = 1 saved &&
	test "$(mode state/beampush)" = 700 &&
	test "$(mode state/beampush/uploads)" = 700 &&
	test "$(mode "state/beampush/uploads/$(cat saved)")" = 600 &&
	nothing_writable_by_others state
'

test_expect_success 'a pull killed in the middle keeps the previous index.json, no blob half written' '
	blocked=$(image_blobs "$IMG2" latest | tail -n 1) &&
	: the first GET of the last layer of big answers 503 with Retry-After: 60 &&
	start_mock --auth none --status-fault "GET:/blobs/$blocked:503:1:60" &&
	no_docker_auth &&
	beampush -q push --from "oci:$IMG:latest" "$MOCK/beam/app:latest" >/dev/null &&
	beampush -q push --from "oci:$IMG2:latest" "$MOCK/beam/big:latest" >/dev/null &&
	beampush -q pull --to "oci:$PWD/layout:old" "$MOCK/beam/app:latest" >/dev/null &&
	cp layout/index.json index.before &&
	{ "$BEAMPUSH" -q --progress none pull --to "oci:$PWD/layout:new" \
		"$MOCK/beam/big:latest" >pull.out 2>pull.err & } &&
	pid=$! &&
	waited=0 && { wait_log "^GET /v2/beam/big/blobs/$blocked 503" || waited=1; } &&
	kill -9 $pid && { wait $pid || :; } &&
	test $waited = 0 &&
	test_cmp index.before layout/index.json &&
	test ! -e "layout/blobs/sha256/${blocked#sha256:}" &&
	{ ls -A layout/blobs/sha256 | grep -vxE "[0-9a-f]{64}" >stray || :; } &&
	test_no_grep -vE "^\.(tmp|partial)-" stray &&
	for h in $(ls layout/blobs/sha256 | grep -xE "[0-9a-f]{64}"); do
		test "$(sha256sum "layout/blobs/sha256/$h" | cut -d" " -f1)" = "$h" || exit 1
	done &&
	beampush -q push --from "oci:$PWD/layout:old" "$MOCK/beam/again:latest" >/dev/null &&
	beampush -q pull --to "oci:$PWD/layout:new" "$MOCK/beam/big:latest" >/dev/null &&
	test "$(layout_digest layout new)" = "$(layout_digest "$IMG2" latest)" &&
	test "$(layout_digest layout old)" = "$(layout_digest "$IMG" latest)" &&
	layout_contains "$IMG2" layout
'

test_expect_success 'two pulls of different images into one layout at once: both are tagged' '
	umask 000 &&
	start_mock --auth none &&
	no_docker_auth &&
	beampush -q push --from "oci:$IMG:latest" "$MOCK/beam/app:latest" >/dev/null &&
	beampush -q push --from "oci:$IMG2:latest" "$MOCK/beam/big:latest" >/dev/null &&
	{ "$BEAMPUSH" -q pull --to "oci:$PWD/shared:app" "$MOCK/beam/app:latest" >/dev/null & } &&
	p1=$! &&
	{ "$BEAMPUSH" -q pull --to "oci:$PWD/shared:big" "$MOCK/beam/big:latest" >/dev/null & } &&
	p2=$! &&
	wait $p1 && wait $p2 &&
	test "$(layout_digest shared app)" = "$(layout_digest "$IMG" latest)" &&
	test "$(layout_digest shared big)" = "$(layout_digest "$IMG2" latest)" &&
	layout_check shared &&
	layout_contains "$IMG" shared && layout_contains "$IMG2" shared &&
	nothing_writable_by_others shared
'

test_done
