#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# scripts/mkimage and the test library's layout helpers: what every other scenario builds on.
. "$(dirname "$0")/lib.sh"

test_expect_success 'mkimage writes a valid OCI layout and prints its manifest digest' '
	make_image img latest 3 4096 >digest &&
	test_line_count = 1 digest &&
	grep -qxE "sha256:[0-9a-f]{64}" digest &&
	layout_check img &&
	test "$(layout_digest img latest)" = "$(cat digest)" &&
	test "$(cat img/oci-layout)" = "{\"imageLayoutVersion\":\"1.0.0\"}" &&
	test "$(sha256_of "$(blob_path_layout img "$(cat digest)")")" = "$(cat digest)" &&
	image_blobs img latest >blobs &&
	test_line_count = 4 blobs &&
	layout_blobs img >all &&
	test_line_count = 5 all
'

test_expect_success 'mkimage gives the same bytes every time' '
	make_image a latest 3 100000 >da &&
	make_image b latest 3 100000 >db &&
	test_cmp da db &&
	diff -r a b
'

test_expect_success 'the config lists the diff_ids of the layers, in order' '
	make_image img latest 3 >digest &&
	manifest=$(blob_path_layout img "$(cat digest)") &&
	config=$(image_blobs img latest | head -n 1) &&
	for d in $(image_blobs img latest | tail -n +2); do
		gzip -dc "$(blob_path_layout img "$d")" | sha256sum | cut -d" " -f1 || exit 1
	done | sed "s/^/sha256:/" >want &&
	grep -o "\"diff_ids\":\[[^]]*\]" "$(blob_path_layout img "$config")" |
		grep -o "sha256:[0-9a-f]*" >got &&
	test_cmp want got &&
	grep -q "application/vnd.oci.image.layer.v1.tar+gzip" "$manifest"
'

test_expect_success 'the image is Beam-like: /opt/apache/beam/boot entrypoint, executable' '
	make_image img latest 3 >digest &&
	config=$(image_blobs img latest | head -n 1) &&
	grep -qF "\"Entrypoint\":[\"/opt/apache/beam/boot\"]" "$(blob_path_layout img "$config")" &&
	grep -qF "\"architecture\":\"amd64\",\"os\":\"linux\"" "$(blob_path_layout img "$config")" &&
	last=$(image_blobs img latest | tail -n 1) &&
	tar -tvzf "$(blob_path_layout img "$last")" >listing &&
	grep -E "^-rwxr-xr-x 0/0 .* opt/apache/beam/boot$" listing
'

test_expect_success 'different seeds share no layer; one layer works' '
	make_image --seed 1 a latest 2 >/dev/null &&
	make_image --seed 2 b latest 2 >/dev/null &&
	image_blobs a latest | sort >la &&
	image_blobs b latest | sort >lb &&
	comm -12 la lb >common &&
	test_must_be_empty common &&
	make_image one v1 1 >/dev/null &&
	layout_check one &&
	test -n "$(layout_digest one v1)"
'

test_expect_success 'big layers compress like source text' '
	make_image img latest 1 3000000 >/dev/null &&
	layer=$(image_blobs img latest | tail -n 1) &&
	size=$(file_size "$(blob_path_layout img "$layer")") &&
	test "$size" -gt 600000 &&
	test "$size" -lt 1500000
'

test_expect_success 'flip_byte corrupts one byte; layout_clean catches it and stray files' '
	make_image img latest 2 >/dev/null &&
	layout_clean img &&
	layer=$(image_blobs img latest | tail -n 1) &&
	f=$(blob_path_layout img "$layer") &&
	cp "$f" orig &&
	flip_byte "$f" &&
	! cmp -s orig "$f" &&
	test "$(file_size orig)" = "$(file_size "$f")" &&
	test "$(cmp orig "$f" 2>&1 | wc -l)" = 1 &&
	! layout_clean img 2>err &&
	grep -q "does not hash to its name" err &&
	flip_byte "$f" &&
	cmp orig "$f" &&
	layout_clean img &&
	: >img/blobs/sha256/partial.tmp &&
	! layout_clean img 2>err &&
	grep -q "stray file" err
'

test_expect_success 'layout_digest picks the tagged manifest in a pretty-printed index' '
	cat >idx.json <<-\END &&
	{
	  "schemaVersion": 2,
	  "manifests": [
	    {
	      "mediaType": "application/vnd.oci.image.manifest.v1+json",
	      "annotations": { "org.opencontainers.image.ref.name": "old" },
	      "digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111",
	      "size": 1
	    },
	    {
	      "digest": "sha256:2222222222222222222222222222222222222222222222222222222222222222",
	      "annotations": { "org.opencontainers.image.ref.name": "latest" },
	      "platform": { "architecture": "amd64", "os": "linux" }
	    }
	  ]
	}
	END
	mkdir lay && mv idx.json lay/index.json &&
	test "$(layout_digest lay latest)" = sha256:2222222222222222222222222222222222222222222222222222222222222222 &&
	test "$(layout_digest lay old)" = sha256:1111111111111111111111111111111111111111111111111111111111111111 &&
	test "$(layout_digest lay)" = sha256:1111111111111111111111111111111111111111111111111111111111111111 &&
	test -z "$(layout_digest lay nosuch)"
'

test_expect_success SKOPEO 'skopeo reads the layout and copies it without changing a digest' '
	make_image img latest 3 >digest &&
	skopeo inspect oci:img:latest >inspect &&
	grep -F "$(cat digest)" inspect &&
	skopeo copy -q oci:img:latest oci:copy:latest &&
	test_same_image img copy latest "$(cat digest)"
'

test_done
