#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Pulls into one OCI layout at the same time: every tag each of them writes is there at the
# end (index.json is rewritten under a lock on the layout), and the layout stays valid.
. "$(dirname "$0")/lib.sh"
test_require_build

make_image --seed 1 "$T/a" latest 2 20000 >/dev/null || test_fatal "mkimage failed"
make_image --seed 2 "$T/b" latest 2 20000 >/dev/null || test_fatal "mkimage failed"

test_expect_success 'ten pulls at once into one layout keep all ten tags' '
	start_mock --auth none &&
	no_docker_auth &&
	beampush -q push --from "oci:$T/a:latest" "$MOCK/beam/a:latest" >/dev/null &&
	beampush -q push --from "oci:$T/b:latest" "$MOCK/beam/b:latest" >/dev/null &&
	pids="" &&
	for i in 1 2 3 4 5; do
		"$BEAMPUSH" -q pull --to "oci:$PWD/shared:a$i" "$MOCK/beam/a:latest" >/dev/null &
		pids="$pids $!"
		"$BEAMPUSH" -q pull --to "oci:$PWD/shared:b$i" "$MOCK/beam/b:latest" >/dev/null &
		pids="$pids $!"
	done &&
	for p in $pids; do wait $p || exit 1; done &&
	for i in 1 2 3 4 5; do
		test_grep -F "\"org.opencontainers.image.ref.name\":\"a$i\"" shared/index.json &&
		test_grep -F "\"org.opencontainers.image.ref.name\":\"b$i\"" shared/index.json || exit 1
	done &&
	ls -A shared/blobs/sha256 | grep "^\." >tmpfiles || : &&
	test_must_be_empty tmpfiles &&
	beampush -q push --from "oci:$PWD/shared:b3" "$MOCK/beam/c:latest" >/dev/null
'

test_done
