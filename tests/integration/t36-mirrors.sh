#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Mirrors: registries.conf's [[registry.mirror]] and containerd's hosts.toml. Two mocks, the
# origin (alice's) and a mirror (bob's), each logging who asked for what: reads go to the
# mirror first and to the origin last, push never goes to a mirror, every byte from a mirror
# is verified, a mirror that fails is skipped with one line, and no host sees another's
# credentials.
. "$(dirname "$0")/lib.sh"
test_require_build

IMG=$T/img
DIGEST=$(make_image "$IMG" latest 2 20000) || test_fatal "mkimage failed"
CONFIG_DIGEST=$(image_blobs "$IMG" latest | head -n 1)
LAYER=$(image_blobs "$IMG" latest | sed -n 2p)

start_mock --auth basic --user alice:pw || test_fatal "cannot start the origin"
ORIGIN=$MOCK ORIGIN_LOG=$MOCK_LOG ORIGIN_ROOT=$MOCK_ROOT
start_mock --auth basic --user bob:pw2 || test_fatal "cannot start the mirror"
MIRROR=$MOCK MIRROR_LOG=$MOCK_LOG MIRROR_ROOT=$MOCK_ROOT
docker_auth "$ORIGIN" alice pw "$MIRROR" bob pw2
# the origin holds the image as beam/python, the mirror as hub/beam/python and beam/python
beampush -q push --from "oci:$IMG:latest" "$ORIGIN/beam/python:latest" >/dev/null &&
beampush -q push --from "oci:$IMG:latest" "$MIRROR/hub/beam/python:latest" >/dev/null &&
beampush -q push --from "oci:$IMG:latest" "$MIRROR/beam/python:latest" >/dev/null ||
	test_fatal "cannot push the image"
CONF=$XDG_CONFIG_HOME/containers/registries.conf
mkdir -p "$(dirname "$CONF")"

# conf_mirror [KEY = VALUE ...]: the origin's [[registry]] with one mirror, $MIRROR/hub, given
# the extra lines.
conf_mirror() {
	{
		printf '[[registry]]\nlocation = "%s"\n\n[[registry.mirror]]\nlocation = "%s/hub"\n' \
			"$ORIGIN" "$MIRROR"
		for l in "$@"; do
			printf '%s\n' "$l"
		done
	} >"$CONF"
}

# start_slow_mock MS: a mock that waits MS ms before every answer (start_mock would give up
# waiting for it): $MSLOW. Stopped with the scenario.
start_slow_mock() {
	local dir=$T/slow-$RANDOM i=0
	mkdir -p "$dir"
	"$MOCK_REGISTRY" --root "$dir" --port 0 --port-file "$dir/port" --slow "$1" \
		</dev/null >"$dir/out" 2>&1 &
	echo "$! slow-mock" >>"$T/.servers"
	while [ ! -s "$dir/port" ] && [ $i -lt 200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	[ -s "$dir/port" ] && MSLOW=127.0.0.1:$(tr -d " \n" <"$dir/port")
}

# hosts_toml HOST TEXT: $BEAMPUSH_HOSTS_D/HOST/hosts.toml holds TEXT (and nothing else does).
hosts_toml() {
	rm -rf "$BEAMPUSH_HOSTS_D"
	mkdir -p "$BEAMPUSH_HOSTS_D/$1"
	printf '%s\n' "$2" >"$BEAMPUSH_HOSTS_D/$1/hosts.toml"
}

# marks: remember where both logs stand; origin_since / mirror_since: what came after.
marks() {
	OM=$(log_mark "$ORIGIN_LOG") MM=$(log_mark "$MIRROR_LOG")
}
origin_since() {
	log_since "$OM" "$ORIGIN_LOG"
}
mirror_since() {
	log_since "$MM" "$MIRROR_LOG"
}

# blob_gets LOG DIGEST: how many blob GETs of DIGEST the log holds.
blob_gets() {
	grep -cE "^GET /v2/[^ ]*/blobs/$2[ ?]" "$1" || true
}

# mirror_lines FILE: the lines beampush printed about mirrors it skipped.
mirror_lines() {
	grep -E "^beampush: mirror " "$1" || true
}

test_expect_success 'registries.conf: a pull by digest comes from the mirror; the origin sees no request' '
	conf_mirror &&
	marks &&
	beampush --progress none pull --to oci:$PWD/lay:v "$ORIGIN/beam/python@$DIGEST" >o.txt 2>err &&
	test_same_image "$IMG" lay v "$DIGEST" &&
	test_must_be_empty err &&
	origin_since >olog && mirror_since >mlog &&
	test_must_be_empty olog &&
	test_grep -E "^GET /v2/hub/beam/python/manifests/$DIGEST 200 auth=basic:bob " mlog &&
	for d in $(image_blobs "$IMG" latest); do
		test_grep -E "^GET /v2/hub/beam/python/blobs/$d 200 auth=basic:bob " mlog || exit 1
	done &&
	test_no_grep alice mlog
'

test_expect_success 'pull-from-mirror: all answers a tag; digest-only leaves a pull by tag to the origin; tag-only a pull by digest' '
	conf_mirror &&
	marks &&
	beampush -q pull --to oci:$PWD/a:v "$ORIGIN/beam/python:latest" >/dev/null &&
	test_same_image "$IMG" a v "$DIGEST" &&
	origin_since >olog && mirror_since >mlog &&
	test_must_be_empty olog &&
	test_grep -E "^GET /v2/hub/beam/python/manifests/latest 200 auth=basic:bob" mlog &&

	conf_mirror "pull-from-mirror = \"digest-only\"" &&
	marks &&
	beampush -q pull --to oci:$PWD/d:v "$ORIGIN/beam/python:latest" >/dev/null &&
	test_same_image "$IMG" d v "$DIGEST" &&
	origin_since >olog && mirror_since >mlog &&
	test_must_be_empty mlog &&
	test_grep -E "^GET /v2/beam/python/manifests/latest 200 auth=basic:alice" olog &&
	test "$(blob_gets olog "$LAYER")" = 1 &&
	marks &&
	beampush -q pull --to oci:$PWD/d2:v "$ORIGIN/beam/python@$DIGEST" >/dev/null &&
	origin_since >olog && test_must_be_empty olog &&

	conf_mirror "pull-from-mirror = \"tag-only\"" &&
	marks &&
	beampush -q pull --to oci:$PWD/t:v "$ORIGIN/beam/python@$DIGEST" >/dev/null &&
	test_same_image "$IMG" t v "$DIGEST" &&
	mirror_since >mlog && test_must_be_empty mlog &&
	printf "[[registry]]\nlocation = \"%s\"\nmirror-by-digest-only = true\nmirror = [{ location = \"%s/hub\" }]\n" \
		"$ORIGIN" "$MIRROR" >"$CONF" &&
	marks &&
	beampush -q pull --to oci:$PWD/m:v "$ORIGIN/beam/python:latest" >/dev/null &&
	mirror_since >mlog && test_must_be_empty mlog
'

test_expect_success 'the origin down: a pull by digest succeeds from the mirror; a pull by tag that only the origin may answer fails clearly' '
	start_mock --auth basic --user alice:pw &&
	DEAD=$MOCK &&
	_bp_stop_pid "$MOCK_PID" 5 &&
	printf "[[registry]]\nprefix = \"origin.example/beam\"\nlocation = \"%s/beam\"\n[[registry.mirror]]\nlocation = \"%s/hub/beam\"\npull-from-mirror = \"digest-only\"\n" \
		"$DEAD" "$MIRROR" >"$CONF" &&
	beampush --progress none pull --to oci:$PWD/lay:v "origin.example/beam/python@$DIGEST" >o.txt 2>err &&
	test_same_image "$IMG" lay v "$DIGEST" &&
	test_grep -Fx "location: $DEAD/beam/python@$DIGEST" o.txt &&
	test_must_be_empty err &&
	beampush -q inspect --raw "origin.example/beam/python@$DIGEST" >raw &&
	test "sha256:$(sha256sum <raw | cut -d" " -f1)" = "$DIGEST" &&
	test_expect_code 1 beampush pull --to oci:$PWD/tag:v origin.example/beam/python:latest 2>err &&
	test_grep -F "$DEAD" err &&
	test_no_grep "^beampush: mirror " err
'

test_expect_success 'a mirror that sends a wrong byte is skipped for that blob, with one line; the origin sends it' '
	conf_mirror &&
	cp "$(blob_path_mock "$LAYER")" "$T/layer.good" &&
	flip_byte "$MIRROR_ROOT/blobs/sha256/${LAYER#sha256:}" &&
	marks &&
	rc=0 &&
	beampush --progress none pull --to oci:$PWD/lay:v "$ORIGIN/beam/python@$DIGEST" >o.txt 2>err ||
		rc=$? &&
	cp "$T/layer.good" "$MIRROR_ROOT/blobs/sha256/${LAYER#sha256:}" &&
	test $rc = 0 &&
	test_same_image "$IMG" lay v "$DIGEST" &&
	mirror_lines err >lines &&
	cat lines &&
	test_line_count = 1 lines &&
	test_grep -E "^beampush: mirror $MIRROR: blob $LAYER: .*; trying $ORIGIN\$" lines &&
	origin_since >olog &&
	test "$(blob_gets olog "$LAYER")" = 1 &&
	test "$(grep -c "/blobs/" olog)" = 1 &&
	test_grep -E "^GET /v2/beam/python/blobs/$LAYER 200 auth=basic:alice" olog &&
	test_no_grep bob olog
'

test_expect_success 'a mirror that answers 503, one that loops redirects, one that does not answer in time: skipped, the origin serves' '
	start_mock --auth none --status-fault "GET:/blobs/:503:0" &&
	M503=$MOCK M503_LOG=$MOCK_LOG &&
	beampush -q push --from "oci:$IMG:latest" "$M503/hub/beam/python:latest" >/dev/null &&
	start_mock --auth none --fault blob-redirect-loop &&
	MLOOP=$MOCK &&
	beampush -q push --from "oci:$IMG:latest" "$MLOOP/hub/beam/python:latest" >/dev/null &&
	start_slow_mock 4000 &&
	printf "[[registry]]\nlocation = \"%s\"\n" "$ORIGIN" >"$CONF" &&
	for m in "$M503" "$MLOOP" "$MSLOW"; do
		printf "[[registry.mirror]]\nlocation = \"%s/hub\"\n" "$m" >>"$CONF" || exit 1
	done &&
	marks &&
	m503=$(log_mark "$M503_LOG") &&
	start=$(date +%s) &&
	BEAMPUSH_MIRROR_TIMEOUT=1 beampush --progress none pull --to oci:$PWD/lay:v \
		"$ORIGIN/beam/python@$DIGEST" >o.txt 2>err &&
	end=$(date +%s) &&
	test_same_image "$IMG" lay v "$DIGEST" &&
	mirror_lines err >lines &&
	cat lines &&
	test "$(grep -c "^beampush: mirror $M503: blob sha256:[0-9a-f]*: registry answered 503 .*; trying mirror $MLOOP\$" lines)" = 3 &&
	test "$(grep -c "^beampush: mirror $MLOOP: blob .*: more than 10 redirects; trying " lines)" = 3 &&
	test "$(grep -c "^beampush: mirror $MSLOW: .*not asked again; trying $ORIGIN\$" lines)" = 1 &&
	test_line_count = 7 lines &&
	test $((end - start)) -lt 10 &&
	log_since "$m503" "$M503_LOG" >log503 &&
	test "$(blob_gets log503 "$LAYER")" = 1 &&
	origin_since >olog &&
	for d in $(image_blobs "$IMG" latest); do
		test "$(blob_gets olog "$d")" = 1 || exit 1
	done
'

test_expect_success 'push, delete and tags never go to a mirror' '
	conf_mirror &&
	make_image "$T/img2" latest 1 5000 >/dev/null &&
	marks &&
	beampush -q push --from "oci:$T/img2:latest" "$ORIGIN/beam/python:2.60" >/dev/null &&
	beampush tags "$ORIGIN/beam/python" >tags &&
	test_grep -Fx 2.60 tags &&
	beampush -q delete "$ORIGIN/beam/python:2.60" >/dev/null &&
	mirror_since >mlog &&
	test_must_be_empty mlog &&
	origin_since >olog &&
	test_grep -E "^PUT /v2/beam/python/manifests/2.60 201" olog &&
	test_grep -E "^DELETE /v2/beam/python/manifests/" olog
'

test_expect_success 'copy reads its source through the mirror and writes the destination only; referrers come from the registry' '
	conf_mirror &&
	start_mock --auth none &&
	DST=$MOCK DST_LOG=$MOCK_LOG &&
	marks &&
	beampush -q copy --no-referrers "$ORIGIN/beam/python@$DIGEST" "$DST/beam/copied:1" >o.txt &&
	test_grep -Fx "$DIGEST" o.txt &&
	origin_since >olog && test_must_be_empty olog &&
	mirror_since >mlog &&
	test_grep -E "^GET /v2/hub/beam/python/blobs/$LAYER 200 auth=basic:bob" mlog &&
	test_no_grep -E "^(PUT|POST|PATCH) " mlog &&
	test_grep -E "^PUT /v2/beam/copied/manifests/1 201" "$DST_LOG" &&
	# the referrers are asked of the registry itself: a HEAD for each of cosign tags, the
	# referrers API, the referrers tag; no manifest or blob comes from it
	marks &&
	beampush -q copy "$ORIGIN/beam/python@$DIGEST" "$DST/beam/copied:2" >o.txt &&
	origin_since | grep -v "^GET /v2/ " >olog &&
	test_line_count = 5 olog &&
	test "$(grep -cE "^HEAD /v2/beam/python/manifests/sha256-${DIGEST#sha256:}(\.sig|\.att|\.sbom)? 404 " olog)" = 4 &&
	test_grep -E "^GET /v2/beam/python/referrers/$DIGEST 404 " olog
'

test_expect_success 'copy --all-tags: tags listed and resolved on the origin, the images read through the mirror' '
	conf_mirror &&
	start_mock --auth none &&
	DST=$MOCK DST_LOG=$MOCK_LOG &&
	marks &&
	beampush -q copy --all-tags "$ORIGIN/beam/python" "$DST/beam/all" >o.txt 2>err &&
	origin_since >olog && mirror_since >mlog &&
	test_grep -E "^GET /v2/beam/python/tags/list" olog &&
	test_grep -E "^HEAD /v2/beam/python/manifests/latest 200" olog &&
	test_no_grep -E "/blobs/|^GET /v2/beam/python/manifests/" olog &&
	test_grep -E "^GET /v2/hub/beam/python/manifests/$DIGEST 200 auth=basic:bob" mlog &&
	test_grep -E "^GET /v2/hub/beam/python/blobs/$LAYER 200 auth=basic:bob" mlog &&
	test_no_grep -E "tags/list" mlog &&
	test_grep -E "^PUT /v2/beam/all/manifests/latest 201" "$DST_LOG"
'

test_expect_success 'hosts.toml: a pull-only mirror serves content with ns=, the tag is resolved at the origin' '
	rm -f "$CONF" &&
	hosts_toml "$ORIGIN" "[host.\"http://$MIRROR\"]
  capabilities = [\"pull\"]
  [host.\"http://$MIRROR\".header]
    X-Beampush-Test = \"mirror\"" &&
	marks &&
	beampush --progress none pull --to oci:$PWD/lay:v "$ORIGIN/beam/python:latest" >o.txt 2>err &&
	test_same_image "$IMG" lay v "$DIGEST" &&
	test_must_be_empty err &&
	origin_since >olog && mirror_since >mlog &&
	test_grep -E "^GET /v2/beam/python/manifests/latest 200 auth=basic:alice" olog &&
	test_no_grep /blobs/ olog &&
	ns=$(printf %s "$ORIGIN" | sed "s/:/%3A/") &&
	for d in $(image_blobs "$IMG" latest); do
		test_grep -E "^GET /v2/beam/python/blobs/$d\?ns=$ns 200 auth=basic:bob" mlog || exit 1
	done &&
	test_no_grep alice mlog && test_no_grep bob olog
'

test_expect_success 'hosts.toml: resolve lets the mirror answer the tag; with no server the origin is last' '
	hosts_toml "$ORIGIN" "[host.\"$MIRROR\"]
  capabilities = [\"pull\", \"resolve\"]
  skip_verify = true" &&
	marks &&
	beampush -q pull --to oci:$PWD/lay:v "$ORIGIN/beam/python:latest" >/dev/null 2>err &&
	mirror_lines err >lines &&
	test_line_count = 1 lines &&
	test_grep -E "^beampush: mirror $MIRROR: manifest latest: .*; not asked again; trying $ORIGIN\$" lines &&
	test_same_image "$IMG" lay v "$DIGEST" &&
	hosts_toml "$ORIGIN" "[host.\"http://$MIRROR\"]
  capabilities = [\"pull\", \"resolve\"]" &&
	marks &&
	beampush -q pull --to oci:$PWD/out2:v "$ORIGIN/beam/python:latest" >/dev/null 2>err &&
	test_must_be_empty err &&
	origin_since >olog && test_must_be_empty olog &&
	mirror_since >mlog &&
	test_grep -E "^GET /v2/beam/python/manifests/latest\?ns=[^ ]* 200 auth=basic:bob" mlog &&
	mkdir -p "$BEAMPUSH_HOSTS_D/_default" &&
	mv "$BEAMPUSH_HOSTS_D/$ORIGIN/hosts.toml" "$BEAMPUSH_HOSTS_D/_default/" &&
	marks &&
	beampush -q pull --to oci:$PWD/out3:v "$ORIGIN/beam/python@$DIGEST" >/dev/null &&
	origin_since >olog && test_must_be_empty olog
'

test_expect_success 'hosts.toml: server names the registry to read from instead' '
	start_mock --auth none &&
	OTHER=$MOCK &&
	beampush -q push --from "oci:$IMG:latest" "$OTHER/beam/python:latest" >/dev/null &&
	hosts_toml "$ORIGIN" "server = \"http://$OTHER\"" &&
	marks &&
	beampush -q pull --to oci:$PWD/lay:v "$ORIGIN/beam/python:latest" >/dev/null &&
	test_same_image "$IMG" lay v "$DIGEST" &&
	origin_since >olog && test_must_be_empty olog &&
	test_grep -E "^GET /v2/beam/python/manifests/latest\?ns=[^ ]* 200" "$MOCK_LOG"
'

test_expect_success 'hosts.toml: an https mirror with its own CA and client certificate (ca, client, relative to the file)' '
	rm -f "$CONF" &&
	PKI=$T/pki &&
	make_tls_certs "$PKI" &&
	start_mock --auth none --tls-cert "$PKI/server.crt" --tls-key "$PKI/server.key" \
		--tls-client-ca "$PKI/client-ca.crt" &&
	TLSM=$MOCK TLSM_LOG=$MOCK_LOG &&
	mkdir -p "certs/$TLSM" &&
	cp "$PKI/ca.crt" "$PKI/client.cert" "$PKI/client.key" "certs/$TLSM/" &&
	BEAMPUSH_CERTS_D=$PWD/certs beampush -q push --from "oci:$IMG:latest" \
		"$TLSM/beam/python:latest" >/dev/null &&
	hosts_toml "$ORIGIN" "[host.\"https://$TLSM\"]
  capabilities = [\"pull\"]
  ca = \"mirror-ca.crt\"
  client = [[\"c.cert\", \"c.key\"]]" &&
	cp "$PKI/ca.crt" "$BEAMPUSH_HOSTS_D/$ORIGIN/mirror-ca.crt" &&
	cp "$PKI/client.cert" "$BEAMPUSH_HOSTS_D/$ORIGIN/c.cert" &&
	cp "$PKI/client.key" "$BEAMPUSH_HOSTS_D/$ORIGIN/c.key" &&
	marks &&
	tm=$(log_mark "$TLSM_LOG") &&
	beampush --progress none pull --to oci:$PWD/lay:v "$ORIGIN/beam/python@$DIGEST" >o.txt 2>err &&
	test_must_be_empty err &&
	test_same_image "$IMG" lay v "$DIGEST" &&
	origin_since >olog && test_must_be_empty olog &&
	log_since "$tm" "$TLSM_LOG" >tlog &&
	test_grep -E "^GET /v2/beam/python/blobs/$LAYER\?ns=[^ ]* 200" tlog &&
	hosts_toml "$ORIGIN" "[host.\"https://$TLSM\"]
  capabilities = [\"pull\"]
  ca = \"$PKI/ca.crt\"" &&
	beampush --progress none pull --to oci:$PWD/lay2:v "$ORIGIN/beam/python@$DIGEST" >o.txt 2>err &&
	test_same_image "$IMG" lay2 v "$DIGEST" &&
	mirror_lines err >lines &&
	cat lines &&
	test_line_count = 1 lines &&
	test_grep -E "^beampush: mirror $TLSM: manifest $DIGEST: .*not asked again; trying $ORIGIN\$" lines
'

test_expect_success 'bad input: a hosts.toml or registries.conf that does not parse, a scheme beampush does not speak: exit 2 naming file:line, no request' '
	rm -f "$CONF" &&
	hosts_toml "$ORIGIN" "[host.\"http://$MIRROR\"]
capabilities = [\"pull\"
" &&
	marks &&
	test_expect_code 2 beampush pull --to oci:$PWD/x:v "$ORIGIN/beam/python:latest" 2>err &&
	test_grep -F "$BEAMPUSH_HOSTS_D/$ORIGIN/hosts.toml:2: the array that starts here is not closed" err &&
	hosts_toml "$ORIGIN" "
[host.\"gopher://$MIRROR\"]" &&
	test_expect_code 2 beampush pull --to oci:$PWD/x:v "$ORIGIN/beam/python:latest" 2>err &&
	test_grep -F "hosts.toml:2: \"gopher://$MIRROR\": scheme gopher is not one beampush speaks (http, https)" err &&
	test_expect_code 2 beampush -q push --from "oci:$IMG:latest" "$ORIGIN/beam/python:x" 2>err &&
	test_grep -F "scheme gopher" err &&
	rm -rf "$BEAMPUSH_HOSTS_D" &&
	conf_mirror "pull-from-mirror = \"sometimes\"" &&
	test_expect_code 2 beampush pull --to oci:$PWD/x:v "$ORIGIN/beam/python:latest" 2>err &&
	test_grep -F "$CONF:6: pull-from-mirror \"sometimes\" is not all, digest-only or tag-only" err &&
	printf "[[registry]]\nlocation = \"%s\"\n[[registry.mirror]]\nlocation = \"http://%s\"\n" \
		"$ORIGIN" "$MIRROR" >"$CONF" &&
	test_expect_code 2 beampush pull --to oci:$PWD/x:v "$ORIGIN/beam/python:latest" 2>err &&
	test_grep -F "$CONF:3: mirror location \"http://$MIRROR\" has a scheme" err &&
	origin_since >olog && mirror_since >mlog &&
	test_must_be_empty olog && test_must_be_empty mlog &&
	test ! -e x
'

test_done
