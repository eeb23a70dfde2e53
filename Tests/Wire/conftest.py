"""Fixtures for the ktop wire-compatibility suite.

Set KTOP_ENDPOINT=http://127.0.0.1:PORT to run the suite against an already
running server (another ktop, kinesalite, kinesis-mock, moto, ...). Otherwise
the ktop binary ($KTOP_BIN, or `swift build --product ktop` in the repo root)
is started as `ktop serve --host 127.0.0.1 --port <free> --limits aws`.
"""

from __future__ import annotations

import os
import sys
import tempfile

import pytest
from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kwire  # noqa: E402

try:  # keep hypothesis' cache out of the work tree
    import hypothesis.configuration

    hypothesis.configuration.set_hypothesis_home_dir(tempfile.mkdtemp(prefix="ktop-wire-hypothesis-"))
except ImportError:
    pass


def external_endpoint() -> str | None:
    return os.environ.get("KTOP_ENDPOINT") or None


@pytest.fixture(scope="session")
def ktop_server():
    """The ktop server process, or None when KTOP_ENDPOINT points elsewhere."""
    if external_endpoint():
        yield None
        return
    failure = None
    try:
        server = kwire.ServerProcess(["--limits", "aws"])
    except RuntimeError as e:  # startup failure: the message carries ktop's stderr
        failure = str(e)
    if failure is not None:
        pytest.fail(f"could not start ktop: {failure}", pytrace=False)
    try:
        yield server
    finally:
        alive = server.alive()
        server.stop()
        if not alive:
            print("ktop exited during the test session; its stderr:\n" + server.stderr_text(), file=sys.stderr)


@pytest.fixture(scope="session")
def endpoint(ktop_server) -> str:
    return external_endpoint() or ktop_server.endpoint


@pytest.fixture(scope="session")
def kinesis(endpoint):
    """A boto3 Kinesis client (with boto3's retries, so throttling of control-plane
    calls — LimitExceededException — is absorbed as with real AWS)."""
    return kwire.make_client(endpoint)


@pytest.fixture(scope="session")
def kinesis_noretry(endpoint):
    """A client that never retries: for asserting throttling errors."""
    return kwire.make_client(endpoint, retries={"total_max_attempts": 1})


@pytest.fixture
def make_stream(kinesis):
    """Factory: make_stream(shards=1, on_demand=False, wait=True, **create_kwargs) -> name.

    Creates a uniquely named stream, waits until ACTIVE (polling
    DescribeStreamSummary every 0.05 s, at most 10 s) and deletes it at teardown.
    """
    created: list[str] = []

    def _make(shards: int | None = 1, on_demand: bool = False, wait: bool = True, prefix: str = "wire", **kw):
        name = kwire.unique_name(prefix)
        args = {"StreamName": name, **kw}
        if on_demand:
            args["StreamModeDetails"] = {"StreamMode": "ON_DEMAND"}
        if shards is not None:
            args["ShardCount"] = shards
        kinesis.create_stream(**args)
        created.append(name)
        if wait:
            kwire.wait_stream_status(kinesis, name, "ACTIVE")
        return name

    yield _make

    for name in created:
        try:
            kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)
        except ClientError as e:
            if kwire.error_of(e)[0] != "ResourceInUseException":
                continue  # already deleted by the test
            try:  # still CREATING/UPDATING: wait, then delete
                kwire.wait_stream_status(kinesis, name, "ACTIVE", timeout=5)
                kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)
            except (ClientError, AssertionError):
                pass
