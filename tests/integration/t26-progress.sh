#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Progress as people and tools read it: a board redrawn in place on a terminal, one line per
# event for logs, one JSON object per event for tools, and -q for scripts.
. "$(dirname "$0")/lib.sh"
test_require_build

IMG=$T/img
DIGEST=$(make_image "$IMG" latest 3 200000) || test_fatal "mkimage failed"

test_expect_success 'on a terminal: one row per blob, redrawn in place, ending Pushed' '
	start_mock &&
	script -qfec "\"$BEAMPUSH\" push --from oci:$IMG:latest $MOCK/beam/python:latest" /dev/null >tty &&
	tr -d "\r" <tty >clean &&
	test_grep -F "$(printf "\033[K")" clean &&
	test_grep -E "$(printf "\033")\[[0-9]+A" clean &&
	test "$(grep -c ": layer  Pushed$" clean)" -ge 3 &&
	test_grep -E ": config Pushed$" clean &&
	test_grep -F "digest: $DIGEST" clean
'

test_expect_success 'on a terminal, a second push shows Already exists for every blob' '
	start_mock &&
	beampush -q push --from "oci:$IMG:latest" "$MOCK/beam/python:latest" >/dev/null &&
	script -qfec "\"$BEAMPUSH\" push --from oci:$IMG:latest $MOCK/beam/python:latest" /dev/null >tty &&
	tr -d "\r" <tty >clean &&
	test "$(grep -c "Already exists$" clean)" -ge 4
'

test_expect_success 'not a terminal: plain lines, no escape sequences' '
	start_mock &&
	beampush push --from "oci:$IMG:latest" "$MOCK/beam/python:latest" >out 2>err &&
	test_no_grep -F "$(printf "\033")" err &&
	test "$(grep -c ": layer, .*, started$" err)" = 3 &&
	test "$(grep -c ": layer, .*, done$" err)" = 3
'

test_expect_success '--progress json: one JSON object per line, every blob started and done' '
	start_mock &&
	beampush --progress json push --from "oci:$IMG:latest" "$MOCK/beam/python:latest" >out 2>err &&
	test_no_grep -v "^{\"event\":\"[a-z]*\"" err &&
	test "$(grep -c "^{\"event\":\"start\"" err)" = 4 &&
	test "$(grep -c "^{\"event\":\"done\"" err)" = 4 &&
	test "$(grep -c "^{\"event\":\"manifest\",\"digest\":\"$DIGEST\"" err)" = 1
'

test_expect_success '-q: only the digest on stdout, nothing on stderr' '
	start_mock &&
	beampush -q push --from "oci:$IMG:latest" "$MOCK/beam/python:latest" >out 2>err &&
	echo "$DIGEST" >want &&
	test_cmp want out &&
	test_must_be_empty err
'

test_done
