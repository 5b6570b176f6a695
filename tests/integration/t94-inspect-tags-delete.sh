#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# beampush inspect, tags and delete: against the mock registry with token auth (pages, Link
# loops, 10 000 tags, a registry that forbids deletion, a corrupt config) and against the real
# registry (docker-registry, delete enabled and not).
. "$(dirname "$0")/lib.sh"
test_require_build

IMG=$T/img
DIGEST=$(make_image "$IMG" latest 3 20000) || test_fatal "mkimage failed"
CONFIG=$(image_blobs "$IMG" latest | head -n 1)

# An OCI index of two images (linux/amd64 and linux/arm64/v8) in one layout, tagged multi.
MULTI=$T/multi
AMD=$(make_image --seed 3 --arch amd64 "$MULTI" amd 2 3000) || test_fatal "mkimage failed"
ARM=$(make_image --seed 4 --arch arm64 "$MULTI" arm 2 3000) || test_fatal "mkimage failed"
mt=application/vnd.oci.image.manifest.v1+json
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"%s","digest":"%s","size":%s,"platform":{"architecture":"amd64","os":"linux"}},{"mediaType":"%s","digest":"%s","size":%s,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}}]}' \
	$mt "$AMD" "$(file_size "$(blob_path_layout "$MULTI" "$AMD")")" \
	$mt "$ARM" "$(file_size "$(blob_path_layout "$MULTI" "$ARM")")" >"$T/index.json.blob"
INDEX=$(sha256_of "$T/index.json.blob")
mv "$T/index.json.blob" "$(blob_path_layout "$MULTI" "$INDEX")"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"multi"}}]}' \
	"$INDEX" "$(file_size "$(blob_path_layout "$MULTI" "$INDEX")")" >"$MULTI/index.json"

# mock_with_image [MOCK-ARGS...]: a token mock (alice may do everything) holding $IMG as
# beam/python:latest.
mock_with_image() {
	start_mock --auth token --user alice:pw "$@" &&
	docker_auth "$MOCK" alice pw &&
	beampush -q push --from oci:$IMG:latest $MOCK/beam/python:latest >pushed &&
	test "$(cat pushed)" = "$DIGEST"
}

# --- inspect -------------------------------------------------------------------------------

test_expect_success 'inspect summarises an image: digest, platform, entrypoint, env, layers' '
	mock_with_image &&
	beampush inspect $MOCK/beam/python:latest >out 2>err &&
	test_grep -x "Name: *$MOCK/beam/python" out &&
	test_grep -x "Tag: *latest" out &&
	test_grep -x "Digest: *$DIGEST" out &&
	test_grep -x "MediaType: *application/vnd.oci.image.manifest.v1+json" out &&
	test_grep -x "Platform: *linux/amd64" out &&
	test_grep -x "Created: *2023-01-01T00:00:00Z" out &&
	test_grep -x "Entrypoint: */opt/apache/beam/boot" out &&
	test_grep -x "Env: *PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" out &&
	test_grep -x " *BEAM_SDK=python" out &&
	test_grep -x "WorkingDir: */" out &&
	test_grep -x "Labels: *org.apache.beam.sdk=python" out &&
	test_grep -x "Config: *$CONFIG  $(file_size $(blob_path_layout $IMG $CONFIG))  application/vnd.oci.image.config.v1+json" out &&
	test_grep -x "Layers: *3" out &&
	total=$(file_size $(blob_path_layout $IMG $CONFIG)) &&
	for d in $(image_blobs $IMG latest | tail -n +2); do
		size=$(file_size $(blob_path_layout $IMG $d)) &&
		total=$((total + size)) &&
		test_grep -x "  $d  $size  application/vnd.oci.image.layer.v1.tar+gzip" out || exit 1
	done &&
	test_grep -x "Size: *$total" out &&
	test_must_be_empty err
'

test_expect_success 'inspect --raw prints the manifest bytes, --config the config, both verified' '
	mock_with_image &&
	beampush inspect --raw $MOCK/beam/python:latest >raw &&
	test "$(sha256_of raw)" = "$DIGEST" &&
	cmp raw "$(blob_path_layout $IMG $DIGEST)" &&
	beampush inspect --config $MOCK/beam/python@$DIGEST >config &&
	test "$(sha256_of config)" = "$CONFIG" &&
	cmp config "$(blob_path_layout $IMG $CONFIG)"
'

test_expect_success 'inspect --format json (and --json) gives the same summary as JSON' '
	mock_with_image &&
	beampush inspect --format json $MOCK/beam/python:latest >out &&
	beampush inspect --json $MOCK/beam/python:latest >out2 &&
	test_cmp out out2 &&
	test_grep -F "\"Digest\":	\"$DIGEST\"" out &&
	test_grep -F "\"Entrypoint\":	[\"/opt/apache/beam/boot\"]" out &&
	test_grep -F "\"BEAM_SDK=python\"" out &&
	test_grep -F "\"digest\":	\"$CONFIG\"" out &&
	if command -v jq >/dev/null 2>&1; then
		test "$(jq -r .Digest out)" = "$DIGEST" &&
		test "$(jq -r ".Layers | length" out)" = 3
	fi
'

test_expect_success 'inspect of an index lists its platforms; --platform picks one' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush -q push --from oci:$MULTI:multi $MOCK/beam/python:multi >pushed &&
	test "$(cat pushed)" = "$INDEX" &&
	beampush inspect $MOCK/beam/python:multi >out &&
	test_grep -x "Digest: *$INDEX" out &&
	test_grep -x "MediaType: *application/vnd.oci.image.index.v1+json" out &&
	test_grep -x "Platforms: *2" out &&
	test_grep -E "^  linux/amd64  $AMD  [0-9]+  application/vnd.oci.image.manifest.v1\+json$" out &&
	test_grep -E "^  linux/arm64/v8  $ARM  [0-9]+  " out &&
	beampush inspect --raw $MOCK/beam/python:multi >raw &&
	test "$(sha256_of raw)" = "$INDEX" &&
	beampush --platform linux/arm64 inspect $MOCK/beam/python:multi >arm &&
	test_grep -x "Digest: *$ARM" arm &&
	test_grep -x "Index: *$INDEX" arm &&
	test_grep -x "Platform: *linux/arm64" arm &&
	beampush inspect --platform linux/arm64/v8 --raw $MOCK/beam/python:multi >armraw &&
	test "$(sha256_of armraw)" = "$ARM" &&
	beampush inspect --platform linux/amd64 --config $MOCK/beam/python:multi >amdcfg &&
	test_grep -F "\"architecture\":\"amd64\"" amdcfg
'

test_expect_success 'inspect --platform the index does not offer: exit 4 and what it offers' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	beampush -q push --from oci:$MULTI:multi $MOCK/beam/python:multi &&
	test_expect_code 4 beampush inspect --platform windows/amd64 $MOCK/beam/python:multi >out 2>err &&
	test_must_be_empty out &&
	test_line_count = 1 err &&
	test_grep -F "platform windows/amd64 not in index; it offers linux/amd64, linux/arm64/v8" err
'

test_expect_success 'inspect of a config whose bytes do not match its digest: exit 5' '
	mock_with_image &&
	flip_byte "$(blob_path_mock $CONFIG)" &&
	test_expect_code 5 beampush inspect --config $MOCK/beam/python:latest >out 2>err &&
	test_must_be_empty out &&
	test_grep -F "config $CONFIG: registry sent bytes that hash to" err &&
	test_expect_code 5 beampush inspect $MOCK/beam/python:latest >out 2>err &&
	test_must_be_empty out
'

test_expect_success 'inspect of a manifest whose Docker-Content-Digest lies: exit 5' '
	mock_with_image --fault digest-header-wrong &&
	test_expect_code 5 beampush inspect --raw $MOCK/beam/python:latest >out 2>err &&
	test_must_be_empty out &&
	test_grep -F "Docker-Content-Digest" err
'

test_expect_success 'inspect --raw prints a manifest of a type it does not know; a summary fails' '
	mock_with_image --fault manifest-unknown-type &&
	beampush inspect --raw $MOCK/beam/python:latest >raw &&
	test_grep -F "\"mediaType\":\"application/vnd.example.unknown+json\"" raw &&
	test_expect_code 1 beampush inspect $MOCK/beam/python:latest >out 2>err &&
	test_must_be_empty out &&
	test_grep -F "application/vnd.example.unknown+json" err
'

test_expect_success 'inspect of a tag or repository that does not exist: exit 4 naming it' '
	mock_with_image &&
	test_expect_code 4 beampush inspect $MOCK/beam/python:nope >out 2>err &&
	test_grep -F "manifest nope not found in $MOCK/beam/python" err &&
	test_expect_code 4 beampush inspect $MOCK/beam/java:latest 2>err &&
	test_grep -F "$MOCK/beam/java" err
'

test_expect_success 'inspect, tags, delete: usage errors exit 2, --help exits 0' '
	beampush inspect --help >out && test_grep -F -- "--raw" out && test_grep -F -- "--config" out &&
	beampush tags --help >out && test_grep "usage: beampush .* tags .*REPO" out &&
	beampush delete --help >out && test_grep "usage: beampush .* delete .*REF" out &&
	test_expect_code 2 beampush inspect 2>err && test_grep "expected one REF" err &&
	test_expect_code 2 beampush inspect --format xml x/y 2>err && test_grep -F "text or json" err &&
	test_expect_code 2 beampush inspect --raw --config x/y 2>err &&
	test_expect_code 2 beampush inspect --bogus x/y 2>err && test_grep "unknown option" err &&
	test_expect_code 2 beampush tags 2>err &&
	test_expect_code 2 beampush tags "Bad Repo" 2>err &&
	test_expect_code 2 beampush tags 127.0.0.1:1/beam/python:latest 2>err &&
	test_expect_code 2 beampush delete 2>err &&
	test_expect_code 2 beampush delete a/b c/d 2>err &&
	test_expect_code 2 beampush delete "a/b@sha256:xyz" 2>err &&
	beampush --help >out && test_grep "^  inspect " out && test_grep "^  tags " out &&
	test_grep "^  delete " out
'

# --- tags ----------------------------------------------------------------------------------

test_expect_success 'tags follows the Link pages and prints every tag in order' '
	mock_with_image --tags-page 2 &&
	for t in v1 v2 v3 v4; do
		beampush -q push --from oci:$IMG:latest $MOCK/beam/python:$t >/dev/null || exit 1
	done &&
	mark=$(log_mark) &&
	beampush tags $MOCK/beam/python >out 2>err &&
	printf "%s\n" latest v1 v2 v3 v4 >want &&
	test_cmp want out &&
	test_must_be_empty err &&
	log_since $mark >log &&
	test "$(grep -cE "^GET /v2/beam/python/tags/list(\?[^ ]*)? 200 auth=bearer:alice " log)" = 3 &&
	test_grep -E "^GET /v2/beam/python/tags/list\?last=v1&n=2 200 " log &&
	test_grep -E "^GET /v2/beam/python/tags/list\?last=v3&n=2 200 " log
'

test_expect_success 'tags lists 10 000 tags (one page, and 20 pages of 500)' '
	mock_with_image --fault many-tags &&
	beampush tags $MOCK/beam/python >out &&
	{ echo latest; seq -f "t%05g" 0 9999; } >want &&
	test_cmp want out &&
	start_mock --auth token --user alice:pw --fault many-tags --tags-page 500 &&
	docker_auth "$MOCK" alice pw &&
	beampush -q push --from oci:$IMG:latest $MOCK/beam/python:latest >/dev/null &&
	beampush tags $MOCK/beam/python >out2 &&
	test_cmp want out2 &&
	test "$(count_log "^GET /v2/beam/python/tags/list")" -ge 21
'

test_expect_success 'tags stops on a Link loop with a clear message, exit 1, nothing printed' '
	mock_with_image --fault link-loop &&
	test_expect_code 1 beampush tags $MOCK/beam/python >out 2>err &&
	test_must_be_empty out &&
	test_line_count = 1 err &&
	test_grep -F "Link header loops back to a page already listed" err &&
	test "$(count_log "^GET /v2/beam/python/tags/list")" = 1 &&
	start_mock --auth token --user alice:pw --fault link-loop --tags-page 1 &&
	docker_auth "$MOCK" alice pw &&
	beampush -q push --from oci:$IMG:latest $MOCK/beam/python:latest >/dev/null &&
	beampush -q push --from oci:$IMG:latest $MOCK/beam/python:v1 >/dev/null &&
	test_expect_code 1 beampush tags $MOCK/beam/python >out 2>err &&
	test_must_be_empty out &&
	test_grep -F "loops back" err &&
	test "$(count_log "^GET /v2/beam/python/tags/list")" = 2
'

test_expect_success 'tags follows an absolute Link to its own registry, not one to another origin' '
	mock_with_image --tags-page 1 --fault link-absolute &&
	beampush -q push --from oci:$IMG:latest $MOCK/beam/python:v1 >/dev/null &&
	beampush tags $MOCK/beam/python >out &&
	printf "%s\n" latest v1 >want &&
	test_cmp want out &&
	test "$(count_log "^GET /v2/beam/python/tags/list\?last=latest&n=1 200 ")" = 1 &&
	start_mock --auth token --user alice:pw --tags-page 1 --fault link-foreign &&
	docker_auth "$MOCK" alice pw &&
	beampush -q push --from oci:$IMG:latest $MOCK/beam/python:latest >/dev/null &&
	beampush -q push --from oci:$IMG:latest $MOCK/beam/python:v1 >/dev/null &&
	test_expect_code 1 beampush tags $MOCK/beam/python >out 2>err &&
	test_must_be_empty out &&
	test_grep -F "Link header leads to another server" err &&
	test "$(count_log "^GET /v2/beam/python/tags/list")" = 1
'

test_expect_success 'tags of a repository that does not exist: exit 4 naming it' '
	mock_with_image &&
	test_expect_code 4 beampush tags $MOCK/beam/nothing >out 2>err &&
	test_must_be_empty out &&
	test_grep -F "repository $MOCK/beam/nothing not found" err
'

# --- delete --------------------------------------------------------------------------------

test_expect_success 'delete by tag deletes the manifest by digest; a pull then finds nothing' '
	mock_with_image &&
	beampush -q push --from oci:$IMG:latest $MOCK/beam/python:v1 >/dev/null &&
	mark=$(log_mark) &&
	beampush delete $MOCK/beam/python:latest >out 2>err &&
	echo "Deleted: $MOCK/beam/python@$DIGEST" >want &&
	test_cmp want out &&
	log_since $mark >log &&
	test_grep -E "^DELETE /v2/beam/python/manifests/$DIGEST 202 auth=bearer:alice " log &&
	test_no_grep -E "^DELETE /v2/beam/python/manifests/latest " log &&
	test_expect_code 4 beampush pull --to oci:$PWD/pulled:latest $MOCK/beam/python:latest 2>err &&
	test_grep -F "not found" err &&
	test_expect_code 4 beampush inspect $MOCK/beam/python:v1 2>err &&
	test ! -e pulled/index.json
'

test_expect_success 'delete by digest; delete of a missing tag or digest: exit 4' '
	mock_with_image &&
	beampush -q delete $MOCK/beam/python@$DIGEST >out &&
	echo "$DIGEST" >want &&
	test_cmp want out &&
	test ! -e "$MOCK_ROOT/repos/beam/python/_manifests/${DIGEST#sha256:}" &&
	test_expect_code 4 beampush delete $MOCK/beam/python@$DIGEST 2>err &&
	test_grep -F "not found" err &&
	test_expect_code 4 beampush delete $MOCK/beam/python:latest 2>err &&
	test_grep -F "manifest latest not found in $MOCK/beam/python" err
'

test_expect_success 'delete where the registry forbids it (--no-delete): exit 1, the hint' '
	mock_with_image --no-delete &&
	test_expect_code 1 beampush delete $MOCK/beam/python:latest >out 2>err &&
	test_must_be_empty out &&
	test_line_count = 1 err &&
	test_grep -F "registry forbids deletion (docker-registry: set REGISTRY_STORAGE_DELETE_ENABLED=true)" err &&
	test "$(count_log "^DELETE /v2/beam/python/manifests/$DIGEST 405 ")" = 1 &&
	beampush inspect --raw $MOCK/beam/python:latest >raw &&
	test "$(sha256_of raw)" = "$DIGEST"
'

test_expect_success 'delete without the delete right: exit 3, nothing deleted' '
	mock_with_image --user bob:pw2:pull,push &&
	docker_auth "$MOCK" bob pw2 &&
	test_expect_code 3 beampush delete $MOCK/beam/python:latest >out 2>err &&
	test_must_be_empty out &&
	test_no_grep -F "pw2" err &&
	test "$(count_log "^DELETE .* 202 ")" = 0 &&
	test -e "$MOCK_ROOT/repos/beam/python/_manifests/${DIGEST#sha256:}"
'

# --- the real registry ---------------------------------------------------------------------

test_expect_success REGISTRY 'docker-registry: inspect, tags, delete by tag' '
	start_registry &&
	no_docker_auth &&
	for t in latest v1 v2; do
		beampush -q push --from oci:$IMG:latest $REG/beam/python:$t >/dev/null || exit 1
	done &&
	beampush inspect --raw $REG/beam/python:v1 >raw &&
	test "$(sha256_of raw)" = "$DIGEST" &&
	beampush inspect $REG/beam/python:v1 >out &&
	test_grep -x "Digest: *$DIGEST" out &&
	beampush tags $REG/beam/python >out &&
	printf "%s\n" latest v1 v2 >want &&
	test_cmp want out &&
	beampush delete $REG/beam/python:v1 >out &&
	test_grep -x "Deleted: $REG/beam/python@$DIGEST" out &&
	test_expect_code 4 beampush inspect $REG/beam/python:v2 2>err &&
	beampush tags $REG/beam/python >out &&
	test_must_be_empty out &&
	test_expect_code 4 beampush tags $REG/beam/nothing 2>err &&
	test_grep -F "repository $REG/beam/nothing not found" err
'

test_expect_success REGISTRY 'docker-registry with deletion disabled: exit 1, the hint' '
	REGISTRY_STORAGE_DELETE_ENABLED=false &&
	export REGISTRY_STORAGE_DELETE_ENABLED &&
	start_registry &&
	no_docker_auth &&
	beampush -q push --from oci:$IMG:latest $REG/beam/python:latest >/dev/null &&
	test_expect_code 1 beampush delete $REG/beam/python:latest >out 2>err &&
	test_must_be_empty out &&
	test_grep -F "registry forbids deletion (docker-registry: set REGISTRY_STORAGE_DELETE_ENABLED=true)" err &&
	beampush inspect --raw $REG/beam/python:latest >raw &&
	test "$(sha256_of raw)" = "$DIGEST"
'

test_done
