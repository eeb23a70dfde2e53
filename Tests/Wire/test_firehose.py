"""Firehose (`Firehose_20150804.*`) on `ktop serve`, driven by boto3's `firehose` client.

Each test starts from the module's server, whose --s3-dir is a temporary folder, and waits for
delivery with a bounded poll: buffers use IntervalInSeconds 0 or 1 (the serve loop ticks once a
second), so an object lands within a few seconds. Every wait has a deadline.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import boto3
import botocore.config
import pytest

import kwire

if os.environ.get("KTOP_ENDPOINT"):
    pytest.skip("Firehose is ktop's own; an external endpoint may not have it", allow_module_level=True)

ROLE = "arn:aws:iam::123456789012:role/firehose"
ACCOUNT = "123456789012"

PROCESSOR = r"""
import base64, json, sys
batch = json.load(sys.stdin)
out = []
for r in batch["records"]:
    data = base64.b64decode(r["data"])
    if data.startswith(b"drop"):
        out.append({"recordId": r["recordId"], "result": "Dropped"})
    elif data.startswith(b"fail"):
        out.append({"recordId": r["recordId"], "result": "ProcessingFailed", "data": r["data"]})
    else:
        out.append({"recordId": r["recordId"], "result": "Ok",
                    "data": base64.b64encode(data.upper()).decode()})
json.dump({"records": out}, sys.stdout)
"""


@pytest.fixture(scope="module")
def s3dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("s3")


@pytest.fixture(scope="module")
def server(s3dir, tmp_path_factory):
    script = tmp_path_factory.mktemp("proc") / "upcase.py"
    script.write_text(PROCESSOR)
    s = kwire.ServerProcess([
        "--limits", "aws", "--s3-dir", str(s3dir),
        "--processor", f"upcase={sys.executable} {script}",
        "--processor", "crash=exit 3",
    ])
    try:
        yield s
    finally:
        s.stop()


def client_for(endpoint: str, service: str = "firehose"):
    return boto3.session.Session().client(
        service, endpoint_url=endpoint, region_name=kwire.REGION,
        aws_access_key_id=kwire.ACCESS_KEY, aws_secret_access_key=kwire.SECRET_KEY,
        config=botocore.config.Config(retries={"total_max_attempts": 1}),
    )


@pytest.fixture(scope="module")
def fh(server):
    return client_for(server.endpoint)


def s3_config(bucket: str, **extra) -> dict:
    cfg = {"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{bucket}",
           "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 1}}
    cfg.update(extra)
    return cfg


def create(fh, name: str, bucket: str, **extra) -> str:
    out = fh.create_delivery_stream(DeliveryStreamName=name,
                                    ExtendedS3DestinationConfiguration=s3_config(bucket, **extra))
    return out["DeliveryStreamARN"]


def objects(root: Path) -> list[Path]:
    if not root.exists():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file())


def wait_objects(root: Path, count: int = 1, timeout: float = 10.0) -> list[Path]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = objects(root)
        if len(found) >= count:
            return found
        time.sleep(0.2)
    raise AssertionError(f"expected {count} objects under {root}, found {objects(root)}")


def test_create_describe_list_delete_round_trip(fh):
    name = kwire.unique_name("fh")
    arn = create(fh, name, "b-rt", Prefix="logs/", CompressionFormat="GZIP")
    assert arn == f"arn:aws:firehose:{kwire.REGION}:{ACCOUNT}:deliverystream/{name}"
    d = fh.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
    assert d["DeliveryStreamStatus"] == "ACTIVE"
    assert d["DeliveryStreamType"] == "DirectPut"
    assert d["VersionId"] == "1"
    dest = d["Destinations"][0]
    assert dest["DestinationId"] == "destinationId-000000000001"
    ext = dest["ExtendedS3DestinationDescription"]
    assert ext["BucketARN"] == "arn:aws:s3:::b-rt"
    assert ext["Prefix"] == "logs/"
    assert ext["CompressionFormat"] == "GZIP"
    assert ext["BufferingHints"] == {"SizeInMBs": 1, "IntervalInSeconds": 1}
    assert name in fh.list_delivery_streams(Limit=10000)["DeliveryStreamNames"]
    kwire.expect_error(lambda: create(fh, name, "b-rt"), "ResourceInUseException",
                       f"Firehose {name} under accountId {ACCOUNT} already exists")
    fh.delete_delivery_stream(DeliveryStreamName=name)
    assert name not in fh.list_delivery_streams(Limit=10000)["DeliveryStreamNames"]
    kwire.expect_error(lambda: fh.describe_delivery_stream(DeliveryStreamName=name),
                       "ResourceNotFoundException", f"Firehose {name} under account {ACCOUNT} not found.")
    kwire.expect_error(lambda: fh.delete_delivery_stream(DeliveryStreamName=name), "ResourceNotFoundException")


def test_defaults_and_older_s3_destination(fh):
    name = kwire.unique_name("fh")
    fh.create_delivery_stream(DeliveryStreamName=name, S3DestinationConfiguration={
        "RoleARN": ROLE, "BucketARN": "arn:aws:s3:::b-old"})
    d = fh.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]["Destinations"][0]
    assert "ExtendedS3DestinationDescription" not in d
    assert d["S3DestinationDescription"]["BufferingHints"] == {"SizeInMBs": 5, "IntervalInSeconds": 300}
    assert d["S3DestinationDescription"]["CompressionFormat"] == "UNCOMPRESSED"
    fh.delete_delivery_stream(DeliveryStreamName=name)


def test_list_paging(fh):
    names = sorted(kwire.unique_name("page") for _ in range(3))
    for n in names:
        create(fh, n, "b-page")
    try:
        listed = fh.list_delivery_streams(Limit=10000)["DeliveryStreamNames"]
        assert [n for n in listed if n in names] == names
        first = fh.list_delivery_streams(Limit=1, ExclusiveStartDeliveryStreamName=names[0])
        assert first["DeliveryStreamNames"][0] > names[0]
        assert first["HasMoreDeliveryStreams"] in (True, False)
    finally:
        for n in names:
            fh.delete_delivery_stream(DeliveryStreamName=n)


def test_create_errors(fh):
    name = kwire.unique_name("fh")

    def bad(code, message=None, **kw):
        kw.setdefault("ExtendedS3DestinationConfiguration", s3_config("b-err"))
        return kwire.expect_error(lambda: fh.create_delivery_stream(DeliveryStreamName=name, **kw), code, message)

    bad("InvalidArgumentException", ExtendedS3DestinationConfiguration=s3_config(
        "b-err", BufferingHints={"SizeInMBs": 1}))
    bad("ValidationException", ExtendedS3DestinationConfiguration=s3_config(
        "b-err", BufferingHints={"SizeInMBs": 129, "IntervalInSeconds": 60}))
    bad("ValidationException", ExtendedS3DestinationConfiguration=s3_config(
        "b-err", BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 901}))
    bad("InvalidArgumentException", ExtendedS3DestinationConfiguration=s3_config("b-err", CompressionFormat="Snappy"))
    bad("InvalidArgumentException", ExtendedS3DestinationConfiguration=s3_config(
        "b-err", Prefix="x/!{timestamp:yyyy}/"))  # expressions need ErrorOutputPrefix
    bad("InvalidArgumentException", ExtendedS3DestinationConfiguration=s3_config(
        "b-err", DataFormatConversionConfiguration={"Enabled": True}))
    bad("ValidationException", ExtendedS3DestinationConfiguration=s3_config("b-err", BucketARN="not-an-arn"))
    bad("InvalidArgumentException", ExtendedS3DestinationConfiguration=s3_config(
        "b-err", ProcessingConfiguration={"Enabled": True, "Processors": [{"Type": "Lambda", "Parameters": [
            {"ParameterName": "LambdaArn",
             "ParameterValue": "arn:aws:lambda:us-east-1:123456789012:function:nosuch"}]}]}))
    # The boundaries themselves are accepted.
    for hints in ({"SizeInMBs": 128, "IntervalInSeconds": 900}, {"SizeInMBs": 1, "IntervalInSeconds": 0}):
        n = kwire.unique_name("edge")
        create(fh, n, "b-err", BufferingHints=hints)
        fh.delete_delivery_stream(DeliveryStreamName=n)


def test_put_record_limits_and_errors(fh):
    name = kwire.unique_name("fh")
    create(fh, name, "b-limits", BufferingHints={"SizeInMBs": 128, "IntervalInSeconds": 900})
    try:
        out = fh.put_record(DeliveryStreamName=name, Record={"Data": b"x" * 1_024_000})
        assert len(out["RecordId"]) >= 32 and out["Encrypted"] is False
        kwire.expect_error(lambda: fh.put_record(DeliveryStreamName=name, Record={"Data": b"x" * 1_024_001}),
                           "ValidationException")
        records = [{"Data": b"r"} for _ in range(500)]
        out = fh.put_record_batch(DeliveryStreamName=name, Records=records)
        assert out["FailedPutCount"] == 0 and len(out["RequestResponses"]) == 500
        kwire.expect_error(lambda: fh.put_record_batch(DeliveryStreamName=name, Records=records + [{"Data": b"r"}]),
                           "ValidationException")
        # 4 MiB exactly: four records at the 1,024,000-byte maximum and one of 98,304 bytes.
        four_mib = [{"Data": b"y" * 1_024_000} for _ in range(4)] + [{"Data": b"y" * 98_304}]
        assert fh.put_record_batch(DeliveryStreamName=name, Records=four_mib)["FailedPutCount"] == 0
        over = four_mib[:4] + [{"Data": b"y" * 98_305}]
        kwire.expect_error(lambda: fh.put_record_batch(DeliveryStreamName=name, Records=over),
                           "InvalidArgumentException", "Records size exceeds 4 MB limit")
        kwire.expect_error(lambda: fh.put_record(DeliveryStreamName="nosuch-" + name, Record={"Data": b"x"}),
                           "ResourceNotFoundException")
    finally:
        fh.delete_delivery_stream(DeliveryStreamName=name)


def test_direct_put_throughput_quota_slows_down(fh):
    """5 MiB/s per delivery stream: six 1,000 KiB records in one second exceed it (5 fit only just)."""
    name = kwire.unique_name("fh")
    create(fh, name, "b-quota", BufferingHints={"SizeInMBs": 128, "IntervalInSeconds": 900})
    try:
        big = {"Data": b"z" * 1_000_000}
        out = fh.put_record_batch(DeliveryStreamName=name, Records=[big] * 4)
        out2 = fh.put_record_batch(DeliveryStreamName=name, Records=[big] * 4)
        failed = [e for e in out["RequestResponses"] + out2["RequestResponses"] if "ErrorCode" in e]
        # Both batches may straddle a second boundary; at most 5 of 8 fit in one second, at least one fails
        # unless the second batch started a new second.
        if failed:
            assert all(e["ErrorCode"] == "ServiceUnavailableException" and e["ErrorMessage"] == "Slow down."
                       for e in failed)
            assert out2["FailedPutCount"] + out["FailedPutCount"] == len(failed)
    finally:
        fh.delete_delivery_stream(DeliveryStreamName=name)


def test_every_record_delivered_uncompressed_with_default_layout(fh, s3dir):
    name = kwire.unique_name("fh")
    create(fh, name, "b-plain", BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 1})
    try:
        sent = [f"record-{i}\n".encode() for i in range(1200)]
        fh.put_record(DeliveryStreamName=name, Record={"Data": sent[0]})
        for i in range(1, len(sent), 500):
            out = fh.put_record_batch(DeliveryStreamName=name, Records=[{"Data": d} for d in sent[i:i + 500]])
            assert out["FailedPutCount"] == 0
        root = s3dir / "b-plain"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            got = b"".join(p.read_bytes() for p in sorted(objects(root), key=lambda p: p.name))
            if len(got) >= sum(map(len, sent)):
                break
            time.sleep(0.2)
        paths = objects(root)
        # Records are concatenated with no delimiter added; objects of one stream sort by time in their names.
        assert b"".join(p.read_bytes() for p in paths) == b"".join(sent)
        for p in paths:
            rel = p.relative_to(root).as_posix()
            parts = rel.split("/")
            assert len(parts) == 5, rel  # yyyy/MM/dd/HH/name
            assert [len(x) for x in parts[:4]] == [4, 2, 2, 2]
            assert parts[4].startswith(f"{name}-1-{parts[0]}-{parts[1]}-{parts[2]}-{parts[3]}-")
            assert len(parts[4].rsplit("-", 5)[0]) > 0 and len(parts[4]) == len(name) + 3 + 20 + 36
    finally:
        fh.delete_delivery_stream(DeliveryStreamName=name)


@pytest.mark.parametrize("fmt", ["GZIP", "ZIP"])
def test_compressed_objects_are_readable_by_python(fh, s3dir, fmt):
    name = kwire.unique_name("fh")
    bucket = f"b-{fmt.lower()}"
    create(fh, name, bucket, CompressionFormat=fmt, Prefix="data/!{timestamp:yyyy}/",
           ErrorOutputPrefix="err/!{firehose:error-output-type}/")
    try:
        sent = b"".join(f"{fmt} line {i}\n".encode() for i in range(100))
        fh.put_record(DeliveryStreamName=name, Record={"Data": sent})
        (path,) = wait_objects(s3dir / bucket)
        rel = path.relative_to(s3dir / bucket).as_posix()
        year = rel.split("/")[1]
        assert rel.startswith(f"data/{year}/") and len(year) == 4
        if fmt == "GZIP":
            assert path.name.endswith(".gz")
            assert gzip.decompress(path.read_bytes()) == sent
        else:
            assert path.name.endswith(".zip")
            with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as z:
                (entry,) = z.namelist()
                assert z.read(entry) == sent
    finally:
        fh.delete_delivery_stream(DeliveryStreamName=name)


def test_update_destination_versions(fh, s3dir):
    name = kwire.unique_name("fh")
    create(fh, name, "b-upd1")
    try:
        d = fh.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
        kwire.expect_error(lambda: fh.update_destination(
            DeliveryStreamName=name, CurrentDeliveryStreamVersionId="7", DestinationId="destinationId-000000000001",
            ExtendedS3DestinationUpdate={"Prefix": "new/"}), "ConcurrentModificationException")
        kwire.expect_error(lambda: fh.update_destination(
            DeliveryStreamName=name, CurrentDeliveryStreamVersionId="1", DestinationId="destinationId-9",
            ExtendedS3DestinationUpdate={"Prefix": "new/"}), "InvalidArgumentException")
        fh.update_destination(DeliveryStreamName=name, CurrentDeliveryStreamVersionId=d["VersionId"],
                              DestinationId="destinationId-000000000001",
                              ExtendedS3DestinationUpdate={"BucketARN": "arn:aws:s3:::b-upd2", "Prefix": "new/"})
        d = fh.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
        assert d["VersionId"] == "2"
        assert d["Destinations"][0]["ExtendedS3DestinationDescription"]["Prefix"] == "new/"
        fh.put_record(DeliveryStreamName=name, Record={"Data": b"v2"})
        (path,) = wait_objects(s3dir / "b-upd2")
        assert path.relative_to(s3dir / "b-upd2").as_posix().startswith("new/")
        assert path.name.startswith(f"{name}-2-")
    finally:
        fh.delete_delivery_stream(DeliveryStreamName=name)


def test_tags_and_encryption(fh):
    name = kwire.unique_name("fh")
    fh.create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration=s3_config("b-tags"),
                              Tags=[{"Key": "team", "Value": "a"}])
    try:
        fh.tag_delivery_stream(DeliveryStreamName=name, Tags=[{"Key": "env", "Value": "dev"},
                                                              {"Key": "team", "Value": "b"}])
        tags = fh.list_tags_for_delivery_stream(DeliveryStreamName=name)
        assert tags["Tags"] == [{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "b"}]
        assert tags["HasMoreTags"] is False
        page = fh.list_tags_for_delivery_stream(DeliveryStreamName=name, Limit=1)
        assert page["Tags"] == [{"Key": "env", "Value": "dev"}] and page["HasMoreTags"] is True
        fh.untag_delivery_stream(DeliveryStreamName=name, TagKeys=["env"])
        assert fh.list_tags_for_delivery_stream(DeliveryStreamName=name)["Tags"] == [{"Key": "team", "Value": "b"}]
        kwire.expect_error(lambda: fh.tag_delivery_stream(
            DeliveryStreamName=name, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)]),
            "LimitExceededException")
        kwire.expect_error(lambda: fh.tag_delivery_stream(DeliveryStreamName="nosuch", Tags=[{"Key": "a"}]),
                           "ResourceNotFoundException")

        fh.start_delivery_stream_encryption(DeliveryStreamName=name,
                                            DeliveryStreamEncryptionConfigurationInput={"KeyType": "AWS_OWNED_CMK"})
        enc = fh.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"][
            "DeliveryStreamEncryptionConfiguration"]
        assert enc["Status"] == "ENABLED" and enc["KeyType"] == "AWS_OWNED_CMK"
        assert fh.put_record(DeliveryStreamName=name, Record={"Data": b"e"})["Encrypted"] is True
        kwire.expect_error(lambda: fh.start_delivery_stream_encryption(
            DeliveryStreamName=name, DeliveryStreamEncryptionConfigurationInput={"KeyType": "CUSTOMER_MANAGED_CMK"}),
            "InvalidArgumentException")
        fh.stop_delivery_stream_encryption(DeliveryStreamName=name)
        enc = fh.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"][
            "DeliveryStreamEncryptionConfiguration"]
        assert enc["Status"] == "DISABLED"
    finally:
        fh.delete_delivery_stream(DeliveryStreamName=name)


def test_processor_ok_dropped_failed(fh, s3dir):
    name = kwire.unique_name("fh")
    lam = "arn:aws:lambda:us-east-1:123456789012:function:upcase"
    create(fh, name, "b-proc", ProcessingConfiguration={"Enabled": True, "Processors": [
        {"Type": "Lambda", "Parameters": [{"ParameterName": "LambdaArn", "ParameterValue": lam}]}]})
    try:
        fh.put_record_batch(DeliveryStreamName=name, Records=[
            {"Data": b"keep one\n"}, {"Data": b"drop me\n"}, {"Data": b"fail me\n"}, {"Data": b"keep two\n"}])
        paths = wait_objects(s3dir / "b-proc", 2)
        good = [p for p in paths if not p.relative_to(s3dir / "b-proc").as_posix().startswith("processing-failed/")]
        bad = [p for p in paths if p not in good]
        assert b"".join(p.read_bytes() for p in good) == b"KEEP ONE\nKEEP TWO\n"
        (line,) = bad[0].read_bytes().splitlines()
        doc = json.loads(line)
        assert base64.b64decode(doc["rawData"]) == b"fail me\n"
        assert doc["lambdaArn"] == lam and doc["attemptsMade"] == 1
        assert {"arrivalTimestamp", "errorCode", "errorMessage", "attemptEndingTimestamp"} <= set(doc)
    finally:
        fh.delete_delivery_stream(DeliveryStreamName=name)


def test_processor_crash_sends_batch_to_error_prefix(fh, s3dir):
    name = kwire.unique_name("fh")
    lam = "arn:aws:lambda:us-east-1:123456789012:function:crash"
    create(fh, name, "b-crash", ErrorOutputPrefix="errors/!{firehose:error-output-type}/",
           ProcessingConfiguration={"Enabled": True, "Processors": [
               {"Type": "Lambda", "Parameters": [{"ParameterName": "LambdaArn", "ParameterValue": lam}]}]})
    try:
        fh.put_record(DeliveryStreamName=name, Record={"Data": b"a"})
        fh.put_record(DeliveryStreamName=name, Record={"Data": b"b"})
        (path,) = wait_objects(s3dir / "b-crash")
        assert path.relative_to(s3dir / "b-crash").as_posix().startswith("errors/processing-failed/")
        docs = [json.loads(x) for x in path.read_bytes().splitlines()]
        assert sorted(base64.b64decode(d["rawData"]) for d in docs) == [b"a", b"b"]
        assert all(d["errorCode"] == "Lambda.FunctionError" for d in docs)
    finally:
        fh.delete_delivery_stream(DeliveryStreamName=name)


def test_kinesis_stream_as_source_delivers_what_a_producer_put(server, fh, s3dir):
    kin = kwire.make_client(server.endpoint)
    stream = kwire.unique_name("src")
    kin.create_stream(StreamName=stream, ShardCount=2)
    kwire.wait_stream_status(kin, stream)
    name = kwire.unique_name("fh")
    fh.create_delivery_stream(
        DeliveryStreamName=name, DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": kwire.stream_arn(stream), "RoleARN": ROLE},
        ExtendedS3DestinationConfiguration=s3_config("b-src"))
    try:
        d = fh.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
        assert d["Source"]["KinesisStreamSourceDescription"]["KinesisStreamARN"] == kwire.stream_arn(stream)
        kwire.expect_error(lambda: fh.put_record(DeliveryStreamName=name, Record={"Data": b"x"}),
                           "InvalidArgumentException",
                           "This operation is not permitted on KinesisStreamAsSource delivery stream type.")
        kwire.expect_error(lambda: fh.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"x"}]),
                           "InvalidArgumentException",
                           "This operation is not permitted on KinesisStreamAsSource delivery stream type.")
        kwire.expect_error(lambda: fh.start_delivery_stream_encryption(DeliveryStreamName=name),
                           "InvalidArgumentException")
        sent = [f"k{i}\n".encode() for i in range(50)]
        kin.put_records(StreamName=stream, Records=[{"Data": d, "PartitionKey": str(i)} for i, d in enumerate(sent)])
        deadline = time.monotonic() + 15
        got: list[bytes] = []
        while time.monotonic() < deadline:
            got = [p.read_bytes() for p in objects(s3dir / "b-src")]
            if sum(map(len, got)) >= sum(map(len, sent)):
                break
            time.sleep(0.3)
        # Per shard order is kept, across shards it is not: compare as multisets of lines.
        lines = b"".join(got).splitlines(keepends=True)
        assert sorted(lines) == sorted(sent)
    finally:
        fh.delete_delivery_stream(DeliveryStreamName=name)
        kin.delete_stream(StreamName=stream)


def test_unknown_operation_and_metrics(server, fh):
    status, _, body = kwire.raw_post(server.endpoint, "Firehose_20150804.NoSuchOperation", b"{}")
    assert status == 400 and b"UnknownOperationException" in body
    name = kwire.unique_name("fh")
    create(fh, name, "b-metrics", BufferingHints={"SizeInMBs": 128, "IntervalInSeconds": 900})
    try:
        fh.put_record(DeliveryStreamName=name, Record={"Data": b"12345"})
        with urllib.request.urlopen(server.endpoint + "/metrics", timeout=5) as r:
            text = r.read().decode()
        labels = f'delivery_stream="{name}",region="{kwire.REGION}"'
        assert f"ktop_firehose_incoming_bytes_total{{{labels}}} 5" in text
        assert f"ktop_firehose_buffer_records{{{labels}}} 1" in text
    finally:
        fh.delete_delivery_stream(DeliveryStreamName=name)


def test_more_errors(fh):
    name = kwire.unique_name("fh")
    for call in (lambda: fh.untag_delivery_stream(DeliveryStreamName=name, TagKeys=["a"]),
                 lambda: fh.list_tags_for_delivery_stream(DeliveryStreamName=name),
                 lambda: fh.stop_delivery_stream_encryption(DeliveryStreamName=name),
                 lambda: fh.start_delivery_stream_encryption(DeliveryStreamName=name),
                 lambda: fh.update_destination(DeliveryStreamName=name, CurrentDeliveryStreamVersionId="1",
                                               DestinationId="destinationId-000000000001",
                                               ExtendedS3DestinationUpdate={"Prefix": "p/"})):
        kwire.expect_error(call, "ResourceNotFoundException", f"Firehose {name} under account {ACCOUNT} not found.")
    # A required member missing (sent raw: boto3 would refuse it client-side).
    status, _, body = kwire.raw_post(kwire_endpoint(fh), "Firehose_20150804.PutRecord",
                                     json.dumps({"DeliveryStreamName": name}).encode())
    assert status == 400
    assert json.loads(body) == {"__type": "ValidationException", "message": (
        "1 validation error detected: Value null at 'record' failed to satisfy constraint: Member must not be null")}
    # No destination, or a destination ktop does not deliver to.
    kwire.expect_error(lambda: fh.create_delivery_stream(DeliveryStreamName=name), "InvalidArgumentException")
    kwire.expect_error(lambda: fh.create_delivery_stream(
        DeliveryStreamName=name, HttpEndpointDestinationConfiguration={
            "EndpointConfiguration": {"Url": "https://example.invalid"},
            "S3Configuration": {"RoleARN": ROLE, "BucketARN": "arn:aws:s3:::b"}}), "InvalidArgumentException")
    kwire.expect_error(lambda: fh.create_delivery_stream(
        DeliveryStreamName=name, DeliveryStreamType="KinesisStreamAsSource",
        ExtendedS3DestinationConfiguration=s3_config("b")), "InvalidArgumentException")
    kwire.expect_error(lambda: fh.create_delivery_stream(
        DeliveryStreamName=name, DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": kwire.stream_arn("nosuch-stream"), "RoleARN": ROLE},
        ExtendedS3DestinationConfiguration=s3_config("b")), "InvalidArgumentException")


def kwire_endpoint(client) -> str:
    return client.meta.endpoint_url


def test_fifty_delivery_streams_per_region(tmp_path):
    s = kwire.ServerProcess(["--s3-dir", str(tmp_path)])
    try:
        fh = client_for(s.endpoint)
        for i in range(50):
            create(fh, f"s{i:02d}", "b")
        _, message = kwire.expect_error(lambda: create(fh, "s50", "b"), "LimitExceededException")
        assert message.startswith("You have already consumed your firehose quota of 50 hoses.")
        # Another region has its own 50.
        other = boto3.session.Session().client(
            "firehose", endpoint_url=s.endpoint, region_name="eu-west-1", aws_access_key_id=kwire.ACCESS_KEY,
            aws_secret_access_key=kwire.SECRET_KEY, config=botocore.config.Config(retries={"total_max_attempts": 1}))
        create(other, "s50", "b")
        assert other.list_delivery_streams()["DeliveryStreamNames"] == ["s50"]
    finally:
        s.stop()


def test_sigv4_is_verified_for_service_firehose(tmp_path):
    creds = tmp_path / "creds"
    creds.write_text(f"{kwire.ACCESS_KEY}:{kwire.SECRET_KEY}\n")
    s = kwire.ServerProcess(["--verify-sigv4", "--credentials", str(creds), "--s3-dir", str(tmp_path / "s3")])
    try:
        fh = client_for(s.endpoint)
        assert fh.list_delivery_streams()["DeliveryStreamNames"] == []
        bad = boto3.session.Session().client(
            "firehose", endpoint_url=s.endpoint, region_name=kwire.REGION, aws_access_key_id=kwire.ACCESS_KEY,
            aws_secret_access_key="wrong", config=botocore.config.Config(retries={"total_max_attempts": 1}))
        kwire.expect_error(lambda: bad.list_delivery_streams(), "InvalidSignatureException")
        # A request signed for service 'kinesis' is not good for Firehose.
        status, _, body = kwire.raw_post(s.endpoint, "Firehose_20150804.ListDeliveryStreams", b"{}")
        assert status == 400 and b"Credential should be scoped to correct service: 'firehose'." in body
    finally:
        s.stop()


def test_sigterm_delivers_what_is_buffered(tmp_path):
    s = kwire.ServerProcess(["--s3-dir", str(tmp_path)])
    try:
        fh = client_for(s.endpoint)
        create(fh, "held", "b-held", BufferingHints={"SizeInMBs": 128, "IntervalInSeconds": 900})
        fh.put_record(DeliveryStreamName="held", Record={"Data": b"kept across shutdown\n"})
        time.sleep(1.5)  # a tick or two: the buffer must still be open (900 s interval)
        assert objects(tmp_path / "b-held") == []
    finally:
        s.stop()
    (path,) = objects(tmp_path / "b-held")
    assert path.read_bytes() == b"kept across shutdown\n"


OPERATIONS = ["CreateDeliveryStream", "DeleteDeliveryStream", "DescribeDeliveryStream", "ListDeliveryStreams",
              "PutRecord", "PutRecordBatch", "UpdateDestination", "TagDeliveryStream", "UntagDeliveryStream",
              "ListTagsForDeliveryStream", "StartDeliveryStreamEncryption", "StopDeliveryStreamEncryption"]

ODD_VALUES = [None, True, -1, 0, 2**63, -2**63 - 1, 10**400, 1e308, -0.0, "", "x" * 70_000, "!{timestamp:",
              [], [{}], {}, {"Data": "%%%not base64"}, {"SizeInMBs": 2**64, "IntervalInSeconds": -2**70}]


@pytest.mark.parametrize("operation", OPERATIONS)
def test_odd_input_gets_an_error_never_a_crash(server, operation):
    """Every member with every odd value: an answer of 200 or 400 with a JSON error type, and the server lives."""
    members = ["DeliveryStreamName", "Record", "Records", "Limit", "ExtendedS3DestinationConfiguration",
               "BufferingHints", "CurrentDeliveryStreamVersionId", "DestinationId", "Tags", "TagKeys",
               "ExclusiveStartDeliveryStreamName", "DeliveryStreamType", "KinesisStreamSourceConfiguration"]
    for member in members:
        for value in ODD_VALUES:
            body = json.dumps({"DeliveryStreamName": "odd", member: value}).encode()
            status, _, reply = kwire.raw_post(server.endpoint, f"Firehose_20150804.{operation}", body)
            assert status in (200, 400), (operation, member, value, status, reply[:200])
            if status == 400:
                assert json.loads(reply)["__type"].endswith("Exception"), reply[:200]
    for raw in (b"", b"[]", b"null", b"{", b'{"DeliveryStreamName": "odd", "Record": {"Data": 5}}'):
        status, _, reply = kwire.raw_post(server.endpoint, f"Firehose_20150804.{operation}", raw)
        assert status in (200, 400), (operation, raw, status, reply[:200])
    assert server.alive()
    ext = s3_config("b-odd", BufferingHints={"SizeInMBs": 10**30, "IntervalInSeconds": 1})
    status, _, reply = kwire.raw_post(server.endpoint, "Firehose_20150804.CreateDeliveryStream", json.dumps(
        {"DeliveryStreamName": "odd2", "ExtendedS3DestinationConfiguration": ext}).encode())
    assert status == 400 and server.alive()
