#!/usr/bin/env python3
"""storemodel.py - drivers of the issue 11 store proofs (kill -9, a
following reader, concurrent writers).  Each keeps a model of what the
store must hold and compares the real store (pwtool export) and authd's
answers (the mux socket) with it.

usage:
  storemodel.py kill9   ROUNDS        kill -9 pwtool changes, batches and
                                      compactions at random instants
  storemodel.py follow  CHANGES       a reader checks every authd answer
                                      while pwtool batch makes CHANGES
  storemodel.py writers N PER         N concurrent writers (processes and
                                      batches), PER changes each

Environment: PWTOOL, CONF, DB (the store), SOCK (authd's mux socket; empty
= no authd), SEED_USER / SEED_PASS (a user that is never changed).
Every user this driver writes has only a cleartext verifier (pwtool
-m cleartext), so that `pwtool export` shows its password
({PLAIN.B64}...) and the whole state can be compared.

Prints "# ..." notes and "FAIL: ..." lines; exits 1 if any FAIL, 0 if not.
The last line is a summary "RESULT k=v ..." for the calling test.
"""
import base64
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

PWTOOL = os.environ["PWTOOL"]
CONF = os.environ["CONF"]
DB = os.environ["DB"]
SOCK = os.environ.get("SOCK", "")
SEED_USER = os.environ.get("SEED_USER", "seed@example.org")
SEED_PASS = os.environ.get("SEED_PASS", "seed-pass")
REALM = "example.org"

FAILS = []


def fail(msg):
    FAILS.append(msg)
    print("FAIL: " + msg, flush=True)


def note(msg):
    print("# " + msg, flush=True)


def pw_cmd(*args):
    return [PWTOOL, "-c", CONF, "-f", DB] + list(args)


def run_pw(*args, stdin=None, timeout=120):
    p = subprocess.run(pw_cmd(*args), input=stdin, capture_output=True,
                       timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace"), \
        p.stderr.decode(errors="replace")


# --- the state of a store: user -> (disabled, password) -------------------

def parse_export(text):
    state = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, flags, verifiers = line.split(":", 2)
        disabled = "disabled" in flags.split(",")
        pw = None
        for v in verifiers.split(" "):
            if v.startswith("{PLAIN.B64}"):
                pw = base64.b64decode(v[len("{PLAIN.B64}"):]).decode()
            elif v.startswith("{PLAIN}"):
                pw = v[len("{PLAIN}"):]
        if pw is None:
            pw = "?" + verifiers
        if key in state:
            fail("export lists %s twice" % key)
        state[key] = (disabled, pw)
    return state


def read_state():
    """(state, None) or (None, error text)"""
    rc, out, err = run_pw("export")
    if rc != 0:
        return None, "export exit %d: %s" % (rc, err.strip()[:300])
    return parse_export(out), None


def diff_text(want, got, limit=6):
    lines = []
    for k in sorted(set(want) | set(got)):
        if want.get(k) != got.get(k):
            lines.append("%s: model %s, store %s" % (k, want.get(k, "absent"),
                                                      got.get(k, "absent")))
    more = len(lines) - limit
    return "; ".join(lines[:limit]) + (" (+%d more)" % more if more > 0
                                       else "")


# --- the operations --------------------------------------------------------
# An op is (verb, user, password or None).  apply() is the model of pwtool.

def apply(state, op):
    verb, user, pw = op
    s = dict(state)
    if verb == "add":
        s[user] = (False, pw)
    elif verb == "add-disabled":
        s[user] = (True, pw)
    elif verb == "passwd":
        s[user] = (s[user][0], pw)
    elif verb == "delete":
        del s[user]
    elif verb == "lock":
        s[user] = (True, s[user][1])
    elif verb == "unlock":
        s[user] = (False, s[user][1])
    return s


def apply_all(state, ops):
    for op in ops:
        state = apply(state, op)
    return state


class Names:
    def __init__(self, prefix):
        self.prefix = prefix
        self.n = 0

    def new(self):
        self.n += 1
        return "%s%d@%s" % (self.prefix, self.n, REALM)


def random_op(rng, state, names, protect=()):
    """a change that succeeds on state"""
    users = [u for u in state if u not in protect and not u.startswith("#")]
    pw = "pw-%d" % rng.randrange(10 ** 9)
    r = rng.random()
    if not users or r < 0.3:
        return ("add-disabled" if rng.random() < 0.1 else "add",
                names.new(), pw)
    u = rng.choice(users)
    if r < 0.55:
        return ("passwd", u, pw)
    if r < 0.7:
        return ("delete", u, None)
    return ("unlock" if state[u][0] else "lock", u, None)


def argv_of(op):
    """pwtool arguments (and stdin) of op as one command line"""
    verb, user, pw = op
    if verb in ("add", "add-disabled", "passwd"):
        extra = ["--disabled"] if verb == "add-disabled" else []
        return ["-p", "-m", "cleartext"] + extra + \
            ["add" if verb != "passwd" else "passwd", user], \
            (pw + "\n").encode()
    return [verb, user], b""


def line_of(op):
    """the `pwtool batch` line of op"""
    verb, user, pw = op
    if verb in ("add", "add-disabled", "passwd"):
        b64 = base64.b64encode(pw.encode()).decode()
        extra = " --disabled" if verb == "add-disabled" else ""
        return "%s -m cleartext%s --password-base64 %s %s" % (
            "passwd" if verb == "passwd" else "add", extra, b64, user)
    return "%s %s" % (verb, user)


# --- authd through the mux socket -----------------------------------------

def mux_auth(user, pw, timeout=10.0):
    """'OK' / 'NO' (the reply's first word), or 'ERR ...'"""
    def field(s):
        b = s.encode()
        return struct.pack(">H", len(b)) + b
    local, _, realm = user.partition("@")
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(SOCK)
        s.sendall(field(local) + field(pw) + field("smtp") + field(realm))
        buf = b""
        while True:
            d = s.recv(4096)
            if not d:
                break
            buf += d
            if len(buf) >= 2 and len(buf) >= 2 + struct.unpack(">H", buf[:2])[0]:
                break
        s.close()
    except OSError as e:
        return "ERR %s" % e
    if len(buf) < 2:
        return "ERR short reply %r" % buf
    text = buf[2:2 + struct.unpack(">H", buf[:2])[0]].decode(errors="replace")
    return text.split(" ")[0] if text[:2] in ("OK", "NO") else "ERR " + text


def expected_reply(st, pw):
    """what authd must answer for password pw when the user is in state st
    (None = absent)"""
    if st is None or st[0] or st[1] != pw:
        return "NO"
    return "OK"


class SeedPoller(threading.Thread):
    """asks authd about the seed user in a loop; counts wrong answers"""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.n = 0
        self.bad = []

    def run(self):
        while not self.stop.is_set():
            r = mux_auth(SEED_USER, SEED_PASS)
            self.n += 1
            if r != "OK" and len(self.bad) < 20:
                self.bad.append(r)
            time.sleep(0.005)


# --- kill9 -------------------------------------------------------------------

def calibrate(argv, stdin=b"", n=3):
    """median wall time (ms) of a pwtool run"""
    ts = []
    for _ in range(n):
        t0 = time.monotonic()
        p = subprocess.run(pw_cmd(*argv), input=stdin, capture_output=True)
        ts.append((time.monotonic() - t0) * 1000)
        if p.returncode != 0:
            fail("calibration: pwtool %s exit %d: %s" % (
                " ".join(argv), p.returncode, p.stderr.decode()[:200]))
    ts.sort()
    return ts[len(ts) // 2]


LIFETIMES = {}          # kind -> wall times (ms) of the runs not killed


def lifetime(kind, default):
    """the median lifetime of the last runs of kind that ended by
    themselves: the kills are drawn in [0, that)"""
    ts = sorted(LIFETIMES.get(kind, [])[-15:])
    return ts[len(ts) // 2] if ts else default


def killed_run(argv, stdin, delay_ms, kind=None):
    """start pwtool, kill -9 it after delay_ms; (returncode, stdout, stderr)
    with returncode -9 if the kill hit it"""
    t0 = time.monotonic()
    # Sanitizer builds: a kill -9 during LeakSanitizer's check at exit
    # leaves its tracer saying "Unable to get registers from thread N";
    # the processes this kills are leak-checked elsewhere (the same
    # commands run to the end in the other tests).
    env = dict(os.environ)
    if "ASAN_OPTIONS" in env:
        env["ASAN_OPTIONS"] += ":detect_leaks=0"
    p = subprocess.Popen(pw_cmd(*argv), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env)
    # Feed stdin from a thread: a batch may answer before it has read all.
    def feed():
        try:
            p.stdin.write(stdin)
            p.stdin.close()
        except OSError:
            pass
    t = threading.Thread(target=feed, daemon=True)
    t.start()
    time.sleep(delay_ms / 1000.0)
    try:
        p.send_signal(signal.SIGKILL)
    except ProcessLookupError:
        pass
    t.join()
    p.stdin = None              # the feeder closed it
    out, err = p.communicate()
    if kind and p.returncode == 0:
        LIFETIMES.setdefault(kind, []).append((time.monotonic() - t0) * 1000)
    return p.returncode, out.decode(errors="replace"), \
        err.decode(errors="replace")


def main_kill9(rounds):
    rng = random.Random(int(os.environ.get("SEED", "0")) or None)
    names = Names("k")
    state, e = read_state()
    if state is None:
        fail("the initial store does not export: " + e)
        return
    # PROTECT: users (comma-separated) that no round changes, besides the seed
    protect = {SEED_USER} | set(filter(None, os.environ.get("PROTECT", "").split(",")))
    poller = None
    if SOCK:
        poller = SeedPoller()
        poller.start()

    # Calibration: how long each kind of run takes when left alone.
    op = ("add", names.new(), "pw-cal")
    a, s = argv_of(op)
    t_single = calibrate(a, s, 1)
    state = apply(state, op)
    # KILL9_KINDS: a subset of the rounds (to debug one kind)
    kinds = os.environ.get("KILL9_KINDS", "single,batch,compact").split(",")
    t_batch = t_compact = 0.0
    if "batch" in kinds:
        lines = [line_of(("add", names.new(), "pw-cal%d" % i)) for i in range(8)]
        t0 = time.monotonic()
        p = subprocess.run(pw_cmd("batch"),
                           input=("\n".join(lines) + "\n").encode(),
                           capture_output=True)
        t_batch = (time.monotonic() - t0) * 1000
        if p.returncode != 0:
            fail("calibration batch exit %d: %s / %s" % (
                p.returncode, p.stdout.decode()[:200], p.stderr.decode()[:200]))
    if "compact" in kinds:
        t_compact = calibrate(["compact"], b"", 1)
    state, e = read_state()
    if state is None:
        fail("export after calibration: " + e)
        return
    note("calibration: one change %.1f ms, a batch of 8 %.1f ms, a compaction"
         " %.1f ms" % (t_single, t_batch, t_compact))

    stats = {"rounds": 0, "single": 0, "batch": 0, "compact": 0, "killed": 0,
             "landed_unacked": 0, "acked": 0, "groups": 0}
    # At least `rounds` rounds, and on until `rounds` processes were really
    # killed (some end before their kill), at most 4 * rounds.
    rnd = 0
    while rnd < rounds or (stats["killed"] < rounds and rnd < 4 * rounds):
        rnd += 1
        kind = kinds[rnd % len(kinds)]
        stats[kind] += 1
        uncertain = []          # the one transaction that may have landed
        if kind == "single":
            op = random_op(rng, state, names, protect)
            a, s = argv_of(op)
            delay = rng.uniform(0, lifetime(kind, t_single))
            rc, out, err = killed_run(a, s, delay, kind)
            if rc == 0:
                state = apply(state, op)
                stats["acked"] += 1
            elif rc == -9:
                uncertain = [op]
            else:
                fail("round %d: pwtool %s exit %d: %s" % (
                    rnd, " ".join(a), rc, err.strip()[:300]))
                uncertain = [op]
        elif kind == "batch":
            # Transactions: lists of ops; one of them a group.
            txns = []
            m = dict(state)
            nsingle = rng.randrange(2, 7)
            gat = rng.randrange(0, nsingle + 1)
            for i in range(nsingle + 1):
                if i == gat:
                    g = []
                    for _ in range(rng.randrange(2, 6)):
                        o = random_op(rng, m, names, protect)
                        m = apply(m, o)
                        g.append(o)
                    txns.append(("group", g))
                else:
                    o = random_op(rng, m, names, protect)
                    m = apply(m, o)
                    txns.append(("one", [o]))
            text = []
            ends = []           # index of the answer line that acks txn i
            for kind_t, ops in txns:
                if kind_t == "group":
                    text.append("begin")
                    text.extend(line_of(o) for o in ops)
                    text.append("commit")
                else:
                    text.append(line_of(ops[0]))
                ends.append(len(text) - 1)
            stats["groups"] += 1
            delay = rng.uniform(0, lifetime(kind, t_batch))
            rc, out, err = killed_run(["batch"], ("\n".join(text) + "\n").encode(),
                                      delay, kind)
            answers = out.splitlines()
            if rc not in (0, -9):
                fail("round %d: pwtool batch exit %d: %s" % (rnd, rc,
                                                              err.strip()[:300]))
            for i, (kind_t, ops) in enumerate(txns):
                if ends[i] < len(answers):
                    code = answers[ends[i]].split(" ")[0]
                    if code != "0":
                        fail("round %d: batch line %d (%s) answered %r" % (
                            rnd, ends[i] + 1, text[ends[i]], answers[ends[i]]))
                    state = apply_all(state, ops)
                    stats["acked"] += 1
                else:
                    uncertain = ops
                    break
            if rc == 0 and len(answers) != len(text):
                fail("round %d: batch exit 0 with %d answers to %d lines" % (
                    rnd, len(answers), len(text)))
        else:
            delay = rng.uniform(0, lifetime(kind, t_compact))
            rc, out, err = killed_run(["compact"], b"", delay, kind)
            if rc not in (0, -9):
                fail("round %d: pwtool compact exit %d: %s" % (
                    rnd, rc, err.strip()[:300]))
        if rc == -9:
            stats["killed"] += 1
            stats["killed_" + kind] = stats.get("killed_" + kind, 0) + 1

        # The checks of the round.
        lrc, _, lerr = run_pw("list")
        if lrc != 0:
            fail("round %d (%s, kill after %.1f ms): list exit %d: %s" % (
                rnd, kind, delay, lrc, lerr.strip()[:300]))
        got, e = read_state()
        if got is None:
            fail("round %d (%s): %s" % (rnd, kind, e))
            break
        if got == state:
            pass
        elif uncertain and got == apply_all(state, uncertain):
            stats["landed_unacked"] += 1
        else:
            fail("round %d (%s, kill after %.1f ms, uncertain %s): store differs"
                 " from every allowed state: %s" % (
                     rnd, kind, delay, uncertain, diff_text(state, got)))
        state = got
        if SOCK:
            r = mux_auth(SEED_USER, SEED_PASS)
            if r != "OK":
                fail("round %d: authd answered %s for the seed user" % (rnd, r))
            # The user this round touched: authd agrees with the store.
            touched = [o[1] for o in uncertain] or \
                [u for u in state if u.startswith("k")][-1:]
            for u in touched[:2]:
                st = state.get(u)
                trypw = st[1] if st else "nothing"
                r = mux_auth(u, trypw)
                if r != expected_reply(st, trypw):
                    fail("round %d: authd answered %s for %s (store: %s)" % (
                        rnd, r, u, st))
    if poller:
        poller.stop.set()
        poller.join()
        note("background poller: %d requests, %d not OK %s" % (
            poller.n, len(poller.bad), poller.bad[:5]))
        if poller.bad:
            fail("authd did not answer the seed user OK %d times: %s" % (
                len(poller.bad), poller.bad[:5]))
        if poller.n < rounds:
            fail("the background poller made only %d requests" % poller.n)
    stats["users"] = len(state)
    stats["rounds"] = rnd
    note("median lifetimes (ms) of the runs not killed: %s" % ", ".join(
        "%s %.1f" % (k, lifetime(k, 0)) for k in kinds))
    print("RESULT " + " ".join("%s=%s" % kv for kv in stats.items()), flush=True)


# --- follow ------------------------------------------------------------------

class Tracker:
    """the committed history of every user, and the change in flight"""

    def __init__(self, state):
        self.lock = threading.Lock()
        self.hist = {u: [st] for u, st in state.items()}
        self.pending = {}

    def view(self, u):
        with self.lock:
            h = self.hist.get(u, [None])
            return len(h) - 1, self.pending.get(u, "-")

    def allowed(self, u, v0, p0):
        with self.lock:
            h = self.hist.get(u, [None])
            sts = h[v0:]
            p1 = self.pending.get(u, "-")
        for p in (p0, p1):
            if p != "-":
                sts = sts + [p]
        return sts

    def begin(self, ops):
        with self.lock:
            for o in ops:
                s = apply({o[1]: self.cur(o[1])} if self.cur(o[1]) else {}, o)
                self.pending[o[1]] = s.get(o[1])

    def cur(self, u):
        return self.hist.get(u, [None])[-1]

    def commit(self, ops):
        with self.lock:
            for o in ops:
                self.hist.setdefault(o[1], [None]).append(self.pending.pop(o[1]))

    def abort(self, ops):
        with self.lock:
            for o in ops:
                self.pending.pop(o[1], None)


def generation():
    try:
        with open(DB) as f:
            for line in f:
                if line.startswith("generation "):
                    return int(line.split()[1])
    except (OSError, ValueError, UnicodeDecodeError):
        pass
    return None


def main_follow(changes):
    rng = random.Random(int(os.environ.get("SEED", "0")) or None)
    state, e = read_state()
    if state is None:
        fail("the initial store does not export: " + e)
        return
    tr = Tracker(state)
    names = Names("f")
    protect = {SEED_USER}
    stop = threading.Event()
    rstats = {"reads": 0, "wrong": 0, "errors": 0}
    gens = set()

    def reader():
        rr = random.Random(rng.random())
        while not stop.is_set():
            with tr.lock:
                users = list(tr.hist)
            u = rr.choice(users)
            v0, p0 = tr.view(u)
            with tr.lock:
                cur = tr.hist[u][-1]
            pw = cur[1] if cur and rr.random() < 0.9 else "pw-wrong"
            r = mux_auth(u, pw)
            sts = tr.allowed(u, v0, p0)
            rstats["reads"] += 1
            if r.startswith("ERR"):
                rstats["errors"] += 1
                if rstats["errors"] <= 5:
                    fail("reader: %s for %s" % (r, u))
            elif r not in {expected_reply(s, pw) for s in sts}:
                rstats["wrong"] += 1
                if rstats["wrong"] <= 5:
                    fail("reader: authd answered %s for %s/%s; allowed states %s"
                         % (r, u, pw, sts))

    def gen_watch():
        while not stop.is_set():
            g = generation()
            if g is not None:
                gens.add(g)
            time.sleep(0.01)

    threads = [threading.Thread(target=reader, daemon=True),
               threading.Thread(target=gen_watch, daemon=True)]
    for t in threads:
        t.start()
    p = subprocess.Popen(pw_cmd("batch"), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         bufsize=0)
    fin, fout = p.stdin, p.stdout

    def ask(line):
        fin.write((line + "\n").encode())
        ans = b""
        while not ans.endswith(b"\n"):
            d = fout.read(1)      # unbuffered: the answer line only
            if not d:
                return None
            ans += d
        return ans.decode().rstrip("\n")

    done = 0
    compactions = 0
    visible_bad = 0
    t0 = time.monotonic()
    m = dict(state)
    while done < changes:
        if rng.random() < 0.05:
            ops = []
            for _ in range(rng.randrange(2, 5)):
                # distinct users in a group: one change in flight per user
                o = random_op(rng, m, names, protect | {x[1] for x in ops})
                m = apply(m, o)
                ops.append(o)
            lines = ["begin"] + [line_of(o) for o in ops] + ["commit"]
        else:
            o = random_op(rng, m, names, protect)
            m = apply(m, o)
            ops = [o]
            lines = [line_of(o)]
        tr.begin(ops)
        ans = None
        for line in lines:
            ans = ask(line)
            if ans is None:
                break
        if ans is None or not ans.startswith("0"):
            fail("batch answered %r to %r (after %d changes): %s" % (
                ans, lines[-1], done, p.stderr.read(300) if ans is None else ""))
            tr.abort(ops)
            break
        tr.commit(ops)
        done += len(ops)
        # visible to the next request
        for o in ops:
            st = tr.cur(o[1])
            trypw = st[1] if st else "pw-none"
            r = mux_auth(o[1], trypw)
            if r != expected_reply(st, trypw):
                visible_bad += 1
                if visible_bad <= 5:
                    fail("change %d (%s) not visible to the next request: "
                         "authd answered %s, want %s" % (
                             done, line_of(o), r, expected_reply(st, trypw)))
        if done // 2500 != (done - len(ops)) // 2500:
            rc, _, err = run_pw("compact")
            compactions += 1
            if rc != 0:
                fail("pwtool compact exit %d: %s" % (rc, err.strip()[:300]))
    fin.close()
    rest = fout.read()
    prc = p.wait()
    elapsed = time.monotonic() - t0
    stop.set()
    for t in threads:
        t.join()
    if prc != 0:
        fail("pwtool batch exit %d (%r)" % (prc, rest[:200]))
    got, e = read_state()
    want = {u: h[-1] for u, h in tr.hist.items() if h[-1] is not None}
    if got is None:
        fail("export at the end: " + e)
    elif got != want:
        fail("the final store differs from the model: " + diff_text(want, got))
    if rstats["reads"] < 1000:
        fail("the reader made only %d requests" % rstats["reads"])
    ng = (max(gens) - min(gens)) if gens else 0
    note("%d changes in %.1f s (%.0f/s incl. a check each); reader: %d requests,"
         " %d wrong, %d errors; generations seen %s" % (
             done, elapsed, done / elapsed, rstats["reads"], rstats["wrong"],
             rstats["errors"], sorted(gens)[:3] + ["..."] + sorted(gens)[-2:]))
    if ng < 3:
        fail("fewer than 3 compactions seen (generations %s)" % sorted(gens))
    print("RESULT changes=%d seconds=%.1f reads=%d wrong=%d errors=%d "
          "not_visible=%d compactions=%d explicit=%d" % (
              done, elapsed, rstats["reads"], rstats["wrong"], rstats["errors"],
              visible_bad, ng, compactions), flush=True)


# --- writers -----------------------------------------------------------------

def main_writers(n, per):
    """n writers at once: odd ones run one pwtool per change, even ones one
    pwtool batch each; each owns its users (w<i>-<k>), so the end state is
    known.  A compactor runs `pwtool compact` in a loop meanwhile."""
    lock_timeout = float(os.environ.get("LOCK_TIMEOUT", "30"))
    state, e = read_state()
    if state is None:
        fail("the initial store does not export: " + e)
        return
    want = dict(state)
    results = {}
    stop = threading.Event()
    comp = {"n": 0, "bad": []}
    start = threading.Barrier(n + 1)

    def plan(i):
        rng = random.Random(i)
        ops, m = [], {}
        nm = Names("w%d-" % i)
        for _ in range(per):
            o = random_op(rng, m, nm)
            m = apply(m, o)
            ops.append(o)
        return ops, m

    def single(i, ops):
        times, rcs = [], []
        start.wait()
        for o in ops:
            a, s = argv_of(o)
            t0 = time.monotonic()
            p = subprocess.run(pw_cmd(*a), input=s, capture_output=True)
            times.append(time.monotonic() - t0)
            rcs.append((p.returncode, p.stderr.decode()[:200]))
        results[i] = ("single", times, rcs)

    def batch(i, ops):
        start.wait()
        t0 = time.monotonic()
        p = subprocess.Popen(pw_cmd("batch"), stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             bufsize=0)
        times, rcs = [], []
        # half of each batch's changes in one group
        k = len(ops) // 2
        seq = [("group", ops[:k])] + [("one", [o]) for o in ops[k:]]
        for kind, g in seq:
            lines = ["begin"] + [line_of(o) for o in g] + ["commit"] \
                if kind == "group" else [line_of(g[0])]
            t1 = time.monotonic()
            ans = None
            for line in lines:
                p.stdin.write((line + "\n").encode())
                ans = b""
                while not ans.endswith(b"\n"):
                    d = p.stdout.read(1)
                    if not d:
                        break
                    ans += d
                ans = ans.decode().rstrip("\n")
            times.append(time.monotonic() - t1)
            rcs.append((0 if ans.startswith("0") else ans, ""))
        p.stdin.close()
        err = p.stderr.read().decode()[:200]
        rc = p.wait()
        rcs.append((rc, err))
        results[i] = ("batch", times, rcs)

    def compactor():
        while not stop.is_set():
            t0 = time.monotonic()
            p = subprocess.run(pw_cmd("compact"), capture_output=True)
            comp["n"] += 1
            if p.returncode != 0:
                comp["bad"].append((p.returncode, p.stderr.decode()[:200]))
            if time.monotonic() - t0 > lock_timeout:
                comp["bad"].append("a compaction took %.1f s" % (
                    time.monotonic() - t0))
            time.sleep(0.05)

    threads = []
    for i in range(1, n + 1):
        ops, m = plan(i)
        want.update(m)
        f = single if i % 2 else batch
        threads.append(threading.Thread(target=f, args=(i, ops)))
    ct = threading.Thread(target=compactor)
    for t in threads:
        t.start()
    t0 = time.monotonic()
    start.wait()
    ct.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    stop.set()
    ct.join()
    worst = 0.0
    nbad = 0
    for i, (kind, times, rcs) in sorted(results.items()):
        worst = max([worst] + times)
        for rc, err in rcs:
            if rc != 0:
                nbad += 1
                if nbad <= 5:
                    fail("writer %d (%s): exit/answer %s: %s" % (i, kind, rc,
                                                                 err.strip()))
    if len(results) != n:
        fail("only %d of %d writers finished" % (len(results), n))
    if worst > lock_timeout:
        fail("a writer waited %.1f s, longer than store_lock_timeout %.0f s" % (
            worst, lock_timeout))
    if comp["bad"]:
        fail("compactions failed: %s" % comp["bad"][:3])
    got, e = read_state()
    if got is None:
        fail("export at the end: " + e)
    elif got != want:
        fail("the store differs from what the writers did: " +
             diff_text(want, got))
    print("RESULT writers=%d changes=%d seconds=%.1f worst_wait=%.2f "
          "compactions=%d failures=%d" % (n, n * per, elapsed, worst, comp["n"],
                                          nbad), flush=True)


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    if argv[1] == "kill9":
        main_kill9(int(argv[2]))
    elif argv[1] == "follow":
        main_follow(int(argv[2]))
    elif argv[1] == "writers":
        main_writers(int(argv[2]), int(argv[3]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
