"""ktop's own GET /metrics (not a Kinesis API), read as Prometheus reads it.

Starts its own `ktop serve`, so a scrape right after start can be checked, puts
records with boto3 and parses the exposition with prometheus_client's parser:
counters are `_total` counters equal to what was put, levels are gauges, every
family is declared once and no series appears twice.
"""

from __future__ import annotations

import os
import re
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

import kwire

if os.environ.get("KTOP_ENDPOINT"):
    pytest.skip("GET /metrics is ktop's, not part of the Kinesis API", allow_module_level=True)

NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
ODD_KEY = 'odd "key" \\ with\nnewline\r\nand CR'


@pytest.fixture(scope="module")
def server():
    s = kwire.ServerProcess(["--limits", "aws"])
    try:
        yield s
    finally:
        s.stop()


def scrape(endpoint: str) -> str:
    with urllib.request.urlopen(endpoint + "/metrics", timeout=5) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return r.read().decode("utf-8")


def parse(text: str) -> dict:
    """Families by name, after the checks Prometheus' own scraper would make."""
    families = {f.name: f for f in text_string_to_metric_families(text)}
    declared = re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M)
    helps = re.findall(r"^# HELP (\S+) ", text, re.M)
    assert len(declared) == len({n for n, _ in declared}), "a family declared twice"
    assert [n for n, _ in declared] == helps, "every family has one HELP then one TYPE"
    series = set()
    for f in families.values():
        assert NAME.match(f.name), f.name
        assert f.type in ("counter", "gauge", "summary"), (f.name, f.type)
        assert f.documentation, f"{f.name} has no HELP"
        for s in f.samples:
            assert NAME.match(s.name), s.name
            if f.type == "counter":
                assert s.name == f.name + "_total", s.name
            key = (s.name, tuple(sorted(s.labels.items())))
            assert key not in series, f"duplicate series {key}"
            series.add(key)
    # Families are contiguous: the parser would have split an interleaved one into two.
    assert len(families) == len(declared)
    return families


def samples(families: dict, name: str, **labels) -> dict:
    """Samples of the family named `name` (a sample name) whose labels include `labels`, by shard."""
    out = {}
    for f in families.values():
        for s in f.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                out[s.labels.get("shard")] = s.value
    return out


def test_a_scrape_right_after_start_is_not_empty_and_parses(server):
    text = scrape(server.endpoint)
    assert text.strip(), "empty /metrics before the first tick"
    families = parse(text)
    assert families["ktop_limits_info"].type == "gauge"
    assert families["ktop_retained_bytes"].type == "gauge"
    assert families["ktop_limits_info"].samples[0].labels == {"profile": "aws", "enforced": "true"}


def test_counters_equal_what_was_put_and_never_decrease(server):
    kinesis = kwire.make_client(server.endpoint)
    name = kwire.unique_name("metrics")
    kinesis.create_stream(StreamName=name, ShardCount=2)
    kwire.wait_stream_status(kinesis, name)
    shards = kinesis.list_shards(StreamName=name)["Shards"]

    expected = {s["ShardId"]: [0, 0] for s in shards}  # records, bytes

    def put(n: int, size: int) -> None:
        entries = [{"Data": b"x" * size, "PartitionKey": f"k{i}-{n}"} for i in range(n)]
        entries.append({"Data": b"y" * 3, "PartitionKey": ODD_KEY})
        out = kinesis.put_records(StreamName=name, Records=entries)
        assert out.get("FailedRecordCount", 0) == 0
        for e, r in zip(entries, out["Records"]):
            expected[r["ShardId"]][0] += 1
            expected[r["ShardId"]][1] += len(e["Data"]) + len(e["PartitionKey"].encode("utf-8"))
            assert r["ShardId"] == kwire.shard_for_hash(shards, kwire.md5_hash_key(e["PartitionKey"]))

    def settled(want_records: int) -> dict:
        """The first scrape whose stream counters have caught up with the puts (the ticker samples once a second)."""
        deadline = time.monotonic() + 10
        while True:
            families = parse(scrape(server.endpoint))
            got = samples(families, "ktop_stream_put_records_successful_records_total", stream=name)
            if got.get(None) == want_records or time.monotonic() > deadline:
                return families
            time.sleep(0.2)

    put(200, 100)
    first = settled(201)
    for family in (
        "ktop_shard_incoming_records",
        "ktop_shard_incoming_bytes",
        "ktop_stream_put_records_successful_records",
        "ktop_shard_write_provisioned_throughput_exceeded",
    ):
        assert first[family].type == "counter", family
    for family in (
        "ktop_shard_open",
        "ktop_stream_open_shards",
        "ktop_shard_iterator_age_seconds",
        "ktop_retained_bytes",
        "ktop_stream_cost_hourly_usd",
        "ktop_stream_skew_peak_to_average",
    ):
        assert first[family].type == "gauge", family
    assert not any(n.endswith(("_per_second", "_milliseconds")) for n in first), "rates and milliseconds are gone"

    records = samples(first, "ktop_shard_incoming_records_total", stream=name)
    bytes_ = samples(first, "ktop_shard_incoming_bytes_total", stream=name)
    assert records == {k: v[0] for k, v in expected.items()}
    assert bytes_ == {k: v[1] for k, v in expected.items()}
    assert samples(first, "ktop_stream_put_records_total_records_total", stream=name) == {None: 201}
    assert samples(first, "ktop_stream_open_shards", stream=name) == {None: 2}
    assert set(samples(first, "ktop_shard_open", stream=name, region=kwire.REGION, account=kwire.ACCOUNT)) == set(
        expected
    )

    put(50, 1000)
    kinesis.put_record(StreamName=name, Data=b"z" * 7, PartitionKey="single")
    single = kwire.shard_for_hash(shards, kwire.md5_hash_key("single"))
    expected[single][0] += 1
    expected[single][1] += 7 + len("single")
    second = settled(252)
    assert samples(second, "ktop_shard_incoming_records_total", stream=name) == {k: v[0] for k, v in expected.items()}
    assert samples(second, "ktop_shard_incoming_bytes_total", stream=name) == {k: v[1] for k, v in expected.items()}
    assert samples(second, "ktop_stream_put_record_success_total", stream=name) == {None: 1}
    for f in first.values():
        if f.type != "counter":
            continue
        for s in f.samples:
            later = [t.value for t in second[f.name].samples if t.labels == s.labels]
            assert later and later[0] >= s.value, f"{s.name}{s.labels} went from {s.value} to {later}"

    # The odd partition key comes back intact through the label escaping (it is the hottest key of its shard
    # only if the last complete second saw it, so look for it over a few scrapes; a loaded machine may need many, and
    # a scrape with no hot key at all has no such family).
    deadline = time.monotonic() + 60
    keys = set()
    while ODD_KEY not in keys and time.monotonic() < deadline:
        kinesis.put_records(StreamName=name, Records=[{"Data": b"q", "PartitionKey": ODD_KEY}] * 20)
        time.sleep(1.1)
        fam = parse(scrape(server.endpoint))
        hot = fam.get("ktop_shard_hot_key_records")
        keys = {s.labels["key"] for s in (hot.samples if hot else []) if s.labels["stream"] == name}
    assert ODD_KEY in keys
    kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)
