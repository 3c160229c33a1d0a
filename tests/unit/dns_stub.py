#!/usr/bin/env python3
"""dns_stub - a tiny, scriptable and misbehaving DNS server for test_dnsbl.c.

Usage: dns_stub.py NAME=ITEM[,ITEM...] ...

Listens on UDP 127.0.0.1 (an ephemeral port, printed on stdout as the
first line) and answers until killed.  A name not in the table is
NXDOMAIN.  Items of a name:

  A:1.2.3.4       an A record (several allowed)
  TXT:text        a TXT record; %XX escapes give any byte, "|" splits
                  the text into several character-strings
  CNAME:target    answer with a CNAME to target and target's records
  nx              NXDOMAIN even though the name is listed
  servfail        SERVFAIL
  tc              NOERROR, TC set, no answers
  silent          never answer
  txtsilent       answer A queries, never TXT ones
  dropfirst       ignore the first query of each type, answer the retry
  upper           echo the question in upper case
  wrongowner      the A records belong to another name
  bad:KIND        before the real answer (if any), send a forged or
                  broken one that claims A 127.0.0.2 and TXT "forged":
                  wrongid, wrongport (from another socket), wrongaddr
                  (from 127.0.0.2), garbage (right id, random bytes),
                  cut (cut inside the answer), loop (an owner name that
                  points at itself), loop2 (two pointers at each other),
                  fwdptr (a pointer forwards), mismatch (another
                  question), longname (labels past 255 bytes)

The name "stats" answers A 127.0.0.2 and a TXT record
"queries=N ids=I ports=P": how many queries came for names other than
"stats", and how many distinct ids and source ports they used.
"""
import os
import random
import socket
import struct
import sys
import urllib.parse


def parse_table(args):
    table = {}
    for arg in args:
        name, _, spec = arg.partition("=")
        entry = {"A": [], "TXT": [], "CNAME": None, "flags": set(), "bad": []}
        for item in spec.split(","):
            kind, _, val = item.partition(":")
            if kind == "A":
                entry["A"].append(socket.inet_aton(val))
            elif kind == "TXT":
                entry["TXT"].append([urllib.parse.unquote_to_bytes(s)
                                     for s in val.split("|")])
            elif kind == "CNAME":
                entry["CNAME"] = val.lower()
            elif kind == "bad":
                entry["bad"].append(val)
            elif kind:
                entry["flags"].add(kind)
        table[name.lower()] = entry
    return table


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def read_question(pkt):
    """(id, qname text, qtype, end of question) or None."""
    if len(pkt) < 12:
        return None
    qid = struct.unpack("!H", pkt[:2])[0]
    off, labels = 12, []
    while off < len(pkt) and pkt[off] != 0:
        n = pkt[off]
        labels.append(pkt[off + 1:off + 1 + n].decode("latin-1"))
        off += 1 + n
    off += 1
    if off + 4 > len(pkt):
        return None
    qtype = struct.unpack("!H", pkt[off:off + 2])[0]
    return qid, ".".join(labels), qtype, off + 4


def rr(owner, rtype, rdata):
    return owner + struct.pack("!HHIH", rtype, 1, 60, len(rdata)) + rdata


def txt_rdata(strings):
    return b"".join(bytes([len(s)]) + s for s in strings)


def reply(qid, question, flags, answers, rcode=0, tc=False):
    b2 = 0x80 | 0x01 | (0x02 if tc else 0)
    b3 = 0x80 | rcode
    hdr = struct.pack("!HBBHHHH", qid, b2, b3, 1, len(answers), 0, 0)
    return hdr + question + b"".join(answers)


def answers_for(table, name, qtype, owner, depth=0):
    entry = table.get(name)
    if entry is None or depth > 4:
        return []
    out = []
    if entry["CNAME"]:
        target = entry["CNAME"]
        out.append(rr(owner, 5, encode_name(target)))
        return out + answers_for(table, target, qtype, encode_name(target),
                                 depth + 1)
    if "wrongowner" in entry["flags"]:
        owner = encode_name("someone-else.example")
    if qtype == 1:
        out += [rr(owner, 1, a) for a in entry["A"]]
    elif qtype == 16:
        out += [rr(owner, 16, txt_rdata(t)) for t in entry["TXT"]]
    return out


def forged(kind, qid, question):
    """A forged or broken reply of the given kind (bytes)."""
    ptr = b"\xc0\x0c"
    good = reply(qid, question, 0, [rr(ptr, 1, b"\x7f\0\0\x02"),
                                   rr(ptr, 16, txt_rdata([b"forged"]))])
    if kind in ("wrongid", "wrongport", "wrongaddr"):
        if kind == "wrongid":
            return struct.pack("!H", qid ^ 0x5a5a) + good[2:]
        return good
    if kind == "garbage":
        return struct.pack("!H", qid) + os.urandom(40)
    if kind == "cut":
        return good[:len(good) - 7]
    if kind == "loop":
        # the owner name is a pointer to itself
        at = len(question) + 12
        return reply(qid, question, 0,
                     [rr(struct.pack("!H", 0xc000 | at), 1, b"\x7f\0\0\x02")])
    if kind == "loop2":
        # a label, then a pointer back to that label: forever
        at = len(question) + 12
        owner = b"\x01x" + struct.pack("!H", 0xc000 | at)
        return reply(qid, question, 0, [rr(owner, 1, b"\x7f\0\0\x02")])
    if kind == "fwdptr":
        # the owner points at a copy of the name after the answer
        at = len(question) + 12 + 2 + 10 + 4
        owner = struct.pack("!H", 0xc000 | at)
        return reply(qid, question, 0, [rr(owner, 1, b"\x7f\0\0\x02")]) \
            + question[:-4]
    if kind == "mismatch":
        # another question; the answer would do for ours
        other = encode_name("other.example") + question[-4:]
        return reply(qid, other, 0,
                     [rr(question[:-4], 1, b"\x7f\0\0\x02")])
    if kind == "longname":
        owner = (b"\x3f" + b"a" * 63) * 4 + b"\0"
        return reply(qid, question, 0, [rr(owner, 1, b"\x7f\0\0\x02")])
    raise SystemExit("unknown bad kind " + kind)


def main():
    table = parse_table(sys.argv[1:])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    other.bind(("127.0.0.1", 0))
    otheraddr = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        otheraddr.bind(("127.0.0.2", sock.getsockname()[1]))
    except OSError:
        otheraddr.bind(("127.0.0.2", 0))
    sys.stdout.write("%d\n" % sock.getsockname()[1])
    sys.stdout.flush()
    seen = {}
    queries, ids, ports = 0, set(), set()
    while True:
        pkt, peer = sock.recvfrom(4096)
        q = read_question(pkt)
        if q is None:
            continue
        qid, name, qtype, qend = q
        question = pkt[12:qend]
        lname = name.lower()
        if lname.split(".")[0] == "stats":
            stats = "queries=%d ids=%d ports=%d" % (queries, len(ids),
                                                    len(ports))
            ans = [rr(b"\xc0\x0c", 1, b"\x7f\0\0\x02")] if qtype == 1 else \
                [rr(b"\xc0\x0c", 16, txt_rdata([stats.encode()]))]
            sock.sendto(reply(qid, question, 0, ans), peer)
            continue
        queries += 1
        ids.add(qid)
        ports.add(peer[1])
        entry = table.get(lname, {"A": [], "TXT": [], "CNAME": None,
                                  "flags": set(), "bad": []})
        flags = entry["flags"]
        key = (lname, qtype)
        seen[key] = seen.get(key, 0) + 1
        if "dropfirst" in flags and seen[key] == 1:
            continue
        for kind in entry["bad"]:
            data = forged(kind, qid, question)
            if kind == "wrongport":
                other.sendto(data, peer)
            elif kind == "wrongaddr":
                otheraddr.sendto(data, peer)
            else:
                sock.sendto(data, peer)
        if "silent" in flags or ("txtsilent" in flags and qtype == 16):
            continue
        if "upper" in flags:
            question = encode_name(name.upper()) + question[-4:]
        if lname not in table or "nx" in flags:
            out = reply(qid, question, 0, [], rcode=3)
        elif "servfail" in flags:
            out = reply(qid, question, 0, [], rcode=2)
        elif "tc" in flags:
            out = reply(qid, question, 0, [], tc=True)
        else:
            out = reply(qid, question, 0,
                        answers_for(table, lname, qtype, b"\xc0\x0c"))
        sock.sendto(out, peer)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
