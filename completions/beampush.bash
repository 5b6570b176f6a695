# SPDX-License-Identifier: Apache-2.0
# bash completion for beampush: commands, global and per-command options, option values,
# and image sources and destinations (oci:DIR, oci-archive:FILE, docker-archive:FILE,
# docker-daemon:REF).
# Needs nothing from the bash-completion package; installed as
# $(PREFIX)/share/bash-completion/completions/beampush by `make install`.

# _beampush_reply PREFIX WORDS...: COMPREPLY gets the WORDS that start with PREFIX.
_beampush_reply()
{
	local cur=$1 w
	shift
	COMPREPLY=()
	for w in "$@"; do
		[[ $w == "$cur"* ]] && COMPREPLY+=("$w")
	done
}

# _beampush_transport CUR: sources and destinations; directories after oci:, files after
# oci-archive: and docker-archive:.
_beampush_transport()
{
	local cur=$1 t path f
	COMPREPLY=()
	case $cur in
	oci:* | oci-archive:* | docker-archive:*)
		t=${cur%%:*}:
		path=${cur#*:}
		while IFS= read -r f; do
			[ -n "$f" ] || continue
			if [ -d "$f" ]; then
				COMPREPLY+=("$t$f/")
			elif [ "$t" != oci: ]; then
				COMPREPLY+=("$t$f")
			fi
		done < <(compgen -f -- "$path")
		;;
	docker-daemon:*)
		;;
	*)
		_beampush_reply "$cur" oci: oci-archive: docker-archive: docker-daemon:
		;;
	esac
	# a transport or a directory goes on: no space after it
	compopt -o nospace 2>/dev/null
}

_beampush()
{
	local cur prev cmd line i w n skip
	local -a ws
	local commands="login logout push pull copy inspect tags referrers delete version"
	local globals="--insecure-registry --tls-verify=false --tls-verify=true --jobs --retries
		--platform --progress -q --quiet --debug --digestfile -h --help --version"

	# The words before the cursor, split at white space only: bash also splits at ':',
	# which would cut oci:DIR in two.
	if [ -n "${COMP_LINE:-}" ]; then
		line=${COMP_LINE:0:${COMP_POINT:-${#COMP_LINE}}}
		cur=${line##*[[:space:]]}
		read -ra ws <<<"${line%"$cur"}"
	else
		cur=${COMP_WORDS[COMP_CWORD]}
		ws=("${COMP_WORDS[@]:0:COMP_CWORD}")
	fi
	n=${#ws[@]}
	prev=
	[ "$n" -gt 1 ] && prev=${ws[n - 1]}

	# the command: the first word after the global options and their values
	cmd=
	skip=
	for ((i = 1; i < n; i++)); do
		w=${ws[i]}
		if [ -n "$skip" ]; then
			skip=
			continue
		fi
		case $w in
		--insecure-registry | --jobs | --retries | --platform | --progress | --digestfile)
			skip=1 ;;
		-*) ;;
		*) cmd=$w; break ;;
		esac
	done

	# values of options, written as the next word or after '='
	case $cur in
	--from=* | --to=*)
		w=${cur%%=*}=
		_beampush_transport "${cur#*=}"
		COMPREPLY=("${COMPREPLY[@]/#/$w}")
		prev=
		;;
	--progress=*)
		_beampush_reply "$cur" --progress=auto --progress=plain --progress=json --progress=none
		prev=
		;;
	--store=*)
		_beampush_reply "$cur" --store=auto --store=keyring --store=file
		prev=
		;;
	*)
		case $prev in
		--from | --to) _beampush_transport "$cur" ;;
		--progress) _beampush_reply "$cur" auto plain json none ;;
		--format) _beampush_reply "$cur" text json ;;
		--store) _beampush_reply "$cur" auto keyring file ;;
		--platform)
			_beampush_reply "$cur" linux/amd64 linux/arm64 linux/arm/v7 linux/ppc64le linux/s390x ;;
		--digestfile | --sign-key | --verify-key) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
		--insecure-registry | --jobs | --retries | --chunk-size | --single-put-max | \
			--compression-level | -u | --username | --artifact-type)
			COMPREPLY=() ;;
		*) prev= ;;
		esac
		;;
	esac

	if [ -z "$prev" ] && [[ $cur != --*=* ]]; then
		if [ -z "$cmd" ]; then
			if [[ $cur == -* ]]; then
				# shellcheck disable=SC2086
				_beampush_reply "$cur" $globals
			else
				# shellcheck disable=SC2086
				_beampush_reply "$cur" $commands
			fi
		elif [[ $cur == -* ]]; then
			case $cmd in
			push) _beampush_reply "$cur" --from --digestfile --chunk-size --single-put-max \
				--compression-level --sign-key -h --help ;;
			pull) _beampush_reply "$cur" --to --platform --all-platforms --verify-key -h --help ;;
			copy) _beampush_reply "$cur" --platform --digestfile --all-tags --tags --keep-going \
				--rate-limit-wait --no-referrers -h --help ;;
			referrers) _beampush_reply "$cur" --artifact-type --format --json -h --help ;;
			inspect) _beampush_reply "$cur" --raw --config --format --json --platform --verify-key \
				-h --help ;;
			login) _beampush_reply "$cur" -u --username --password-stdin --store -h --help ;;
			logout | version | tags | delete) _beampush_reply "$cur" -h --help ;;
			*) COMPREPLY=() ;;
			esac
		else
			COMPREPLY=()
		fi
	fi

	# bash replaces only the part of the word after its last ':' or '=' (COMP_WORDBREAKS)
	w=
	[[ ${COMP_WORDBREAKS-} == *:* ]] && w+=:
	[[ ${COMP_WORDBREAKS-} == *=* ]] && w+==
	if [ -n "$w" ] && [[ $cur == *["$w"]* ]]; then
		w=${cur%"${cur##*["$w"]}"}
		COMPREPLY=("${COMPREPLY[@]#"$w"}")
	fi
	return 0
}

complete -F _beampush beampush
