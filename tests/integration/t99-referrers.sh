#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Referrers (OCI distribution 1.1): beampush referrers lists them from the referrers API (the
# mock with --referrers-api) or, where a registry has none (the mock without it, in each way a
# registry says so, and docker-registry: distribution 2.8.2), from the index under the tag
# sha256-<hex>; beampush copy carries cosign's .sig/.att/.sbom tags and the referrers along,
# keeping that index on a destination without the API (If-Match, 412 read and merged again).
# And the bad input: lists that page forever, loop, name their subject, pass 4 MiB or nest
# 100000 deep; a referrers tag that holds no index; an ETag race that never ends.
. "$(dirname "$0")/lib.sh"
test_require_build

export XDG_CACHE_HOME=$T/cache
MKARTIFACT=$TEST_ROOT/scripts/mkartifact
OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json
SBOM_TYPE=application/spdx+json
SIG_TYPE=application/vnd.dev.cosign.artifact.sig.v1+json

IMG=$T/img
DIGEST=$(make_image "$IMG" latest 2 5000) || test_fatal "mkimage failed"
SIZE=$(file_size "$(blob_path_layout "$IMG" "$DIGEST")")
HEX=${DIGEST#sha256:}
OTHER=$(make_image --seed 7 "$T/other" latest 1 1000) || test_fatal "mkimage failed"
INDEX=$("$TEST_ROOT/scripts/mkindex" "$T/multi" latest linux/amd64 linux/arm64/v8) ||
	test_fatal "mkindex failed"
INDEX_SIZE=$(file_size "$(blob_path_layout "$T/multi" "$INDEX")")
AMD=$(grep -o '"digest":"sha256:[0-9a-f]*","size":[0-9]*,"platform":{"architecture":"amd64"' \
	"$(blob_path_layout "$T/multi" "$INDEX")" | cut -d'"' -f4)
AMD_SIZE=$(file_size "$(blob_path_layout "$T/multi" "$AMD")")

# The referrers of DIGEST: an SBOM (two annotations), a signature artifact, and a signature of
# the SBOM (a referrer of a referrer); cosign's signature and attestation tags beside it.
SBOM=$("$MKARTIFACT" --type $SBOM_TYPE --subject "$DIGEST:$SIZE" \
	--annotation org.opencontainers.image.created=2026-01-01T00:00:00Z \
	--annotation org.example.format=spdx "$T/sbom" sbom) || test_fatal "mkartifact failed"
SBOM_SIZE=$(file_size "$(blob_path_layout "$T/sbom" "$SBOM")")
SIGART=$("$MKARTIFACT" --type $SIG_TYPE --subject "$DIGEST:$SIZE" "$T/sigart" sigart) ||
	test_fatal "mkartifact failed"
SIGART_SIZE=$(file_size "$(blob_path_layout "$T/sigart" "$SIGART")")
SBOMSIG=$("$MKARTIFACT" --type $SIG_TYPE --subject "$SBOM:$SBOM_SIZE" "$T/sbomsig" sbomsig) ||
	test_fatal "mkartifact failed"
COSIGN_SIG=$("$MKARTIFACT" --cosign beam/python "$DIGEST" "$T/cosign-sig" sig) ||
	test_fatal "mkartifact failed"
COSIGN_ATT=$("$MKARTIFACT" --layer-type application/vnd.dsse.envelope.v1+json \
	--config-type application/vnd.oci.image.config.v1+json --payload '{"payloadType":"x"}' \
	"$T/cosign-att" att) || test_fatal "mkartifact failed"
# an artifact whose subject is another manifest, and one for the index's amd64 image
STRAY=$("$MKARTIFACT" --type $SBOM_TYPE --subject "$OTHER:100" "$T/stray" stray) ||
	test_fatal "mkartifact failed"
STRAY_SIZE=$(file_size "$(blob_path_layout "$T/stray" "$STRAY")")
AMD_SBOM=$("$MKARTIFACT" --type $SBOM_TYPE --subject "$AMD:$AMD_SIZE" "$T/amdsbom" amd) ||
	test_fatal "mkartifact failed"
# sorted by digest, as the mock lists them
FIRST=$(printf '%s\n' "$SBOM" "$SIGART" | sort | head -n 1)

# put LAYOUT TAG REF: push the manifest TAG of LAYOUT to REF (a tag or @digest)
put() {
	beampush -q push --from "oci:$1:$2" "$3" >/dev/null
}

# image_with_oci_referrers REG: beam/python:latest with the SBOM, the signature artifact and
# the signature of the SBOM
image_with_oci_referrers() {
	put "$IMG" latest "$1/beam/python:latest" &&
	put "$T/sbom" sbom "$1/beam/python@$SBOM" &&
	put "$T/sigart" sigart "$1/beam/python@$SIGART" &&
	put "$T/sbomsig" sbomsig "$1/beam/python@$SBOMSIG"
}

# image_with_referrers REG: the same, and cosign's .sig and .att tags
image_with_referrers() {
	image_with_oci_referrers "$1" &&
	put "$T/cosign-sig" sig "$1/beam/python:sha256-$HEX.sig" &&
	put "$T/cosign-att" att "$1/beam/python:sha256-$HEX.att"
}

# entry DIGEST SIZE [TYPE]: a descriptor of an index of referrers
entry() {
	printf '{"mediaType":"%s","digest":"%s","size":%s%s}' $OCI_MANIFEST "$1" "$2" \
		"${3:+,\"artifactType\":\"$3\"}"
}

# put_index REG REPO TAG ENTRY...: an index of referrers under TAG, PUT by curl (no auth)
put_index() {
	local reg=$1 repo=$2 tag=$3 entries
	shift 3
	entries=$(printf '%s,' "$@")
	curl -sf -o /dev/null -X PUT -H "Content-Type: application/vnd.oci.image.index.v1+json" \
		--data-binary "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[${entries%,}]}" \
		"http://$reg/v2/$repo/manifests/$tag"
}

# tag_of ROOT REPO TAG: the digest a mock's TAG names
tag_of() {
	cat "$1/repos/$2/_tags/$3"
}

# stored_index ROOT REPO TAG: the digests an index a mock holds under TAG lists, in order
stored_index() {
	local d
	d=$(tag_of "$1" "$2" "$3") &&
	grep -o '"digest":"sha256:[0-9a-f]*"' "$1/repos/$2/_manifests/${d#sha256:}" | cut -d'"' -f4
}

# --- listing -------------------------------------------------------------------------------

test_expect_success 'referrers from the API: each with its artifactType, size, media type, annotations' '
	start_mock --referrers-api &&
	image_with_referrers "$MOCK" &&
	mark=$(log_mark) &&
	beampush referrers "$MOCK/beam/python:latest" >out 2>err &&
	{
		for d in $(printf "%s\n" "$SBOM" "$SIGART" | sort); do
			if [ "$d" = "$SBOM" ]; then
				echo "$SBOM  $SBOM_TYPE  $SBOM_SIZE  $OCI_MANIFEST"
				echo "  org.opencontainers.image.created=2026-01-01T00:00:00Z"
				echo "  org.example.format=spdx"
			else
				echo "$SIGART  $SIG_TYPE  $SIGART_SIZE  $OCI_MANIFEST"
			fi
		done
	} >want &&
	test_cmp want out &&
	test "$(head -n 1 out | cut -d" " -f1)" = "$FIRST" &&
	test_must_be_empty err &&
	log_since $mark >log &&
	test_grep -E "^HEAD /v2/beam/python/manifests/latest 200 " log &&
	test_grep -E "^GET /v2/beam/python/referrers/$DIGEST 200 " log &&
	test_no_grep "manifests/sha256-" log &&
	beampush referrers --format json "$MOCK/beam/python@$DIGEST" >json &&
	test_grep "\"Source\":	\"api\"" json &&
	test_grep "\"Subject\":	\"$DIGEST\"" json &&
	test_grep "\"FallbackTag\":	\"sha256-$HEX\"" json &&
	test "$(grep -c "\"digest\":" json)" = 2 &&
	test_grep "\"org.example.format\":	\"spdx\"" json
'

test_expect_success '--artifact-type: the registry filters and says so (OCI-Filters-Applied)' '
	start_mock --referrers-api &&
	image_with_referrers "$MOCK" &&
	beampush referrers --artifact-type $SIG_TYPE "$MOCK/beam/python:latest" >out &&
	test "$(cut -d" " -f1 out)" = "$SIGART" &&
	test_grep -F "GET /v2/beam/python/referrers/$DIGEST?artifactType=application%2Fvnd.dev.cosign.artifact.sig.v1%2Bjson 200" "$MOCK_LOG" &&
	beampush referrers --json --artifact-type application/x-none "$MOCK/beam/python:latest" >json &&
	test_grep "\"Filtered\":	true" json && test_no_grep "\"digest\"" json
'

test_expect_success 'a manifest PUT with a subject is answered OCI-Subject by the mock with the API only' '
	start_mock --referrers-api && A=$MOCK &&
	start_mock && B=$MOCK &&
	for reg in $A $B; do
		put "$IMG" latest "$reg/beam/python:latest" &&
		put "$T/sbom" sbom "$reg/beam/python:x" || exit 1
	done &&
	m=$(blob_path_layout "$T/sbom" "$SBOM") &&
	curl -si -X PUT -H "Content-Type: $OCI_MANIFEST" --data-binary @"$m" \
		"http://$A/v2/beam/python/manifests/$SBOM" | tr -d "\r" >a &&
	test_grep -x "OCI-Subject: $DIGEST" a &&
	curl -si -X PUT -H "Content-Type: $OCI_MANIFEST" --data-binary @"$m" \
		"http://$B/v2/beam/python/manifests/$SBOM" | tr -d "\r" >b &&
	test_grep "^HTTP/1.1 201" b && test_no_grep -i "^OCI-Subject" b
'

test_expect_success 'no API (a plain-text 404, as distribution 2.8): the index under sha256-<hex>, filtered here' '
	start_mock &&
	image_with_referrers "$MOCK" &&
	put_index "$MOCK" beam/python "sha256-$HEX" "$(entry "$SBOM" "$SBOM_SIZE" $SBOM_TYPE)" \
		"$(entry "$SIGART" "$SIGART_SIZE" $SIG_TYPE)" &&
	mark=$(log_mark) &&
	beampush referrers "$MOCK/beam/python:latest" >out 2>err &&
	printf "%s\n" "$SBOM  $SBOM_TYPE  $SBOM_SIZE  $OCI_MANIFEST" \
		"$SIGART  $SIG_TYPE  $SIGART_SIZE  $OCI_MANIFEST" >want &&
	test_cmp want out &&
	test_grep -x "beampush: referrers: from the tag sha256-$HEX (the registry has no referrers API)" err &&
	log_since $mark >log &&
	test_grep -E "^GET /v2/beam/python/referrers/$DIGEST 404 " log &&
	test_grep -E "^GET /v2/beam/python/manifests/sha256-$HEX 200 " log &&
	beampush -q referrers --artifact-type $SBOM_TYPE "$MOCK/beam/python:latest" >out 2>err &&
	test "$(cut -d" " -f1 out)" = "$SBOM" && test_must_be_empty err &&
	beampush referrers --json "$MOCK/beam/python:latest" >json 2>/dev/null &&
	test_grep "\"Source\":	\"tag\"" json && test_grep "\"Note\":" json
'

test_expect_success 'each way a registry says it has no API leads to the tag; refusals do not' '
	for how in 400 400:DIGEST_INVALID 405:UNSUPPORTED 406 501:UNSUPPORTED 409:UNSUPPORTED \
		410:NAME_UNKNOWN 200; do
		start_mock --referrers-missing $how &&
		put "$IMG" latest "$MOCK/beam/python:latest" &&
		put "$T/sbom" sbom "$MOCK/beam/python@$SBOM" &&
		put_index "$MOCK" beam/python "sha256-$HEX" "$(entry "$SBOM" "$SBOM_SIZE")" &&
		beampush -q referrers "$MOCK/beam/python:latest" >out &&
		test "$(cut -d" " -f1 out)" = "$SBOM" || { echo "with --referrers-missing $how"; exit 1; }
	done &&
	start_mock --referrers-missing 403:DENIED &&
	put "$IMG" latest "$MOCK/beam/python:latest" &&
	test_expect_code 3 beampush referrers "$MOCK/beam/python:latest" >out 2>err &&
	test_must_be_empty out && test_no_grep "manifests/sha256-" "$MOCK_LOG" &&
	start_mock --referrers-missing 409:CONFLICT &&
	put "$IMG" latest "$MOCK/beam/python:latest" &&
	test_expect_code 1 beampush referrers "$MOCK/beam/python:latest" 2>err &&
	test_grep "referrers: registry answered 409 CONFLICT" err
'

test_expect_success 'no API and no tag: no referrers; a tag that holds an image manifest: ignored, and said' '
	start_mock &&
	put "$IMG" latest "$MOCK/beam/python:latest" &&
	beampush referrers "$MOCK/beam/python:latest" >out 2>err &&
	test_must_be_empty out &&
	test_grep -x "beampush: referrers: none (no referrers API, no tag sha256-$HEX)" err &&
	put "$T/other" latest "$MOCK/beam/python:sha256-$HEX" &&
	beampush referrers "$MOCK/beam/python:latest" >out 2>err &&
	test_must_be_empty out &&
	test_grep -x "beampush: referrers: none: the tag sha256-$HEX holds no index of referrers: ignored (of media type $OCI_MANIFEST, not an image index)" err
'

test_expect_success 'bad lists: pages forever, a loop, one naming itself, 5 MiB: exit 1 and why; 100000 deep: no index' '
	start_mock --referrers-api --fault referrers-endless &&
	put "$IMG" latest "$MOCK/beam/python:latest" &&
	test_expect_code 1 beampush referrers "$MOCK/beam/python:latest" >out 2>err &&
	test_must_be_empty out &&
	test_grep "referrers of $DIGEST: page 101: more than 10000 referrers: giving up" err &&
	test "$(count_log "^GET /v2/beam/python/referrers/")" = 101 &&
	start_mock --referrers-api --fault referrers-loop &&
	put "$IMG" latest "$MOCK/beam/python:latest" &&
	test_expect_code 1 beampush referrers "$MOCK/beam/python:latest" 2>err &&
	test_grep "referrers of $MOCK/beam/python: Link header loops back to a page already listed" err &&
	start_mock --referrers-api --fault referrers-self &&
	put "$IMG" latest "$MOCK/beam/python:latest" &&
	test_expect_code 1 beampush referrers "$MOCK/beam/python:latest" 2>err &&
	test_grep "manifests\[0\] is $DIGEST itself, a manifest cannot refer to itself" err &&
	start_mock --referrers-api --fault referrers-huge &&
	put "$IMG" latest "$MOCK/beam/python:latest" &&
	test_expect_code 1 beampush referrers "$MOCK/beam/python:latest" 2>err &&
	test_grep "a page larger than 4 MiB" err &&
	start_mock --referrers-api --fault referrers-deep &&
	put "$IMG" latest "$MOCK/beam/python:latest" &&
	beampush referrers "$MOCK/beam/python:latest" >out 2>err &&
	test_must_be_empty out &&
	test_grep "none (no referrers API, no tag sha256-$HEX)" err &&
	test_grep -E "^HEAD /v2/beam/python/manifests/sha256-$HEX 404 " "$MOCK_LOG"
'

test_expect_success 'usage and absence: a manifest not there exits 4; bad options exit 2, nothing sent' '
	start_mock --referrers-api &&
	put "$IMG" latest "$MOCK/beam/python:latest" &&
	test_expect_code 4 beampush referrers "$MOCK/beam/python:nope" >out 2>err &&
	test_must_be_empty out && test_grep "not found" err &&
	test_expect_code 4 beampush referrers "$MOCK/beam/python@$OTHER" 2>err &&
	mark=$(log_mark) &&
	test_expect_code 2 beampush referrers --format yaml "$MOCK/beam/python:latest" 2>err &&
	test_grep "wants text or json" err &&
	test_expect_code 2 beampush referrers --artifact-type sbom "$MOCK/beam/python:latest" 2>err &&
	test_grep "wants a media type" err &&
	test_expect_code 2 beampush referrers "$MOCK/beam/python:latest" "$MOCK/beam/python:x" 2>err &&
	test_expect_code 2 beampush referrers 2>err &&
	test "$(log_mark)" = "$mark" &&
	beampush referrers --help >out && test_grep "usage: beampush .*referrers" out
'

test_expect_success REGISTRY 'docker-registry (distribution 2.8.2): 404 page not found to the API, the tag read' '
	start_registry >/dev/null &&
	no_docker_auth &&
	image_with_referrers "$REG" &&
	put_index "$REG" beam/python "sha256-$HEX" "$(entry "$SBOM" "$SBOM_SIZE" $SBOM_TYPE)" &&
	curl -s "http://$REG/v2/beam/python/referrers/$DIGEST" >answer &&
	test "$(cat answer)" = "404 page not found" &&
	beampush referrers "$REG/beam/python:latest" >out 2>err &&
	test "$(cat out)" = "$SBOM  $SBOM_TYPE  $SBOM_SIZE  $OCI_MANIFEST" &&
	test_grep "from the tag sha256-$HEX" err &&
	registry_requests >log &&
	test_grep -x "GET /v2/beam/python/referrers/$DIGEST 404" log &&
	test_grep -x "GET /v2/beam/python/manifests/sha256-$HEX 200" log
'

# --- copy ----------------------------------------------------------------------------------

# referrers_of REG REF: the digests beampush referrers lists, sorted
referrers_of() {
	beampush -q referrers "$2" | grep -o "^sha256:[0-9a-f]*" | sort
}

test_expect_success 'copy carries cosign tags and referrers (and theirs) to a registry with the API' '
	start_mock --referrers-api && SRC=$MOCK SRC_ROOT=$MOCK_ROOT SRC_LOG=$MOCK_LOG &&
	start_mock --referrers-api && DST=$MOCK DST_ROOT=$MOCK_ROOT DST_LOG=$MOCK_LOG &&
	image_with_referrers "$SRC" &&
	beampush --progress plain copy "$SRC/beam/python:latest" "$DST/mirror/python:latest" >out 2>err &&
	test_grep "^digest: $DIGEST\$" out &&
	test "$(tag_of "$DST_ROOT" mirror/python "sha256-$HEX.sig")" = "$COSIGN_SIG" &&
	test "$(tag_of "$DST_ROOT" mirror/python "sha256-$HEX.att")" = "$COSIGN_ATT" &&
	test ! -e "$DST_ROOT/repos/mirror/python/_tags/sha256-$HEX.sbom" &&
	test ! -e "$DST_ROOT/repos/mirror/python/_tags/sha256-$HEX" &&
	for m in "$T/sbom:$SBOM" "$T/sigart:$SIGART" "$T/sbomsig:$SBOMSIG"; do
		cmp "$(blob_path_layout "${m%%:*}" "${m#*:}")" \
			"$DST_ROOT/repos/mirror/python/_manifests/${m##*sha256:}" || exit 1
		for b in $(image_blobs "${m%%:*}"); do
			# (the subject is no blob of the layout)
			[ -f "$(blob_path_layout "${m%%:*}" "$b")" ] || continue
			cmp "$(blob_path_layout "${m%%:*}" "$b")" "$DST_ROOT/blobs/sha256/${b#sha256:}" ||
				exit 1
		done
		test_grep -E "^PUT /v2/mirror/python/manifests/${m#*:} 201 " "$DST_LOG" || exit 1
	done &&
	test_grep -x "referrer ${COSIGN_SIG:7:12} (signature sha256-$HEX.sig): on the destination" err &&
	test_grep -x "referrer ${COSIGN_ATT:7:12} (attestation sha256-$HEX.att): on the destination" err &&
	test_grep -x "referrer ${SBOM:7:12} (referrer $SBOM_TYPE): on the destination" err &&
	test_no_grep -E "^PUT /v2/mirror/python/manifests/sha256-$HEX " "$DST_LOG" &&
	referrers_of "$SRC" "$SRC/beam/python:latest" >want &&
	referrers_of "$DST" "$DST/mirror/python:latest" >got && test_cmp want got &&
	test "$(referrers_of "$DST" "$DST/mirror/python@$SBOM")" = "$SBOMSIG" &&
	mark=$(log_mark "$DST_LOG") &&
	beampush -q copy "$SRC/beam/python:latest" "$DST/mirror/python:latest" >/dev/null &&
	log_since $mark "$DST_LOG" >again &&
	test_no_grep -E "^(PUT|POST|PATCH) " again
'

test_expect_success 'to a registry without the API the index under sha256-<hex> is written, merged with its own' '
	start_mock --referrers-api && SRC=$MOCK SRC_ROOT=$MOCK_ROOT SRC_LOG=$MOCK_LOG &&
	start_mock && DST=$MOCK DST_ROOT=$MOCK_ROOT DST_LOG=$MOCK_LOG &&
	image_with_referrers "$SRC" &&
	put "$IMG" latest "$DST/mirror/python:latest" &&
	put "$T/sigart" sigart "$DST/mirror/python@$SIGART" &&
	put "$T/stray" stray "$DST/mirror/python@$STRAY" &&
	put_index "$DST" mirror/python "sha256-$HEX" "$(entry "$STRAY" "$STRAY_SIZE" x/kept-as-it-is)" &&
	before=$(tag_of "$DST_ROOT" mirror/python "sha256-$HEX") &&
	beampush -q copy "$SRC/beam/python:latest" "$DST/mirror/python:latest" >out &&
	stored_index "$DST_ROOT" mirror/python "sha256-$HEX" >got &&
	test "$(head -n 1 got)" = "$STRAY" && test_line_count = 3 got &&
	test_grep -x "$SBOM" got && test_grep -x "$SIGART" got &&
	test_grep -E "^PUT /v2/mirror/python/manifests/sha256-$HEX 201 .* if-match=\"$before\"\$" "$DST_LOG" &&
	test "$(stored_index "$DST_ROOT" mirror/python "sha256-${SBOM#sha256:}")" = "$SBOMSIG" &&
	d=$(tag_of "$DST_ROOT" mirror/python "sha256-$HEX") &&
	idx="$DST_ROOT/repos/mirror/python/_manifests/${d#sha256:}" &&
	test_grep -F "{\"mediaType\":\"$OCI_MANIFEST\",\"digest\":\"$STRAY\",\"size\":$STRAY_SIZE,\"artifactType\":\"x/kept-as-it-is\"}" "$idx" &&
	test_grep -F "\"artifactType\":\"$SBOM_TYPE\",\"annotations\":{\"org.opencontainers.image.created\":\"2026-01-01T00:00:00Z\",\"org.example.format\":\"spdx\"}" "$idx" &&
	mark=$(log_mark "$DST_LOG") &&
	beampush -q copy "$SRC/beam/python:latest" "$DST/mirror/python:latest" >/dev/null &&
	log_since $mark "$DST_LOG" >again &&
	test_no_grep -E "^(PUT|POST|PATCH) " again &&
	test "$(tag_of "$DST_ROOT" mirror/python "sha256-$HEX")" = "$d"
'

test_expect_success 'an ETag race: a 412 is read and merged again; one that never ends: exit 1, said' '
	start_mock --referrers-api && SRC=$MOCK &&
	start_mock --status-fault "PUT:/manifests/sha256-$HEX:412:1" && DST=$MOCK DST_LOG=$MOCK_LOG DST_ROOT=$MOCK_ROOT &&
	image_with_oci_referrers "$SRC" &&
	beampush -q copy "$SRC/beam/python:latest" "$DST/mirror/python:latest" >out 2>err &&
	grep -E "^(GET|PUT) /v2/mirror/python/manifests/sha256-$HEX " "$DST_LOG" | cut -d" " -f1,3 >got &&
	printf "%s\n" "GET 404" "PUT 412" "GET 404" "PUT 201" >want && test_cmp want got &&
	test "$(stored_index "$DST_ROOT" mirror/python "sha256-$HEX" | wc -l)" = 2 &&
	start_mock --status-fault "PUT:/manifests/sha256-$HEX:412:0" && DST=$MOCK DST_LOG=$MOCK_LOG DST_ROOT=$MOCK_ROOT &&
	test_expect_code 1 beampush copy "$SRC/beam/python:latest" "$DST/mirror/python:latest" >out 2>err &&
	test_must_be_empty out &&
	test_grep "^beampush: $DST/mirror/python:latest is copied ($DIGEST), its referrers are not: referrers of $DIGEST: destination $DST/mirror/python: tag sha256-$HEX: the index of referrers changed under each of 3 writes (412 Precondition Failed), not written: copy again" err &&
	test "$(count_log "^PUT /v2/mirror/python/manifests/sha256-$HEX 412 " "$DST_LOG")" = 3 &&
	test ! -e "$DST_ROOT/repos/mirror/python/_tags/sha256-$HEX"
'

test_expect_success REGISTRY 'docker-registry as destination, then as source: the tag schema both ways' '
	start_mock --referrers-api && SRC=$MOCK &&
	start_registry >/dev/null &&
	no_docker_auth &&
	image_with_referrers "$SRC" &&
	beampush -q copy "$SRC/beam/python:latest" "$REG/mirror/python:latest" >out &&
	test "$(cat out)" = "$DIGEST" &&
	referrers_of "$SRC" "$SRC/beam/python:latest" >want &&
	referrers_of "$REG" "$REG/mirror/python:latest" >got && test_cmp want got &&
	test "$(referrers_of "$REG" "$REG/mirror/python@$SBOM")" = "$SBOMSIG" &&
	registry_requests >log &&
	test_grep -x "PUT /v2/mirror/python/manifests/sha256-$HEX 201" log &&
	test_grep -x "PUT /v2/mirror/python/manifests/sha256-$HEX.sig 201" log &&
	n=$(wc -l <log) &&
	beampush -q copy "$SRC/beam/python:latest" "$REG/mirror/python:latest" >/dev/null &&
	registry_requests | tail -n +$((n + 1)) >again &&
	test_no_grep -E "^(PUT|POST|PATCH) " again &&
	start_mock --referrers-api && DST=$MOCK DST_ROOT=$MOCK_ROOT &&
	beampush -q copy "$REG/mirror/python:latest" "$DST/back/python:latest" >/dev/null &&
	referrers_of "$DST" "$DST/back/python:latest" >got && test_cmp want got &&
	test "$(tag_of "$DST_ROOT" back/python "sha256-$HEX.sig")" = "$COSIGN_SIG"
'

test_expect_success 'an index: its images referrers go too; with --platform, only the image copied' '
	start_mock --referrers-api && SRC=$MOCK &&
	start_mock --referrers-api && DST=$MOCK DST_ROOT=$MOCK_ROOT &&
	put "$T/multi" latest "$SRC/beam/python:multi" &&
	put "$T/amdsbom" amd "$SRC/beam/python@$AMD_SBOM" &&
	"$MKARTIFACT" --cosign beam/python "$INDEX" "$T/isig" sig >isig &&
	put "$T/isig" sig "$SRC/beam/python:sha256-${INDEX#sha256:}.sig" &&
	beampush -q copy "$SRC/beam/python:multi" "$DST/mirror/python:multi" >out &&
	test "$(cat out)" = "$INDEX" &&
	test "$(tag_of "$DST_ROOT" mirror/python "sha256-${INDEX#sha256:}.sig")" = "$(cat isig)" &&
	test "$(referrers_of "$DST" "$DST/mirror/python@$AMD")" = "$AMD_SBOM" &&
	start_mock --referrers-api && DST=$MOCK DST_ROOT=$MOCK_ROOT &&
	beampush -q --platform linux/amd64 copy "$SRC/beam/python:multi" "$DST/mirror/python:amd" >out &&
	test "$(cat out)" = "$AMD" &&
	test "$(referrers_of "$DST" "$DST/mirror/python:amd")" = "$AMD_SBOM" &&
	test ! -e "$DST_ROOT/repos/mirror/python/_tags/sha256-${INDEX#sha256:}.sig"
'

test_expect_success 'listed but no referrer (another subject), or not in the source: not carried, said' '
	start_mock && SRC=$MOCK &&
	start_mock --referrers-api && DST=$MOCK DST_ROOT=$MOCK_ROOT &&
	put "$IMG" latest "$SRC/beam/python:latest" &&
	put "$T/sbom" sbom "$SRC/beam/python@$SBOM" &&
	put "$T/stray" stray "$SRC/beam/python@$STRAY" &&
	put "$T/sigart" sigart "$SRC/beam/python@$SIGART" &&
	put_index "$SRC" beam/python "sha256-$HEX" "$(entry "$STRAY" "$STRAY_SIZE")" \
		"$(entry "$SIGART" "$SIGART_SIZE")" "$(entry "$SBOM" "$SBOM_SIZE")" &&
	beampush -q delete "$SRC/beam/python@$SIGART" >/dev/null &&
	beampush --progress plain copy "$SRC/beam/python:latest" "$DST/mirror/python:latest" >out 2>err &&
	test_grep -x "referrer ${STRAY:7:12} (listed): not carried: its manifest names $OTHER as subject, not $DIGEST" err &&
	test_grep -x "referrer ${SIGART:7:12} (listed): not carried: listed, but not in the source" err &&
	test "$(referrers_of "$DST" "$DST/mirror/python:latest")" = "$SBOM" &&
	test ! -e "$DST_ROOT/repos/mirror/python/_manifests/${STRAY#sha256:}"
'

test_expect_success 'the destination tag holds an image: not overwritten, exit 1, the copied image said' '
	start_mock --referrers-api && SRC=$MOCK &&
	start_mock && DST=$MOCK DST_ROOT=$MOCK_ROOT &&
	image_with_referrers "$SRC" &&
	put "$T/other" latest "$DST/mirror/python:sha256-$HEX" &&
	test_expect_code 1 beampush copy "$SRC/beam/python:latest" "$DST/mirror/python:latest" >out 2>err &&
	test_must_be_empty out &&
	test_grep -F "is copied ($DIGEST), its referrers are not: referrers of $DIGEST: destination $DST/mirror/python: tag sha256-$HEX: of media type $OCI_MANIFEST, not an image index: not overwritten" err &&
	test "$(tag_of "$DST_ROOT" mirror/python "sha256-$HEX")" = "$OTHER" &&
	test "$(tag_of "$DST_ROOT" mirror/python latest)" = "$DIGEST"
'

test_expect_success 'push --sign-key, copy, pull --verify-key on the destination: the signature came along' '
	start_mock && SRC=$MOCK &&
	start_mock && DST=$MOCK &&
	openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
		openssl pkcs8 -topk8 -nocrypt -out k.key &&
	openssl pkey -in k.key -pubout -out k.pub 2>/dev/null &&
	beampush -q push --from "oci:$IMG:latest" --sign-key k.key "$SRC/beam/python:latest" >/dev/null &&
	beampush -q copy "$SRC/beam/python:latest" "$DST/mirror/python:latest" >/dev/null &&
	beampush -q pull --verify-key k.pub --to "oci:$PWD/back:latest" "$DST/mirror/python:latest" >out &&
	test "$(cat out)" = "$DIGEST" &&
	beampush -q copy --no-referrers "$SRC/beam/python:latest" "$DST/bare/python:latest" >/dev/null &&
	test_expect_code 6 beampush -q pull --verify-key k.pub --to "oci:$PWD/bare:latest" \
		"$DST/bare/python:latest" 2>err &&
	test ! -e bare
'

test_expect_success '--no-referrers: the image and nothing else, nothing asked' '
	start_mock --referrers-api && SRC=$MOCK SRC_LOG=$MOCK_LOG &&
	start_mock --referrers-api && DST=$MOCK DST_ROOT=$MOCK_ROOT &&
	image_with_referrers "$SRC" &&
	mark=$(log_mark "$SRC_LOG") &&
	beampush -q copy --no-referrers "$SRC/beam/python:latest" "$DST/mirror/python:latest" >out &&
	test "$(cat out)" = "$DIGEST" &&
	log_since $mark "$SRC_LOG" >log &&
	test_no_grep -E "referrers/|sha256-" log &&
	test "$(ls "$DST_ROOT/repos/mirror/python/_tags")" = latest
'

test_expect_success 'copy --all-tags: cosign tags go with their images; a later signature follows a present tag' '
	start_mock --referrers-api && SRC=$MOCK SRC_LOG=$MOCK_LOG &&
	start_mock && DST=$MOCK DST_ROOT=$MOCK_ROOT DST_LOG=$MOCK_LOG &&
	image_with_referrers "$SRC" &&
	put "$T/other" latest "$SRC/beam/python:other" &&
	beampush -q --jobs 1 copy --all-tags "$SRC/beam/python" "$DST/mirror/python" >out &&
	printf "%s\n" "copied latest $DIGEST" "copied other $OTHER" >want && test_cmp want out &&
	test "$(tag_of "$DST_ROOT" mirror/python "sha256-$HEX.sig")" = "$COSIGN_SIG" &&
	test "$(stored_index "$DST_ROOT" mirror/python "sha256-$HEX" | sort)" = "$(printf "%s\n" "$SBOM" "$SIGART" | sort)" &&
	"$MKARTIFACT" --cosign beam/python "$OTHER" "$T/osig" sig >osig &&
	put "$T/osig" sig "$SRC/beam/python:sha256-${OTHER#sha256:}.sig" &&
	src_mark=$(log_mark "$SRC_LOG") &&
	beampush -q --jobs 1 copy --all-tags "$SRC/beam/python" "$DST/mirror/python" >out &&
	printf "%s\n" "present latest $DIGEST" "present other $OTHER" >want && test_cmp want out &&
	test "$(tag_of "$DST_ROOT" mirror/python "sha256-${OTHER#sha256:}.sig")" = "$(cat osig)" &&
	log_since $src_mark "$SRC_LOG" >src &&
	test "$(grep -c "^GET /v2/beam/python/referrers/" src)" = 5 &&
	test_no_grep -E "^GET /v2/beam/python/manifests/(latest|other|sha256-$HEX)" src &&
	beampush -q --jobs 1 copy --no-referrers --all-tags "$SRC/beam/python" "$DST/mirror/python" >out &&
	test_grep -x "present sha256-$HEX.sig $COSIGN_SIG" out
'

test_done
