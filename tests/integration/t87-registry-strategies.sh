#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Registry upload strategies: a registry that refuses PATCH (Artifact Registry; the mock's
# --no-chunked-upload) gets each blob in one PUT; a registry that caps request bodies (GHCR;
# --max-body) gets chunks halved until they fit, also after a single PUT was too large; a
# registry that answers PATCH with 201 and a Range that stops advancing (ECR;
# --patch-created) is believed. Both
# for OCI layouts, whose blobs are uploaded from a file of known size.
. "$(dirname "$0")/lib.sh"
test_require_build

# Two layers of about 120 KB after gzip: above a 64 KiB chunk, below the one-PUT limit (and
# above --single-put-max 64K where a scenario wants them chunked).
SMALL=$T/small
make_image --seed 87 "$SMALL" latest 2 400000 >/dev/null || test_fatal "mkimage failed"
# Two layers of about 1.5 MB after gzip: chunked by default.
BIG=$T/big
make_image --seed 88 "$BIG" latest 2 5000000 >/dev/null || test_fatal "mkimage failed"

# push_img IMG [PUSH-OPTIONS...]: push oci:IMG:latest to the mock; out and err.
push_img() {
	local img=$1
	shift
	beampush --progress none push "$@" --from "oci:$img:latest" "$MOCK/beam/app:latest" \
		>out 2>err
}

# single_puts IMG: every blob of IMG went in one PUT whose Content-Length is its size.
single_puts() {
	local d size
	for d in $(image_blobs "$1" latest); do
		size=$(file_size "$(blob_path_layout "$1" "$d")")
		test "$(count_log "^PUT /v2/beam/app/blobs/uploads/[^ ]*digest=sha256%3A${d#sha256:} 201 .* cl=$size ")" = 1 ||
			return 1
	done
}

# max_cl METHOD STATUS-RE: the largest cl= of METHOD requests answered STATUS-RE (0: none).
max_cl() {
	awk -v m="$1" -v s="$2" '$1 == m && $3 ~ s {
		for (i = 4; i <= NF; i++) if ($i ~ /^cl=[0-9]+$/) { v = substr($i, 4) + 0; if (v > n) n = v }
	} END { print n + 0 }' "$MOCK_LOG"
}

test_expect_success 'PATCH refused (--no-chunked-upload): each blob in one PUT' '
	start_mock --auth token --user alice:pw --no-chunked-upload --monolithic-post drop &&
	docker_auth "$MOCK" alice pw &&
	push_img "$SMALL" --chunk-size 65536 --single-put-max 64K &&
	test "$(count_log "^PATCH [^ ]* 2[0-9][0-9] ")" = 0 &&
	n405=$(count_log "^PATCH /v2/beam/app/blobs/uploads/[^ ]* 405 ") &&
	test "$n405" -ge 1 && test "$n405" -le 2 &&
	single_puts "$SMALL" &&
	test "$(count_log "^PUT /v2/beam/app/manifests/latest 201 ")" = 1 &&
	stored_is_source "$SMALL" &&
	test_grep "refuses chunked uploads (PATCH answered 405)" err &&
	test_line_count = 1 <(grep "refuses chunked" err)
'

test_expect_success 'PATCH refused, one blob at a time: learnt once for the registry' '
	start_mock --no-chunked-upload --monolithic-post drop &&
	beampush --progress none --jobs 1 push --chunk-size 65536 --single-put-max 64K \
		--from "oci:$SMALL:latest" "$MOCK/beam/app:latest" >out 2>err &&
	test "$(count_log "^PATCH ")" = 1 &&
	single_puts "$SMALL" &&
	stored_is_source "$SMALL"
'

test_expect_success 'body cap (--max-body 100000): chunks halved until they fit' '
	start_mock --auth token --user alice:pw --max-body 100000 &&
	docker_auth "$MOCK" alice pw &&
	push_img "$BIG" &&
	test "$(count_log "^PATCH [^ ]* 413 ")" -ge 1 &&
	test "$(max_cl PATCH "^20[12]$")" -le 100000 &&
	test "$(max_cl PATCH "^20[12]$")" -gt 0 &&
	test "$(max_cl PUT "^201$")" -le 100000 &&
	test "$(count_log "^PUT /v2/beam/app/manifests/latest 201 ")" = 1 &&
	stored_is_source "$BIG" &&
	test_grep "refused a request body as too large (413)" err &&
	test_line_count = 1 <(grep "too large" err)
'

test_expect_success 'body cap: a single PUT too large becomes chunks' '
	start_mock --max-body 100000 &&
	push_img "$SMALL" &&
	test "$(count_log "^PUT /v2/beam/app/blobs/uploads/[^ ]* 413 ")" -ge 1 &&
	test "$(count_log "^PATCH [^ ]* 202 ")" -ge 2 &&
	test "$(max_cl PATCH "^20[12]$")" -le 100000 &&
	test "$(max_cl PUT "^201$")" -le 100000 &&
	stored_is_source "$SMALL"
'

test_expect_success 'control: a registry refusing both PATCH and large bodies fails the push clearly' '
	start_mock --max-body 100000 --no-chunked-upload &&
	test_expect_code 1 push_img "$SMALL" --chunk-size 65536 --single-put-max 64K &&
	test_grep "registry refuses chunked uploads and a body of [0-9]* bytes in one PUT (answered 413)" err &&
	test "$(count_log "^PUT /v2/beam/app/manifests/")" = 0 &&
	test "$(count_log "^PATCH [^ ]* 2[0-9][0-9] ")" = 0 &&
	head -c 100 /dev/zero >small.bin &&
	head -c 100001 /dev/zero >big.bin &&
	loc=$(curl -sS -o /dev/null -D - -X POST "http://$MOCK/v2/beam/app/blobs/uploads/" |
		sed -n "s/^Location: *//Ip" | tr -d "\r") &&
	curl -sS -o body -w "%{http_code}\n" -X PATCH -H "Content-Type: application/octet-stream" \
		--data-binary @small.bin "$loc" >code &&
	echo 405 >want && test_cmp want code &&
	big=$(sha256sum big.bin | cut -d" " -f1) &&
	curl -sS -o body -w "%{http_code}\n" -X PUT -H "Content-Type: application/octet-stream" \
		--data-binary @big.bin "$loc&digest=sha256:$big" >code &&
	echo 413 >want && test_cmp want code &&
	test_grep -F "{\"errors\":[{\"code\":\"SIZE_INVALID\",\"message\":\"request body too large\"}]}" body &&
	test ! -e "$(blob_path_mock sha256:$big)"
'

test_expect_success SKOPEO 'PATCH refused for a layer compressed on the fly: a clear error' '
	skopeo copy -q "oci:$SMALL:latest" "docker-archive:$PWD/small.tar:beam/app:latest" &&
	start_mock --no-chunked-upload &&
	test_expect_code 1 beampush --progress none push --chunk-size 65536 \
		--from "docker-archive:$PWD/small.tar" "$MOCK/beam/app:latest" >out 2>err &&
	test_grep "refuses chunked uploads (PATCH: registry answered 405 UNSUPPORTED: chunked upload is not supported); a layer compressed on the fly cannot be sent in one PUT" err &&
	test "$(count_log "^PATCH [^ ]* 2[0-9][0-9] ")" = 0 &&
	test "$(count_log "^PUT /v2/beam/app/manifests/")" = 0
'

test_expect_success SKOPEO 'PATCH refused, a layer compressed on the fly within one chunk: POST and one PUT' '
	skopeo copy -q "oci:$SMALL:latest" "docker-archive:$PWD/small.tar:beam/app:latest" &&
	start_mock --no-chunked-upload &&
	beampush --progress none push --from "docker-archive:$PWD/small.tar" \
		"$MOCK/beam/app:latest" >out 2>err &&
	test "$(count_log "^PATCH ")" = 0 &&
	test "$(count_log "^PUT /v2/beam/app/blobs/uploads/[^ ]*digest=[^ ]* 201 [^ ]* ct=application/octet-stream cr=0-[0-9]+ cl=[1-9]")" -ge 2 &&
	test "$(count_log "^PUT /v2/beam/app/manifests/latest 201 ")" = 1 &&
	beampush -q pull --to "docker-archive:$PWD/back.tar" "$MOCK/beam/app:latest" >/dev/null
'

test_expect_success 'PATCH answered 201 with a Range that stops advancing (ECR, --patch-created): accepted' '
	start_mock --auth token --user alice:pw --patch-created &&
	docker_auth "$MOCK" alice pw &&
	push_img "$BIG" --chunk-size 262144 &&
	test "$(count_log "^PATCH /v2/beam/app/blobs/uploads/[^ ]* 201 ")" -ge 10 &&
	test "$(count_log "^PATCH [^ ]* [45][0-9][0-9] ")" = 0 &&
	test "$(count_log "^PUT /v2/beam/app/manifests/latest 201 ")" = 1 &&
	stored_is_source "$BIG"
'

test_expect_success SKOPEO 'PATCH answered 201 for a layer compressed on the fly: accepted' '
	skopeo copy -q "oci:$BIG:latest" "docker-archive:$PWD/big.tar:beam/app:latest" &&
	start_mock --patch-created &&
	beampush --progress none push --chunk-size 262144 --from "docker-archive:$PWD/big.tar" \
		"$MOCK/beam/app:latest" >out 2>err &&
	test "$(count_log "^PATCH /v2/beam/app/blobs/uploads/[^ ]* 201 ")" -ge 2 &&
	test "$(count_log "^PUT /v2/beam/app/manifests/latest 201 ")" = 1 &&
	beampush -q pull --to "docker-archive:$PWD/back.tar" "$MOCK/beam/app:latest" >/dev/null
'

test_done
