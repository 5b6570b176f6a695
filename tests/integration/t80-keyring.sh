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
if [ -z "${BP_TEST_PRIVATE_BUS:-}" ] && command -v dbus-run-session >/dev/null 2>&1; then
	_conf=$(mktemp "${TMPDIR:-/tmp}/beampush-t80-bus.XXXXXX") || exit 1
	cat >"$_conf" <<-EOF
	<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
	 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
	<busconfig>
	  <type>session</type>
	  <listen>unix:tmpdir=${TMPDIR:-/tmp}</listen>
	  <auth>EXTERNAL</auth>
	  <policy context="default">
	    <allow send_destination="*" eavesdrop="true"/>
	    <allow eavesdrop="true"/>
	    <allow own="*"/>
	  </policy>
	</busconfig>
	EOF
	# dbus-daemon warns that it may not raise its fd limit: harmless, and not ours
	BP_TEST_PRIVATE_BUS=$_conf exec dbus-run-session --config-file="$_conf" -- \
		bash "$0" "$@" 2> >(grep -v --line-buffered 'Failed to set fd limit' >&2)
fi
. "$(dirname "$0")/lib.sh"
[ -f "${BP_TEST_PRIVATE_BUS:-}" ] && rm -f "$BP_TEST_PRIVATE_BUS"
test_require_build
test_have_prereq KEYRING ||
	test_skip_all "needs dbus-run-session, dbus-send, gnome-keyring-daemon and secret-tool"

IMG=$T/img
DIGEST=$(make_image "$IMG" latest 2 10000) || test_fatal "mkimage failed"
# spaces, a colon, quotes, a backslash and UTF-8: every one a chance to mangle or leak it
SECRET='s3cr3t pa:ss "q" \ ü'

# --- helpers for these scenarios (and for login/logout ones) -------------------------------

# json_string S: S as a JSON string, quotes included.
json_string() {
	printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

# keyring_store SERVER USER PASSWORD: store as `docker login` does through
# docker-credential-secretservice (schema io.docker.Credentials).
keyring_store() {
	printf '{"ServerURL":%s,"Username":%s,"Secret":%s}' "$(json_string "$1")" \
		"$(json_string "$2")" "$(json_string "$3")" | docker-credential-secretservice store
}

# keyring_get SERVER: docker-credential-secretservice's answer for SERVER (JSON); exit 1 and
# "credentials not found in native keychain" when it has none.
keyring_get() {
	printf '%s' "$1" | docker-credential-secretservice get
}

# keyring_items: every docker item in the keyring as secret-tool lists them, attributes and
# secrets included (so never grep it in place of beampush's output).
keyring_items() {
	secret-tool search --all docker_cli 1 2>&1
}

# keyring_lock: lock the login collection, as a screen lock does.
keyring_lock() {
	dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
		org.freedesktop.Secret.Service.Lock \
		array:objpath:/org/freedesktop/secrets/collection/login >/dev/null
}

# docker_config JSON: a fresh $DOCKER_CONFIG whose config.json is JSON.
docker_config() {
	DOCKER_CONFIG=$(mktemp -d "$T/docker.XXXXXX")
	export DOCKER_CONFIG
	printf '%s\n' "$1" >"$DOCKER_CONFIG/config.json"
}

# A credential helper for the tests, docker-credential-bptest, first in PATH: one JSON file
# per server in $HELPER_STATE, an "ACTION SERVER" line per run in $HELPER_STATE/log.
HELPER_STATE=$T/helper-state
mkdir -p "$T/bin" "$HELPER_STATE"
cat >"$T/bin/docker-credential-bptest" <<'EOF'
#!/bin/sh
state=${HELPER_STATE:?}
input=$(cat)
case $1 in
store) server=$(printf '%s' "$input" | sed -n 's/.*"ServerURL":"\([^"]*\)".*/\1/p') ;;
list) server= ;;
*) server=$input ;;
esac
echo "$1 $server" >>"$state/log"
f=$state/$(printf '%s' "$server" | tr '/:' '__').json
case $1 in
get) if [ -f "$f" ]; then cat "$f"; exit 0; fi ;;
store) printf '%s' "$input" >"$f"; exit 0 ;;
erase) if [ -f "$f" ]; then rm -f "$f"; exit 0; fi ;;
list) echo '{}'; exit 0 ;;
*) echo "unknown action $1"; exit 1 ;;
esac
echo 'credentials not found in native keychain'
exit 1
EOF
cat >"$T/bin/docker-credential-bpcrash" <<'EOF'
#!/bin/sh
cat >/dev/null
echo 'about to crash' >&2
kill -SEGV $$
EOF
chmod 0755 "$T/bin/docker-credential-bptest" "$T/bin/docker-credential-bpcrash"
export HELPER_STATE PATH=$T/bin:$PATH

# helper_store NAME SERVER USER PASSWORD: store through docker-credential-NAME.
helper_store() {
	printf '{"ServerURL":%s,"Username":%s,"Secret":%s}' "$(json_string "$2")" \
		"$(json_string "$3")" "$(json_string "$4")" | "docker-credential-$1" store
}

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
