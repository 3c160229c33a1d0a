#!/bin/bash
# One authd per pid file and per socket: a second one refuses to start
# and leaves the first alone; a socket left by kill -9 is replaced at the
# next start; a non-socket at the socket path is never removed.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

write_dconf
add_user alice@example.org secret1
start_authd
FIRST=$AUTHD_PID
PIDFILE=$SOCKDIR/authd.pid
desc "the pid file holds the first daemon's pid"
expect_eq "$FIRST" "$(cat "$PIDFILE")"

# A second instance, same configuration (same socket_dir and pid file).
desc "a second authd with the same socket_dir and pid file refuses to start"
expect_rc 1 timeout 10 "$AUTHD" -d -c "$CONF"
desc "... saying another authd runs, with the first one's pid"
expect_err "another authd is running \\(pid file $PIDFILE, pid $FIRST\\)"
desc "the first daemon is still running"
check kill -0 "$FIRST"
desc "its socket is still there"
check test -S "$SOCK"
desc "its pid file still holds its pid"
expect_eq "$FIRST" "$(cat "$PIDFILE")"
desc "and it still answers"
auth 0 alice secret1

# A second instance with its own pid file but the same socket.
cp "$CONF" "$TMP/second.conf"
echo "pid_file = $TMP/second.pid" >>"$TMP/second.conf"
desc "a second authd with another pid file but the same socket refuses to start"
expect_rc 1 timeout 10 "$AUTHD" -d -c "$TMP/second.conf"
expect_err "$SOCK: another server is listening there"
desc "the first still answers, through the same socket"
auth 0 alice secret1
desc "the first is still running"
check kill -0 "$FIRST"

# The same, daemonized (the parent's exit status is the verdict).
desc "a second authd without -d (daemonizing) also exits non-zero"
expect_rc 1 timeout 10 "$AUTHD" -c "$CONF"
desc "the first still answers after that"
auth 0 alice secret1

# kill -9: the socket stays behind; the next start replaces it.
kill -KILL "$FIRST"
wait "$FIRST" 2>/dev/null || true
desc "after kill -9 the socket file is left behind"
check test -S "$SOCK"
desc "a client gets no answer from the dead socket (authd-test exit 2)"
expect_rc 2 "$AUTHTEST" mux -f "$SOCK" -u alice -p secret1
start_authd
desc "the new daemon started over the stale socket"
check kill -0 "$AUTHD_PID"
expect_log "removing stale socket $SOCK"
desc "the new socket has the configured owner and mode"
expect_eq "nobody nogroup 660" "$(stat -c '%U %G %a' "$SOCK")"
desc "the new daemon answers"
auth 0 alice secret1
desc "the pid file now holds the new pid"
expect_eq "$AUTHD_PID" "$(cat "$PIDFILE")"
stop_authd
desc "the daemon stopped cleanly (exit 0)"
expect_eq 0 "$STOP_RC"

# Something that is not a socket at the socket path: refuse, keep it.
echo "precious" >"$SOCK"
desc "a regular file at the socket path: authd refuses to start"
expect_rc 1 timeout 10 "$AUTHD" -d -c "$CONF"
expect_err "$SOCK exists and is not a socket"
desc "... and does not remove the file"
expect_eq precious "$(cat "$SOCK")"
rm -f "$SOCK"

# socket_dir that is a file.
cp "$CONF" "$TMP/filedir.conf"
sed -i "s|^socket_dir = .*|socket_dir = $TMP/plainfile|" "$TMP/filedir.conf"
: >"$TMP/plainfile"
desc "a socket_dir that is a regular file: refuse to start"
expect_rc 1 timeout 10 "$AUTHD" -d -c "$TMP/filedir.conf"
expect_err "socket_dir $TMP/plainfile is not a directory"

# A socket path longer than sun_path.
LONGDIR=$TMP/$(printf 'd%.0s' {1..110})
cp "$CONF" "$TMP/long.conf"
sed -i "s|^socket_dir = .*|socket_dir = $LONGDIR|" "$TMP/long.conf"
echo "pid_file = $TMP/long.pid" >>"$TMP/long.conf"
desc "a socket path longer than 107 bytes: refuse to start with a message"
expect_rc 1 timeout 10 "$AUTHD" -d -c "$TMP/long.conf"
expect_err 'socket path longer than 107 bytes'
finish
