#!/usr/bin/env python3
"""timing_enum.py - does a wrong password for a known user take as long as
any password for an unknown user?  The driver of timing_enum.sh.

usage: timing_enum.py AUTH_SOCKET MUX_SOCKET N TOLERANCE CASE...

CASE is MECH:KIND:USER:UNKNOWN_PREFIX (MECH is PLAIN, LOGIN, CRAM-MD5,
DIGEST-MD5, SCRAM-SHA-1, SCRAM-SHA-256 on the auth socket, or MUX for
the saslauthd socket).  For each case, N attempts with a wrong password for
USER and N attempts for unknown users (UNKNOWN_PREFIX plus two hex digits,
the same length as USER's local part when the prefix is chosen so) run
interleaved, in a random order within each pair, so that a change in the
machine's load hits both sides alike.  Only the server's share is timed:
from the last byte of each client message to the first line that answers
it (the client's own hashing, a SCRAM PBKDF2 or a DIGEST-MD5 response, is
left out).

Output, one line per case:
  case MECH KIND known_us=K unknown_us=U diff=D% pass|fail
where K and U are the medians and D = |K - U| / U.  A case that misses the
tolerance is measured once more, with 2N more attempts per side, and
judged on all 3N (a machine shared with other jobs has bursts); that
result is final.  Exit status 0.
"""
import functools
import hashlib
import os
import random
import socket
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import authproto as ap  # noqa: E402

# The client's PBKDF2 (SCRAM) is not timed, but a 2 ms burst of CPU just
# before each timed round trip makes the scheduler wake this process late
# on a busy machine: the noise swamped the medians.  The salt and count of
# a name do not change, nor does the password: compute each once.
ap.hashlib.pbkdf2_hmac = functools.lru_cache(maxsize=1024)(hashlib.pbkdf2_hmac)


def field(data):
    return bytes([len(data) >> 8, len(data) & 0xFF]) + data


def mux_attempt(path, user, password):
    """microseconds from the request's write to the whole reply."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    msg = (field(user.encode()) + field(password.encode()) + field(b"smtp") +
           field(b""))
    t0 = time.perf_counter()
    s.sendall(msg)
    got = b""
    while len(got) < 2 or len(got) < 2 + (got[0] << 8 | got[1]):
        chunk = s.recv(4096)
        if not chunk:
            break
        got += chunk
    t = time.perf_counter() - t0
    s.close()
    if not got[2:].startswith(b"NO"):
        raise SystemExit("mux: %s got %r, not NO" % (user, got))
    return t * 1e6


class AuthTimer:
    """one connection to the auth socket; exchanges timed server-side."""

    def __init__(self, path):
        self.c = ap.Conn(path)
        self.rid = 0

    def attempt(self, mech_name, user, password):
        self.rid += 1
        rid = self.rid
        mech = ap.make_mech(mech_name, user, password, {})
        x = ap.Exchange(self.c, rid, mech)
        spent = 0.0
        t0 = time.perf_counter()
        x.begin()
        while True:
            f = self.c.read_line(10.0)
            spent += time.perf_counter() - t0
            if f is None:
                raise SystemExit("auth: EOF")
            if len(f) < 2 or f[1] != str(rid):
                raise SystemExit("auth: unexpected line %r" % f)
            if f[0] != "CONT":
                if f[0] != "FAIL":
                    raise SystemExit("auth: %s %s got %r, not FAIL" %
                                     (mech_name, user, f))
                return spent * 1e6
            # The client's work (the mechanism's step) is not timed: t0 is
            # taken after it, just before the answer is written.
            data = ap.unb64(f[2]) if len(f) > 2 else b""
            if mech.is_final(data):
                raise SystemExit("auth: a final challenge for a wrong password")
            resp = mech.step(data)
            t0 = time.perf_counter()
            self.c.cont(rid, resp)


def unknown_names(prefix, realm):
    return ["%s%02x@%s" % (prefix, i, realm) for i in range(64)]


def measure(at, mux, mech, user, prefix, n):
    realm = user.split("@", 1)[1]
    unknown = unknown_names(prefix, realm)
    known_t, unknown_t = [], []

    def one(who):
        pw = "wrong-password"
        if mech == "MUX":
            return mux_attempt(mux, who, pw)
        return at.attempt(mech, who, pw)
    # Warm-up: the first few requests pay for page faults and caches.
    for i in range(20):
        one(user)
        one(unknown[i % len(unknown)])
    for i in range(n):
        u = unknown[i % len(unknown)]
        if random.random() < 0.5:
            known_t.append(one(user))
            unknown_t.append(one(u))
        else:
            unknown_t.append(one(u))
            known_t.append(one(user))
    return known_t, unknown_t


def main(argv):
    if len(argv) < 6:
        sys.stderr.write(__doc__)
        return 2
    auth_path, mux_path, n, tol = argv[1], argv[2], int(argv[3]), float(argv[4])
    at = AuthTimer(auth_path)
    for case in argv[5:]:
        mech, kind, user, prefix = case.split(":")
        known_t, unknown_t = [], []
        for attempt in (1, 2):
            # The retry measures twice as many more and judges them all:
            # a burst of the machine's load shifts a median of 500 by a
            # few percent, one of 1,500 less.
            kt, ut = measure(at, mux_path, mech, user, prefix,
                             n if attempt == 1 else 2 * n)
            known_t += kt
            unknown_t += ut
            k = statistics.median(known_t)
            u = statistics.median(unknown_t)
            diff = abs(k - u) / u
            ok = diff <= tol
            if ok or attempt == 2:
                break
            print("# %s %s: %.0f vs %.0f us (%.1f%%), measuring again" %
                  (mech, kind, k, u, diff * 100), flush=True)
        print("case %s %s known_us=%.0f unknown_us=%.0f diff=%.1f%% %s" %
              (mech, kind, k, u, diff * 100, "pass" if ok else "fail"),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
