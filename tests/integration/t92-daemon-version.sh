#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Engine API version negotiation: beampush asks the daemon (the API-Version header of the
# unversioned /_ping, or /version from an Engine that sends none) and names in every request
# the older of 1.41 and the daemon's newest, or the daemon's oldest when that is newer than
# 1.41 (Docker 29); a daemon older than 1.24 is refused, and a socket where no Engine API
# answers is said to be one, naming it. The daemon is the fake Engine API of
# tests/integration/fake-engine (socat), which refuses a version outside its range as dockerd
# does.
. "$(dirname "$0")/lib.sh"
test_require_build
command -v socat >/dev/null || test_skip_all "needs socat"

IMG=$T/img
make_image "$IMG" latest 2 50000 >/dev/null || test_fatal "mkimage failed"
ENGINE=$T/engine
fake_engine_image "$IMG" beam/python:latest "$ENGINE" || test_fatal "cannot make the export"

# engine_versions MAX MIN [no-header]: what the fake engine answers from its next connection.
engine_versions() {
	echo "$1" >"$ENGINE/api-version" &&
	echo "$2" >"$ENGINE/min-api-version" &&
	rm -f "$ENGINE/no-api-header" "$ENGINE/not-engine" &&
	if [ "${3:-}" = no-header ]; then : >"$ENGINE/no-api-header"; fi
}

# versions_used: the API versions the logged requests named (/vX.Y/...), one a line, in order.
versions_used() {
	sed -n 's|^[A-Z]* /v\([0-9][0-9.]*\)/.*|\1|p' "$ENGINE/requests"
}

test_expect_success 'the fake engine refuses a version newer than its own, as dockerd does' '
	engine_versions 1.40 1.12 &&
	start_fake_engine "$ENGINE" &&
	curl -s -i --unix-socket "$ENGINE/docker.sock" http://d/v1.41/images/beam%2Fpython/json >out &&
	test_grep -F "HTTP/1.1 400 " out &&
	test_grep -F "client version 1.41 is too new. Maximum supported API version is 1.40" out &&
	curl -s -i --unix-socket "$ENGINE/docker.sock" http://d/_ping >ping &&
	test_grep -F "API-Version: 1.40" ping
'

test_expect_success 'a daemon whose newest API is 1.40 (dockerd 19.03): every request names v1.40; the push goes through' '
	start_mock --auth none &&
	no_docker_auth &&
	engine_versions 1.40 1.12 &&
	start_fake_engine "$ENGINE" &&
	: >"$ENGINE/requests" &&
	beampush --progress none push --from docker-daemon:beam/python:latest "$MOCK/beam/python:1" >out &&
	printf "%s\n" "GET /_ping" "GET /v1.40/images/beam%2Fpython%3Alatest/json" \
		"GET /v1.40/images/beam%2Fpython%3Alatest/get" >want &&
	test_cmp want "$ENGINE/requests" &&
	digest=$(sed -n "s/^digest: //p" out) &&
	test "$(sha256_of "$MOCK_ROOT/repos/beam/python/_manifests/${digest#sha256:}")" = "$digest" &&
	test "$(cat "$MOCK_ROOT/repos/beam/python/_tags/1")" = "$digest"
'

test_expect_success 'the version spoken, by the daemon'"'"'s newest and oldest: min(1.41, newest), or its oldest above 1.41' '
	start_mock --auth none &&
	no_docker_auth &&
	start_fake_engine "$ENGINE" &&
	while read -r max min header want; do
		engine_versions $max $min $header &&
		: >"$ENGINE/requests" &&
		beampush --progress none push --from docker-daemon:beam/python:latest "$MOCK/beam/python:$max" </dev/null >out 2>err || {
			echo "engine $max..$min $header: exit $?: $(cat err)" >&2
			return 1
		}
		versions_used | sort -u >got &&
		echo "$want" >exp &&
		test_cmp exp got || { echo "engine $max..$min $header" >&2; return 1; }
	done <<-EOF
	1.41 1.12 - 1.41
	1.24 1.12 - 1.24
	1.47 1.24 - 1.41
	1.52 1.44 - 1.44
	1.24 1.12 no-header 1.24
	EOF
'

test_expect_success 'an Engine older than 1.25 sends no API-Version: /version tells; a newer one is not asked' '
	start_mock --auth none &&
	no_docker_auth &&
	start_fake_engine "$ENGINE" &&
	engine_versions 1.24 1.12 no-header &&
	: >"$ENGINE/requests" &&
	beampush --progress none push --from docker-daemon:beam/python:latest "$MOCK/beam/python:a" &&
	sed -n 1,2p "$ENGINE/requests" >got &&
	printf "%s\n" "GET /_ping" "GET /version" >want &&
	test_cmp want got &&
	engine_versions 1.41 1.12 &&
	: >"$ENGINE/requests" &&
	beampush --progress none push --from docker-daemon:beam/python:latest "$MOCK/beam/python:b" &&
	test_no_grep -F "GET /version" "$ENGINE/requests"
'

test_expect_success 'a daemon older than 1.24: push exits 1, pull into it 1, pull with no --to 2; one line naming the socket and both versions' '
	start_mock --auth none &&
	no_docker_auth &&
	beampush -q push --from oci:$IMG:latest "$MOCK/beam/python:latest" >/dev/null &&
	start_fake_engine "$ENGINE" &&
	for header in - no-header; do
		engine_versions 1.23 1.12 $header &&
		: >"$ENGINE/requests" &&
		mark=$(log_mark) &&
		test_expect_code 1 beampush --progress none push --from docker-daemon:beam/python:latest "$MOCK/beam/python:old" 2>err &&
		test_line_count = 1 err &&
		test_grep -F "Docker daemon at $ENGINE/docker.sock speaks Engine API 1.23: beampush needs 1.24 or newer" err &&
		test_expect_code 1 beampush --progress none pull --to docker-daemon:beam/python:old "$MOCK/beam/python:latest" 2>err &&
		test_line_count = 1 err &&
		test_grep -F "$ENGINE/docker.sock speaks Engine API 1.23" err &&
		test_expect_code 2 beampush --progress none pull "$MOCK/beam/python:latest" 2>err &&
		test_line_count = 1 err &&
		test_grep -F "$ENGINE/docker.sock speaks Engine API 1.23" err &&
		test_grep -F -- "--to oci:DIR" err &&
		test_no_grep -E "^[A-Z]+ /v[0-9]" "$ENGINE/requests" &&
		test "$(log_mark)" = "$mark" || return 1
	done
'

# not_engine_case NAME: exit statuses and messages of push, and of a pull with no --to, when the
# socket in DOCKER_HOST answers as NAME does; the message wanted is in ./want-msg.
not_engine_case() {
	test_expect_code 1 beampush --progress none push --from docker-daemon:beam/python:latest "$MOCK/beam/python:x" 2>err &&
	test_line_count = 1 err &&
	test_grep -F -f want-msg err &&
	test_expect_code 2 beampush --progress none pull "$MOCK/beam/python:x" 2>err &&
	test_line_count = 1 err &&
	test_grep -F -f want-msg err &&
	test_grep -F -- "--to oci:DIR" err || { echo "not_engine_case $1: $(cat err)" >&2; return 1; }
}

test_expect_success 'a web server on the socket, a bad API-Version: exit 1 (2 for a pull with no --to), not an Engine API, naming the socket' '
	start_mock --auth none &&
	no_docker_auth &&
	start_fake_engine "$ENGINE" &&
	echo 404 >"$ENGINE/not-engine" &&
	echo "Docker daemon at $ENGINE/docker.sock: not a Docker Engine API: GET /_ping answered 404" >want-msg &&
	not_engine_case "web server, 404" &&
	: >"$ENGINE/not-engine" &&
	echo "Docker daemon at $ENGINE/docker.sock: not a Docker Engine API: its /_ping answer has no API-Version and its /version no ApiVersion" >want-msg &&
	not_engine_case "web server, 200" &&
	engine_versions "1.41-beta" 1.12 &&
	echo "Docker daemon at $ENGINE/docker.sock: not a Docker Engine API: GET /_ping answered API-Version \"1.41-beta\"" >want-msg &&
	not_engine_case "bad API-Version" &&
	test "$(count_log "^(POST|PUT|PATCH) ")" = 0
'

test_expect_success 'a socket that answers other than HTTP, or closes at once: one line naming the socket' '
	start_mock --auth none &&
	no_docker_auth &&
	printf "#!/bin/sh\nprintf \"SSH-2.0-OpenSSH_9.2\\\\r\\\\n\"\n" >ssh.sh &&
	printf "#!/bin/sh\nexit 0\n" >close.sh &&
	chmod +x ssh.sh close.sh &&
	for answer in ssh close; do
		rm -f $answer.sock &&
		{ socat UNIX-LISTEN:$PWD/$answer.sock,fork EXEC:$PWD/$answer.sh </dev/null >$answer.log 2>&1 & } &&
		echo "$! $answer-socket" >>"$T/.servers" &&
		i=0 &&
		until test -S $answer.sock || [ $i -ge 100 ]; do sleep 0.05; i=$((i + 1)); done &&
		export DOCKER_HOST=unix://$PWD/$answer.sock &&
		echo "Docker daemon at $PWD/$answer.sock: " >want-msg &&
		not_engine_case $answer || return 1
	done
'

test_done
