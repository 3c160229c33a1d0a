#!/bin/bash
# The control socket and authdctl (authd/conn_control.c, ctl/authdctl.c,
# proto/control-protocol.txt): counters move as mux and auth requests
# succeed and fail; penalty list shows a throttled client and flush lifts
# it; cache flush makes the next login miss; who may connect (file mode,
# then SO_PEERCRED: root, authd's uid, control_group); metrics in the
# Prometheus text format 0.0.4 (strictly parsed: promparse.py);
# malformed commands get ERR and the daemon lives, under its sandbox.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

AUTHDCTL=$BUILDDIR/ctl/authdctl
PROMPARSE=$SRCDIR/tests/daemon/promparse.py
CSOCK=$SOCKDIR/control
[ -x "$AUTHDCTL" ] || { echo "Bail out! $AUTHDCTL is not executable"; exit 1; }

write_dconf "auth_cache = yes" "auth_failure_delay = 400ms" \
	"auth_failure_delay_max = 1600ms"
add_user alice@example.org alice-pw
add_user bob@example.org bob-pw
start_authd

# ctl ARG... - authdctl on the test configuration: CTL_OUT, CTL_RC.
ctl() {
	CTL_RC=0
	CTL_OUT=$("$AUTHDCTL" -c "$CONF" "$@" 2>&1) || CTL_RC=$?
}
# counter NAME - one line's value of `stats`.
counter() {
	"$AUTHDCTL" -c "$CONF" stats | sed -n "s/^$1 //p"
}
# raw TEXT - bytes (printf escapes) to the control socket as root, then
# whatever comes back before EOF or 1 s of silence, in RAW_OUT.
raw() {
	RAW_OUT=$(python3 - "$CSOCK" "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode("latin-1").decode("unicode_escape").encode("latin-1"))
s.settimeout(1)
out = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            out += b"<eof>\n"
            break
        out += b
except socket.timeout:
    pass
except ConnectionResetError:
    out += b"<eof>\n"
sys.stdout.write(out.decode("latin-1"))
EOF
)
}

# --- the socket file and status --------------------------------------------
desc "control socket is root's, mode 0600 (no control_group)"
expect_eq "srw------- root root" "$(stat -c '%A %U %G' "$CSOCK")"
ctl status
desc "authdctl status exits 0"
expect_eq 0 "$CTL_RC"
desc "status: one line with version, pid, uptime, back-end, requests, queue"
like='^authd [0-9][^ ]* pid '"$AUTHD_PID"' uptime [0-9]+s backend store requests 0 queue 0/512 connections 0$'
if [[ $CTL_OUT =~ $like ]]; then pass; else fail; echo "#   got: $CTL_OUT"; fi
ctl -s "$CSOCK" status
desc "authdctl -s SOCKET finds it too"
expect_eq 0 "$CTL_RC"

# --- counters: mux --------------------------------------------------------
auth 0 alice alice-pw
auth 1 alice wrong-pw
auth 0 alice alice-pw
desc "stats: mux ok 2"
expect_eq 2 "$(counter requests.mux.ok)"
desc "stats: mux fail 1"
expect_eq 1 "$(counter requests.mux.fail)"
desc "stats: mechanism none (the mux socket) ok 2"
expect_eq 2 "$(counter mechanism.none.ok)"
desc "stats: one cache hit (the third login)"
expect_eq 1 "$(counter cache.hits)"
desc "stats: two cache misses (the first login, the wrong password)"
expect_eq 2 "$(counter cache.misses)"
desc "stats: 3 requests, 3 mux connections accepted"
expect_eq "3 3" "$(counter requests) $(counter connections.mux.accepted)"

# --- counters: auth socket, per mechanism -----------------------------------
authp open a1 wait
authp run a1 1 PLAIN bob@example.org bob-pw
desc "auth PLAIN bob: OK"
check grep -q '^result=OK' <<<"$AP_OUT"
authp run a1 2 SCRAM-SHA-256 bob@example.org bob-pw
desc "auth SCRAM-SHA-256 bob: OK"
check grep -q '^result=OK' <<<"$AP_OUT"
authp run a1 3 PLAIN bob@example.org wrong
desc "auth PLAIN wrong password: FAIL"
check grep -q '^result=FAIL' <<<"$AP_OUT"
desc "stats: auth ok 2, fail 1"
expect_eq "2 1" "$(counter requests.auth.ok) $(counter requests.auth.fail)"
desc "stats: PLAIN ok 1 fail 1, SCRAM-SHA-256 ok 1"
expect_eq "1 1 1" "$(counter mechanism.PLAIN.ok) $(counter mechanism.PLAIN.fail) $(counter mechanism.SCRAM-SHA-256.ok)"
desc "stats: one open auth connection"
expect_eq 1 "$(counter connections.auth)"
authp close a1

# --- penalties ------------------------------------------------------------
X=198.51.100.9
timed_auth carol wrong -a "$X"
timed_auth dave wrong -a "$X"
timed_auth dave wrong -a "$X"
ctl penalty list
desc "penalty list shows the address with its 3 failures"
check grep -Eq "^address $X failures=3 next_delay_ms=1600 forget_in_s=(8[0-9][0-9]|900)$" <<<"$CTL_OUT"
desc "penalty list shows dave with 2"
check grep -Eq "^user dave@example\.org failures=2 next_delay_ms=1600 forget_in_s=[0-9]+$" <<<"$CTL_OUT"
desc "stats: throttle holds 1 address"
expect_eq 1 "$(counter throttle.addresses)"
# The 4th failure from the address: delayed by the cap (1600 ms).
timed_auth erin wrong -a "$X"
check_ms 1550 2600 "$AUTH_MS" "throttled address: the next failure waits the cap"
ctl penalty flush "$X"
desc "penalty flush ADDR: flushed 1"
expect_eq "flushed 1" "$CTL_OUT"
ctl penalty list
desc "... and the address is gone from the list"
check bash -c '! grep -q "^address " <<<"$1"' _ "$CTL_OUT"
# erin has one failure of her own: the next from the flushed address is
# the second step (800 ms), no longer the cap.
timed_auth erin wrong -a "$X"
check_ms 750 1450 "$AUTH_MS" "after the flush: the address's delay is lifted"
ctl penalty flush dave
desc "penalty flush USER (without its realm): flushed 1"
expect_eq "flushed 1" "$CTL_OUT"
ctl penalty list
left=$(grep -c . <<<"$CTL_OUT")
desc "penalty flush all: the rest (carol, erin, the address, bob's auth failure)"
check test "$left" -ge 4
ctl penalty flush all
expect_eq "flushed $left" "$CTL_OUT"
ctl penalty list
desc "penalty list is empty"
expect_eq "" "$CTL_OUT"
timed_auth erin wrong -a "$X"
check_ms 350 1150 "$AUTH_MS" "after flush all: the first step again (400 ms)"
desc "stats: failures delayed are counted"
check test "$(counter throttle.delayed)" -ge 6

# --- cache flush ------------------------------------------------------------
n_cached() { log_count 'user=alice@example\.org .*result=ok cached=yes'; }
c0=$(n_cached)
auth 0 alice alice-pw
sleep 0.1
desc "alice is served from the cache"
expect_eq $((c0 + 1)) "$(n_cached)"
ctl cache flush ALICE
desc "cache flush USER (any case, default realm): flushed 1"
expect_eq "flushed 1" "$CTL_OUT"
m0=$(counter cache.misses)
auth 0 alice alice-pw
sleep 0.1
desc "... the next login is checked, not cached"
expect_eq $((c0 + 1)) "$(n_cached)"
desc "... and counted as a miss"
expect_eq $((m0 + 1)) "$(counter cache.misses)"
auth 0 alice alice-pw
ctl cache flush all
desc "cache flush all: alice and bob (cached by his PLAIN login)"
expect_eq "flushed 2" "$CTL_OUT"
desc "stats: cache empty"
expect_eq 0 "$(counter cache.entries)"
expect_log 'control: uid 0: cache flush all: 2 entries forgotten'

# --- metrics ----------------------------------------------------------------
"$AUTHDCTL" -c "$CONF" metrics >"$TMP/metrics"
desc "metrics pass the strict 0.0.4 parser, all names authd_*"
check python3 "$PROMPARSE" --prefix authd_ <"$TMP/metrics"
desc "metrics: mux ok equals stats"
expect_eq "$(counter requests.mux.ok)" "$(python3 "$PROMPARSE" --get 'authd_requests_total{socket="mux",result="ok"}' <"$TMP/metrics")"
desc "metrics: SCRAM-SHA-256 ok 1"
expect_eq 1 "$(python3 "$PROMPARSE" --get 'authd_mechanism_requests_total{mechanism="SCRAM-SHA-256",result="ok"}' <"$TMP/metrics")"
"$AUTHDCTL" -c "$CONF" stats prometheus >"$TMP/metrics2"
desc "'stats prometheus' is the same family list as 'metrics'"
expect_eq "$(grep -c '^# TYPE' "$TMP/metrics")" "$(grep -c '^# TYPE' "$TMP/metrics2")"
# The parser itself refuses what promtool refuses.
printf '# HELP authd_x_total x\n# TYPE authd_x_total counter\nauthd_x_total{a="1"} 1\nauthd_x_total{a="1"} 2\n' >"$TMP/dup"
desc "promparse refuses a duplicate series"
expect_rc 1 python3 "$PROMPARSE" <"$TMP/dup"
printf '# HELP authd_x x\n# TYPE authd_x counter\nauthd_x 1\n' >"$TMP/nototal"
desc "promparse refuses a counter without _total"
expect_rc 1 python3 "$PROMPARSE" <"$TMP/nototal"
printf 'authd_y 1\n' >"$TMP/notype"
desc "promparse refuses a sample without TYPE"
expect_rc 1 python3 "$PROMPARSE" <"$TMP/notype"

# --- malformed commands -----------------------------------------------------
raw 'bogus\n'
desc "unknown command: ERR, then the terminator"
expect_eq $'ERR unknown command (help lists them)\n.' "$RAW_OUT"
raw 'penalty flush\nstatus\n'
desc "missing argument: ERR, and the connection goes on (status answers)"
check grep -Eq $'^ERR usage: penalty list.*\n\\.\nOK\nauthd .*\n\\.$' <<<"$RAW_OUT"
raw 'sta\x01tus\n\xff\xfe\x00\n'
desc "control bytes: ERR malformed command (twice)"
expect_eq 2 "$(grep -c '^ERR malformed command$' <<<"$RAW_OUT")"
raw "$(printf 'x%.0s' {1..600})\\n"
desc "a line over 511 bytes: ERR line too long, and authd closes"
expect_eq $'ERR line too long\n.\n<eof>' "$RAW_OUT"
raw "cache flush $(printf 'a%.0s' {1..400})\\n"
desc "an argument over 318 bytes: ERR"
expect_eq $'ERR argument too long\n.' "$RAW_OUT"
raw 'STATUS\r\n'
desc "case-insensitive command, CRLF accepted"
check grep -q '^OK' <<<"$RAW_OUT"
# 17 connections at once: the 17th is closed at once (CONTROL_CONNS_MAX).
python3 - "$CSOCK" >"$TMP/many" <<'EOF'
import socket, sys, time
held = []
for i in range(16):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); held.append(s)
time.sleep(0.2)
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(2)
time.sleep(0.2)
try:
    s.sendall(b"status\n")
    got = s.recv(100)
except OSError:
    got = b""
print("17th:", "eof" if got == b"" else "answered")
held[0].sendall(b"status\n"); held[0].settimeout(2)
print("1st:", held[0].recv(100).split(b"\n")[0].decode())
EOF
desc "the 17th connection is refused, the 16 held ones still served"
expect_eq $'17th: eof\n1st: OK' "$(cat "$TMP/many")"
ctl frobnicate
desc "authdctl: an unknown command is a usage error (exit 2), before connecting"
expect_eq 2 "$CTL_RC"
desc "the daemon lives (the sandbox allowed all of it)"
check kill -0 "$AUTHD_PID"

# --- who may connect ----------------------------------------------------------
# The test daemon runs as nobody, which the peer check admits as authd's
# own user, so the outsider is uid 12345 (no passwd entry needed), in
# group nogroup to traverse socket_dir (0750, nobody:nogroup).
outsider() {
	setpriv --reuid 12345 --regid nogroup "$@" "$AUTHDCTL" -s "$CSOCK" status
}
desc "an outsider cannot open the 0600 socket (exit 3)"
expect_rc 3 outsider --clear-groups
expect_err 'Permission denied'
chmod 0666 "$CSOCK"
desc "with the file opened up by hand, SO_PEERCRED still refuses (exit 3)"
expect_rc 3 outsider --clear-groups
expect_log 'control: refused pid [0-9]+ uid 12345 gid 65534: not root, not authd.s user, not in control_group'
desc "authd's own user (nobody) is admitted"
expect_rc 0 setpriv --reuid nobody --regid nogroup --clear-groups "$AUTHDCTL" -s "$CSOCK" status

# control_group: mode 0660 with that group; its members get in (primary or
# supplementary group), others do not.
stop_authd
write_dconf "control_group = mail"
start_authd
desc "with control_group: root:mail, mode 0660"
expect_eq "srw-rw---- root mail" "$(stat -c '%A %U %G' "$CSOCK")"
desc "a member by its supplementary groups is admitted"
expect_rc 0 outsider --groups mail
desc "a member by its primary group is admitted"
expect_rc 0 setpriv --reuid 12345 --regid mail --groups nogroup "$AUTHDCTL" -s "$CSOCK" status
desc "a non-member is refused"
expect_rc 3 outsider --clear-groups

# control_socket = none: no socket; authdctl says so.
stop_authd
write_dconf "control_socket = none"
start_authd
desc "control_socket = none: no control socket"
check test ! -e "$CSOCK"
ctl status
desc "authdctl: exit 2, and why"
expect_eq "2 authdctl: $CONF: control_socket = none: this authd has no control socket" "$CTL_RC $CTL_OUT"
stop_authd
write_dconf "control_socket = mux"
desc "control_socket = mux is refused by authd -t"
expect_rc 1 "$AUTHD" -t -c "$CONF"
expect_err 'control_socket: "mux" is not a file name'
write_dconf "control_group = no-such-group-ctl12"
desc "an unknown control_group is refused by authd -t"
expect_rc 1 "$AUTHD" -t -c "$CONF"
expect_err 'control_group: no such group "no-such-group-ctl12"'
finish
