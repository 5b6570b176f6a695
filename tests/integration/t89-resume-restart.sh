#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A push that dies in the middle of a large blob: the next run asks the registry where the
# saved upload session stands and goes on from there, sending only the rest. A pull that dies
# in the middle of a blob leaves blobs/sha256/.partial-HEX; the next run hashes those bytes
# again and asks only for the rest (Range), or starts over when they turn out wrong.
. "$(dirname "$0")/lib.sh"
test_require_build

IMG=$T/img
make_image --random "$IMG" latest 1 600000 >/dev/null || test_fatal "mkimage failed"
export XDG_STATE_HOME=$T/state

# test_image_pushed: every blob of the image is in the mock's storage with the same bytes.
test_image_pushed() {
	local d
	for d in $(image_blobs "$IMG" latest); do
		cmp "$(blob_path_layout "$IMG" "$d")" "$(blob_path_mock "$d")" || return 1
	done
}

test_expect_success 'a push cut in a blob and run again continues that upload' '
	start_mock --auth token --user alice:pw --cut-upload-after 30000 &&
	docker_auth "$MOCK" alice pw &&
	test_expect_code 1 beampush --retries 0 --progress none push --chunk-size 65536 \
		--single-put-max 64K --from "oci:$IMG:latest" "$MOCK/beam/python:latest" 2>err1 &&
	ls "$XDG_STATE_HOME/beampush/uploads" >saved &&
	test_line_count = 1 saved &&
	test "$(stat -c %a "$XDG_STATE_HOME/beampush/uploads/$(cat saved)")" = 600 &&
	posts_before=$(count_log "^POST /v2/beam/python/blobs/uploads/ 202") &&
	mark=$(log_mark) &&
	beampush --progress none push --chunk-size 65536 --single-put-max 64K \
		--from "oci:$IMG:latest" "$MOCK/beam/python:latest" >out 2>err2 &&
	test_grep "resuming the upload of an earlier run at byte [1-9]" err2 &&
	log_since $mark >second &&
	test_grep -E "^GET /v2/beam/python/blobs/uploads/[^ ]* 204" second &&
	test_no_grep -E "^PATCH [^ ]* 202 .* cr=0-" second &&
	test "$(count_log "^POST /v2/beam/python/blobs/uploads/ 202")" = "$posts_before" &&
	test_image_pushed &&
	ls -A "$XDG_STATE_HOME/beampush/uploads" >left &&
	test_must_be_empty left
'

test_expect_success 'a saved session the registry no longer knows: the blob starts over' '
	start_mock --auth none &&
	no_docker_auth &&
	mkdir -p "$XDG_STATE_HOME/beampush/uploads" &&
	layer=$(ls "$IMG/blobs/sha256" | while read h; do s=$(stat -c %s "$IMG/blobs/sha256/$h"); [ "$s" -gt 100000 ] && echo "$h"; done | head -1) &&
	key=$(printf "%s\nbeam/python\nsha256:%s" "$MOCK" "$layer" | sha256sum | cut -d" " -f1) &&
	echo "http://$MOCK/v2/beam/python/blobs/uploads/00000000-0000-0000-0000-000000000000?_state=x" \
		>"$XDG_STATE_HOME/beampush/uploads/$key" &&
	beampush --progress none push --chunk-size 65536 --from "oci:$IMG:latest" "$MOCK/beam/python:latest" >out 2>err &&
	test_no_grep "earlier run" err &&
	test ! -e "$XDG_STATE_HOME/beampush/uploads/$key" &&
	test_image_pushed
'

LAYER=$(image_blobs "$IMG" latest | tail -n 1)
LAYER_SIZE=$(file_size "$(blob_path_layout "$IMG" "$LAYER")")
DIGEST=$(layout_digest "$IMG" latest)

# cut_pull DIR: a pull into DIR cut at byte 200000 of the layer, not retried: exit 1, a partial
pull_cut() {
	start_mock --cut-download-after 200000 "$@" &&
	beampush -q push --from "oci:$IMG:latest" "$MOCK/beam/python:latest" >/dev/null &&
	test_expect_code 1 beampush --retries 0 --progress none pull --to "oci:$PWD/out:latest" \
		"$MOCK/beam/python:latest" 2>err1 &&
	test "$(stat -c %s "out/blobs/sha256/.partial-${LAYER#sha256:}")" = 200000 &&
	test ! -e "$(blob_path_layout out "$LAYER")" &&
	test -z "$(layout_digest out latest)"
}

test_expect_success 'a pull cut in a blob and run again asks only for the rest of it' '
	pull_cut &&
	mark=$(log_mark) &&
	beampush --debug --progress none pull --to "oci:$PWD/out:latest" "$MOCK/beam/python:latest" \
		>out.txt 2>err2 &&
	test_grep "200000 bytes left by an earlier pull, resuming" err2 &&
	log_since $mark >second &&
	test_grep -E "^GET /v2/beam/python/blobs/$LAYER 206 .* range=bytes=200000-$" second &&
	test "$(count_log "^GET /v2/beam/python/blobs/$LAYER ")" = 2 &&
	test_same_image "$IMG" out latest "$DIGEST"
'

test_expect_success 'a partial file whose bytes are wrong: the blob is downloaded whole, and right' '
	pull_cut &&
	flip_byte "out/blobs/sha256/.partial-${LAYER#sha256:}" 1000 &&
	mark=$(log_mark) &&
	beampush --debug --progress none pull --to "oci:$PWD/out:latest" "$MOCK/beam/python:latest" \
		>out.txt 2>err2 &&
	test_grep "downloading it whole" err2 &&
	log_since $mark >second &&
	test_grep -E "^GET /v2/beam/python/blobs/$LAYER 206 .* range=bytes=200000-$" second &&
	test_grep -E "^GET /v2/beam/python/blobs/$LAYER 200 .* range=-$" second &&
	test_same_image "$IMG" out latest "$DIGEST"
'

test_expect_success 'a registry that ignores Range on the second run: the bytes already there are skipped' '
	pull_cut --no-ranges &&
	beampush --progress none pull --to "oci:$PWD/out:latest" "$MOCK/beam/python:latest" \
		>out.txt 2>err2 &&
	test_grep -E "^GET /v2/beam/python/blobs/$LAYER 200 .* range=bytes=200000-$" "$MOCK_LOG" &&
	test_same_image "$IMG" out latest "$DIGEST"
'

test_expect_success 'a partial file longer than the blob is dropped, the blob downloaded whole' '
	start_mock &&
	beampush -q push --from "oci:$IMG:latest" "$MOCK/beam/python:latest" >/dev/null &&
	mkdir -p out/blobs/sha256 &&
	echo "{\"imageLayoutVersion\":\"1.0.0\"}" >out/oci-layout &&
	echo "{\"schemaVersion\":2,\"manifests\":[]}" >out/index.json &&
	head -c $((LAYER_SIZE + 10)) /dev/zero >"out/blobs/sha256/.partial-${LAYER#sha256:}" &&
	beampush --progress none pull --to "oci:$PWD/out:latest" "$MOCK/beam/python:latest" >out.txt &&
	test_grep -E "^GET /v2/beam/python/blobs/$LAYER 200 .* range=-$" "$MOCK_LOG" &&
	test_same_image "$IMG" out latest "$DIGEST"
'

test_done
