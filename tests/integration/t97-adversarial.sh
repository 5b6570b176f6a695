#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Adversarial registries (issue 6 item 3, issue 5's bad input): manifests naming digests of an
# unknown algorithm or bad hex and sizes no blob has, bodies without end (blob, manifest, token),
# a redirect loop, upload Ranges past what was sent or going backwards, an upload Location on
# another origin, a Retry-After of a year, destination names with '/' and '..'. Each ends with
# one clear line, the exit status man/beampush.1 lists, nothing unverified kept and no
# credential sent where it does not belong. What t45, t70, t85, t86 and t88 test already is not
# repeated here.
#
# Exit codes chosen: a manifest whose descriptor is malformed (digest of another algorithm or
# not 64 lowercase hex, size negative, fractional or 2^53 and more) is a registry breaking the
# protocol: exit 1, refused before any blob is fetched. A well-formed size the bytes do not
# match (more, fewer, or a body without end) is an integrity failure: exit 5.
. "$(dirname "$0")/lib.sh"
test_require_build

IMG=$T/img
DIGEST=$(make_image --seed 97 "$IMG" latest 2 20000) || test_fatal "mkimage failed"
CONFIG=$(image_blobs "$IMG" latest | head -n 1)
LAYER=$(image_blobs "$IMG" latest | sed -n 2p)
LAYER_SIZE=$(file_size "$(blob_path_layout "$IMG" "$LAYER")")
MANIFEST=$(cat "$(blob_path_layout "$IMG" "$DIGEST")")
OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json
# Two layers of about 120 KB after gzip: two PATCH chunks of 64 KiB each.
BIG=$T/big
make_image --seed 5 "$BIG" latest 2 400000 >/dev/null || test_fatal "mkimage failed"

# err_is_one_clean_line FILE: FILE is one printable line from beampush, no sanitizer report.
err_is_one_clean_line() {
	test_line_count = 1 "$1" &&
	test_grep "^beampush: " "$1" &&
	test_no_grep -e AddressSanitizer -e LeakSanitizer -e "runtime error" "$1" &&
	test -z "$(tr -d '\n[:print:]' <"$1")"
}

# pull_must_fail CODE REF [GLOBAL-OPTIONS...]: pull into ./pulled exits CODE with one clean line
# on stderr; the layout keeps no unverified or temporary file and no tag.
pull_must_fail() {
	test_expect_code "$1" beampush --progress none "${@:3}" pull --to oci:$PWD/pulled:latest "$2" \
		>out 2>err &&
	test_must_be_empty out &&
	err_is_one_clean_line err &&
	cat err &&
	layout_clean pulled &&
	test -z "$(layout_digest pulled latest)"
}

# push_it IMG [GLOBAL-OPTIONS...]: push IMG in 64 KiB chunks (blobs over 64K) to the mock; out
# and err. The scenarios that count upload sessions start the mock with --monolithic-post drop
# (as docker-registry: a POST ?digest= is answered 202 and the blob sent again).
push_it() {
	local img=$1
	shift
	beampush --progress none "$@" push --chunk-size 65536 --single-put-max 64K \
		--from "oci:$img:latest" "$MOCK/beam/python:latest" >out 2>err
}

# serve_manifest TAG TEXT: the mock answers TEXT (an OCI manifest) for TAG, as if it had been
# pushed; the mock's own PUT refuses such manifests, so this writes its storage.
serve_manifest() {
	local hex dir=$MOCK_ROOT/repos/beam/python
	hex=$(printf '%s' "$2" | sha256sum | cut -d' ' -f1) &&
	printf '%s' "$2" >"$dir/_manifests/$hex" &&
	echo "$OCI_MANIFEST" >"$dir/_manifests/$hex.type" &&
	printf 'sha256:%s' "$hex" >"$dir/_tags/$1"
}

# with_layer TEXT: the test manifest with the second descriptor's digest replaced by TEXT.
with_layer() {
	printf '%s' "${MANIFEST/\"digest\":\"$LAYER\"/\"digest\":\"$1\"}"
}

# with_size TEXT: the test manifest with the layer's size replaced by TEXT.
with_size() {
	printf '%s' "${MANIFEST/\"digest\":\"$LAYER\",\"size\":$LAYER_SIZE/\"digest\":\"$LAYER\",\"size\":$1}"
}

# no_blob_gets: the mock answered no blob GET.
no_blob_gets() {
	test "$(count_log "^GET /v2/beam/python/blobs/")" = 0
}

test_expect_success 'control: the crafted manifests differ from the pushed one only where asked' '
	test "$(with_size $LAYER_SIZE)" = "$MANIFEST" &&
	test "$(with_layer $LAYER)" = "$MANIFEST" &&
	test "$(with_size 1)" != "$MANIFEST" &&
	test "$(with_layer x)" != "$MANIFEST" &&
	start_mock &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest >out 2>err &&
	serve_manifest same "$MANIFEST" &&
	beampush --progress none pull --to oci:$PWD/pulled:latest $MOCK/beam/python:same &&
	test_same_image $IMG pulled latest "$DIGEST"
'

# --- 1. descriptor digests ---------------------------------------------------------------

HEX=${LAYER#sha256:}
HEX_UPPER=$(echo "$HEX" | tr a-f A-F)
BAD_DIGESTS=(
	"sha999:$HEX|unsupported digest algorithm \"sha999\""
	"md5:0123456789abcdef0123456789abcdef|unsupported digest algorithm \"md5\""
	"sha256:${HEX:0:63}|sha256 needs 64 hex digits, got 63"
	"sha256:${HEX}00|sha256 needs 64 hex digits, got 66"
	"sha256:$HEX_UPPER|sha256 needs 64 lowercase hex digits"
	"sha256:${HEX:0:62}zz|sha256 needs 64 lowercase hex digits, found 'z'"
	"sha256:../../../../tmp/x|sha256 needs 64 lowercase hex digits, found '.'"
	"sha256:|sha256 needs 64 hex digits, got 0"
	"$HEX|invalid digest"
)

test_expect_success 'a layer digest of an unknown algorithm or bad hex: exit 1 before any blob GET' '
	start_mock &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest >out 2>err &&
	for c in "${BAD_DIGESTS[@]}"; do
		d=${c%%|*} want=${c#*|} &&
		echo "digest: $d" &&
		serve_manifest bad "$(with_layer "$d")" &&
		mark=$(log_mark) &&
		pull_must_fail 1 $MOCK/beam/python:bad &&
		test_grep -F "manifest layers[0]: " err &&
		test_grep -F "$want" err &&
		test ! -e pulled &&
		test "$(log_since $mark | grep -c "^GET /v2/beam/python/blobs/")" = 0 || exit 1
	done
'

# --- 2. descriptor sizes -----------------------------------------------------------------

test_expect_success 'a layer size of 2^63, 2^63-1, 2^53, negative or not whole: exit 1, nothing fetched' '
	start_mock &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest >out 2>err &&
	for c in "9223372036854775808|too large to be exact" \
		 "9223372036854775807|too large to be exact" \
		 "18446744073709551616|too large to be exact" \
		 "9007199254740992|too large to be exact" \
		 "1e300|too large to be exact" \
		 "-1|size -1 is negative" \
		 "-9223372036854775808|is negative" \
		 "100.5|not a whole number" \
		 "\"$LAYER_SIZE\"|size is not a number" \
		 "null|size is not a number"; do
		s=${c%%|*} want=${c#*|} &&
		echo "size: $s" &&
		serve_manifest bad "$(with_size "$s")" &&
		pull_must_fail 1 $MOCK/beam/python:bad &&
		test_grep -F "manifest layers[0]: " err &&
		test_grep -F "$want" err &&
		test ! -e pulled || exit 1
	done &&
	no_blob_gets
'

test_expect_success 'a layer size larger than the blob (2^53-1, size+1): exit 5, the layer not kept' '
	start_mock &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest >out 2>err &&
	for s in 9007199254740991 $((LAYER_SIZE + 1)); do
		serve_manifest bad "$(with_size $s)" &&
		pull_must_fail 5 $MOCK/beam/python:bad &&
		test_grep -F "blob $LAYER: size mismatch (got $LAYER_SIZE bytes, expected $s)" err &&
		test ! -e "$(blob_path_layout pulled $LAYER)" || exit 1
	done
'

test_expect_success 'a layer size smaller than the blob: reading stops at size + 1 byte, exit 5' '
	start_mock &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest >out 2>err &&
	for s in $((LAYER_SIZE - 1)) 0; do
		serve_manifest bad "$(with_size $s)" &&
		pull_must_fail 5 $MOCK/beam/python:bad &&
		test_grep -F "blob $LAYER: registry sent more than its $s bytes" err &&
		test ! -e "$(blob_path_layout pulled $LAYER)" || exit 1
	done
'

# --- 3. bodies without end ---------------------------------------------------------------

test_expect_success 'blob-endless: the fault is live (a chunked body longer than the blob)' '
	start_mock --fault blob-endless &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest >out 2>err &&
	{ curl -s -D hdr "http://$MOCK/v2/beam/python/blobs/$LAYER" | head -c 10000000 >body; } &&
	test_grep -i "^transfer-encoding: chunked" hdr &&
	test_no_grep -i "^content-length" hdr &&
	test "$(file_size body)" = 10000000 &&
	head -c $LAYER_SIZE body | cmp - "$(blob_path_layout $IMG $LAYER)" &&
	test "$(tail -c +$((LAYER_SIZE + 1)) body | tr -d "\\000" | wc -c)" = 0
'

test_expect_success 'a blob body without end: pull ends with exit 5, nothing of it kept' '
	start_mock --auth token --user alice:pw --fault blob-endless &&
	docker_auth "$MOCK" alice pw &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest >out 2>err &&
	pull_must_fail 5 $MOCK/beam/python:latest &&
	test_grep -E "blob sha256:[0-9a-f]{64}: registry sent more than its [0-9]+ bytes" err &&
	for d in $(image_blobs $IMG latest) $DIGEST; do
		test ! -e "$(blob_path_layout pulled $d)" || exit 1
	done
'

test_expect_success 'a manifest body without end: exit 1 at the 4 MiB cap, no blob fetched' '
	start_mock --fault manifest-endless &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest >out 2>err &&
	{ curl -s -D hdr "http://$MOCK/v2/beam/python/manifests/latest" | head -c 5000000 >body; } &&
	test_grep -i "^transfer-encoding: chunked" hdr &&
	test "$(file_size body)" = 5000000 &&
	pull_must_fail 1 $MOCK/beam/python:latest &&
	test_grep "manifest latest .*larger than 4 MiB" err &&
	test ! -e pulled &&
	no_blob_gets
'

test_expect_success 'a token body without end: exit 1 at the 64 KiB cap, the password never leaves it' '
	start_mock --auth token --user alice:s3cr3t-pw --fault token-endless &&
	docker_auth "$MOCK" alice s3cr3t-pw &&
	pull_must_fail 1 $MOCK/beam/python:latest &&
	test_grep "token response is larger than 64 KiB" err &&
	test_no_grep -e s3cr3t -e xxxxxxxx err &&
	test "$(count_log "^GET /token.* 200 auth=basic:alice ")" -ge 1 &&
	test "$(count_log " auth=bearer:")" = 0 &&
	test "$(count_log "^GET /v2/beam/python/")" = 0
'

# --- 4. a Content-Length the body does not reach -----------------------------------------

test_expect_success 'a blob cut before its Content-Length, no retries left: exit 1, only a .partial kept' '
	start_mock --cut-download-after 5000 &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest >out 2>err &&
	test_expect_code 1 beampush --progress none --retries 0 pull --to oci:$PWD/pulled:latest \
		$MOCK/beam/python:latest >out 2>err &&
	err_is_one_clean_line err &&
	cat err &&
	test_grep -E "/blobs/sha256:[0-9a-f]{64}: transfer closed with [0-9]+ bytes remaining to read" err &&
	cut=$(grep -oE "sha256:[0-9a-f]{64}" err) &&
	test "$(count_log "^GET /v2/beam/python/blobs/$cut ")" = 1 &&
	test "$(count_log " range=bytes=")" = 0 &&
	test "$(file_size pulled/blobs/sha256/.partial-${cut#sha256:})" = 5000 &&
	rm pulled/blobs/sha256/.partial-${cut#sha256:} &&
	layout_clean pulled &&
	test -z "$(layout_digest pulled latest)" &&
	test ! -e "$(blob_path_layout pulled $cut)"
'

# --- 8. an upload Location on another origin ---------------------------------------------

test_expect_success 'upload-elsewhere: the upload goes to the other origin without the token' '
	start_mock --auth token --user alice:pw --fault upload-elsewhere --monolithic-post drop &&
	docker_auth "$MOCK" alice pw &&
	push_it "$BIG" &&
	stored_is_source "$BIG" &&
	test "$(count_log "^PUT /v2/beam/python/manifests/latest 201 auth=bearer:alice ")" = 1 &&
	test "$(count_log "^POST /v2/beam/python/blobs/uploads/(\?digest=[^ ]*)? 202 auth=bearer:alice ")" = 3 &&
	grep "^storage " $MOCK_LOG >storage &&
	test "$(grep -c "^storage PATCH /v2/beam/python/blobs/uploads/[^ ]* 202 auth=none " storage)" -ge 2 &&
	test "$(grep -c "^storage PUT /v2/beam/python/blobs/uploads/[^ ]* 201 auth=none " storage)" = 3 &&
	test_no_grep -v " auth=none " storage &&
	test "$(count_log "^(PATCH|PUT) /v2/beam/python/blobs/uploads/")" = 0
'

test_expect_success 'upload-elsewhere: control, the other origin refuses the token (400)' '
	start_mock --auth token --user alice:pw --fault upload-elsewhere &&
	curl -s -D hdr -o /dev/null -X POST "http://$MOCK/v2/beam/python/blobs/uploads/" &&
	test_grep "^HTTP/1.1 401" hdr &&
	token=$(curl -s -u alice:pw "http://$MOCK/token?service=mock-registry&scope=repository:beam/python:pull,push" |
		sed "s/.*\"token\":\"\\([^\"]*\\)\".*/\\1/") &&
	test -n "$token" &&
	curl -s -D hdr -o /dev/null -X POST -H "Authorization: Bearer $token" \
		"http://$MOCK/v2/beam/python/blobs/uploads/" &&
	loc=$(sed -n "s/^Location: *//Ip" hdr | tr -d "\r") &&
	case $loc in http://127.0.0.1:*/v2/beam/python/blobs/uploads/*) ;; *) false ;; esac &&
	test "${loc#http://$MOCK/}" = "$loc" &&
	curl -s -o body -w "%{http_code}\n" -H "Authorization: Bearer $token" "$loc" >code &&
	echo 400 >want &&
	test_cmp want code &&
	curl -s -o /dev/null -w "%{http_code}\n" "$loc" >code &&
	echo 204 >want &&
	test_cmp want code
'

# --- 10. upload Ranges, Retry-After, redirect loops --------------------------------------

test_expect_success 'upload-range-ahead: a status past what was sent starts the blob over, right' '
	start_mock --fault upload-range-ahead --cut-upload-after 40000 --monolithic-post drop &&
	push_it "$BIG" &&
	test_grep -E "blob sha256:[0-9a-f]{12}: registry says the upload holds 1088576 bytes, but only 65536 were sent; starting the blob over" err &&
	cut=$(awk "\$1 == \"PATCH\" && \$3 == \"000\" { u = \$2; sub(/\\?.*/, \"\", u); print u }" $MOCK_LOG) &&
	test -n "$cut" &&
	test_grep -E "^GET $cut\?[^ ]* 204 " $MOCK_LOG &&
	test "$(count_log "^(PATCH|PUT) $cut\?[^ ]* 20[12] ")" = 0 &&
	test "$(count_log "^POST /v2/beam/python/blobs/uploads/(\?digest=[^ ]*)? 202 ")" = 4 &&
	test "$(count_log "^PUT /v2/beam/python/blobs/uploads/[^ ]* 400 ")" = 0 &&
	test "$(count_log "^PUT /v2/beam/python/manifests/latest 201 ")" = 1 &&
	stored_is_source "$BIG"
'

test_expect_success 'upload-range-ahead after a 413 (--max-body): the same, the blob starts over' '
	start_mock --fault upload-range-ahead --max-body 100000 &&
	beampush --progress none push --chunk-size 102400 --single-put-max 64K \
		--from "oci:$BIG:latest" "$MOCK/beam/python:latest" >out 2>err &&
	test "$(count_log "^PATCH [^ ]* 413 .* cl=102400 ")" -ge 1 &&
	test_grep -E "blob sha256:[0-9a-f]{12}: registry says the upload holds 1048576 bytes, but only 102400 were sent; starting the blob over" err &&
	test "$(count_log "^PUT /v2/beam/python/blobs/uploads/[^ ]* 400 ")" = 0 &&
	test "$(count_log "^PUT /v2/beam/python/manifests/latest 201 ")" = 1 &&
	stored_is_source "$BIG"
'

test_expect_success 'upload-range-backwards: a PATCH answer going back fails the push (exit 1)' '
	start_mock --fault upload-range-backwards --monolithic-post drop &&
	: layers of 120 KB in chunks of 40000: a second PATCH, whose answer goes back &&
	test_expect_code 1 beampush --progress none --jobs 1 push --chunk-size 40000 \
		--single-put-max 64K --from "oci:$BIG:latest" "$MOCK/beam/python:latest" >out 2>err &&
	err_is_one_clean_line err &&
	test_grep -F "upload chunk 40000-" err &&
	test_grep -F "registry says it holds bytes 0-19999" err &&
	test "$(count_log "^PUT /v2/beam/python/manifests/")" = 0 &&
	for d in $(image_blobs $BIG latest); do
		test ! -e "$(blob_path_mock $d)" || cmp "$(blob_path_mock $d)" "$(blob_path_layout $BIG $d)" || exit 1
	done &&
	test "$(count_log "^PUT /v2/beam/python/blobs/uploads/[^ ]* 201 ")" = "$(ls $MOCK_ROOT/blobs/sha256 | wc -l)"
'

# retry_waiting MOCK-ARGS...: a push (--jobs 1) whose first blob HEAD gets the 429 that
# MOCK-ARGS set up. Polls (up to 10 s) for the retry message, checks that the process is still
# waiting then, and stops it: the test never waits out the delay.
retry_waiting() {
	local pid i=0 rc=0
	start_mock "$@" && no_docker_auth || return 1
	"$BEAMPUSH" --progress none --jobs 1 push --from oci:$IMG:latest \
		$MOCK/beam/python:latest >out 2>err </dev/null &
	pid=$!
	while ! grep -q retrying err && [ $i -lt 200 ] && kill -0 $pid 2>/dev/null; do
		sleep 0.05
		i=$((i + 1))
	done
	if ! kill $pid 2>/dev/null; then
		echo "retry_waiting: beampush was not waiting any more" >&2
		wait $pid
		cat err >&2
		return 1
	fi
	wait $pid || rc=$?
	cat err
	test "$rc" = 143 &&
	test_line_count = 1 err &&
	test "$(count_log "^HEAD /v2/beam/python/blobs/[^ ]* 429 ")" = 1 &&
	test "$(count_log "^PUT /v2/beam/python/manifests/")" = 0
}

test_expect_success 'Retry-After: 31536000 (a year) is capped at 60 s and the message says so' '
	retry_waiting --status-fault HEAD:/blobs/:429:1:31536000 &&
	test_grep -F "retrying in 60s (attempt 2 of 5): HEAD answered 429 (Retry-After capped at 60s; the registry asked for 31536000s)" err
'

test_expect_success 'Retry-After as an HTTP date a year ahead: capped at 60 s the same way' '
	retry_waiting --status-fault HEAD:/blobs/:429:1:31536000 --fault retry-after-date &&
	test_grep -E "retrying in 60s \(attempt 2 of 5\): HEAD answered 429 \(Retry-After capped at 60s; the registry asked for 315(3[5-9]|40)[0-9]{3}s\)" err
'

test_expect_success 'retry-after-date: the fault is live (an IMF-fixdate a year ahead)' '
	start_mock --status-fault GET:/v2/:429:0:31536000 --fault retry-after-date &&
	curl -s -D hdr -o /dev/null "http://$MOCK/v2/" &&
	test_grep "^HTTP/1.1 429" hdr &&
	date=$(sed -n "s/^Retry-After: *//Ip" hdr | tr -d "\r") &&
	echo "$date" | grep -E "^[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$" &&
	ahead=$(($(date -u -d "$date" +%s) - $(date -u +%s))) &&
	test $ahead -ge 31535990 && test $ahead -le 31536000
'

test_expect_success 'Retry-After within the cap (0 s) is waited as asked: no cap note' '
	start_mock --status-fault HEAD:/blobs/:429:1:0 &&
	no_docker_auth &&
	beampush --progress none push --from oci:$IMG:latest $MOCK/beam/python:latest >out 2>err &&
	test_grep -F "retrying in 0s (attempt 2 of 5): HEAD answered 429" err &&
	test_no_grep capped err
'

test_expect_success 'a redirect loop on a blob GET: exit 1 after 10 redirects, bounded requests' '
	start_mock --auth token --user alice:pw --fault blob-redirect-loop &&
	docker_auth "$MOCK" alice pw &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest >out 2>err &&
	pull_must_fail 1 "$MOCK/beam/python:latest" --jobs 1 &&
	test_grep -E "/v2/beam/python/blobs/sha256:[0-9a-f]{64}: more than 10 redirects" err &&
	test "$(count_log "^GET /v2/beam/python/blobs/sha256:[0-9a-f]* 307 auth=bearer:alice ")" = 11 &&
	awk "\$1 == \"GET\" && \$3 == 307 { c[\$2]++ } END { for (u in c) print c[u] }" $MOCK_LOG |
		sort -u >counts &&
	echo 11 >want &&
	test_cmp want counts
'

# --- 9. names with '/' and '..' ----------------------------------------------------------

test_expect_success 'pull --to with a tag or reference holding / or ..: exit 1 before any request' '
	start_mock &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest >out 2>err &&
	mkdir box && cd box &&
	mark=$(log_mark) &&
	for dest in "oci:$PWD/d:../../escape" "oci:$PWD/d:a/b" "oci:$PWD/d:.." "oci:$PWD/d:-x" \
		"docker-archive:$PWD/a.tar:../../escape:latest" \
		"docker-archive:$PWD/a.tar:beam/python:../x" "docker-daemon:../escape:latest"; do
		echo "dest: $dest" &&
		test_expect_code 1 beampush --progress none pull --to "$dest" \
			$MOCK/beam/python:latest >out 2>err &&
		err_is_one_clean_line err &&
		cat err &&
		test_grep -e "destination tag \"[^\"]*\" is invalid" -e "destination: invalid reference" err || exit 1
	done &&
	test "$(log_since $mark | wc -l)" = 0 &&
	ls -A >../listing &&
	printf "%s\n" err out >../want &&
	test_cmp ../want ../listing &&
	test ! -e ../escape && test ! -e ../../escape && test ! -e "$T/escape"
'

test_expect_success 'index.json ref.name and docker-archive RepoTags with ..: names, never paths' '
	start_mock &&
	no_docker_auth &&
	cp -r $IMG evil &&
	sed -i "s|\"org.opencontainers.image.ref.name\":\"latest\"|\"org.opencontainers.image.ref.name\":\"../../escape\"|" evil/index.json &&
	test_grep -F "../../escape" evil/index.json &&
	beampush --progress none push --from "oci:$PWD/evil:../../escape" $MOCK/beam/python:evil >out 2>err &&
	test "$(count_log "^PUT /v2/beam/python/manifests/evil 201 ")" = 1 &&
	beampush --progress none pull --to "docker-archive:$PWD/img.tar:beam/python:1" \
		$MOCK/beam/python:evil >out 2>err &&
	mkdir x && tar xf img.tar -C x &&
	sed -i "s|\"docker.io/beam/python:1\"|\"../../escape:latest\"|" x/manifest.json &&
	test_grep -F "../../escape:latest" x/manifest.json &&
	(cd x && tar cf ../evil.tar *) &&
	test_expect_code 1 beampush --progress none push --from "docker-archive:$PWD/evil.tar:../../escape:latest" \
		$MOCK/beam/python:evil2 >out 2>err &&
	err_is_one_clean_line err &&
	test_grep "invalid reference \"../../escape:latest\"" err &&
	rm -rf x && mkdir x && tar xf img.tar -C x &&
	sed -i "s|\"Layers\":\\[\"|\"Layers\":[\"../../|" x/manifest.json &&
	(cd x && tar cf ../evil2.tar *) &&
	test_expect_code 1 beampush --progress none push --from "docker-archive:$PWD/evil2.tar" \
		$MOCK/beam/python:evil3 >out 2>err &&
	err_is_one_clean_line err &&
	test_grep "which is not a name a docker archive uses" err &&
	test "$(count_log "^PUT /v2/beam/python/manifests/evil[23] ")" = 0 &&
	test ! -e ../escape && test ! -e ../../escape && test ! -e "$T/escape"
'

test_done
