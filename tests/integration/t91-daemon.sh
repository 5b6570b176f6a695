#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# docker-daemon: push by name from the Docker Engine API (podman system service stands in for
# the daemon), exporting nothing when the registry has the image already; pull into the daemon;
# no daemon, a dead one, an image it lacks.
. "$(dirname "$0")/lib.sh"
test_require_build

IMG=$T/img
make_image "$IMG" latest 3 300000 >/dev/null || test_fatal "mkimage failed"
CONFIG=$(image_blobs "$IMG" latest | head -n 1)
config_diff_ids "$(blob_path_layout "$IMG" "$CONFIG")" >"$T/diff_ids"
NLAYERS=$(wc -l <"$T/diff_ids")
# podman loads docker save archives; its `pull oci:DIR` names the image after DIR
if test_have_prereq SKOPEO; then
	ARCHIVE=$T/python.tar
	skopeo copy -q "oci:$IMG:latest" "docker-archive:$ARCHIVE:beam/python:latest" ||
		test_fatal "skopeo copy to docker-archive failed"
fi

# daemon_image NAME...: load the test image into the daemon as beam/python:latest and NAMEs.
daemon_image() {
	local n
	$PODMAN load -q -i "$ARCHIVE" >/dev/null || return 1
	for n in "$@"; do
		$PODMAN tag beam/python:latest "$n" || return 1
	done
}

# exports: how many exports (GET /images/NAME/get) the daemon has answered so far. Its access
# log has the line once the answer is complete, which the client may see a moment earlier:
# wait_exports N polls (for up to 5 s) until there are N.
exports() {
	grep -c '"GET /v[0-9.]*/images/[^ ]*/get HTTP' "$PODMAN_LOG" 2>/dev/null || true
}
wait_exports() {
	local i=0
	while [ "$(exports)" -lt "$1" ] && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	test "$(exports)" = "$1"
}

# pushed_digest FILE: the digest line of push's output.
pushed_digest() {
	sed -n 's/^digest: //p' "$1"
}

# check_pushed MANIFEST-FILE [DIFF-IDS-FILE]: a Docker v2 schema 2 manifest whose config is the
# test image's (the image ID kept) and whose layers, in the mock, are gzip streams that
# decompress to the diff_ids.
check_pushed() {
	local ids=${2:-$T/diff_ids} d i=0
	test_grep -F '"mediaType":"application/vnd.docker.distribution.manifest.v2+json"' "$1" &&
	test_grep -F "\"digest\":\"$CONFIG\"" "$1" &&
	cmp "$(blob_path_layout "$IMG" "$CONFIG")" "$(blob_path_mock "$CONFIG")" &&
	grep -o '"digest":"sha256:[0-9a-f]*"' "$1" | sed 's/"digest":"//; s/"$//' | tail -n +2 >layers &&
	test_line_count = "$(wc -l <"$ids")" layers || return 1
	for d in $(cat layers); do
		i=$((i + 1))
		test "$(head -c 2 "$(blob_path_mock "$d")" | od -An -tx1 | tr -d ' ')" = 1f8b &&
		test "sha256:$(gzip -dc "$(blob_path_mock "$d")" | sha256sum | cut -d' ' -f1)" = "$(sed -n "${i}p" "$ids")" || {
			echo "check_pushed: layer $d is not the gzip of $(sed -n "${i}p" "$ids")" >&2
			return 1
		}
	done
}

test_expect_success PODMAN,SKOPEO 'push REF with no --from pushes the daemon image of that name; the image ID is kept' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	start_podman_service &&
	daemon_image $MOCK/beam/python:latest &&
	test "$(exports)" = 0 &&
	beampush push $MOCK/beam/python:latest >out &&
	digest=$(pushed_digest out) &&
	test_grep -F "pinned: $MOCK/beam/python@$digest" out &&
	m=$MOCK_ROOT/repos/beam/python/_manifests/${digest#sha256:} &&
	test "$(sha256_of $m)" = "$digest" &&
	check_pushed $m &&
	test "$(count_log "^PUT /v2/beam/python/manifests/latest 201 auth=bearer:alice ct=application/vnd.docker.distribution.manifest.v2\+json ")" = 1 &&
	wait_exports 1
'

test_expect_success PODMAN,SKOPEO 'a second push exports nothing: HEADs, then the manifest PUT' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	start_podman_service &&
	daemon_image $MOCK/beam/python:latest &&
	beampush push $MOCK/beam/python:latest >out1 &&
	wait_exports 1 &&
	mark=$(log_mark) &&
	dmark=$(log_mark $PODMAN_LOG) &&
	beampush --debug push $MOCK/beam/python:latest >out2 2>err &&
	test "$(pushed_digest out2)" = "$(pushed_digest out1)" &&
	test_grep -F "$MOCK/beam/python:latest: every blob is on the registry; not exporting" err &&
	i=0 &&
	until log_since $dmark $PODMAN_LOG | grep -q "/json HTTP" || [ $i -ge 100 ]; do
		sleep 0.05 && i=$((i + 1))
	done &&
	test "$(exports)" = 1 &&
	log_since $dmark $PODMAN_LOG | sed -n "s/.*\"\([A-Z]* [^ ]*\) HTTP[^\"]*\" \([0-9]*\) .*/\1 \2/p" >engine &&
	printf "%s\n" "GET /_ping 200" "GET /v1.41/images/$(echo $MOCK | sed "s/:/%3A/")%2Fbeam%2Fpython%3Alatest/json 200" >want &&
	test_cmp want engine &&
	log_since $mark | grep " /v2/beam/python/" >second &&
	grep -v "^HEAD " second >not-head &&
	test_line_count = 1 not-head &&
	test_grep -E "^PUT /v2/beam/python/manifests/latest 201 " not-head &&
	test "$(grep -c "^HEAD /v2/beam/python/blobs/sha256:[0-9a-f]* 200 " second)" = $((NLAYERS + 1))
'

test_expect_success PODMAN,SKOPEO 'retag on push: --from docker-daemon:beam/python:latest to :2.3.0' '
	start_mock --auth none &&
	no_docker_auth &&
	start_podman_service &&
	daemon_image &&
	beampush push --from docker-daemon:beam/python:latest $MOCK/beam/python:2.3.0 >out &&
	digest=$(pushed_digest out) &&
	test "$(cat $MOCK_ROOT/repos/beam/python/_tags/2.3.0)" = "$digest" &&
	test ! -e $MOCK_ROOT/repos/beam/python/_tags/latest &&
	check_pushed $MOCK_ROOT/repos/beam/python/_manifests/${digest#sha256:}
'

# engine_id NAME: the ID of image NAME as the daemon's Engine API (docker image inspect) gives it.
engine_id() {
	curl -s --unix-socket "$PODMAN_SOCK" "http://d/v1.41/images/$(echo "$1" | sed "s|/|%2F|g")/json" |
		grep -o '"Id":"sha256:[0-9a-f]*"' | sed 's/"Id":"//; s/"$//'
}

test_expect_success PODMAN,SKOPEO 'pull REF loads into the daemon: its image ID is the pushed config digest, and pull prints it' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	start_podman_service &&
	daemon_image $MOCK/beam/python:latest &&
	beampush push $MOCK/beam/python:latest >out &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:oci &&
	start_podman_service &&
	! $PODMAN inspect $MOCK/beam/python:latest >/dev/null 2>&1 &&
	mkdir tmp &&
	TMPDIR=$PWD/tmp beampush --progress none pull $MOCK/beam/python:latest >pulled 2>err &&
	printf "%s\n" "pulled $MOCK/beam/python:latest" "digest: $(pushed_digest out)" "image id: $CONFIG" >want &&
	test_cmp want pulled &&
	test "$(engine_id $MOCK/beam/python:latest)" = "$CONFIG" &&
	# podman records the digest: the pinned reference names the image, nothing to say
	test_must_be_empty err &&
	test "sha256:$($PODMAN inspect $MOCK/beam/python:latest --format "{{.Id}}")" = "$CONFIG" &&
	$PODMAN inspect $MOCK/beam/python:latest --format "{{.RepoDigests}}" >digests &&
	test_grep -F "$MOCK/beam/python@$(pushed_digest out)" digests &&
	TMPDIR=$PWD/tmp beampush pull $MOCK/beam/python:oci >pulled2 &&
	test "sha256:$($PODMAN inspect $MOCK/beam/python:oci --format "{{.Id}}")" = "$CONFIG" &&
	$PODMAN inspect $MOCK/beam/python:oci --format "{{.RepoDigests}}" >digests2 &&
	test_grep -F "$MOCK/beam/python@$(sed -n "s/^digest: //p" pulled2)" digests2 &&
	ls -A tmp >left &&
	test_must_be_empty left
'

test_expect_success PODMAN 'pull by digest alone loads an untagged image that carries the digest' '
	start_mock --auth none &&
	no_docker_auth &&
	digest=$(beampush -q push --from oci:$IMG:latest $MOCK/beam/python:d) &&
	start_podman_service &&
	beampush --progress none pull $MOCK/beam/python@$digest >out 2>err &&
	$PODMAN images --digests --format "{{.Digest}} {{.ID}}" >images &&
	test_grep -F "$digest" images &&
	test_grep -Fx "image id: $CONFIG" out &&
	test "$(engine_id $CONFIG)" = "$CONFIG" &&
	test_must_be_empty err &&
	test "$(beampush -q --progress none pull $MOCK/beam/python@$digest 2>&1)" = "$digest"
'

test_expect_success PODMAN,SKOPEO 'a corrupted blob: pull exits 5 and hands nothing to the daemon' '
	start_mock --auth none &&
	no_docker_auth &&
	beampush push --from oci:$IMG:latest $MOCK/beam/python:latest &&
	flip_byte "$(blob_path_mock $(image_blobs $IMG latest | sed -n 3p))" &&
	start_podman_service &&
	mkdir tmp &&
	export TMPDIR=$PWD/tmp &&
	test_expect_code 5 beampush --progress none pull $MOCK/beam/python:latest 2>err &&
	test_line_count = 1 err &&
	! $PODMAN inspect $MOCK/beam/python:latest >/dev/null 2>&1 &&
	test "$($PODMAN images -q | wc -l)" = 0 &&
	ls -A tmp >left &&
	test_must_be_empty left
'

test_expect_success 'no daemon at DOCKER_HOST: pull exits 2 naming --to and the socket, push names --from' '
	start_mock --auth none &&
	no_docker_auth &&
	export DOCKER_HOST=unix://$PWD/no.sock &&
	mark=$(log_mark) &&
	test_expect_code 2 beampush --progress none pull $MOCK/beam/python:latest 2>err &&
	test_line_count = 1 err &&
	test_grep -F -- "--to " err &&
	test_grep -F "$PWD/no.sock is not a socket (from DOCKER_HOST)" err &&
	test_expect_code 1 beampush --progress none push $MOCK/beam/python:latest 2>err &&
	test_line_count = 1 err &&
	test_grep -F -- "--from " err &&
	test_grep -F "$PWD/no.sock" err &&
	test "$(log_mark)" = "$mark"
'

test_expect_success NO_DOCKER_SOCKET 'no DOCKER_HOST and no /var/run/docker.sock: pull exits 2 naming --to' '
	start_mock --auth none &&
	no_docker_auth &&
	unset DOCKER_HOST &&
	mark=$(log_mark) &&
	test_expect_code 2 beampush --progress none pull $MOCK/beam/python:latest 2>err &&
	test_line_count = 1 err &&
	test_grep -F -- "--to oci:DIR" err &&
	test_grep -F "/var/run/docker.sock is not a socket" err &&
	test_grep -F "DOCKER_HOST is not set" err &&
	test "$(log_mark)" = "$mark"
'

test_expect_success PODMAN 'a daemon that died (its socket left behind): pull exits 2, push fails naming it' '
	start_mock --auth none &&
	no_docker_auth &&
	start_podman_service &&
	kill -KILL $PODMAN_PID &&
	{ wait $PODMAN_PID 2>/dev/null || :; } &&
	! _bp_alive $PODMAN_PID &&
	test -S $PODMAN_SOCK &&
	test_expect_code 2 beampush --progress none pull $MOCK/beam/python:latest 2>err &&
	test_line_count = 1 err &&
	test_grep -F "Docker daemon at $PODMAN_SOCK" err &&
	test_grep -F -- "--to " err &&
	test_expect_code 1 beampush --progress none push $MOCK/beam/python:latest 2>err &&
	test_line_count = 1 err &&
	test_grep -F "Docker daemon at $PODMAN_SOCK" err
'

test_expect_success PODMAN 'push of an image the daemon lacks exits 4, naming the image and the daemon' '
	start_mock --auth none &&
	no_docker_auth &&
	start_podman_service &&
	test_expect_code 4 beampush --progress none push $MOCK/beam/nosuch:latest 2>err &&
	test_line_count = 1 err &&
	test_grep -F "Docker daemon: no image $MOCK/beam/nosuch:latest" err &&
	test "$(count_log "^(POST|PUT|PATCH) ")" = 0
'

test_expect_success PODMAN,SKOPEO 'a push the registry refuses while the export streams fails with the error, not SIGPIPE' '
	start_mock --auth token --user bob:pw:pull &&
	docker_auth "$MOCK" bob pw &&
	make_image --seed 4 big latest 2 2000000 >/dev/null &&
	skopeo copy -q oci:$PWD/big:latest docker-archive:$PWD/big.tar:beam/big:latest &&
	start_podman_service &&
	$PODMAN load -q -i $PWD/big.tar &&
	$PODMAN tag beam/big:latest $MOCK/beam/big:latest &&
	test_expect_code 3 beampush --progress none push $MOCK/beam/big:latest 2>err &&
	test_line_count = 1 err &&
	test_grep -F "refused" err &&
	test "$(count_log "^PUT /v2/beam/big/manifests/")" = 0
'

test_expect_success PODMAN,SKOPEO 'an image that lists the same layer twice pushes from the daemon' '
	start_mock --auth none &&
	no_docker_auth &&
	a=$(sed -n 1p $T/diff_ids) && b=$(sed -n 2p $T/diff_ids) &&
	tr -d "\n" <"$(blob_path_layout $IMG $CONFIG)" |
		sed "s/\"diff_ids\":\[[^]]*\]/\"diff_ids\":[\"$a\",\"$b\",\"$a\"]/" >config.json &&
	test "$(config_diff_ids config.json | sed -n 3p)" = "$a" &&
	config_diff_ids config.json >ids &&
	mkdir -p dup &&
	tar -xf $ARCHIVE -C dup &&
	sed "s/\"Layers\":\[\"\([^\"]*\)\",\"\([^\"]*\)\",\"[^\"]*\"\]/\"Layers\":[\"\1\",\"\2\",\"\1\"]/; s/\"Config\":\"[^\"]*\"/\"Config\":\"$(sha256sum config.json | cut -d" " -f1).json\"/" dup/manifest.json >manifest.json &&
	cp manifest.json dup/manifest.json &&
	cp config.json dup/$(sha256sum config.json | cut -d" " -f1).json &&
	tar -cf dup.tar -C dup . &&
	start_podman_service &&
	$PODMAN load -q -i $PWD/dup.tar &&
	$PODMAN tag beam/python:latest $MOCK/beam/dup:latest &&
	test "$($PODMAN inspect $MOCK/beam/dup:latest --format "{{.Id}}")" = "$(sha256sum config.json | cut -d" " -f1)" &&
	beampush push $MOCK/beam/dup:latest >out &&
	digest=$(pushed_digest out) &&
	m=$MOCK_ROOT/repos/beam/dup/_manifests/${digest#sha256:} &&
	grep -o "\"digest\":\"sha256:[0-9a-f]*\"" $m | tail -n +2 >layers &&
	test_line_count = 3 layers &&
	test "$(sed -n 1p layers)" = "$(sed -n 3p layers)" &&
	test "$(sed -n 1p layers)" != "$(sed -n 2p layers)" &&
	cmp config.json "$(blob_path_mock sha256:$(sha256sum config.json | cut -d" " -f1))"
'

test_expect_success PODMAN,SKOPEO,REGISTRY 'the real registry: push from one daemon, pull into another' '
	start_registry &&
	no_docker_auth &&
	start_podman_service &&
	daemon_image $REG/beam/python:latest &&
	beampush push $REG/beam/python:latest >out &&
	digest=$(pushed_digest out) &&
	cmp "$(blob_path_layout $IMG $CONFIG)" "$(blob_path_registry $CONFIG)" &&
	curl -s -H "Accept: application/vnd.docker.distribution.manifest.v2+json" http://$REG/v2/beam/python/manifests/latest >m &&
	test "$(sha256_of m)" = "$digest" &&
	start_podman_service &&
	beampush pull $REG/beam/python:latest >pulled &&
	test_grep -F "digest: $digest" pulled &&
	test "sha256:$($PODMAN inspect $REG/beam/python:latest --format "{{.Id}}")" = "$CONFIG"
'

test_expect_success PODMAN 'no podman process, run directory or mount is left behind' '
	ls -d $T/podman-* >dirs &&
	test_line_count -gt 5 dirs &&
	echo "$T/podman-" >pattern &&
	for f in /proc/[0-9]*/cmdline; do
		{ tr "\0" " " 2>/dev/null <$f; echo; }
	done >procs &&
	test_no_grep -F -f pattern procs &&
	test_no_grep -F "$T" /proc/mounts &&
	for r in $(cat $T/podman-*/runroot); do
		test ! -e $r || { echo "$r is left" >&2; exit 1; }
	done
'

test_done
