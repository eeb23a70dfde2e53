"""The command line's answers to mistakes: one clear line and a nonzero exit."""

from __future__ import annotations

import subprocess


def run(ktop_bin, *args):
    return subprocess.run([ktop_bin, *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_a_mistyped_command_is_an_error_that_lists_the_commands(ktop_bin):
    r = run(ktop_bin, "atach", "--stream", "s")
    assert r.returncode == 64
    assert r.stdout == ""
    assert r.stderr.startswith("Error: unknown command 'atach'. Did you mean 'attach'?")
    assert "run, attach, serve, scenarios, kpl" in r.stderr
    assert "Usage: ktop run" not in r.stderr


def test_a_near_miss_gets_a_suggestion(ktop_bin):
    r = run(ktop_bin, "serv")
    assert r.returncode == 64
    assert "Did you mean 'serve'?" in r.stderr


def test_commands_and_options_still_parse(ktop_bin):
    assert run(ktop_bin, "scenarios").returncode == 0
    assert run(ktop_bin, "help").returncode == 0
    r = run(ktop_bin, "serve", "--memory-budget", "12x")
    assert r.returncode == 64
    assert "--memory-budget '12x' is not a size" in r.stderr


def test_memory_budget_accepts_sizes_and_percentages(ktop_bin):
    for size in ["512MiB", "25%"]:
        r = run(ktop_bin, "--headless", "--speed", "max", "--duration", "1", "--memory-budget", size)
        assert r.returncode == 0, r.stderr
