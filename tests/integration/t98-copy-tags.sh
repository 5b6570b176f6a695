#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# beampush copy --all-tags / --tags REGEX: many tags of a repository, several at once. A tag the
# destination has costs one HEAD there; a blob two images share moves once; --keep-going copies
# what it can; the source's rate limit (ratelimit-remaining, Docker Hub's) is followed: no GET it
# would refuse is sent, the copy waits for the window (--rate-limit-wait) or stops naming when
# it ends. And the bad input: a regex that does not compile, a repository with no tags, a tag
# list that never ends.
. "$(dirname "$0")/lib.sh"
test_require_build

export XDG_CACHE_HOME=$T/cache
# images that share layers: the same seed with more layers keeps the first ones, another
# architecture keeps every layer and changes the config
make_image --seed 1 "$T/a" latest 2 20000 >/dev/null &&
make_image --seed 1 "$T/b" latest 3 20000 >/dev/null &&
make_image --seed 1 --arch arm64 "$T/c" latest 3 20000 >/dev/null &&
make_image --seed 2 "$T/d" latest 2 20000 >/dev/null || test_fatal "mkimage failed"
INDEX=$("$TEST_ROOT/scripts/mkindex" "$T/multi" latest linux/amd64 linux/arm64/v8) ||
	test_fatal "mkindex failed"

# src_mock [ARGS]: a source (alice) with the tags 2.55.0 2.55.0rc1 2.56.0 (image a, b, c) and
# latest (d), a destination (bob); SRC, SRC_ROOT, SRC_LOG, DST, DST_ROOT, DST_LOG.
src_mock() {
	start_mock --auth token --user alice:pw "$@" &&
	SRC=$MOCK SRC_ROOT=$MOCK_ROOT SRC_LOG=$MOCK_LOG &&
	start_mock --auth token --user bob:pw2 &&
	DST=$MOCK DST_ROOT=$MOCK_ROOT DST_LOG=$MOCK_LOG &&
	docker_auth "$SRC" alice pw "$DST" bob pw2 &&
	beampush -q push --from "oci:$T/a:latest" "$SRC/beam/python:2.55.0" >/dev/null &&
	beampush -q push --from "oci:$T/b:latest" "$SRC/beam/python:2.55.0rc1" >/dev/null &&
	beampush -q push --from "oci:$T/c:latest" "$SRC/beam/python:2.56.0" >/dev/null &&
	beampush -q push --from "oci:$T/d:latest" "$SRC/beam/python:latest" >/dev/null
}

# dst_tag TAG: the digest the destination's mirror/python TAG names
dst_tag() {
	cat "$DST_ROOT/repos/mirror/python/_tags/$1"
}

test_expect_success 'copy --all-tags: every tag with its digest, each shared blob moved once' '
	src_mock &&
	beampush copy --all-tags "$SRC/beam/python" "$DST/mirror/python" >out 2>err &&
	for t in 2.55.0:a 2.55.0rc1:b 2.56.0:c latest:d; do
		d=$(layout_digest "$T/${t#*:}" latest) &&
		test_grep -x "copied ${t%%:*} $d" out &&
		test "$(dst_tag ${t%%:*})" = "$d" &&
		test_grep -E "^\[[1-4]/4\] ${t%%:*}: copied ${d:7:12}\$" err || exit 1
	done &&
	test_line_count = 4 out &&
	test_grep "4 tags of $SRC/beam/python at $DST/mirror/python: 4 copied, 0 there already" err &&
	for img in a b c d; do
		for b in $(image_blobs "$T/$img" latest); do
			cmp "$(blob_path_layout "$T/$img" "$b")" "$DST_ROOT/blobs/sha256/${b#sha256:}" ||
				exit 1
			test "$(grep -cE "^PUT /v2/mirror/python/blobs/uploads/[^ ]*digest=${b/:/%3A}[& ]" "$DST_LOG")" = 1 ||
				exit 1
		done
	done &&
	test "$(count_log "^PUT /v2/mirror/python/manifests/" "$DST_LOG")" = 4 &&
	beampush -q pull --to "oci:$T/back:2.56.0" "$DST/mirror/python:2.56.0" >/dev/null &&
	test_same_image "$T/c" "$T/back" 2.56.0 "$(layout_digest "$T/c" latest)"
'

test_expect_success 'a second copy: one HEAD per tag on the destination, no manifest GET' '
	src_mock &&
	beampush -q copy --all-tags "$SRC/beam/python" "$DST/mirror/python" >/dev/null &&
	src_mark=$(log_mark "$SRC_LOG") && dst_mark=$(log_mark "$DST_LOG") &&
	# (what looking for referrers costs besides: t99-referrers)
	beampush copy --no-referrers --all-tags "$SRC/beam/python" "$DST/mirror/python" >out 2>err &&
	test "$(grep -c "^present " out)" = 4 &&
	test_grep "0 copied, 4 there already" err &&
	log_since $dst_mark "$DST_LOG" | grep " /v2/mirror/" >dst &&
	test "$(grep -cE "^HEAD /v2/mirror/python/manifests/[^ /]+ 200 " dst)" = 4 &&
	test_line_count = 4 dst &&
	log_since $src_mark "$SRC_LOG" | grep " /v2/beam/" >src &&
	test "$(grep -cE "^HEAD /v2/beam/python/manifests/[^ /]+ 200 " src)" = 4 &&
	test "$(grep -c "^GET /v2/beam/python/tags/list" src)" = 1 &&
	test_line_count = 5 src
'

test_expect_success '--tags REGEX: the tags whose whole name matches, no other' '
	src_mock &&
	src_mark=$(log_mark "$SRC_LOG") &&
	beampush -q copy --no-referrers --tags "2\.5[56]\.0" "$SRC/beam/python" "$DST/mirror/python" \
		>out &&
	printf "%s\n" 2.55.0 2.56.0 >want &&
	cut -d" " -f2 out >got && test_cmp want got &&
	test -e "$DST_ROOT/repos/mirror/python/_tags/2.56.0" &&
	test ! -e "$DST_ROOT/repos/mirror/python/_tags/2.55.0rc1" &&
	test ! -e "$DST_ROOT/repos/mirror/python/_tags/latest" &&
	log_since $src_mark "$SRC_LOG" >log &&
	test "$(grep -c "^HEAD /v2/beam/python/manifests/" log)" = 2 &&
	test_no_grep -E "manifests/(2\.55\.0rc1|latest)" log &&
	test_expect_code 4 beampush copy --tags "2\.55" "$SRC/beam/python" "$DST/mirror/python" \
		>out 2>err &&
	test_must_be_empty out &&
	test_grep -F "no tag of source $SRC/beam/python matches \"2\.55\" (4 listed)" err
'

test_expect_success 'an index is copied whole; copied again it costs one HEAD' '
	src_mock &&
	beampush -q push --from "oci:$T/multi:latest" "$SRC/beam/python:multi" >/dev/null &&
	beampush -q copy --tags multi "$SRC/beam/python" "$DST/mirror/python" >out &&
	test "$(cat out)" = "copied multi $INDEX" &&
	for m in $(grep -o "sha256:[0-9a-f]\{64\}" "$(blob_path_layout "$T/multi" "$INDEX")"); do
		test_grep -E "^PUT /v2/mirror/python/manifests/$m 201" "$DST_LOG" || exit 1
	done &&
	test "$(dst_tag multi)" = "$INDEX" &&
	dst_mark=$(log_mark "$DST_LOG") &&
	beampush -q copy --tags multi "$SRC/beam/python" "$DST/mirror/python" >out &&
	test "$(cat out)" = "present multi $INDEX" &&
	test "$(log_since $dst_mark "$DST_LOG" | grep -c " /v2/mirror/")" = 1
'

test_expect_success '--keep-going copies what it can, exits 1 naming each failed tag and why' '
	src_mock &&
	bad=$(image_blobs "$T/d" latest | tail -n 1) &&
	flip_byte "$SRC_ROOT/blobs/sha256/${bad#sha256:}" &&
	test_expect_code 1 beampush copy --keep-going --all-tags "$SRC/beam/python" \
		"$DST/mirror/python" >out 2>err &&
	test_grep -x "failed latest -" out &&
	test "$(grep -c "^copied " out)" = 3 &&
	test_grep "1 of 4 tags not copied, 3 copied, 0 there already" err &&
	test_grep -E "^  latest: source $SRC/beam/python: blob $bad: the bytes hash to sha256:" err &&
	test_grep -E "^\[[1-4]/4\] latest: source $SRC/beam/python: blob $bad" err &&
	test ! -e "$DST_ROOT/repos/mirror/python/_tags/latest" &&
	test ! -e "$DST_ROOT/blobs/sha256/${bad#sha256:}" &&
	test_no_grep -E "^PUT /v2/mirror/python/manifests/latest " "$DST_LOG" &&
	test -e "$DST_ROOT/repos/mirror/python/_tags/2.56.0"
'

test_expect_success 'without --keep-going the first failure stops: its exit status, the rest skipped' '
	src_mock &&
	bad=$(image_blobs "$T/b" latest | tail -n 1) &&
	flip_byte "$SRC_ROOT/blobs/sha256/${bad#sha256:}" &&
	test_expect_code 5 beampush --jobs 1 copy --all-tags "$SRC/beam/python" \
		"$DST/mirror/python" >out 2>err &&
	printf "%s\n" "copied 2.55.0 $(layout_digest "$T/a" latest)" "failed 2.55.0rc1 -" \
		"skipped 2.56.0 -" "skipped latest -" >want &&
	test_cmp want out &&
	test_grep "stopped at the first failure (--keep-going copies the others); the 1 tags copied stay at $DST/mirror/python" err &&
	test_grep -E "^  2.55.0rc1: source $SRC/beam/python: blob $bad" err &&
	test_grep "^  2 tags not started: tag 2.55.0rc1 failed first: 2.56.0 latest" err &&
	test -e "$DST_ROOT/repos/mirror/python/_tags/2.55.0" &&
	test_no_grep "^GET /v2/beam/python/manifests/$(layout_digest "$T/c" latest)" "$SRC_LOG" &&
	test_no_grep "^GET /v2/beam/python/manifests/$(layout_digest "$T/d" latest)" "$SRC_LOG" &&
	test_no_grep -E "^PUT /v2/mirror/python/manifests/(2.56.0|latest) " "$DST_LOG"
'

test_expect_success 'the rate limit would run out: said first, no GET refused, the rest skipped naming the window' '
	src_mock --ratelimit 3:3600 &&
	test_expect_code 1 beampush copy --all-tags "$SRC/beam/python" "$DST/mirror/python" \
		>out 2>err &&
	test "$(grep -c "^copied " out)" = 3 && test "$(grep -c "^skipped .* -\$" out)" = 1 &&
	test_grep "rate limit: 3 of 3 manifest GETs left in its window of 3600s: whole again by 20[0-9-]* [0-9:]* UTC at the latest, and 4 tags to copy need at least 4: copying while it lasts, then stopping" err &&
	test_grep -E "^  1 tag not copied: source $SRC/beam/python: rate limit: 0 of 3 manifest GETs left in its window of 3600s: whole again by .* at the latest \(--rate-limit-wait waits for it\): " err &&
	test "$(count_log "^GET /v2/beam/python/manifests/" "$SRC_LOG")" = 3 &&
	test "$(count_log "^GET /v2/beam/python/manifests/[^ ]* 200 " "$SRC_LOG")" = 3 &&
	test "$(count_log "^[A-Z]+ /v2/beam/python/manifests/[^ ]* 429 " "$SRC_LOG")" = 0 &&
	# HEADs do not count: the tags copied are found again though the limit is spent
	copied=$(grep "^copied " out | cut -d" " -f2 | paste -sd"|") &&
	beampush -q copy --tags "$copied" "$SRC/beam/python" "$DST/mirror/python" >again &&
	test "$(grep -c "^present " again)" = 3 &&
	test "$(count_log "^GET /v2/beam/python/manifests/" "$SRC_LOG")" = 3
'

test_expect_success '--rate-limit-wait: announced, waits for the window, copies every tag' '
	src_mock --ratelimit 2:2 &&
	beampush copy --rate-limit-wait 30 --all-tags "$SRC/beam/python" "$DST/mirror/python" \
		>out 2>err &&
	test "$(grep -c "^copied " out)" = 4 &&
	test_grep "then waiting for it to refill" err &&
	test_grep -E "rate limit: 0 of 2 manifest GETs left in its window of 2s: .*: waiting up to 30s for it to refill" err &&
	test_grep "rate limit: 2 manifest GETs allowed again, going on" err &&
	test "$(count_log "^GET /v2/beam/python/manifests/[^ ]* 200 " "$SRC_LOG")" = 4 &&
	test "$(count_log " 429 " "$SRC_LOG")" = 0
'

test_expect_success 'a 429 with Retry-After is retried as every request is' '
	src_mock --status-fault GET:/manifests/sha256:429:1:1 &&
	beampush copy --all-tags "$SRC/beam/python" "$DST/mirror/python" >out 2>err &&
	test "$(grep -c "^copied " out)" = 4 &&
	test_grep "retrying in 1s (attempt 2 of 5): GET answered 429" err &&
	test "$(count_log "^GET /v2/beam/python/manifests/sha256:[^ ]* 429 " "$SRC_LOG")" = 1
'

test_expect_success 'a repository with no tags, or none at all: exit 4 naming it' '
	src_mock &&
	beampush -q push --from "oci:$T/a:latest" "$SRC/beam/empty:gone" >/dev/null &&
	beampush -q delete "$SRC/beam/empty:gone" >/dev/null &&
	test_expect_code 4 beampush copy --all-tags "$SRC/beam/empty" "$DST/mirror/python" >out 2>err &&
	test_must_be_empty out &&
	test_grep -x "beampush: copy: source $SRC/beam/empty has no tags" err &&
	test_expect_code 4 beampush copy --all-tags "$SRC/beam/nothing" "$DST/mirror/python" 2>err &&
	test_grep "not found" err && test_grep "beam/nothing" err &&
	test_no_grep -E "^(PUT|POST|PATCH) " "$DST_LOG"
'

test_expect_success 'a tag list that never ends is cut at 100000 tags, exit 1, nothing copied' '
	src_mock --fault tags-endless --tags-page 1000 &&
	test_expect_code 1 beampush copy --all-tags "$SRC/beam/python" "$DST/mirror/python" \
		>out 2>err &&
	test_must_be_empty out &&
	test_grep -x "beampush: copy: source $SRC/beam/python lists more than 100000 tags: giving up (a tag list that never ends?)" err &&
	test "$(count_log "^GET /v2/beam/python/tags/list" "$SRC_LOG")" = 101 &&
	test_no_grep manifests "$DST_LOG"
'

test_expect_success 'a regex that does not compile: exit 2 naming it, no request sent' '
	src_mock &&
	src_mark=$(log_mark "$SRC_LOG") &&
	test_expect_code 2 beampush copy --tags "2.(55" "$SRC/beam/python" "$DST/mirror/python" \
		>out 2>err &&
	test_must_be_empty out &&
	test_grep -F "beampush: copy: tags regex \"2.(55\" does not compile: " err &&
	test "$(log_mark "$SRC_LOG")" = "$src_mark"
'

test_expect_success 'usage errors: exit 2' '
	test_expect_code 2 beampush copy --all-tags --tags x a/b c/d 2>err &&
	test_grep "not both" err &&
	test_expect_code 2 beampush copy --keep-going a/b:1 c/d:1 2>err &&
	test_grep "keep-going goes with --all-tags" err &&
	test_expect_code 2 beampush copy --all-tags --digestfile f a/b c/d 2>err &&
	test_expect_code 2 beampush copy --all-tags --rate-limit-wait 25h a/b c/d 2>err &&
	test_grep "rate limit wait of 90000s: at most 86400s (24h)" err &&
	test_expect_code 2 beampush copy --all-tags --rate-limit-wait soon a/b c/d 2>err &&
	test_expect_code 2 beampush copy --all-tags a/b:1 c/d 2>err &&
	test_grep "a repository takes no tag" err &&
	test_expect_code 2 beampush copy --all-tags a/b 2>err &&
	test_grep "expected SRC-REPO and DST-REPO" err &&
	beampush copy --help >out && test_grep -- "--all-tags" out && test_grep -- "--rate-limit-wait" out
'

# many_tags REG N: N tags of small images on REG's beam/python, tags sharing layers three by
# three (the same seed, another architecture or one more layer)
many_tags() {
	local i
	for i in $(seq 1 "$2"); do
		make_image --seed $(((i + 2) / 3)) --arch "$(echo amd64 arm64 s390x | cut -d" " -f$(((i - 1) % 3 + 1)))" \
			"$T/m$i" latest 2 8000 >/dev/null &&
		beampush -q push --from "oci:$T/m$i:latest" "$1/beam/python:t$i" >/dev/null || return 1
	done
}

test_expect_success 'thirty tags between two docker-registry instances; copied again: one HEAD a tag' '
	start_registry >/dev/null && A=$REG A_LOG=$REG_LOG &&
	start_registry >/dev/null && B=$REG B_LOG=$REG_LOG &&
	no_docker_auth &&
	many_tags "$A" 30 &&
	a0=$(registry_requests "$A_LOG" | wc -l) &&
	s=$(date +%s%N) &&
	beampush -q copy --all-tags "$A/beam/python" "$B/beam/python" >out &&
	e=$(date +%s%N) &&
	test "$(grep -c "^copied " out)" = 30 &&
	b1=$(registry_requests "$B_LOG" | wc -l) && a1=$(registry_requests "$A_LOG" | wc -l) &&
	echo "first copy: $(((e - s) / 1000000)) ms, source $((a1 - a0)) requests, destination $b1" &&
	registry_requests "$B_LOG" | awk "{print \$1}" | sort | uniq -c &&
	s=$(date +%s%N) &&
	beampush -q copy --all-tags "$A/beam/python" "$B/beam/python" >out &&
	e=$(date +%s%N) &&
	test "$(grep -c "^present " out)" = 30 &&
	registry_requests "$B_LOG" | tail -n +$((b1 + 1)) >again &&
	registry_requests "$A_LOG" | tail -n +$((a1 + 1)) >again_src &&
	echo "second copy: $(((e - s) / 1000000)) ms, source $(wc -l <again_src) requests, destination $(wc -l <again)" &&
	test "$(grep -cE "^HEAD /v2/beam/python/manifests/t[0-9]+ 200\$" again)" = 30 &&
	test "$(grep -cv "^GET /v2/ " again)" = 30 &&
	test "$(grep -c "^GET /v2/beam/python/manifests/" again_src)" = 0 &&
	for i in 1 2 30; do
		test "$(grep "^present t$i " out | cut -d" " -f3)" = "$(layout_digest "$T/m$i" latest)" ||
			exit 1
	done
'

test_done
