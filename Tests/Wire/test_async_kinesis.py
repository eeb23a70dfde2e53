"""A third-party client: async-kinesis (aiobotocore) producing and consuming
through the server. Skipped when async-kinesis is not installed
(`pip install async-kinesis "botocore==<the installed version>"`: its
aiobotocore dependency pins botocore, so keep boto3's botocore in place)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

import kwire

kinesis_lib = pytest.importorskip(
    "kinesis", reason="async-kinesis is not installed (pip install async-kinesis)"
)
aio_session = pytest.importorskip("aiobotocore.session", reason="aiobotocore is not installed")


def session():
    s = aio_session.AioSession()
    s.set_credentials(kwire.ACCESS_KEY, kwire.SECRET_KEY)
    return s


async def produce_and_consume(endpoint, name, items):
    async with kinesis_lib.Producer(
        stream_name=name, session=session(), endpoint_url=endpoint, region_name=kwire.REGION, buffer_time=0.05
    ) as producer:
        for item in items:
            await producer.put(item)
        await producer.flush()

    got = []
    deadline = time.monotonic() + 20
    async with kinesis_lib.Consumer(
        stream_name=name,
        session=session(),
        endpoint_url=endpoint,
        region_name=kwire.REGION,
        iterator_type="TRIM_HORIZON",
        sleep_time_no_records=0.2,
        idle_timeout=2.0,
    ) as consumer:
        while len(got) < len(items) and time.monotonic() < deadline:
            async for item in consumer:
                got.append(item)
                if len(got) >= len(items):
                    break
    return got


def test_async_kinesis_producer_consumer(endpoint, kinesis, make_stream):
    name = make_stream(shards=2)
    items = [{"n": i, "text": f"item-{i}"} for i in range(50)]
    got = asyncio.run(produce_and_consume(endpoint, name, items))
    assert sorted(got, key=lambda x: x["n"]) == items
    # its default JsonProcessor writes one JSON document per Kinesis record
    raw = []
    for shard in (kwire.shard_id(0), kwire.shard_id(1)):
        recs, _ = kwire.read_shard_fully(kinesis, name, shard)
        raw.extend(json.loads(r["Data"]) for r in recs)
    assert sorted(raw, key=lambda x: x["n"]) == items
