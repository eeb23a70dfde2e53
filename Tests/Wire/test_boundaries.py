"""Boundary values for every numeric, string and blob field of every Kinesis
operation, sent to a `ktop serve` that this module starts itself.

Each request changes ONE field of an otherwise valid request (KINESIS.md §2.3,
Sources/StreamEngine/Shapes.swift) to a boundary value, on top of real
resources (a 2-shard stream with records, registered consumers, a fresh
iterator) so that the value gets past "not found" and reaches the code that
converts it (timestamps to nanoseconds, shard counts into quota sums, hash
keys into 128-bit integers ...). Every reply must be a Kinesis answer
(KINESIS.md §1.3–§1.5): a JSON error with `__type`, a `message` and the HTTP
status of that type, or a 200 whose body has the operation's output shape. A
5xx for client input is a failure: only InternalFailure is a 500, and client
input must not cause it.

After every request the server process must still be alive. When it dies the
case fails with the operation, field, value and the server's stderr, and the
server is restarted (with fresh fixtures) so that one crash does not hide the
next.

The enumerated tests are grouped by VALUE (one test per boundary value, sent
to every field of its kind in every operation): consecutive requests then go
to different operations, so the per-operation control-plane quotas (5 TPS for
most, KINESIS.md §3) refill while the others are exercised. A derandomized
hypothesis run mixes the same catalogues with random numbers and text.
"""

from __future__ import annotations

import base64
import http.client
import itertools
import json
import math
import os
import re
import struct
import time
import zlib
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Callable

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import kwire

T = "Kinesis_20131202."
JSON11 = "application/x-amz-json-1.1"
EVENTSTREAM = "application/vnd.amazon.eventstream"
SER = "SerializationException"
MAX_BODY = 16 * 1024 * 1024  # the server's default limit; a larger body may get a bare 413
HASH_MAX = 2**128 - 1

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("KTOP_ENDPOINT")),
    reason="KTOP_ENDPOINT is set: the boundary tests start their own `ktop serve` to detect crashes",
)

# KINESIS.md §1.5: every modelled error is a 400 except InternalFailure (500).
ERROR_STATUS = {
    "ResourceNotFoundException": 400, "ResourceInUseException": 400, "InvalidArgumentException": 400,
    "LimitExceededException": 400, "ProvisionedThroughputExceededException": 400,
    "ExpiredIteratorException": 400, "ExpiredNextTokenException": 400, "ValidationException": 400,
    "AccessDeniedException": 400, "KMSAccessDeniedException": 400, "KMSDisabledException": 400,
    "KMSInvalidStateException": 400, "KMSNotFoundException": 400, "KMSOptInRequired": 400,
    "KMSThrottlingException": 400, "SerializationException": 400, "UnknownOperationException": 400,
    "InvalidSignatureException": 400, "IncompleteSignatureException": 400,
    "MissingAuthenticationTokenException": 400, "UnrecognizedClientException": 400,
    "InternalFailureException": 500,
}


# --------------------------------------------------------------------------
# JSON fragments


class Raw:
    """A JSON fragment sent verbatim (it may be invalid JSON on purpose)."""

    __slots__ = ("text",)

    def __init__(self, text: bytes | str):
        self.text = text if isinstance(text, bytes) else text.encode("utf-8")

    def __repr__(self) -> str:
        return f"Raw({abbrev(self.text)})"


def js(v) -> Raw:
    return Raw(json.dumps(v, ensure_ascii=False).encode("utf-8"))


def abbrev(b: bytes, n: int = 120) -> str:
    s = repr(b[: n + 1])
    return s if len(b) <= n else f"{s[:n]}... ({len(b)} bytes)"


def render(v) -> bytes:
    if isinstance(v, Raw):
        return v.text
    if isinstance(v, dict):
        items = (render(k if isinstance(k, Raw) else js(k)) + b":" + render(x) for k, x in v.items())
        return b"{" + b",".join(items) + b"}"
    if isinstance(v, list):
        return b"[" + b",".join(render(x) for x in v) + b"]"
    return js(v).text


@dataclass(frozen=True)
class Value:
    """One boundary value: a label for reports, its JSON text (or a maker for
    big ones, built on first use) and, when Kinesis's answer is fixed, the
    only acceptable error type."""

    label: str
    make: Callable[[], Raw]
    expect: str | None = None
    heavy: bool = False  # megabytes: left out of the random run

    def raw(self) -> Raw:
        return self.make()

    @property
    def group(self) -> str:
        """The test a value belongs to: its label without the field-specific detail in brackets."""
        return self.label.split(" (")[0]


_BIG: dict[str, Raw] = {}


def const(raw: Raw) -> Callable[[], Raw]:
    return lambda: raw


def BIG(label: str, key: str, build: Callable[[], bytes]) -> Value:
    """A value of a megabyte or more, built on first use and shared."""

    def make() -> Raw:
        if key not in _BIG:
            _BIG[key] = Raw(build())
        return _BIG[key]

    return Value(label, make, heavy=True)


def V(label: str, v, expect: str | None = None) -> Value:
    raw = v if isinstance(v, Raw) else js(v)
    return Value(label, const(raw), expect, heavy=len(raw.text) > 100_000)


# --------------------------------------------------------------------------
# value catalogues


def number_values() -> list[Value]:
    """Numbers for Integer/Long and Timestamp (epoch seconds) fields."""
    lits = [
        ("0", "0"), ("1", "1"), ("-1", "-1"), ("-0", "-0"),
        ("2^31-1", str(2**31 - 1)), ("2^31", str(2**31)), ("-2^31", str(-(2**31))), ("-2^31-1", str(-(2**31) - 1)),
        ("2^63-1", str(2**63 - 1)), ("2^63", str(2**63)), ("-2^63", str(-(2**63))), ("-2^63-1", str(-(2**63) - 1)),
        ("2^64", str(2**64)), ("2^128", str(2**128)), ("2^200", str(2**200)),
        ("1e300", "1e300"), ("-1e300", "-1e300"),
        ("DBL_MAX", "1.7976931348623157e308"), ("-DBL_MAX", "-1.7976931348623157e308"),
        ("5e-324", "5e-324"), ("-5e-324", "-5e-324"), ("1e-300", "1e-300"),
        ("1e999999", "1e999999"), ("-1e999999", "-1e999999"), ("1e-999999", "1e-999999"),
        ("1.5", "1.5"), ("-0.5", "-0.5"), ("0.9999999999999999999", "0.9999999999999999999"), ("1E2", "1E2"),
        ("9.2e9", "9.2e9"), ("9.3e9", "9.3e9"), ("-9.3e9", "-9.3e9"), ("9.3e12", "9.3e12"), ("-9.3e12", "-9.3e12"),
        ("9223372036.854775807", "9223372036.854775807"), ("9223372037", "9223372037"), ("-9223372037", "-9223372037"),
        ("9.3e15", "9.3e15"), ("9.3e18", "9.3e18"),
        ("1000 digits", "9" * 1000), ("-1000 digits", "-" + "9" * 1000),
        ("1000-digit fraction", "0." + "0" * 998 + "1"), ("1000-digit exponent", "1e" + "9" * 1000),
    ]
    out = [V(label, Raw(text)) for label, text in lits]
    # Not JSON (RFC 8259): Coral's parser rejects them before any validation.
    for label, text in [("NaN", "NaN"), ("Infinity", "Infinity"), ("-Infinity", "-Infinity"), ("nan", "nan"),
                        ("+1", "+1"), ("01", "01"), (".5", ".5"), ("1.", "1."), ("0x10", "0x10"), ("1e", "1e")]:
        out.append(V(f"literal {label}", Raw(text), SER))
    out += [V("string '1'", "1"), V("string '1e300'", "1e300"), V("string 'NaN'", "NaN"),
            V("string ISO date", "2016-04-04T19:58:46.480Z"), V("string 1000 digits", "9" * 1000)]
    return out


NUMBERS = number_values()


def fill(f: "Field", n: int) -> str:
    """A string of n characters that is otherwise valid for the field."""
    body = n - len(f.prefix) - len(f.suffix)
    if body < 1:
        return (f.prefix + f.suffix)[:n] if n > 0 else ""
    return f.prefix + f.fill * body + f.suffix


def string_values(f: "Field") -> list[Value]:
    m = f.max_len
    out = [
        V("empty", ""),
        V("one char", fill(f, 1)),
        V(f"max length ({m})", fill(f, m)),
        V(f"max+1 ({m + 1})", fill(f, m + 1)),
        V("non-ASCII", "ünïcødé-ß"), V("emoji", "😀"), V(f"emoji x max ({m})", "😀" * min(m, 4096)),
        V("NUL inside", "a\u0000b"), V("NUL only", "\u0000"), V("control chars", "\t\n\r\u0007"),
        V("lone high surrogate", Raw(r'"\ud800"')), V("lone low surrogate", Raw(r'"\udc00"')),
        V("reversed surrogates", Raw(r'"a\udc00\ud800"')),
        V("invalid UTF-8", Raw(b'"\xff\xfe"')), V("overlong UTF-8", Raw(b'"\xc0\xaf"')),
        V("space", " "), V("padded", " " + fill(f, 3) + " "), V("format chars", "%s%n%x{0}$(x)"),
        V("zero-width + RTL + BOM", "\u200b\u202e\ufeff"), V("U+FFFF", "\uffff"), V("U+10FFFF", "\U0010ffff"),
        V("digits '-1'", "-1"), V("1000 digits", "9" * 1000),
        V("number 1", Raw("1")), V("number 1e300", Raw("1e300")), V("number 2^64", Raw(str(2**64))),
        V("number -1.5", Raw("-1.5")),
    ]
    if f.megabyte or f.big:
        out.append(BIG("1 MiB+1", "1MiB+1", lambda: b'"' + b"a" * (1024 * 1024 + 1) + b'"'))
    if f.big:
        out.append(BIG("10 MB", "10MB", lambda: b'"' + b"a" * 10_000_000 + b'"'))
    out += [V(label, v) for label, v in f.extra]
    return out


def hash_key_values() -> list[Value]:
    """ExplicitHashKey, NewStartingHashKey: decimal strings in [0, 2^128-1] (KINESIS.md §2.2, §4)."""
    vals = [
        ("'0'", "0"), ("'1'", "1"), ("'-1'", "-1"), ("'-0'", "-0"), ("'2^127'", str(2**127)),
        ("'2^128-1'", str(HASH_MAX)), ("'2^128'", str(2**128)), ("'2^128+1'", str(2**128 + 1)),
        ("'2^64'", str(2**64)), ("'2^63'", str(2**63)), ("'2^63-1'", str(2**63 - 1)),
        ("39 nines", "9" * 39), ("40 digits", "1" + "0" * 39), ("1000 digits", "9" * 1000),
        ("leading zero", "0" + str(2**127)), ("'+1'", "+1"), ("'1.5'", "1.5"), ("'1e38'", "1e38"),
        ("' 1'", " 1"), ("empty", ""), ("'abc'", "abc"), ("'0x10'", "0x10"), ("arabic digits", "\u0663\u0664"),
        ("fullwidth digits", "\uff11\uff12"), ("superscript digit", "\u00b2"),
    ]
    out = [V(label, v) for label, v in vals]
    out += [V("number 2^128", Raw(str(2**128))), V("number 1", Raw("1")), V("number -1", Raw("-1")),
            V("number 1e999999", Raw("1e999999"))]
    return out


HASH_KEYS = hash_key_values()


def v2_sequence(shard_create: int, shard_index: int, seq_index: int, record_time: int, version: int = 2) -> str:
    """A sequence number laid out as KINESIS.md §5 describes (fields masked to width)."""
    h = (
        f"{version & 0xF:x}{shard_create & (16**9 - 1):09x}{shard_index & 0xF:x}{seq_index & (16**16 - 1):016x}"
        f"00{record_time & (16**9 - 1):09x}{shard_index & 0xFFFFFFFF:08x}2"
    )
    return str(int(h, 16))


def sequence_values() -> list[Value]:
    """StartingSequenceNumber, SequenceNumberForOrdering, StartingPosition.SequenceNumber."""
    vals = [
        ("'0'", "0"), ("'1'", "1"), ("'-1'", "-1"), ("empty", ""), ("'01'", "01"),
        ("56 nines", "9" * 56), ("56 digits 10^55", "1" + "0" * 55), ("57 digits", "1" + "0" * 56),
        ("57 nines", "9" * 57), ("128 nines", "9" * 128), ("129 nines", "9" * 129), ("130 digits", "1" + "0" * 129),
        ("1000 digits", "9" * 1000), ("56 zeros", "0" * 56), ("2^186-1", str(2**186 - 1)), ("2^186", str(2**186)),
        ("2^185", str(2**185)), ("2^184", str(2**184)), ("legacy 38 digits", "21269319989900637946712965403778482371"),
        ("v2 all fields max", v2_sequence(16**9 - 1, 0, 16**16 - 1, 16**9 - 1)),
        ("v2 shard 0 seqIndex top bit", v2_sequence(0, 0, 2**63, 0)),
        ("v2 shard 2^32-1", v2_sequence(1, 0xFFFFFFFF, 1, 1)),
        ("v2 shard 2^31", v2_sequence(1, 2**31, 1, 1)),
        ("v2 record time 0", v2_sequence(0, 0, 0, 0)),
        ("v2 version 0", v2_sequence(1, 0, 1, 1, version=0)), ("v2 version 15", v2_sequence(1, 0, 1, 1, version=15)),
        ("'1.5'", "1.5"), ("'1e55'", "1e55"), ("'abc'", "abc"), ("arabic digits", "\u0663\u0664"),
    ]
    out = [V(label, v) for label, v in vals]
    out += [V("number 1", Raw("1")), V("number 56 digits", Raw("9" * 56)), V("number 1e999999", Raw("1e999999"))]
    return out


SEQUENCES = sequence_values()


def b64(n: int) -> bytes:
    return base64.b64encode(b"\x00" * n)


def blob_values() -> list[Value]:
    """Data: base64 (KINESIS.md §1.2); at most 1 MiB with the partition key by default (§3)."""
    return [
        V("empty", ""), V("one byte", "AA=="), V("invalid base64 '!!!!'", "!!!!"), V("length 1", "A"),
        V("length 3", "AAA"), V("'A==='", "A==="), V("'===='", "===="), V("unpadded 'QQ'", "QQ"),
        V("over-padded 'QQ==='", "QQ==="), V("newline inside", "QUJD\nREVG"), V("URL-safe alphabet", "-_-_"),
        V("non-ASCII", "ÄÖÜ="), V("NUL", "AA\u0000="),
        BIG("1 MiB - 2 (at the limit with PartitionKey 'pk')", "blob-limit",
            lambda: b'"' + b64(1024 * 1024 - 2) + b'"'),
        BIG("1 MiB+1", "blob-1MiB+1", lambda: b'"' + b64(1024 * 1024 + 1) + b'"'),
        BIG("10 MiB", "blob-10MiB", lambda: b'"' + b64(10 * 1024 * 1024) + b'"'),
        BIG("10 MB", "blob-10MB", lambda: b'"' + b64(10_000_000) + b'"'),
        V("number 1", Raw("1")), V("number 1e999999", Raw("1e999999")),
    ]


BLOBS = blob_values()


def structural_values() -> list[Value]:
    """Values of the wrong JSON kind, for every field."""
    return [
        V("null", Raw("null")), V("true", Raw("true")), V("empty object", Raw("{}")),
        V("object", Raw('{"a":{"b":[1,"x",null]}}')), V("empty array", Raw("[]")), V("array", Raw('[1,"x",null]')),
    ]


STRUCTURAL = structural_values()


def enum_values(f: "Field") -> list[Value]:
    out = [V(f"'{e}'", e) for e in f.enum]
    out += [V("lower-case", f.enum[0].lower()), V("empty", ""), V("unknown", "NOT_A_VALUE"),
            V("padded", " " + f.enum[0] + " "), V("non-ASCII", f.enum[0] + "\u00e9"),
            V("10 KB", "A" * 10_000), V("number 0", Raw("0")), V("number 1e999999", Raw("1e999999"))]
    return out


def bool_values() -> list[Value]:
    return [V("true", Raw("true")), V("false", Raw("false")), V("'true'", "true"), V("'TRUE'", "TRUE"),
            V("'yes'", "yes"), V("'1'", "1"), V("'0'", "0"), V("'maybe'", "maybe"), V("empty string", ""),
            V("number 0", Raw("0")), V("number 1", Raw("1")), V("number 1e999999", Raw("1e999999"))]


def tag_map_values() -> list[Value]:
    """Tags: 1..200 entries in the model, 50 per stream; keys 1..128, values 0..256 (KINESIS.md §2.2)."""
    return [
        V("empty map", {}), V("one tag", {"k": "v"}), V("empty key", {"": "v"}), V("empty value", {"k": ""}),
        V("key 128", {"k" * 128: "v"}), V("key 129", {"k" * 129: "v"}),
        V("value 256", {"k": "v" * 256}), V("value 257", {"k": "v" * 257}),
        V("50 tags", {f"k{i}": "v" for i in range(50)}), V("51 tags", {f"k{i}": "v" for i in range(51)}),
        V("200 tags", {f"k{i}": "v" for i in range(200)}), V("201 tags", {f"k{i}": "v" for i in range(201)}),
        V("null value", Raw('{"k":null}')), V("number value", Raw('{"k":1}')), V("object value", Raw('{"k":{}}')),
        V("array value", Raw('{"k":["v"]}')), V("duplicate keys", Raw('{"k":"a","k":"b"}')),
        V("forbidden chars", {"a;b": "c,d", "%": "\t"}), V("non-ASCII", {"ключ": "значение😀"}),
        V("NUL", {"k\u0000": "v\u0000"}), V("lone surrogate key", Raw(r'{"\ud800":"v"}')),
    ]


def string_list_values(f: "Field") -> list[Value]:
    item = f.enum[0] if f.enum else "k"
    return [
        V("empty list", []), V("one", [item]), V("empty string", [""]), V("null item", Raw("[null]")),
        V("number item", Raw("[1]")), V("object item", Raw("[{}]")), V("nested list", [[item]]),
        V("50 items", [f"{item}{i}" if not f.enum else item for i in range(50)]),
        V("51 items", [f"{item}{i}" if not f.enum else item for i in range(51)]),
        V("1000 items", [item] * 1000), V("duplicates", [item, item]),
        V("item 129 chars", ["k" * 129]), V("lone surrogate item", Raw(r'["\ud800"]')),
    ]


def records_values() -> list[Value]:
    """PutRecords.Records: 1..500 entries (KINESIS.md §2.3)."""
    rec = {"Data": "AA==", "PartitionKey": "pk"}
    return [
        V("empty list", []), V("one", [rec]), V("500", [rec] * 500), V("501", [rec] * 501),
        V("10000", [rec] * 10000), V("null item", Raw("[null]")), V("number item", Raw("[1]")),
        V("empty record", [{}]), V("record missing Data", [{"PartitionKey": "pk"}]),
        V("record missing PartitionKey", [{"Data": "AA=="}]), V("nested list", [[rec]]),
        V("500 x 10 KiB", [{"Data": b64(10240).decode(), "PartitionKey": "pk"}] * 500),
    ]


def object_values(f: "Field") -> list[Value]:
    """Structure fields (ShardFilter, StartingPosition, StreamModeDetails, ...):
    each member value alone (so AT_TIMESTAMP without a Timestamp, ...), and
    members of the wrong kind."""
    out = [V(f"{f.member} {e!r} alone", {f.member: e}) for e in f.enum]
    return out + [
        V("empty object", {}), V("unknown member", {"Foo": 1}), V("lower-case member", {f.member.lower(): f.enum[0]}),
        V("member null", Raw(f'{{"{f.member}":null}}')), V("member number", Raw(f'{{"{f.member}":1e999999}}')),
        V("Timestamp alone", {"Timestamp": 1e300}),
        V("all members huge", {f.member: f.enum[0], "Timestamp": 1e300, "SequenceNumber": "9" * 1000,
                               "ShardId": "shardId-" + "9" * 100}),
    ]


# --------------------------------------------------------------------------
# fields


KEY = object()  # path element: the key of a one-entry map


@dataclass
class Field:
    """One input field of one operation, and how to make a request around it."""

    op: str
    path: tuple
    kind: str  # number, string, hashkey, seqnum, blob, enum, bool, tagmap, strlist, records, object
    variant: str = ""
    base: Callable[["World"], dict] | None = None  # overrides the operation's base request
    max_len: int = 128
    fill: str = "a"
    prefix: str = ""
    suffix: str = ""
    enum: tuple = ()
    member: str = "Type"  # the enum member of an object field
    frames: int = 1  # SubscribeToShard: event-stream messages to read
    big: bool = False  # also gets a 10 MB string
    megabyte: bool = False  # also gets a 1 MiB+1 string
    extra: tuple = ()  # (label, value) pairs specific to the field
    _cache: list | None = dataclass_field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        parts = ["{key}" if p is KEY else (f"[{p}]" if isinstance(p, int) else p) for p in self.path]
        return f"{self.op} {'.'.join(parts).replace('.[', '[')}{self.variant}"

    def values(self) -> list[Value]:
        if self._cache is None:
            self._cache = self._values()
        return self._cache

    def _values(self) -> list[Value]:
        kinds = {
            "number": lambda: NUMBERS,
            "string": lambda: string_values(self),
            "hashkey": lambda: HASH_KEYS,
            "seqnum": lambda: SEQUENCES,
            "blob": lambda: BLOBS,
            "enum": lambda: enum_values(self),
            "bool": bool_values,
            "tagmap": tag_map_values,
            "strlist": lambda: string_list_values(self),
            "records": records_values,
            "object": lambda: object_values(self),
        }
        vals = list(kinds[self.kind]())
        if self.kind == "blob" and self.op != "PutRecord":  # one field is enough for the model's 10 MiB maximum
            vals = [v for v in vals if v.label != "10 MiB"]
        if self.path[-1] is KEY:  # a map key can only be a JSON string
            return [v for v in vals if v.heavy or v.raw().text.startswith(b'"')]
        return vals + [v for v in STRUCTURAL if not (self.kind == "object" and v.label == "empty object")]

    def body(self, w: "World", raw: Raw) -> bytes:
        base = (self.base or BASES[self.op])(w)
        top = self.path[0]
        # StreamName and StreamARN together must agree; vary one without the other.
        if top == "StreamARN":
            base.pop("StreamName", None)
        if top == "StreamName" and "StreamARN" in base:
            base.pop("StreamARN")
        set_path(base, self.path, raw)
        return render(base)


def set_path(doc: dict, path: tuple, raw: Raw) -> None:
    node = doc
    for i, p in enumerate(path[:-1]):
        nxt = path[i + 1]
        if nxt is KEY:
            node[p] = {raw: "v"}
            return
        if isinstance(node, dict) and p not in node:
            node[p] = {}
        node = node[p]
    node[path[-1]] = raw


# --------------------------------------------------------------------------
# the fixture world: real resources, made lazily on each (re)started server


class World:
    """Streams, records, consumers and iterators that the base requests point
    at, created on first use so that a restart after a crash is cheap.

    An operation that changes its stream (UPDATING for 0.5 s, KINESIS.md §2.3)
    draws from a small pool of streams, the one changed longest ago, so the
    next case rarely waits for ACTIVE; a stream is replaced before a daily
    quota (KINESIS.md §3) or a per-stream limit would stop later values short
    of the code they are meant to reach.
    """

    CONSUMERS = 10
    # key: (pool size, shards, on-demand, retire after this many successful changes)
    STREAMS = {
        "main": (1, 2, False, None), "tags": (1, 2, False, 30), "ret": (1, 2, False, None),
        "enc": (3, 1, False, 20), "split": (2, 1, False, 20), "merge": (2, 6, False, 5), "scale": (2, 2, False, 8),
        "mode": (2, 1, False, 2), "size": (2, 1, False, None), "warm": (1, 0, True, None),
    }

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self.client = kwire.make_client(endpoint, retries={"total_max_attempts": 20, "mode": "standard"})
        self._pools: dict[str, list[str]] = {}
        self._changed_at: dict[str, float] = {}
        self._changes: dict[str, int] = {}
        self._picked: dict[str, str] = {}
        self._open: dict[str, list[dict]] = {}
        self._seqs: dict[int, str] = {}
        self._consumers: list[tuple[str, str]] = []
        self._pairs: dict[tuple[int, int], float] = {}
        self._pending_pair: tuple[int, int] | None = None
        self._iterator: tuple[str, float] | None = None
        self._counter = itertools.count()

    def fresh(self, prefix: str) -> str:
        return f"bnd-{prefix}-{next(self._counter)}"

    def _fill_pool(self, key: str) -> list[str]:
        size, shards, on_demand, _ = self.STREAMS[key]
        pool = self._pools.setdefault(key, [])
        new = []
        while len(pool) + len(new) < size:
            name = "bnd-main" if key == "main" else self.fresh(key)
            if on_demand:
                self.client.create_stream(StreamName=name, StreamModeDetails={"StreamMode": "ON_DEMAND"})
            else:
                self.client.create_stream(StreamName=name, ShardCount=shards)
            new.append(name)
        for name in new:
            kwire.wait_stream_status(self.client, name)
            self._changes[name] = 0
            if key == "main":
                for i, hk in enumerate(["0", str(HASH_MAX)]):
                    for _ in range(3):
                        r = self.client.put_record(StreamName=name, Data=b"boundary", PartitionKey="pk",
                                                   ExplicitHashKey=hk)
                        self._seqs.setdefault(i, r["SequenceNumber"])
                self.client.add_tags_to_stream(StreamName=name, Tags={"k": "v", "k2": "v2", "k3": "v3"})
            if key == "warm":  # UpdateStreamWarmThroughput needs the billing commitment
                self.client.update_account_settings(MinimumThroughputBillingCommitment={"Status": "ENABLED"})
        pool.extend(new)
        return pool

    def stream(self, key: str) -> str:
        """The pool member for `key` changed longest ago, ACTIVE."""
        pool = self._fill_pool(key)
        name = min(pool, key=lambda n: self._changed_at.get(n, 0.0))
        if time.monotonic() - self._changed_at.get(name, -1e9) < 1.0:
            kwire.wait_stream_status(self.client, name, timeout=10)
            self._changed_at[name] = 0.0  # settled
        self._picked[key] = name
        return name

    def arn(self, key: str) -> str:
        return kwire.stream_arn(self.stream(key))

    def changed(self, key: str) -> None:
        """A change to the stream last picked for `key` succeeded."""
        name = self._picked.get(key)
        if name is None:
            return
        self._changed_at[name] = time.monotonic()
        self._open.pop(name, None)
        self._changes[name] += 1
        retire = self.STREAMS[key][3]
        if retire is not None and self._changes[name] >= retire and name in self._pools[key]:
            self._pools[key].remove(name)

    @property
    def main(self) -> str:
        return self.stream("main")

    @property
    def main_arn(self) -> str:
        return self.arn("main")

    def seq(self, shard: int) -> str:
        self.stream("main")
        return self._seqs[shard]

    def open_shards(self, name: str) -> list[str]:
        """Open shards of a stream, in hash-key order."""
        if name not in self._open:
            shards = self.client.list_shards(StreamName=name)["Shards"]
            self._open[name] = sorted(
                (s for s in shards if "EndingSequenceNumber" not in s["SequenceNumberRange"]),
                key=lambda s: int(s["HashKeyRange"]["StartingHashKey"]),
            )
        return [s["ShardId"] for s in self._open[name]]

    def split_point(self, name: str) -> str:
        self.open_shards(name)
        lo, hi = kwire.shard_range(self._open[name][0])
        return str((lo + hi) // 2)

    def consumers(self) -> list[tuple[str, str]]:
        if not self._consumers:
            arn = self.main_arn
            for i in range(self.CONSUMERS):
                c = self.client.register_stream_consumer(StreamARN=arn, ConsumerName=f"bnd-c{i}")["Consumer"]
                self._consumers.append((c["ConsumerName"], c["ConsumerARN"]))
            for _, carn in self._consumers:
                kwire.wait_consumer_status(self.client, carn)
        return self._consumers

    def consumer_arn(self) -> str:
        return self.consumers()[0][1]

    def subscription_pair(self) -> tuple[str, int]:
        """The (consumer, shard) pair subscribed longest ago: a second
        subscription within 5 s is ResourceInUse (KINESIS.md §1.7), which
        would stop the value short of the starting-position code."""
        consumers = self.consumers()
        pairs = [(c, s) for c in range(len(consumers)) for s in (0, 1)]
        pair = min(pairs, key=lambda p: self._pairs.get(p, 0.0))
        wait = self._pairs.get(pair, 0.0) + 5.2 - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._pending_pair = pair
        return consumers[pair[0]][1], pair[1]

    def subscribed(self) -> None:
        """The last subscription succeeded: its pair is busy for 5 s."""
        if self._pending_pair is not None:
            self._pairs[self._pending_pair] = time.monotonic()

    def iterator(self) -> str:
        if self._iterator is None or time.monotonic() - self._iterator[1] > 120:
            it = self.client.get_shard_iterator(StreamName=self.main, ShardId=kwire.shard_id(0),
                                                ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            self._iterator = (it, time.monotonic())
        return self._iterator[0]

    def next_token(self, op: str) -> str:
        if op == "ListShards":
            return self.client.list_shards(StreamName=self.main, MaxResults=1)["NextToken"]
        if op == "ListStreamConsumers":
            self.consumers()
            return self.client.list_stream_consumers(StreamARN=self.main_arn, MaxResults=1)["NextToken"]
        self.stream("main")
        self.stream("tags")
        return self.client.list_streams(Limit=1)["NextToken"]

    def merge_pair(self) -> dict:
        name = self.stream("merge")
        shards = self.open_shards(name)
        if len(shards) < 2:  # merged down to one shard: take another stream
            self._pools["merge"].remove(name)
            return self.merge_pair()
        return {"StreamName": name, "ShardToMerge": shards[0], "AdjacentShardToMerge": shards[1]}

    def split_target(self) -> dict:
        name = self.stream("split")
        return {"StreamName": name, "ShardToSplit": self.open_shards(name)[0],
                "NewStartingHashKey": self.split_point(name)}

    def scale_target(self) -> dict:
        name = self.stream("scale")
        return {"StreamName": name, "TargetShardCount": len(self.open_shards(name)), "ScalingType": "UNIFORM_SCALING"}


def subscribe_base(start: dict) -> Callable[[World], dict]:
    def base(w: World) -> dict:
        consumer, shard = w.subscription_pair()
        pos = dict(start)
        if pos.get("SequenceNumber") == "SEQ":
            pos["SequenceNumber"] = w.seq(shard)
        return {"ConsumerARN": consumer, "ShardId": kwire.shard_id(shard), "StartingPosition": pos}

    return base


ABSENT = "bnd-absent"
POLICY = json.dumps({"Version": "2012-10-17", "Statement": []})

# One valid request per operation, aimed at real resources. Operations that
# change a stream get a stream of their own (see MUTATES).
BASES: dict[str, Callable[[World], dict]] = {
    "AddTagsToStream": lambda w: {"StreamName": w.stream("tags"), "Tags": {"k": "v"}},
    # An existing name: every check (quotas included) runs, then ResourceInUse, and no
    # stream is created. The ShardCount field itself uses fresh names (see fields()).
    "CreateStream": lambda w: {"StreamName": w.main, "ShardCount": 1},
    "DecreaseStreamRetentionPeriod": lambda w: {"StreamName": w.stream("ret"), "RetentionPeriodHours": 24},
    "DeleteResourcePolicy": lambda w: {"ResourceARN": w.main_arn},
    "DeleteStream": lambda w: {"StreamName": ABSENT},
    "DeregisterStreamConsumer": lambda w: {"StreamARN": w.main_arn, "ConsumerName": ABSENT},
    "DescribeAccountSettings": lambda w: {},
    "DescribeLimits": lambda w: {},
    "DescribeStream": lambda w: {"StreamName": w.main},
    "DescribeStreamConsumer": lambda w: {"StreamARN": w.main_arn, "ConsumerName": w.consumers()[0][0]},
    "DescribeStreamSummary": lambda w: {"StreamName": w.main},
    "DisableEnhancedMonitoring": lambda w: {"StreamName": w.main, "ShardLevelMetrics": ["IncomingBytes"]},
    "EnableEnhancedMonitoring": lambda w: {"StreamName": w.main, "ShardLevelMetrics": ["IncomingBytes"]},
    # Limit 1: the shard fills up with the cases' records; test_stored_values_read_back reads them all.
    "GetRecords": lambda w: {"ShardIterator": w.iterator(), "Limit": 1},
    "GetResourcePolicy": lambda w: {"ResourceARN": w.main_arn},
    "GetShardIterator": lambda w: {"StreamName": w.main, "ShardId": kwire.shard_id(0),
                                   "ShardIteratorType": "TRIM_HORIZON"},
    "IncreaseStreamRetentionPeriod": lambda w: {"StreamName": w.stream("ret"), "RetentionPeriodHours": 48},
    "ListShards": lambda w: {"StreamName": w.main},
    "ListStreamConsumers": lambda w: {"StreamARN": w.main_arn},
    "ListStreams": lambda w: {},
    "ListTagsForResource": lambda w: {"ResourceARN": w.main_arn},
    "ListTagsForStream": lambda w: {"StreamName": w.main},
    "MergeShards": lambda w: w.merge_pair(),
    "PutRecord": lambda w: {"StreamName": w.main, "Data": "AA==", "PartitionKey": "pk"},
    "PutRecords": lambda w: {"StreamName": w.main, "Records": [{"Data": "AA==", "PartitionKey": "pk"}]},
    "PutResourcePolicy": lambda w: {"ResourceARN": w.main_arn, "Policy": POLICY},
    # An existing consumer: every check runs, then ResourceInUse, and nothing is registered.
    "RegisterStreamConsumer": lambda w: {"StreamARN": w.main_arn, "ConsumerName": w.consumers()[0][0]},
    "RemoveTagsFromStream": lambda w: {"StreamName": w.stream("tags"), "TagKeys": ["k"]},
    "SplitShard": lambda w: w.split_target(),
    "StartStreamEncryption": lambda w: {"StreamName": w.stream("enc"), "EncryptionType": "KMS",
                                        "KeyId": "alias/aws/kinesis"},
    "StopStreamEncryption": lambda w: {"StreamName": w.stream("enc"), "EncryptionType": "KMS",
                                       "KeyId": "alias/aws/kinesis"},
    "SubscribeToShard": subscribe_base({"Type": "LATEST"}),
    "TagResource": lambda w: {"ResourceARN": w.arn("tags"), "Tags": {"k": "v"}},
    "UntagResource": lambda w: {"ResourceARN": w.arn("tags"), "TagKeys": ["k"]},
    "UpdateAccountSettings": lambda w: {"MinimumThroughputBillingCommitment": {"Status": "ENABLED"}},
    "UpdateMaxRecordSize": lambda w: {"StreamARN": w.arn("size"), "MaxRecordSizeInKiB": 2048},
    "UpdateShardCount": lambda w: w.scale_target(),
    "UpdateStreamMode": lambda w: {"StreamARN": w.arn("mode"), "StreamModeDetails": {"StreamMode": "PROVISIONED"}},
    "UpdateStreamWarmThroughput": lambda w: {"StreamARN": w.arn("warm"), "WarmThroughputMiBps": 10},
}

# Operations whose success changes their fixture stream (status UPDATING, new
# shards, one more tag or consumer).
MUTATES = {
    "SplitShard": "split", "MergeShards": "merge", "UpdateShardCount": "scale", "UpdateStreamMode": "mode",
    "StartStreamEncryption": "enc", "StopStreamEncryption": "enc", "UpdateMaxRecordSize": "size",
    "UpdateStreamWarmThroughput": "warm", "AddTagsToStream": "tags", "TagResource": "tags",
    "IncreaseStreamRetentionPeriod": "ret", "DecreaseStreamRetentionPeriod": "ret",
}

ARN_PREFIX = f"arn:aws:kinesis:{kwire.REGION}:{kwire.ACCOUNT}:stream/"
STREAM_ARN_EXTRA = (
    ("ARN of another account", f"arn:aws:kinesis:{kwire.REGION}:999999999999:stream/bnd-main"),
    ("ARN of another region", f"arn:aws:kinesis:eu-west-1:{kwire.ACCOUNT}:stream/bnd-main"),
    ("ARN empty name", ARN_PREFIX),
    ("ARN aws-cn partition", f"arn:aws-cn:kinesis:{kwire.REGION}:{kwire.ACCOUNT}:stream/x"),
    ("ARN of a consumer", ARN_PREFIX + "bnd-main/consumer/bnd-c0:1"),
    ("ARN 11-digit account", "arn:aws:kinesis:r:12345678901:stream/x"),
    ("ARN name with slash", ARN_PREFIX + "bnd-main/x"), ("ARN name 129", ARN_PREFIX + "a" * 129),
)
CONSUMER_PREFIX = ARN_PREFIX + "bnd-main/consumer/"
CONSUMER_ARN_EXTRA = (
    ("consumer ARN suffix 0", CONSUMER_PREFIX + "bnd-c0:0"), ("consumer ARN suffix -1", CONSUMER_PREFIX + "bnd-c0:-1"),
    ("consumer ARN suffix 2^63-1", CONSUMER_PREFIX + f"bnd-c0:{2**63 - 1}"),
    ("consumer ARN suffix 2^63", CONSUMER_PREFIX + f"bnd-c0:{2**63}"),
    ("consumer ARN suffix 2^64", CONSUMER_PREFIX + f"bnd-c0:{2**64}"),
    ("consumer ARN suffix 1000 digits", CONSUMER_PREFIX + "bnd-c0:" + "9" * 1000),
    ("consumer ARN no suffix", CONSUMER_PREFIX + "bnd-c0"), ("consumer ARN empty suffix", CONSUMER_PREFIX + "bnd-c0:"),
    ("consumer ARN of unknown stream", ARN_PREFIX + "nope/consumer/bnd-c0:1"),
    ("consumer ARN other account", f"arn:aws:kinesis:{kwire.REGION}:999999999999:stream/bnd-main/consumer/bnd-c0:1"),
    ("stream ARN", ARN_PREFIX + "bnd-main"),
)
SHARD_ID_EXTRA = (
    ("shardId-000000000000", "shardId-000000000000"), ("shardId-000000000001", "shardId-000000000001"),
    ("shardId-2147483647", "shardId-2147483647"), ("shardId-2147483648", "shardId-2147483648"),
    ("shardId-4294967296", "shardId-4294967296"), ("shardId-2^63-1", f"shardId-{2**63 - 1}"),
    ("shardId-2^63", f"shardId-{2**63}"), ("shardId-2^64", f"shardId-{2**64}"),
    ("shardId- 120 nines", "shardId-" + "9" * 120), ("shardId--1", "shardId--1"), ("shardId-", "shardId-"),
    ("'-'", "-"), ("'foo-1'", "foo-1"), ("'0'", "0"), ("'shardId-00000000000a'", "shardId-00000000000a"),
    ("shardId-1e3", "shardId-1e3"),
)
KEY_ID_EXTRA = (("key ARN", "arn:aws:kms:us-east-1:123456789012:key/12345678-1234-1234-1234-123456789012"),
                ("alias/", "alias/"), ("UUID", "12345678-1234-1234-1234-123456789012"))


def name_field(op, path=("StreamName",), **kw) -> Field:
    return Field(op, path, "string", max_len=128, **kw)


def stream_arn_field(op, **kw) -> Field:
    return Field(op, ("StreamARN",), "string", max_len=2048, prefix=ARN_PREFIX, extra=STREAM_ARN_EXTRA, **kw)


def resource_arn_field(op, **kw) -> Field:
    return Field(op, ("ResourceARN",), "string", max_len=2048, prefix=ARN_PREFIX,
                 extra=STREAM_ARN_EXTRA + CONSUMER_ARN_EXTRA[:3], **kw)


def consumer_arn_field(op, **kw) -> Field:
    return Field(op, ("ConsumerARN",), "string", max_len=2048, prefix=CONSUMER_PREFIX, suffix=":1",
                 extra=CONSUMER_ARN_EXTRA, **kw)


def shard_field(op, path, **kw) -> Field:
    return Field(op, path, "string", max_len=128, extra=SHARD_ID_EXTRA, **kw)


def named_stream(op, **kw) -> list[Field]:
    return [name_field(op, **kw), stream_arn_field(op)]


def timestamp_field(op, path, **kw) -> Field:
    return Field(op, path, "number", **kw)


ITERATOR_TYPES = ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER", "TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")
FILTER_TYPES = ("AFTER_SHARD_ID", "AT_TRIM_HORIZON", "FROM_TRIM_HORIZON", "AT_LATEST", "AT_TIMESTAMP", "FROM_TIMESTAMP")
METRICS = ("IncomingBytes", "IncomingRecords", "OutgoingBytes", "OutgoingRecords",
           "WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded", "IteratorAgeMilliseconds", "ALL")


def gsi_base(kind: str) -> Callable[[World], dict]:
    def base(w: World) -> dict:
        b = {"StreamName": w.main, "ShardId": kwire.shard_id(0), "ShardIteratorType": kind}
        if "SEQUENCE" in kind:
            b["StartingSequenceNumber"] = w.seq(0)
        return b

    return base


def list_shards_filter(kind: str, **extra) -> Callable[[World], dict]:
    return lambda w: {"StreamName": w.main, "ShardFilter": {"Type": kind, **extra}}


def with_token(op: str, keep: tuple = ()) -> Callable[[World], dict]:
    def base(w: World) -> dict:
        b = {k: v for k, v in BASES[op](w).items() if k in keep}
        b["NextToken"] = w.next_token(op)
        return b

    return base


def fields() -> list[Field]:
    F = Field
    out: list[Field] = []
    # w.main first: the account then holds shards.
    fresh_stream = lambda w: {"StreamName": w.fresh("cs") if w.main else ""}  # noqa: E731
    # stream-addressed operations
    for op in ("DescribeStreamSummary", "DescribeStream", "ListShards", "ListTagsForStream", "PutRecord", "PutRecords",
               "GetShardIterator", "EnableEnhancedMonitoring", "DisableEnhancedMonitoring", "AddTagsToStream",
               "RemoveTagsFromStream", "IncreaseStreamRetentionPeriod", "DecreaseStreamRetentionPeriod", "DeleteStream",
               "MergeShards", "SplitShard", "UpdateShardCount", "StartStreamEncryption", "StopStreamEncryption",
               "UpdateStreamWarmThroughput"):
        out += named_stream(op)
    out += [name_field("CreateStream", big=True)]
    for op in ("ListStreamConsumers", "UpdateMaxRecordSize", "UpdateStreamMode", "RegisterStreamConsumer",
               "DescribeStreamConsumer", "DeregisterStreamConsumer"):
        out.append(stream_arn_field(op))
    for op in ("ListTagsForResource", "TagResource", "UntagResource", "GetResourcePolicy", "PutResourcePolicy",
               "DeleteResourcePolicy"):
        out.append(resource_arn_field(op))
    # numbers
    out += [
        # Fresh names, and the account already holds shards: the quota sum (current + ShardCount) is the deep path.
        F("CreateStream", ("ShardCount",), "number", base=lambda w: {**fresh_stream(w), "ShardCount": 1}),
        F("CreateStream", ("WarmThroughputMiBps",), "number", "@ON_DEMAND",
          base=lambda w: {"StreamName": w.main, "StreamModeDetails": {"StreamMode": "ON_DEMAND"}}),
        F("CreateStream", ("MaxRecordSizeInKiB",), "number"),
        F("IncreaseStreamRetentionPeriod", ("RetentionPeriodHours",), "number"),
        F("DecreaseStreamRetentionPeriod", ("RetentionPeriodHours",), "number"),
        F("DescribeStream", ("Limit",), "number"),
        F("GetRecords", ("Limit",), "number"),
        F("ListStreams", ("Limit",), "number"),
        F("ListTagsForStream", ("Limit",), "number"),
        F("ListShards", ("MaxResults",), "number"),
        F("ListShards", ("MaxResults",), "number", "@NextToken", base=with_token("ListShards")),
        F("ListStreamConsumers", ("MaxResults",), "number"),
        F("UpdateShardCount", ("TargetShardCount",), "number"),
        F("UpdateMaxRecordSize", ("MaxRecordSizeInKiB",), "number"),
        F("UpdateStreamMode", ("WarmThroughputMiBps",), "number", "@ON_DEMAND",
          base=lambda w: {"StreamARN": w.arn("mode"), "StreamModeDetails": {"StreamMode": "ON_DEMAND"}}),
        F("UpdateStreamWarmThroughput", ("WarmThroughputMiBps",), "number"),
        # timestamps (epoch seconds, KINESIS.md §1.2)
        timestamp_field("GetShardIterator", ("Timestamp",), variant="@AT_TIMESTAMP", base=gsi_base("AT_TIMESTAMP")),
        timestamp_field("GetShardIterator", ("Timestamp",), variant="@TRIM_HORIZON"),
        timestamp_field("ListShards", ("StreamCreationTimestamp",)),
        timestamp_field("ListShards", ("ShardFilter", "Timestamp"), variant="@AT_TIMESTAMP",
                        base=list_shards_filter("AT_TIMESTAMP")),
        timestamp_field("ListShards", ("ShardFilter", "Timestamp"), variant="@FROM_TIMESTAMP",
                        base=list_shards_filter("FROM_TIMESTAMP")),
        timestamp_field("ListStreamConsumers", ("StreamCreationTimestamp",)),
        timestamp_field("SubscribeToShard", ("StartingPosition", "Timestamp"), variant="@AT_TIMESTAMP",
                        base=subscribe_base({"Type": "AT_TIMESTAMP"})),
    ]
    # strings
    out += [
        F("ListStreams", ("ExclusiveStartStreamName",), "string"),
        F("ListStreams", ("NextToken",), "string", max_len=1_048_576),
        F("ListShards", ("NextToken",), "string", max_len=1_048_576, megabyte=True, base=lambda w: {}),
        F("ListStreamConsumers", ("NextToken",), "string", max_len=1_048_576),
        shard_field("ListShards", ("ExclusiveStartShardId",)),
        shard_field("ListShards", ("ShardFilter", "ShardId"), variant="@AFTER_SHARD_ID",
                    base=list_shards_filter("AFTER_SHARD_ID", ShardId="shardId-000000000000")),
        shard_field("DescribeStream", ("ExclusiveStartShardId",)),
        F("ListTagsForStream", ("ExclusiveStartTagKey",), "string"),
        shard_field("GetShardIterator", ("ShardId",)),
        shard_field("GetShardIterator", ("ShardId",), variant="@AT_TIMESTAMP",
                    base=lambda w: {**gsi_base("AT_TIMESTAMP")(w), "Timestamp": 1.5}),
        F("GetRecords", ("ShardIterator",), "string", max_len=512, fill="A", megabyte=True,
          extra=(("'AAAAAAAAAAE' + 40 A", "AAAAAAAAAAE" + "A" * 40), ("base64 junk 512", "QUJD" * 128))),
        stream_arn_field("GetRecords", base=lambda w: {"ShardIterator": w.iterator(), "Limit": 1}),
        F("PutRecord", ("PartitionKey",), "string", max_len=256, big=True),
        F("PutRecords", ("Records", 0, "PartitionKey"), "string", max_len=256),
        shard_field("MergeShards", ("ShardToMerge",)),
        shard_field("MergeShards", ("AdjacentShardToMerge",)),
        shard_field("SplitShard", ("ShardToSplit",)),
        F("StartStreamEncryption", ("KeyId",), "string", max_len=2048, extra=KEY_ID_EXTRA),
        F("StopStreamEncryption", ("KeyId",), "string", max_len=2048, extra=KEY_ID_EXTRA),
        F("PutResourcePolicy", ("Policy",), "string", max_len=20480, megabyte=True,
          extra=(("JSON null policy", "null"), ("policy not JSON", "{"))),
        F("RegisterStreamConsumer", ("ConsumerName",), "string"),
        F("DescribeStreamConsumer", ("ConsumerName",), "string"),
        F("DeregisterStreamConsumer", ("ConsumerName",), "string"),
        consumer_arn_field("DescribeStreamConsumer", base=lambda w: {"ConsumerARN": w.consumer_arn()}),
        consumer_arn_field("DeregisterStreamConsumer",
                           base=lambda w: {"ConsumerARN": CONSUMER_PREFIX + ABSENT + ":1"}),
        consumer_arn_field("SubscribeToShard"),
        shard_field("SubscribeToShard", ("ShardId",)),
        F("AddTagsToStream", ("Tags", KEY), "string", fill="k"),
        F("AddTagsToStream", ("Tags", "k"), "string", max_len=256, fill="v"),
        F("TagResource", ("Tags", KEY), "string", fill="k"),
        F("TagResource", ("Tags", "k"), "string", max_len=256, fill="v"),
        F("CreateStream", ("Tags", KEY), "string", fill="k", base=lambda w: {**BASES["CreateStream"](w), "Tags": {}}),
        F("CreateStream", ("Tags", "k"), "string", max_len=256, fill="v"),
        F("RegisterStreamConsumer", ("Tags", KEY), "string", fill="k"),
        F("RegisterStreamConsumer", ("Tags", "k"), "string", max_len=256, fill="v"),
        F("RemoveTagsFromStream", ("TagKeys", 0), "string", fill="k"),
        F("UntagResource", ("TagKeys", 0), "string", fill="k"),
    ]
    # hash keys and sequence numbers
    out += [
        F("PutRecord", ("ExplicitHashKey",), "hashkey"),
        F("PutRecords", ("Records", 0, "ExplicitHashKey"), "hashkey"),
        F("SplitShard", ("NewStartingHashKey",), "hashkey"),
        F("PutRecord", ("SequenceNumberForOrdering",), "seqnum"),
        F("GetShardIterator", ("StartingSequenceNumber",), "seqnum", "@AT_SEQUENCE_NUMBER",
          base=gsi_base("AT_SEQUENCE_NUMBER")),
        F("GetShardIterator", ("StartingSequenceNumber",), "seqnum", "@AFTER_SEQUENCE_NUMBER",
          base=gsi_base("AFTER_SEQUENCE_NUMBER")),
        F("SubscribeToShard", ("StartingPosition", "SequenceNumber"), "seqnum", "@AT_SEQUENCE_NUMBER",
          base=subscribe_base({"Type": "AT_SEQUENCE_NUMBER", "SequenceNumber": "SEQ"})),
        F("SubscribeToShard", ("StartingPosition", "SequenceNumber"), "seqnum", "@AFTER_SEQUENCE_NUMBER",
          base=subscribe_base({"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": "SEQ"})),
    ]
    # blobs
    out += [F("PutRecord", ("Data",), "blob"), F("PutRecords", ("Records", 0, "Data"), "blob")]
    # enums, booleans, collections, structures
    out += [
        F("GetShardIterator", ("ShardIteratorType",), "enum", enum=ITERATOR_TYPES),
        F("ListShards", ("ShardFilter", "Type"), "enum", enum=FILTER_TYPES, base=list_shards_filter("AT_LATEST")),
        F("ListShards", ("ShardFilter",), "object", enum=FILTER_TYPES),
        F("SubscribeToShard", ("StartingPosition", "Type"), "enum", enum=ITERATOR_TYPES),
        F("SubscribeToShard", ("StartingPosition",), "object", enum=ITERATOR_TYPES),
        F("CreateStream", ("StreamModeDetails", "StreamMode"), "enum", enum=("PROVISIONED", "ON_DEMAND"),
          base=lambda w: {"StreamName": w.main}),
        F("CreateStream", ("StreamModeDetails",), "object", enum=("PROVISIONED", "ON_DEMAND"), member="StreamMode"),
        F("UpdateStreamMode", ("StreamModeDetails", "StreamMode"), "enum", enum=("PROVISIONED", "ON_DEMAND")),
        F("UpdateStreamMode", ("StreamModeDetails",), "object", enum=("PROVISIONED", "ON_DEMAND"), member="StreamMode"),
        F("UpdateShardCount", ("ScalingType",), "enum", enum=("UNIFORM_SCALING",)),
        F("StartStreamEncryption", ("EncryptionType",), "enum", enum=("KMS", "NONE")),
        F("StopStreamEncryption", ("EncryptionType",), "enum", enum=("KMS", "NONE")),
        F("UpdateAccountSettings", ("MinimumThroughputBillingCommitment", "Status"), "enum",
          enum=("ENABLED", "DISABLED", "ENABLED_UNTIL_EARLIEST_ALLOWED_END")),
        F("UpdateAccountSettings", ("MinimumThroughputBillingCommitment",), "object",
          enum=("ENABLED", "DISABLED"), member="Status"),
        F("EnableEnhancedMonitoring", ("ShardLevelMetrics", 0), "enum", enum=METRICS),
        F("DisableEnhancedMonitoring", ("ShardLevelMetrics", 0), "enum", enum=METRICS),
        F("EnableEnhancedMonitoring", ("ShardLevelMetrics",), "strlist", enum=METRICS),
        F("DisableEnhancedMonitoring", ("ShardLevelMetrics",), "strlist", enum=METRICS),
        F("DeleteStream", ("EnforceConsumerDeletion",), "bool"),
        F("AddTagsToStream", ("Tags",), "tagmap"),
        F("TagResource", ("Tags",), "tagmap"),
        F("CreateStream", ("Tags",), "tagmap"),
        F("RegisterStreamConsumer", ("Tags",), "tagmap"),
        F("RemoveTagsFromStream", ("TagKeys",), "strlist"),
        F("UntagResource", ("TagKeys",), "strlist"),
        F("PutRecords", ("Records",), "records"),
    ]
    return out


FIELDS = fields()


# --------------------------------------------------------------------------
# reply shapes (KINESIS.md §2.3)

STR, INT, NUM, BOOL, DIGITS = "str", "int", "num", "bool", "digits"


def opt(s):
    return ("opt", s)


def lst(s):
    return ("list", s)


HASH_RANGE = {"StartingHashKey": DIGITS, "EndingHashKey": DIGITS}
SHARD = {"ShardId": STR, "ParentShardId": opt(STR), "AdjacentParentShardId": opt(STR), "HashKeyRange": HASH_RANGE,
         "SequenceNumberRange": {"StartingSequenceNumber": DIGITS, "EndingSequenceNumber": opt(DIGITS)}}
MODE = opt({"StreamMode": STR})
MONITORING = lst({"ShardLevelMetrics": lst(STR)})
CONSUMER = {"ConsumerName": STR, "ConsumerARN": STR, "ConsumerStatus": STR, "ConsumerCreationTimestamp": NUM}
COMMITMENT = opt({"MinimumThroughputBillingCommitment": opt({"Status": STR, "StartedAt": opt(NUM),
                                                              "EndedAt": opt(NUM), "EarliestAllowedEndAt": opt(NUM)})})
EMPTY = "empty"

SHAPES = {
    "AddTagsToStream": EMPTY, "CreateStream": EMPTY, "DecreaseStreamRetentionPeriod": EMPTY,
    "DeleteResourcePolicy": EMPTY, "DeleteStream": EMPTY, "DeregisterStreamConsumer": EMPTY,
    "IncreaseStreamRetentionPeriod": EMPTY, "MergeShards": EMPTY, "PutResourcePolicy": EMPTY,
    "RemoveTagsFromStream": EMPTY, "SplitShard": EMPTY, "StartStreamEncryption": EMPTY,
    "StopStreamEncryption": EMPTY, "TagResource": EMPTY, "UntagResource": EMPTY, "UpdateMaxRecordSize": EMPTY,
    "UpdateStreamMode": EMPTY,
    "DescribeAccountSettings": COMMITMENT[1], "UpdateAccountSettings": COMMITMENT[1],
    "DescribeLimits": {"ShardLimit": INT, "OpenShardCount": INT, "OnDemandStreamCount": INT,
                       "OnDemandStreamCountLimit": INT},
    "DescribeStream": {"StreamDescription": {
        "StreamName": STR, "StreamARN": STR, "StreamStatus": STR, "StreamModeDetails": MODE, "Shards": lst(SHARD),
        "HasMoreShards": BOOL, "RetentionPeriodHours": INT, "StreamCreationTimestamp": NUM,
        "EnhancedMonitoring": MONITORING, "EncryptionType": opt(STR), "KeyId": opt(STR)}},
    "DescribeStreamSummary": {"StreamDescriptionSummary": {
        "StreamName": STR, "StreamARN": STR, "StreamStatus": STR, "StreamModeDetails": MODE,
        "RetentionPeriodHours": INT, "StreamCreationTimestamp": NUM, "EnhancedMonitoring": MONITORING,
        "EncryptionType": opt(STR), "KeyId": opt(STR), "OpenShardCount": INT, "ConsumerCount": opt(INT)}},
    "DescribeStreamConsumer": {"ConsumerDescription": {**CONSUMER, "StreamARN": STR}},
    "EnableEnhancedMonitoring": {"StreamName": opt(STR), "CurrentShardLevelMetrics": lst(STR),
                                 "DesiredShardLevelMetrics": lst(STR), "StreamARN": opt(STR)},
    "GetRecords": {"Records": lst({"SequenceNumber": DIGITS, "ApproximateArrivalTimestamp": opt(NUM), "Data": STR,
                                   "PartitionKey": STR, "EncryptionType": opt(STR)}),
                   "NextShardIterator": opt(STR), "MillisBehindLatest": opt(INT),
                   "ChildShards": opt(lst({"ShardId": STR, "ParentShards": lst(STR), "HashKeyRange": HASH_RANGE}))},
    "SubscribeToShard": "event stream",
    "GetResourcePolicy": {"Policy": STR},
    "GetShardIterator": {"ShardIterator": STR},
    "ListShards": {"Shards": lst(SHARD), "NextToken": opt(STR)},
    "ListStreamConsumers": {"Consumers": lst(CONSUMER), "NextToken": opt(STR)},
    "ListStreams": {"StreamNames": lst(STR), "HasMoreStreams": BOOL, "NextToken": opt(STR),
                    "StreamSummaries": lst({"StreamName": STR, "StreamARN": STR, "StreamStatus": STR,
                                            "StreamModeDetails": MODE, "StreamCreationTimestamp": opt(NUM)})},
    "ListTagsForResource": {"Tags": lst({"Key": STR, "Value": opt(STR)})},
    "ListTagsForStream": {"Tags": lst({"Key": STR, "Value": opt(STR)}), "HasMoreTags": BOOL},
    "PutRecord": {"ShardId": STR, "SequenceNumber": DIGITS, "EncryptionType": opt(STR)},
    "PutRecords": {"FailedRecordCount": opt(INT), "EncryptionType": opt(STR),
                   "Records": lst({"SequenceNumber": opt(DIGITS), "ShardId": opt(STR), "ErrorCode": opt(STR),
                                   "ErrorMessage": opt(STR)})},
    "RegisterStreamConsumer": {"Consumer": CONSUMER},
    "UpdateShardCount": {"StreamName": opt(STR), "CurrentShardCount": INT, "TargetShardCount": INT,
                         "StreamARN": opt(STR)},
    "UpdateStreamWarmThroughput": {"StreamARN": opt(STR), "StreamName": opt(STR),
                                   "WarmThroughput": opt({"TargetMiBps": opt(INT), "CurrentMiBps": opt(INT)})},
}
SHAPES["DisableEnhancedMonitoring"] = SHAPES["EnableEnhancedMonitoring"]


def shape_problems(schema, v, path: str = "$") -> list[str]:
    if isinstance(schema, tuple) and schema[0] == "opt":
        return [] if v is None else shape_problems(schema[1], v, path)
    if v is None:
        return [f"{path} is missing"]
    if isinstance(schema, tuple) and schema[0] == "list":
        if not isinstance(v, list):
            return [f"{path} is {type(v).__name__}, not a list"]
        return [p for i, x in enumerate(v) for p in shape_problems(schema[1], x, f"{path}[{i}]")]
    if isinstance(schema, dict):
        if not isinstance(v, dict):
            return [f"{path} is {type(v).__name__}, not an object"]
        return [p for k, s in schema.items() for p in shape_problems(s, v.get(k), f"{path}.{k}")]
    ok = {
        STR: isinstance(v, str),
        INT: isinstance(v, int) and not isinstance(v, bool),
        NUM: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
        BOOL: isinstance(v, bool),
        DIGITS: isinstance(v, str) and v.isascii() and v.isdigit(),
    }[schema]
    return [] if ok else [f"{path} = {v!r:.80} is not {schema}"]


# --------------------------------------------------------------------------
# sending


@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes
    frame: bytes = b""  # SubscribeToShard: the first event-stream message


def read_frame(resp) -> bytes:
    prelude = resp.read(12)
    if len(prelude) < 12:
        return prelude
    total = struct.unpack(">I", prelude[:4])[0]
    return prelude + (resp.read(total - 12) if 16 <= total <= 1 << 25 else b"")


def post(endpoint: str, op: str, body: bytes, timeout: float, frames: int = 1) -> Reply:
    """One signed request; for a SubscribeToShard success, read the head and
    the first `frames` event-stream messages, then hang up."""
    host = endpoint.split("//", 1)[1]
    hostname, port = host.rsplit(":", 1)
    headers = kwire.signed_headers_for(host=host, target=T + op, body=body)
    conn = http.client.HTTPConnection(hostname, int(port), timeout=timeout)
    try:
        conn.request("POST", "/", body=body, headers=headers)
        resp = conn.getresponse()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        if resp.status == 200 and hdrs.get("content-type", "").startswith(EVENTSTREAM):
            first = read_frame(resp)
            rest = b"".join(read_frame(resp) for _ in range(frames - 1))
            return Reply(resp.status, hdrs, rest, first)
        return Reply(resp.status, hdrs, resp.read())
    finally:
        conn.close()


def parse_frame(frame: bytes) -> tuple[dict, bytes, list[str]]:
    """An event-stream message (KINESIS.md §1.7): its string headers, payload and framing problems."""
    if len(frame) < 16:
        return {}, b"", [f"event stream ended after {len(frame)} bytes of a message"]
    total, hlen, pcrc = struct.unpack(">III", frame[:12])
    problems = []
    if total != len(frame):
        problems.append(f"message length {total} but {len(frame)} bytes arrived")
    if zlib.crc32(frame[:8]) != pcrc:
        problems.append("bad prelude CRC")
    if zlib.crc32(frame[:-4]) != struct.unpack(">I", frame[-4:])[0]:
        problems.append("bad message CRC")
    headers, i, end = {}, 12, 12 + hlen
    try:
        while i < end:
            n = frame[i]
            name = frame[i + 1:i + 1 + n].decode()
            i += 1 + n
            kind = frame[i]
            i += 1
            if kind != 7:
                return headers, b"", problems + [f"unexpected header type {kind}"]
            ln = struct.unpack(">H", frame[i:i + 2])[0]
            headers[name] = frame[i + 2:i + 2 + ln].decode()
            i += 2 + ln
    except (IndexError, UnicodeDecodeError, struct.error) as e:
        return headers, b"", problems + [f"unparsable headers: {e}"]
    return headers, frame[end:-4], problems


RECORD = {"SequenceNumber": DIGITS, "ApproximateArrivalTimestamp": opt(NUM), "Data": STR, "PartitionKey": STR,
          "EncryptionType": opt(STR)}
CHILD_SHARD = {"ShardId": STR, "ParentShards": lst(STR), "HashKeyRange": HASH_RANGE}
SUBSCRIBE_EVENT = {"Records": lst(RECORD), "ContinuationSequenceNumber": opt(DIGITS), "MillisBehindLatest": INT,
                   "ChildShards": opt(lst(CHILD_SHARD))}


def subscription_problems(first: bytes, more: bytes) -> list[str]:
    """The first message must be the initial-response event; a second one, when
    read, a SubscribeToShardEvent (KINESIS.md §1.7)."""
    headers, _, problems = parse_frame(first)
    if headers.get(":message-type") != "event" or headers.get(":event-type") != "initial-response":
        problems.append(f"first message is not an initial-response event: {headers}")
    if more:
        headers, payload, p2 = parse_frame(more)
        problems += [f"second message: {p}" for p in p2]
        if headers.get(":event-type") != "SubscribeToShardEvent":
            problems.append(f"second message is not a SubscribeToShardEvent: {headers} {abbrev(payload, 200)}")
        else:
            try:
                event = json.loads(payload)
                problems += [f"SubscribeToShardEvent: {p}" for p in shape_problems(SUBSCRIBE_EVENT, event)]
            except ValueError:
                problems.append(f"SubscribeToShardEvent payload is not JSON: {abbrev(payload, 200)}")
    return problems


def is_transient(r: Reply) -> bool:
    """Throttling that lifts in a moment: retried so that the value reaches the code behind it."""
    if r.status != 400 or not r.body:
        return False
    if b"ProvisionedThroughputExceededException" in r.body[:80]:
        return True
    return b"LimitExceededException" in r.body[:80] and (b"Rate exceeded" in r.body or b"CREATING state" in r.body)


def reply_problems(op: str, r: Reply, expect: str | None, body_len: int) -> list[str]:
    ctype = r.headers.get("content-type", "")
    if r.status >= 500:
        return [f"HTTP {r.status} (a server fault) for client input: {abbrev(r.body, 300)}"]
    if r.status == 413 and body_len > MAX_BODY:
        return []
    if r.status == 200:
        if expect:
            return [f"expected {expect}, got HTTP 200"]
        if op == "SubscribeToShard":
            return subscription_problems(r.frame, r.body)
        if not ctype.startswith(JSON11):
            return [f"HTTP 200 with Content-Type {ctype!r}"]
        if SHAPES[op] == EMPTY and r.body in (b"", b"{}"):
            return []
        try:
            doc = json.loads(r.body or b"{}")
        except ValueError:
            return [f"HTTP 200 body is not JSON: {abbrev(r.body, 300)}"]
        if SHAPES[op] == EMPTY:
            return [] if doc == {} else [f"HTTP 200 body should be empty: {abbrev(r.body, 300)}"]
        return [f"HTTP 200 body: {p}" for p in shape_problems(SHAPES[op], doc)]
    if not ctype.startswith(JSON11):
        return [f"HTTP {r.status} with Content-Type {ctype!r}: {abbrev(r.body, 300)}"]
    try:
        doc = json.loads(r.body)
    except ValueError:
        return [f"HTTP {r.status} body is not JSON: {abbrev(r.body, 300)}"]
    if not isinstance(doc, dict) or not isinstance(doc.get("__type"), str):
        return [f"HTTP {r.status} error without __type: {abbrev(r.body, 300)}"]
    kind = doc["__type"]
    problems = []
    if kind not in ERROR_STATUS:
        problems.append(f"unknown error type {kind!r}")
    elif ERROR_STATUS[kind] != r.status:
        problems.append(f"{kind} with HTTP {r.status}, expected {ERROR_STATUS[kind]}")
    message = doc.get("message", doc.get("Message"))
    # Kinesis answers a body that is not JSON with a bare {"__type":"SerializationException"} (KINESIS.md §1.5).
    if not isinstance(message, str) and not (kind == SER and message is None):
        problems.append(f"{kind} without a message: {abbrev(r.body, 300)}")
    if kind != SER and "message" not in doc:
        problems.append(f"{kind} carries no lower-case 'message' member: {abbrev(r.body, 300)}")
    if expect and kind != expect:
        problems.append(f"expected {expect}, got {kind}: {abbrev(r.body, 300)}")
    return problems


# --------------------------------------------------------------------------
# the harness: one server, restarted after a crash


@dataclass
class Crash:
    case: str
    body: bytes
    stderr: str


class Harness:
    def __init__(self):
        self.server: kwire.ServerProcess | None = None
        self.world: World | None = None
        self.crashes: list[Crash] = []
        self.last = "(server start)"
        self.last_body = b""
        self.requests = 0
        # KTOP_BOUNDS_TRACE=FILE logs every case and its answer: which values got how far.
        trace = os.environ.get("KTOP_BOUNDS_TRACE")
        self.trace = open(trace, "a", encoding="utf-8") if trace else None
        self.start()

    # A short, symbolicated backtrace of the crashed thread: about 3 s instead of 6.
    BACKTRACE = "enable=yes,interactive=no,registers=none,images=none,threads=crashed,symbolicate=fast,limit=24"

    def start(self) -> None:
        saved = os.environ.get("SWIFT_BACKTRACE")
        os.environ["SWIFT_BACKTRACE"] = self.BACKTRACE
        try:
            self.server = kwire.ServerProcess([])  # default flags
        finally:
            if saved is None:
                os.environ.pop("SWIFT_BACKTRACE", None)
            else:
                os.environ["SWIFT_BACKTRACE"] = saved
        self.world = World(self.server.endpoint)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        if self.trace:
            self.trace.flush()

    def restart(self) -> None:
        self.stop()
        self.start()

    def _exited(self, wait: float) -> bool:
        deadline = time.monotonic() + wait
        while True:
            if not self.server.alive():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    def _crash(self, case: str, body: bytes, when: str) -> str:
        stderr = self.server.stderr_text()
        code = self.server.proc.returncode
        self.crashes.append(Crash(case, body, stderr))
        lines = stderr.splitlines()
        fatal = [ln.strip() for ln in lines if "Fatal error" in ln or "Program crashed" in ln]
        # The first frames in ktop's own sources say where it trapped.
        frames = []
        for ln in lines:
            m = re.search(r"0x[0-9a-f]+ (.*?) \+ \d+ in \S+ at (/\S*/Sources/\S+)", ln)
            if m and "/.build/" not in m.group(2):
                frames.append(f"{m.group(2)}  {m.group(1)}")
        frames = frames[:4]
        where = "\n    ".join(frames) if frames else "\n    ".join(lines[-15:])
        self.restart()
        return (
            f"SERVER CRASHED {when}: {case}\n  exit status {code}; request body: {abbrev(body, 300)}\n"
            f"  {' / '.join(fatal[:2]) or '(no Fatal error line)'}\n    {where}"
        )

    def run(self, f: Field, v: Value) -> list[str]:
        """Send one case; return its problems (empty when the reply is a Kinesis answer)."""
        case = f"{f.name} = {v.label}"
        problems: list[str] = []
        if not self.server.alive():
            problems.append(self._crash(self.last, self.last_body, f"after the request before ({case})"))
        try:
            body = f.body(self.world, v.raw())
        except Exception as e:  # the fixture calls failed: is the server gone?
            if self._exited(15.0):
                return problems + [self._crash(f"fixture setup for {case}", b"", "while setting up fixtures")]
            raise AssertionError(f"fixture setup for {case} failed: {e!r}") from e
        self.last, self.last_body = case, body
        deadline = time.monotonic() + 8.0
        timeout = 60.0 if len(body) > 1_000_000 else 15.0
        retries = 0
        while True:
            self.requests += 1
            try:
                reply = post(self.server.endpoint, f.op, body, timeout, f.frames)
            except (OSError, http.client.HTTPException) as e:
                if self._exited(15.0):  # the backtracer takes a few seconds
                    return problems + [self._crash(case, body, "answering")]
                return problems + [f"{case}: no reply ({e!r}) though the server is still running"]
            if not self.server.alive():
                return problems + [self._crash(case, body, "right after answering")]
            if not is_transient(reply) or time.monotonic() > deadline:
                break
            retries += 1
            time.sleep(0.1)
        problems += [f"{case}: {p}" for p in reply_problems(f.op, reply, v.expect, len(body))]
        if self.trace:
            self.trace.write(f"{time.monotonic():.3f}\t{case}\t{reply.status}\t{retries}\t{abbrev(reply.body, 200)}\n")
        if reply.status == 200 and f.op == "SubscribeToShard":
            self.world.subscribed()
        if reply.status == 200 and f.op in MUTATES:
            try:
                self.world.changed(MUTATES[f.op])
            except Exception as e:
                if self._exited(15.0):
                    problems.append(self._crash(f"settling after {case}", b"", "while waiting for ACTIVE"))
                else:
                    problems.append(f"{case}: the stream did not settle after success: {e!r}")
        return problems


@pytest.fixture(scope="module")
def harness():
    failure = None
    try:
        h = Harness()
    except RuntimeError as e:
        failure = str(e)
    if failure is not None:
        pytest.fail(f"could not start ktop: {failure}", pytrace=False)
    try:
        yield h
    finally:
        h.stop()


def run_all(h: Harness, cases: list[tuple[Field, Value]]) -> None:
    problems = []
    for f, v in cases:
        problems += h.run(f, v)
    if problems:
        pytest.fail(f"{len(problems)} bad answer(s):\n" + "\n".join(problems), pytrace=False)


def interleaved(cases: list[tuple[Field, Value]]) -> list[tuple[Field, Value]]:
    """Round-robin over operations, so that no operation's quota runs dry."""
    by_op: dict[str, list] = {}
    for c in cases:
        by_op.setdefault(c[0].op, []).append(c)
    queues = list(by_op.values())
    out = []
    while queues:
        for q in queues:
            out.append(q.pop(0))
        queues = [q for q in queues if q]
    return out


def value_groups(kinds: set[str], include_structural: bool = False) -> dict[str, list[tuple[Field, Value]]]:
    """label -> every (field, value) with that label among fields of these kinds."""
    groups: dict[str, list] = {}
    structural = {v.label for v in STRUCTURAL}
    for f in FIELDS:
        if f.kind not in kinds:
            continue
        for v in f.values():
            if (v.label in structural) != include_structural:
                continue
            groups.setdefault(v.group, []).append((f, v))
    return {k: interleaved(v) for k, v in groups.items()}


def params(groups: dict) -> list:
    return [pytest.param(label, id=label) for label in groups]


NUMBER_GROUPS = value_groups({"number"})
STRING_GROUPS = value_groups({"string"})
KEY_GROUPS = value_groups({"hashkey", "seqnum"})
BLOB_GROUPS = value_groups({"blob"})
OTHER_GROUPS = value_groups({"enum", "bool", "tagmap", "strlist", "records", "object"})
STRUCTURAL_GROUPS = value_groups({f.kind for f in FIELDS}, include_structural=True)


@pytest.mark.parametrize("label", params(NUMBER_GROUPS))
def test_number_fields(harness, label):
    """Integer, Long and Timestamp fields get one boundary number each."""
    run_all(harness, NUMBER_GROUPS[label])


@pytest.mark.parametrize("label", params(STRING_GROUPS))
def test_string_fields(harness, label):
    run_all(harness, STRING_GROUPS[label])


@pytest.mark.parametrize("label", params(KEY_GROUPS))
def test_hash_key_and_sequence_number_fields(harness, label):
    run_all(harness, KEY_GROUPS[label])


@pytest.mark.parametrize("label", params(BLOB_GROUPS))
def test_blob_fields(harness, label):
    run_all(harness, BLOB_GROUPS[label])


@pytest.mark.parametrize("label", params(OTHER_GROUPS))
def test_enum_bool_and_collection_fields(harness, label):
    run_all(harness, OTHER_GROUPS[label])


@pytest.mark.parametrize("label", params(STRUCTURAL_GROUPS))
def test_wrong_json_kind_in_every_field(harness, label):
    run_all(harness, STRUCTURAL_GROUPS[label])


WHOLE_BODIES = [
    V("empty body", Raw(b"")), V("null", Raw("null")), V("array", Raw("[]")), V("string", Raw('"x"')),
    V("number 1e999999", Raw("1e999999")), V("NaN", Raw("NaN"), SER), V("unknown member 1e999999",
                                                                       Raw('{"Foo":1e999999}')),
    V("duplicate members", Raw('{"Limit":1,"Limit":1e999999}')),
    V("nested arrays x200", Raw('{"Limit":' + "[" * 200 + "]" * 200 + "}")),
    V("nested objects x200", Raw('{"Limit":' + '{"a":' * 200 + "1" + "}" * 200 + "}")),
]
OPS = sorted(BASES)


class WholeBody(Field):
    """The value is the whole request body."""

    @property
    def name(self) -> str:
        return f"{self.op} <body>"

    def body(self, w: World, raw: Raw) -> bytes:
        return raw.text


@pytest.mark.parametrize("value", [pytest.param(v, id=v.label) for v in WHOLE_BODIES])
def test_whole_body(harness, value):
    """Every operation, including those without input (DescribeLimits, DescribeAccountSettings)."""
    run_all(harness, [(WholeBody(op, ("<body>",), "string"), value) for op in OPS])


# --------------------------------------------------------------------------
# hypothesis: random numbers, text and bytes in random fields

json_numbers = st.one_of(
    st.integers(min_value=-(2**300), max_value=2**300).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.tuples(st.integers(-9, 9), st.integers(-400, 400)).map(lambda t: f"{t[0]}e{t[1]}"),
    st.decimals(allow_nan=False, allow_infinity=False, places=20).map(str),
).map(lambda s: V(f"random number {s[:60]}", Raw(s)))
json_texts = st.text(max_size=300).map(lambda s: V(f"random text {s[:40]!r}", s))
json_digits = st.integers(min_value=-(10**60), max_value=10**200).map(
    lambda n: V(f"random digits {str(n)[:60]}", str(n)))
json_blobs = st.binary(max_size=200).map(lambda b: V(f"random base64 of {len(b)} bytes", base64.b64encode(b).decode()))
json_mangled = st.binary(max_size=64).map(
    lambda b: V(f"random raw bytes {b[:30]!r}", Raw(b'"' + b.replace(b'"', b"") + b'"')))

HYPO_FIELDS = [f for f in FIELDS if f.path[-1] is not KEY]


@st.composite
def random_cases(draw):
    f = draw(st.sampled_from(HYPO_FIELDS))
    catalogue = st.sampled_from([v for v in f.values() if not v.heavy])
    kind_values = {
        "number": json_numbers, "string": json_texts | json_mangled, "hashkey": json_digits | json_texts,
        "seqnum": json_digits | json_texts, "blob": json_blobs | json_texts,
    }.get(f.kind, json_texts)
    return f, draw(catalogue | kind_values | json_numbers)


def test_random_values(harness):
    problems: list[str] = []

    @settings(max_examples=200, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(case=random_cases())
    def run(case):
        problems.extend(harness.run(*case))

    run()
    if problems:
        pytest.fail(f"{len(problems)} bad answer(s):\n" + "\n".join(problems), pytrace=False)


# --------------------------------------------------------------------------
# reading back what was stored, and the checker itself


class Fixed(Field):
    """A request built whole by `base` (no value is substituted)."""

    @property
    def name(self) -> str:
        return f"{self.op}{self.variant}"

    def body(self, w: World, raw: Raw) -> bytes:
        return render(self.base(w))


def test_stored_values_read_back(harness):
    """What the cases above stored (odd partition keys, tags, key ids, consumer
    names, split and merged shards) must come back out as Kinesis answers: the
    output encoders see the boundary values too."""
    w = harness.world
    names = [n for page in w.client.get_paginator("list_streams").paginate() for n in page["StreamNames"]]
    cases: list[Field] = []
    for n in names:
        arn = kwire.stream_arn(n)
        cases += [
            Fixed("DescribeStreamSummary", (), "read", f" of {n}", base=lambda w, n=n: {"StreamName": n}),
            Fixed("ListShards", (), "read", f" of {n}", base=lambda w, n=n: {"StreamName": n}),
            Fixed("ListTagsForResource", (), "read", f" of {n}", base=lambda w, a=arn: {"ResourceARN": a}),
        ]
        if not n.startswith("bnd-cs-"):
            cases.append(Fixed("DescribeStream", (), "read", f" of {n}", base=lambda w, n=n: {"StreamName": n}))
    cases += [
        Fixed("ListTagsForStream", (), "read", " of main", base=lambda w: {"StreamName": w.main}),
        Fixed("ListStreamConsumers", (), "read", " of main", base=lambda w: {"StreamARN": w.main_arn}),
        Fixed("DescribeAccountSettings", (), "read", base=lambda w: {}),
        Fixed("DescribeLimits", (), "read", base=lambda w: {}),
    ]
    for shard in (0, 1):
        sid = kwire.shard_id(shard)
        it = w.client.get_shard_iterator(StreamName=w.main, ShardId=sid, ShardIteratorType="TRIM_HORIZON")
        cases.append(Fixed("GetRecords", (), "read", f" of main {sid}",
                           base=lambda w, i=it["ShardIterator"]: {"ShardIterator": i, "Limit": 10000}))
        cases.append(Fixed("SubscribeToShard", (), "read", f" of main from TRIM_HORIZON #{shard}", frames=2,
                           base=lambda w: subscribe_base({"Type": "TRIM_HORIZON"})(w)))
    run_all(harness, [(f, V("stored", None)) for f in interleaved_fields(cases)])


def interleaved_fields(fs: list[Field]) -> list[Field]:
    return [f for f, _ in interleaved([(f, None) for f in fs])]


def test_checker_rejects_non_kinesis_answers():
    """The reply checks themselves can fail: a 500, an error without a message
    or with the wrong status, a success of the wrong shape, a broken event stream."""
    ok = {"content-type": JSON11}
    bad = [
        ("ListStreams", Reply(500, ok, b'{"__type":"InternalFailureException","message":"x"}')),
        ("ListStreams", Reply(502, {}, b"Bad Gateway")),
        ("ListStreams", Reply(400, ok, b'{"__type":"ValidationException"}')),
        ("ListStreams", Reply(400, ok, b'{"message":"no type"}')),
        ("ListStreams", Reply(403, ok, b'{"__type":"ValidationException","message":"x"}')),
        ("ListStreams", Reply(400, ok, b'{"__type":"NoSuchThing","message":"x"}')),
        ("ListStreams", Reply(400, {"content-type": "text/plain"}, b"oops")),
        ("ListStreams", Reply(200, ok, b'{"StreamNames":[]}')),
        ("PutRecord", Reply(200, ok, b'{"ShardId":"shardId-000000000000","SequenceNumber":"-1"}')),
        ("DescribeStreamSummary", Reply(200, ok, b'{"StreamDescriptionSummary":{"StreamCreationTimestamp":1e999}}')),
        ("CreateStream", Reply(200, ok, b'{"x":1}')),
        ("SubscribeToShard", Reply(200, {"content-type": EVENTSTREAM}, b"", b"\x00" * 20)),
    ]
    for op, reply in bad:
        assert reply_problems(op, reply, None, 10), (op, reply)
    assert reply_problems("ListStreams", Reply(400, ok, b'{"__type":"ValidationException","message":"x"}'), SER, 10)
    good = [
        ("ListStreams", Reply(400, ok, b'{"__type":"SerializationException"}')),
        ("ListStreams", Reply(400, ok, b'{"__type":"LimitExceededException","message":"Rate exceeded"}')),
        ("CreateStream", Reply(200, ok, b"")),
        ("ListStreams", Reply(200, ok, b'{"StreamNames":["a"],"HasMoreStreams":false,"StreamSummaries":[]}')),
    ]
    for op, reply in good:
        assert not reply_problems(op, reply, None, 10), (op, reply, reply_problems(op, reply, None, 10))



def test_no_crash_in_the_whole_module(harness):
    """Last: the server is alive and no request of this module killed it."""
    if not harness.server.alive():
        harness.run(FIELDS[0], NUMBERS[0])
    summary = "\n".join(f"  {c.case}  body={abbrev(c.body, 200)}" for c in harness.crashes)
    assert not harness.crashes, f"{len(harness.crashes)} request(s) crashed ktop serve:\n{summary}"
