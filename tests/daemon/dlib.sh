# dlib.sh - helpers of the daemon and interop tests.  Sourced, not run.
#
# Builds on tests/integration/lib.sh (the assertions, $TMP, $CONF, $DB,
# pw) and adds a running authd:
#
#   write_dconf [LINE...]   the test configuration plus extra "key = value"
#                           lines (a later line for a key is an error, so
#                           pass only keys that the base does not set, or
#                           use write_dconf_base to start from nothing)
#   start_authd [ARG...]    authd -d -c $CONF ARGS in the background, stderr
#                           to $LOG; waits (5 s) for the socket ($SOCK, or
#                           $START_SOCK if set) and the "ready:" line
#   stop_authd [PID]        SIGTERM and wait; sets STOP_RC
#   add_user USER PASS [pwtool options]
#   auth WANT_RC USER PASS [authd-test options]     one assertion
#   timed_auth USER PASS [authd-test options]       sets AUTH_RC, AUTH_OUT, AUTH_MS
#   check_ms LO HI MS TEXT  assertion: LO <= MS <= HI
#   log_count RE            lines of the current daemon's log (from the
#                           last start_authd on) matching the ERE
#   expect_log RE           assertion: such a line exists (waits 2 s)
#   expect_no_log RE        assertion: no such line
#   at_exit CMD             run CMD (eval) when the script ends
#   mux ACTION...           one exchange of the raw protocol client (mux.py)
#                           on $SOCK; its output lines in $MUX_OUT
set -euo pipefail

: "${AUTHD:?AUTHD must name the authd binary}"
: "${AUTHTEST:?AUTHTEST must name the authd-test binary}"
: "${SRCDIR:?SRCDIR must name the source tree}"
[ -x "$AUTHD" ] || { echo "Bail out! $AUTHD is not executable"; exit 1; }
[ -x "$AUTHTEST" ] || { echo "Bail out! $AUTHTEST is not executable"; exit 1; }

# shellcheck source=../integration/lib.sh
source "$SRCDIR/tests/integration/lib.sh"

# The daemon drops to nobody: it must be able to reach the store and the
# socket directory under $TMP.
chmod 0755 "$TMP"
# Sanitizer builds: reports go to files that every process (the daemon
# runs as nobody, daemonized with stderr on /dev/null) can write; finish
# fails the script if any appeared.
SANDIR=$TMP/sanitizer
mkdir -m 1777 "$SANDIR"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$SANDIR/asan"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:log_path=$SANDIR/ubsan"
SOCKDIR=$TMP/sock
SOCK=$SOCKDIR/mux
LOG=$TMP/authd.log
MUXPY=$SRCDIR/tests/daemon/mux.py
: >"$LOG"
AUTHD_PID=
AUTHD_PIDS=()
_CLEANUPS=()

at_exit() {
	_CLEANUPS+=("$*")
}

_kill_pid() {
	local pid=$1 i

	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 40; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null || true
}

_dlib_exit() {
	local rc=$? i p

	set +e
	[ -n "${MUXP_PID:-}" ] && kill "$MUXP_PID" 2>/dev/null
	for p in "${AUTHD_PIDS[@]}"; do
		_kill_pid "$p"
	done
	for ((i = ${#_CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${_CLEANUPS[i]}"
	done
	if [ "$FINISHED" != 1 ] && [ -s "$LOG" ]; then
		echo "# authd log (tail):"
		tail -n 40 "$LOG" | sed 's/^/#   /'
	fi
	(exit "$rc")
	_lib_exit
}
trap _dlib_exit EXIT
# A test killed by meson's timeout still cleans up (daemons, PAM user).
trap 'exit 143' TERM
trap 'exit 130' INT

# finish - stop the daemons still running (so that leak reports are
# written), check for sanitizer reports, then lib.sh's finish.
eval "_lib_finish() $(declare -f finish | tail -n +2)"
finish() {
	local p f

	for p in "${AUTHD_PIDS[@]}"; do
		_kill_pid "$p"
	done
	sleep 0.1
	desc "no sanitizer report from any process of this test"
	if compgen -G "$SANDIR/*" >/dev/null; then
		fail
		for f in "$SANDIR"/*; do
			echo "#   $f:"
			head -n 30 "$f" | sed 's/^/#     /'
		done
	else
		pass
	fi
	_lib_finish
}

write_dconf_base() {
	printf '%s\n' "$@" >"$CONF"
}

# The fast test configuration: cheap hashes, short failure delays.
write_dconf() {
	write_dconf_base \
		"# written by dlib.sh" \
		"user = nobody" \
		"group = nogroup" \
		"socket_dir = $SOCKDIR" \
		"store_path = $DB" \
		"store_group = nogroup" \
		"default_realm = example.org" \
		"password_scheme = sha512-crypt" \
		"password_cost = 1000" \
		"$@"
	grep -q '^auth_failure_delay ' "$CONF" ||
		echo "auth_failure_delay = 50ms" >>"$CONF"
	grep -q '^auth_failure_delay_max ' "$CONF" ||
		echo "auth_failure_delay_max = 200ms" >>"$CONF"
}

# wait_socket PID [PATH] - until PATH is a socket (bounded: 5 s); fails
# if the daemon dies.  The socket listens before it appears, so a client
# may connect as soon as it is there.
wait_socket() {
	local pid=$1 path=${2:-$SOCK} i

	for ((i = 0; i < 100; i++)); do
		if [ -S "$path" ]; then
			return 0
		fi
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		sleep 0.05
	done
	return 1
}

LOG_FROM=1
# cur_log - the current daemon's part of $LOG.
cur_log() {
	tail -n +"$LOG_FROM" "$LOG"
}

start_authd() {
	local lines i

	lines=$(wc -l <"$LOG")
	LOG_FROM=$((lines + 1))
	"$AUTHD" -c "$CONF" -d "$@" 2>>"$LOG" &
	AUTHD_PID=$!
	AUTHD_PIDS+=("$AUTHD_PID")
	if wait_socket "$AUTHD_PID" "${START_SOCK:-$SOCK}"; then
		# The socket may be a stale one: wait for this daemon's word.
		for ((i = 0; i < 100; i++)); do
			tail -n +"$((lines + 1))" "$LOG" | grep -q 'ready:' && return 0
			sleep 0.05
		done
	fi
	echo "Bail out! authd did not become ready within 5 s"
	echo "#   command: $AUTHD -c $CONF -d $*"
	diag "$CONF" config
	diag "$LOG" log
	exit 1
}

stop_authd() {
	local pid=${1:-$AUTHD_PID}

	STOP_RC=0
	kill -TERM "$pid"
	wait "$pid" || STOP_RC=$?
}

add_user() {
	local user=$1 secret=$2

	shift 2
	printf '%s\n' "$secret" | pw -p "$@" add "$user" >"$TMP/.add" 2>&1 || {
		echo "Bail out! pwtool add $user failed"
		diag "$TMP/.add" pwtool
		exit 1
	}
}

_now_us() {
	_NOW=${EPOCHREALTIME/./}
}

timed_auth() {
	local user=$1 secret=$2 t0

	shift 2
	_now_us
	t0=$_NOW
	AUTH_RC=0
	AUTH_OUT=$("$AUTHTEST" mux -f "$SOCK" -u "$user" -p "$secret" "$@" 2>&1) ||
		AUTH_RC=$?
	_now_us
	AUTH_MS=$(((_NOW - t0) / 1000))
}

# auth WANT_RC USER PASS [authd-test options] - 0 OK, 1 NO, 2 error.
auth() {
	local want=$1 user=$2 secret=$3 what

	shift 3
	case $want in
	0) what=OK ;;
	1) what=NO ;;
	*) what="exit $want" ;;
	esac
	_take_desc "login $user${*:+ ($*)} with password '$secret' gets $what"
	local d=$_D
	timed_auth "$user" "$secret" "$@"
	if [ "$AUTH_RC" = "$want" ]; then
		pass "$d"
	else
		fail "$d"
		echo "#   authd-test exit $AUTH_RC, output: $AUTH_OUT"
	fi
}

check_ms() {
	local lo=$1 hi=$2 ms=$3

	shift 3
	if [ "$ms" -ge "$lo" ] && [ "$ms" -le "$hi" ]; then
		pass "$* (${ms} ms, want $lo..$hi)"
	else
		fail "$* (${ms} ms, want $lo..$hi)"
	fi
}

log_count() {
	grep -Ec -- "$1" < <(cur_log) || true
}

# expect_log RE - the daemon log has a line matching RE (waits up to 2 s:
# the line may be written just after the reply).
expect_log() {
	local i

	_take_desc "log matches /$1/"
	local d=$_D
	# EXPECT_LOG_TRIES: how many 50 ms polls (default 2 s in all)
	for ((i = 0; i < ${EXPECT_LOG_TRIES:-40}; i++)); do
		if grep -Eq -- "$1" < <(cur_log); then
			pass "$d"
			return 0
		fi
		sleep 0.05
	done
	fail "$d"
	echo "#   log tail:"
	tail -n 15 "$LOG" | sed 's/^/#     /'
}

expect_no_log() {
	_take_desc "log does not match /$1/"
	if ! grep -Eq -- "$1" < <(cur_log); then
		pass "$_D"
	else
		fail "$_D"
		cur_log | grep -E -- "$1" | head -n 5 | sed 's/^/#     /'
	fi
}

# One Python process per script serves every exchange (Python takes
# ~0.2 s to start here).
MUX_OUT=
mux() {
	local line

	if [ -z "${MUXP_PID:-}" ]; then
		coproc MUXP { exec python3 "$MUXPY" "$SOCK" --serve 2>&1; }
		# shellcheck disable=SC2034
		MUXP_IN=${MUXP[1]} MUXP_OUT=${MUXP[0]}
	fi
	printf '%s\0' "$@" "" >&"$MUXP_IN"
	MUX_OUT=
	while IFS= read -r line <&"$MUXP_OUT"; do
		[ "$line" = . ] && return 0
		MUX_OUT+=$line$'\n'
	done
	MUX_OUT+="error=mux.py ended"
}

# pid_status PID FIELD - a line's value from /proc/PID/status.
pid_status() {
	sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr -s ' \t' ' ' |
		sed 's/ $//'
}

# --- The auth socket (Dovecot auth-client protocol) ---
#   authp CMD ARG...   one command of authproto.py --serve (see its
#                      docstring) on $ASOCK; its output lines in $AP_OUT.
#                      One Python process serves the whole script.
#   ap_val KEY         the first value of KEY= in $AP_OUT (empty if none)
#   ap_vals KEY        every value of KEY=, one a line
#   plain_b64 AUTHCID PASS [AUTHZID]   base64 of a PLAIN message
ASOCK=$SOCKDIR/auth
AUTHPROTO=$SRCDIR/tests/daemon/authproto.py
AP_OUT=
authp() {
	local line

	if [ -z "${AP_PID:-}" ]; then
		mkfifo "$TMP/.ap.in" "$TMP/.ap.out"
		python3 "$AUTHPROTO" "$ASOCK" --serve <"$TMP/.ap.in" \
			>"$TMP/.ap.out" 2>&1 &
		AP_PID=$!
		exec {AP_W}>"$TMP/.ap.in" {AP_R}<"$TMP/.ap.out"
		at_exit "kill $AP_PID 2>/dev/null"
	fi
	printf '%s\0' "$@" "" >&"$AP_W"
	AP_OUT=
	while IFS= read -r line <&"$AP_R"; do
		[ "$line" = . ] && return 0
		AP_OUT+=$line$'\n'
	done
	AP_OUT+="error=authproto.py ended"$'\n'
}

ap_vals() {
	local line

	while IFS= read -r line; do
		[[ $line == "$1="* ]] && printf '%s\n' "${line#"$1="}"
	done <<<"$AP_OUT"
	return 0
}

ap_val() {
	local v
	v=$(ap_vals "$1")
	printf '%s' "${v%%$'\n'*}"
}

plain_b64() {
	printf '%s\0%s\0%s' "${3:-}" "$1" "$2" | base64 -w0
}
