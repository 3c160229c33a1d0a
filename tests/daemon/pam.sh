#!/bin/bash
# The PAM back-end against pam_unix with a throw-away system user:
# right/wrong passwords, no pam_unix 2 s failure delay, pam_groups, the
# PAM service name (from the config or the request, never a path), -r,
# and -a pam surviving a SIGHUP.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (useradd, /etc/pam.d)"; FINISHED=1; exit 77; }
getent group shadow >/dev/null || { echo "Bail out! no shadow group"; exit 1; }

SUFFIX=$$$RANDOM
PUSER=authdtest$SUFFIX
PSVC=authd-test-$SUFFIX
PPASS="Pam-Pass-$RANDOM-x"
at_exit "userdel '$PUSER' >/dev/null 2>&1; rm -f '/etc/pam.d/$PSVC'"
useradd -M -s /usr/sbin/nologin "$PUSER"
printf '%s:%s\n' "$PUSER" "$PPASS" | chpasswd
printf 'auth required pam_unix.so\naccount required pam_unix.so\n' >"/etc/pam.d/$PSVC"

write_dconf "auth_backend = pam" "pam_service = $PSVC" "pam_groups = shadow"
start_authd
expect_log 'ready: .* back-end pam'

auth 0 "$PUSER" "$PPASS"
auth 1 "$PUSER" "wrong-$PPASS"
desc "a wrong password is answered without pam_unix's 2 s delay"
check_ms 0 1500 "$AUTH_MS" "wrong PAM password answered fast"
auth 1 "nosuch$SUFFIX" "$PPASS"
check_ms 0 1500 "$AUTH_MS" "unknown PAM user answered fast"
expect_log "user=$PUSER service=imap client=- result=ok"
expect_log "user=$PUSER service=imap client=- result=fail reason=\"pam: Authentication failure\""
desc "the realm is not part of the PAM user by default (-r example.org still OK)"
auth 0 "$PUSER" "$PPASS" -r example.org
desc "the client address reaches the log (and PAM_RHOST)"
auth 0 "$PUSER" "$PPASS" -a "192.0.2.44;1000"
expect_log "user=$PUSER service=imap client=192\\.0\\.2\\.44;1000 result=ok"
desc "a login with a control character is refused without calling PAM"
auth 1 "$PUSER"$'\t' "$PPASS"
expect_log 'reason="invalid user name"'

desc "the dropped process has the pam_groups group (shadow) and nothing else"
expect_eq "$(getent group shadow | cut -d: -f3)" "$(pid_status "$AUTHD_PID" Groups)"
desc "and runs as nobody"
expect_eq "65534 65534 65534 65534" "$(pid_status "$AUTHD_PID" Uid)"

desc "no password in the log"
check bash -c '! grep -qF -- "$2" "$1"' _ "$LOG" "$PPASS"

# The service from the request, when pam_service is empty; only a plain
# file name under /etc/pam.d may be used.
stop_authd
write_dconf "auth_backend = pam" "pam_groups = shadow"
start_authd
auth 0 "$PUSER" "$PPASS" -s "$PSVC"
expect_log "user=$PUSER service=$PSVC client=- result=ok"
auth 1 "$PUSER" "$PPASS" -s "../pam.d/$PSVC"
expect_log 'reason="invalid PAM service name"'
auth 1 "$PUSER" "$PPASS" -s "/etc/pam.d/$PSVC"

# -r (pam_append_realm): the PAM user becomes user@realm.
stop_authd
write_dconf "pam_service = $PSVC" "pam_groups = shadow"
start_authd -a pam -r
desc "-r: user + realm example.org is the PAM user $PUSER@example.org: NO"
auth 1 "$PUSER" "$PPASS" -r example.org
expect_log 'reason="pam: User not known to the underlying authentication module"'

desc "-r: without a realm the PAM user is the login: OK"
auth 0 "$PUSER" "$PPASS"

# The command line's -a pam must survive a reload (the file does not set
# auth_backend).
stop_authd
write_dconf "pam_service = $PSVC" "pam_groups = shadow"
start_authd -a pam
desc "started with -a pam: the system user logs in"
auth 0 "$PUSER" "$PPASS"
kill -HUP "$AUTHD_PID"
expect_log 'configuration reloaded'
desc "after SIGHUP, still the PAM back-end of -a pam: the system user logs in"
auth 0 "$PUSER" "$PPASS"
desc "authd is still running after the reload"
check kill -0 "$AUTHD_PID"

# The auth socket with PAM: PLAIN and LOGIN go through the PAM stack and
# OK names the PAM user.  auth_realm_mechanisms applies with PAM too: the
# realm is the store's idea of the login's (here default_realm).
stop_authd
write_dconf "auth_backend = pam" "pam_service = $PSVC" "pam_groups = shadow" \
	"auth_mechanisms = plain login" "auth_realm_mechanisms = example.org:login"
start_authd
desc "PAM, auth socket, PLAIN where example.org allows only LOGIN: refused"
expect_rc 1 "$AUTHTEST" auth -f "$SOCKDIR/auth" -m PLAIN -u "$PUSER" -p "$PPASS"
expect_log "user=$PUSER service=imap client=- result=fail reason=\"mechanism PLAIN is not allowed in realm example.org"
desc "... LOGIN: OK, and OK names the PAM user"
expect_rc 0 "$AUTHTEST" auth -f "$SOCKDIR/auth" -m LOGIN -u "$PUSER" -p "$PPASS"
expect_out "^OK user=$PUSER\$"
desc "... LOGIN with a wrong password: FAIL"
expect_rc 1 "$AUTHTEST" auth -f "$SOCKDIR/auth" -m LOGIN -u "$PUSER" -p "wrong-$PPASS"
desc "... the mux socket is not restricted"
auth 0 "$PUSER" "$PPASS"
finish
