# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
#
# bus.sh: sourced first (before lib.sh) by a test file whose scenarios need the login keyring.
# The file runs itself again under dbus-run-session, always: never the user's session bus and
# keyring. That bus has no service activation, so that no keyring daemon starts behind a
# scenario's back ("no keyring" stays no keyring) and every daemon is one start_keyring
# started and the file stops.
if [ -z "${BP_TEST_PRIVATE_BUS:-}" ] && command -v dbus-run-session >/dev/null 2>&1; then
	_conf=$(mktemp "${TMPDIR:-/tmp}/beampush-bus.XXXXXX") || exit 1
	cat >"$_conf" <<-EOF
	<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
	 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
	<busconfig>
	  <type>session</type>
	  <listen>unix:tmpdir=${TMPDIR:-/tmp}</listen>
	  <auth>EXTERNAL</auth>
	  <policy context="default">
	    <allow send_destination="*" eavesdrop="true"/>
	    <allow eavesdrop="true"/>
	    <allow own="*"/>
	  </policy>
	</busconfig>
	EOF
	# dbus-daemon warns that it may not raise its fd limit: harmless, and not ours
	BP_TEST_PRIVATE_BUS=$_conf exec dbus-run-session --config-file="$_conf" -- \
		bash "$0" "$@" 2> >(grep -v --line-buffered 'Failed to set fd limit' >&2)
fi
