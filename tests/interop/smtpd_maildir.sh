#!/bin/bash
# smtpd_maildir.sh - authd-smtpd delivering local domains to Maildirs
# (issue 10): exact bytes in new/ (CRLF to LF, dots unstuffed,
# Return-Path and our Received first), unknown users refused, local and
# remote recipients never mixed in one message, and nothing lost or
# half-written: authd-smtpd killed with SIGKILL during DATA leaves no file
# in new/ and no 250; after a 250 the file is in new/.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"
source "$SRCDIR/tests/interop/smtpd_lib.sh"

sm_init
write_dconf
start_authd
MB=$TMP/mail
mkdir -p "$MB/example.org/known/Maildir"/{tmp,new,cur}
chown -R nobody "$MB"
printf 'known@example.org  %s/example.org/known/Maildir\n' "$MB" >"$TMP/mdmap"
sm_sink hop 127.0.0.1:"$SM_HOP"

BODY=$TMP/body.txt
printf 'Subject: local-token\r\n\r\nline one\r\n..dotted\r\n\r\nlast\r\n.\r\n' >"$BODY"
new_files() {	# the files in new/ of the known Maildir
	find "$MB/example.org/known/Maildir/new" -type f | sort
}

# --- the map: known user, unknown user, mixed transaction ---
sm_conf "local_domains = example.org" "maildir_map = $TMP/mdmap" \
	"maildir_create = no"
sm_start
desc "a known local user: 250 after the file is in new/, exact bytes"
sm_chat "$SM_SMTP" "EHLO client.example" "MAIL FROM:<s@remote.example>" \
	"RCPT TO:<known@example.org>" "DATA" "@$BODY" "QUIT" >"$OUT" 2>&1
expect_out '^250 2\.0\.0 Ok: delivered to'
f=$(new_files | head -n 1)
check test -n "$f"
desc "the file: Return-Path, our Received, then the message with LF line ends and dots unstuffed"
expect_eq "Return-Path: <s@remote.example>" "$(head -n 1 "$f")"
check grep -q '^Received: from client.example (unknown \[127\.0\.0\.1\])$' "$f"
expect_eq "Subject: local-token

line one
.dotted

last" "$(sed -n '/^Subject: local-token/,$p' "$f")"
check test -z "$(tr -d '\n' <"$f" | grep -c $'\r' | grep -v '^0$' || true)"
desc "the file is 0600 and tmp/ is empty"
expect_eq 600 "$(stat -c %a "$f")"
expect_eq "" "$(find "$MB/example.org/known/Maildir/tmp" -type f)"

desc "an unknown local user gets 550 5.1.1; a remote one from a stranger 554 5.7.1"
sm_chat "$SM_SMTP" "EHLO client.example" "MAIL FROM:<s@remote.example>" \
	"RCPT TO:<nobody@example.org>" 'RCPT TO:<"../etc"@example.org>' \
	"RCPT TO:<x@remote.example>" "QUIT" >"$OUT" 2>&1
expect_eq "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown in virtual mailbox table
550 5.1.1 <\"../etc\"@example.org>: Recipient address rejected: User unknown in virtual mailbox table
554 5.7.1 <x@remote.example>: Relay access denied" "$(grep -E '^5' "$OUT")"

desc "a mynetworks client: local and remote recipients in one message are never mixed (452 4.5.3)"
sm_stop
sm_conf "local_domains = example.org" "maildir_map = $TMP/mdmap" \
	"maildir_create = no" "mynetworks = 127.0.0.0/8"
sm_start
sm_chat "$SM_SMTP" "EHLO client.example" "MAIL FROM:<s@remote.example>" \
	"RCPT TO:<known@example.org>" "RCPT TO:<x@remote.example>" "RSET" \
	"MAIL FROM:<s@remote.example>" "RCPT TO:<x@remote.example>" \
	"RCPT TO:<known@example.org>" "QUIT" >"$OUT" 2>&1
expect_eq "250 2.1.5 Ok
452 4.5.3 Error: a local and a remote recipient in one message: send to this one separately
250 2.1.5 Ok
452 4.5.3 Error: a local and a remote recipient in one message: send to this one separately" \
	"$(grep -E '^(250 2\.1\.5|452)' "$OUT")"
sm_stop

# --- maildir_create with a template: a new user's Maildir is made ---
sm_conf "local_domains = example.org" "maildir_template = $MB/%d/%u/Maildir"
sm_start
desc "maildir_template + maildir_create: a first message makes new/ for the user"
sm_chat "$SM_SMTP" "EHLO client.example" "MAIL FROM:<s@remote.example>" \
	"RCPT TO:<Fresh@Example.org>" "DATA" "@$BODY" "QUIT" >"$OUT" 2>&1
expect_out '^250 2\.0\.0 Ok: delivered to'
expect_eq 1 "$(find "$MB/example.org/fresh/Maildir/new" -type f | wc -l)"

# --- killed during DATA: nothing in new/, and no 250 ---
desc "SIGKILL to authd-smtpd (supervisor and worker) during DATA: no 250, nothing in new/"
before=$(new_files | wc -l)
sm_chat "$SM_SMTP" "EHLO client.example" "MAIL FROM:<s@remote.example>" \
	"RCPT TO:<known@example.org>" "DATA" "=Subject: killed-token" "=" \
	"=half a message" "!sleep 0.3; pkill -KILL -f -- '-c $SM_CONF'" \
	"=the rest" "." >"$OUT" 2>&1 || true
check test -z "$(grep -E '^250 2\.0\.0' "$OUT" || true)"
desc "the kill came mid-message: its start is in tmp/ (which readers clean), not in new/"
check grep -rlq killed-token "$MB/example.org/known/Maildir/tmp"
expect_eq "$before" "$(new_files | wc -l)"
check test -z "$(grep -rl killed-token "$MB"/example.org/known/Maildir/new 2>/dev/null || true)"
SM_PID=
sm_start
desc "after the restart, a message is delivered whole"
sm_chat "$SM_SMTP" "EHLO client.example" "MAIL FROM:<s@remote.example>" \
	"RCPT TO:<known@example.org>" "DATA" "@$BODY" "QUIT" >"$OUT" 2>&1
expect_out '^250 2\.0\.0 Ok: delivered to'
expect_eq $((before + 1)) "$(new_files | wc -l)"
sm_stop

desc "local_domains without a map or template is refused at start"
sm_conf "local_domains = example.org"
expect_rc 1 "$AUTHD_SMTPD" -c "$SM_CONF" -t
expect_err "local_domains: needs maildir_map or maildir_template"
finish
