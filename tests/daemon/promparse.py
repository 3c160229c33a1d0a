#!/usr/bin/env python3
"""promparse.py - a strict checker of the Prometheus text exposition format
0.0.4, for the control socket's `metrics` (tests/daemon/control.sh).

promtool (package prometheus) would do, but it weighs 19 MB to download and
96 MB installed with its web assets; this checks what promtool's `check
metrics` checks of our output, and a little more:

  - every line ends in LF; no empty lines; no trailing spaces;
  - "# HELP name text" and "# TYPE name type" at most once per family,
    before its samples, with a valid metric name and a known type;
  - a sample: name{label="value",...} value [timestamp]; names and label
    names valid, label values with only \\\\ \\" \\n escapes, no duplicate
    label in a sample, no duplicate series;
  - the samples of one family are together (not interleaved);
  - every sample has a TYPE and a HELP; counters end in _total (promtool's
    lint); values are floats (or +Inf, -Inf, NaN), counters never negative;
  - optionally (--prefix P): every name begins with P.

usage: promparse.py [--prefix P] < metrics   ->  exit 0 and "ok N samples",
       or exit 1 and the first problem with its line number.
       promparse.py --get NAME{labels} < metrics  prints that sample's value.
"""
import math
import re
import sys

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


class Bad(Exception):
    pass


def parse_value(text):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
        raise Bad("bad value %r" % text)
    return float(text)


def parse_labels(s, i):
    """s[i] == '{': returns (labels tuple, index after '}')."""
    labels = []
    i += 1
    while True:
        if i < len(s) and s[i] == "}":
            return tuple(labels), i + 1
        m = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*").match(s, i)
        if not m:
            raise Bad("bad label name at column %d" % (i + 1))
        name = m.group(0)
        i = m.end()
        if s[i:i + 2] != '="':
            raise Bad("label %s: want =\"" % name)
        i += 2
        val = []
        while True:
            if i >= len(s):
                raise Bad("unterminated label value")
            c = s[i]
            if c == "\\":
                if i + 1 >= len(s) or s[i + 1] not in '\\"n':
                    raise Bad("bad escape in label value")
                val.append({"\\": "\\", '"': '"', "n": "\n"}[s[i + 1]])
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise Bad("newline in label value")
            else:
                val.append(c)
                i += 1
        if any(n == name for n, _ in labels):
            raise Bad("label %s twice" % name)
        labels.append((name, "".join(val)))
        if i < len(s) and s[i] == ",":
            i += 1
            continue
        if i < len(s) and s[i] == "}":
            return tuple(labels), i + 1
        raise Bad("want , or } after a label")


def family_of(name, types):
    for suffix in ("_bucket", "_count", "_sum"):
        base = name[: -len(suffix)]
        if name.endswith(suffix) and types.get(base) in ("histogram",
                                                         "summary"):
            return base
    return name


def check(text, prefix=""):
    if text and not text.endswith("\n"):
        raise Bad("line %d: no LF at the end" % (text.count("\n") + 1))
    helps, types, seen_families, done_families = {}, {}, [], set()
    series = {}
    current = None
    for no, line in enumerate(text.split("\n")[:-1], 1):
        try:
            if line == "":
                raise Bad("empty line")
            if line != line.rstrip():
                raise Bad("trailing space")
            if line.startswith("#"):
                parts = line.split(" ", 3)
                if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                    kind, name = parts[1], parts[2]
                    if not NAME.match(name):
                        raise Bad("bad metric name %r" % name)
                    if prefix and not name.startswith(prefix):
                        raise Bad("%s does not begin with %s" % (name, prefix))
                    if name in done_families or (current is not None and
                                                 current != name and
                                                 name in seen_families):
                        raise Bad("%s: %s after its samples" % (name, kind))
                    table = helps if kind == "HELP" else types
                    if name in table:
                        raise Bad("%s: second %s" % (name, kind))
                    if len(parts) < 4 or parts[3] == "":
                        raise Bad("%s: %s without text" % (name, kind))
                    if kind == "TYPE" and parts[3] not in TYPES:
                        raise Bad("%s: unknown type %r" % (name, parts[3]))
                    if kind == "HELP" and re.search(r"\\[^\\n]", parts[3]):
                        raise Bad("%s: bad escape in HELP" % name)
                    table[name] = parts[3]
                    if current is not None and current != name:
                        done_families.add(current)
                    current = name
                    if name not in seen_families:
                        seen_families.append(name)
                continue
            m = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*").match(line)
            if not m:
                raise Bad("bad sample name")
            name = m.group(0)
            i = m.end()
            labels = ()
            if i < len(line) and line[i] == "{":
                labels, i = parse_labels(line, i)
            if line[i:i + 1] != " ":
                raise Bad("want a space before the value")
            rest = line[i + 1:].split(" ")
            if len(rest) not in (1, 2):
                raise Bad("want value [timestamp]")
            value = parse_value(rest[0])
            if len(rest) == 2 and not re.fullmatch(r"-?\d+", rest[1]):
                raise Bad("bad timestamp")
            fam = family_of(name, types)
            if prefix and not name.startswith(prefix):
                raise Bad("%s does not begin with %s" % (name, prefix))
            if fam not in types:
                raise Bad("%s: sample without TYPE" % name)
            if fam not in helps:
                raise Bad("%s: sample without HELP" % name)
            if fam in done_families or (current is not None and current != fam):
                raise Bad("%s: samples not together" % fam)
            if types[fam] == "counter":
                if not name.endswith("_total"):
                    raise Bad("counter %s does not end in _total" % name)
                if value < 0 or math.isnan(value):
                    raise Bad("counter %s is %s" % (name, rest[0]))
            key = (name, tuple(sorted(labels)))
            if key in series:
                raise Bad("series %s%s twice" % (name, dict(labels)))
            series[key] = value
        except Bad as e:
            raise Bad("line %d: %s: %s" % (no, e, line))
    return series


def main():
    args = sys.argv[1:]
    text = sys.stdin.read()
    prefix = ""
    if args[:1] == ["--prefix"]:
        prefix = args[1]
        args = args[2:]
    try:
        series = check(text, prefix)
    except Bad as e:
        print("promparse: %s" % e)
        return 1
    if args[:1] == ["--get"]:
        m = re.fullmatch(r"([^{]+)(\{.*\})?", args[1])
        labels = parse_labels(m.group(2), 0)[0] if m.group(2) else ()
        v = series.get((m.group(1), tuple(sorted(labels))))
        if v is None:
            print("promparse: no series %s" % args[1])
            return 1
        print("%d" % v if v == int(v) else v)
        return 0
    print("ok %d samples" % len(series))
    return 0


if __name__ == "__main__":
    sys.exit(main())
