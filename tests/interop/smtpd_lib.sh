# shellcheck shell=bash
# smtpd_lib.sh - helpers of the authd-smtpd interop tests.  Sourced after
# tests/daemon/dlib.sh (assertions, $TMP, at_exit, a running authd on
# $ASOCK), not run.  Needs $AUTHD_SMTPD (the binary) and root (the gate
# binds as root and drops to nobody).
#
#   sm_init                   check the binary and the tools; allocate the
#                             ports $SM_SMTP, $SM_SUB, $SM_SMTPS (relay,
#                             submission, implicit TLS listeners) and
#                             $SM_HOP (the default next hop's port); make
#                             $SM_CERT/$SM_KEY (self-signed, CN=localhost)
#   free_port                 an unused loopback TCP port (as pflib.sh's)
#   sm_conf [LINE...]         write $SM_CONF: the base (myhostname gate.test,
#                             user nobody, the three listeners on 127.0.0.1,
#                             the certificate, auth_socket $ASOCK,
#                             next_hop 127.0.0.1:$SM_HOP, mynetworks
#                             10.9.9.0/24 so that 127.0.0.1 is NOT trusted,
#                             relay_domains example.net) plus "key = value"
#                             LINEs; a LINE's key replaces the base's
#   sm_start [ARG...]         authd-smtpd -c $SM_CONF -d ARG... in the
#                             background, stderr to $SM_LOG; waits (10 s)
#                             for its "ready:" line, else bails out.  Sets
#                             $SM_PID; stopped at exit
#   sm_stop                   SIGTERM, wait; $SM_STOP_RC is its exit status
#   sm_log                    this run's part of $SM_LOG (from the last
#                             sm_start on)
#   sm_expect_log RE          assertion: a line of sm_log matches the ERE
#                             (waits up to 2 s)
#   sm_expect_no_log RE       assertion: no line of sm_log matches
#   sm_sink NAME ADDR [OPT...]  start smtp-sink -u nobody -d on ADDR
#                             ("127.0.0.1:PORT" or "unix:/path"), each
#                             message dumped to a file in $TMP/sink-NAME/
#                             (made empty first); OPTs are smtp-sink's
#                             failure options (-r, -f, -q, -Q, -L, -A ...).
#                             Waits until it listens; $SINK_PID; stopped
#                             at exit
#   sm_sink_stop [PID]        stop a sink (default $SINK_PID) and wait
#                             until it is gone
#   sm_wait_port PORT [SEC]   until 127.0.0.1:PORT accepts (default 5 s)
#   sm_msgs NAME              the dump files of sink NAME, oldest first
#   sm_wait_msgs NAME N       until sink NAME holds >= N complete dumps
#                             (bounded: 5 s); false otherwise
#   sm_dump_body FILE         a dump without smtp-sink's own headers (up to
#                             and including its 3-line Received) and
#                             without the empty line it appends: the
#                             message as relayed, with LF line ends
#   sm_dump_hdr FILE NAME     the values of smtp-sink's header NAME
#                             (X-Mail-Args, X-Rcpt-Args, ...), one a line
#   sm_chat [--tls] [--starttls] PORT ITEM...
#                             a raw SMTP client (Python): reads the
#                             greeting, then per ITEM sends it + CRLF and
#                             prints the whole reply.  An ITEM that is
#                               TEXT:  a command line
#                               =TEXT: TEXT sent without waiting for a
#                                      reply
#                               @FILE: FILE's bytes as they are (the
#                                      caller dot-stuffs and ends with
#                                      CRLF.CRLF), then one reply; sent
#                                      only if the last reply was 354
#                                      (skipped silently otherwise)
#                               '!'CMD: run the shell command CMD (with
#                                      sh -c; nothing sent), e.g. to
#                                      stop a next hop mid-session
#                             --tls: implicit TLS; --starttls: EHLO, then
#                             STARTTLS and TLS before the ITEMs.  Output:
#                             every reply line as received (no CR), and
#                             "EOF" if the server closed.  10 s timeout.
#   sm_sw PORT ARG...         swaks against 127.0.0.1:PORT as
#                             client.example.net, from sender@example.org
#                             to rcpt@remote.example (not a relay domain)
: "${AUTHD_SMTPD:?AUTHD_SMTPD must name the authd-smtpd binary}"

SM_CONF=$TMP/smtpd.conf
SM_LOG=$TMP/smtpd.log
SM_PID=
SM_LOG_FROM=1
SINK_PID=
_SM_SINKS=()
: >"$SM_LOG"

if ! declare -F free_port >/dev/null; then
	free_port() {
		python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
	}
fi

# _sm_port - a free port not yet handed out by this script.
_SM_USED=" "
_sm_port() {
	local p

	p=$(free_port)
	while [[ $_SM_USED == *" $p "* ]]; do p=$(free_port); done
	_SM_USED+="$p "
	printf '%s' "$p"
}

sm_init() {
	[ -x "$AUTHD_SMTPD" ] ||
		{ echo "Bail out! $AUTHD_SMTPD is not executable"; exit 1; }
	[ "$(id -u)" = 0 ] ||
		{ echo "Bail out! authd-smtpd tests need root"; exit 1; }
	command -v smtp-sink >/dev/null ||
		{ echo "Bail out! smtp-sink not found (install postfix)"; exit 1; }
	command -v openssl >/dev/null ||
		{ echo "Bail out! openssl not found"; exit 1; }
	SM_SMTP=$(_sm_port)
	SM_SUB=$(_sm_port)
	SM_SMTPS=$(_sm_port)
	SM_HOP=$(_sm_port)
	# The gate removes its pid file as nobody.
	mkdir -p "$TMP/run"
	chown nobody "$TMP/run"
	SM_CERT=$TMP/cert.pem
	SM_KEY=$TMP/key.pem
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 2 \
		-keyout "$SM_KEY" -out "$SM_CERT" >"$TMP/.openssl" 2>&1 || {
		echo "Bail out! openssl could not make a certificate"
		diag "$TMP/.openssl" openssl
		exit 1
	}
	at_exit _sm_cleanup
}

_sm_cleanup() {
	local p

	[ -n "$SM_PID" ] && _kill_pid "$SM_PID"
	for p in "${_SM_SINKS[@]}"; do
		_kill_pid "$p"
	done
	if [ "$FINISHED" != 1 ] && [ -s "$SM_LOG" ]; then
		echo "# authd-smtpd log (tail):"
		tail -n 40 "$SM_LOG" | sed 's/^/#   /'
	fi
}

sm_conf() {
	local base line key skip arg

	base=(
		"myhostname = gate.test"
		"user = nobody"
		"pid_file = $TMP/run/smtpd.pid"
		"smtp_listen = 127.0.0.1:$SM_SMTP"
		"submission_listen = 127.0.0.1:$SM_SUB"
		"smtps_listen = 127.0.0.1:$SM_SMTPS"
		"smtpd_tls_cert_file = $SM_CERT"
		"smtpd_tls_key_file = $SM_KEY"
		"auth_socket = $ASOCK"
		"auth_timeout = 10s"
		"next_hop = 127.0.0.1:$SM_HOP"
		"next_hop_connect_timeout = 5s"
		"next_hop_timeout = 20s"
		"next_hop_data_done_timeout = 20s"
		"mynetworks = 10.9.9.0/24"
		"relay_domains = example.net"
	)
	{
		echo "# written by smtpd_lib.sh"
		for line in "${base[@]}"; do
			key=${line%% =*}
			skip=no
			for arg in "$@"; do
				[ "${arg%%[ =]*}" = "$key" ] && skip=yes
			done
			[ $skip = no ] && printf '%s\n' "$line"
		done
		printf '%s\n' "$@"
	} >"$SM_CONF"
}

sm_start() {
	local lines i

	lines=$(wc -l <"$SM_LOG")
	SM_LOG_FROM=$((lines + 1))
	"$AUTHD_SMTPD" -c "$SM_CONF" -d "$@" 2>>"$SM_LOG" &
	SM_PID=$!
	for ((i = 0; i < 200; i++)); do
		if tail -n +"$SM_LOG_FROM" "$SM_LOG" | grep -q 'ready:'; then
			return 0
		fi
		kill -0 "$SM_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "Bail out! authd-smtpd did not become ready within 10 s"
	echo "#   command: $AUTHD_SMTPD -c $SM_CONF -d $*"
	diag "$SM_CONF" config
	diag "$SM_LOG" log
	exit 1
}

# shellcheck disable=SC2034 # SM_STOP_RC is for the caller
sm_stop() {
	SM_STOP_RC=0
	[ -n "$SM_PID" ] || return 0
	kill -TERM "$SM_PID" 2>/dev/null || true
	wait "$SM_PID" || SM_STOP_RC=$?
	SM_PID=
}

sm_log() {
	tail -n +"$SM_LOG_FROM" "$SM_LOG"
}

sm_expect_log() {
	local i

	_take_desc "authd-smtpd log matches /$1/"
	local d=$_D
	for ((i = 0; i < 40; i++)); do
		if grep -Eq -- "$1" < <(sm_log); then
			pass "$d"
			return 0
		fi
		sleep 0.05
	done
	fail "$d"
	echo "#   log tail:"
	sm_log | tail -n 15 | sed 's/^/#     /'
}

sm_expect_no_log() {
	_take_desc "authd-smtpd log does not match /$1/"
	if ! grep -Eq -- "$1" < <(sm_log); then
		pass "$_D"
	else
		fail "$_D"
		sm_log | grep -E -- "$1" | head -n 5 | sed 's/^/#     /'
	fi
}

sm_wait_port() {
	local port=$1 tries=$((${2:-5} * 20)) i

	for ((i = 0; i < tries; i++)); do
		python3 -c 'import socket,sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
			"$port" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

sm_sink() {
	local name=$1 addr=$2 dir=$TMP/sink-$1 i

	shift 2
	rm -rf "$dir"
	mkdir -p "$dir"
	chown nobody "$dir"
	smtp-sink -u nobody -d "$dir/%M." "$@" "$addr" 100 \
		>>"$TMP/sink-$name.log" 2>&1 &
	SINK_PID=$!
	_SM_SINKS+=("$SINK_PID")
	for ((i = 0; i < 100; i++)); do
		if [[ $addr == unix:* ]]; then
			[ -S "${addr#unix:}" ] && return 0
		elif python3 -c 'import socket,sys
h, p = sys.argv[1].rsplit(":", 1)
socket.create_connection((h, int(p)), 1).close()' "$addr" 2>/dev/null; then
			return 0
		fi
		kill -0 "$SINK_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "Bail out! smtp-sink on $addr did not start"
	diag "$TMP/sink-$name.log" smtp-sink
	exit 1
}

sm_sink_stop() {
	local pid=${1:-$SINK_PID} i

	kill -TERM "$pid" 2>/dev/null || true
	# (also for a sink that is not this shell's child)
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	wait "$pid" 2>/dev/null || true
}

sm_msgs() {
	local dir=$TMP/sink-$1

	# shellcheck disable=SC2012
	ls -1tr "$dir" 2>/dev/null | sed "s|^|$dir/|"
}

# A dump is complete when it ends with the empty line smtp-sink appends
# (it writes the file before it answers the final dot, but a client of
# the gate may be faster than a flush).
sm_wait_msgs() {
	local name=$1 want=$2 i n f ok

	for ((i = 0; i < 100; i++)); do
		n=0
		ok=yes
		while IFS= read -r f; do
			[ -n "$f" ] || continue
			n=$((n + 1))
			[ "$(tail -c 2 "$f" | od -An -c | tr -d ' ')" = '\n\n' ] ||
				ok=no
		done < <(sm_msgs "$name")
		[ "$n" -ge "$want" ] && [ $ok = yes ] && return 0
		sleep 0.05
	done
	return 1
}

sm_dump_body() {
	python3 - "$1" <<'EOF'
import sys
d = open(sys.argv[1], "rb").read()
# smtp-sink's block ends with its Received: "from ...\n\tby ...;\n\ttime\n"
i = d.index(b"\nReceived: from ")
j = d.index(b"\n\t", i + 1)
j = d.index(b"\n\t", j + 1)
j = d.index(b"\n", j + 1) + 1
body = d[j:]
assert body.endswith(b"\n"), "no trailing empty line"
sys.stdout.buffer.write(body[:-1])
EOF
}

sm_dump_hdr() {
	python3 - "$1" "$2" <<'EOF'
import sys
d = open(sys.argv[1], "rb").read()
head = d[:d.index(b"\nReceived: from ") + 1].decode("latin-1")
for line in head.split("\n"):
    if line.startswith(sys.argv[2] + ": "):
        print(line[len(sys.argv[2]) + 2:])
EOF
}

SM_CHAT_PY=$TMP/sm_chat.py
cat >"$SM_CHAT_PY" <<'EOF'
import socket, ssl, subprocess, sys

args = sys.argv[1:]
tls = starttls = False
while args and args[0].startswith("--"):
    if args[0] == "--tls":
        tls = True
    elif args[0] == "--starttls":
        starttls = True
    args.pop(0)
port, items = int(args[0]), args[1:]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = socket.create_connection(("127.0.0.1", port), 10)
s.settimeout(10)
if tls:
    s = ctx.wrap_socket(s)
buf = b""

def reply():
    global buf, last
    lines = []
    while True:
        while b"\n" not in buf:
            try:
                d = s.recv(65536)
            except (ConnectionResetError, socket.timeout) as e:
                d = b""
            if not d:
                for l in lines:
                    print(l)
                print("EOF")
                sys.stdout.flush()
                sys.exit(0)
            buf += d
        line, buf = buf.split(b"\n", 1)
        line = line.rstrip(b"\r").decode("latin-1")
        lines.append(line)
        if len(line) < 4 or line[3] != "-":
            break
    for l in lines:
        print(l)
    sys.stdout.flush()
    last = lines[-1]

last = ""
reply()
if starttls:
    s.sendall(b"EHLO client.example.net\r\n")
    reply()
    s.sendall(b"STARTTLS\r\n")
    reply()
    s = ctx.wrap_socket(s)
def send(b):
    try:
        s.sendall(b)
    except OSError:
        print("EOF")
        sys.exit(0)
for it in items:
    if it.startswith("!"):
        subprocess.run(it[1:], shell=True, check=False)
        continue
    if it.startswith("="):
        send(it[1:].encode("latin-1") + b"\r\n")
        continue
    if it.startswith("@"):
        if not last.startswith("354"):
            continue
        send(open(it[1:], "rb").read())
    else:
        send(it.encode("latin-1") + b"\r\n")
    reply()
EOF

sm_chat() {
	timeout 30 python3 "$SM_CHAT_PY" "$@"
}

sm_sw() {
	local port=$1

	shift
	timeout 30 swaks --server "127.0.0.1:$port" --helo client.example.net \
		--from sender@example.org --to rcpt@remote.example "$@"
}
