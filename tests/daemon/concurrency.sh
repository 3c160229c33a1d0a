#!/bin/bash
# 200 requests from 8 parallel clients, right and wrong passwords and
# unknown users mixed: every answer is the right one; then the same with
# raw 5-field clients and with the cache on.
set -euo pipefail
source "$SRCDIR/tests/daemon/dlib.sh"

write_dconf
for c in 1 2 3 4 5 6 7 8; do
	add_user "user$c@example.org" "pass-$c"
done
start_authd

# client C - 25 requests; each line of $TMP/res.C: WANT GOT
client() {
	local c=$1 i want pass user rc

	for ((i = 1; i <= 25; i++)); do
		user=user$c pass=pass-$c want=0
		if ((i % 5 == 0)); then
			pass=wrong-$c want=1
		elif ((i % 7 == 0)); then
			user=ghost$c$i want=1
		fi
		rc=0
		"$AUTHTEST" mux -f "$SOCK" -u "$user" -p "$pass" -s "svc$c" >/dev/null 2>&1 || rc=$?
		echo "$want $rc $user $pass"
	done >"$TMP/res.$c"
}

_now_us
t0=$_NOW
for c in 1 2 3 4 5 6 7 8; do
	client "$c" &
	CPIDS[c]=$!
done
for c in 1 2 3 4 5 6 7 8; do
	wait "${CPIDS[c]}"
done
_now_us
ELAPSED=$(((_NOW - t0) / 1000))
cat "$TMP"/res.? >"$TMP/all"
desc "200 answers from 8 parallel clients (in ${ELAPSED} ms)"
expect_eq 200 "$(wc -l <"$TMP/all")"
desc "every answer is the expected one (OK for right, NO for wrong/unknown)"
bad=$(awk '$1 != $2' "$TMP/all" | head -n 5)
expect_eq "" "$bad"
desc "the mix had both outcomes (136 OK, 64 NO)"
expect_eq "136 64" "$(awk '$2 == 0' "$TMP/all" | wc -l) $(awk '$2 == 1' "$TMP/all" | wc -l)"
desc "the log has 200 results"
expect_eq 200 "$(log_count 'result=(ok|fail)')"
desc "the log pairs each service with its own user (no crossed requests)"
expect_eq 0 "$(grep -E 'mux: user=user[0-9]@' <(cur_log) | sed -E 's/.*user=user([0-9])@.* service=svc([0-9]).*/\1 \2/' | awk '$1 != $2' | wc -l)"
desc "the daemon is still running"
check kill -0 "$AUTHD_PID"

# Raw clients: 8 threads x 25 requests on one Python, 5 fields, each
# connection kept open until the reply (no half-close).
cat >"$TMP/par.py" <<'PY'
import socket, sys, threading
path = sys.argv[1]
def field(b):
    return bytes([len(b) >> 8, len(b) & 255]) + b
errors = []
counts = {"OK": 0, "NO": 0}
lock = threading.Lock()
def run(c):
    for i in range(25):
        ok = i % 4 != 3
        pw = b"pass-%d" % c if ok else b"nope"
        req = field(b"user%d" % c) + field(pw) + field(b"imap") + \
              field(b"example.org") + field(b"203.0.113.%d;%d" % (c, i))
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(path)
        s.sendall(req)
        got = b""
        while len(got) < 2 or len(got) < 2 + (got[0] << 8 | got[1]):
            d = s.recv(64)
            if not d:
                break
            got += d
        s.close()
        want = b"\x00\x02OK" if ok else b"\x00\x02NO"
        with lock:
            if got != want:
                errors.append((c, i, got))
            else:
                counts["OK" if ok else "NO"] += 1
ts = [threading.Thread(target=run, args=(c,)) for c in range(1, 9)]
for t in ts: t.start()
for t in ts: t.join()
print("errors=%d" % len(errors))
for e in errors[:5]:
    print("error=%r" % (e,))
print("ok=%d no=%d" % (counts["OK"], counts["NO"]))
PY
PAR=$(timeout 60 python3 "$TMP/par.py" "$SOCK" 2>&1) || true
desc "200 raw 5-field requests from 8 threads: no wrong answer"
if grep -qx 'errors=0' <<<"$PAR"; then pass; else fail; echo "#   ${PAR//$'\n'/ | }"; fi
desc "... 152 OK and 48 NO"
if grep -qx 'ok=152 no=48' <<<"$PAR"; then pass; else fail; echo "#   ${PAR//$'\n'/ | }"; fi

# With the cache on, the same parallel run.
stop_authd
write_dconf "auth_cache = yes"
start_authd
PAR=$(timeout 60 python3 "$TMP/par.py" "$SOCK" 2>&1) || true
desc "with auth_cache = yes, 200 parallel requests: no wrong answer"
if grep -qx 'errors=0' <<<"$PAR" && grep -qx 'ok=152 no=48' <<<"$PAR"; then pass; else
	fail; echo "#   ${PAR//$'\n'/ | }"; fi
desc "... and repeated successes came from the cache (96 expected: a failure drops the entry)"
n=$(log_count 'result=ok cached=yes')
if [ "$n" -ge 80 ]; then pass "$n cache hits"; else fail "$n cache hits (want >= 80 of 152)"; fi
finish
