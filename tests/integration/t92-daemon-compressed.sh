#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A daemon whose export holds compressed layers (Docker 25+ with the containerd store: an OCI
# layout plus manifest.json): they go to the registry as they are, byte for byte, placed by
# manifest.json; nothing is compressed again. The daemon is a fake Engine API on a unix socket
# (socat and tests/integration/fake-engine), since podman always exports uncompressed layers.
. "$(dirname "$0")/lib.sh"
test_require_build
command -v socat >/dev/null || test_skip_all "needs socat"

IMG=$T/img
make_image "$IMG" latest 3 100000 >/dev/null || test_fatal "mkimage failed"
M=$(sed -n 's/.*"digest":"sha256:\([0-9a-f]*\)".*/\1/p' "$IMG/index.json")
CFG=$(grep -o '"config":{[^}]*}' "$IMG/blobs/sha256/$M" | grep -o 'sha256:[0-9a-f]*')
LAYERS=$(grep -o '"layers":\[.*\]' "$IMG/blobs/sha256/$M" | grep -o 'sha256:[0-9a-f]*')

# An export as Docker 25+ writes it: blobs, index.json, then manifest.json last.
ENGINE=$T/engine
fake_engine_image "$IMG" beam/python:latest "$ENGINE" || test_fatal "cannot make the export"

test_expect_success 'compressed layers of an export go as they are, placed by manifest.json' '
	start_mock --auth none &&
	no_docker_auth &&
	start_fake_engine "$ENGINE" &&
	: >"$ENGINE/requests" &&
	beampush --progress none push --from docker-daemon:beam/python:latest "$MOCK/beam/python:latest" >out &&
	test_grep -F "/images/beam%2Fpython%3Alatest/get" "$ENGINE/requests" &&
	digest=$(sed -n "s/^digest: //p" out) &&
	stored=$MOCK_ROOT/repos/beam/python/_manifests/${digest#sha256:} &&
	test_grep -F "application/vnd.docker.distribution.manifest.v2+json" "$stored" &&
	grep -o "\"layers\":\[.*\]" "$stored" | grep -o "sha256:[0-9a-f]*" >pushed &&
	echo "$LAYERS" >want &&
	test_cmp want pushed &&
	test_grep -F "$CFG" "$stored" &&
	cmp "$IMG/blobs/sha256/${CFG#sha256:}" "$(blob_path_mock "$CFG")" &&
	for l in $LAYERS; do cmp "$IMG/blobs/sha256/${l#sha256:}" "$(blob_path_mock "$l")" || return 1; done
'

test_expect_success 'a compressed member whose name is not its hash: exit 5, no manifest' '
	start_mock --auth none &&
	no_docker_auth &&
	first=$(echo "$LAYERS" | head -1) &&
	cp "$ENGINE/image.tar" "$ENGINE/good.tar" &&
	block=$(tar -tvR -f "$ENGINE/image.tar" | grep -F "blobs/sha256/${first#sha256:}" | sed -n "s/^block \([0-9]*\): -.*/\1/p") &&
	flip_byte "$ENGINE/image.tar" $(((block + 1) * 512 + 100)) &&
	start_fake_engine "$ENGINE" &&
	test_expect_code 5 beampush --progress none push --from docker-daemon:beam/python:latest "$MOCK/beam/python:latest" 2>err;
	rc=$?
	mv "$ENGINE/good.tar" "$ENGINE/image.tar"
	test $rc = 0 &&
	test_grep -F "hashes to" err &&
	test "$(count_log "^PUT /v2/beam/python/manifests/")" = 0
'

test_expect_success 'an export that stops half-way: exit 1 naming the daemon, no manifest, nothing committed' '
	start_mock --auth none &&
	no_docker_auth &&
	echo $(($(stat -c %s "$ENGINE/image.tar") / 2)) >"$ENGINE/cut" &&
	start_fake_engine "$ENGINE" &&
	test_expect_code 1 beampush --progress none push --from docker-daemon:beam/python:latest "$MOCK/beam/python:latest" 2>err;
	rc=$?
	rm -f "$ENGINE/cut"
	test $rc = 0 &&
	test_line_count = 1 err &&
	test_grep -F "export of beam/python:latest from the Docker daemon at $ENGINE/docker.sock: " err &&
	test_grep -F "bytes remaining" err &&
	test "$(count_log "^PUT /v2/beam/python/manifests/")" = 0 &&
	test "$(count_log "^PUT /v2/beam/python/blobs/uploads/[^ ]* 201 ")" -lt "$(echo "$LAYERS" | wc -l | tr -d " ")"
'

test_done
