#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A gzip layer that expands a thousandfold (256 KiB of gzip, 256 MiB of tar: one file of zeros).
# Pulled into a docker-archive, beampush itself decompresses it (a docker save archive holds the
# tars the diff_ids name): it must stream, with bounded memory. Pulled into the daemon, the layer
# goes as it is, compressed, and the daemon does the decompression. Peak RSS is measured with
# /usr/bin/time against a pull of a small image, so that the bound holds in a sanitizer build
# too: a client holding the layer in memory would be 256 MiB over.
. "$(dirname "$0")/lib.sh"
test_require_build
command -v /usr/bin/time >/dev/null 2>&1 || test_skip_all "needs /usr/bin/time"

TAR_SIZE=$((256 * 1024 * 1024))
RSS_SLACK_KB=$((32 * 1024))

# make_bomb DIR: an OCI layout tagged latest whose one layer is the bomb; prints its digest.
make_bomb() {
	local dir=$1 z=$T/zeros layer diff_id config cfg_digest manifest m_digest
	mkdir -p "$dir/blobs/sha256" "$z" &&
	truncate -s $TAR_SIZE "$z/zero.bin" &&
	tar -C "$z" --owner=0 --group=0 --numeric-owner --mtime=@0 -cf - zero.bin |
		gzip -9n >"$T/layer.gz" &&
	rm -rf "$z" &&
	layer=$(sha256_of "$T/layer.gz") &&
	mv "$T/layer.gz" "$(blob_path_layout "$dir" "$layer")" &&
	diff_id=sha256:$(gzip -dc "$(blob_path_layout "$dir" "$layer")" | sha256sum | cut -d' ' -f1) &&
	config='{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["'$diff_id'"]}}' &&
	printf '%s' "$config" >"$T/config" &&
	cfg_digest=$(sha256_of "$T/config") &&
	mv "$T/config" "$(blob_path_layout "$dir" "$cfg_digest")" &&
	manifest='{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"'$cfg_digest'","size":'${#config}'},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"'$layer'","size":'$(file_size "$(blob_path_layout "$dir" "$layer")")'}]}' &&
	printf '%s' "$manifest" >"$T/manifest" &&
	m_digest=$(sha256_of "$T/manifest") &&
	mv "$T/manifest" "$(blob_path_layout "$dir" "$m_digest")" &&
	printf '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout" &&
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' \
		"$m_digest" "${#manifest}" >"$dir/index.json" &&
	echo "$m_digest"
}

BOMB=$T/bomb
BOMB_DIGEST=$(make_bomb "$BOMB") || test_fatal "cannot make the bomb image"
BOMB_CONFIG=$(image_blobs "$BOMB" latest | head -n 1)
BOMB_LAYER=$(image_blobs "$BOMB" latest | tail -n 1)
BOMB_DIFF_ID=$(config_diff_ids "$(blob_path_layout "$BOMB" "$BOMB_CONFIG")")
BOMB_TAR=$(gzip -dc "$(blob_path_layout "$BOMB" "$BOMB_LAYER")" | wc -c)
SMALL=$T/small
make_image --seed 98 "$SMALL" latest 1 20000 >/dev/null || test_fatal "mkimage failed"

# rss_of FILE COMMAND...: run COMMAND (not a shell function) under /usr/bin/time; its peak RSS
# in KiB goes to FILE. COMMAND's status is returned.
rss_of() {
	local file=$1
	shift
	/usr/bin/time -f %M -o "$file" "$@"
}

test_expect_success 'control: the bomb is 1000 times smaller gzipped, and a valid image' '
	test "$(file_size "$(blob_path_layout "$BOMB" "$BOMB_LAYER")")" -lt $((TAR_SIZE / 1000)) &&
	test "$BOMB_TAR" -gt $TAR_SIZE &&
	test -n "$BOMB_DIFF_ID" &&
	layout_check "$BOMB" &&
	test "$(layout_digest "$BOMB" latest)" = "$BOMB_DIGEST"
'

test_expect_success 'pull --to docker-archive: the bomb streams through gunzip, RSS bounded' '
	start_mock &&
	no_docker_auth &&
	beampush --progress none push --from oci:$BOMB:latest $MOCK/beam/bomb:latest >out 2>err &&
	beampush --progress none push --from oci:$SMALL:latest $MOCK/beam/small:latest >out 2>err &&
	test "$(count_log "^(PUT|POST) /v2/beam/bomb/blobs/uploads/[^ ]* 201 ")" = 2 &&
	rss_of small.rss "$BEAMPUSH" --progress none pull --to docker-archive:$PWD/small.tar \
		$MOCK/beam/small:latest >out 2>err &&
	rss_of bomb.rss "$BEAMPUSH" --progress none pull --to docker-archive:$PWD/bomb.tar \
		$MOCK/beam/bomb:latest >out 2>err &&
	echo "peak RSS: small $(cat small.rss) KiB, bomb $(cat bomb.rss) KiB" &&
	test "$(cat bomb.rss)" -lt $(($(cat small.rss) + RSS_SLACK_KB)) &&
	tar tvf bomb.tar >listing &&
	test_grep -E " $BOMB_TAR .* ${BOMB_DIFF_ID#sha256:}\.tar$" listing &&
	test "sha256:$(tar xOf bomb.tar "${BOMB_DIFF_ID#sha256:}.tar" | sha256sum | cut -d" " -f1)" = "$BOMB_DIFF_ID" &&
	rm -f bomb.tar &&
	ls -A >files &&
	{ grep -vx -e bomb.rss -e small.rss -e small.tar -e out -e err -e listing -e files files >stray || :; } &&
	test_must_be_empty stray
'

test_expect_success PODMAN 'pull --to docker-daemon: the layer goes compressed, the daemon expands it' '
	start_mock &&
	no_docker_auth &&
	beampush --progress none push --from oci:$BOMB:latest $MOCK/beam/bomb:latest >out 2>err &&
	beampush --progress none push --from oci:$SMALL:latest $MOCK/beam/small:latest >out 2>err &&
	start_podman_service &&
	rss_of small.rss "$BEAMPUSH" --progress none pull --to docker-daemon:beam/small:latest \
		$MOCK/beam/small:latest >out 2>err &&
	rss_of bomb.rss "$BEAMPUSH" --progress none pull --to docker-daemon:beam/bomb:latest \
		$MOCK/beam/bomb:latest >out 2>err &&
	echo "peak RSS: small $(cat small.rss) KiB, bomb $(cat bomb.rss) KiB" &&
	test "$(cat bomb.rss)" -lt $(($(cat small.rss) + RSS_SLACK_KB)) &&
	test "$($PODMAN image inspect --format "{{.Id}}" beam/bomb:latest)" = "${BOMB_CONFIG#sha256:}" &&
	$PODMAN image inspect --format "{{.RootFS.Layers}}" beam/bomb:latest >layers &&
	test_grep -F "$BOMB_DIFF_ID" layers
'

test_done
