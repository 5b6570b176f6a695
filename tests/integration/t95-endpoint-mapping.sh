#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Endpoint mapping: config.json and registries.conf send a name (the Beam page's
# $USER-docker-apache.bintray.io/beam) to another registry, here the mock.
. "$(dirname "$0")/lib.sh"
test_require_build

IMG=$T/img
DIGEST=$(make_image "$IMG" latest 2 20000) || test_fatal "mkimage failed"
BEAM=alice-docker-apache.bintray.io/beam
unset BEAMPUSH_CONFIG CONTAINERS_REGISTRIES_CONF

# fresh_config: an empty $XDG_CONFIG_HOME of this scenario's own.
fresh_config() {
	XDG_CONFIG_HOME=$PWD/xdg
	export XDG_CONFIG_HOME
	mkdir -p "$XDG_CONFIG_HOME/beampush" "$XDG_CONFIG_HOME/containers"
}

# beampush_json FILE ENTRIES: a beampush config.json with the given registries array body.
beampush_json() {
	mkdir -p "$(dirname "$1")" &&
	printf '{\n  "registries": [\n%s\n  ]\n}\n' "$2" >"$1"
}

test_expect_success 'config.json: the Beam name lands in the mock as beam/python, pulled back verified' '
	start_mock --auth none &&
	no_docker_auth &&
	fresh_config &&
	beampush_json $XDG_CONFIG_HOME/beampush/config.json \
		"    {\"prefix\": \"$BEAM\", \"location\": \"$MOCK/beam\", \"insecure\": true}" &&
	m=$(log_mark) &&
	beampush --progress none push --from oci:$IMG:latest $BEAM/python:latest >out &&
	cat out &&
	test_grep -Fx "pushed $BEAM/python:latest" out &&
	test_grep -Fx "location: $MOCK/beam/python:latest" out &&
	test_grep -Fx "pinned: $MOCK/beam/python@$DIGEST" out &&
	log_since $m >log &&
	test_grep -E "PUT /v2/beam/python/manifests/latest " log &&
	test_no_grep -E "bintray|/v2/alice" log &&
	for d in $(image_blobs $IMG latest); do
		cmp "$(blob_path_layout $IMG $d)" "$(blob_path_mock $d)" || exit 1
	done &&
	beampush --debug --progress none pull --to oci:$PWD/pulled:latest $BEAM/python:latest >out 2>err &&
	test_grep -Fx "pulled $BEAM/python:latest" out &&
	test_grep -Fx "location: $MOCK/beam/python:latest" out &&
	test_grep -F "debug: pull: $BEAM/python:latest maps to $MOCK/beam/python:latest ($XDG_CONFIG_HOME/beampush/config.json:3)" err &&
	test_grep -Fx "digest: $DIGEST" out &&
	test_same_image $IMG pulled latest "$DIGEST"
'

test_expect_success 'registries.conf: [[registry]] prefix/location, other top-level keys and tables ignored' '
	start_mock --auth none &&
	no_docker_auth &&
	fresh_config &&
	mkdir -p $XDG_CONFIG_HOME/containers &&
	cat >$XDG_CONFIG_HOME/containers/registries.conf <<-CONF &&
	# as podman reads it
	unqualified-search-registries = ["docker.io", "quay.io"]
	short-name-mode = "enforcing"

	[[registry]]
	prefix = "$BEAM"
	location = "$MOCK/mirror/beam"   # another path on the mock
	insecure = true

	[aliases]
	  "python" = "docker.io/library/python"
	CONF
	m=$(log_mark) &&
	beampush --progress none push --from oci:$IMG:latest $BEAM/python:2.60.0 >out &&
	test_grep -Fx "pinned: $MOCK/mirror/beam/python@$DIGEST" out &&
	log_since $m >log &&
	test_grep -E "PUT /v2/mirror/beam/python/manifests/2.60.0 " log &&
	test_no_grep -E "/v2/alice" log &&
	beampush --progress none pull --to oci:$PWD/pulled:v $BEAM/python@$DIGEST >out &&
	test_same_image $IMG pulled v "$DIGEST"
'

test_expect_success 'config.json comes before registries.conf; the longest prefix wins' '
	start_mock --auth none &&
	no_docker_auth &&
	fresh_config &&
	beampush_json $XDG_CONFIG_HOME/beampush/config.json \
		"    {\"prefix\": \"$BEAM\", \"location\": \"$MOCK/json\"},
    {\"prefix\": \"$BEAM/go\", \"location\": \"$MOCK/json-go\"}" &&
	mkdir -p $XDG_CONFIG_HOME/containers &&
	printf "[[registry]]\nprefix = \"$BEAM\"\nlocation = \"$MOCK/toml\"\n" \
		>$XDG_CONFIG_HOME/containers/registries.conf &&
	beampush --progress none push --from oci:$IMG:latest $BEAM/python:latest >out &&
	test_grep -Fx "pinned: $MOCK/json/python@$DIGEST" out &&
	beampush --progress none push --from oci:$IMG:latest $BEAM/go:latest >out &&
	test_grep -Fx "pinned: $MOCK/json-go@$DIGEST" out &&
	beampush --progress none push --from oci:$IMG:latest $BEAM/gopher:latest >out &&
	test_grep -Fx "pinned: $MOCK/json/gopher@$DIGEST" out &&
	test "$(count_log "PUT /v2/toml/")" = 0
'

test_expect_success 'BEAMPUSH_CONFIG names the file; a missing one is an error' '
	start_mock --auth none &&
	no_docker_auth &&
	fresh_config &&
	beampush_json $PWD/my.json "    {\"prefix\": \"$BEAM\", \"location\": \"$MOCK/env\"}" &&
	BEAMPUSH_CONFIG=$PWD/my.json beampush --progress none push --from oci:$IMG:latest \
		$BEAM/python:latest >out &&
	test_grep -Fx "pinned: $MOCK/env/python@$DIGEST" out &&
	m=$(log_mark) &&
	test_expect_code 2 env BEAMPUSH_CONFIG=$PWD/nosuch.json $BEAMPUSH --progress none push \
		--from oci:$IMG:latest $BEAM/python:latest >out 2>err &&
	test_must_be_empty out &&
	test_line_count = 1 err &&
	test_grep -F "$PWD/nosuch.json" err &&
	test "$(log_mark)" = "$m"
'

test_expect_success 'an invalid config file exits 2 naming file:line, before any request' '
	start_mock --auth none &&
	no_docker_auth &&
	fresh_config &&
	mkdir -p $XDG_CONFIG_HOME/beampush $XDG_CONFIG_HOME/containers &&
	conf=$XDG_CONFIG_HOME/containers/registries.conf &&
	json=$XDG_CONFIG_HOME/beampush/config.json &&
	m=$(log_mark) &&
	printf "{\n  \"registries\": [\n    {\"prefix\": \"a.io\",}\n  ]\n}\n" >$json &&
	test_expect_code 2 beampush --progress none push --from oci:$IMG:latest $MOCK/beam/python:latest 2>err &&
	test_line_count = 1 err && test_grep -F "$json:3:" err &&
	test_expect_code 2 beampush --progress none pull --to oci:$PWD/p $MOCK/beam/python:latest 2>err &&
	test_grep -F "$json:3:" err &&
	test_expect_code 2 beampush --progress none login -u a --password-stdin $MOCK </dev/null 2>err &&
	test_grep -F "$json:3:" err &&
	printf "{\"registries\": [\n  {\"prefix\": \"a.io\"},\n  {\"prefix\": \"b.io\", \"insecure\": \"yes\"}\n]}\n" >$json &&
	test_expect_code 2 beampush --progress none push --from oci:$IMG:latest $MOCK/beam/python:latest 2>err &&
	test_grep -F "$json:3: registries[1].insecure must be true or false" err &&
	rm $json &&
	printf "[[registry]]\nprefix = \"a.io\"\nlocation = 127.0.0.1:5000\n" >$conf &&
	test_expect_code 2 beampush --progress none push --from oci:$IMG:latest $MOCK/beam/python:latest 2>err &&
	test_line_count = 1 err && test_grep -F "$conf:3:" err &&
	printf "# ok\n[[registry]]\nprefix = \"Not A Name\"\nlocation = \"x.io\"\n" >$conf &&
	test_expect_code 2 beampush --progress none push --from oci:$IMG:latest $MOCK/beam/python:latest 2>err &&
	test_grep -F "$conf:3: prefix \"Not A Name\"" err &&
	printf "[[registry]]\nlocaton = \"x.io\"\n" >$conf &&
	test_expect_code 2 beampush --progress none push --from oci:$IMG:latest $MOCK/beam/python:latest 2>err &&
	test_grep -F "$conf:2: unknown key \"locaton\"" err &&
	test "$(log_mark)" = "$m" &&
	test ! -e p
'

test_expect_success 'a blocked registry is refused, and so is login to it' '
	start_mock --auth none &&
	no_docker_auth &&
	fresh_config &&
	mkdir -p $XDG_CONFIG_HOME/containers &&
	printf "[[registry]]\nlocation = \"$MOCK/beam\"\nblocked = true\n[[registry]]\nprefix = \"blocked.example\"\nblocked = true\n" \
		>$XDG_CONFIG_HOME/containers/registries.conf &&
	m=$(log_mark) &&
	test_expect_code 1 beampush --progress none push --from oci:$IMG:latest $MOCK/beam/python:latest >out 2>err &&
	test_must_be_empty out && test_line_count = 1 err &&
	test_grep -F "blocked" err && test_grep -F "registries.conf:1 " err &&
	test_expect_code 1 beampush --progress none pull --to oci:$PWD/p $MOCK/beam/python:latest 2>err &&
	test_grep -F "blocked" err &&
	test "$(log_mark)" = "$m" &&
	echo pw | test_expect_code 1 beampush login -u a --password-stdin blocked.example 2>err &&
	test_grep -F "blocked.example is blocked by $XDG_CONFIG_HOME/containers/registries.conf:4 " err &&
	beampush --progress none push --from oci:$IMG:latest $MOCK/other/python:latest >out &&
	test_grep -Fx "pinned: $MOCK/other/python@$DIGEST" out
'

test_expect_success 'login goes to the mapped registry and stores the credentials for it' '
	start_mock --auth basic --user alice:s3cret &&
	fresh_config &&
	no_docker_auth &&
	fresh_config &&
	beampush_json $XDG_CONFIG_HOME/beampush/config.json \
		"    {\"prefix\": \"$BEAM\", \"location\": \"$MOCK/beam\"}" &&
	printf "s3cret\n" | beampush login --store file -u alice --password-stdin \
		alice-docker-apache.bintray.io >out 2>err &&
	test_grep -F "for $MOCK stored" out &&
	test_grep -F "\"$MOCK\"" $DOCKER_CONFIG/config.json &&
	test_no_grep -F bintray $DOCKER_CONFIG/config.json &&
	beampush --progress none push --from oci:$IMG:latest $BEAM/python:latest >out &&
	test_grep -Fx "pinned: $MOCK/beam/python@$DIGEST" out &&
	test "$(count_log "^PUT /v2/beam/python/manifests/latest 201 auth=basic:alice ")" -gt 0 &&
	beampush logout alice-docker-apache.bintray.io >out &&
	test_grep -F "for $MOCK" out &&
	test_no_grep -F "$MOCK" $DOCKER_CONFIG/config.json
'

test_expect_success 'copy, inspect, tags and delete map their names too' '
	start_mock --auth none &&
	no_docker_auth &&
	fresh_config &&
	beampush_json $XDG_CONFIG_HOME/beampush/config.json \
		"    {\"prefix\": \"$BEAM\", \"location\": \"$MOCK/beam\", \"insecure\": true}" &&
	beampush -q push --from oci:$IMG:latest $BEAM/python:latest >/dev/null &&
	beampush -q copy $BEAM/python:latest $BEAM/python:2.55 >out &&
	test "$(cat out)" = "$DIGEST" &&
	test_grep -E "^PUT /v2/beam/python/manifests/2.55 201" $MOCK_LOG &&
	beampush tags $BEAM/python >out &&
	printf "%s\n" 2.55 latest >want && sort out >got && test_cmp want got &&
	beampush inspect --raw $BEAM/python:2.55 >raw &&
	test "sha256:$(sha256sum <raw | cut -d" " -f1)" = "$DIGEST" &&
	beampush -q delete $BEAM/python@$DIGEST >/dev/null &&
	test_grep -E "^DELETE /v2/beam/python/manifests/$DIGEST 202" $MOCK_LOG &&
	test_no_grep -E "bintray|/v2/alice" $MOCK_LOG
'

test_done
