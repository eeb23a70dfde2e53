"""End-to-end test of the ktop dashboard in a real terminal (tmux).

ktop runs in a detached tmux session at 120x40 inside a plain shell. The test
reads the screen with `tmux capture-pane`, presses keys with `tmux send-keys`
and waits with bounded polling (never a fixed sleep) for what the screen must
show: the demo's 4 shards, a split of the selected shard (5 open shards and
the split in the events pane), and the shell again after `q`.

Needs tmux; CI (.ci/run) installs it. The ktop binary is $KTOP_BIN, or built
with `swift build --product ktop` in the repository root.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import kwire  # from Tests/Wire, put on the path by conftest.py
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARD_ROW = re.compile(r"^shardId-\d{12}\s", re.MULTILINE)


def ktop_binary() -> str:
    try:
        return kwire.find_ktop_binary()
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)


def tmux_executable() -> str | None:
    exe = shutil.which("tmux")
    if exe is None and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "tmux"], capture_output=True, timeout=600,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        exe = shutil.which("tmux")
    return exe


class Terminal:
    """A detached tmux session on its own server socket, running a shell."""

    def __init__(self, tmux: str, width: int = 120, height: int = 40):
        self.tmux = tmux
        self.socket = f"ktop-e2e-{uuid.uuid4().hex[:8]}"
        self.target = "ktop"
        self.run("new-session", "-d", "-s", self.target, "-x", str(width), "-y", str(height),
                 "env PS1='e2e$ ' bash --norc --noprofile")

    def run(self, *args: str) -> str:
        out = subprocess.run([self.tmux, "-L", self.socket, *args], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, f"tmux {' '.join(args)} failed: {out.stderr}"
        return out.stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.target)

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.target, *keys)

    def type(self, text: str) -> None:
        self.run("send-keys", "-t", self.target, "-l", text)

    def pane_command(self) -> str:
        return self.run("display-message", "-p", "-t", self.target, "#{pane_current_command}").strip()

    def wait_for(self, what: str, predicate, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if predicate(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; the screen was:\n{screen}")
            time.sleep(0.1)

    def close(self) -> None:
        subprocess.run([self.tmux, "-L", self.socket, "kill-server"], capture_output=True, timeout=30)


@pytest.fixture
def terminal():
    tmux = tmux_executable()
    if tmux is None:
        pytest.skip(
            "tmux is not installed and could not be installed (apt-get install -y tmux); the dashboard needs a terminal"
        )
    binary = ktop_binary()
    term = Terminal(tmux)
    term.binary = binary
    try:
        yield term
    finally:
        term.close()


def child_pids(parent: int) -> list[int]:
    """Processes whose parent is `parent`, read from /proc (no procps needed)."""
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # Field 4 (ppid) follows the parenthesised command name, which may contain spaces.
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == parent:
            children.append(int(entry))
    return children


def shard_rows(screen: str) -> list[str]:
    return [line for line in screen.splitlines() if SHARD_ROW.match(line)]


def start_ktop(term: Terminal) -> str:
    term.wait_for("the shell prompt", lambda s: "e2e$" in s, 10)
    term.type(f"{term.binary}; echo KTOP_EXIT=$?")
    term.keys("Enter")
    return term.wait_for("the dashboard with 4 shard rows",
                         lambda s: len(shard_rows(s)) == 4 and "4 open" in s and "IncomingBytes" in s, 60)


def test_split_from_the_dashboard_then_quit(terminal):
    screen = start_ktop(terminal)
    assert "demo" in screen and "ACTIVE" in screen
    # The first shard is selected; s opens the split prompt with the key pre-filled, Enter splits.
    terminal.keys("s")
    prompt = terminal.wait_for(
        "the split prompt", lambda s: re.search(r"Split\S* shardId-000000000000.*\d{30,}", s) is not None, 10
    )
    assert "Esc" in prompt or "cancel" in prompt or "\u2588" in prompt
    terminal.keys("Enter")
    screen = terminal.wait_for(
        "5 open shards and the split in the events pane",
        lambda s: "5 open" in s and len(shard_rows(s)) == 5 and "SplitShard shardId-000000000000" in s
        and re.search(r"Split shardId-000000000000 into", s) is not None,
        30,
    )
    assert "shardId-000000000004" in screen and "shardId-000000000005" in screen
    # q quits and gives the terminal back to the shell.
    terminal.keys("q")
    screen = terminal.wait_for("the shell again after q", lambda s: "KTOP_EXIT=0" in s, 15)
    assert "HASH%" not in screen, "the dashboard is still on screen after exit"
    terminal.wait_for("ktop's process to end", lambda s: terminal.pane_command() == "bash", 10)


def test_sigterm_restores_the_terminal(terminal):
    start_ktop(terminal)
    pane_pid = terminal.run("display-message", "-p", "-t", terminal.target, "#{pane_pid}").strip()
    children = child_pids(int(pane_pid))
    assert children, "ktop is not running under the shell"
    for pid in children:
        os.kill(pid, 15)
    screen = terminal.wait_for(
        "the shell again after SIGTERM", lambda s: re.search(r"KTOP_EXIT=\d+", s) is not None, 15
    )
    assert "KTOP_EXIT=143" in screen
    assert "HASH%" not in screen


def test_without_a_terminal_ktop_points_to_headless():
    out = subprocess.run([ktop_binary()], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    message = (out.stderr + out.stdout).strip()
    assert "--headless" in message and len(message.splitlines()) == 1


def test_actions_reach_the_engine_and_kinesis_errors_show(terminal):
    start_ktop(terminal)
    # UpdateShardCount beyond 2x the open shards: Kinesis's own error in the events pane.
    terminal.keys("u")
    terminal.wait_for("the UpdateShardCount prompt", lambda s: "UpdateShardCount of demo" in s, 10)
    terminal.keys("BSpace")
    terminal.type("100")
    terminal.keys("Enter")
    terminal.wait_for("InvalidArgumentException in the events pane",
                      lambda s: "InvalidArgumentException" in s and "UpdateShardCount" in s, 15)
    # A polling consumer added with c joins the consumers pane.
    terminal.keys("c")
    terminal.wait_for("the consumers menu", lambda s: "Add a polling consumer" in s, 10)
    terminal.keys("1")
    terminal.wait_for("poller-1 in the consumers pane", lambda s: re.search(r"poller-1\s+poll", s) is not None, 15)
    # K changes the producers' key strategy; f speeds up the clock (and the header says so).
    terminal.keys("K")
    terminal.wait_for("the uniform key strategy", lambda s: "keys uniform" in s and "uniform(10000)" in s, 15)
    terminal.keys("f")
    terminal.wait_for("clock x2 in the header", lambda s: "clock x2" in s and "CLOCK x2" in s, 15)
    # Space pauses the view; the banner says so.
    terminal.keys("Space")
    terminal.wait_for("the PAUSED banner", lambda s: "PAUSED" in s, 10)
    terminal.keys("F10")
    terminal.wait_for("the shell again after F10", lambda s: "KTOP_EXIT=0" in s, 15)


def test_ctrl_c_restores_the_terminal(terminal):
    start_ktop(terminal)
    terminal.keys("C-c")
    screen = terminal.wait_for("the shell again after Ctrl-C", lambda s: re.search(r"KTOP_EXIT=\d+", s) is not None, 15)
    assert "KTOP_EXIT=130" in screen
    assert "HASH%" not in screen


def start_attach(term: Terminal, endpoint: str, *args: str) -> str:
    term.wait_for("the shell prompt", lambda s: "e2e$" in s, 10)
    term.type(f"AWS_ACCESS_KEY_ID=k AWS_SECRET_ACCESS_KEY=s AWS_REGION={kwire.REGION} "
              f"{term.binary} attach --endpoint {endpoint} {' '.join(args)}; echo KTOP_EXIT=$?")
    term.keys("Enter")
    return term.wait_for("the attached dashboard with 2 shard rows",
                         lambda s: len(shard_rows(s)) == 2 and "2 open" in s and "ATTACHED" in s, 60)


@pytest.mark.parametrize("measure", ["auto", "api"])
def test_attach_dashboard_confirms_a_split_on_the_real_stream(terminal, measure):
    server = kwire.ServerProcess([])
    try:
        client = kwire.make_client(server.endpoint)
        client.create_stream(StreamName="live", ShardCount=2)
        kwire.wait_stream_status(client, "live")
        client.put_records(
            StreamName="live", Records=[{"Data": b"x" * 100, "PartitionKey": f"k{i}"} for i in range(50)]
        )
        screen = start_attach(terminal, server.endpoint, "--stream", "live", "--source", measure)
        assert f"ATTACHED {server.endpoint}" in screen and "live" in screen
        assert "/h" in screen, "the header shows the hourly cost"
        # s on the first shard, Enter on the key: a confirmation naming the operation, stream, account and endpoint.
        terminal.keys("s")
        terminal.wait_for("the split prompt", lambda s: "SplitShard shardId-000000000000" in s, 10)
        terminal.keys("Enter")
        terminal.wait_for("the confirmation", lambda s: "on stream live, account" in s and server.endpoint in s
                          and "Yes: SplitShard" in s, 10)
        assert len(client.list_shards(StreamName="live")["Shards"]) == 2, "nothing was sent before the confirmation"
        terminal.keys("Enter")
        terminal.wait_for("3 open shards after the confirmed split", lambda s: "3 open" in s and len(shard_rows(s)) == 3
                          and "SplitShard shardId-000000000000" in s and "accepted" in s, 40)
        assert len([s for s in client.list_shards(StreamName="live")["Shards"]
                    if "EndingSequenceNumber" not in s["SequenceNumberRange"]]) == 3
        terminal.keys("q")
        terminal.wait_for("the shell again after q", lambda s: "KTOP_EXIT=0" in s, 15)
    finally:
        server.stop()


def test_attach_read_only_refuses_actions(terminal):
    server = kwire.ServerProcess([])
    try:
        client = kwire.make_client(server.endpoint)
        client.create_stream(StreamName="guarded", ShardCount=2)
        kwire.wait_stream_status(client, "guarded")
        start_attach(terminal, server.endpoint, "--stream", "guarded", "--read-only")
        terminal.keys("s")
        terminal.wait_for("the split prompt", lambda s: "SplitShard shardId-000000000000" in s, 10)
        terminal.keys("Enter")
        terminal.wait_for("the refusal in the events pane", lambda s: "read-only" in s and "was not sent" in s, 10)
        assert len(client.list_shards(StreamName="guarded")["Shards"]) == 2
        terminal.keys("q")
        terminal.wait_for("the shell again after q", lambda s: "KTOP_EXIT=0" in s, 15)
    finally:
        server.stop()


def test_faults_banner_follows_the_scenarios_set_faults(terminal):
    # retries-under-faults switches faults on at 10 s and off at 30 s; at ×4 that is 2.5 s to 7.5 s.
    terminal.wait_for("the shell prompt", lambda s: "e2e$" in s, 10)
    terminal.type(f"{terminal.binary} --scenario retries-under-faults --speed 4; echo KTOP_EXIT=$?")
    terminal.keys("Enter")
    terminal.wait_for("FAULTS ON once the faults phase runs", lambda s: "FAULTS ON" in s and "faults-on" in s, 60)
    terminal.wait_for("FAULTS ON gone once the faults are off", lambda s: "FAULTS ON" not in s and "faults-off" in s,
                      60)
    terminal.keys("q")
    terminal.wait_for("the shell again after q", lambda s: "KTOP_EXIT=0" in s, 15)


def test_ktop_sql_without_headless_shows_its_windows_on_the_attach_dashboard(terminal):
    """`ktop sql` on a terminal: the attach dashboard on the stream, the query's reader among the
    consumers, and each closed window's rows in the SQL pane; q leaves cleanly."""
    import json as _json

    server = kwire.ServerProcess([])
    try:
        client = kwire.make_client(server.endpoint)
        client.create_stream(StreamName="ev", ShardCount=1)
        kwire.wait_stream_status(client, "ev")
        terminal.wait_for("the shell prompt", lambda s: "e2e$" in s, 10)
        query = "SELECT tenant, COUNT(*) AS n FROM ev GROUP BY tenant ORDER BY tenant"
        terminal.type(f"AWS_ACCESS_KEY_ID=k AWS_SECRET_ACCESS_KEY=s AWS_REGION={kwire.REGION} "
                      f'{terminal.binary} sql "{query}" --window tumbling:2s --stream ev --endpoint {server.endpoint}'
                      "; echo KTOP_EXIT=$?")
        terminal.keys("Enter")
        # The consumers pane cuts names to its width: "sql:quer" at 120 columns.
        terminal.wait_for("the query's reader among the consumers and its pane",
                          lambda s: "sql:quer" in s and "query on ev tumbling 2s" in s, 60)
        deadline = time.monotonic() + 60
        screen = ""
        while "tenant-b" not in screen:
            batch = [{"Data": _json.dumps({"tenant": t}).encode(), "PartitionKey": t}
                     for t in ["tenant-a", "tenant-b", "tenant-b"]]
            client.put_records(StreamName="ev", Records=batch)
            screen = terminal.screen()
            assert time.monotonic() < deadline, f"no window rows on the screen:\n{screen}"
            time.sleep(0.3)
        assert "query on ev tumbling 2s" in screen
        row = next(line for line in screen.splitlines() if "tenant-b" in line)
        assert re.search(r"tenant-b\s+\d+", row), row
        terminal.keys("q")
        terminal.wait_for("the shell again, exit status 0", lambda s: "KTOP_EXIT=0" in s, 20)
    finally:
        server.stop()
