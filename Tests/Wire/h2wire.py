"""A small HTTP/2 client over a raw socket (the `h2` library), for tests that need control
over streams: many requests in flight on one connection, an event stream read frame by
frame, a preface followed by garbage. Prior knowledge (h2c) on a plain socket, or h2
negotiated by ALPN when given an SSL context."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import time
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import kwire

JSON11 = "application/x-amz-json-1.1"
T = "Kinesis_20131202."


@dataclass
class Reply:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    ended: bool = False
    reset: bool = False


class H2Connection:
    """One HTTP/2 connection to host:port; every call is bounded by `timeout` seconds."""

    def __init__(self, port: int, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None,
                 timeout: float = 10.0):
        self.authority = f"{host}:{port}"
        self.timeout = timeout
        raw = socket.create_connection((host, port), timeout=timeout)
        if tls is not None:
            raw = tls.wrap_socket(raw, server_hostname=host)
            assert raw.selected_alpn_protocol() == "h2", raw.selected_alpn_protocol()
        self.sock = raw
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.replies: dict[int, Reply] = {}
        self.goaway = False
        self.closed = False
        self.flush()

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def start(self, target: str | None, body: bytes, content_type: str = JSON11, sign: bool = True,
              extra: dict[str, str] | None = None) -> int:
        """Sends one POST / on a new stream; returns its stream id."""
        if sign:
            headers = kwire.signed_headers_for(host=self.authority, target=target, body=body, content_type=content_type)
        else:
            headers = {"content-type": content_type}
            if target:
                headers["x-amz-target"] = target
        headers.pop("host", None)
        headers.update(extra or {})
        sid = self.conn.get_next_available_stream_id()
        pseudo = [(":method", "POST"), (":scheme", "http"), (":authority", self.authority), (":path", "/")]
        self.conn.send_headers(sid, pseudo + list(headers.items()) + [("content-length", str(len(body)))])
        self._send_body(sid, body)
        self.replies[sid] = Reply()
        return sid

    def _send_body(self, sid: int, body: bytes) -> None:
        offset = 0
        deadline = time.monotonic() + self.timeout
        while True:
            window = min(self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
            if offset >= len(body):
                self.conn.end_stream(sid)
                self.flush()
                return
            if window <= 0:
                self.flush()
                self.read_some(deadline)
                continue
            chunk = body[offset:offset + window]
            self.conn.send_data(sid, chunk)
            offset += len(chunk)
            self.flush()

    def read_some(self, deadline: float) -> None:
        """Reads what the server sent (waits at most until `deadline`) and applies it."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no HTTP/2 reply in time")
        self.sock.settimeout(remaining)
        data = self.sock.recv(65536)
        if not data:
            self.closed = True
            raise ConnectionError("server closed the connection")
        for event in self.conn.receive_data(data):
            self._apply(event)
        self.flush()

    def _apply(self, event) -> None:
        if isinstance(event, h2.events.ResponseReceived):
            r = self.replies[event.stream_id]
            r.headers = {k: v for k, v in event.headers}
            r.status = int(r.headers[":status"])
        elif isinstance(event, h2.events.DataReceived):
            self.replies[event.stream_id].body += event.data
            self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            self.replies[event.stream_id].ended = True
        elif isinstance(event, h2.events.StreamReset):
            if event.stream_id in self.replies:
                self.replies[event.stream_id].reset = True
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.goaway = True

    def wait(self, sids: list[int]) -> list[Reply]:
        """Reads until every stream in `sids` has ended (or was reset)."""
        deadline = time.monotonic() + self.timeout
        while not all(self.replies[s].ended or self.replies[s].reset for s in sids):
            self.read_some(deadline)
        return [self.replies[s] for s in sids]

    def call(self, operation: str, payload: dict | None = None) -> tuple[int, dict]:
        """One JSON call; returns (status, decoded body)."""
        sid = self.start(T + operation, json.dumps(payload or {}).encode())
        reply = self.wait([sid])[0]
        return reply.status, json.loads(reply.body or b"{}")

    def close(self) -> None:
        # Best effort: the server may have closed already (GOAWAY received, socket gone).
        with contextlib.suppress(h2.exceptions.ProtocolError, OSError):
            self.conn.close_connection()
            self.flush()
        self.sock.close()
