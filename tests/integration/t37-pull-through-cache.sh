#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A fleet behind a pull-through cache: Debian's docker-registry with proxy: remoteurl: pointing
# at an origin (the mock, which logs every request) is the mirror of the origin for N clients
# pulling at once. The bytes the origin serves are counted: N copies without the cache; with it,
# N + 1 or more (at most 2N) when all N come to a cold cache at once (distribution 2.8 stores a
# miss with one GET and streams it, and every miss that comes while it is in flight, with
# another), two when one client has pulled first, and then none for the N. The figures are printed (tests/run -v t37;
# FLEET_N=8 for more clients).
. "$(dirname "$0")/lib.sh"
test_require_build

N=${FLEET_N:-4}
IMG=$T/img
DIGEST=$(make_image --seed 7 "$IMG" latest 3 1000000) || test_fatal "mkimage failed"
CONF=$XDG_CONFIG_HOME/containers/registries.conf
mkdir -p "$(dirname "$CONF")"

start_mock --auth none || test_fatal "cannot start the origin"
ORIGIN=$MOCK ORIGIN_LOG=$MOCK_LOG ORIGIN_ROOT=$MOCK_ROOT
no_docker_auth
beampush -q push --from "oci:$IMG:latest" "$ORIGIN/beam/python:2.60.0" >/dev/null ||
	test_fatal "cannot push the image"

# origin_bytes LOG: the bytes of the blobs and manifests the origin answered 200 to in LINES
# (a part of its log), each counted as often as it was sent.
origin_bytes() {
	local total=0 what ref size
	while read -r method uri status _; do
		[ "$method" = GET ] && [ "$status" = 200 ] || continue
		case $uri in
		*/blobs/sha256:*) what=blob ;;
		*/manifests/*) what=manifest ;;
		*) continue ;;
		esac
		ref=${uri##*/}
		ref=${ref%%\?*}
		# the origin holds the layout's bytes; a tag names the image's manifest
		case $ref in
		sha256:*) size=$(file_size "$(blob_path_layout "$IMG" "$ref")") ;;
		*) size=$(file_size "$(blob_path_layout "$IMG" "$DIGEST")") ;;
		esac
		total=$((total + size))
	done <"$1"
	echo "$total"
}

# image_bytes: the bytes of one copy of the image (manifest, config, layers).
image_bytes() {
	local total d
	total=$(file_size "$(blob_path_layout "$IMG" "$DIGEST")")
	for d in $(image_blobs "$IMG" latest); do
		total=$((total + $(file_size "$(blob_path_layout "$IMG" "$d")")))
	done
	echo "$total"
}

# fleet NAME: N pulls of the image at once, each into its own layout NAME-i, all verified.
fleet() {
	local i pids=() rc=0
	for i in $(seq 1 "$N"); do
		beampush -q pull --to "oci:$PWD/$1-$i:v" "$ORIGIN/beam/python:2.60.0" \
			>"$1-$i.out" 2>"$1-$i.err" &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || rc=1
	done
	[ $rc = 0 ] || { cat "$1"-*.err; return 1; }
	for i in $(seq 1 "$N"); do
		test_same_image "$IMG" "$1-$i" v "$DIGEST" || return 1
		test_must_be_empty "$1-$i.err" || return 1
	done
}

# blob_gets LOG DIGEST: how many GETs of the blob LOG holds.
blob_gets() {
	grep -cE "^GET /v2/[^ ]*/blobs/$2[ ?]" "$1" || true
}

# per_blob LOG: "CONFIG/LAYER...=GETs" of the image's blobs in LOG, for the figures.
per_blob() {
	local d out=""
	for d in $(image_blobs "$IMG" latest); do
		out="$out ${d:7:12}=$(blob_gets "$1" "$d")"
	done
	echo "${out# }"
}

ONE=$(image_bytes)

test_expect_success REGISTRY "without a cache, $N clients cost the origin $N copies" '
	rm -f "$CONF" &&
	m=$(log_mark "$ORIGIN_LOG") &&
	fleet direct &&
	log_since "$m" "$ORIGIN_LOG" >olog &&
	for d in $(image_blobs "$IMG" latest); do
		test "$(blob_gets olog "$d")" = "$N" || exit 1
	done &&
	bytes=$(origin_bytes olog) &&
	echo "fleet: $N clients, no cache: the origin served $bytes bytes (blob GETs: $(per_blob olog)); one copy of the image is $ONE bytes" &&
	test "$bytes" = $((N * ONE))
'

# cache_conf: a fresh pull-through cache of the origin ($CACHE, its log $CACHE_LOG), the origin's
# mirror in registries.conf.
cache_conf() {
	start_registry "proxy:
  remoteurl: http://$ORIGIN" &&
	CACHE=$REG CACHE_LOG=$REG_LOG &&
	printf "[[registry]]\nlocation = \"%s\"\n\n[[registry.mirror]]\nlocation = \"%s\"\ninsecure = true\n" \
		"$ORIGIN" "$CACHE" >"$CONF"
}

# cache_served LOG: every client got every blob from the cache (its access log).
cache_served() {
	local d
	registry_requests "$CACHE_LOG" >clog
	for d in $(image_blobs "$IMG" latest); do
		[ "$(grep -cE "^GET /v2/beam/python/blobs/$d 200" clog)" = "$1" ] || return 1
	done
}

test_expect_success REGISTRY "$N clients at once through a cold cache: all verified from the cache; the origin pays a copy per miss in flight" '
	cache_conf &&
	m=$(log_mark "$ORIGIN_LOG") &&
	fleet cold &&
	log_since "$m" "$ORIGIN_LOG" >olog &&
	cache_served "$N" &&
	bytes=$(origin_bytes olog) &&
	echo "fleet: $N clients at once through a cold cache: the origin served $bytes bytes, $((bytes * 100 / ONE))% of one copy (blob GETs: $(per_blob olog))" &&
	for d in $(image_blobs "$IMG" latest); do
		n=$(blob_gets olog "$d") &&
		test "$n" -ge 1 && test "$n" -le $((2 * N)) || exit 1
	done
'

test_expect_success REGISTRY "one client first costs the origin two copies (the cache stores a miss and serves it apart), then $N at once cost it no blob" '
	cache_conf &&
	m=$(log_mark "$ORIGIN_LOG") &&
	beampush -q pull --to "oci:$PWD/first:v" "$ORIGIN/beam/python:2.60.0" >/dev/null &&
	test_same_image "$IMG" first v "$DIGEST" &&
	log_since "$m" "$ORIGIN_LOG" >olog &&
	bytes=$(origin_bytes olog) &&
	echo "fleet: the first client through a cold cache: the origin served $bytes bytes, $((bytes * 100 / ONE))% of one copy (blob GETs: $(per_blob olog))" &&
	for d in $(image_blobs "$IMG" latest); do
		n=$(blob_gets olog "$d") &&
		test "$n" -ge 1 && test "$n" -le 2 || exit 1
	done &&
	m=$(log_mark "$ORIGIN_LOG") &&
	fleet warm &&
	log_since "$m" "$ORIGIN_LOG" >olog2 &&
	cache_served $((N + 1)) &&
	test_no_grep /blobs/ olog2 &&
	bytes=$(origin_bytes olog2) &&
	echo "fleet: then $N clients at once through the warm cache: the origin served $bytes bytes ($(grep -c "" olog2) requests: $(cut -d" " -f1 olog2 | sort | uniq -c | tr -s " " | tr "\n" ";"))" &&
	test "$bytes" -lt "$ONE"
'

test_expect_success REGISTRY "the same cache as a hosts.toml mirror (as Spegel and Dragonfly write it): pulls by digest never reach the origin" '
	start_registry "proxy:
  remoteurl: http://$ORIGIN" &&
	CACHE=$REG CACHE_LOG=$REG_LOG &&
	rm -f "$CONF" &&
	mkdir -p "$BEAMPUSH_HOSTS_D/$ORIGIN" &&
	printf "server = \"http://%s\"\n\n[host.\"http://%s\"]\n  capabilities = [\"pull\", \"resolve\"]\n" \
		"$ORIGIN" "$CACHE" >"$BEAMPUSH_HOSTS_D/$ORIGIN/hosts.toml" &&
	beampush -q pull --to "oci:$PWD/first:v" "$ORIGIN/beam/python@$DIGEST" >/dev/null &&
	m=$(log_mark "$ORIGIN_LOG") &&
	for i in $(seq 1 "$N"); do
		beampush -q pull --to "oci:$PWD/d-$i:v" "$ORIGIN/beam/python@$DIGEST" >/dev/null || exit 1
		test_same_image "$IMG" "d-$i" v "$DIGEST" || exit 1
	done &&
	log_since "$m" "$ORIGIN_LOG" >olog &&
	test_must_be_empty olog &&
	registry_requests "$CACHE_LOG" >clog &&
	test_grep -E "^GET /v2/beam/python/manifests/$DIGEST\?ns=[^ ]* 200" clog &&
	rm -rf "$BEAMPUSH_HOSTS_D"
'

test_done
