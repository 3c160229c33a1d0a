#!/usr/bin/env python3
"""authproto.py - a client of the Dovecot auth-client protocol (version 1)
and of the SASL mechanisms authd serves on it, for the daemon tests.

As a library:

    import authproto as ap
    c = ap.Conn("/run/authd/auth")          # reads the handshake up to DONE
    print(c.handshake.mechs)               # {"PLAIN": ["plaintext"], ...}
    r = c.login(1, ap.Scram("SCRAM-SHA-256", "alice", "secret"))
    assert r.ok and r.verified and r.fields["user"] == "alice@example.org"

  Conn(path, send_version=True, version_first=False, read_handshake=True)
      version_first: write VERSION and CPID before reading anything (the
      Postfix way); otherwise read the whole handshake first, then send
      them (the Exim way: it waits for DONE).
  Conn.auth(id, mech, params=(), resp=None)  AUTH line (resp: bytes or None)
  Conn.cont(id, data)  Conn.cancel(id)  Conn.send_line(fields)
  Conn.read_line(timeout) -> list of unescaped fields, or None at EOF;
      raises Timeout.
  Conn.login(id, mech, service="smtp", params=(), ir=None,
             final_resp_ok=False, empty_final=True) -> Result
      one whole exchange; lines of other ids are kept in Conn.other.

  Mechanisms (client side): Plain(authcid, password, authzid=""),
  Login(user, password), CramMD5(user, password),
  DigestMD5(user, password, realm=None, service="smtp", host="localhost",
            authzid=None, ...negative-test knobs),
  Scram("SCRAM-SHA-1" | "SCRAM-SHA-256", user, password, authzid=None, ...).
  Each has initial() (initial response or None), step(challenge) -> the
  response, and verify_final(data) for the server's final data
  (DIGEST-MD5 rspauth=, SCRAM v=): .verified is True / False / None.

As a program (one Python process serves a whole test script):

  authproto.py SOCKET --serve      commands on stdin, each a list of
                                   NUL-terminated words ended by an empty one;
                                   output "key=value" lines, then "."
  authproto.py --selftest          the RFC vectors of mechanisms.md

Commands (C names a connection, several may be open):
  open C [wait|vfirst|none|raw]  connect; read the handshake (wait: send
                        VERSION/CPID after DONE; vfirst: before reading;
                        none: send nothing; raw: do not read it):
                        hs=LINE per handshake line, hs_ms=N
  send C TEXT           queue TEXT plus LF (escapes \\t \\n \\x01 ... decoded)
  raw C TEXT            queue TEXT as it is (escapes decoded, no LF)
  fill C N CH           queue N times the character CH
  flush C               write the queue now (one write)
  read C [SEC]          line=LINE | line=<eof> | line=<timeout>, ms=N
  reads C N [SEC]       N times "read" (stops at EOF or a timeout)
  quiet C SEC           line=<none> if nothing arrives in SEC, else line=...
  eof C [SEC]           eof=yes | eof=<timeout>, extra=N (bytes before EOF)
  close C               write what is queued, close the connection at once
  start C ID MECH USER PASS [opt=value...]
                        begin an exchange: queue AUTH (and its initial
                        response); the answers are handled by "pump"
  pump C [SEC]          read one line; a CONT of a started exchange gets its
                        answer queued; prints line=..., and for a finished
                        exchange verified=...
  run C ID MECH USER PASS [opt=value...]
                        one whole exchange: cont=CHALLENGE per CONT (printable
                        form), result=LAST LINE, verified=yes|no|none,
                        final=cont|ok|none, ms=N; lines of other ids: other=
  b64 TEXT              b64=base64 of TEXT (escapes decoded)

Exchange options: service=S, param=P (repeatable, before resp=), ir=0|1,
fro=1 (final-resp-ok), noempty=1 (stop at the final CONT: result=<final>),
authzid=Z, for CRAM-MD5 hexupper=1 (the digest in upper-case hex), and for
DIGEST-MD5 realm= host= uri= nonce= nc= qop= cnonce=
repeat=DIRECTIVE hexinner=1 norealm=1 noauthz_in_ha1=1 latin1=1 (no
charset=utf-8: user name, password and authzid in ISO-8859-1); for SCRAM
gs2=HEADER (e.g. "p=tls-unique,,") cheader=HEADER (the one in c=),
rnonce=NONCE (r= in client-final), rawuser=SASLNAME (unescaped n=),
cnonce=.
"""
import base64
import codecs
import hashlib
import hmac
import os
import re
import select
import socket
import sys
import time

# --- protocol codec ---

_ESC = {b"0": b"\0", b"1": b"\x01", b"t": b"\t", b"r": b"\r", b"n": b"\n"}


def escape(b):
    """bytes -> bytes with 0x01, TAB, CR, LF and NUL escaped."""
    out = bytearray()
    for c in b:
        ch = bytes([c])
        if ch == b"\x01":
            out += b"\x011"
        elif ch == b"\t":
            out += b"\x01t"
        elif ch == b"\r":
            out += b"\x01r"
        elif ch == b"\n":
            out += b"\x01n"
        elif ch == b"\0":
            out += b"\x010"
        else:
            out += ch
    return bytes(out)


def unescape(b):
    out = bytearray()
    i = 0
    while i < len(b):
        if b[i:i + 1] == b"\x01" and i + 1 < len(b) and b[i + 1:i + 2] in _ESC:
            out += _ESC[b[i + 1:i + 2]]
            i += 2
        else:
            out += b[i:i + 1]
            i += 1
    return bytes(out)


def b64(data):
    return base64.b64encode(data).decode("ascii")


def unb64(s):
    return base64.b64decode(s, validate=True)


def fields_of(line):
    """'OK\\t1\\tuser=x\\tresp=..' -> dict of the name=value fields."""
    d = {}
    for f in line[2:] if isinstance(line, list) else line.split("\t")[2:]:
        k, eq, v = f.partition("=")
        d[k] = v if eq else True
    return d


class Timeout(Exception):
    pass


class Handshake:
    def __init__(self):
        self.lines = []      # raw lines, in order
        self.version = None
        self.mechs = {}      # name -> list of flags
        self.spid = self.cuid = self.cookie = None


class Result:
    def __init__(self):
        self.status = None   # "OK", "FAIL" or None (stopped early)
        self.line = None     # the final line as text (TAB-separated)
        self.fields = {}
        self.challenges = []  # decoded CONT payloads
        self.verified = None  # server final data checked: True/False/None
        self.final_via = None  # "cont", "ok" or None

    @property
    def ok(self):
        return self.status == "OK"


class Conn:
    def __init__(self, path, send_version=True, version_first=False,
                 read_handshake=True, timeout=5.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.rbuf = b""
        self.wbuf = b""
        self.other = []
        self.handshake = None
        self.eof = False
        if version_first and send_version:
            self.send_line(["VERSION", "1", "0"], flush=False)
            self.send_line(["CPID", str(os.getpid())])
        if read_handshake:
            self.handshake = self.read_handshake(timeout)
            if send_version and not version_first:
                self.send_line(["VERSION", "1", "0"], flush=False)
                self.send_line(["CPID", str(os.getpid())])

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass

    # writing

    def queue(self, data):
        self.wbuf += data

    def flush(self):
        if not self.wbuf:
            return
        data, self.wbuf = self.wbuf, b""
        self.s.sendall(data)

    def send_line(self, fields, flush=True):
        parts = [f if isinstance(f, bytes) else f.encode("utf-8")
                 for f in fields]
        self.queue(b"\t".join(parts) + b"\n")
        if flush:
            self.flush()

    def auth(self, rid, mech, service="smtp", params=(), resp=None,
             flush=True):
        f = ["AUTH", str(rid), mech]
        if service is not None:
            f.append("service=" + service)
        f += list(params)
        if resp is not None:
            f.append("resp=" + b64(resp))
        self.send_line(f, flush)

    def cont(self, rid, data, flush=True):
        self.send_line(["CONT", str(rid), b64(data)], flush)

    def cancel(self, rid, flush=True):
        self.send_line(["CANCEL", str(rid)], flush)

    # reading

    def read_raw_line(self, timeout=5.0):
        """bytes of one line without LF, None at EOF; Timeout."""
        self.flush()
        deadline = time.monotonic() + timeout
        while b"\n" not in self.rbuf:
            if self.eof:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout()
            r, _, _ = select.select([self.s], [], [], left)
            if not r:
                raise Timeout()
            try:
                chunk = self.s.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                self.eof = True
                if self.rbuf:   # a partial line before EOF
                    line, self.rbuf = self.rbuf, b""
                    return line
                return None
            self.rbuf += chunk
        line, _, self.rbuf = self.rbuf.partition(b"\n")
        return line

    def read_line(self, timeout=5.0):
        raw = self.read_raw_line(timeout)
        if raw is None:
            return None
        return [unescape(f).decode("utf-8", "surrogateescape")
                for f in raw.split(b"\t")]

    def read_handshake(self, timeout=5.0):
        hs = Handshake()
        while True:
            f = self.read_line(timeout)
            if f is None:
                raise EOFError("EOF in the handshake")
            hs.lines.append("\t".join(f))
            if f[0] == "VERSION":
                hs.version = f[1:]
            elif f[0] == "MECH":
                hs.mechs[f[1]] = f[2:]
            elif f[0] == "SPID":
                hs.spid = f[1]
            elif f[0] == "CUID":
                hs.cuid = f[1]
            elif f[0] == "COOKIE":
                hs.cookie = f[1]
            elif f[0] == "DONE":
                return hs

    # one exchange

    def login(self, rid, mech, service="smtp", params=(), ir=None,
              final_resp_ok=False, empty_final=True, timeout=5.0):
        x = Exchange(self, rid, mech, service, params, ir, final_resp_ok,
                     empty_final)
        x.begin()
        while x.result.status is None and not x.stopped:
            f = self.read_line(timeout)
            if f is None:
                raise EOFError("EOF during the exchange")
            if len(f) < 2 or f[1] != str(rid):
                self.other.append(f)
                continue
            x.handle(f)
        return x.result


class Exchange:
    """One request's state: feeds the server's lines to a mechanism."""

    def __init__(self, conn, rid, mech, service="smtp", params=(), ir=None,
                 final_resp_ok=False, empty_final=True):
        self.c = conn
        self.rid = rid
        self.mech = mech
        self.service = service
        self.params = list(params)
        self.ir = mech.default_ir if ir is None else ir
        self.fro = final_resp_ok
        self.empty_final = empty_final
        self.result = Result()
        self.stopped = False

    def begin(self, flush=True):
        params = self.params + (["final-resp-ok"] if self.fro else [])
        resp = self.mech.initial() if self.ir else None
        self.c.auth(self.rid, self.mech.name, self.service, params, resp,
                    flush)

    def handle(self, f):
        """a line of this id; returns True when the exchange is over."""
        kind = f[0]
        if kind == "CONT":
            data = unb64(f[2]) if len(f) > 2 else b""
            self.result.challenges.append(data)
            if self.mech.is_final(data):
                self.mech.verify_final(data)
                self.result.final_via = "cont"
                self.result.verified = self.mech.verified
                if not self.empty_final:
                    self.stopped = True
                    return True
                self.c.cont(self.rid, b"")
                return False
            self.c.cont(self.rid, self.mech.step(data))
            return False
        self.result.status = kind
        self.result.line = "\t".join(f)
        self.result.fields = fields_of(f)
        if kind == "OK" and "resp" in self.result.fields:
            self.mech.verify_final(unb64(self.result.fields["resp"]))
            self.result.final_via = "ok"
        self.result.verified = self.mech.verified
        return True


# --- mechanisms (client side) ---

def _u(s):
    return s.encode("utf-8") if isinstance(s, str) else s


class Mech:
    name = None
    default_ir = False
    verified = None

    def initial(self):
        return None

    def step(self, challenge):
        raise ValueError("%s: unexpected challenge %r" % (self.name,
                                                           challenge))

    def is_final(self, data):
        return False

    def verify_final(self, data):
        self.verified = False


class Plain(Mech):
    name = "PLAIN"
    default_ir = True

    def __init__(self, authcid, password, authzid=""):
        self.msg = _u(authzid) + b"\0" + _u(authcid) + b"\0" + _u(password)

    def initial(self):
        return self.msg

    def step(self, challenge):
        return self.msg


class Login(Mech):
    name = "LOGIN"

    def __init__(self, user, password):
        self.user, self.password = _u(user), _u(password)
        self.prompts = []

    def initial(self):
        self.prompts.append(b"Username:")  # skipped by the initial response
        return self.user

    def step(self, challenge):
        self.prompts.append(challenge)
        if challenge == b"Username:":
            return self.user
        if challenge == b"Password:":
            return self.password
        raise ValueError("LOGIN: unexpected prompt %r" % challenge)


def cram_md5_response(user, password, challenge):
    digest = hmac.new(_u(password), _u(challenge), hashlib.md5).hexdigest()
    return _u(user) + b" " + digest.encode()


class CramMD5(Mech):
    name = "CRAM-MD5"

    def __init__(self, user, password, digest=None, upper=False):
        self.user, self.password, self.digest = user, password, digest
        self.upper = upper

    def step(self, challenge):
        if self.digest is not None:
            return _u(self.user) + b" " + _u(self.digest)
        r = cram_md5_response(self.user, self.password, challenge)
        if self.upper:      # the digest in upper-case hex (RFC 2195: lower)
            u, _, d = r.rpartition(b" ")
            r = u + b" " + d.upper()
        return r


_DIRECTIVE = re.compile(rb'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')


def digest_parse(data):
    """a DIGEST-MD5 challenge -> {name: [values]} (realm may repeat)."""
    d = {}
    pos = 0
    while pos < len(data):
        m = _DIRECTIVE.match(data, pos)
        if not m or m.end() == pos:
            raise ValueError("bad DIGEST-MD5 challenge at %r" % data[pos:])
        name, val = m.group(1).decode().lower(), m.group(2)
        if val.startswith(b'"'):
            val = re.sub(rb"\\(.)", rb"\1", val[1:-1])
        d.setdefault(name, []).append(val.decode("utf-8"))
        pos = m.end()
    return d


def _quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def digest_md5_values(user, realm, password, nonce, cnonce, nc, qop, uri,
                      authzid=None, hexinner=False, latin1=False):
    """(response, rspauth) as hex, RFC 2831 section 2.1.2.1.  latin1: the
    strings are ISO-8859-1 (a client that sends no charset=utf-8)."""
    enc = (lambda s: s.encode("latin-1")) if latin1 else _u

    def h_enc(s):
        # RFC 2831 2.1.2.1: with charset=utf-8, a user name or password
        # that fits ISO-8859-1 is hashed in ISO-8859-1 (as Cyrus does).
        try:
            return s.encode("latin-1")
        except UnicodeEncodeError:
            return _u(s)
    inner = hashlib.md5(h_enc(user) + b":" + _u(realm) + b":" + h_enc(password))
    inner = inner.hexdigest().encode() if hexinner else inner.digest()
    a1 = inner + b":" + _u(nonce) + b":" + _u(cnonce)
    if authzid:
        a1 += b":" + enc(authzid)
    ha1 = hashlib.md5(a1).hexdigest()

    def kd(a2):
        ha2 = hashlib.md5(_u(a2)).hexdigest()
        return hashlib.md5(("%s:%s:%s:%s:%s:%s" % (
            ha1, nonce, nc, cnonce, qop, ha2)).encode()).hexdigest()
    return kd("AUTHENTICATE:" + uri), kd(":" + uri)


class DigestMD5(Mech):
    name = "DIGEST-MD5"

    def __init__(self, user, password, realm=None, service="smtp",
                 host="localhost", authzid=None, uri=None, nonce=None,
                 nc="00000001", qop="auth", cnonce=None, repeat=None,
                 hexinner=False, norealm=False, extra=None, latin1=False):
        self.user, self.password = user, password
        self.latin1 = latin1
        self.realm, self.authzid = realm, authzid
        self.uri = uri or "%s/%s" % (service, host)
        self.nonce_override, self.nc, self.qop = nonce, nc, qop
        self.cnonce = cnonce or b64(os.urandom(12))
        self.repeat, self.hexinner, self.norealm = repeat, hexinner, norealm
        self.extra = extra
        self.challenge = None
        self.rspauth = None

    def step(self, challenge):
        d = digest_parse(challenge)
        self.challenge = d
        realm = self.realm
        if realm is None:
            realm = d.get("realm", [""])[0]
        nonce = d["nonce"][0]
        sent_nonce = self.nonce_override or nonce
        resp, self.rspauth = digest_md5_values(
            self.user, "" if self.norealm else realm, self.password,
            sent_nonce, self.cnonce, self.nc, self.qop, self.uri,
            self.authzid, self.hexinner, self.latin1)
        parts = [("username", _quote(self.user))]
        if not self.norealm:
            parts.append(("realm", _quote(realm)))
        parts += [("nonce", _quote(sent_nonce)),
                  ("cnonce", _quote(self.cnonce)), ("nc", self.nc),
                  ("qop", self.qop), ("digest-uri", _quote(self.uri)),
                  ("response", resp)]
        if not self.latin1:
            parts.append(("charset", "utf-8"))
        if self.authzid:
            parts.append(("authzid", _quote(self.authzid)))
        if self.repeat:
            parts.append(next(p for p in parts if p[0] == self.repeat))
        if self.extra:
            parts.append(tuple(self.extra.split("=", 1)))
        return ",".join("%s=%s" % p for p in parts).encode(
            "latin-1" if self.latin1 else "utf-8")

    def is_final(self, data):
        return data.startswith(b"rspauth=")

    def verify_final(self, data):
        self.verified = (self.rspauth is not None and
                         data == b"rspauth=" + self.rspauth.encode())


def scram_escape(name):
    return name.replace("=", "=3D").replace(",", "=2C")


class Scram(Mech):
    default_ir = True

    def __init__(self, name, user, password, authzid=None, gs2=None,
                 cheader=None, rnonce=None, rawuser=None, cnonce=None):
        self.name = name
        self.h = {"SCRAM-SHA-1": "sha1", "SCRAM-SHA-256": "sha256"}[name]
        self.user, self.password = user, password
        if gs2 is None:
            gs2 = "n," + ("a=" + scram_escape(authzid) if authzid else "") + ","
        self.gs2 = gs2
        self.cheader = gs2 if cheader is None else cheader
        self.rnonce = rnonce
        self.cnonce = cnonce or b64(os.urandom(18)).replace("=", "")
        uname = rawuser if rawuser is not None else scram_escape(user)
        self.bare = "n=%s,r=%s" % (uname, self.cnonce)
        self.server_sig = None

    def initial(self):
        return (self.gs2 + self.bare).encode("utf-8")

    def step(self, challenge):
        if self.server_sig is None and challenge == b"":
            return self.initial()   # no initial response: empty challenge
        sf = challenge.decode("utf-8")
        attrs = dict(a.split("=", 1) for a in sf.split(","))
        nonce, salt, it = attrs["r"], unb64(attrs["s"]), int(attrs["i"])
        if not nonce.startswith(self.cnonce):
            raise ValueError("SCRAM: server nonce does not extend ours")
        salted = hashlib.pbkdf2_hmac(self.h, _u(self.password), salt, it)
        ckey = hmac.new(salted, b"Client Key", self.h).digest()
        stored = hashlib.new(self.h, ckey).digest()
        skey = hmac.new(salted, b"Server Key", self.h).digest()
        without = "c=%s,r=%s" % (b64(self.cheader.encode("utf-8")),
                                 self.rnonce or nonce)
        am = ("%s,%s,%s" % (self.bare, sf, without)).encode("utf-8")
        sig = hmac.new(stored, am, self.h).digest()
        proof = bytes(a ^ b for a, b in zip(ckey, sig))
        self.server_sig = hmac.new(skey, am, self.h).digest()
        return ("%s,p=%s" % (without, b64(proof))).encode("ascii")

    def is_final(self, data):
        return data.startswith(b"v=") or data.startswith(b"e=")

    def verify_final(self, data):
        self.verified = (self.server_sig is not None and
                         data == b"v=" + b64(self.server_sig).encode())


def make_mech(mech, user, password, opts):
    m = mech.upper()
    if m == "PLAIN":
        return Plain(user, password, opts.get("authzid", ""))
    if m == "LOGIN":
        return Login(user, password)
    if m == "CRAM-MD5":
        return CramMD5(user, password, opts.get("digest"),
                       opts.get("hexupper") == "1")
    if m == "DIGEST-MD5":
        return DigestMD5(
            user, password, realm=opts.get("realm"),
            service=opts.get("uriservice", opts.get("service", "smtp")),
            host=opts.get("host", "localhost"), authzid=opts.get("authzid"),
            uri=opts.get("uri"), nonce=opts.get("nonce"),
            nc=opts.get("nc", "00000001"), qop=opts.get("qop", "auth"),
            cnonce=opts.get("cnonce"), repeat=opts.get("repeat"),
            hexinner=opts.get("hexinner") == "1",
            norealm=opts.get("norealm") == "1", extra=opts.get("extra"),
            latin1=opts.get("latin1") == "1")
    if m.startswith("SCRAM-"):
        return Scram(m, user, password, authzid=opts.get("authzid"),
                     gs2=opts.get("gs2"), cheader=opts.get("cheader"),
                     rnonce=opts.get("rnonce"), rawuser=opts.get("rawuser"),
                     cnonce=opts.get("cnonce"))
    raise ValueError("unknown mechanism " + mech)


# --- self-test: the RFC vectors (mechanisms.md) ---

def selftest():
    bad = 0

    def check(what, got, want):
        nonlocal bad
        ok = got == want
        bad += not ok
        print("%s %s%s" % ("ok" if ok else "not ok", what,
                           "" if ok else " (got %r, want %r)" % (got, want)))

    ch = b"<1896.697170952@postoffice.reston.mci.net>"
    check("CRAM-MD5 RFC 2195", b64(cram_md5_response("tim", "tanstaaftanstaaf", ch)),
          "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw")
    r, a = digest_md5_values("chris", "elwood.innosoft.com", "secret",
                             "OA6MG9tEQGm2hh", "OA6MHXh6VqTrRk", "00000001",
                             "auth", "imap/elwood.innosoft.com")
    check("DIGEST-MD5 RFC 2831 IMAP response", r, "d388dad90d4bbd760a152321f2143af7")
    check("DIGEST-MD5 RFC 2831 IMAP rspauth", a, "ea40f60335c427b5527b84dbabcdfffd")
    r, a = digest_md5_values("chris", "elwood.innosoft.com", "secret",
                             "OA9BSXrbuRhWay", "OA9BSuZWMSpW8m", "00000001",
                             "auth", "acap/elwood.innosoft.com")
    check("DIGEST-MD5 RFC 2831 ACAP response", r, "6084c6db3fede7352c551284490fd0fc")
    check("DIGEST-MD5 RFC 2831 ACAP rspauth", a, "2f0b3d7c3c2e486600ef710726aa2eae")
    r, _ = digest_md5_values("chris", "elwood.innosoft.com", "secret",
                             "OA6MG9tEQGm2hh", "OA6MHXh6VqTrRk", "00000001",
                             "auth", "imap/elwood.innosoft.com", hexinner=True)
    check("DIGEST-MD5 hex-inner variant", r, "26ef1190b643a36e879673066098379c")
    for name, cn, sn, salt, p, v in (
        ("SCRAM-SHA-1", "fyko+d2lbbFgONRv9qkxdawL",
         "fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j", "QSXCR+Q6sek8bf92",
         "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", "rmF9pqV8S7suAoZWja4dJRkFsKQ="),
        ("SCRAM-SHA-256", "rOprNGfwEbeRWgbNEkqO",
         "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
         "W22ZaJ0SNY7soEsUEjb6gQ==",
         "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
         "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")):
        s = Scram(name, "user", "pencil", cnonce=cn)
        check(name + " client-first", s.initial().decode(), "n,,n=user,r=" + cn)
        cf = s.step(("r=%s,s=%s,i=4096" % (sn, salt)).encode()).decode()
        check(name + " client-final", cf, "c=biws,r=%s,p=%s" % (sn, p))
        s.verify_final(("v=" + v).encode())
        check(name + " server signature", s.verified, True)
        s.verify_final(("v=" + v[:-2] + "A=").encode())
        check(name + " a wrong server signature is refused", s.verified, False)
    ch = digest_parse(b'realm="a.org",realm="b\\"c",nonce="n1",qop="auth",'
                      b'charset=utf-8,algorithm=md5-sess')
    check("DIGEST-MD5 challenge parser", (ch["realm"], ch["algorithm"]),
          (["a.org", 'b"c'], ["md5-sess"]))
    check("escape/unescape", unescape(escape(b"a\tb\x01c\nd\re\0")),
          b"a\tb\x01c\nd\re\0")
    return 1 if bad else 0


# --- the command server ---

def decode_text(s):
    """escape sequences (\\t, \\x01, \\n...) of a command word -> bytes"""
    return codecs.decode(s.encode("utf-8", "surrogateescape"), "unicode_escape").encode("latin-1") \
        if "\\" in s else s.encode("utf-8", "surrogateescape")


def show(line):
    """a line for output: printable, TAB kept, other controls as \\xNN"""
    if line is None:
        return "<eof>"
    if isinstance(line, list):
        line = "\t".join(line)
    return "".join(c if c == "\t" or 32 <= ord(c) < 127 or ord(c) > 159
                   else "\\x%02x" % ord(c) for c in line)


class Server:
    def __init__(self, path):
        self.path = path
        self.conns = {}
        self.xs = {}    # (conn name, id) -> Exchange

    def out(self, k, v):
        print("%s=%s" % (k, v))

    def read(self, c, sec):
        t0 = time.monotonic()
        try:
            f = c.read_line(sec)
            self.out("line", show(f))
        except Timeout:
            f = False
            self.out("line", "<timeout>")
        self.out("ms", int((time.monotonic() - t0) * 1000))
        return f

    def exchange(self, name, args):
        rid, mech, user, pw = args[0], args[1], args[2], args[3]
        opts, params = {}, []
        for o in args[4:]:
            k, _, v = o.partition("=")
            if k == "param":
                params.append(decode_text(v).decode("utf-8", "surrogateescape"))
            else:
                opts[k] = v
        m = make_mech(mech, user, pw, opts)
        ir = None if "ir" not in opts else opts["ir"] == "1"
        service = opts.get("service", "smtp")
        x = Exchange(self.conns[name], int(rid), m,
                     None if service == "-" else service, params, ir,
                     opts.get("fro") == "1", opts.get("noempty") != "1")
        self.xs[(name, rid)] = x
        return x

    def cmd(self, w):
        op = w[0]
        if op == "b64":
            self.out("b64", b64(decode_text(w[1])))
            return
        if op == "open":
            mode = w[2] if len(w) > 2 else "wait"
            t0 = time.monotonic()
            c = Conn(self.path, send_version=mode in ("wait", "vfirst"),
                     version_first=mode == "vfirst",
                     read_handshake=mode != "raw")
            self.conns[w[1]] = c
            if c.handshake:
                for line in c.handshake.lines:
                    self.out("hs", show(line))
            self.out("hs_ms", int((time.monotonic() - t0) * 1000))
            return
        c = self.conns[w[1]]
        if op == "send":
            c.queue(decode_text(w[2]) + b"\n")
        elif op == "raw":
            c.queue(decode_text(w[2]))
        elif op == "fill":
            c.queue(w[3].encode() * int(w[2]))
        elif op == "flush":
            try:
                c.flush()
            except OSError as e:
                self.out("send_error", e.__class__.__name__)
        elif op == "read":
            self.read(c, float(w[2]) if len(w) > 2 else 5.0)
        elif op == "reads":
            for _ in range(int(w[2])):
                if self.read(c, float(w[3]) if len(w) > 3 else 5.0) in (None, False):
                    break
        elif op == "quiet":
            try:
                f = c.read_line(float(w[2]))
                self.out("line", show(f))
            except Timeout:
                self.out("line", "<none>")
        elif op == "eof":
            t0 = time.monotonic()
            extra = len(c.rbuf)
            deadline = t0 + (float(w[2]) if len(w) > 2 else 5.0)
            c.flush()
            while True:
                left = deadline - time.monotonic()
                r = select.select([c.s], [], [], max(left, 0))[0] if left > 0 else []
                if not r:
                    self.out("eof", "<timeout>")
                    break
                try:
                    chunk = c.s.recv(65536)
                except ConnectionResetError:
                    chunk = b""
                if not chunk:
                    self.out("eof", "yes")
                    break
                extra += len(chunk)
            self.out("extra", extra)
            self.out("ms", int((time.monotonic() - t0) * 1000))
        elif op == "close":
            try:
                c.flush()   # what is queued goes out just before the close
            except OSError:
                pass
            c.close()
            del self.conns[w[1]]
        elif op == "start":
            self.exchange(w[1], w[2:]).begin(flush=False)
        elif op == "pump":
            f = self.read(c, float(w[2]) if len(w) > 2 else 5.0)
            if f and len(f) >= 2 and (w[1], f[1]) in self.xs:
                x = self.xs[(w[1], f[1])]
                if x.handle(f):
                    del self.xs[(w[1], f[1])]
                    self.out("verified", {True: "yes", False: "no",
                                          None: "none"}[x.result.verified])
        elif op == "run":
            t0 = time.monotonic()
            x = self.exchange(w[1], w[2:])
            x.begin()
            rid = str(x.rid)
            sec = 5.0
            while True:
                try:
                    f = c.read_line(sec)
                except Timeout:
                    self.out("result", "<timeout>")
                    break
                if f is None:
                    self.out("result", "<eof>")
                    break
                if len(f) < 2 or f[1] != rid:
                    self.out("other", show(f))
                    continue
                if f[0] == "CONT":
                    data = unb64(f[2]) if len(f) > 2 else b""
                    self.out("cont", show(data.decode("latin-1")))
                if x.handle(f):
                    self.out("result", "<final>" if x.stopped else show(f))
                    break
            self.xs.pop((w[1], w[2]), None)
            self.out("verified", {True: "yes", False: "no",
                                  None: "none"}[x.result.verified])
            self.out("final", x.result.final_via or "none")
            self.out("ms", int((time.monotonic() - t0) * 1000))
        else:
            raise ValueError("unknown command " + op)


def serve(path):
    srv = Server(path)
    data = b""
    fd = sys.stdin.buffer.fileno()
    while True:
        words = []
        while True:
            while b"\0" not in data:
                more = os.read(fd, 65536)
                if not more:
                    return 0
                data += more
            w, _, data = data.partition(b"\0")
            if w == b"":
                break
            words.append(w.decode("utf-8", "surrogateescape"))
        try:
            srv.cmd(words)
        except Exception as e:  # report, keep serving
            print("error=%s: %s" % (e.__class__.__name__,
                                    str(e).replace("\n", " ")))
        print(".", flush=True)


def main(argv):
    if len(argv) >= 2 and argv[1] == "--selftest":
        return selftest()
    if len(argv) >= 3 and argv[2] == "--serve":
        return serve(argv[1])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
