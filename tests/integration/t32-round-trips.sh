#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Round trips a push spares: what a run learns of a registry host (the scheme it speaks, its
# auth challenge, whether it stores a blob sent in one POST ?digest=) is kept in
# $XDG_STATE_HOME/beampush/registries, so a later run skips the ping; a remembered challenge
# that went stale costs one 401 (or one GET /v2/ when its realm no longer answers); POST ?digest=
# is tried once per host and believed only where the blob is then there (the mock's
# --monolithic-post store, drop as docker-registry 2.8, lie).
. "$(dirname "$0")/lib.sh"
test_require_build

# Ten layers of a few KB and a config: small blobs, each in one request where it can be.
IMG=$T/img
make_image --seed 32 "$IMG" latest 10 4000 >/dev/null || test_fatal "mkimage failed"
IMG2=$T/img2
make_image --seed 33 "$IMG2" latest 10 4000 >/dev/null || test_fatal "mkimage failed"
BLOBS=$(image_blobs "$IMG" latest | wc -l)

# push_img IMG [GLOBAL-OPTIONS...]: push oci:IMG:latest to the mock; out and err.
push_img() {
	local img=$1
	shift
	beampush --progress none "$@" push --from "oci:$img:latest" "$MOCK/beam/app:latest" \
		>out 2>err
}

# host_file: the one file of $XDG_STATE_HOME/beampush/registries (what was learnt of $MOCK).
host_file() {
	ls "$XDG_STATE_HOME"/beampush/registries/* 2>/dev/null | head -n 1
}

test_expect_success 'a second push skips the ping: the challenge comes from the state directory' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	mark=$(log_mark) &&
	push_img "$IMG" &&
	test "$(log_since $mark | grep -c "^GET /v2/ 401 ")" = 1 &&
	f=$(host_file) && test -n "$f" &&
	test "$(stat -c %a "$f")" = 600 &&
	test_grep -Fx "host $MOCK" "$f" &&
	test_grep -Fx "scheme http" "$f" &&
	test_grep -Fx "auth bearer" "$f" &&
	test_grep -Fx "realm http://$MOCK/token" "$f" &&
	test_grep -Fx "service mock-registry" "$f" &&
	test_no_grep -e pw -e alice -i -e token= "$f" &&
	mark=$(log_mark) &&
	push_img "$IMG2" &&
	log_since $mark >second &&
	test_no_grep -E "^GET /v2/ " second &&
	test_no_grep -E " 401 " second &&
	test "$(grep -c "^GET /token" second)" = 1 &&
	stored_is_source "$IMG2"
'

test_expect_success 'a remembered realm gone stale (another token service): one 401, then pushed' '
	start_mock --auth token --user alice:pw &&
	OTHER=$MOCK OTHER_LOG=$MOCK_LOG &&
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	push_img "$IMG" &&
	f=$(host_file) &&
	sed -i "s|^realm .*|realm http://$OTHER/token|" "$f" &&
	mark=$(log_mark) &&
	push_img "$IMG2" &&
	log_since $mark >second &&
	test "$(grep -c " 401 " second)" = 1 &&
	test_no_grep -E "^GET /v2/ " second &&
	test "$(count_log "^GET /token" "$OTHER_LOG")" = 1 &&
	stored_is_source "$IMG2" &&
	test_grep -Fx "realm http://$MOCK/token" "$f" &&
	mark=$(log_mark) &&
	beampush --progress none push --from "oci:$IMG:latest" "$MOCK/beam/app:again" &&
	log_since $mark >third &&
	test_no_grep -E " 401 |^GET /v2/ " third
'

test_expect_success 'a remembered realm that no longer answers: one GET /v2/, no waits, pushed' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	push_img "$IMG" &&
	f=$(host_file) &&
	sed -i "s|^realm .*|realm http://127.0.0.1:1/token|" "$f" &&
	mark=$(log_mark) &&
	push_img "$IMG2" &&
	test_no_grep retrying err &&
	log_since $mark >second &&
	test "$(grep -c "^GET /v2/ 401 " second)" = 1 &&
	stored_is_source "$IMG2" &&
	test_grep -Fx "realm http://$MOCK/token" "$f"
'

test_expect_success 'remembered as anonymous, the registry now asks for a token: one 401' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	push_img "$IMG" &&
	f=$(host_file) &&
	printf "host %s\nscheme http\nauth none\n" "$MOCK" >"$f" &&
	mark=$(log_mark) &&
	push_img "$IMG2" &&
	log_since $mark >second &&
	test "$(grep -c " 401 " second)" = 1 &&
	test_no_grep -E "^GET /v2/ " second &&
	stored_is_source "$IMG2" &&
	test_grep -Fx "auth bearer" "$f"
'

test_expect_success 'a state file that is not one is ignored, and written anew' '
	start_mock --auth none &&
	no_docker_auth &&
	mkdir -p "$XDG_STATE_HOME/beampush/registries" &&
	key=$(printf "%s" "$MOCK" | sha256sum | cut -d" " -f1) &&
	printf "host %s\nscheme gopher\nauth bearer\nrealm file:///etc/passwd\n\001\n" "$MOCK" \
		>"$XDG_STATE_HOME/beampush/registries/$key" &&
	mark=$(log_mark) &&
	push_img "$IMG" &&
	test "$(log_since $mark | grep -c "^GET /v2/ 200 ")" = 1 &&
	test_grep -Fx "auth none" "$XDG_STATE_HOME/beampush/registries/$key" &&
	test_no_grep -e gopher -e passwd "$XDG_STATE_HOME/beampush/registries/$key" &&
	stored_is_source "$IMG"
'

test_expect_success 'login asks the registry, not what a push remembered' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	push_img "$IMG" &&
	mark=$(log_mark) &&
	echo pw | beampush login --store file -u alice --password-stdin "$MOCK" >out 2>err &&
	log_since $mark >second &&
	test "$(grep -c "^GET /v2/ 401 " second)" = 1
'

test_expect_success 'POST ?digest= stored (201): tried once and checked, then one request a blob' '
	start_mock --auth none --monolithic-post store &&
	no_docker_auth &&
	push_img "$IMG" &&
	test "$(count_log "^POST /v2/beam/app/blobs/uploads/\?digest=[^ ]* 201 ")" -ge 1 &&
	stored_is_source "$IMG" &&
	test_grep -Fx "post-stores 1" "$(host_file)" &&
	mark=$(log_mark) &&
	push_img "$IMG2" &&
	log_since $mark >second &&
	test "$(grep -c "^POST /v2/beam/app/blobs/uploads/?digest=[^ ]* 201 " second)" = $BLOBS &&
	test_no_grep -E "^(PUT|PATCH) /v2/beam/app/blobs/" second &&
	test "$(grep -c "^HEAD /v2/beam/app/blobs/[^ ]* 404 " second)" = $BLOBS &&
	test_no_grep -E "^HEAD /v2/beam/app/blobs/[^ ]* 200 " second &&
	test "$(grep -c . second)" = $((2 * BLOBS + 2)) &&
	stored_is_source "$IMG2"
'

test_expect_success 'POST ?digest= answered 202, the body dropped (docker-registry): tried once' '
	start_mock --auth none --monolithic-post drop &&
	no_docker_auth &&
	push_img "$IMG" &&
	test "$(count_log "^POST /v2/beam/app/blobs/uploads/\?digest=")" = 1 &&
	test "$(count_log "^POST /v2/beam/app/blobs/uploads/\?digest=[^ ]* 202 ")" = 1 &&
	test "$(count_log "^PUT /v2/beam/app/blobs/uploads/[^ ]* 201 ")" = $BLOBS &&
	stored_is_source "$IMG" &&
	test_grep -Fx "post-stores 0" "$(host_file)" &&
	mark=$(log_mark) &&
	push_img "$IMG2" &&
	log_since $mark >second &&
	test_no_grep -F "?digest=" <(grep "^POST" second) &&
	test "$(grep -c "^POST /v2/beam/app/blobs/uploads/ 202 " second)" = $BLOBS &&
	stored_is_source "$IMG2"
'

test_expect_success 'POST ?digest= answered 201 but not stored: found out, sent again, the image whole' '
	start_mock --auth none --monolithic-post lie &&
	no_docker_auth &&
	push_img "$IMG" &&
	test_grep "answered 201 to a blob sent in one POST but does not hold it" err &&
	test "$(count_log "^POST /v2/beam/app/blobs/uploads/\?digest=")" = 1 &&
	test "$(count_log "^PUT /v2/beam/app/manifests/latest 201 ")" = 1 &&
	stored_is_source "$IMG" &&
	test_grep -Fx "post-stores 0" "$(host_file)" &&
	beampush pull --to "oci:$PWD/back:latest" "$MOCK/beam/app:latest" &&
	test_same_image "$IMG" back latest "$(layout_digest "$IMG" latest)"
'

test_expect_success 'remembered as storing POST ?digest=, the registry lies: the manifest PUT says so' '
	start_mock --auth none --monolithic-post lie &&
	no_docker_auth &&
	mkdir -p "$XDG_STATE_HOME/beampush/registries" &&
	key=$(printf "%s" "$MOCK" | sha256sum | cut -d" " -f1) &&
	printf "host %s\nscheme http\nauth none\npost-stores 1\n" "$MOCK" \
		>"$XDG_STATE_HOME/beampush/registries/$key" &&
	test_expect_code 1 push_img "$IMG" &&
	test_grep "blobs sent in one POST that it does not hold: push again" err &&
	test_grep -Fx "post-stores 0" "$XDG_STATE_HOME/beampush/registries/$key" &&
	push_img "$IMG" &&
	stored_is_source "$IMG"
'

test_expect_success 'a loopback registry: the TLS try and the ping only on the first run' '
	start_mock --auth none &&
	no_docker_auth &&
	push_img "$IMG" --debug &&
	test_grep "does not speak TLS; using plain http" err &&
	push_img "$IMG2" --debug &&
	test_no_grep -e "does not speak TLS" -e "ping http" err &&
	test_grep "remembered from an earlier run: no ping" err
'

test_expect_success '--insecure-registry http://HOST: plain http, no TLS tried' '
	start_mock --auth none &&
	no_docker_auth &&
	push_img "$IMG" --debug --insecure-registry "http://$MOCK" &&
	# the closing count of connections names TLS (0 resumed): not a TLS try
	grep -v "^debug: connections to http://" err >tried &&
	test_no_grep -e "https://" -e "TLS" tried &&
	test_grep -E "^debug: connections to http://$MOCK: [0-9]+ \(0 HTTP/2, 0 TLS resumed\)" err &&
	test_grep -F "ping http://$MOCK/v2/" err &&
	stored_is_source "$IMG"
'

test_expect_success '--insecure-registry wants HOST[:PORT] or http://HOST[:PORT]' '
	test_expect_code 2 beampush --insecure-registry https://example.com push \
		--from oci:$IMG:latest example.com/beam/app:latest 2>err &&
	test_grep -F "insecure-registry wants HOST[:PORT] or http://HOST[:PORT], not \"https://example.com\"" err &&
	test_expect_code 2 beampush --insecure-registry http://example.com/v2 push \
		--from oci:$IMG:latest example.com/beam/app:latest 2>err &&
	test_grep -F "not \"http://example.com/v2\"" err &&
	test_expect_code 2 beampush --insecure-registry http:// push \
		--from oci:$IMG:latest example.com/beam/app:latest 2>err
'

test_expect_success REGISTRY 'docker-registry: POST ?digest= tried once (202), learnt, the image whole' '
	start_registry &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $REG/beam/app:latest >out &&
	registry_requests >first &&
	test "$(grep -c "^POST /v2/beam/app/blobs/uploads/?digest=" first)" = 1 &&
	test "$(grep -c "^PUT /v2/beam/app/blobs/uploads/[^ ]* 201$" first)" = $BLOBS &&
	for d in $(image_blobs $IMG latest); do
		cmp "$(blob_path_layout $IMG $d)" "$(blob_path_registry $d)" || exit 1
	done &&
	mark=$(log_mark $REG_LOG) &&
	beampush push --from oci:$IMG2:latest $REG/beam/app:latest >out &&
	log_since $mark $REG_LOG >second.log &&
	registry_requests second.log >second &&
	test_no_grep -E "^GET /v2/ |digest=" <(grep -v "^PUT" second) &&
	test "$(grep -c "^POST /v2/beam/app/blobs/uploads/ 202$" second)" = $BLOBS &&
	beampush pull --to oci:$PWD/back:latest $REG/beam/app:latest &&
	test_same_image "$IMG2" back latest "$(layout_digest "$IMG2" latest)"
'

test_done
