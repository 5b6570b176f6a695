#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Refresh (identity) tokens: login asks the token service for one (OAuth2 POST grant_type=password
# with access_type=offline; GET with offline_token=true when the POST answers 404) and keeps it,
# as docker does, under the username <token> instead of the password; later commands trade it
# for access tokens with POST grant_type=refresh_token. A service without the OAuth2 POST could
# never take a refresh token back: there login keeps the password. A refused refresh token says
# to log in again. Neither the password nor the refresh token ever shows in any output or in the
# mock's log.
. "$(dirname "$0")/bus.sh"
. "$(dirname "$0")/lib.sh"
[ -f "${BP_TEST_PRIVATE_BUS:-}" ] && rm -f "$BP_TEST_PRIVATE_BUS"
test_require_build

IMG=$T/img
make_image "$IMG" latest 2 10000 >/dev/null || test_fatal "mkimage failed"
# what a form body must encode: a space, '+', '&', '=', '%', a colon, quotes, a backslash, UTF-8
SECRET='s3cr3t pa:ss+&=%2B "q" \ ü'

# login_file ARGS...: beampush login as alice with $SECRET on stdin into config.json; out, err.
login_file() {
	printf '%s\n' "$SECRET" |
		beampush --debug login -u alice --password-stdin --store file "$@" "$MOCK" >out 2>err
}

# push_it: push the test image to the mock with --debug; push.out and push.err.
push_it() {
	beampush --debug --progress none push --from "oci:$IMG:latest" "$MOCK/beam/python:latest" \
		>push.out 2>push.err
}

# identity_token: the identitytoken config.json holds for the mock (empty when none).
identity_token() {
	tr -d '\n' <"$DOCKER_CONFIG/config.json" |
		sed -n 's/.*"identitytoken":[[:space:]]*"\([^"]*\)".*/\1/p'
}

# no_secret FILE...: neither the password (nor base64 of alice:password) nor the refresh token
# $RT, when set, is in any of FILES.
no_secret() {
	local b64
	b64=$(printf 'alice:%s' "$SECRET" | base64 -w0)
	test_no_grep -F -e "$SECRET" -e "$b64" ${RT:+-e "$RT"} "$@"
}

test_expect_success 'login with OAuth2 keeps an identity token, never the password (--store file)' '
	start_mock --auth token --user "alice:$SECRET" &&
	docker_config "{}" &&
	login_file &&
	test_grep -F "Login succeeded: an identity token for $MOCK stored in $DOCKER_CONFIG/config.json" out &&
	test_grep -F "the identity token is stored unencrypted" err &&
	test_grep -E "^POST /token 200 auth=oauth:password:alice ct=application/x-www-form-urlencoded " $MOCK_LOG &&
	test "$(count_log "^GET /token")" = 0 &&
	RT=$(identity_token) &&
	test ${#RT} = 64 &&
	test_no_grep -F "\"auth\"" "$DOCKER_CONFIG/config.json" &&
	RT= no_secret "$DOCKER_CONFIG/config.json" &&
	no_secret out err $MOCK_LOG
'

test_expect_success KEYRING 'login into the keyring: username <token> and the refresh token, not the password' '
	start_keyring &&
	start_mock --auth token --user "alice:$SECRET" &&
	no_docker_auth &&
	printf "%s\n" "$SECRET" | beampush --debug login -u alice --password-stdin "$MOCK" >out 2>err &&
	test_grep -F "Login succeeded: an identity token for $MOCK stored in the login keyring" out &&
	keyring_items >items &&
	test_grep -F "attribute.server = $MOCK" items &&
	test_grep -F "attribute.username = <token>" items &&
	RT=$(sed -n "s/^secret = //p" items) &&
	test ${#RT} = 64 &&
	test_no_grep -F -e "$SECRET" -e alice items &&
	push_it &&
	test_grep -F "from the login keyring" push.err &&
	test "$(count_log "^POST /token 200 auth=oauth:refresh_token:alice ")" -ge 1 &&
	test "$(count_log "^PUT /v2/beam/python/manifests/latest 201 auth=bearer:alice ")" = 1 &&
	no_secret out err push.out push.err $MOCK_LOG
'

test_expect_success 'push trades the identity token by POST grant_type=refresh_token' '
	start_mock --auth token --user "alice:$SECRET" &&
	docker_config "{}" &&
	login_file &&
	RT=$(identity_token) &&
	mark=$(log_mark) &&
	push_it &&
	log_since $mark >log &&
	test_grep -E "^POST /token 200 auth=oauth:refresh_token:alice ct=application/x-www-form-urlencoded " log &&
	test_no_grep -E "^(GET /token|POST /token [^2])" log &&
	test_no_grep -E " auth=(basic|bad|none)" <(grep -v "^POST /token" log | grep -v "^GET /v2/ 401") &&
	test "$(count_log "^PUT /v2/beam/python/manifests/latest 201 auth=bearer:alice ")" = 1 &&
	test_grep -F "refresh token" push.err &&
	beampush --debug pull --to oci:$PWD/pulled:latest $MOCK/beam/python:latest >pull.out 2>pull.err &&
	layout_contains $IMG pulled &&
	no_secret push.out push.err pull.out pull.err $MOCK_LOG
'

test_expect_success '--no-oauth: login falls back to GET with offline_token=true' '
	start_mock --auth token --no-oauth --user "alice:$SECRET" &&
	docker_config "{}" &&
	login_file &&
	test_grep -E "^POST /token 404 " $MOCK_LOG &&
	test_grep -E "^GET /token\?service=mock-registry&account=alice&offline_token=true&client_id=beampush 200 auth=basic:alice " $MOCK_LOG &&
	test_grep -F "POST answered 404, trying GET" err &&
	test_grep -F "no OAuth2 endpoint to take a refresh token back; keeping the password" err &&
	test_grep -F "Login succeeded: the credentials for $MOCK" out &&
	test -z "$(identity_token)" &&
	push_it &&
	test "$(count_log "^GET /token\?service=mock-registry&scope=repository%3Abeam%2Fpython%3Apull%2Cpush&account=alice 200 auth=basic:alice ")" -ge 1 &&
	test "$(count_log "^PUT /v2/beam/python/manifests/latest 201 auth=bearer:alice ")" = 1 &&
	RT= no_secret out err push.out push.err $MOCK_LOG
'

test_expect_success 'a revoked refresh token: push exits 3 and says to log in again' '
	start_mock --auth token --revoke-refresh --user "alice:$SECRET" &&
	docker_config "{}" &&
	login_file &&
	RT=$(identity_token) &&
	test ${#RT} = 64 &&
	test_expect_code 3 push_it &&
	test_grep -E "^POST /token 401 auth=oauth:refresh_token:bad " $MOCK_LOG &&
	test_grep "^beampush: .*log in again" push.err &&
	test "$(count_log "^PUT /v2/beam/python/manifests/")" = 0 &&
	no_secret out err push.out push.err $MOCK_LOG
'

test_expect_success 'a wrong password: the POST is refused, nothing stored, exit 3' '
	start_mock --auth token --user "alice:$SECRET" &&
	docker_config "{}" &&
	printf "%s\n" "wrong-$SECRET" | test_expect_code 3 beampush login -u alice --password-stdin --store file "$MOCK" >out 2>err &&
	test_grep -E "^POST /token 401 auth=oauth:password:bad " $MOCK_LOG &&
	test_grep "login refused, nothing stored" err &&
	test "$(cat "$DOCKER_CONFIG/config.json")" = "{}" &&
	no_secret out err $MOCK_LOG
'

test_done
