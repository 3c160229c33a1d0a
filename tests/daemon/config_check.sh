#!/bin/bash
# authd -t: a good configuration passes; every kind of bad one fails with
# a non-zero status and names the file and line (or the key).  Also the
# command-line basics (-V, usage errors).
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

write_dconf
desc "authd -t on the test configuration exits 0"
expect_rc 0 "$AUTHD" -t -c "$CONF"
expect_out 'configuration OK'
desc "authd -t creates neither the socket directory nor a pid file"
check test ! -e "$SOCKDIR"
desc "authd -t with the test configuration warns about nothing"
expect_rc 0 "$AUTHD" -t -c "$CONF"
check bash -c '! grep -q warning "$1"' _ "$ERR"
desc "authd -t warns (exit 0) when socket_dir's parent does not exist"
expect_rc 0 "$AUTHD" -t -c "$CONF" -m "$TMP/no/such/sock"
expect_err "warning: socket_dir $TMP/no/such/sock: its parent $TMP/no/such does not exist"
expect_out 'configuration OK'
# What the dropped user (nobody) will not be able to open: checked by a
# child that drops to it, so groups, directories on the way and ACLs count.
add_user alice@example.org secret1
desc "authd -t with a store the user can read: no warning"
expect_rc 0 "$AUTHD" -t -c "$CONF"
check bash -c '! grep -q warning "$1"' _ "$ERR"
chmod 0600 "$CONF"
desc "a configuration file only root can read: exit 0, with a warning"
expect_rc 0 "$AUTHD" -t -c "$CONF"
expect_err "^authd: warning: $CONF is not readable by user nobody \(Permission denied\): a SIGHUP would fail to reload it\$"
expect_out 'configuration OK'
chmod 0644 "$CONF"
chmod 0600 "$DB"*
desc "a store only root can read: exit 0, with a warning"
expect_rc 0 "$AUTHD" -t -c "$CONF"
expect_err "^authd: warning: the store is not readable by user nobody \(.*Permission denied\): every check would fail\$"
chmod 0640 "$DB"*
mkdir -m 0700 "$TMP/private"
cp "$CONF" "$TMP/private/authd.conf"
desc "a configuration file in a directory the user cannot enter: a warning"
expect_rc 0 "$AUTHD" -t -c "$TMP/private/authd.conf"
expect_err "warning: $TMP/private/authd\.conf is not readable by user nobody"
desc "... the same with the user in a group that may enter: no warning"
chgrp nogroup "$TMP/private"
chmod 0750 "$TMP/private"
expect_rc 0 "$AUTHD" -t -c "$TMP/private/authd.conf"
check bash -c '! grep -q warning "$1"' _ "$ERR"
desc "not root: authd -t cannot take the user's identity and checks the rest"
chmod 0644 "$CONF"
expect_rc 0 setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$AUTHD" -t -c "$CONF"
expect_out 'configuration OK'

defconf=$("$AUTHD" --help | sed -n 's/.*configuration (default \(.*\))$/\1/p')
# The built-in defaults run as user and group authd: only where they exist.
if [ -n "$defconf" ] && [ ! -e "$defconf" ] && getent passwd authd >/dev/null &&
   getent group authd >/dev/null; then
	desc "authd -t without -c and no $defconf: OK, with a warning that the defaults are used"
	expect_rc 0 "$AUTHD" -t
	expect_err "warning: $defconf does not exist: the built-in defaults are used"
fi
desc "authd -t -c on a missing file fails (a file named with -c must exist)"
expect_rc 1 "$AUTHD" -t -c "$TMP/missing.conf"

# bad CONTENT... - a configuration file: the test one plus the lines.
bad() {
	cp "$CONF" "$TMP/bad.conf"
	printf '%s\n' "$@" >>"$TMP/bad.conf"
	BADLINE=$(wc -l <"$TMP/bad.conf")
}

bad "bogus_key = 1"
desc "an unknown key: authd -t exits 1"
expect_rc 1 "$AUTHD" -t -c "$TMP/bad.conf"
desc "... naming FILE:LINE and the key"
expect_err "^authd: $TMP/bad\\.conf:$BADLINE: unknown key \"bogus_key\"\$"

bad "mux_timeout = 5 parsecs"
desc "a bad time value: exit 1 with FILE:LINE"
expect_rc 1 "$AUTHD" -t -c "$TMP/bad.conf"
expect_err "$TMP/bad\\.conf:$BADLINE: mux_timeout: expected a time"

bad "socket_mode = 0999"
desc "a bad mode: exit 1 with FILE:LINE"
expect_rc 1 "$AUTHD" -t -c "$TMP/bad.conf"
expect_err "$TMP/bad\\.conf:$BADLINE: socket_mode"

bad "auth_cache = maybe"
desc "a bad boolean: exit 1 with FILE:LINE"
expect_rc 1 "$AUTHD" -t -c "$TMP/bad.conf"
expect_err "$TMP/bad\\.conf:$BADLINE: auth_cache: expected yes or no"

bad "auth_backend = ldap"
desc "a bad back-end name: exit 1 with FILE:LINE"
expect_rc 1 "$AUTHD" -t -c "$TMP/bad.conf"
expect_err "$TMP/bad\\.conf:$BADLINE: auth_backend"

# auth_realm_mechanisms: realm:mech[,mech] words, within auth_mechanisms
for row in "example.org|each word is realm:mechanism" \
	"example.org:|each word is realm:mechanism" \
	"example..org:plain|invalid realm name" \
	"example.org:plain,gssapi|unknown mechanism" \
	"example.org:plain,,login|unknown mechanism" \
	"example.org:cram-md5|a mechanism that auth_mechanisms does not enable"; do
	bad "auth_realm_mechanisms = ${row%%|*}"
	desc "auth_realm_mechanisms = ${row%%|*}: exit 1"
	expect_rc 1 "$AUTHD" -t -c "$TMP/bad.conf"
	expect_err "auth_realm_mechanisms: ${row#*|}"
done
bad "auth_realm_mechanisms = example.org:plain,scram-sha-256 Legacy.Example:login"
desc "a good auth_realm_mechanisms passes authd -t"
expect_rc 0 "$AUTHD" -t -c "$TMP/bad.conf"
bad "auth_mechanisms = plain kerberos"
desc "an unknown word in auth_mechanisms: exit 1"
expect_rc 1 "$AUTHD" -t -c "$TMP/bad.conf"
expect_err "auth_mechanisms: unknown mechanism"

bad "mux_timeout = 10ms"
desc "a time below its range: exit 1 with FILE:LINE"
expect_rc 1 "$AUTHD" -t -c "$TMP/bad.conf"
expect_err "$TMP/bad\\.conf:$BADLINE: mux_timeout: time out of range"

bad "this line has no equals sign"
desc "a line that is not key = value: exit 1 with FILE:LINE"
expect_rc 1 "$AUTHD" -t -c "$TMP/bad.conf"
expect_err "$TMP/bad\\.conf:$BADLINE: expected \"key = value\""

bad "user = nobody"
desc "a key set twice: exit 1, both lines named"
expect_rc 1 "$AUTHD" -t -c "$TMP/bad.conf"
expect_err "$TMP/bad\\.conf:$BADLINE: user is already set at line 2"

write_dconf "auth_failure_delay_max = 8s"
desc "auth_failure_delay_max not below auth_reply_max (8s default): exit 1"
expect_rc 1 "$AUTHD" -t -c "$CONF"
expect_err 'auth_failure_delay_max \(8000ms\) must be below auth_reply_max \(8000ms\)'

write_dconf_base "user = no-such-user-$$"
desc "a user that does not exist: exit 1"
expect_rc 1 "$AUTHD" -t -c "$CONF"
expect_err "user: no such user \"no-such-user-$$\""

write_dconf "socket_peer_users = no-such-user-$$"
desc "socket_peer_users naming nobody known: exit 1"
expect_rc 1 "$AUTHD" -t -c "$CONF"
expect_err "socket_peer_users: no such user"

write_dconf "socket_group = no-such-group-$$"
desc "a socket_group that does not exist: exit 1"
expect_rc 1 "$AUTHD" -t -c "$CONF"
expect_err "socket_group: no such group"

write_dconf_base "user = nobody" "default_realm = not a realm"
desc "an invalid default_realm: exit 1"
expect_rc 1 "$AUTHD" -t -c "$CONF"
expect_err "default_realm:"

desc "a configuration file that does not exist (-c): exit 1"
expect_rc 1 "$AUTHD" -t -c "$TMP/no-such.conf"
expect_err "no-such\\.conf"

write_dconf
desc "-a with a bad value: usage error (exit 2)"
expect_rc 2 "$AUTHD" -t -c "$CONF" -a ldap
expect_err "-a ldap"
desc "an unknown option: exit 2 and the usage"
expect_rc 2 "$AUTHD" -Z
expect_err "^usage: authd"
desc "an extra operand: exit 2"
expect_rc 2 "$AUTHD" -t -c "$CONF" extra
desc "-V prints the version"
expect_rc 0 "$AUTHD" -V
expect_out '^authd [0-9]+\.[0-9]+'
desc "--version and --help, like pwtool's"
expect_rc 0 "$AUTHD" --version
expect_out '^authd [0-9]+\.[0-9]+'
expect_rc 0 "$AUTHD" --help
expect_out '^usage: authd'
expect_out '--config FILE'
desc "--config FILE is -c FILE"
expect_rc 0 "$AUTHD" -t --config "$CONF"
desc "an unknown long option: usage, exit 2"
expect_rc 2 "$AUTHD" --bogus
expect_err '^usage: authd'
desc "-t with the command-line overrides -m and -n is fine"
expect_rc 0 "$AUTHD" -t -c "$CONF" -m "$TMP/other" -n 3
desc "a bad config refuses to start for real too (not only with -t)"
bad "bogus_key = 1"
expect_rc 1 timeout 5 "$AUTHD" -d -c "$TMP/bad.conf"
expect_err ":$BADLINE: unknown key"
desc "... and left no socket behind"
check test ! -e "$SOCK"

# contrib/authd.conf.example documents every key of authd.conf(5), and its
# values (uncommented; accounts and paths replaced by the test's) pass.
EX=$SRCDIR/contrib/authd.conf.example
desc "authd.conf.example and authd.conf(5) name the same keys"
expect_eq "$(sed -n 's/^\.It Cm \([a-z_0-9]*\) Pq.*/\1/p' "$SRCDIR/man/authd.conf.5" | sort -u | paste -sd' ')" \
	"$(sed -n 's/^#\{0,1\}\([a-z_0-9]*\) =.*/\1/p' "$EX" | sort -u | paste -sd' ')"
sed -n 's/^#\{0,1\}\([a-z_0-9]* =.*\)/\1/p' "$EX" |
	grep -Ev '^(store_path|store_owner|store_group|socket_dir|socket_owner|socket_group|socket_peer_users|socket_peer_groups|pid_file|user|group|chroot|pam_groups|default_realm) =' \
	>"$TMP/example.conf"
grep -E '^(user|group|socket_dir|store_path|store_group|default_realm) =' "$CONF" >>"$TMP/example.conf"
desc "the example's values, uncommented, pass authd -t"
expect_rc 0 "$AUTHD" -t -c "$TMP/example.conf"
finish
