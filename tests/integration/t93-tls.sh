#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# TLS the docker way against the mock registry serving https with a test CA: the CA and a
# client certificate come from certs.d ($BEAMPUSH_CERTS_D/<host:port>/ here, no root needed),
# the token realm's host has its own directory, and every certificate failure is one line
# that says what is wrong and what to try. Nothing is sent (no credential, no blob) to a
# registry whose certificate was not verified.
. "$(dirname "$0")/lib.sh"
test_require_build

PKI=$T/pki
make_tls_certs "$PKI" || test_fatal "openssl could not make the test certificates"
IMG=$T/img
DIGEST=$(make_image --seed 93 "$IMG" latest 2 100000) || test_fatal "mkimage failed"
SECRET=tls-s3cret-93

# certs_d NAME FILE...: $T/NAME/<$MOCK>/ holding FILEs (paths into $PKI, or NAME=PATH to
# rename); BEAMPUSH_CERTS_D points at $T/NAME. HOSTPORT overrides $MOCK.
certs_d() {
	local dir=$T/$1 f
	shift
	mkdir -p "$dir/${HOSTPORT:-$MOCK}" &&
	for f in "$@"; do
		case $f in
		*=*) cp "$PKI/${f#*=}" "$dir/${HOSTPORT:-$MOCK}/${f%%=*}" || return 1 ;;
		*) cp "$PKI/$f" "$dir/${HOSTPORT:-$MOCK}/" || return 1 ;;
		esac
	done
	BEAMPUSH_CERTS_D=$dir
	export BEAMPUSH_CERTS_D
}

# start_tls CERT [ARGS...]: the mock over https with $PKI/CERT (key server.key), token auth.
# MARK and OUT_MARK: its log and its stderr once start_mock's readiness probe is done.
start_tls() {
	local cert=$1
	shift
	start_mock --auth token --user "alice:$SECRET" --tls-cert "$PKI/$cert" \
		--tls-key "$PKI/server.key" "$@" &&
	docker_auth "$MOCK" alice "$SECRET" &&
	MARK=$(log_mark) &&
	OUT_MARK=$(log_mark "$MOCK_OUT")
}

# mock_said: what the mock wrote to stderr since start_tls.
mock_said() {
	log_since "$OUT_MARK" "$MOCK_OUT"
}

push() {
	beampush --progress none "$@" push --from "oci:$IMG:latest" "$MOCK/beam/tls:latest"
}

pull() {
	beampush --progress none "$@" pull --to "oci:$PWD/pulled:latest" "$MOCK/beam/tls:latest"
}

# nothing_reached_the_registry: the mock logged no request since start_tls (so no
# credential either).
nothing_reached_the_registry() {
	log_since "$MARK" >since &&
	test_must_be_empty since
}

test_expect_success 'push and pull over https with the CA in certs.d' '
	start_tls server.crt &&
	certs_d certs.d ca.crt &&
	push >out 2>err &&
	pull >pull.out 2>pull.err &&
	test_same_image "$IMG" pulled latest "$DIGEST" &&
	test "$(count_log "^GET /token\\?.* 200 auth=basic:alice ")" -ge 1 &&
	test "$(count_log "^PUT /v2/beam/tls/manifests/latest 201 auth=bearer:alice ")" = 1 &&
	test_no_grep -F "$SECRET" err
'

test_expect_success 'without the CA: exit 1, the message names the certs.d directory, nothing sent' '
	start_tls server.crt &&
	certs_d empty-certs.d &&
	test_expect_code 1 push 2>err &&
	test_line_count = 1 err &&
	test_grep -F "certificate signed by an unknown authority" err &&
	test_grep -F "put its CA certificate (a .crt file) in $T/empty-certs.d/$MOCK/" err &&
	test_grep -F -- "--tls-verify=false" err &&
	test_no_grep -F "$SECRET" err &&
	nothing_reached_the_registry &&
	test_expect_code 1 pull 2>pull.err &&
	test_grep -F "$T/empty-certs.d/$MOCK/" pull.err &&
	test ! -e pulled &&
	nothing_reached_the_registry
'

test_expect_success 'login to an untrusted registry sends no password and stores nothing' '
	start_tls server.crt &&
	certs_d empty-certs.d &&
	no_docker_auth &&
	printf "%s\n" "$SECRET" >pw &&
	test_expect_code 1 beampush login -u alice --password-stdin --store file "$MOCK" \
		<pw >out 2>err &&
	test_grep -F "certificate signed by an unknown authority" err &&
	test ! -e "$DOCKER_CONFIG/config.json" &&
	nothing_reached_the_registry
'

test_expect_success '--tls-verify=false and --insecure-registry still work without the CA' '
	start_tls server.crt &&
	certs_d empty-certs.d &&
	push --tls-verify=false >out 2>err &&
	pull --insecure-registry "$MOCK" >pull.out 2>pull.err &&
	test_same_image "$IMG" pulled latest "$DIGEST" &&
	test "$(count_log "^PUT /v2/beam/tls/manifests/latest 201 ")" = 1
'

test_expect_success 'a certificate for another name: said so, nothing sent' '
	start_tls other.crt &&
	certs_d certs.d ca.crt &&
	test_expect_code 1 push 2>err &&
	test_line_count = 1 err &&
	test_grep -F "the registry'"'"'s certificate does not match the host name 127.0.0.1 " err &&
	nothing_reached_the_registry
'

test_expect_success 'an expired certificate: said so, nothing sent' '
	start_tls expired.crt &&
	certs_d certs.d ca.crt &&
	test_expect_code 1 push 2>err &&
	test_line_count = 1 err &&
	test_grep -F "the registry'"'"'s certificate has expired" err &&
	nothing_reached_the_registry
'

test_expect_success 'a certificate not valid yet: said so, nothing sent' '
	start_tls future.crt &&
	certs_d certs.d ca.crt &&
	test_expect_code 1 push 2>err &&
	test_line_count = 1 err &&
	test_grep -F "the registry'"'"'s certificate is not valid yet" err &&
	nothing_reached_the_registry
'

test_expect_success 'client certificate required: the pair in certs.d is used' '
	start_tls server.crt --tls-client-ca "$PKI/client-ca.crt" &&
	certs_d certs.d ca.crt client.cert client.key &&
	push --debug >out 2>err &&
	test_grep -F "certs.d for $MOCK: 1 CA certificate(s) from $T/certs.d/$MOCK, client certificate $T/certs.d/$MOCK/client.cert" err &&
	pull >pull.out 2>pull.err &&
	test_same_image "$IMG" pulled latest "$DIGEST" &&
	test "$(count_log "^PUT /v2/beam/tls/manifests/latest 201 auth=bearer:alice ")" = 1 &&
	mock_said >said &&
	test_no_grep -F "refused a connection" said
'

test_expect_success 'client certificate required, none in certs.d: said so, nothing sent' '
	start_tls server.crt --tls-client-ca "$PKI/client-ca.crt" &&
	certs_d certs.d ca.crt &&
	test_expect_code 1 push 2>err &&
	test_line_count = 1 err &&
	test_grep -F "it may require a client certificate: put it and its key as NAME.cert and NAME.key in $T/certs.d/$MOCK/" err &&
	mock_said >said &&
	test_grep -F "refused a connection without a trusted client certificate" said &&
	nothing_reached_the_registry
'

test_expect_success 'a client certificate the registry does not trust: named' '
	start_tls server.crt --tls-client-ca "$PKI/client-ca.crt" &&
	certs_d certs.d ca.crt other.cert=server.crt other.key=server.key &&
	test_expect_code 1 push 2>err &&
	test_grep -F "the registry refused the client certificate $T/certs.d/$MOCK/other.cert" err &&
	nothing_reached_the_registry
'

test_expect_success 'an unpaired .key or .cert is an error naming the file; nothing sent' '
	start_tls server.crt &&
	certs_d lone-key ca.crt client.key &&
	test_expect_code 1 push 2>err &&
	echo "beampush: missing client certificate $T/lone-key/$MOCK/client.cert for key $T/lone-key/$MOCK/client.key" >want &&
	test_cmp want err &&
	certs_d lone-cert ca.crt client.cert &&
	test_expect_code 1 push 2>err &&
	test_grep -F "missing key $T/lone-cert/$MOCK/client.key for client certificate $T/lone-cert/$MOCK/client.cert" err &&
	nothing_reached_the_registry
'

test_expect_success 'a .crt that holds no certificate is an error naming it' '
	start_tls server.crt &&
	certs_d bad-crt ca.crt &&
	echo "not a certificate" >"$BEAMPUSH_CERTS_D/$MOCK/broken.crt" &&
	test_expect_code 1 push 2>err &&
	test_grep -F "$BEAMPUSH_CERTS_D/$MOCK/broken.crt: no PEM certificate in it" err &&
	nothing_reached_the_registry
'

# The registry as localhost:PORT, its realm as https://127.0.0.1:PORT/token (the mock's own
# name; relative Locations keep the uploads on localhost).
test_expect_success 'the token realm host is looked up in certs.d by its own host:port' '
	start_tls server.crt --relative-location &&
	reg=localhost:$MOCK_PORT &&
	docker_auth "$reg" alice "$SECRET" &&
	HOSTPORT=$reg certs_d realm-certs.d ca.crt &&
	test_expect_code 1 beampush --progress none push --from "oci:$IMG:latest" \
		"$reg/beam/tls:latest" 2>err &&
	test_grep -F "https://127.0.0.1:$MOCK_PORT/token" err &&
	test_grep -F "in $T/realm-certs.d/127.0.0.1:$MOCK_PORT/" err &&
	test_no_grep -F "$SECRET" err &&
	test "$(count_log "^GET /token")" = 0 &&
	test "$(count_log "auth=basic")" = 0 &&
	HOSTPORT=127.0.0.1:$MOCK_PORT certs_d realm-certs.d ca.crt &&
	beampush --progress none push --from "oci:$IMG:latest" "$reg/beam/tls:latest" \
		>out 2>err &&
	test "$(count_log "^GET /token\\?.* 200 auth=basic:alice ")" -ge 1 &&
	test "$(count_log "^PUT /v2/beam/tls/manifests/latest 201 auth=bearer:alice ")" = 1
'

test_done
