"""KPL aggregation: ktop's format against the reference library aws-kinesis-agg.

`ktop kpl encode` turns user records into one aggregated Kinesis record and
`ktop kpl decode` turns one back into user records (JSON on stdin/stdout).
aws-kinesis-agg (PyPI `aws-kinesis-agg`, awslabs/kinesis-aggregation) must read
what ktop writes and ktop must read what it writes, record for record.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import subprocess

import pytest

import kwire  # noqa: E402

agg = pytest.importorskip(
    "aws_kinesis_agg",
    reason="aws-kinesis-agg is not installed (pip install aws-kinesis-agg); "
    "the Swift KPLTests check the format by hand",
)
from aws_kinesis_agg.aggregator import RecordAggregator  # noqa: E402
from aws_kinesis_agg.deaggregator import deaggregate_records  # noqa: E402


def ktop_kpl(ktop_bin: str, verb: str, payload: dict) -> dict:
    p = subprocess.run([ktop_bin, "kpl", verb], input=json.dumps(payload), capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def user_records(n: int, seed: int) -> list[tuple[str, str | None, bytes]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        pk = f"user-{rng.randrange(20)}"
        ehk = str(rng.randrange(2**128)) if i % 4 == 0 else None
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
        out.append((pk, ehk, data))
    return out


def test_aggregate_written_by_ktop_is_read_by_aws_kinesis_agg(ktop_bin):
    users = user_records(150, seed=1)
    out = ktop_kpl(ktop_bin, "encode", {"records": [
        {"partitionKey": pk, **({"explicitHashKey": ehk} if ehk else {}), "data": base64.b64encode(d).decode()}
        for pk, ehk, d in users
    ]})
    blob = base64.b64decode(out["data"])
    assert blob[:4] == b"\xf3\x89\x9a\xc2"
    assert blob[-16:] == hashlib.md5(blob[4:-16]).digest()
    assert out["partitionKey"] == users[0][0]
    # The outer record is routed by the first user record's hash key.
    first_hash = users[0][1] or str(int.from_bytes(hashlib.md5(users[0][0].encode()).digest(), "big"))
    assert out["explicitHashKey"] == first_hash

    kinesis_record = {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": out["partitionKey"],
            "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
            "data": out["data"],
            "approximateArrivalTimestamp": 1545084650.987,
        }
    }
    got = deaggregate_records([kinesis_record])
    assert len(got) == len(users)
    for (pk, ehk, data), r in zip(users, got):
        assert r["kinesis"]["partitionKey"] == pk
        assert base64.b64decode(r["kinesis"]["data"]) == data
        if ehk is not None:
            assert r["kinesis"]["explicitHashKey"] == ehk
    assert [r["kinesis"]["subSequenceNumber"] for r in got] == list(range(len(users)))


def test_aggregate_written_by_aws_kinesis_agg_is_read_by_ktop(ktop_bin):
    users = user_records(120, seed=2)
    aggregator = RecordAggregator()
    for pk, ehk, data in users:
        assert aggregator.add_user_record(pk, data, ehk) is None  # everything fits in one aggregate
    pk, ehk, blob = aggregator.clear_and_get().get_contents()
    out = ktop_kpl(ktop_bin, "decode", {"data": base64.b64encode(blob).decode()})
    assert out["aggregated"] is True
    records = out["records"]
    assert [r["partitionKey"] for r in records] == [u[0] for u in users]
    assert [base64.b64decode(r["data"]) for r in records] == [u[2] for u in users]
    for (upk, uehk, _), r in zip(users, records):
        if uehk is not None:
            assert r["explicitHashKey"] == uehk
    assert [r["subSequenceNumber"] for r in records] == list(range(len(users)))


def test_a_plain_record_passes_through_decode(ktop_bin):
    out = ktop_kpl(ktop_bin, "decode", {"data": base64.b64encode(b"just bytes").decode(), "partitionKey": "k"})
    assert out == {
        "aggregated": False,
        "records": [{"partitionKey": "k", "data": base64.b64encode(b"just bytes").decode(), "subSequenceNumber": 0}],
    }


def test_bad_input_is_one_clear_line(ktop_bin):
    p = subprocess.run([ktop_bin, "kpl", "decode"], input="{bad", capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    assert "cannot read the JSON on stdin" in p.stderr
    assert "Usage" not in p.stderr
