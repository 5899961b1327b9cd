"""The examples of the README and docs/ run as written.

Every call of ``shopml`` or of a ``benchmarks/*.py`` script - in a shell block or an inline code
span of the docs, or in a benchmark script's docstring - names a real command and only options
that command has (a script's options are read from its ``add_argument`` calls, not run).

Every ```python block is run in a fresh interpreter, in a directory that holds what the
examples name as the user's files: event logs at ``my_log``, ``worlds/cascade`` and
``worlds/trace`` (small simulated worlds), a photo at ``photo.jpg`` / ``shirt.jpg`` and a
journeys file at ``attribution_data.csv`` (the shared data samples). A new block is run too,
so an example that cannot run here has to be named in ``NOT_RUN`` with the reason.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shopml.data.samples import SampleDataMissingError, sample_path

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
BENCHMARK = re.compile(r"(\S*/)?benchmarks/\w+\.py")
#: a text that only one block holds → why that block is not run here
NOT_RUN = {
    "StyleRetriever.default(": "builds the style-retrieval index over every listing sample "
    "(minutes on a clean checkout); tests/listing/test_retrieval.py covers the retriever",
}


def python_blocks() -> list[tuple[str, str]]:
    """(document:line, code) of every ```python block of the README and docs/."""
    blocks = []
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            blocks.append((f"{document.relative_to(ROOT)}:{line}", match.group(1)))
    return blocks


BLOCKS = python_blocks()


def test_not_run_names_existing_blocks() -> None:
    """Every NOT_RUN key picks out exactly one block (so a stale entry is noticed)."""
    for snippet in NOT_RUN:
        assert sum(snippet in code for _, code in BLOCKS) == 1, snippet


@pytest.fixture(scope="module")
def user_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory with the files the examples name."""
    from shopml.data.simulate import simulate

    try:
        photo = sample_path("fashion_images/images/15970.jpg")
        journeys = sample_path("journeys/attribution_data_subset62k.csv")
    except SampleDataMissingError as error:
        pytest.skip(str(error))
    work = tmp_path_factory.mktemp("doc-examples")
    cascade = simulate("cascade", 20_000, seed=1)
    cascade.write(work / "worlds" / "cascade")
    cascade.write(work / "my_log")
    simulate("trace", 20_000, seed=1).write(work / "worlds" / "trace")
    for name in ("photo.jpg", "shirt.jpg"):
        shutil.copy(photo, work / name)
    shutil.copy(journeys, work / "attribution_data.csv")
    return work


@pytest.mark.parametrize(("where", "code"), BLOCKS, ids=[where for where, _ in BLOCKS])
def test_example_runs(where: str, code: str, user_files: Path) -> None:
    """The block runs to the end without an error."""
    reason = next((why for snippet, why in NOT_RUN.items() if snippet in code), None)
    if reason:
        pytest.skip(reason)
    env = {**os.environ, "SHOPML_THREADS": "1", "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=user_files, env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, f"{where} failed:\n{run.stderr[-3000:]}"


def shell_commands() -> list[tuple[str, list[str]]]:
    """(place, words from the program on) of every ``shopml`` or ``benchmarks/*.py`` call in a
    shell block or an inline code span of the docs, or in a benchmark script's docstring."""
    commands = []
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        outside_blocks = []
        language, pending, start = None, "", 0
        for number, line in enumerate(text.splitlines(), 1):
            if line.startswith("```"):
                language = None if language is not None else (line[3:].strip() or "text")
                continue
            if language is None:
                outside_blocks.append(line)
            elif language in ("bash", "sh", "console"):
                start = start if pending else number
                if line.endswith("\\"):
                    pending += line[:-1] + " "
                    continue
                commands += _calls(f"{document.relative_to(ROOT)}:{start}", pending + line)
                pending = ""
        for span in re.findall(r"`([^`]+)`", "\n".join(outside_blocks)):
            commands += _calls(f"{document.relative_to(ROOT)} `{span[:40]}`", " ".join(span.split()))
    for script in sorted((ROOT / "benchmarks").glob("*.py")):
        docstring = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8"))) or ""
        joined = docstring.replace("\\\n", " ")
        for number, line in enumerate(joined.splitlines(), 1):
            commands += _calls(f"{script.relative_to(ROOT)} docstring:{number}", line)
    return commands


def _calls(where: str, line: str) -> list[tuple[str, list[str]]]:
    """The calls of ``shopml`` or a benchmark script on one shell line."""
    try:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:  # an unbalanced quote: prose, not a command
        return []
    calls, current = [], None
    for token in tokens:
        if token in (";", "&&", "||", "|", "&"):
            current = None
        elif current is not None:
            current.append(token)
        elif token in ("shopml", ".venv/bin/shopml") or BENCHMARK.fullmatch(token):
            current = [token]
            calls.append((where, current))
    return [(where, call) for where, call in calls if len(call) > 1]  # a bare name is no call


def benchmark_options(script: Path) -> set[str]:
    """The option strings a benchmark script's argparse parser declares (read, not run)."""
    options = {"-h", "--help"}
    for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument":
            options |= {a.value for a in node.args if isinstance(a, ast.Constant)}
    return options


COMMANDS = shell_commands()


def test_shell_examples_are_found() -> None:
    """The README's command list, inline spans and benchmark docstrings are among them (so the
    parser does not silently miss any kind)."""
    assert sum(where.startswith("README.md:") for where, _ in COMMANDS) >= 20
    assert any("`" in where for where, _ in COMMANDS)
    assert any("docstring" in where for where, _ in COMMANDS)


@pytest.mark.parametrize(("where", "call"), COMMANDS, ids=[w for w, _ in COMMANDS])
def test_shell_example_names_real_options(where: str, call: list[str]) -> None:
    """The command exists and takes every option the example gives it."""
    program, args = call[0], call[1:]
    given = {token.split("=", 1)[0] for token in args if token.startswith("-")}
    if BENCHMARK.fullmatch(program):
        script = ROOT / "benchmarks" / Path(program).name
        assert script.exists(), f"{where}: no script {program}"
        unknown = given - benchmark_options(script)
        assert not unknown, f"{where}: {program} has no option {sorted(unknown)}"
        return
    import typer

    from shopml.cli import app

    command = typer.main.get_command(app)
    path = ["shopml"]
    for token in args:
        subcommands = getattr(command, "commands", None)
        if subcommands is None:
            break
        if token == "...":  # the example leaves the rest of the command out
            return
        assert token in subcommands, f"{where}: {' '.join(path)} has no command {token!r}"
        command = subcommands[token]
        path.append(token)
    assert not hasattr(command, "commands"), f"{where}: {' '.join(path)} needs a subcommand"
    known = {name for param in command.params for name in (*param.opts, *param.secondary_opts)}
    assert given <= known, f"{where}: {' '.join(path)} has no option {sorted(given - known)}"
