#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The command line: usage errors exit 2 with one line naming what was wrong, before any network.
. "$(dirname "$0")/lib.sh"
test_require_build

IMG=$T/img
make_image "$IMG" latest 1 >/dev/null || test_fatal "mkimage failed"

# Nothing listens on port 1: a usage error must be found before any connection is tried.
BAD_REFS="
127.0.0.1:1/Beam/Python:latest
127.0.0.1:1/beam/python:bad:tag
127.0.0.1:1/beam//python
127.0.0.1:1/beam/python:
127.0.0.1:1/-beam/python
127.0.0.1:1/beam/python@sha256:1234
127.0.0.1:1/beam/python@md5:d41d8cd98f00b204e9800998ecf8427e
127.0.0.1:1/beam/python:$(printf 'x%.0s' $(seq 1 129))
127.0.0.1:1/$(printf 'a%.0s' $(seq 1 260))
beam python
"

test_expect_success 'pull of a malformed reference exits 2 with a one-line message' '
	echo "$BAD_REFS" | while IFS= read -r ref; do
		[ -n "$ref" ] || continue
		echo "ref: $ref" &&
		test_expect_code 2 beampush --progress none pull --to oci:$PWD/dest:latest "$ref" >out 2>err &&
		test_must_be_empty out &&
		test_line_count = 1 err &&
		cat err || exit 1
	done &&
	test_expect_code 2 beampush --progress none pull --to oci:$PWD/dest:latest "" 2>err &&
	test_line_count = 1 err &&
	test ! -e dest
'

test_expect_success 'push of a malformed reference exits 2 with a one-line message' '
	echo "$BAD_REFS" | while IFS= read -r ref; do
		[ -n "$ref" ] || continue
		echo "ref: $ref" &&
		test_expect_code 2 beampush --progress none push --from oci:$IMG:latest "$ref" >out 2>err &&
		test_must_be_empty out &&
		test_line_count = 1 err &&
		cat err || exit 1
	done
'

test_expect_success 'unknown command, unknown option, missing or extra REF exit 2' '
	test_expect_code 2 beampush --progress none frobnicate 2>err && test_line_count = 1 err &&
	test_expect_code 2 beampush --progress none --no-such-option pull 127.0.0.1:1/a:b 2>err &&
	test_line_count = 1 err &&
	test_expect_code 2 beampush --progress none push --no-such-option --from oci:$IMG:latest 127.0.0.1:1/a:b 2>err &&
	test_line_count = 1 err &&
	test_expect_code 2 beampush --progress none push --from oci:$IMG:latest 2>err &&
	test_line_count = 1 err &&
	test_expect_code 2 beampush --progress none pull --to oci:$PWD/dest 2>err &&
	test_line_count = 1 err &&
	test_expect_code 2 beampush --progress none pull --to oci:$PWD/dest 127.0.0.1:1/a:b 127.0.0.1:1/c:d 2>err &&
	test_line_count = 1 err &&
	test_expect_code 2 beampush --progress none 2>err
'

test_expect_success 'an unknown transport exits 2 and names it' '
	test_expect_code 2 beampush --progress none push --from nosuch:$IMG 127.0.0.1:1/beam/python:latest 2>err &&
	test_line_count = 1 err &&
	grep -q nosuch err &&
	test_expect_code 2 beampush --progress none pull --to nosuch:$PWD/dest 127.0.0.1:1/beam/python:latest 2>err &&
	test_line_count = 1 err &&
	grep -q nosuch err
'

test_expect_success '--help prints usage on stdout and exits 0' '
	beampush --help >out &&
	grep -q push out && grep -q pull out &&
	beampush push --help >out &&
	grep -q -- --from out && grep -q -- --chunk-size out &&
	beampush pull --help >out &&
	grep -q -- --to out
'

test_expect_success 'COMMAND --help: usage and options on stdout, nothing on stderr, exit 0' '
	for cmd in login logout push pull version; do
		beampush $cmd --help >out 2>err &&
		test_must_be_empty err &&
		test_grep -E "^usage: beampush \[GLOBAL OPTIONS\] $cmd " out &&
		test_grep -F -- "-h, --help" out || exit 1
	done &&
	beampush login --help >out && test_grep -F -- "--password-stdin" out &&
	test_grep -F -- "--username" out && test_grep -F -- "--store WHERE" out &&
	beampush push -h >out && test_grep -F -- "--digestfile FILE" out &&
	test_grep -F -- "--compression-level N" out && test_grep -F -- "--single-put-max BYTES" out &&
	beampush pull -h >out && test_grep -F -- "--platform" out &&
	test_expect_code 2 beampush version extra 2>err && test_line_count = 1 err &&
	test_expect_code 2 beampush logout --bogus 2>err && test_line_count = 1 err
'

test_expect_success 'version names beampush and every library it runs with' '
	beampush version >out 2>err &&
	test_must_be_empty err &&
	test_grep -Ex "beampush [0-9]+\.[0-9]+\.[0-9]+" out &&
	test_grep -E "^libcurl: +libcurl/[0-9]" out &&
	test_grep -E "^OpenSSL: +OpenSSL [0-9]" out &&
	test_grep -E "^cJSON: +[0-9]+\.[0-9]+\.[0-9]+$" out &&
	test_grep -E "^zlib: +[0-9]+\.[0-9]+" out &&
	test_grep -E "^libdeflate: +[0-9]+\.[0-9]+ \(built with" out &&
	test_grep -E "^libsecret: +[0-9]+\.[0-9]+\.[0-9]+ \(built with" out &&
	test_grep -E "^libsodium: +[0-9]+\.[0-9]+\.[0-9]+$" out &&
	test_line_count = 8 out &&
	beampush --version >out2 && test_cmp out out2
'

test_done
