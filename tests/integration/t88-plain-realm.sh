#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A registry reached over https whose token service is plain http: the password never goes
# there in clear. The real registry serves TLS with a throwaway certificate and names a realm
# on plain http; nothing needs to listen there, since no credential may be sent to it.
. "$(dirname "$0")/lib.sh"
test_require_build
test_have_prereq REGISTRY || test_skip_all "needs docker-registry"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$T/key.pem" -out "$T/cert.pem" \
	>/dev/null 2>&1 || test_fatal "openssl cannot make a certificate"
REG_HTTP_EXTRA="  tls:
    certificate: $T/cert.pem
    key: $T/key.pem"
TOKEN_AUTH="auth:
  token:
    realm: http://127.0.0.1:1/token
    service: test-registry
    issuer: test-issuer
    rootcertbundle: $T/cert.pem"

test_expect_success 'credentials are not sent to a plain-http token service of an https registry' '
	start_registry "$TOKEN_AUTH" &&
	docker_auth "$REG" alice s3cr3t-pw &&
	test_expect_code 1 beampush --tls-verify=false --progress none --debug pull --to oci:$PWD/out "$REG/beam/python:latest" >out 2>err &&
	test_grep -F "its token service http://127.0.0.1:1/token is plain http; credentials are not sent there" err &&
	test_no_grep "GET http://127.0.0.1:1/token" err &&
	test_no_grep -F "s3cr3t-pw" err &&
	test ! -e out/index.json
'

test_expect_success '--insecure-registry: still https, so still no credentials to the plain realm' '
	start_registry "$TOKEN_AUTH" &&
	docker_auth "$REG" alice s3cr3t-pw &&
	test_expect_code 1 beampush --insecure-registry "$REG" --progress none --debug pull --to oci:$PWD/out "$REG/beam/python:latest" >out 2>err &&
	test_grep -F "ping https://$REG/v2/" err &&
	test_grep -F "its token service http://127.0.0.1:1/token is plain http; credentials are not sent there" err &&
	test_no_grep "GET http://127.0.0.1:1/token" err &&
	test_no_grep -F "s3cr3t-pw" err &&
	test ! -e out/index.json
'

test_expect_success 'anonymous, the same token service is asked (there is nothing to leak)' '
	start_registry "$TOKEN_AUTH" &&
	no_docker_auth &&
	test_expect_code 1 beampush --tls-verify=false --progress none --debug pull --to oci:$PWD/out "$REG/beam/python:latest" >out 2>err &&
	test_grep "token: GET http://127.0.0.1:1/token" err &&
	test_no_grep "credentials are not sent there" err
'

test_done
