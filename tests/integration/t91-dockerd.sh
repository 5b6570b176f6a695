#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The real Docker Engine as a peer: Debian's dockerd 20.10 with its containerd 1.6 (one pair
# started for the file, more where a scenario needs a fresh daemon), images built by
# `docker build`, the real registry (docker-registry) on loopback and the mock where tokens are
# needed. beampush pushes what docker built and docker and ctr pull it; beampush pulls what
# docker pushed; credentials go both ways through docker-credential-secretservice's keyring.
# Needs root (dockerd); the daemons use vfs storage, no bridge and no iptables.
. "$(dirname "$0")/bus.sh"
. "$(dirname "$0")/lib.sh"
[ -f "${BP_TEST_PRIVATE_BUS:-}" ] && rm -f "$BP_TEST_PRIVATE_BUS"
test_require_build

# The build context: a few MiB of files, two directories copied by two COPY steps (two layers)
# and the same bytes again under another path (a layer sharing content with another); a child
# image adds a layer to one. The same layer twice in one image is t91-daemon's (podman): the
# classic builder of dockerd 20.10 cannot make one (a second identical COPY adds no layer, and
# a step after it fails with "failed to get layer ...: layer does not exist").
CTX=$T/ctx
mkdir -p "$CTX/files/a" "$CTX/files/b" "$CTX/files/c"
head -c 2000000 /dev/urandom >"$CTX/files/a/data.bin"
head -c 1000000 /dev/urandom >"$CTX/files/b/more.bin"
printf 'beam\n' >"$CTX/files/b/notes.txt"
ln -s notes.txt "$CTX/files/b/link"
cp "$CTX/files/a/data.bin" "$CTX/files/c/same.bin"
printf 'FROM scratch\nCOPY files/a /a\nCOPY files/b /b\n' >"$CTX/two.Dockerfile"
printf 'FROM scratch\nCOPY files/a /a\nCOPY files/c /c\n' >"$CTX/shared.Dockerfile"
printf 'FROM beam/shared:latest\nCOPY files/b /b\n' >"$CTX/child.Dockerfile"

# build DOCKERFILE NAME: docker build (the classic builder) of $CTX as NAME; prints the ID.
build() {
	DOCKER_BUILDKIT=0 docker build -q -f "$CTX/$1" -t "$2" "$CTX"
}

if test_have_prereq DOCKERD; then
	start_dockerd || test_fatal "start_dockerd failed"
	TWO=$(build two.Dockerfile beam/two:latest) || test_fatal "docker build failed"
	SHARED=$(build shared.Dockerfile beam/shared:latest) || test_fatal "docker build failed"
	CHILD=$(build child.Dockerfile beam/child:latest) || test_fatal "docker build failed"
fi

# image_id NAME: the ID of the daemon's image NAME.
image_id() {
	docker image inspect -f '{{.Id}}' "$1"
}

# diff_ids NAME: the diff_ids of the daemon's image NAME, one a line.
diff_ids() {
	docker image inspect -f '{{range .RootFS.Layers}}{{println .}}{{end}}' "$1" | awk 'NF'
}

# pushed_digest FILE: the digest line of beampush's output.
pushed_digest() {
	sed -n 's/^digest: //p' "$1"
}

# docker_push IMAGE NAME: docker tag IMAGE as NAME and docker push it; prints the digest
# docker push printed (its output in ./docker-push.out).
docker_push() {
	local d
	docker tag "$1" "$2" &&
	docker push "$2" >docker-push.out &&
	d=$(sed -n 's/^[^ ]*: digest: \(sha256:[0-9a-f]\{64\}\) size: [0-9]*$/\1/p' docker-push.out) &&
	test -n "$d" &&
	echo "$d"
}

# manifest_layers FILE: the layer digests of the image manifest FILE, in order.
manifest_layers() {
	grep -o '"digest":"sha256:[0-9a-f]\{64\}"' "$1" | sed 's/"digest":"//; s/"$//' | tail -n +2
}

# check_in_registry DIGEST ID DIFF-IDS-FILE: the real registry holds manifest DIGEST (a Docker
# v2 schema 2 manifest whose bytes hash to it) naming config ID (whose bytes hash to it) and
# layers, stored byte for byte, each a gzip stream that decompresses to the next diff_id.
# Leaves the manifest without white space in ./manifest, its layer digests in ./layers.
check_in_registry() {
	local m d i=0
	m=$(blob_path_registry "$1")
	test "$(sha256_of "$m")" = "$1" &&
	tr -d ' \t\r\n' <"$m" >manifest &&
	test_grep -F '"mediaType":"application/vnd.docker.distribution.manifest.v2+json"' manifest &&
	test_grep -F "\"digest\":\"$2\"" manifest &&
	test "$(sha256_of "$(blob_path_registry "$2")")" = "$2" &&
	manifest_layers manifest >layers &&
	test_line_count = "$(wc -l <"$3")" layers || return 1
	for d in $(cat layers); do
		i=$((i + 1))
		test "$(sha256_of "$(blob_path_registry "$d")")" = "$d" &&
		test "sha256:$(gzip -dc "$(blob_path_registry "$d")" | sha256sum | cut -d' ' -f1)" = \
			"$(sed -n "${i}p" "$3")" || {
			echo "check_in_registry: layer $i ($d) is not the gzip of $(sed -n "${i}p" "$3")" >&2
			return 1
		}
	done
}

test_expect_success DOCKERD,REGISTRY 'docker build, two COPY layers: beampush push keeps the ID; a fresh dockerd pulls the same image' '
	start_registry &&
	no_docker_auth &&
	docker tag beam/two:latest $REG/beam/two:1 &&
	diff_ids beam/two:latest >ids &&
	test_line_count = 2 ids &&
	beampush push $REG/beam/two:1 >out &&
	digest=$(pushed_digest out) &&
	test_grep -F "pinned: $REG/beam/two@$digest" out &&
	check_in_registry $digest $TWO ids &&
	curl -s -H "Accept: application/vnd.docker.distribution.manifest.v2+json" http://$REG/v2/beam/two/manifests/1 >m &&
	test "$(sha256_of m)" = "$digest" &&
	start_dockerd &&
	test "$(docker images -q -a | wc -l)" = 0 &&
	docker pull $REG/beam/two:1 >pulled &&
	test_grep -F "Digest: $digest" pulled &&
	test "$(image_id $REG/beam/two:1)" = "$TWO" &&
	diff_ids $REG/beam/two:1 >ids2 &&
	test_cmp ids ids2 &&
	docker image inspect -f "{{json .RepoDigests}}" $REG/beam/two:1 >rd &&
	test_grep -F "\"$REG/beam/two@$digest\"" rd
'

test_expect_success DOCKERD,REGISTRY 'ctr images pull of what beampush pushed: the digest beampush printed, the files docker copied' '
	start_registry &&
	no_docker_auth &&
	beampush push --from docker-daemon:beam/two:latest $REG/beam/two:ctr >out &&
	digest=$(pushed_digest out) &&
	ctr -n test images pull --plain-http --snapshotter native $REG/beam/two:ctr >ctr.out &&
	ctr -n test images ls >ls &&
	test_grep -E "^$REG/beam/two:ctr +application/vnd.docker.distribution.manifest.v2\+json +$digest " ls &&
	ctr -n test content get $digest >m &&
	cmp m "$(blob_path_registry $digest)" &&
	manifest_layers m >layers &&
	mkdir x &&
	for d in $(cat layers); do
		ctr -n test content get $d | tar -xzf - -C x || exit 1
	done &&
	cmp x/a/data.bin $CTX/files/a/data.bin &&
	cmp x/b/more.bin $CTX/files/b/more.bin &&
	test "$(readlink x/b/link)" = notes.txt &&
	ctr -n test images rm $REG/beam/two:ctr
'

test_expect_success DOCKERD,REGISTRY 'layers sharing content, an image and its child: the IDs kept, the shared layers the same blobs' '
	start_registry &&
	no_docker_auth &&
	docker tag beam/shared:latest $REG/beam/shared:1 &&
	docker tag beam/child:latest $REG/beam/child:1 &&
	diff_ids beam/shared:latest >shared.ids &&
	diff_ids beam/child:latest >child.ids &&
	test_line_count = 2 shared.ids &&
	test_line_count = 3 child.ids &&
	test "$(head -n 2 child.ids)" = "$(cat shared.ids)" &&
	beampush push $REG/beam/shared:1 >out1 &&
	check_in_registry "$(pushed_digest out1)" $SHARED shared.ids &&
	cp layers shared.layers &&
	beampush push $REG/beam/child:1 >out2 &&
	check_in_registry "$(pushed_digest out2)" $CHILD child.ids &&
	test "$(head -n 2 layers)" = "$(cat shared.layers)" &&
	docker rmi $REG/beam/shared:1 $REG/beam/child:1 beam/shared:latest beam/child:latest >/dev/null &&
	test_expect_code 1 docker image inspect $CHILD >/dev/null 2>&1 &&
	docker pull -q $REG/beam/child:1 &&
	test "$(image_id $REG/beam/child:1)" = "$CHILD" &&
	docker tag $REG/beam/child:1 beam/child:latest &&
	docker pull -q $REG/beam/shared:1 &&
	test "$(image_id $REG/beam/shared:1)" = "$SHARED" &&
	docker tag $REG/beam/shared:1 beam/shared:latest
'

test_expect_success DOCKERD,REGISTRY 'docker push, then beampush pull --to oci: the digest docker printed, every blob byte for byte' '
	start_registry &&
	no_docker_auth &&
	digest=$(docker_push beam/two:latest $REG/beam/pushed:1) &&
	beampush pull --to oci:$PWD/oci:1 $REG/beam/pushed:1 >out &&
	test_grep -F "digest: $digest" out &&
	test "$(layout_digest oci 1)" = "$digest" &&
	layout_check oci &&
	for d in $digest $(image_blobs oci 1); do
		cmp "$(blob_path_layout oci $d)" "$(blob_path_registry $d)" || exit 1
	done &&
	diff_ids beam/two:latest >ids &&
	check_in_registry $digest $TWO ids
'

test_expect_success DOCKERD,REGISTRY 'docker push, then beampush pull into a fresh dockerd: the same image ID, under its tag' '
	start_registry &&
	no_docker_auth &&
	digest=$(docker_push beam/two:latest $REG/beam/pushed:2) &&
	diff_ids beam/two:latest >ids &&
	start_dockerd &&
	beampush --progress none pull $REG/beam/pushed:2 >out 2>err &&
	printf "%s\n" "pulled $REG/beam/pushed:2" "digest: $digest" "image id: $TWO" >want &&
	test_cmp want out &&
	test "$(image_id $REG/beam/pushed:2)" = "$TWO" &&
	# the pinned reference does not name the image here: pull says so, and what does
	test_line_count = 1 err &&
	test_grep -F "beampush: note: the daemon records no registry digest for an image it loads, so $REG/beam/pushed@$digest does not name it there; run it pinned by its ID: docker run $TWO" err &&
	cid=$(docker create --network none $TWO /a/data.bin) &&
	test "$(docker container inspect -f "{{.Image}}" $cid)" = "$TWO" &&
	docker rm $cid >/dev/null &&
	docker image inspect -f "{{json .RepoTags}}" $REG/beam/pushed:2 >tags &&
	test "$(cat tags)" = "[\"$REG/beam/pushed:2\"]" &&
	diff_ids $REG/beam/pushed:2 >got &&
	test_cmp ids got &&
	# dockerd 20.10 records a RepoDigest only on its own pull (README: pull into Docker)
	docker image inspect -f "{{json .RepoDigests}}" $REG/beam/pushed:2 >rd &&
	test "$(cat rd)" = "[]" &&
	! docker image inspect $REG/beam/pushed@$digest >/dev/null 2>&1 &&
	# once docker pull has recorded the digest, the pinned reference names the image: no note
	docker pull -q $REG/beam/pushed:2 >/dev/null &&
	docker image inspect $REG/beam/pushed@$digest >/dev/null &&
	beampush --progress none pull $REG/beam/pushed:2 >out2 2>err2 &&
	test_cmp want out2 &&
	test_must_be_empty err2
'

test_expect_success DOCKERD,REGISTRY 'docker save of the same image: push --from docker-archive gives the daemon push'"'"'s digest, its blobs mounted' '
	start_registry &&
	no_docker_auth &&
	beampush push --from docker-daemon:beam/two:latest $REG/beam/two:1 >out1 &&
	docker save beam/two:latest >two.tar &&
	mark=$(log_mark $REG_LOG) &&
	beampush push --from docker-archive:$PWD/two.tar $REG/beam/archive:1 >out2 &&
	test "$(pushed_digest out2)" = "$(pushed_digest out1)" &&
	log_since $mark $REG_LOG >second.log &&
	registry_requests second.log >second &&
	test "$(grep -c "^POST /v2/beam/archive/blobs/uploads/?mount=sha256%3A[0-9a-f]*&from=beam%2Ftwo 201$" second)" = 3 &&
	test_no_grep -E "^(PATCH|PUT) /v2/beam/archive/blobs/" second
'

test_expect_success DOCKERD,REGISTRY 'push of an image dockerd lacks exits 4, one line naming it; nothing sent' '
	start_registry &&
	no_docker_auth &&
	test_expect_code 4 beampush --progress none push $REG/beam/nosuch:1 2>err &&
	test_line_count = 1 err &&
	test_grep -F "Docker daemon: no image $REG/beam/nosuch:1" err &&
	test_no_grep -E "^(POST|PUT|PATCH) " <(registry_requests)
'

test_expect_success DOCKERD,KEYRING,SECRETSERVICE_HELPER 'docker login to a token registry (secretservice helper): beampush push uses what it stored' '
	start_keyring &&
	start_mock --auth token --user alice:pw &&
	no_docker_auth &&
	echo pw | docker login -u alice --password-stdin $MOCK >login.out &&
	test_grep -F "Login Succeeded" login.out &&
	test_grep -F "\"credsStore\": \"secretservice\"" $DOCKER_CONFIG/config.json &&
	keyring_get $MOCK >item &&
	test_no_grep -F "\"Secret\":\"pw\"" item &&
	docker tag beam/two:latest $MOCK/beam/two:1 &&
	mark=$(log_mark) &&
	beampush --debug push $MOCK/beam/two:1 >out 2>err &&
	test_grep -F "from the login keyring" err &&
	log_since $mark >log &&
	test_grep -E "^POST /token 200 auth=oauth:refresh_token:alice " log &&
	test "$(grep -c "^PUT /v2/beam/two/manifests/1 201 auth=bearer:alice " log)" = 1 &&
	digest=$(pushed_digest out) &&
	test "$(sha256_of $MOCK_ROOT/repos/beam/two/_manifests/${digest#sha256:})" = "$digest" &&
	test_grep -F "\"digest\":\"$TWO\"" $MOCK_ROOT/repos/beam/two/_manifests/${digest#sha256:}
'

test_expect_success DOCKERD,KEYRING,SECRETSERVICE_HELPER 'beampush login to a token registry: docker push and docker pull use what it stored' '
	start_keyring &&
	start_mock --auth token --user alice:pw &&
	no_docker_auth &&
	echo pw | beampush login -u alice --password-stdin $MOCK >login.out &&
	test_grep -F "Login succeeded: an identity token for $MOCK stored in the login keyring" login.out &&
	test ! -e $DOCKER_CONFIG/config.json &&
	digest=$(docker_push beam/two:latest $MOCK/beam/rev:1) &&
	test "$(count_log "^PUT /v2/beam/rev/manifests/1 201 auth=bearer:alice ")" = 1 &&
	grep -v "^GET /v2/ 401 auth=none " $MOCK_LOG >reqs &&
	test_no_grep -E " auth=(none|bearer:anonymous|bad|oauth:[a-z_]*:bad) " reqs &&
	start_dockerd &&
	docker pull $MOCK/beam/rev:1 >pulled &&
	test_grep -F "Digest: $digest" pulled &&
	test "$(image_id $MOCK/beam/rev:1)" = "$TWO"
'

test_expect_success DOCKERD,REGISTRY 'pull NAME@DIGEST into dockerd loads the image untagged, as docker pull by digest' '
	start_registry &&
	no_docker_auth &&
	beampush push --from docker-daemon:beam/two:latest $REG/beam/bydigest:1 >pushed &&
	digest=$(pushed_digest pushed) &&
	start_dockerd &&
	beampush --progress none pull $REG/beam/bydigest@$digest >out 2>err &&
	test_grep -F "digest: $digest" out &&
	test_grep -Fx "image id: $TWO" out &&
	test "$(image_id $TWO)" = "$TWO" &&
	test_line_count = 1 err &&
	test_grep -F "so $REG/beam/bydigest@$digest does not name it there; run it pinned by its ID: docker run $TWO" err &&
	docker image inspect -f "{{json .RepoTags}}" $TWO >tags &&
	test "$(cat tags)" = "[]"
'

test_expect_success DOCKERD,REGISTRY 'an OCI index pulled into dockerd: this machine'"'"'s image, as docker pull takes it; --all-platforms exits 2' '
	start_registry &&
	no_docker_auth &&
	index=$("$TEST_ROOT/scripts/mkindex" idx latest linux/amd64 linux/arm64/v8) &&
	beampush -q push --from oci:$PWD/idx:latest $REG/beam/multi:latest >out &&
	test "$(cat out)" = "$index" &&
	start_dockerd &&
	test_expect_code 2 beampush --progress none pull --all-platforms $REG/beam/multi:latest 2>err &&
	test_line_count = 1 err &&
	test_grep -F -- "--to oci:DIR" err &&
	test "$(docker images -q -a | wc -l)" = 0 &&
	beampush --progress none pull $REG/beam/multi:latest >out &&
	amd=$(pushed_digest out) &&
	docker image inspect -f "{{.Id}} {{.Os}}/{{.Architecture}}" $REG/beam/multi:latest >got &&
	docker rmi $REG/beam/multi:latest &&
	docker pull -q $REG/beam/multi:latest &&
	docker image inspect -f "{{.Id}} {{.Os}}/{{.Architecture}}" $REG/beam/multi:latest >want &&
	test_cmp want got &&
	test_grep -F " linux/amd64" got &&
	beampush --progress none --platform linux/arm64 pull $REG/beam/multi:latest >out &&
	test "$(pushed_digest out)" != "$amd" &&
	docker image inspect -f "{{.Os}}/{{.Architecture}}" $REG/beam/multi:latest >arm &&
	test "$(cat arm)" = linux/arm64 &&
	test_expect_code 4 beampush --progress none --platform linux/s390x pull $REG/beam/multi:latest 2>err &&
	test_line_count = 1 err &&
	test_grep -F "linux/arm64" err
'

test_expect_success DOCKERD,REGISTRY 'a daemon push uploads only the layers the registry lacks: a child, the same image to another repository' '
	start_registry &&
	no_docker_auth &&
	beampush push --from docker-daemon:beam/shared:latest $REG/beam/parent:1 &&
	mark=$(log_mark $REG_LOG) &&
	beampush push --from docker-daemon:beam/child:latest $REG/beam/parent:child >out &&
	log_since $mark $REG_LOG >child.log &&
	registry_requests child.log >child &&
	test "$(grep -c "^PUT /v2/beam/parent/blobs/uploads/" child)" = 2 &&
	mark=$(log_mark $REG_LOG) &&
	beampush push --from docker-daemon:beam/child:latest $REG/beam/other:1 >out2 &&
	test "$(pushed_digest out2)" = "$(pushed_digest out)" &&
	log_since $mark $REG_LOG >other.log &&
	registry_requests other.log >other &&
	test_no_grep -E "^(PATCH|PUT) /v2/beam/other/blobs/" other
'

test_expect_success DOCKERD 'a dockerd killed with SIGKILL (its data root left mounted) is cleaned up all the same' '
	start_dockerd &&
	echo $DOCKERD_DIR >$T/killed.dir &&
	test_grep -F " $DOCKERD_DIR/data " /proc/mounts &&
	kill -KILL $DOCKERD_PID
'

test_expect_success DOCKERD 'no dockerd, containerd, mount or directory is left of the daemons the scenarios started' '
	dir=$(cat $T/killed.dir) &&
	test ! -e $dir &&
	test_no_grep -F "$dir" /proc/mounts &&
	ls $T/dockerd-*.pid >pids &&
	test_line_count -gt 4 pids &&
	for f in $T/dockerd-*.pid $T/containerd-*.pid; do
		test "$(cat $f)" = "$DOCKERD_PID" || test "$(cat $f)" = "$CONTAINERD_PID" ||
			! _bp_alive "$(cat $f)" || { echo "$f: $(cat $f) is alive" >&2; exit 1; }
	done &&
	for f in $T/dockerd-*.dir; do
		d=$(cat $f) &&
		test "$d" = "$DOCKERD_DIR" && continue
		test ! -e "$d" || { echo "$d is left" >&2; exit 1; }
		# only this file'"'"'s daemons: other test runs may have theirs mounted meanwhile
		test_no_grep -F " $d/" /proc/mounts || exit 1
	done
'

test_done
