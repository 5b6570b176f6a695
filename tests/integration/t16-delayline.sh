#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The delay line of bench/wan ($B/bench/delayline): bytes pass through unchanged and late by
# the round trip asked (and one more for a new connection, as a TCP handshake costs), a FIN
# is forwarded after the data before it, the rate cap holds, a small queue bound still passes
# everything in order, and the stats file counts connections and bytes each way. Only lower
# bounds on time: those are properties of the tool, whatever the machine's load.
. "$(dirname "$0")/lib.sh"
test_require_build
[ -x "$B/bench/delayline" ] || test_fatal "$B/bench/delayline is not built (run make)"
command -v socat >/dev/null || test_skip_all "needs socat"

# start_sink COMMAND: socat on a free loopback port that runs COMMAND for one connection,
# COMMAND's stdin the bytes received until the FIN, its stdout the answer. Exports SINK_PORT.
start_sink() {
	local log=$PWD/sink.log deadline pid
	socat -d -d TCP-LISTEN:0,bind=127.0.0.1 SYSTEM:"$1" </dev/null 2>"$log" &
	pid=$!
	echo "$pid sink" >>"$T/.servers"
	deadline=$(($(date +%s) + 10))
	until SINK_PORT=$(sed -n 's/.* listening on AF=2 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$log") &&
		[ -n "$SINK_PORT" ]; do
		_bp_alive "$pid" && [ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.02
	done
	export SINK_PORT
}

# send_through FILE: FILE to the line, then a FIN; the answer to ./answer. Prints the
# milliseconds it took.
send_through() {
	local t0 t1
	t0=$(date +%s%N)
	socat -t 20 - "TCP:$LINE" <"$1" >answer
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

test_expect_success 'a request and its answer through a 200 ms line: 2 round trips, counted' '
	start_mock --auth none &&
	mark=$(log_mark) &&
	start_delayline "$MOCK_PORT" --rtt 200 &&
	printf -v req "GET /v2/ HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" "$LINE" &&
	t0=$(date +%s%N) &&
	exec 3<>"/dev/tcp/127.0.0.1/$LINE_PORT" &&
	printf "%s" "$req" >&3 &&
	timeout 30 cat <&3 >resp &&
	exec 3<&- &&
	ms=$((($(date +%s%N) - t0) / 1000000)) &&
	head -n 1 resp | grep -q "^HTTP/1.1 200" &&
	stop_delayline &&
	echo "took $ms ms" &&
	test "$ms" -ge 400 &&
	test "$(line_stat connections)" = 1 &&
	test "$(line_stat bytes_up)" = "${#req}" &&
	test "$(line_stat bytes_down)" = "$(file_size resp)" &&
	log_since "$mark" >log &&
	test "$(count_log "^GET /v2/ 200" log)" = 1 &&
	test_line_count = 1 log
'

test_expect_success 'a half-close is forwarded after the data: the target answers at EOF' '
	start_sink "wc -c" &&
	start_delayline "$SINK_PORT" --rtt 100 &&
	head -c 300000 /dev/urandom >data &&
	ms=$(send_through data) &&
	echo "took $ms ms" &&
	test "$(tr -d " " <answer)" = 300000 &&
	test "$ms" -ge 200 &&
	stop_delayline &&
	test "$(line_stat connections)" = 1 &&
	test "$(line_stat bytes_up)" = 300000 &&
	test "$(line_stat bytes_down)" = "$(file_size answer)"
'

test_expect_success 'the rate cap holds: 1 MB at 1 MB/s takes most of a second' '
	start_sink "wc -c" &&
	start_delayline "$SINK_PORT" --rate 1000000 &&
	head -c 1000000 /dev/urandom >data &&
	ms=$(send_through data) &&
	echo "took $ms ms" &&
	test "$(tr -d " " <answer)" = 1000000 &&
	test "$ms" -ge 900
'

test_expect_success 'a small queue bound still passes 32 MiB whole and in order' '
	start_sink "sha256sum" &&
	start_delayline "$SINK_PORT" --rtt 20 --queue 65536 &&
	head -c 33554432 /dev/urandom >data &&
	send_through data >/dev/null &&
	test "$(cut -d" " -f1 answer)" = "$(sha256sum data | cut -d" " -f1)" &&
	stop_delayline &&
	test "$(line_stat bytes_up)" = 33554432
'

test_expect_success 'a target that refuses: the client is closed, the line says why and goes on' '
	start_delayline 1 --rtt 10 &&
	echo hello >data &&
	send_through data >/dev/null &&
	test_must_be_empty answer &&
	send_through data >/dev/null &&
	stop_delayline &&
	test "$(line_stat connections)" = 2 &&
	test_grep -F "delayline: connect to the target: Connection refused" "$T"/line-*.out
'

test_expect_success 'bad arguments: exit 2 and a message' '
	test_expect_code 2 "$B/bench/delayline" --rtt 10 2>err &&
	test_grep "^usage: delayline" err &&
	test_expect_code 2 "$B/bench/delayline" --to 127.0.0.1:1 --rtt 1.5 2>err &&
	test_grep -F "delayline: bad --rtt \"1.5\"" err &&
	test_expect_code 2 "$B/bench/delayline" --to nowhere 2>err &&
	test_grep -F "delayline: bad --to address \"nowhere\" (HOST:PORT)" err
'

test_done
