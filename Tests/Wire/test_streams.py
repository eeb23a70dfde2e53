"""Stream control plane: create/describe/list/delete, tags, retention, monitoring,
encryption, limits, account settings, resource policies, mode and record size,
and Coral-style validation errors (KINESIS.md §1.5, §2.2–§2.4, §3, §4)."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from botocore.exceptions import ClientError

import kwire
from kwire import ACCOUNT, ALL_METRICS, expect_error, stream_arn


# ---------------------------------------------------------------------------
# create / describe


def test_create_provisioned_describe_stream_fields(kinesis, make_stream):
    before = time.time()
    name = make_stream(shards=3)
    desc = kinesis.describe_stream(StreamName=name)["StreamDescription"]
    assert desc["StreamName"] == name
    assert desc["StreamARN"] == f"arn:aws:kinesis:us-east-1:123456789012:stream/{name}"
    assert desc["StreamStatus"] == "ACTIVE"
    assert desc["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert desc["RetentionPeriodHours"] == 24
    assert desc["EncryptionType"] == "NONE"
    assert "KeyId" not in desc
    assert desc["EnhancedMonitoring"] == [{"ShardLevelMetrics": []}]
    assert desc["HasMoreShards"] is False
    assert len(desc["Shards"]) == 3
    created = desc["StreamCreationTimestamp"].timestamp()
    assert before - 5 <= created <= time.time() + 5


def test_describe_stream_summary_fields(kinesis, make_stream):
    name = make_stream(shards=2)
    s = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert s["StreamName"] == name
    assert s["StreamARN"] == stream_arn(name)
    assert s["StreamStatus"] == "ACTIVE"
    assert s["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert s["RetentionPeriodHours"] == 24
    assert s["EncryptionType"] == "NONE"
    assert s["EnhancedMonitoring"] == [{"ShardLevelMetrics": []}]
    assert s["OpenShardCount"] == 2
    assert s["ConsumerCount"] == 0
    # StreamARN addresses the same stream as StreamName
    by_arn = kinesis.describe_stream_summary(StreamARN=stream_arn(name))["StreamDescriptionSummary"]
    assert by_arn["StreamName"] == name
    assert by_arn["OpenShardCount"] == 2


def test_stream_is_creating_then_active(kinesis, kinesis_noretry, make_stream):
    name = make_stream(shards=1, wait=False)
    status = kwire.status_now(kinesis_noretry, name)
    assert status == "CREATING"
    desc = kinesis_noretry.describe_stream(StreamName=name)["StreamDescription"]
    if desc["StreamStatus"] == "CREATING":
        assert desc["Shards"] == []  # KINESIS.md §2.3: no shards while CREATING
    summary = kwire.wait_stream_status(kinesis, name, "ACTIVE")
    assert summary["OpenShardCount"] == 1


def test_put_record_while_creating_is_not_found(kinesis_noretry, make_stream):
    name = make_stream(shards=1, wait=False)
    expect_error(
        lambda: kinesis_noretry.put_record(StreamName=name, Data=b"x", PartitionKey="k"),
        "ResourceNotFoundException",
        f"Stream {name} under account {ACCOUNT} not found.",
    )


def test_create_on_demand_without_shard_count_has_4_shards(kinesis, make_stream):
    name = make_stream(shards=None, on_demand=True)
    s = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert s["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert s["OpenShardCount"] == 4
    shards = kinesis.list_shards(StreamName=name)["Shards"]
    assert [(sh["ShardId"], kwire.shard_range(sh)) for sh in shards] == [
        (kwire.shard_id(i), r) for i, r in enumerate(kwire.expected_ranges(4))
    ]


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_hash_ranges_of_new_stream(kinesis, make_stream, n):
    name = make_stream(shards=n)
    shards = kinesis.describe_stream(StreamName=name)["StreamDescription"]["Shards"]
    got = [(s["ShardId"], s["HashKeyRange"]["StartingHashKey"], s["HashKeyRange"]["EndingHashKey"]) for s in shards]
    want = [(kwire.shard_id(i), str(a), str(b)) for i, (a, b) in enumerate(kwire.expected_ranges(n))]
    assert got == want
    for i, s in enumerate(shards):
        assert "ParentShardId" not in s and "AdjacentParentShardId" not in s
        assert "EndingSequenceNumber" not in s["SequenceNumberRange"]
        kwire.assert_v2_sequence(s["SequenceNumberRange"]["StartingSequenceNumber"], kwire.shard_id(i))


def test_known_hash_ranges_from_aws_outputs():
    """Guard the helper itself against the AWS outputs quoted in KINESIS.md §4."""
    assert kwire.expected_ranges(2)[0] == (0, 170141183460469231731687303715884105727)
    assert kwire.expected_ranges(3) == [
        (0, 113427455640312821154458202477256070484),
        (113427455640312821154458202477256070485, 226854911280625642308916404954512140969),
        (226854911280625642308916404954512140970, 340282366920938463463374607431768211455),
    ]
    assert kwire.md5_hash_key("a") == 16955237001963240173058271559858726497
    assert kwire.md5_hash_key("123") == 42767516990368493138776584305024125808
    assert kwire.md5_hash_key("partitionKey-0") == 283893945402358862714065952676399797471


def test_create_with_tags(kinesis, make_stream):
    name = make_stream(shards=1, Tags={"team": "wire", "env": "test"})
    tags = kinesis.list_tags_for_stream(StreamName=name)["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"team": "wire", "env": "test"}


# ---------------------------------------------------------------------------
# errors for unknown / duplicate streams


def test_duplicate_name_is_resource_in_use(kinesis, make_stream):
    name = make_stream(shards=1)
    expect_error(
        lambda: kinesis.create_stream(StreamName=name, ShardCount=1),
        "ResourceInUseException",
        f"Stream {name} under account 123456789012 already exists.",
    )


def test_unknown_stream_is_resource_not_found(kinesis):
    name = kwire.unique_name("missing")
    msg = f"Stream {name} under account 123456789012 not found."
    expect_error(lambda: kinesis.describe_stream(StreamName=name), "ResourceNotFoundException", msg)
    expect_error(lambda: kinesis.describe_stream_summary(StreamName=name), "ResourceNotFoundException", msg)
    expect_error(
        lambda: kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k"), "ResourceNotFoundException", msg
    )
    expect_error(lambda: kinesis.delete_stream(StreamName=name), "ResourceNotFoundException", msg)


def test_error_response_carries_request_id(kinesis):
    try:
        kinesis.describe_stream_summary(StreamName=kwire.unique_name("missing"))
    except ClientError as e:
        assert e.response["ResponseMetadata"].get("RequestId"), "x-amzn-RequestId missing on error response"
    else:
        raise AssertionError("expected ResourceNotFoundException")


# ---------------------------------------------------------------------------
# list / paginate


def test_list_streams_limit_and_pagination(kinesis, make_stream):
    prefix = "lst" + kwire.unique_name("p")[-8:]
    names = sorted(make_stream(shards=1, prefix=prefix) for _ in range(3))

    one = kinesis.list_streams(Limit=1)
    assert len(one["StreamNames"]) == 1
    assert one["HasMoreStreams"] is True
    assert len(one["StreamSummaries"]) == 1

    seen = []
    summaries = {}
    pages = 0
    for page in kinesis.get_paginator("list_streams").paginate(PaginationConfig={"PageSize": 2}):
        pages += 1
        assert len(page["StreamNames"]) <= 2
        seen.extend(page["StreamNames"])
        for s in page["StreamSummaries"]:
            summaries[s["StreamName"]] = s
    assert pages >= 2
    assert len(seen) == len(set(seen)), "a stream name was returned twice while paging"
    for n in names:
        assert n in seen
        assert summaries[n]["StreamARN"] == stream_arn(n)
        assert summaries[n]["StreamStatus"] == "ACTIVE"
        assert summaries[n]["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
        assert "StreamCreationTimestamp" in summaries[n]


def test_list_streams_exclusive_start_stream_name(kinesis, make_stream):
    prefix = "ex" + kwire.unique_name("p")[-8:]
    names = sorted(make_stream(shards=1, prefix=prefix) for _ in range(2))
    resp = kinesis.list_streams(ExclusiveStartStreamName=names[0], Limit=100)
    assert names[0] not in resp["StreamNames"]
    assert names[1] in resp["StreamNames"]
    # Kinesis lists stream names in lexicographic order.
    assert resp["StreamNames"] == sorted(resp["StreamNames"])
    assert all(n > names[0] for n in resp["StreamNames"])


def test_describe_stream_limit_and_paginator(kinesis, make_stream):
    name = make_stream(shards=5)
    first = kinesis.describe_stream(StreamName=name, Limit=2)["StreamDescription"]
    assert [s["ShardId"] for s in first["Shards"]] == [kwire.shard_id(0), kwire.shard_id(1)]
    assert first["HasMoreShards"] is True

    nxt = kinesis.describe_stream(StreamName=name, Limit=2, ExclusiveStartShardId=kwire.shard_id(1))[
        "StreamDescription"
    ]
    assert [s["ShardId"] for s in nxt["Shards"]] == [kwire.shard_id(2), kwire.shard_id(3)]
    assert nxt["HasMoreShards"] is True

    ids = []
    pages = 0
    for page in kinesis.get_paginator("describe_stream").paginate(
        StreamName=name, PaginationConfig={"PageSize": 2}
    ):
        pages += 1
        ids.extend(s["ShardId"] for s in page["StreamDescription"]["Shards"])
    assert pages == 3
    assert ids == [kwire.shard_id(i) for i in range(5)]


# ---------------------------------------------------------------------------
# waiters / delete


def test_waiters_stream_exists_and_not_exists(kinesis):
    name = kwire.unique_name("wait")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    try:
        t0 = time.monotonic()
        kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 20})
        assert time.monotonic() - t0 < 20
        assert kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamStatus"] == "ACTIVE"
    finally:
        kinesis.delete_stream(StreamName=name)
    kinesis.get_waiter("stream_not_exists").wait(StreamName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 20})
    expect_error(lambda: kinesis.describe_stream(StreamName=name), "ResourceNotFoundException")


def test_delete_stream(kinesis, kinesis_noretry, make_stream):
    name = make_stream(shards=2)
    kinesis.delete_stream(StreamName=name)
    try:
        status = kwire.status_now(kinesis_noretry, name)
        assert status == "DELETING"
    except ClientError as e:  # already gone is acceptable too
        assert kwire.error_of(e)[0] == "ResourceNotFoundException"
    kwire.wait_stream_gone(kinesis, name)
    expect_error(
        lambda: kinesis.describe_stream_summary(StreamName=name),
        "ResourceNotFoundException",
        f"Stream {name} under account {ACCOUNT} not found.",
    )
    all_names = [n for p in kinesis.get_paginator("list_streams").paginate() for n in p["StreamNames"]]
    assert name not in all_names
    # the name is free again
    kinesis.create_stream(StreamName=name, ShardCount=1)
    kwire.wait_stream_status(kinesis, name)
    kinesis.delete_stream(StreamName=name)


# ---------------------------------------------------------------------------
# tags


def tags_dict(tags):
    return {t["Key"]: t.get("Value") for t in tags}


def test_tags_add_list_remove(kinesis, make_stream):
    name = make_stream(shards=1)
    assert kinesis.list_tags_for_stream(StreamName=name)["Tags"] == []
    kinesis.add_tags_to_stream(StreamName=name, Tags={"a": "1", "b": "2", "c": ""})
    resp = kinesis.list_tags_for_stream(StreamName=name)
    assert tags_dict(resp["Tags"]) == {"a": "1", "b": "2", "c": ""}
    assert resp["HasMoreTags"] is False
    # AddTagsToStream overwrites existing keys
    kinesis.add_tags_to_stream(StreamName=name, Tags={"a": "one"})
    assert tags_dict(kinesis.list_tags_for_stream(StreamName=name)["Tags"])["a"] == "one"
    kinesis.remove_tags_from_stream(StreamName=name, TagKeys=["b", "not-there"])
    assert tags_dict(kinesis.list_tags_for_stream(StreamName=name)["Tags"]) == {"a": "one", "c": ""}


def test_list_tags_for_stream_paging(kinesis, make_stream):
    name = make_stream(shards=1)
    want = {f"k{i}": f"v{i}" for i in range(5)}
    kinesis.add_tags_to_stream(StreamName=name, Tags=want)
    first = kinesis.list_tags_for_stream(StreamName=name, Limit=2)
    assert len(first["Tags"]) == 2
    assert first["HasMoreTags"] is True
    got = list(first["Tags"])
    resp = first
    for _ in range(5):
        if not resp["HasMoreTags"]:
            break
        resp = kinesis.list_tags_for_stream(StreamName=name, Limit=2, ExclusiveStartTagKey=got[-1]["Key"])
        got.extend(resp["Tags"])
    assert resp["HasMoreTags"] is False
    keys = [t["Key"] for t in got]
    assert len(keys) == len(set(keys)), f"a tag was listed twice: {keys}"
    assert tags_dict(got) == want


def test_tag_resource_on_stream_arn(kinesis, make_stream):
    name = make_stream(shards=1)
    arn = stream_arn(name)
    kinesis.tag_resource(ResourceARN=arn, Tags={"x": "1", "y": "2"})
    assert tags_dict(kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"]) == {"x": "1", "y": "2"}
    # the same tags are visible through the stream-name API
    assert tags_dict(kinesis.list_tags_for_stream(StreamName=name)["Tags"]) == {"x": "1", "y": "2"}
    kinesis.untag_resource(ResourceARN=arn, TagKeys=["x"])
    assert tags_dict(kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"]) == {"y": "2"}


def test_tag_resource_unknown_stream(kinesis):
    arn = stream_arn(kwire.unique_name("missing"))
    expect_error(lambda: kinesis.list_tags_for_resource(ResourceARN=arn), "ResourceNotFoundException")


# ---------------------------------------------------------------------------
# retention


def test_retention_increase_and_decrease(kinesis, make_stream):
    name = make_stream(shards=1)
    kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=48)
    s = kwire.wait_stream_status(kinesis, name)
    assert s["RetentionPeriodHours"] == 48
    kinesis.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=36)
    s = kwire.wait_stream_status(kinesis, name)
    assert s["RetentionPeriodHours"] == 36
    kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=8760)
    s = kwire.wait_stream_status(kinesis, name)
    assert s["RetentionPeriodHours"] == 8760


def test_retention_error_messages(kinesis, make_stream):
    name = make_stream(shards=1)
    kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=48)
    kwire.wait_stream_status(kinesis, name)
    expect_error(
        lambda: kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=30),
        "InvalidArgumentException",
        f"Requested retention period (30 hours) for stream {name} can not be shorter than existing "
        "retention period (48 hours). Use DecreaseRetentionPeriod API.",
    )
    expect_error(
        lambda: kinesis.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=72),
        "InvalidArgumentException",
        f"Requested retention period (72 hours) for stream {name} can not be longer than existing "
        "retention period (48 hours). Use IncreaseRetentionPeriod API.",
    )
    expect_error(
        lambda: kinesis.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=12),
        "InvalidArgumentException",
        "Minimum allowed retention period is 24 hours. Requested retention period (12 hours) is too short.",
    )
    expect_error(
        lambda: kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=8761),
        "InvalidArgumentException",
        message_startswith="Maximum allowed retention period is 8760 hours.",
    )
    # nothing changed
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["RetentionPeriodHours"] == 48


# ---------------------------------------------------------------------------
# enhanced monitoring


def test_enhanced_monitoring_enable_disable(kinesis, make_stream):
    name = make_stream(shards=1)
    r = kinesis.enable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=["IncomingBytes"])
    assert r["StreamName"] == name
    assert r["CurrentShardLevelMetrics"] == []
    assert r["DesiredShardLevelMetrics"] == ["IncomingBytes"]
    kwire.wait_stream_status(kinesis, name)

    r = kinesis.enable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=["ALL"])
    assert r["CurrentShardLevelMetrics"] == ["IncomingBytes"]
    assert set(r["DesiredShardLevelMetrics"]) == ALL_METRICS
    assert len(r["DesiredShardLevelMetrics"]) == 7
    s = kwire.wait_stream_status(kinesis, name)
    assert set(s["EnhancedMonitoring"][0]["ShardLevelMetrics"]) == ALL_METRICS

    r = kinesis.disable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=["IncomingBytes", "OutgoingBytes"])
    assert set(r["CurrentShardLevelMetrics"]) == ALL_METRICS
    assert set(r["DesiredShardLevelMetrics"]) == ALL_METRICS - {"IncomingBytes", "OutgoingBytes"}
    kwire.wait_stream_status(kinesis, name)

    r = kinesis.disable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=["ALL"])
    assert r["DesiredShardLevelMetrics"] == []
    s = kwire.wait_stream_status(kinesis, name)
    assert s["EnhancedMonitoring"] == [{"ShardLevelMetrics": []}]


def test_enhanced_monitoring_bad_metric_is_validation_error(kinesis, make_stream):
    name = make_stream(shards=1)
    expect_error(
        lambda: kinesis.enable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=["Bogus"]),
        "ValidationException",
        message_startswith="1 validation error detected: ",
    )


# ---------------------------------------------------------------------------
# encryption


def test_start_stop_encryption(kinesis, make_stream):
    name = make_stream(shards=1)
    kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId="alias/aws/kinesis")
    s = kwire.wait_stream_status(kinesis, name)
    assert s["EncryptionType"] == "KMS"
    assert s["KeyId"] == "alias/aws/kinesis"

    # AWS: up to 5 s after ACTIVE until all new records are encrypted (§2.3).
    deadline = time.monotonic() + 6
    while True:
        r = kinesis.put_record(StreamName=name, Data=b"secret", PartitionKey="k")
        if r.get("EncryptionType") == "KMS" or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert r["EncryptionType"] == "KMS"
    pr = kinesis.put_records(StreamName=name, Records=[{"Data": b"s2", "PartitionKey": "k"}])
    assert pr["EncryptionType"] == "KMS"
    it = kinesis.get_shard_iterator(
        StreamName=name, ShardId=r["ShardId"], ShardIteratorType="AT_SEQUENCE_NUMBER",
        StartingSequenceNumber=r["SequenceNumber"],
    )["ShardIterator"]
    recs = kinesis.get_records(ShardIterator=it)["Records"]
    assert recs[0]["Data"] == b"secret"
    assert recs[0]["EncryptionType"] == "KMS"

    kinesis.stop_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId="alias/aws/kinesis")
    s = kwire.wait_stream_status(kinesis, name)
    assert s["EncryptionType"] == "NONE"
    deadline = time.monotonic() + 6
    while True:
        r = kinesis.put_record(StreamName=name, Data=b"plain", PartitionKey="k")
        if r.get("EncryptionType", "NONE") == "NONE" or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert r.get("EncryptionType", "NONE") == "NONE"


def test_start_encryption_puts_stream_in_updating(kinesis, kinesis_noretry, make_stream):
    name = make_stream(shards=1)
    kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId="alias/aws/kinesis")
    assert kwire.status_now(kinesis_noretry, name) == "UPDATING"
    kwire.wait_stream_status(kinesis, name)


# ---------------------------------------------------------------------------
# account-level


def test_describe_limits(kinesis, make_stream):
    make_stream(shards=3)
    lim = kinesis.describe_limits()
    for key in ("ShardLimit", "OpenShardCount", "OnDemandStreamCount", "OnDemandStreamCountLimit"):
        assert isinstance(lim[key], int), key
    assert lim["ShardLimit"] > 0
    assert 3 <= lim["OpenShardCount"] <= lim["ShardLimit"]
    assert lim["OnDemandStreamCountLimit"] == 50
    assert 0 <= lim["OnDemandStreamCount"] <= lim["OnDemandStreamCountLimit"]


def test_account_settings_describe_and_update(kinesis):
    d = kinesis.describe_account_settings()
    status0 = d.get("MinimumThroughputBillingCommitment", {}).get("Status", "DISABLED")
    assert status0 in {"ENABLED", "DISABLED", "ENABLED_UNTIL_EARLIEST_ALLOWED_END"}

    r = kinesis.update_account_settings(MinimumThroughputBillingCommitment={"Status": "ENABLED"})
    c = r["MinimumThroughputBillingCommitment"]
    assert c["Status"] == "ENABLED"
    assert "StartedAt" in c
    # Commitments last at least 24 hours (model docs).
    assert c["EarliestAllowedEndAt"] - c["StartedAt"] >= dt.timedelta(hours=24) - dt.timedelta(seconds=1)
    d = kinesis.describe_account_settings()["MinimumThroughputBillingCommitment"]
    assert d["Status"] == "ENABLED"

    # Disabling before EarliestAllowedEndAt schedules the disable instead (model docs).
    r = kinesis.update_account_settings(MinimumThroughputBillingCommitment={"Status": "DISABLED"})
    assert r["MinimumThroughputBillingCommitment"]["Status"] == "ENABLED_UNTIL_EARLIEST_ALLOWED_END"
    # ... and enabling again cancels the pending disable.
    r = kinesis.update_account_settings(MinimumThroughputBillingCommitment={"Status": "ENABLED"})
    assert r["MinimumThroughputBillingCommitment"]["Status"] == "ENABLED"


# ---------------------------------------------------------------------------
# resource policies


def test_resource_policy_put_get_delete(kinesis, make_stream):
    name = make_stream(shards=1)
    arn = stream_arn(name)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "reader",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": ["kinesis:GetRecords", "kinesis:GetShardIterator"],
                "Resource": arn,
            }
        ],
    }
    kinesis.put_resource_policy(ResourceARN=arn, Policy=json.dumps(policy))
    got = kinesis.get_resource_policy(ResourceARN=arn)["Policy"]
    assert json.loads(got) == policy
    kinesis.delete_resource_policy(ResourceARN=arn)
    # AWS behaviour after deletion is not pinned down in KINESIS.md: accept either
    # ResourceNotFoundException or an empty policy, but never the old one.
    try:
        after = kinesis.get_resource_policy(ResourceARN=arn).get("Policy", "")
    except ClientError as e:
        assert kwire.error_of(e)[0] == "ResourceNotFoundException"
    else:
        assert after in ("", "{}"), f"policy still present after delete: {after}"


def test_resource_policy_unknown_stream(kinesis):
    arn = stream_arn(kwire.unique_name("missing"))
    expect_error(
        lambda: kinesis.put_resource_policy(ResourceARN=arn, Policy='{"Version":"2012-10-17","Statement":[]}'),
        "ResourceNotFoundException",
    )


# ---------------------------------------------------------------------------
# stream mode, record size


def test_update_stream_mode_keeps_shards(kinesis, kinesis_noretry, make_stream):
    name = make_stream(shards=2)
    kinesis.update_stream_mode(StreamARN=stream_arn(name), StreamModeDetails={"StreamMode": "ON_DEMAND"})
    assert kwire.status_now(kinesis_noretry, name) == "UPDATING"
    s = kwire.wait_stream_status(kinesis, name)
    assert s["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert s["OpenShardCount"] == 2  # shard count is retained across the switch
    # Shard management is for provisioned streams only.
    expect_error(
        lambda: kinesis.update_shard_count(StreamName=name, TargetShardCount=4, ScalingType="UNIFORM_SCALING"),
        "ValidationException",
    )


def test_update_max_record_size(kinesis, make_stream):
    name = make_stream(shards=1)
    s = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert s.get("MaxRecordSizeInKiB", 1024) == 1024
    kinesis.update_max_record_size(StreamARN=stream_arn(name), MaxRecordSizeInKiB=2048)
    s = kwire.wait_stream_status(kinesis, name)
    assert s["MaxRecordSizeInKiB"] == 2048
    # A 1.5 MiB record is now accepted (large records use a burst allowance, §3).
    big = b"z" * (1536 * 1024)
    r = kinesis.put_record(StreamName=name, Data=big, PartitionKey="k")
    it = kinesis.get_shard_iterator(
        StreamName=name, ShardId=r["ShardId"], ShardIteratorType="AT_SEQUENCE_NUMBER",
        StartingSequenceNumber=r["SequenceNumber"],
    )["ShardIterator"]
    assert kinesis.get_records(ShardIterator=it, Limit=1)["Records"][0]["Data"] == big


def test_update_max_record_size_out_of_range(kinesis, make_stream):
    name = make_stream(shards=1)
    expect_error(
        lambda: kinesis.update_max_record_size(StreamARN=stream_arn(name), MaxRecordSizeInKiB=10241),
        "ValidationException",
    )


# ---------------------------------------------------------------------------
# validation (Coral style, §1.5)


@pytest.fixture(scope="module")
def raw_kinesis(endpoint):
    """A client with botocore's own parameter validation off, so the server sees bad input."""
    return kwire.make_client(endpoint, parameter_validation=False)


def test_stream_name_too_long(kinesis):
    name = "a" * 129
    expect_error(
        lambda: kinesis.create_stream(StreamName=name, ShardCount=1),
        "ValidationException",
        message_startswith=(
            f"1 validation error detected: Value '{name}' at 'streamName' failed to satisfy constraint: "
            "Member must have length less than or equal to 128"
        ),
    )
    expect_error(
        lambda: kinesis.describe_stream_summary(StreamName=name),
        "ValidationException",
        message_startswith=f"1 validation error detected: Value '{name}' at 'streamName' failed to satisfy constraint",
    )


def test_stream_name_bad_pattern(kinesis):
    expect_error(
        lambda: kinesis.create_stream(StreamName="bad name!", ShardCount=1),
        "ValidationException",
        "1 validation error detected: Value 'bad name!' at 'streamName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
    )


def test_shard_count_zero(raw_kinesis):
    expect_error(
        lambda: raw_kinesis.create_stream(StreamName=kwire.unique_name("zero"), ShardCount=0),
        "ValidationException",
        "1 validation error detected: Value '0' at 'shardCount' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1",
    )


def test_missing_required_member(raw_kinesis, make_stream):
    name = make_stream(shards=1)
    expect_error(
        lambda: raw_kinesis.get_shard_iterator(StreamName=name, ShardId=kwire.shard_id(0)),
        "ValidationException",
        "1 validation error detected: Value null at 'shardIteratorType' failed to satisfy constraint: "
        "Member must not be null",
    )


def test_bad_enum_value(kinesis, make_stream):
    name = make_stream(shards=1)
    expect_error(
        lambda: kinesis.get_shard_iterator(StreamName=name, ShardId=kwire.shard_id(0), ShardIteratorType="BOGUS"),
        "ValidationException",
        "1 validation error detected: Value 'BOGUS' at 'shardIteratorType' failed to satisfy constraint: "
        "Member must satisfy enum value set: "
        "[AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]",
    )
