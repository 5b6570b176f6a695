# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# lib.sh: the integration test library, sourced by every tests/integration/tNN-*.sh.
#
# In the manner of git's test-lib: a file is a list of scenarios,
#
#	test_expect_success 'push then pull gives the same bytes' '
#		start_mock --auth none &&
#		beampush push --from oci:$IMG:latest $MOCK/beam/python:latest >out &&
#		...
#	'
#	test_done
#
# Each scenario body runs in a subshell (with `set -e` as a safety net; chain with && all the
# same), in its own empty directory under the file's temporary directory $T, with stdin from
# /dev/null; its output is shown only when it fails (or with -v). It prints one TAP line,
# `ok N - name` or `not ok N - name`; test_done prints the plan and exits 1 if any failed.
# An optional first argument names prerequisites (test_have_prereq): unmet, the scenario is
# reported as `ok N - name # SKIP`.
#
# Servers (start_mock, start_registry) are started inside the scenario that needs them and are
# stopped when it ends; servers started outside any scenario live until the file ends. The EXIT
# trap stops every server and removes $T, also when a scenario fails or the file is
# interrupted. HOME, DOCKER_CONFIG and XDG_RUNTIME_DIR point into $T: no test reads or
# writes the user's credentials.
#
# Options to a test file: -v (show every scenario's output), -k (keep $T), -x (show the trace
# of every scenario; a failing one always shows its last traced commands).
# The same as environment: BP_TEST_VERBOSE=1, BP_TEST_KEEP=1, BP_TEST_TRACE=1.
# B is the build directory (default: build); BP_TEST_CMD_TIMEOUT bounds each beampush run
# (default 60 s).

TEST_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TEST_NAME=$(basename "$0" .sh)

: "${B:=build}"
case $B in
/*) ;;
*) B=$(cd "$B" 2>/dev/null && pwd || echo "$PWD/$B") ;;
esac
export B
BEAMPUSH=$B/beampush
MOCK_REGISTRY=$B/mock-registry
MKIMAGE=$TEST_ROOT/scripts/mkimage
# The docker CLI of Debian's docker.io, by its path: another docker client installed in
# /usr/local/bin may come first in PATH.
: "${DOCKER_CLI:=/usr/bin/docker}"
# Debian's python3, where python3-cryptography and python3-nacl are (another python3 may come
# first in PATH): tests/integration/cosign-fixture runs on it.
if [ -z "${PYTHON3:-}" ]; then
	PYTHON3=python3
	[ -x /usr/bin/python3 ] && PYTHON3=/usr/bin/python3
fi
COSIGN_FIXTURE="$PYTHON3 $TEST_ROOT/tests/integration/cosign-fixture"

for _bp_arg in "$@"; do
	case $_bp_arg in
	-v|--verbose) BP_TEST_VERBOSE=1 ;;
	-k|--keep) BP_TEST_KEEP=1 ;;
	-x|--trace) BP_TEST_TRACE=1 BP_TEST_VERBOSE=1 ;;
	esac
done

test_count=0
test_failures=0
test_skips=0

T=$(mktemp -d "${TMPDIR:-/tmp}/beampush-$TEST_NAME.XXXXXX") || {
	echo "Bail out! cannot create a temporary directory"
	exit 1
}
export T
: >"$T/.servers"
mkdir -p "$T/home" "$T/docker" "$T/run"
chmod 0700 "$T/run"
export HOME=$T/home
export DOCKER_CONFIG=$T/docker
export XDG_RUNTIME_DIR=$T/run
# Nor the user's blob cache (diff_id -> pushed digest, repositories holding a blob).
export XDG_CACHE_HOME=$T/cache
unset DOCKER_HOST REGISTRY_AUTH_FILE
# Nor the user's endpoint mapping (beampush-config(5)): config.json and registries.conf are
# read from $T/home/.config (the system's /etc/containers/registries.conf still applies).
export XDG_CONFIG_HOME=$T/home/.config
unset BEAMPUSH_CONFIG CONTAINERS_REGISTRIES_CONF
# Nor the user's state (saved upload sessions, what was learnt of each registry host), and each
# scenario its own unless the file exports one of its own: what one scenario's registry taught
# (its auth challenge, whether it stores a POST) never changes the requests of the next.
unset XDG_STATE_HOME
# Nor the machine's mirrors (containerd's hosts directory, /etc/containerd/certs.d): a test that
# wants some writes $BEAMPUSH_HOSTS_D/HOST/hosts.toml.
export BEAMPUSH_HOSTS_D=$T/hosts.d
export LC_ALL=C
# Nor the user's login keyring: no session bus, but the private one of a file that set up its own
# (t80: BP_TEST_PRIVATE_BUS).
[ -n "${BP_TEST_PRIVATE_BUS:-}" ] || unset DBUS_SESSION_BUS_ADDRESS

# --- cleanup -------------------------------------------------------------------------------

# _bp_alive PID: is PID running (and not a zombie)?
_bp_alive() {
	kill -0 "$1" 2>/dev/null || return 1
	case $(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) in
	Z|X) return 1 ;;
	esac
	return 0
}

# _bp_stop_servers [FIRST-LINE]: stop the servers listed in $T/.servers from line FIRST-LINE
# (default 1) on. A line "PID NAME" is a server that stops within 3 s of SIGTERM (else
# SIGKILL); a line "PID NAME FUNCTION ARG" one that needs more: FUNCTION ARG is run first (the
# last such line first) and must have stopped it, and whatever it started, when it returns.
_bp_stop_servers() {
	local from=${1:-1} pids pid i alive hook arg
	[ -f "$T/.servers" ] || return 0
	while read -r pid _ hook arg; do
		[ -n "$hook" ] && "$hook" "$arg"
	done <<-EOF
	$(tail -n +"$from" "$T/.servers" | tac)
	EOF
	pids=$(tail -n +"$from" "$T/.servers" | cut -d' ' -f1)
	[ -n "$pids" ] || return 0
	for pid in $pids; do
		kill -TERM "$pid" 2>/dev/null
	done
	i=0
	while [ $i -lt 60 ]; do
		alive=
		for pid in $pids; do
			_bp_alive "$pid" && alive=1
		done
		[ -n "$alive" ] || break
		sleep 0.05
		i=$((i + 1))
	done
	for pid in $pids; do
		_bp_alive "$pid" && kill -KILL "$pid" 2>/dev/null
	done
	for pid in $pids; do
		wait "$pid" 2>/dev/null
	done
	return 0
}

_bp_cleanup() {
	local rc=$?
	trap - EXIT
	# a caller under `set -e` (the benches) must not stop the cleanup half way
	set +e
	_bp_stop_servers 1
	if [ -n "${BP_TEST_KEEP:-}" ]; then
		echo "# kept $T"
	else
		rm -rf "$T"
	fi
	exit $rc
}
trap _bp_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# --- TAP -----------------------------------------------------------------------------------

_bp_prefix() {
	sed 's/^/# /'
}

# test_have_prereq NAME[,NAME...]: true when every named prerequisite is met.
test_have_prereq() {
	local p
	for p in $(echo "$1" | tr ',' ' '); do
		case $p in
		SKOPEO) command -v skopeo >/dev/null 2>&1 || return 1 ;;
		REGISTRY) command -v docker-registry >/dev/null 2>&1 || return 1 ;;
		# Debian's python3 with python3-h2, for tests/integration/h2-proxy
		H2PROXY) /usr/bin/python3 -c 'import h2' >/dev/null 2>&1 || return 1 ;;
		HTPASSWD) command -v htpasswd >/dev/null 2>&1 || return 1 ;;
		KEYRING)
			command -v gnome-keyring-daemon >/dev/null 2>&1 &&
				command -v dbus-send >/dev/null 2>&1 &&
				command -v secret-tool >/dev/null 2>&1 &&
				[ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ] || return 1
			;;
		SECRETSERVICE_HELPER)
			command -v docker-credential-secretservice >/dev/null 2>&1 || return 1 ;;
		# podman's Engine API as the Docker daemon; as root only: rootless podman's storage
		# holds files of subordinate uids that the cleanup could not remove
		PODMAN)
			command -v podman >/dev/null 2>&1 && command -v curl >/dev/null 2>&1 &&
				[ "$(id -u)" = 0 ] || return 1
			;;
		# the Docker Engine (Debian's docker.io: dockerd, its containerd and ctr, and its
		# docker CLI, /usr/bin/docker), as root: see start_dockerd
		DOCKERD)
			command -v dockerd >/dev/null 2>&1 && command -v containerd >/dev/null 2>&1 &&
				command -v ctr >/dev/null 2>&1 && [ -x "$DOCKER_CLI" ] &&
				command -v curl >/dev/null 2>&1 && [ "$(id -u)" = 0 ] || return 1
			;;
		# a containerd of the tests' own and its ctr, as root: see start_containerd
		CONTAINERD)
			command -v containerd >/dev/null 2>&1 && command -v ctr >/dev/null 2>&1 &&
				[ "$(id -u)" = 0 ] || return 1
			;;
		# no Docker daemon at the default socket (for scenarios that unset DOCKER_HOST)
		NO_DOCKER_SOCKET) [ ! -e /var/run/docker.sock ] || return 1 ;;
		MANDOC) command -v mandoc >/dev/null 2>&1 || return 1 ;;
		# cosign's formats made and checked by tests/integration/cosign-fixture
		PYCOSIGN) "$PYTHON3" -c 'import cryptography, nacl' >/dev/null 2>&1 || return 1 ;;
		ZSH) command -v zsh >/dev/null 2>&1 || return 1 ;;
		*) echo "# unknown prerequisite $p" >&2; return 1 ;;
		esac
	done
	return 0
}

# test_expect_success [PREREQ] NAME BODY
test_expect_success() {
	local prereq="" name body dir out rc mark
	if [ $# -eq 3 ]; then
		prereq=$1
		shift
	fi
	if [ $# -ne 2 ]; then
		echo "Bail out! test_expect_success: bad arguments: $*"
		exit 1
	fi
	name=$1
	body=$2
	test_count=$((test_count + 1))
	if [ -n "$prereq" ] && ! test_have_prereq "$prereq"; then
		test_skips=$((test_skips + 1))
		echo "ok $test_count - $name # SKIP missing $prereq"
		return 0
	fi
	dir=$T/t$test_count
	out=$T/t$test_count.out
	mkdir -p "$dir"
	mark=$(($(wc -l <"$T/.servers") + 1))
	(
		cd "$dir" || exit 1
		# The trace goes to its own file, shown when the scenario fails (with -x, into the
		# output); never into a file that a command's stderr is redirected to.
		if [ -n "${BP_TEST_TRACE:-}" ]; then
			exec 9>&2
		else
			exec 9>"$T/t$test_count.trace"
		fi
		BASH_XTRACEFD=9
		[ -n "${XDG_STATE_HOME:-}" ] || export XDG_STATE_HOME=$T/state-$test_count
		set -x
		set -e
		eval "$body"
	) </dev/null >"$out" 2>&1
	rc=$?
	_bp_stop_servers "$mark"
	if [ $rc -eq 0 ]; then
		echo "ok $test_count - $name"
		[ -n "${BP_TEST_VERBOSE:-}" ] && _bp_prefix <"$out"
	else
		test_failures=$((test_failures + 1))
		echo "not ok $test_count - $name"
		echo "# exit status $rc; the scenario was:"
		printf '%s\n' "$body" | sed '/^[[:space:]]*$/d' | _bp_prefix
		echo "# its output:"
		_bp_prefix <"$out"
		if [ -s "$dir/err" ]; then
			echo "# its last err file:"
			tail -n 8 "$dir/err" | _bp_prefix
		fi
		if [ -s "$T/t$test_count.trace" ]; then
			echo "# the last commands run:"
			tail -n 12 "$T/t$test_count.trace" | cut -c 1-300 | _bp_prefix
		fi
	fi
	return 0
}

# test_done: print the plan; exit 1 if any scenario failed.
test_done() {
	echo "1..$test_count"
	if [ "$test_failures" -gt 0 ]; then
		echo "# $TEST_NAME: $test_failures of $test_count failed"
		exit 1
	fi
	exit 0
}

# test_skip_all REASON: skip the whole file.
test_skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

# test_fatal MESSAGE: report a failure outside a scenario and end the file.
test_fatal() {
	test_count=$((test_count + 1))
	echo "not ok $test_count - $*"
	echo "1..$test_count"
	exit 1
}

# test_require_build: end the file with one failure when the binaries are not built.
test_require_build() {
	local f
	for f in "$BEAMPUSH" "$MOCK_REGISTRY"; do
		[ -x "$f" ] || test_fatal "$f is not built (run make)"
	done
}

# --- assertions ----------------------------------------------------------------------------

# test_expect_code CODE COMMAND...: run COMMAND, fail unless it exits with CODE.
test_expect_code() {
	local want=$1 rc=0
	shift
	"$@" || rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "test_expect_code: '$*' exited $rc, want $want" >&2
		return 1
	fi
	return 0
}

# test_cmp EXPECTED ACTUAL
test_cmp() {
	diff -u "$1" "$2"
}

# test_line_count OP N FILE: e.g. test_line_count = 1 err
test_line_count() {
	local n ok=""
	n=$(wc -l <"$3")
	case $1 in
	=|-eq) [ "$n" -eq "$2" ] && ok=1 ;;
	!=|-ne) [ "$n" -ne "$2" ] && ok=1 ;;
	-lt) [ "$n" -lt "$2" ] && ok=1 ;;
	-le) [ "$n" -le "$2" ] && ok=1 ;;
	-gt) [ "$n" -gt "$2" ] && ok=1 ;;
	-ge) [ "$n" -ge "$2" ] && ok=1 ;;
	*) echo "test_line_count: unknown operator $1" >&2; return 1 ;;
	esac
	if [ -z "$ok" ]; then
		echo "test_line_count: $3 has $n lines, want $1 $2:" >&2
		cat "$3" >&2
		return 1
	fi
}

# test_must_be_empty FILE
test_must_be_empty() {
	if [ -s "$1" ]; then
		echo "test_must_be_empty: $1 is not empty:" >&2
		cat "$1" >&2
		return 1
	fi
}

# test_grep [GREP-OPTIONS] PATTERN FILE: grep that shows the file when nothing matches.
test_grep() {
	local file=${!#}
	if ! grep "$@" >/dev/null; then
		echo "test_grep: no match for '${*:1:$#-1}' in $file:" >&2
		cat "$file" >&2
		return 1
	fi
}

# test_no_grep [GREP-OPTIONS] PATTERN FILE: fail, showing the lines, when anything matches.
test_no_grep() {
	local file=${!#}
	if grep "$@" >/dev/null; then
		echo "test_no_grep: unexpected match for '${*:1:$#-1}' in $file:" >&2
		grep "$@" >&2
		return 1
	fi
}

# --- the client ----------------------------------------------------------------------------

# beampush ARGS...: the client under test, bounded in time.
beampush() {
	timeout --foreground -k 5 "${BP_TEST_CMD_TIMEOUT:-60}" "$BEAMPUSH" "$@"
}

# docker_auth HOST USER PASS [HOST USER PASS...]: credentials in a fresh $DOCKER_CONFIG.
docker_auth() {
	local cfg sep="" entries=""
	cfg=$(mktemp -d "$T/docker.XXXXXX")
	while [ $# -ge 3 ]; do
		entries="$entries$sep\"$1\":{\"auth\":\"$(printf '%s:%s' "$2" "$3" | base64 -w0)\"}"
		sep=","
		shift 3
	done
	printf '{"auths":{%s}}\n' "$entries" >"$cfg/config.json"
	DOCKER_CONFIG=$cfg
	export DOCKER_CONFIG
}

# no_docker_auth: an empty $DOCKER_CONFIG.
no_docker_auth() {
	DOCKER_CONFIG=$(mktemp -d "$T/docker.XXXXXX")
	export DOCKER_CONFIG
}

# --- servers -------------------------------------------------------------------------------

_bp_server_id() {
	echo $(($(wc -l <"$T/.servers") + 1))
}

# _bp_wait_http PID URL SECONDS: wait until URL answers with any HTTP status, while PID runs
# (https: whatever its certificate, or a TLS alert).
_bp_wait_http() {
	local pid=$1 url=$2 deadline code rc
	deadline=$(($(date +%s) + $3))
	while :; do
		rc=0
		code=$(curl -s -k -o /dev/null --max-time 2 -w '%{http_code}' "$url" 2>/dev/null) ||
			rc=$?
		case $code in
		''|000) ;;
		*) return 0 ;;
		esac
		# a TLS alert (a client certificate required): it is listening
		case $url:$rc in
		https:*:35|https:*:56) return 0 ;;
		esac
		_bp_alive "$pid" || return 2
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# start_mock [ARGS...]: start the mock registry on a free loopback port with its own storage;
# ARGS go to it (e.g. --auth token --user alice:pw; --tls-cert F --tls-key F: https, see
# make_tls_certs). Exports MOCK_PORT, MOCK (127.0.0.1:PORT), MOCK_ROOT, MOCK_LOG, MOCK_PID,
# MOCK_OUT (its stderr).
start_mock() {
	local n portfile out port="" deadline scheme=http a
	for a in "$@"; do
		[ "$a" != --tls-cert ] || scheme=https
	done
	n=$(_bp_server_id)
	MOCK_ROOT=$T/mock-$n
	MOCK_LOG=$T/mock-$n.log
	portfile=$T/mock-$n.port
	out=$T/mock-$n.out
	mkdir -p "$MOCK_ROOT"
	"$MOCK_REGISTRY" --root "$MOCK_ROOT" --port 0 --port-file "$portfile" --log "$MOCK_LOG" \
		"$@" </dev/null >"$out" 2>&1 &
	MOCK_PID=$!
	echo "$MOCK_PID mock-$n" >>"$T/.servers"
	deadline=$(($(date +%s) + 10))
	while :; do
		if [ -s "$portfile" ]; then
			port=$(tr -d ' \t\r\n' <"$portfile")
			case $port in
			''|*[!0-9]*) port="" ;;
			esac
		fi
		if [ -n "$port" ]; then
			_bp_wait_http "$MOCK_PID" "$scheme://127.0.0.1:$port/v2/" 1 && break
		fi
		if ! _bp_alive "$MOCK_PID"; then
			echo "start_mock: mock-registry $* exited before it was ready:" >&2
			cat "$out" >&2
			return 1
		fi
		if [ "$(date +%s)" -ge "$deadline" ]; then
			echo "start_mock: mock-registry $* not ready after 10 s (port file: '$port'):" >&2
			cat "$out" >&2
			return 1
		fi
		sleep 0.05
	done
	MOCK_PORT=$port
	MOCK=127.0.0.1:$port
	MOCK_OUT=$out
	export MOCK_PORT MOCK MOCK_ROOT MOCK_LOG MOCK_PID MOCK_OUT
}

# start_tcp_proxy TARGET-PORT: a TCP proxy (socat) on a free loopback port in front of
# 127.0.0.1:TARGET-PORT, logging what passes through it (socat -v). Exports PROXY_PORT, PROXY
# (127.0.0.1:PORT) and PROXY_LOG. socat cannot bind port 0 and say which it got, so ports are
# tried from a random start, a bounded number of times.
start_tcp_proxy() {
	local target=$1 n port tries=0 pid log deadline
	n=$(_bp_server_id)
	log=$T/proxy-$n.log
	while [ $tries -lt 20 ]; do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		tries=$((tries + 1))
		socat -v TCP-LISTEN:"$port",bind=127.0.0.1,reuseaddr,fork TCP:127.0.0.1:"$target" \
			</dev/null >/dev/null 2>>"$log" &
		pid=$!
		deadline=$(($(date +%s) + 5))
		while _bp_alive "$pid" && ! (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; do
			[ "$(date +%s)" -lt "$deadline" ] || break
			sleep 0.05
		done
		if _bp_alive "$pid" && (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
			echo "$pid proxy-$n" >>"$T/.servers"
			: >"$log"
			PROXY_PORT=$port
			PROXY=127.0.0.1:$port
			PROXY_LOG=$log
			export PROXY_PORT PROXY PROXY_LOG
			return 0
		fi
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	echo "start_tcp_proxy: no free port after $tries tries" >&2
	return 1
}

# start_delayline TARGET-PORT [ARGS...]: the delay line of bench/wan ($B/bench/delayline) on
# a free loopback port in front of 127.0.0.1:TARGET-PORT; ARGS go to it (--rtt MS, --rate
# BYTES_PER_SEC, --queue BYTES, --listen 127.0.0.1:PORT to take a port again). Exports
# LINE_PORT, LINE (127.0.0.1:PORT), LINE_PID and LINE_STATS (its stats file, final once
# stop_delayline has run; line_stat reads it).
start_delayline() {
	local target=$1 n portfile port="" deadline
	shift
	n=$(_bp_server_id)
	portfile=$T/line-$n.port
	LINE_STATS=$T/line-$n.stats
	"$B/bench/delayline" --to "127.0.0.1:$target" --port-file "$portfile" \
		--stats-file "$LINE_STATS" "$@" </dev/null >"$T/line-$n.out" 2>&1 &
	LINE_PID=$!
	echo "$LINE_PID line-$n" >>"$T/.servers"
	deadline=$(($(date +%s) + 10))
	until [ -s "$portfile" ]; do
		if ! _bp_alive "$LINE_PID" || [ "$(date +%s)" -ge "$deadline" ]; then
			echo "start_delayline: delayline $* did not start:" >&2
			cat "$T/line-$n.out" >&2
			return 1
		fi
		sleep 0.02
	done
	port=$(tr -d ' \t\r\n' <"$portfile")
	LINE_PORT=$port
	LINE=127.0.0.1:$port
	export LINE_PORT LINE LINE_PID LINE_STATS
}

# stop_delayline: stop the line start_delayline started last (it writes its stats file as it
# goes) and wait for it.
stop_delayline() {
	kill -TERM "$LINE_PID" 2>/dev/null
	wait "$LINE_PID" 2>/dev/null
	return 0
}

# line_stat KEY: a value of the last line's stats file (connections, bytes_up, bytes_down).
line_stat() {
	sed -n "s/^$1 //p" "$LINE_STATS"
}

# make_tls_certs DIR: a test PKI made with the openssl CLI, in DIR:
#   ca.crt ca.key             the CA of the registry's certificates
#   server.crt server.key     for 127.0.0.1 and localhost, signed by ca.crt
#   other.crt                 for other.example only (same key), signed by ca.crt
#   expired.crt               for 127.0.0.1 and localhost (same key), valid in 2020 only
#   future.crt                the same, valid from 2099 on
#   client-ca.crt client-ca.key  the CA of client certificates
#   client.cert client.key    a client certificate signed by client-ca.crt
# EC P-256 keys: quick to make. Needs no root and no clock games.
make_tls_certs() {
	local d=$1 ec="-algorithm EC -pkeyopt ec_paramgen_curve:P-256"
	mkdir -p "$d/ca-db" &&
	(
		cd "$d" &&
		# shellcheck disable=SC2086
		openssl genpkey $ec -out ca.key 2>/dev/null &&
		openssl req -x509 -new -key ca.key -subj "/CN=beampush test CA" -days 3 \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt 2>/dev/null &&
		# shellcheck disable=SC2086
		openssl genpkey $ec -out client-ca.key 2>/dev/null &&
		openssl req -x509 -new -key client-ca.key -subj "/CN=beampush test client CA" \
			-days 3 -addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" -out client-ca.crt 2>/dev/null &&
		# shellcheck disable=SC2086
		openssl genpkey $ec -out server.key 2>/dev/null &&
		openssl req -new -key server.key -subj "/CN=127.0.0.1" -out server.csr 2>/dev/null &&
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' \
			>server.ext &&
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
			-extfile server.ext -out server.crt 2>/dev/null &&
		printf 'subjectAltName=DNS:other.example\nextendedKeyUsage=serverAuth\n' >other.ext &&
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
			-extfile other.ext -out other.crt 2>/dev/null &&
		: >ca-db/index.txt &&
		printf '[ca]\ndefault_ca=test\n[test]\ndatabase=ca-db/index.txt\n%s\n%s\n%s\n%s\n' \
			"new_certs_dir=ca-db" "serial=ca-db/serial" "default_md=sha256" \
			"policy=any" >ca.cnf &&
		echo "unique_subject=no" >>ca.cnf &&
		printf '[any]\ncommonName=supplied\n[ext]\n%s\n' \
			"subjectAltName=IP:127.0.0.1,DNS:localhost" >>ca.cnf &&
		echo 01 >ca-db/serial &&
		openssl ca -batch -config ca.cnf -cert ca.crt -keyfile ca.key -extensions ext \
			-startdate 20200101000000Z -enddate 20200201000000Z -in server.csr \
			-out expired.crt 2>/dev/null &&
		openssl ca -batch -config ca.cnf -cert ca.crt -keyfile ca.key -extensions ext \
			-startdate 20990101000000Z -enddate 20990201000000Z -in server.csr \
			-out future.crt 2>/dev/null &&
		# shellcheck disable=SC2086
		openssl genpkey $ec -out client.key 2>/dev/null &&
		openssl req -new -key client.key -subj "/CN=beampush test client" \
			-out client.csr 2>/dev/null &&
		printf 'extendedKeyUsage=clientAuth\n' >client.ext &&
		openssl x509 -req -in client.csr -CA client-ca.crt -CAkey client-ca.key \
			-CAcreateserial -days 2 -extfile client.ext -out client.cert 2>/dev/null
	)
}

# registry_htpasswd_auth USER PASS [USER PASS...]: write a bcrypt htpasswd file; print the
# registry's auth configuration for it (the argument of start_registry).
registry_htpasswd_auth() {
	local file
	file=$(mktemp "$T/htpasswd.XXXXXX")
	while [ $# -ge 2 ]; do
		htpasswd -Bbn "$1" "$2" | sed '/^$/d' >>"$file" || return 1
		shift 2
	done
	printf 'auth:\n  htpasswd:\n    realm: basic-realm\n    path: %s\n' "$file"
}

# start_registry [AUTH-YAML]: start Debian's docker-registry (REG_HTTP_EXTRA, when set, is
# more of its http: section, each line indented by two spaces, e.g. its tls: block) (distribution 2.8) on a free
# loopback port with its own storage; AUTH-YAML is appended to its configuration. Exports
# REG_PORT, REG (127.0.0.1:PORT), REG_ROOT (the storage root), REG_LOG (its access log),
# REG_PID.
start_registry() {
	local n dir port rc
	n=$(_bp_server_id)
	dir=$T/registry-$n
	mkdir -p "$dir/data"
	REG_ROOT=$dir/data
	REG_LOG=$dir/registry.log
	for _ in 1 2 3 4 5 6 7 8; do
		port=$((20000 + ($(od -An -N4 -tu4 /dev/urandom | tr -d ' ') % 40001)))
		# Something answers there already: try another port.
		rc=0
		curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/" 2>/dev/null || rc=$?
		[ $rc -eq 7 ] || continue
		cat >"$dir/config.yml" <<-EOF
		version: 0.1
		log:
		  level: error
		storage:
		  filesystem:
		    rootdirectory: $REG_ROOT
		  delete:
		    enabled: true
		http:
		  addr: 127.0.0.1:$port
		  secret: beampush-test-secret
		${REG_HTTP_EXTRA:-}
		${1:-}
		EOF
		docker-registry serve "$dir/config.yml" </dev/null >"$REG_LOG" 2>&1 &
		REG_PID=$!
		echo "$REG_PID registry-$n" >>"$T/.servers"
		rc=0
		_bp_wait_http "$REG_PID" "http://127.0.0.1:$port/v2/" 15 || rc=$?
		if [ $rc -eq 0 ]; then
			REG_PORT=$port
			REG=127.0.0.1:$port
			export REG_PORT REG REG_ROOT REG_LOG REG_PID
			return 0
		fi
		if [ $rc -eq 2 ] && grep -q 'address already in use' "$REG_LOG"; then
			continue
		fi
		echo "start_registry: docker-registry did not start on port $port:" >&2
		cat "$REG_LOG" >&2
		return 1
	done
	echo "start_registry: no free port found" >&2
	return 1
}

# _bp_engine_ready SOCKET: the Engine API at SOCKET answers /_ping with OK.
_bp_engine_ready() {
	[ "$(curl -s --max-time 2 --unix-socket "$1" http://d/_ping 2>/dev/null)" = OK ]
}

# _bp_remove_after PID DIR: run in the background and registered with the servers; when
# stopped, wait (up to 2.5 s, within the 3 s the servers get) for PID to exit, then remove DIR.
_bp_remove_after() {
	local pid=$1 dir=$2 sleeper i
	set +x
	# shellcheck disable=SC2064
	trap 'kill "$sleeper" 2>/dev/null
		i=0
		while _bp_alive "$pid" && [ $i -lt 50 ]; do sleep 0.05; i=$((i + 1)); done
		rm -rf "$dir"
		exit 0' TERM
	sleep 86400 &
	sleeper=$!
	wait "$sleeper"
}

# start_podman_service: start `podman system service` as a Docker-compatible daemon with its
# own storage, run state, temporary files and socket; stopped like the other servers. Exports
# PODMAN (the podman command line for that storage: `$PODMAN load -i FILE`, `$PODMAN tag ...`,
# unquoted), PODMAN_SOCK, PODMAN_PID, PODMAN_LOG (the service's output: at --log-level=info an
# access-log line per Engine API request once it is answered, e.g.
# `"GET /v1.41/images/NAME/get HTTP/1.1" 200` for an export) and DOCKER_HOST=unix://$PODMAN_SOCK.
#
# Headless as root on Debian 12 (podman 4.3, no systemd as PID 1, cgroup v1): vfs storage
# mounts nothing, so stopping the service leaves no mount behind; --cgroup-manager=cgroupfs and
# --events-backend=file are what podman picks by itself here, given explicitly so that a machine
# that boots systemd but gives the tests no journald or systemd session behaves the same (the
# event log then lands in the --tmpdir). Storage, --tmpdir and socket are in $T/podman-N; the
# run root cannot be: podman refuses one longer than 50 characters (conmon's socket paths), so
# it is a directory in /tmp (named in $T/podman-N/runroot) that a helper registered with the
# servers removes once podman has gone. TMPDIR keeps the copies podman makes while it loads or exports an image (its
# image_copy_tmp_dir, /var/tmp by default) in $T too. What podman shares across instances
# whatever the flags: the lock segment /dev/shm/libpod_lock and the blob-info cache in
# /var/lib/containers/cache; no test depends on either.
start_podman_service() {
	local n dir run
	n=$(_bp_server_id)
	dir=$T/podman-$n
	mkdir -p "$dir/root" "$dir/tmp"
	run=$(mktemp -d /tmp/bp-podman.XXXXXX) || return 1
	echo "$run" >"$dir/runroot"
	PODMAN="env TMPDIR=$dir/tmp podman --storage-driver vfs --root $dir/root --runroot $run"
	PODMAN="$PODMAN --tmpdir $dir/tmp --cgroup-manager=cgroupfs --events-backend=file"
	PODMAN_SOCK=$dir/docker.sock
	PODMAN_LOG=$dir/out
	$PODMAN --log-level=info system service --time=0 "unix://$PODMAN_SOCK" </dev/null \
		>"$PODMAN_LOG" 2>&1 &
	PODMAN_PID=$!
	echo "$PODMAN_PID podman-$n" >>"$T/.servers"
	_bp_remove_after "$PODMAN_PID" "$run" </dev/null >/dev/null 2>&1 &
	echo "$! podman-$n-run" >>"$T/.servers"
	_bp_wait_ready "start_podman_service: podman" "$PODMAN_PID" 20 "$PODMAN_LOG" \
		_bp_engine_ready "$PODMAN_SOCK" || return 1
	DOCKER_HOST=unix://$PODMAN_SOCK
	export PODMAN PODMAN_SOCK PODMAN_PID PODMAN_LOG DOCKER_HOST
}

# start_fake_engine DIR: serve tests/integration/fake-engine's Engine API (what it answers is
# in DIR; see there) on DIR/docker.sock through socat, a fake-engine per connection; stopped
# like the other servers. Waits until it answers (that GET /_ping is in DIR/requests) and
# exports DOCKER_HOST=unix://DIR/docker.sock. Needs socat.
start_fake_engine() {
	local dir=$1 pid
	rm -f "$dir/docker.sock"
	socat UNIX-LISTEN:"$dir/docker.sock",fork EXEC:"$TEST_ROOT/tests/integration/fake-engine $dir" \
		</dev/null >"$dir/socat.log" 2>&1 &
	pid=$!
	echo "$pid fake-engine" >>"$T/.servers"
	_bp_wait_ready "start_fake_engine: socat" "$pid" 10 "$dir/socat.log" \
		curl -s --max-time 2 --unix-socket "$dir/docker.sock" -o /dev/null http://d/_ping ||
		return 1
	DOCKER_HOST=unix://$dir/docker.sock
	export DOCKER_HOST
}

# fake_engine_image LAYOUT NAME DIR: make the image tagged latest in the OCI layout LAYOUT the
# one the fake engine holds, named NAME: DIR/image.tar as Docker 25+ exports it (the layout's
# blobs, oci-layout and index.json, then manifest.json last; the layers as they are in LAYOUT;
# nothing after the two zero blocks that end it, as Go's archive/tar writes it, where GNU tar
# would pad it to 10 KiB) and DIR/inspect.json with its ID (the config digest) and diff_ids.
fake_engine_image() {
	local m cfg layers
	m=$(layout_digest "$1" latest) &&
	cfg=$(grep -o '"config":{[^}]*}' "$(blob_path_layout "$1" "$m")" | grep -o 'sha256:[0-9a-f]*') &&
	layers=$(grep -o '"layers":\[.*\]' "$(blob_path_layout "$1" "$m")" | grep -o 'sha256:[0-9a-f]*') &&
	mkdir -p "$3" &&
	printf '[{"Config":"blobs/sha256/%s","RepoTags":["%s"],"Layers":[%s]}]' "${cfg#sha256:}" "$2" \
		"$(echo "$layers" | sed 's|^sha256:\(.*\)|"blobs/sha256/\1"|' | paste -sd,)" \
		>"$3/manifest.json" &&
	tar -b 1 -cf "$3/image.tar" -C "$1" blobs oci-layout index.json -C "$3" manifest.json &&
	printf '{"Id":"%s","RepoTags":["%s"],"RepoDigests":[],"RootFS":{"Type":"layers","Layers":[%s]}}' \
		"$cfg" "$2" "$(config_diff_ids "$(blob_path_layout "$1" "$cfg")" | sed 's/.*/"&"/' | paste -sd,)" \
		>"$3/inspect.json"
}

# _bp_wait_ready NAME PID SECONDS LOG COMMAND...: poll COMMAND until it succeeds, while PID
# runs, for up to SECONDS; else say why (with LOG) and fail.
_bp_wait_ready() {
	local name=$1 pid=$2 deadline log=$4
	deadline=$(($(date +%s) + $3))
	shift 4
	until "$@" >/dev/null 2>&1; do
		if ! _bp_alive "$pid"; then
			echo "$name exited before it was ready:" >&2
			cat "$log" >&2
			return 1
		fi
		if [ "$(date +%s)" -ge "$deadline" ]; then
			echo "$name not ready after $3 s:" >&2
			cat "$log" >&2
			return 1
		fi
		sleep 0.05
	done
}

# _bp_mounts_under DIR: the mount points at or under DIR, the deepest first.
_bp_mounts_under() {
	awk -v d="$1" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r
}

# _bp_stop_pid PID SECONDS: SIGTERM, up to SECONDS to go, then SIGKILL (and up to 5 s more).
_bp_stop_pid() {
	local pid=$1 i=0
	kill -TERM "$pid" 2>/dev/null || return 0
	# asked once only: a process reaped while _bp_alive looks may seem alive for that look
	while _bp_alive "$pid"; do
		i=$((i + 1))
		[ $i -le $(($2 * 20)) ] || break
		sleep 0.05
	done
	if [ $i -gt $(($2 * 20)) ]; then
		echo "# $pid did not stop within $2 s of SIGTERM: SIGKILL" >&2
		kill -KILL "$pid" 2>/dev/null
		i=0
		while _bp_alive "$pid" && [ $i -lt 100 ]; do
			sleep 0.05
			i=$((i + 1))
		done
	fi
	wait "$pid" 2>/dev/null
	return 0
}

# _bp_stop_dockerd N: stop what start_dockerd started as server N: dockerd (it unmounts its
# data root as it goes), then its containerd; unmount whatever a killed one left mounted under
# their directory and remove it. Harmless when run again (and $T/dockerd-N.dir is kept: the
# name of what was removed).
_bp_stop_dockerd() {
	local n=$1 dir pid m
	dir=$(cat "$T/dockerd-$n.dir" 2>/dev/null) || return 0
	for pid in $(cat "$T/dockerd-$n.pid" "$T/containerd-$n.pid" 2>/dev/null); do
		_bp_stop_pid "$pid" 15
	done
	for m in $(_bp_mounts_under "$dir"); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null ||
			echo "# cannot unmount $m" >&2
	done
	if [ -n "$(_bp_mounts_under "$dir")" ]; then
		echo "# $dir is left: something is still mounted under it" >&2
	else
		rm -rf "$dir"
	fi
}

# _bp_start_containerd N DIR: start containerd (1.6) as server N with its storage, state,
# socket and configuration in DIR (a short directory in /tmp: containerd's socket paths must
# stay under 108 bytes; named in $T/dockerd-N.dir), the CRI plugin off; stopped by
# _bp_stop_dockerd N. Exports CONTAINERD_ADDRESS (its socket, which ctr reads),
# CONTAINERD_PID and CONTAINERD_LOG.
_bp_start_containerd() {
	local n=$1 dir=$2
	CONTAINERD_ADDRESS=$dir/c.sock
	CONTAINERD_LOG=$T/containerd-$n.log
	cat >"$dir/containerd.toml" <<-EOF
	version = 2
	root = "$dir/c/root"
	state = "$dir/c/state"
	disabled_plugins = ["io.containerd.grpc.v1.cri"]
	[grpc]
	  address = "$CONTAINERD_ADDRESS"
	[plugins."io.containerd.internal.v1.opt"]
	  path = "$dir/c/opt"
	EOF
	containerd --config "$dir/containerd.toml" </dev/null >"$CONTAINERD_LOG" 2>&1 &
	CONTAINERD_PID=$!
	echo "$CONTAINERD_PID" >"$T/containerd-$n.pid"
	echo "$CONTAINERD_PID dockerd-$n _bp_stop_dockerd $n" >>"$T/.servers"
	export CONTAINERD_ADDRESS CONTAINERD_PID CONTAINERD_LOG
	_bp_wait_ready "start_containerd: containerd" "$CONTAINERD_PID" 20 "$CONTAINERD_LOG" \
		ctr --address "$CONTAINERD_ADDRESS" version
}

# start_containerd: start a containerd of its own (no dockerd) in a directory of its own,
# /tmp/bp-dockerd.XXXXXX, as start_dockerd does; stopped like the other servers. Exports
# CONTAINERD_ADDRESS (for ctr), CONTAINERD_PID and CONTAINERD_LOG.
start_containerd() {
	local n dir
	n=$(_bp_server_id)
	dir=$(mktemp -d /tmp/bp-dockerd.XXXXXX) || return 1
	echo "$dir" >"$T/dockerd-$n.dir"
	_bp_start_containerd "$n" "$dir"
}

# start_dockerd: start the Docker Engine (Debian's docker.io: dockerd 20.10) as root with a
# containerd (1.6) of its own; their storage, run state, sockets and configuration in a
# directory of their own, /tmp/bp-dockerd.XXXXXX: short, for containerd's socket paths must
# stay under 108 bytes (its name is in $T/dockerd-N.dir). No bridge, no iptables, vfs storage:
# nothing on the host is touched but the bind mount dockerd makes of its data root. dockerd is
# given its containerd (--containerd) and an empty daemon.json, so that neither a system
# containerd (dockerd uses /run/containerd/containerd.sock, when it exists, instead of starting
# one) nor /etc/docker/daemon.json nor a system dockerd ever come in. Stopped like the other
# servers, by _bp_stop_dockerd (which may take a few seconds: dockerd waits for its
# containerd). Exports DOCKERD_DIR, DOCKERD_SOCK, DOCKERD_PID, DOCKERD_LOG (dockerd's
# output), CONTAINERD_ADDRESS (containerd's socket, which ctr reads), CONTAINERD_PID,
# CONTAINERD_LOG, and DOCKER_HOST=unix://$DOCKERD_SOCK for beampush and the docker CLI.
start_dockerd() {
	local n dir
	n=$(_bp_server_id)
	dir=$(mktemp -d /tmp/bp-dockerd.XXXXXX) || return 1
	echo "$dir" >"$T/dockerd-$n.dir"
	DOCKERD_DIR=$dir
	DOCKERD_SOCK=$dir/d.sock
	DOCKERD_LOG=$T/dockerd-$n.log
	echo '{}' >"$dir/daemon.json"
	_bp_start_containerd "$n" "$dir" || return 1
	dockerd --config-file "$dir/daemon.json" --containerd "$CONTAINERD_ADDRESS" \
		--iptables=false --ip6tables=false --bridge=none --storage-driver=vfs \
		--data-root "$dir/data" --exec-root "$dir/x" --pidfile "$dir/pid" \
		-H "unix://$DOCKERD_SOCK" </dev/null >"$DOCKERD_LOG" 2>&1 &
	DOCKERD_PID=$!
	echo "$DOCKERD_PID" >"$T/dockerd-$n.pid"
	_bp_wait_ready "start_dockerd: dockerd" "$DOCKERD_PID" 30 "$DOCKERD_LOG" \
		_bp_engine_ready "$DOCKERD_SOCK" || return 1
	DOCKER_HOST=unix://$DOCKERD_SOCK
	export DOCKERD_DIR DOCKERD_SOCK DOCKERD_PID DOCKERD_LOG DOCKER_HOST
}

# docker ARGS...: Debian's docker CLI ($DOCKER_CLI), bounded in time like beampush.
docker() {
	timeout --foreground -k 5 "${BP_TEST_CMD_TIMEOUT:-60}" "$DOCKER_CLI" "$@"
}

# ctr ARGS...: containerd's ctr (on $CONTAINERD_ADDRESS, which start_dockerd exports), bounded
# in time.
ctr() {
	timeout --foreground -k 5 "${BP_TEST_CMD_TIMEOUT:-60}" ctr "$@"
}

# _bp_keyring_ready: the Secret Service answers on the session bus and has a default collection.
_bp_keyring_ready() {
	dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
		org.freedesktop.Secret.Service.ReadAlias string:default 2>/dev/null |
		grep -q 'object path "/org/freedesktop/secrets/collection/'
}

# start_keyring [PASSWORD]: start gnome-keyring-daemon (its Secret Service only) on the session
# bus, with a new login keyring created and unlocked with PASSWORD (default: test-login); its
# files in $T/keyring-N. Needs a private session bus, never the user's: a file that uses it
# runs itself under dbus-run-session (see t80-keyring.sh), and that bus must not start a keyring
# of its own (no service activation). Stopped like the other servers. Exports KEYRING_PID.
start_keyring() {
	local n dir deadline
	if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ] || [ -z "${BP_TEST_PRIVATE_BUS:-}" ]; then
		echo "start_keyring: no private D-Bus session bus" >&2
		return 1
	fi
	n=$(_bp_server_id)
	dir=$T/keyring-$n
	mkdir -p "$dir/data" "$dir/run"
	chmod 0700 "$dir/run"
	printf '%s\n' "${1:-test-login}" |
		XDG_DATA_HOME=$dir/data XDG_RUNTIME_DIR=$dir/run \
			gnome-keyring-daemon --foreground --unlock --components=secrets \
			>"$dir/out" 2>&1 &
	KEYRING_PID=$!
	echo "$KEYRING_PID keyring-$n" >>"$T/.servers"
	deadline=$(($(date +%s) + 10))
	until _bp_keyring_ready; do
		if ! _bp_alive "$KEYRING_PID"; then
			echo "start_keyring: gnome-keyring-daemon exited before it was ready:" >&2
			cat "$dir/out" >&2
			return 1
		fi
		if [ "$(date +%s)" -ge "$deadline" ]; then
			echo "start_keyring: gnome-keyring-daemon not ready after 10 s:" >&2
			cat "$dir/out" >&2
			return 1
		fi
		sleep 0.05
	done
	export KEYRING_PID
}

# --- credentials: the keyring and credential helpers ---------------------------------------

# json_string S: S as a JSON string, quotes included.
json_string() {
	printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

# keyring_store SERVER USER PASSWORD: store as `docker login` does through
# docker-credential-secretservice (schema io.docker.Credentials).
keyring_store() {
	printf '{"ServerURL":%s,"Username":%s,"Secret":%s}' "$(json_string "$1")" \
		"$(json_string "$2")" "$(json_string "$3")" | docker-credential-secretservice store
}

# keyring_get SERVER: docker-credential-secretservice's answer for SERVER (JSON); exit 1 and
# "credentials not found in native keychain" when it has none.
keyring_get() {
	printf '%s' "$1" | docker-credential-secretservice get
}

# keyring_items: every docker item in the keyring as secret-tool lists them, attributes and
# secrets included (so never grep it in place of beampush's output).
keyring_items() {
	secret-tool search --all docker_cli 1 2>&1
}

# keyring_lock: lock the login collection, as a screen lock does.
keyring_lock() {
	dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
		org.freedesktop.Secret.Service.Lock \
		array:objpath:/org/freedesktop/secrets/collection/login >/dev/null
}

# docker_config JSON: a fresh $DOCKER_CONFIG whose config.json is JSON.
docker_config() {
	DOCKER_CONFIG=$(mktemp -d "$T/docker.XXXXXX")
	export DOCKER_CONFIG
	printf '%s\n' "$1" >"$DOCKER_CONFIG/config.json"
}

# install_test_helpers: install the credential helpers for the tests, docker-credential-bptest, first in PATH: one JSON file
# per server in $HELPER_STATE, an "ACTION SERVER" line per run in $HELPER_STATE/log.
install_test_helpers() {
HELPER_STATE=$T/helper-state
mkdir -p "$T/bin" "$HELPER_STATE"
cat >"$T/bin/docker-credential-bptest" <<'EOF'
#!/bin/sh
state=${HELPER_STATE:?}
input=$(cat)
case $1 in
store) server=$(printf '%s' "$input" | sed -n 's/.*"ServerURL":"\([^"]*\)".*/\1/p') ;;
list) server= ;;
*) server=$input ;;
esac
echo "$1 $server" >>"$state/log"
f=$state/$(printf '%s' "$server" | tr '/:' '__').json
case $1 in
get) if [ -f "$f" ]; then cat "$f"; exit 0; fi ;;
store) printf '%s' "$input" >"$f"; exit 0 ;;
erase) if [ -f "$f" ]; then rm -f "$f"; exit 0; fi ;;
list) echo '{}'; exit 0 ;;
*) echo "unknown action $1"; exit 1 ;;
esac
echo 'credentials not found in native keychain'
exit 1
EOF
cat >"$T/bin/docker-credential-bpcrash" <<'EOF'
#!/bin/sh
cat >/dev/null
echo 'about to crash' >&2
kill -SEGV $$
EOF
chmod 0755 "$T/bin/docker-credential-bptest" "$T/bin/docker-credential-bpcrash"
export HELPER_STATE PATH=$T/bin:$PATH
}

# helper_store NAME SERVER USER PASSWORD: store through docker-credential-NAME.
helper_store() {
	printf '{"ServerURL":%s,"Username":%s,"Secret":%s}' "$(json_string "$2")" \
		"$(json_string "$3")" "$(json_string "$4")" | "docker-credential-$1" store
}

# --- images and storage --------------------------------------------------------------------

# make_image DIR TAG [LAYERS [BYTES-PER-LAYER]] (and mkimage's options before DIR): a Beam-like
# OCI layout, see scripts/mkimage. Prints the manifest digest.
make_image() {
	"$MKIMAGE" "$@"
}

# sha256_of FILE: "sha256:<hex>"
sha256_of() {
	echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"
}

# blob_path_layout DIR DIGEST, blob_path_mock DIGEST, blob_path_registry DIGEST: where a blob is
# stored in an OCI layout, the mock's storage, the real registry's storage.
blob_path_layout() {
	echo "$1/blobs/sha256/${2#sha256:}"
}
blob_path_mock() {
	echo "$MOCK_ROOT/blobs/sha256/${1#sha256:}"
}
blob_path_registry() {
	local hex=${1#sha256:}
	echo "$REG_ROOT/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
}

# stored_is_source IMG: every blob of IMG is in the mock's storage, byte for byte.
stored_is_source() {
	local d
	for d in $(image_blobs "$1" latest); do
		cmp "$(blob_path_layout "$1" "$d")" "$(blob_path_mock "$d")" || return 1
	done
}

# file_size FILE
file_size() {
	stat -c %s "$1"
}

# flip_byte FILE [OFFSET]: invert the bits of one byte in place (default: the middle byte).
flip_byte() {
	local file=$1 off=${2:-} size old new
	size=$(stat -c %s "$file") || return 1
	[ "$size" -gt 0 ] || { echo "flip_byte: $file is empty" >&2; return 1; }
	[ -n "$off" ] || off=$((size / 2))
	old=$(dd if="$file" bs=1 skip="$off" count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
	[ -n "$old" ] || { echo "flip_byte: cannot read byte $off of $file" >&2; return 1; }
	new=$((old ^ 255))
	# shellcheck disable=SC2059
	printf "\\$(printf '%03o' "$new")" |
		dd of="$file" bs=1 seek="$off" count=1 conv=notrunc 2>/dev/null
}

# layout_digest DIR [TAG]: the manifest digest index.json gives for TAG (default: the first
# manifest); nothing when there is none. A small JSON scanner: no jq on a fresh machine.
layout_digest() {
	[ -f "$1/index.json" ] || return 0
	tr -d '\n\r\t ' <"$1/index.json" | awk -v tag="${2:-}" '
	{
		s = $0
		i = index(s, "\"manifests\":[")
		if (i == 0) exit
		s = substr(s, i + 13)
		depth = 0; instr = 0; esc = 0; obj = ""
		for (k = 1; k <= length(s); k++) {
			c = substr(s, k, 1)
			if (depth > 0) obj = obj c
			if (instr) {
				if (esc) esc = 0
				else if (c == "\\") esc = 1
				else if (c == "\"") instr = 0
				continue
			}
			if (c == "\"") { instr = 1; continue }
			if (c == "{") { if (depth == 0) obj = "{"; depth++ }
			else if (c == "}") {
				depth--
				if (depth == 0) {
					if (tag == "" || index(obj, "\"org.opencontainers.image.ref.name\":\"" tag "\"")) {
						if (match(obj, /"digest":"sha256:[0-9a-f]+"/)) {
							print substr(obj, RSTART + 10, RLENGTH - 11)
							exit
						}
					}
				}
			} else if (c == "]" && depth == 0) exit
		}
	}'
}

# layout_blobs DIR: the digest of every blob in an OCI layout, one a line.
layout_blobs() {
	local f
	for f in "$1"/blobs/sha256/*; do
		[ -f "$f" ] && echo "sha256:${f##*/}"
	done
	return 0
}

# layout_clean DIR: DIR holds nothing but oci-layout, index.json and blobs whose bytes hash to
# their names: no temporary, partial or unverified file. A missing DIR is clean.
layout_clean() {
	local dir=$1 f rel bad=0 hex
	[ -d "$dir" ] || return 0
	while IFS= read -r f; do
		[ -n "$f" ] || continue
		rel=${f#"$dir"/}
		case $rel in
		oci-layout|index.json) ;;
		blobs/sha256/*)
			hex=${rel#blobs/sha256/}
			if ! echo "$hex" | grep -qxE '[0-9a-f]{64}'; then
				echo "layout_clean: stray file $f" >&2
				bad=1
			elif [ "$(sha256sum "$f" | cut -d' ' -f1)" != "$hex" ]; then
				echo "layout_clean: $f does not hash to its name" >&2
				bad=1
			fi
			;;
		*) echo "layout_clean: stray file $f" >&2; bad=1 ;;
		esac
	done <<-EOF
	$(find "$dir" -mindepth 1 ! -type d)
	EOF
	while IFS= read -r f; do
		[ -n "$f" ] || continue
		rel=${f#"$dir"/}
		case $rel in
		blobs|blobs/sha256) ;;
		*) echo "layout_clean: stray directory $f" >&2; bad=1 ;;
		esac
	done <<-EOF
	$(find "$dir" -mindepth 1 -type d)
	EOF
	return $bad
}

# layout_check DIR: a complete OCI layout (oci-layout, index.json) that is layout_clean.
layout_check() {
	local bad=0
	[ -f "$1/oci-layout" ] || { echo "layout_check: $1/oci-layout missing" >&2; bad=1; }
	[ -f "$1/index.json" ] || { echo "layout_check: $1/index.json missing" >&2; bad=1; }
	layout_clean "$1" || bad=1
	return $bad
}

# layout_contains ORIG COPY: every blob of layout ORIG is in layout COPY with the same bytes.
layout_contains() {
	local d bad=0
	for d in $(layout_blobs "$1"); do
		if [ ! -f "$(blob_path_layout "$2" "$d")" ]; then
			echo "layout_contains: $d missing from $2" >&2
			bad=1
		elif ! cmp -s "$(blob_path_layout "$1" "$d")" "$(blob_path_layout "$2" "$d")"; then
			echo "layout_contains: $d differs in $2" >&2
			bad=1
		fi
	done
	return $bad
}

# test_same_image ORIG COPY TAG DIGEST: COPY is a valid layout whose TAG names manifest
# DIGEST, holding every blob of ORIG byte for byte.
test_same_image() {
	local got
	got=$(layout_digest "$2" "$3")
	if [ "$got" != "$4" ]; then
		echo "test_same_image: $2:$3 is '$got', want $4" >&2
		[ -f "$2/index.json" ] && cat "$2/index.json" >&2
		return 1
	fi
	layout_check "$2" && layout_contains "$1" "$2"
}

# image_blobs DIR [TAG]: the config and layer digests of the manifest TAG names in layout DIR.
image_blobs() {
	local m
	m=$(layout_digest "$1" "${2:-}")
	[ -n "$m" ] || return 1
	grep -o '"sha256:[0-9a-f]\{64\}"' "$(blob_path_layout "$1" "$m")" | tr -d '"'
}

# config_diff_ids FILE: the rootfs.diff_ids of an image config, one a line, in order.
config_diff_ids() {
	tr -d '\n\r\t ' <"$1" | sed -n 's/.*"diff_ids":\[\([^]]*\)\].*/\1/p' | tr ',' '\n' |
		tr -d '"' | awk 'NF'
}

# --- logs ----------------------------------------------------------------------------------

# count_log PATTERN [FILE]: how many lines of the log (default: the mock's) match the extended
# regular expression PATTERN. Always succeeds.
count_log() {
	grep -cE -- "$1" "${2:-$MOCK_LOG}" 2>/dev/null || true
}

# log_mark [FILE]: the number of lines in the log now (default: the mock's).
log_mark() {
	if [ -f "${1:-$MOCK_LOG}" ]; then
		wc -l <"${1:-$MOCK_LOG}" | tr -d ' '
	else
		echo 0
	fi
}

# log_since MARK [FILE]: the lines logged after log_mark gave MARK.
log_since() {
	tail -n +"$(($1 + 1))" "${2:-$MOCK_LOG}"
}

# registry_requests [FILE]: the real registry's access log as "METHOD URI STATUS" lines.
registry_requests() {
	sed -n 's/^[^"]*"\([A-Z]*\) \([^ ]*\) HTTP\/[0-9.]*" \([0-9]*\) .*/\1 \2 \3/p' "${1:-$REG_LOG}"
}
