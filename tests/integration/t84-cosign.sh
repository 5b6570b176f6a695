#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# cosign signatures (issue 16, items 1, 2 and 5): push --sign-key writes what `cosign sign --key`
# writes, pull --verify-key (or the config's verify-key) accepts an image only with a signature
# the key verifies for its digest, inspect lists them. cosign cannot be installed here: its
# formats are made and checked by tests/integration/cosign-fixture (Python's cryptography and
# PyNaCl, not beampush's C): the encrypted key files, the .sig manifests beampush must accept
# or refuse, and the check of what beampush wrote (cosign's payload byte for byte, its config,
# the ECDSA signature verified by Python).
#
# Exit codes chosen: a key file beampush cannot use (not a key, a public key to sign with,
# another curve, a KDF or scrypt parameters cosign does not write, a wrong passphrase) is a
# usage error, 2, before any request. An image without a signature the key verifies is 6,
# whatever was found instead (none, another key's, another digest's, a malformed .sig
# manifest), and nothing is written.
. "$(dirname "$0")/lib.sh"
test_require_build

IMG=$T/img
DIGEST=$(make_image --seed 84 "$IMG" latest 2 3000) || test_fatal "mkimage failed"
HEX=${DIGEST#sha256:}
SIG_TAG=sha256-$HEX.sig
OTHER=$T/other
OTHER_DIGEST=$(make_image --seed 85 "$OTHER" latest 1 2000) || test_fatal "mkimage failed"
INDEX=$T/index
INDEX_DIGEST=$("$TEST_ROOT/scripts/mkindex" "$INDEX" latest linux/amd64 linux/arm64/v8) ||
	test_fatal "mkindex failed"
FFF=sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff

# Keys as OpenSSL writes them: PKCS#8 and SEC 1 private keys, their public keys; a P-384 one.
K=$T/keys
mkdir -p "$K"
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt \
	-out "$K/a.key" && openssl pkey -in "$K/a.key" -pubout -out "$K/a.pub" 2>/dev/null &&
	openssl ecparam -name prime256v1 -genkey -noout -out "$K/b.key" 2>/dev/null &&
	openssl pkey -in "$K/b.key" -pubout -out "$K/b.pub" 2>/dev/null &&
	openssl ecparam -name secp384r1 -genkey -noout -out "$K/p384.key" 2>/dev/null ||
	test_fatal "openssl could not make the keys"

# err_is_one_clean_line FILE: FILE is one printable line from beampush, no sanitizer report.
err_is_one_clean_line() {
	test_line_count = 1 "$1" &&
	test_grep "^beampush: " "$1" &&
	test_no_grep -e AddressSanitizer -e LeakSanitizer -e "runtime error" "$1" &&
	test -z "$(tr -d '\n[:print:]' <"$1")"
}

# push_signed KEY [REPO]: push IMG to the mock as REPO:latest (default beam/python), signed.
push_signed() {
	beampush --progress none push --from oci:$IMG:latest --sign-key "$1" \
		"$MOCK/${2:-beam/python}:latest" >out 2>err
}

# pull_refused REF PUB [DEST-KIND]: pull --verify-key PUB exits 6 with one clean line and writes
# nothing: no layout (or archive) and no temporary directory in ./dest.
pull_refused() {
	mkdir -p dest &&
	case ${3:-oci} in
	oci) to=oci:$PWD/dest/pulled:latest ;;
	oci-archive) to=oci-archive:$PWD/dest/pulled.tar ;;
	docker-archive) to=docker-archive:$PWD/dest/pulled.tar ;;
	esac &&
	test_expect_code 6 beampush --progress none pull --verify-key "$2" --to "$to" "$1" \
		>out 2>err &&
	test_must_be_empty out &&
	err_is_one_clean_line err &&
	cat err &&
	test -z "$(ls -A dest)"
}

# blob_gets_since MARK: how many blobs the mock was asked for since log_mark gave MARK.
blob_gets_since() {
	log_since "$1" | grep -cE "^GET /v2/[^ ]*/blobs/" || true
}

test_expect_success PYCOSIGN 'push --sign-key: the .sig manifest cosign writes, checked by Python' '
	start_mock --auth token --user alice:pw &&
	docker_auth "$MOCK" alice pw &&
	push_signed "$K/a.key" &&
	test_grep -F "digest: $DIGEST" out &&
	test_grep -Fx "signed: $MOCK/beam/python:$SIG_TAG (1 signature)" out &&
	test_must_be_empty err &&
	grep -F "$SIG_TAG" "$MOCK_LOG" | sed "s/ ct=.*//" >sig.log &&
	printf "%s\n" "GET /v2/beam/python/manifests/$SIG_TAG 404 auth=bearer:alice" \
		"PUT /v2/beam/python/manifests/$SIG_TAG 201 auth=bearer:alice" >expect &&
	test_cmp expect sig.log &&
	COSIGN_FIXTURE_USER=alice:pw $COSIGN_FIXTURE check "$MOCK" beam/python "$DIGEST" \
		"$K/a.pub" >check &&
	test_line_count = 1 check &&
	test_grep "^verified sha256:" check
'

test_expect_success PYCOSIGN 'a second key adds a layer; the same key again adds nothing' '
	start_mock --auth none &&
	push_signed "$K/a.key" &&
	push_signed "$K/b.key" &&
	test_grep -Fx "signed: $MOCK/beam/python:$SIG_TAG (2 signatures)" out &&
	$COSIGN_FIXTURE check "$MOCK" beam/python "$DIGEST" "$K/b.pub" | cut -d" " -f1 >check &&
	printf "other\nverified\n" >expect && test_cmp expect check &&
	mark=$(log_mark) &&
	push_signed "$K/a.key" &&
	test_grep -Fx "signed: $MOCK/beam/python:$SIG_TAG (2 signatures, this key'"'"'s there already)" out &&
	test "$(log_since $mark | grep -c "^PUT /v2/beam/python/manifests/$SIG_TAG")" = 0 &&
	$COSIGN_FIXTURE check "$MOCK" beam/python "$DIGEST" "$K/a.pub" | cut -d" " -f1 >check &&
	printf "verified\nother\n" >expect && test_cmp expect check
'

test_expect_success PYCOSIGN 'a signature manifest written by Python (as cosign) gets beampush'"'"'s beside it' '
	start_mock --auth none &&
	beampush --progress none push --from oci:$IMG:latest $MOCK/beam/python:latest >/dev/null &&
	$COSIGN_FIXTURE sign "$MOCK" beam/python "$DIGEST" "$K/b.key" >/dev/null &&
	push_signed "$K/a.key" &&
	test_grep -F "(2 signatures)" out &&
	$COSIGN_FIXTURE check "$MOCK" beam/python "$DIGEST" "$K/a.pub" | cut -d" " -f1 >check &&
	printf "other\nverified\n" >expect && test_cmp expect check
'

test_expect_success PYCOSIGN 'a .sig tag that holds no signature manifest, or a full one, is left as it is: exit 1 after the push' '
	start_mock --auth none &&
	beampush --progress none push --from oci:$IMG:latest $MOCK/beam/python:latest >/dev/null &&
	was=$($COSIGN_FIXTURE sign "$MOCK" beam/python "$DIGEST" "$K/b.key" --layers 1001) &&
	test_expect_code 1 push_signed "$K/a.key" &&
	err_is_one_clean_line err &&
	test_grep -F "beampush: push: pushed $MOCK/beam/python@$DIGEST, but not signed: the manifest at tag $SIG_TAG of $MOCK/beam/python is no signature manifest, left as it is: 1001 layers, more than the 1000 cosign allows" err &&
	test "$(cat "$MOCK_ROOT/repos/beam/python/_tags/$SIG_TAG")" = "$was" &&
	was=$($COSIGN_FIXTURE sign "$MOCK" beam/python "$DIGEST" "$K/b.key" --layers 1000) &&
	test_expect_code 1 push_signed "$K/a.key" &&
	test_grep -F "not signed: signing $DIGEST at tag $SIG_TAG: the signature manifest holds 1000 signatures already, the most cosign reads" err &&
	test "$(cat "$MOCK_ROOT/repos/beam/python/_tags/$SIG_TAG")" = "$was"
'

test_expect_success PYCOSIGN 'an encrypted cosign key (made by Python): COSIGN_PASSWORD; a wrong one sends nothing' '
	start_mock --auth none &&
	$COSIGN_FIXTURE genkey enc.key enc.pub "beam me up" &&
	test_grep -Fx -- "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----" enc.key &&
	mark=$(log_mark) &&
	COSIGN_PASSWORD="beam me down" test_expect_code 2 push_signed enc.key &&
	err_is_one_clean_line err &&
	test_grep -Fx "beampush: push: enc.key: wrong passphrase (or a damaged key file)" err &&
	test "$(log_mark)" = "$mark" &&
	test_expect_code 2 env -u COSIGN_PASSWORD setsid -w "$BEAMPUSH" --progress none push \
		--from oci:$IMG:latest --sign-key enc.key $MOCK/beam/python:latest >out 2>err &&
	test_grep -F "enc.key is encrypted: set COSIGN_PASSWORD, or run on a terminal" err &&
	test "$(log_mark)" = "$mark" &&
	COSIGN_PASSWORD="beam me up" push_signed enc.key &&
	test_grep -F "(1 signature)" out &&
	$COSIGN_FIXTURE check "$MOCK" beam/python "$DIGEST" enc.pub >check &&
	test_grep "^verified " check &&
	$COSIGN_FIXTURE genkey old.key old.pub "" --label "ENCRYPTED COSIGN PRIVATE KEY" &&
	COSIGN_PASSWORD= push_signed old.key &&
	$COSIGN_FIXTURE check "$MOCK" beam/python "$DIGEST" old.pub | cut -d" " -f1 >check &&
	printf "other\nverified\n" >expect && test_cmp expect check
'

test_expect_success PYCOSIGN 'key files beampush cannot use: exit 2, one line, no request' '
	start_mock --auth none &&
	echo "not a key" >junk.key &&
	$COSIGN_FIXTURE genkey n20.key n20.pub pw --params 1048576,8,1 &&
	$COSIGN_FIXTURE genkey argon.key argon.pub pw --kdf argon2id &&
	head -c 100000 /dev/zero | tr "\0" "A" >huge.key &&
	mark=$(log_mark) &&
	for row in \
		"junk.key|junk.key: not a key file (no PEM block)" \
		"$K/a.pub|$K/a.pub is a public key: signing needs the private key" \
		"$K/p384.key|$K/p384.key: an ECDSA key on P-256 is needed (cosign'"'"'s), not EC on secp384r1" \
		"n20.key|n20.key: scrypt parameters N=1048576 r=8 p=1 are not ones cosign writes" \
		"argon.key|argon.key: key derivation argon2id is not cosign'"'"'s (scrypt)" \
		"huge.key|huge.key: larger than 64 KiB, not a key file" \
		"missing.key|cannot read the key missing.key: No such file or directory" \
		"$K|cannot read the key $K: Is a directory"
	do
		COSIGN_PASSWORD=pw test_expect_code 2 push_signed "${row%%|*}" &&
		err_is_one_clean_line err &&
		test_grep -F "beampush: push: ${row#*|}" err || exit 1
	done &&
	for row in \
		"junk.key|junk.key: not a key file (no PEM block)" \
		"$K/a.key|$K/a.key is a private key: verifying needs the public key (cosign.pub)"
	do
		test_expect_code 2 beampush pull --verify-key "${row%%|*}" --to oci:$PWD/p \
			$MOCK/beam/python:latest 2>err &&
		test_grep -F "beampush: pull: ${row#*|}" err || exit 1
	done &&
	test "$(log_mark)" = "$mark" &&
	test ! -e p
'

test_expect_success 'pull --verify-key: a signed image is pulled, as it is into every destination' '
	start_mock --auth none &&
	push_signed "$K/a.key" &&
	beampush --progress none pull --verify-key "$K/a.pub" --to oci:$PWD/pulled:latest \
		$MOCK/beam/python:latest >out &&
	test_grep -Fx "signature: verified with $K/a.pub" out &&
	test "$(layout_digest pulled latest)" = "$DIGEST" &&
	beampush --progress none pull --verify-key "$K/a.pub" --to docker-archive:$PWD/d.tar \
		$MOCK/beam/python:latest >/dev/null &&
	test -s d.tar &&
	beampush --progress none pull --verify-key "$K/a.pub" --to oci-archive:$PWD/o.tar \
		$MOCK/beam/python@$DIGEST >/dev/null &&
	test -s o.tar
'

test_expect_success PYCOSIGN 'pull --verify-key refuses, exit 6 and nothing written: no signature, another key'"'"'s, another digest'"'"'s' '
	start_mock --auth none &&
	beampush --progress none push --from oci:$OTHER:latest $MOCK/beam/unsigned:latest >/dev/null &&
	for kind in oci oci-archive docker-archive; do
		pull_refused $MOCK/beam/unsigned:latest "$K/a.pub" $kind &&
		test_grep -F "beampush: $MOCK/beam/unsigned:latest: no valid signature for $OTHER_DIGEST: it has no signature (no tag sha256-${OTHER_DIGEST#sha256:}.sig)" err ||
		exit 1
	done &&
	push_signed "$K/b.key" &&
	pull_refused $MOCK/beam/python:latest "$K/a.pub" &&
	test_grep -F "1 signature at tag $SIG_TAG, none made with the key for this digest: 1 by another key" err &&
	$COSIGN_FIXTURE sign "$MOCK" beam/python "$DIGEST" "$K/a.key" --names "$FFF" --append >/dev/null &&
	pull_refused $MOCK/beam/python:latest "$K/a.pub" docker-archive &&
	test_grep -F "2 signatures at tag $SIG_TAG, none made with the key for this digest: 1 by another key, 1 naming another image ($FFF)" err &&
	$COSIGN_FIXTURE sign "$MOCK" beam/python "$DIGEST" "$K/a.key" --append >/dev/null &&
	beampush --progress none pull --verify-key "$K/a.pub" --to oci:$PWD/pulled:latest \
		$MOCK/beam/python:latest >out &&
	test "$(layout_digest pulled latest)" = "$DIGEST"
'

test_expect_success PYCOSIGN 'hostile .sig manifests: exit 6, a clear line, nothing written, no payload fetched in vain' '
	start_mock --auth none &&
	beampush --progress none push --from oci:$IMG:latest $MOCK/beam/python:latest >/dev/null &&
	for row in \
		"--layers 1001|the manifest at tag $SIG_TAG is no signature manifest: 1001 layers, more than the 1000 cosign allows|0" \
		"--layers 1000 --bad base64|1000 signatures at tag $SIG_TAG, none made with the key for this digest: 1000 malformed (signature annotation is not base64)|0" \
		"--bad der|1 malformed (signature is not a DER ECDSA signature)|0" \
		"--payload-bytes 3000000|1 malformed (payload of 3000000 bytes, more than the 65536 read)|0" \
		"--bad payload-json|1 malformed (payload is not a simple signing object (no \"critical\"))|1" \
		"--deep 30000|1 malformed (payload is not JSON (or nested deeper than 1000))|1"
	do
		set -- ${row%%|*} &&
		$COSIGN_FIXTURE sign "$MOCK" beam/python "$DIGEST" "$K/a.key" "$@" >/dev/null &&
		mark=$(log_mark) &&
		pull_refused $MOCK/beam/python:latest "$K/a.pub" &&
		rest=${row#*|} &&
		test_grep -F "${rest%|*}" err &&
		test "$(blob_gets_since $mark)" = "${rest##*|}" || exit 1
	done
'

test_expect_success PYCOSIGN 'a signature cosign would write (Python'"'"'s) is accepted; the index'"'"'s covers its platforms' '
	start_mock --auth none &&
	beampush --progress none push --from oci:$IMG:latest $MOCK/beam/python:latest >/dev/null &&
	$COSIGN_FIXTURE sign "$MOCK" beam/python "$DIGEST" "$K/b.key" >/dev/null &&
	beampush --progress none pull --verify-key "$K/b.pub" --to oci:$PWD/pulled:latest \
		$MOCK/beam/python:latest >/dev/null &&
	test "$(layout_digest pulled latest)" = "$DIGEST" &&
	beampush --progress none push --from oci:$INDEX:latest --sign-key "$K/a.key" \
		$MOCK/beam/multi:latest >out &&
	test_grep -F "signed: $MOCK/beam/multi:sha256-${INDEX_DIGEST#sha256:}.sig" out &&
	beampush --progress none --platform linux/arm64/v8 pull --verify-key "$K/a.pub" \
		--to oci:$PWD/arm:latest $MOCK/beam/multi:latest >/dev/null &&
	test -n "$(layout_digest arm latest)" &&
	pull_refused $MOCK/beam/multi:latest "$K/b.pub"
'

test_expect_success 'the config'"'"'s verify-key: pulls under its prefix need a signature; a bad one is exit 2' '
	start_mock --auth none &&
	push_signed "$K/a.key" &&
	beampush --progress none push --from oci:$OTHER:latest $MOCK/beam/unsigned:latest >/dev/null &&
	printf "{\"registries\": [{\"prefix\": \"%s/beam\", \"verify-key\": \"%s\"}]}\n" \
		"$MOCK" "$K/a.pub" >config.json &&
	BEAMPUSH_CONFIG=$PWD/config.json &&
	export BEAMPUSH_CONFIG &&
	beampush --progress none pull --to oci:$PWD/pulled:latest $MOCK/beam/python:latest >out &&
	test_grep -Fx "signature: verified with $K/a.pub" out &&
	pull_refused $MOCK/beam/unsigned:latest "$K/a.pub" &&
	test_expect_code 6 beampush pull --to oci:$PWD/dest/x:latest $MOCK/beam/unsigned:latest \
		2>err &&
	test_grep -F "no valid signature for $OTHER_DIGEST" err &&
	test ! -e dest/x &&
	beampush --progress none pull --verify-key "$K/a.pub" --to oci:$PWD/other:latest \
		$MOCK/beam/python:latest >/dev/null &&
	printf "{\"registries\": [{\"prefix\": \"%s/beam\", \"verify-key\": \"%s\"}]}\n" \
		"$MOCK" "$PWD/missing.pub" >config.json &&
	test_expect_code 2 beampush pull --to oci:$PWD/dest/y:latest $MOCK/beam/python:latest 2>err &&
	test_grep -F "cannot read the key $PWD/missing.pub: No such file or directory (the verify-key of beampush'"'"'s config)" err &&
	printf "{\"registries\": [{\"prefix\": \"%s/beam\", \"verify-key\": \"k.pub\"}]}\n" \
		"$MOCK" >config.json &&
	test_expect_code 2 beampush pull --to oci:$PWD/dest/y:latest $MOCK/beam/python:latest 2>err &&
	test_grep -F "registries[0].verify-key must be the absolute path of a public key" err &&
	test ! -e dest/y
'

test_expect_success PYCOSIGN 'inspect lists the signatures; with --verify-key it exits 6 when none verifies' '
	start_mock --auth none &&
	beampush --progress none push --from oci:$OTHER:latest $MOCK/beam/unsigned:latest >/dev/null &&
	beampush inspect $MOCK/beam/unsigned:latest >out &&
	test_grep -Fx "Signatures:  0" out &&
	push_signed "$K/a.key" &&
	$COSIGN_FIXTURE sign "$MOCK" beam/python "$DIGEST" "$K/b.key" --names "$FFF" --append >/dev/null &&
	beampush inspect $MOCK/beam/python:latest >out &&
	test_grep -Fx "Signatures:  2 (tag $SIG_TAG)" out &&
	test "$(grep -c "^  sha256:[0-9a-f]*  unchecked (no --verify-key), names " out)" = 2 &&
	test_expect_code 6 beampush inspect --verify-key "$K/b.pub" $MOCK/beam/python:latest \
		>out 2>err &&
	test_grep -E "^  sha256:[0-9a-f]{64}  not made with this key, names $DIGEST\$" out &&
	test_grep -E "^  sha256:[0-9a-f]{64}  made with this key for $FFF\$" out &&
	test_grep -F "no valid signature for $DIGEST" err &&
	beampush inspect --verify-key "$K/a.pub" --format json $MOCK/beam/python:latest >json &&
	"$PYTHON3" -c "import json, sys
s = json.load(open(\"json\"))[\"Signatures\"]
assert [x[\"State\"] for x in s] == [\"verified\", \"other key\"], s
assert s[0][\"Image\"] == \"$DIGEST\" and s[0][\"Identity\"] == \"$MOCK/beam/python\", s" &&
	$COSIGN_FIXTURE sign "$MOCK" beam/python "$DIGEST" "$K/a.key" --layers 1001 >/dev/null &&
	beampush inspect $MOCK/beam/python:latest >out &&
	test_grep -F "Signatures:  the manifest at tag $SIG_TAG is no signature manifest: 1001 layers" out &&
	test_expect_code 6 beampush inspect --verify-key "$K/a.pub" $MOCK/beam/python:latest >out 2>err
'

test_expect_success PYCOSIGN,REGISTRY 'distribution 2.8: sign twice, checked by Python; pull --verify-key' '
	start_registry &&
	beampush --progress none push --from oci:$IMG:latest --sign-key "$K/a.key" \
		$REG/beam/python:latest >out &&
	beampush --progress none push --from oci:$IMG:latest --sign-key "$K/b.key" \
		$REG/beam/python:latest >out &&
	test_grep -F "(2 signatures)" out &&
	$COSIGN_FIXTURE check "$REG" beam/python "$DIGEST" "$K/a.pub" | cut -d" " -f1 >check &&
	printf "verified\nother\n" >expect && test_cmp expect check &&
	beampush --progress none pull --verify-key "$K/b.pub" --to oci:$PWD/pulled:latest \
		$REG/beam/python:latest >/dev/null &&
	test "$(layout_digest pulled latest)" = "$DIGEST" &&
	beampush --progress none push --from oci:$OTHER:latest $REG/beam/unsigned:latest >/dev/null &&
	pull_refused $REG/beam/unsigned:latest "$K/a.pub"
'

test_done
