#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The manual pages lint clean; `make install` puts the command, the pages and the shell
# completions in place; the installed completions offer commands, options and transports.
. "$(dirname "$0")/lib.sh"
test_require_build

# make_install DESTDIR: `make install` of the build under test ($B), which is up to date.
make_install() {
	local san=
	[ "$(basename "$B")" = build-san ] && san=SANITIZE=1
	make -C "$TEST_ROOT" --no-print-directory -s install DESTDIR="$1" PREFIX=/usr $san >/dev/null
}

# complete_bash FILE LINE: the candidates the bash completion in FILE offers at the end of LINE.
complete_bash() {
	bash -c 'source "$1" && COMP_LINE=$2 && COMP_POINT=${#COMP_LINE} && _beampush &&
		printf "%s\n" "${COMPREPLY[@]}"' complete "$1" "$2"
}

test_expect_success MANDOC 'every manual page is clean under mandoc -T lint -W warning' '
	n=0 &&
	for page in "$TEST_ROOT"/man/*.[15]; do
		mandoc -T lint -W warning "$page" >out 2>&1 || { cat out; exit 1; }
		test_must_be_empty out &&
		n=$((n + 1)) || exit 1
	done &&
	test "$n" -ge 7 &&
	for p in beampush beampush-login beampush-logout beampush-push beampush-pull beampush-version; do
		test -f "$TEST_ROOT/man/$p.1" || exit 1
	done &&
	test -f "$TEST_ROOT/man/beampush-config.5"
'

test_expect_success 'make install DESTDIR puts the command, the pages and the completions in place' '
	make_install "$PWD/root" &&
	cmp root/usr/bin/beampush "$B/beampush" &&
	for page in "$TEST_ROOT"/man/*.1; do
		cmp "$page" "root/usr/share/man/man1/$(basename "$page")" || exit 1
	done &&
	cmp "$TEST_ROOT/man/beampush-config.5" root/usr/share/man/man5/beampush-config.5 &&
	cmp "$TEST_ROOT/completions/beampush.bash" root/usr/share/bash-completion/completions/beampush &&
	cmp "$TEST_ROOT/completions/_beampush" root/usr/share/zsh/vendor-completions/_beampush &&
	test "$(stat -c %a root/usr/share/bash-completion/completions/beampush)" = 644
'

test_expect_success 'bash completion: commands, options, values and transports' '
	make_install "$PWD/root" &&
	c=root/usr/share/bash-completion/completions/beampush &&
	bash -c "source $c; COMP_WORDS=(beampush pu); COMP_CWORD=1; _beampush; printf \"%s\n\" \"\${COMPREPLY[@]}\"" >out &&
	printf "push\npull\n" >expect && test_cmp expect out &&
	complete_bash $c "beampush " >out &&
	beampush --help | sed -n "/^commands:/,/^\$/s/^  \([a-z]*\) .*/\1/p" >expect &&
	test_line_count = 10 expect &&
	test_cmp expect out &&
	complete_bash $c "beampush --progress " >out &&
	printf "auto\nplain\njson\nnone\n" >expect && test_cmp expect out &&
	complete_bash $c "beampush --jobs 3 --de" >out &&
	printf "%s\n" --debug >expect && test_cmp expect out &&
	complete_bash $c "beampush --jobs 3 push --c" >out &&
	printf "%s\n" --chunk-size --compression-level >expect && test_cmp expect out &&
	complete_bash $c "beampush push --s" >out &&
	printf "%s\n" --single-put-max --sign-key >expect && test_cmp expect out &&
	complete_bash $c "beampush pull --" >out &&
	printf "%s\n" --to --platform --all-platforms --verify-key --help >expect &&
	test_cmp expect out &&
	complete_bash $c "beampush inspect --" >out &&
	printf "%s\n" --raw --config --format --json --platform --verify-key --help >expect &&
	test_cmp expect out &&
	complete_bash $c "beampush referrers --" >out &&
	printf "%s\n" --artifact-type --format --json --help >expect && test_cmp expect out &&
	complete_bash $c "beampush copy --no" >out &&
	printf "%s\n" --no-referrers >expect && test_cmp expect out &&
	complete_bash $c "beampush login --store " >out &&
	printf "auto\nkeyring\nfile\n" >expect && test_cmp expect out &&
	complete_bash $c "beampush push --from " >out &&
	printf "oci:\noci-archive:\ndocker-archive:\ndocker-daemon:\n" >expect && test_cmp expect out &&
	mkdir -p layout.d other.d && : >image.tar &&
	complete_bash $c "beampush push --from oci:lay" >out &&
	printf "layout.d/\n" >expect && test_cmp expect out &&
	complete_bash $c "beampush pull --to=docker-archive:im" >out &&
	printf "image.tar\n" >expect && test_cmp expect out &&
	complete_bash $c "beampush pull --to=docker-a" >out &&
	printf "docker-archive:\n" >expect && test_cmp expect out &&
	complete_bash $c "beampush pull --to oci" >out &&
	printf "oci:\noci-archive:\n" >expect && test_cmp expect out &&
	complete_bash $c "beampush push --from oci-archive:im" >out &&
	printf "image.tar\n" >expect && test_cmp expect out
'

test_expect_success ZSH 'zsh completion: zsh reads it without a syntax error' '
	make_install "$PWD/root" &&
	zsh -n root/usr/share/zsh/vendor-completions/_beampush &&
	zsh -f -c "fpath=($PWD/root/usr/share/zsh/vendor-completions \$fpath); autoload -Uz _beampush; whence -w _beampush" >out &&
	test_grep -F "_beampush: function" out
'

test_done
