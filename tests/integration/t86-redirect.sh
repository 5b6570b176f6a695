#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Blob GETs redirected to another origin (the mock's --storage-redirect port, as S3 presigned
# URLs): the client follows the 307 without the registry's Authorization header, which the
# storage would refuse with 400 "only one auth mechanism allowed", and verifies the bytes.
. "$(dirname "$0")/lib.sh"
test_require_build

IMG=$T/img
DIGEST=$(make_image --seed 86 "$IMG" latest 2 200000) || test_fatal "mkimage failed"
BLOBS=$(image_blobs "$IMG" latest | wc -l)
LAYER=$(image_blobs "$IMG" latest | tail -n 1)

# storage_lines: the log lines of requests to the storage port.
storage_lines() {
	grep "^storage " "$MOCK_LOG"
}

test_expect_success 'pull with token auth through the storage redirect' '
	start_mock --auth token --user alice:pw --storage-redirect &&
	docker_auth "$MOCK" alice pw &&
	beampush --progress none push --from "oci:$IMG:latest" "$MOCK/beam/python:latest" \
		>out 2>err &&
	beampush --progress none pull --to "oci:$PWD/pulled:latest" "$MOCK/beam/python:latest" \
		>pull.out 2>pull.err &&
	test_same_image "$IMG" pulled latest "$DIGEST" &&
	test "$(count_log "^GET /v2/beam/python/blobs/sha256:[0-9a-f]* 307 auth=bearer:alice ")" = $BLOBS &&
	test "$(count_log "^storage GET /blob/[0-9a-f]{64}\\?sig=[0-9a-f]+ 200 auth=none ")" = $BLOBS &&
	storage_lines >lines &&
	test_line_count = $BLOBS lines &&
	test_no_grep -v " auth=none " lines &&
	test "$(count_log "^GET /v2/beam/python/blobs/[^ ]* 200 ")" = 0
'

test_expect_success 'a HEAD of a blob is still answered by the registry' '
	start_mock --storage-redirect &&
	beampush --progress none push --from "oci:$IMG:latest" "$MOCK/beam/python:latest" \
		>out 2>err &&
	curl -sS -o /dev/null -I -w "%{http_code} %{size_download}\n" \
		"http://$MOCK/v2/beam/python/blobs/$LAYER" >head.out &&
	echo "200 0" >want &&
	test_cmp want head.out &&
	test "$(count_log "^HEAD /v2/beam/python/blobs/$LAYER 200 ")" = 1 &&
	test_must_be_empty <(storage_lines)
'

test_expect_success 'control: the storage refuses a request carrying Authorization' '
	start_mock --storage-redirect &&
	beampush --progress none push --from "oci:$IMG:latest" "$MOCK/beam/python:latest" \
		>out 2>err &&
	curl -sS -o /dev/null -D hdrs "http://$MOCK/v2/beam/python/blobs/$LAYER" &&
	loc=$(sed -n "s/^Location: *//Ip" hdrs | tr -d "\r") &&
	case $loc in http://127.0.0.1:*/blob/*\?sig=*) ;; *) false ;; esac &&
	test "${loc#http://$MOCK/}" = "$loc" &&
	curl -sS -o body -w "%{http_code}\n" -H "Authorization: Bearer x" "$loc" >code &&
	echo 400 >want &&
	test_cmp want code &&
	test_grep -F "{\"error\":\"only one auth mechanism allowed\"}" body &&
	curl -sS -o got -w "%{http_code}\n" "$loc" >code &&
	echo 200 >want &&
	test_cmp want code &&
	cmp got "$(blob_path_layout "$IMG" "$LAYER")" &&
	curl -sS -o part -w "%{http_code}\n" -r 10- "$loc" >code &&
	echo 206 >want &&
	test_cmp want code &&
	tail -c +11 got | cmp - part &&
	test "$(count_log "^storage GET /blob/[^ ]* 400 auth=")" = 1 &&
	test "$(count_log "^storage GET /blob/[^ ]* 400 auth=none ")" = 0 &&
	test "$(count_log "^storage GET /blob/[^ ]* 20[06] auth=none ")" = 2
'

test_done
