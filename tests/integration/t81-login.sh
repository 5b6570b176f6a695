#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# beampush login and logout: credentials checked against the registry first, stored in the
# login keyring (shared with docker-credential-secretservice), a credential helper or, when
# asked, config.json; used by push; removed by logout. Never a secret in any output.
# The mock's token service gives no refresh tokens here, so that login keeps the password:
# t82-refresh-token.sh covers the identity tokens of a service that does.
. "$(dirname "$0")/bus.sh"
. "$(dirname "$0")/lib.sh"
[ -f "${BP_TEST_PRIVATE_BUS:-}" ] && rm -f "$BP_TEST_PRIVATE_BUS"
test_require_build
test_have_prereq KEYRING ||
	test_skip_all "needs dbus-run-session, dbus-send, gnome-keyring-daemon and secret-tool"

IMG=$T/img
make_image "$IMG" latest 2 10000 >/dev/null || test_fatal "mkimage failed"
# spaces, a colon, quotes, a backslash and UTF-8
SECRET='s3cr3t pa:ss "q" \ ü'

install_test_helpers

# login_as USER PASSWORD [ARGS...]: beampush login with the password on stdin; out and err.
login_as() {
	local user=$1 pass=$2
	shift 2
	printf '%s\n' "$pass" | beampush --debug login -u "$user" --password-stdin "$@" >out 2>err
}

# push_it: push the test image to the mock; out and err in the current dir.
push_it() {
	beampush --debug --progress none push --from "oci:$IMG:latest" "$MOCK/beam/python:latest" \
		>push.out 2>push.err
}

# no_secret FILE...: neither the password nor base64 of alice:password is in any of FILES.
no_secret() {
	local b64
	b64=$(printf 'alice:%s' "$SECRET" | base64 -w0)
	test_no_grep -F -e "$SECRET" -e "$b64" "$@"
}

test_expect_success SECRETSERVICE_HELPER 'login stores in the keyring; push uses it; logout removes it' '
	start_keyring &&
	start_mock --auth token --no-refresh-tokens --user "alice:$SECRET" &&
	no_docker_auth &&
	login_as alice "$SECRET" "$MOCK" &&
	test_grep -F "Login succeeded" out &&
	test_grep -F "the login keyring (Secret Service)" out &&
	keyring_get "$MOCK" >got &&
	test_grep -F "\"Username\":\"alice\"" got &&
	test ! -e "$DOCKER_CONFIG/config.json" &&
	push_it &&
	test_grep -F "from the login keyring" push.err &&
	test "$(count_log "^PUT /v2/beam/python/manifests/latest 201 auth=bearer:alice ")" = 1 &&
	beampush logout "$MOCK" >lo.out 2>lo.err &&
	test_grep -F "Removed the credentials for $MOCK" lo.out &&
	test_expect_code 1 keyring_get "$MOCK" &&
	test_expect_code 3 beampush --progress none push --from "oci:$IMG:latest" "$MOCK/beam/python:latest" 2>refused &&
	no_secret out err push.out push.err lo.out lo.err refused
'

test_expect_success 'a refused password stores nothing and exits 3' '
	start_keyring &&
	start_mock --auth token --no-refresh-tokens --user "alice:$SECRET" &&
	no_docker_auth &&
	test_expect_code 3 login_as alice wrong-password "$MOCK" &&
	test_grep "login refused, nothing stored" err &&
	test_line_count = 1 <(grep -v "^debug:" err) &&
	keyring_items >items &&
	test_no_grep -F "$MOCK" items &&
	no_secret out err
'

test_expect_success 'basic-auth registries: login checks GET /v2/ with the credentials' '
	start_keyring &&
	start_mock --auth basic --user "alice:$SECRET" &&
	no_docker_auth &&
	test_expect_code 3 login_as alice nope "$MOCK" &&
	login_as alice "$SECRET" "$MOCK" &&
	test_grep -F "Login succeeded" out &&
	push_it &&
	test "$(count_log "^PUT /v2/beam/python/manifests/latest 201 auth=basic:alice ")" = 1
'

test_expect_success 'what login stored, docker-credential-secretservice reads' '
	start_keyring &&
	start_mock --auth token --no-refresh-tokens --user "alice:$SECRET" &&
	no_docker_auth &&
	login_as alice "$SECRET" "$MOCK" &&
	keyring_get "$MOCK" >got &&
	printf "{\"ServerURL\":\"%s\",\"Username\":\"alice\",\"Secret\":%s}\n" "$MOCK" "$(json_string "$SECRET")" >want &&
	test_cmp want got
'

test_expect_success 'login --store file writes config.json auths, mode 0600, other keys kept' '
	start_mock --auth token --no-refresh-tokens --user "alice:$SECRET" &&
	docker_config "{\"credHelpers\":{\"gcr.io\":\"gcloud\"},\"psFormat\":\"table {{.ID}}\"}" &&
	login_as alice "$SECRET" --store file "$MOCK" &&
	test_grep -F "stored unencrypted in $DOCKER_CONFIG/config.json" err &&
	test "$(stat -c %a "$DOCKER_CONFIG/config.json")" = 600 &&
	test_grep -F "\"gcr.io\"" "$DOCKER_CONFIG/config.json" &&
	test_grep -F "table {{.ID}}" "$DOCKER_CONFIG/config.json" &&
	test_grep -F "$(printf "alice:%s" "$SECRET" | base64 -w0)" "$DOCKER_CONFIG/config.json" &&
	push_it &&
	beampush logout "$MOCK" >lo.out &&
	test_no_grep -F "$MOCK" "$DOCKER_CONFIG/config.json" &&
	test_grep -F "\"gcr.io\"" "$DOCKER_CONFIG/config.json"
'

test_expect_success 'a config.json that is not JSON is never rewritten' '
	start_mock --auth token --no-refresh-tokens --user "alice:$SECRET" &&
	docker_config "{ this is not json" &&
	cp "$DOCKER_CONFIG/config.json" before &&
	test_expect_code 1 login_as alice "$SECRET" --store file "$MOCK" &&
	test_grep -F "$DOCKER_CONFIG/config.json" err &&
	test_cmp before "$DOCKER_CONFIG/config.json"
'

test_expect_success 'credHelpers for the server: login stores through the helper' '
	start_mock --auth token --no-refresh-tokens --user "alice:$SECRET" &&
	docker_config "{\"credHelpers\":{\"$MOCK\":\"bptest\"}}" &&
	: >"$HELPER_STATE/log" &&
	login_as alice "$SECRET" "$MOCK" &&
	test_grep -F "docker-credential-bptest" out &&
	test_grep -F "store $MOCK" "$HELPER_STATE/log" &&
	push_it &&
	test_grep -F "from docker-credential-bptest" push.err &&
	beampush logout "$MOCK" >lo.out &&
	test_grep -F "erase $MOCK" "$HELPER_STATE/log" &&
	no_secret out err push.out push.err lo.out
'

test_expect_success 'no Secret Service: login says what to do and exits 1; push still works' '
	start_mock --auth token --no-refresh-tokens --user "alice:$SECRET" &&
	no_docker_auth &&
	(
		unset DBUS_SESSION_BUS_ADDRESS &&
		test_expect_code 1 login_as alice "$SECRET" "$MOCK" &&
		test_grep "no Secret Service keyring" err &&
		test_grep -F -- "--store file" err &&
		login_as alice "$SECRET" --store file "$MOCK" &&
		push_it
	)
'

test_expect_success 'SERVER as a URL is normalised as docker does' '
	start_keyring &&
	start_mock --auth token --no-refresh-tokens --user "alice:$SECRET" &&
	no_docker_auth &&
	login_as alice "$SECRET" "http://$MOCK/v2/" &&
	test_grep -F "for $MOCK stored" out &&
	keyring_get "$MOCK" >got &&
	push_it
'

test_expect_success 'bad input: empty user, --password-stdin without -u, no password, extra args' '
	test_expect_code 2 sh -c "echo pw | \"$BEAMPUSH\" login -u \"\" --password-stdin 127.0.0.1:1" 2>e1 &&
	test_grep "user name is empty" e1 &&
	test_expect_code 2 sh -c "echo pw | \"$BEAMPUSH\" login --password-stdin 127.0.0.1:1" 2>e2 &&
	test_grep -F -- "--password-stdin needs --username" e2 &&
	test_expect_code 2 sh -c "\"$BEAMPUSH\" login -u alice --password-stdin 127.0.0.1:1 </dev/null" 2>e3 &&
	test_grep "no password on standard input" e3 &&
	test_expect_code 2 beampush login -u alice a b 2>e4 &&
	test_expect_code 2 beampush login -u alice "https://" 2>e5 &&
	test_expect_code 2 beampush login --store cloud 2>e6
'

test_expect_success 'logout with nothing stored says so and succeeds' '
	start_keyring &&
	no_docker_auth &&
	beampush logout 127.0.0.1:5999 >out &&
	test_grep -F "Not logged in to 127.0.0.1:5999" out
'

test_done
