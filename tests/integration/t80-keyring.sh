#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Credentials from the login keyring (Secret Service, docker-credential-secretservice's items),
# docker's credential helpers (credHelpers, credsStore) and containers' auth.json, used by push.
# Every scenario runs under a private D-Bus session bus with its own gnome-keyring-daemon.
#
# The file runs itself again under dbus-run-session, always: never the user's session bus and
# keyring. That bus has no service activation, so that no keyring daemon starts behind a
# scenario's back ("no keyring" stays no keyring) and every daemon is one start_keyring
# started and the file stops.
. "$(dirname "$0")/bus.sh"
. "$(dirname "$0")/lib.sh"
[ -f "${BP_TEST_PRIVATE_BUS:-}" ] && rm -f "$BP_TEST_PRIVATE_BUS"
test_require_build
test_have_prereq KEYRING ||
	test_skip_all "needs dbus-run-session, dbus-send, gnome-keyring-daemon and secret-tool"

IMG=$T/img
DIGEST=$(make_image "$IMG" latest 2 10000) || test_fatal "mkimage failed"
# spaces, a colon, quotes, a backslash and UTF-8: every one a chance to mangle or leak it
SECRET='s3cr3t pa:ss "q" \ ü'

install_test_helpers

# push_debug: push the test image to the mock with --debug; out and err in the current dir.
push_debug() {
	beampush --debug --progress none push --from "oci:$IMG:latest" "$MOCK/beam/python:latest" \
		>out 2>err
}

# no_secret FILE...: the password, and base64 of user:password, are in none of FILES.
no_secret() {
	local b64
	b64=$(printf 'alice:%s' "$SECRET" | base64 -w0)
	test_no_grep -F -e "$SECRET" -e "$b64" "$@"
}

# pushed_as USER: the mock stored the manifest for USER's bearer token.
pushed_as() {
	test "$(count_log "^PUT /v2/beam/python/manifests/latest 201 auth=bearer:$1 ")" = 1
}

# --- scenarios -----------------------------------------------------------------------------

test_expect_success SECRETSERVICE_HELPER 'docker-credential-secretservice stores, push finds it in the keyring' '
	start_keyring &&
	start_mock --auth token --user "alice:$SECRET" &&
	no_docker_auth &&
	keyring_store "$MOCK" alice "$SECRET" &&
	push_debug &&
	test_grep -F "credentials for $MOCK: user alice from the login keyring (Secret Service)" err &&
	pushed_as alice &&
	no_secret out err
'

test_expect_success SECRETSERVICE_HELPER 'the keyring wins over config.json auths and credsStore' '
	start_keyring &&
	start_mock --auth token --user "alice:$SECRET" &&
	keyring_store "$MOCK" alice "$SECRET" &&
	helper_store bptest "$MOCK" alice wrong-helper &&
	docker_config "{\"credsStore\":\"bptest\",\"auths\":{\"$MOCK\":{\"auth\":\"$(printf alice:wrong | base64)\"}}}" &&
	: >"$HELPER_STATE/log" &&
	push_debug &&
	test_grep -F "from the login keyring" err &&
	pushed_as alice &&
	test_must_be_empty "$HELPER_STATE/log" &&
	no_secret out err
'

test_expect_success SECRETSERVICE_HELPER 'credHelpers for the host win over the keyring' '
	start_keyring &&
	start_mock --auth token --user "alice:$SECRET" &&
	keyring_store "$MOCK" alice wrong-keyring &&
	helper_store bptest "$MOCK" alice "$SECRET" &&
	docker_config "{\"credHelpers\":{\"$MOCK\":\"bptest\"}}" &&
	: >"$HELPER_STATE/log" &&
	push_debug &&
	test_grep -F "from docker-credential-bptest (credHelpers in $DOCKER_CONFIG/config.json)" err &&
	pushed_as alice &&
	echo "get $MOCK" >want &&
	test_cmp want "$HELPER_STATE/log" &&
	no_secret out err
'

test_expect_success 'credsStore answers when the keyring has nothing' '
	start_keyring &&
	start_mock --auth token --user "alice:$SECRET" &&
	helper_store bptest "$MOCK" alice "$SECRET" &&
	docker_config "{\"credsStore\":\"bptest\"}" &&
	push_debug &&
	test_grep -F "from docker-credential-bptest (credsStore in $DOCKER_CONFIG/config.json)" err &&
	pushed_as alice &&
	no_secret out err
'

test_expect_success 'a crashing credsStore helper fails the push, naming it' '
	start_keyring &&
	start_mock --auth token --user "alice:$SECRET" &&
	docker_config "{\"credsStore\":\"bpcrash\"}" &&
	test_expect_code 1 push_debug &&
	test_grep -F "docker-credential-bpcrash get: killed by signal 11" err &&
	test "$(count_log "^PUT ")" = 0
'

test_expect_success 'a credsStore helper that is not installed is skipped' '
	start_keyring &&
	start_mock --auth token --user "alice:$SECRET" &&
	docker_config "{\"credsStore\":\"bp-none\",\"auths\":{\"$MOCK\":{\"auth\":\"$(printf "alice:%s" "$SECRET" | base64 -w0)\"}}}" &&
	push_debug &&
	test_grep -F "skipped: docker-credential-bp-none is not in PATH" err &&
	pushed_as alice &&
	no_secret out err
'

test_expect_success 'containers auth.json from REGISTRY_AUTH_FILE' '
	start_keyring &&
	start_mock --auth token --user "alice:$SECRET" &&
	no_docker_auth &&
	printf "{\"auths\":{\"%s\":{\"auth\":\"%s\"}}}" "$MOCK" \
		"$(printf "alice:%s" "$SECRET" | base64 -w0)" >auth.json &&
	REGISTRY_AUTH_FILE=$PWD/auth.json push_debug &&
	test_grep -F "from containers auth.json ($PWD/auth.json)" err &&
	pushed_as alice &&
	no_secret out err
'

test_expect_success 'containers auth.json in XDG_RUNTIME_DIR, under a legacy URL key' '
	start_keyring &&
	start_mock --auth token --user "alice:$SECRET" &&
	no_docker_auth &&
	export XDG_RUNTIME_DIR=$PWD/run &&
	mkdir -p run/containers &&
	printf "{\"auths\":{\"https://%s/v1/\":{\"auth\":\"%s\"}}}" "$MOCK" \
		"$(printf "alice:%s" "$SECRET" | base64 -w0)" >run/containers/auth.json &&
	push_debug &&
	test_grep -F "from containers auth.json ($PWD/run/containers/auth.json)" err &&
	pushed_as alice
'

test_expect_success SECRETSERVICE_HELPER 'without a session bus, push works from config.json auths' '
	start_keyring &&
	start_mock --auth token --user "alice:$SECRET" &&
	keyring_store "$MOCK" alice wrong-keyring &&
	docker_auth "$MOCK" alice "$SECRET" &&
	(
		unset DBUS_SESSION_BUS_ADDRESS &&
		push_debug
	) &&
	test_grep -F "from config.json auths" err &&
	test_no_grep "login keyring" err &&
	pushed_as alice &&
	no_secret out err
'

test_expect_success 'a bus address where nothing listens is no keyring, and quick' '
	start_mock --auth token --user "alice:$SECRET" &&
	docker_auth "$MOCK" alice "$SECRET" &&
	export BP_TEST_CMD_TIMEOUT=20 DBUS_SESSION_BUS_ADDRESS=unix:path=$PWD/no-bus &&
	push_debug &&
	test_grep -F "from config.json auths" err &&
	test_no_grep "login keyring" err &&
	pushed_as alice
'

test_expect_success 'no keyring daemon on the bus: skipped without a word' '
	start_mock --auth token --user "alice:$SECRET" &&
	docker_auth "$MOCK" alice "$SECRET" &&
	export BP_TEST_CMD_TIMEOUT=20 &&
	push_debug &&
	test_grep -F "from config.json auths" err &&
	test_no_grep "login keyring" err &&
	pushed_as alice
'

test_expect_success SECRETSERVICE_HELPER 'a locked keyring is skipped with a note, and never prompts' '
	start_keyring &&
	start_mock --auth token --user "alice:$SECRET" &&
	keyring_store "$MOCK" alice "$SECRET" &&
	keyring_lock &&
	docker_auth "$MOCK" alice "$SECRET" &&
	export BP_TEST_CMD_TIMEOUT=20 &&
	push_debug &&
	test_grep -F "from config.json auths ($DOCKER_CONFIG/config.json); skipped: the login keyring (Secret Service): the keyring is locked" err &&
	pushed_as alice &&
	no_docker_auth &&
	test_expect_code 3 push_debug &&
	no_secret out err
'

test_expect_success SECRETSERVICE_HELPER 'a keyring that does not answer is given up after 5 s' '
	start_keyring &&
	start_mock --auth token --user "alice:$SECRET" &&
	keyring_store "$MOCK" alice wrong-keyring &&
	docker_auth "$MOCK" alice "$SECRET" &&
	export BP_TEST_CMD_TIMEOUT=20 &&
	kill -STOP "$KEYRING_PID" &&
	start=$(date +%s) &&
	{ push_debug; echo $? >rc; } &&
	kill -CONT "$KEYRING_PID" &&
	test "$(cat rc)" = 0 &&
	test $(($(date +%s) - start)) -lt 15 &&
	test_grep -F "skipped: the login keyring (Secret Service): the Secret Service did not answer within 5 s" err &&
	pushed_as alice
'

test_done
