"""Result cards: every benchmark run writes one JSON file under docs/results/cards/.

A card holds ``benchmark``, ``dataset`` (name, path or preset, sha256 of the
input file or of the simulator config), ``seed``, ``config``, ``env``
(package versions, machine), ``results`` (a list of ``{"method", "metrics",
"wall_s"}``), ``bayes_limit`` (metrics of the simulator's truth, where the
data is simulated) and ``created``. Metric names are lowercase snake_case.
Docs tables are generated from cards, never typed by hand.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

_METRIC_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_PACKAGES = ("shopml", "numpy", "pandas", "pyarrow", "duckdb", "scikit-learn", "torch", "scipy")


def card_dir() -> Path:
    """Where cards go: $SHOPML_CARD_DIR, else docs/results/cards of the checkout in cwd."""
    env = os.environ.get("SHOPML_CARD_DIR")
    return Path(env) if env else Path.cwd() / "docs" / "results" / "cards"


def git_state() -> dict[str, Any] | None:
    """The checkout's commit and whether it has uncommitted changes (None outside a git repo)."""
    import subprocess

    try:
        root = Path(__file__).resolve().parents[2]
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "shopml"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return {"commit": commit.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return None


def environment() -> dict[str, Any]:
    """Package versions, machine facts and the git commit for a card."""
    versions = {}
    for pkg in _PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "python": platform.python_version(),
        "packages": versions,
        "machine": platform.machine(),
        "system": platform.system(),
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or None,
        "git": git_state(),
    }


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """sha256 of a file, or of every file in a directory (sorted by name)."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode())
        with open(file, "rb") as handle:
            while block := handle.read(chunk):
                digest.update(block)
    return digest.hexdigest()


def sha256_config(config: dict[str, Any]) -> str:
    """sha256 of a JSON-serialised config (for simulated datasets)."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def _check_results(results: list[dict[str, Any]]) -> None:
    for entry in results:
        missing = {"method", "metrics"} - set(entry)
        if missing:
            raise ValueError(f"card result entry lacks {sorted(missing)}: {entry}")
        for name in entry["metrics"]:
            if not _METRIC_NAME.match(name):
                raise ValueError(f"metric name {name!r} is not lowercase snake_case")


def write_card(
    benchmark: str,
    dataset: dict[str, Any],
    seed: int | None,
    config: dict[str, Any],
    results: list[dict[str, Any]],
    bayes_limit: dict[str, Any] | None = None,
    out_dir: str | Path | None = None,
    name: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write one result card as JSON and return its path."""
    _check_results(results)
    if bayes_limit is not None:
        for metric in bayes_limit:
            if not _METRIC_NAME.match(metric):
                raise ValueError(f"bayes_limit metric {metric!r} is not lowercase snake_case")
    card = {
        "benchmark": benchmark,
        "dataset": dataset,
        "seed": seed,
        "config": config,
        "env": environment(),
        "results": results,
        "bayes_limit": bayes_limit,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if extra:
        card.update(extra)
    out = Path(out_dir) if out_dir is not None else card_dir()
    out.mkdir(parents=True, exist_ok=True)
    stem = name or f"{benchmark}-{dataset.get('name', 'data')}-seed{seed}"
    path = out / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', stem)}.json"
    path.write_text(json.dumps(card, indent=2, default=_json_default) + "\n")
    return path


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__} in a result card")


def read_cards(benchmark: str | None = None, directory: str | Path | None = None) -> list[dict]:
    """All cards in a directory, optionally only those of one benchmark, oldest first."""
    root = Path(directory) if directory is not None else card_dir()
    cards = []
    for file in sorted(root.glob("*.json")):
        card = json.loads(file.read_text())
        if benchmark is None or card.get("benchmark") == benchmark:
            card["_path"] = str(file)
            cards.append(card)
    return sorted(cards, key=lambda c: c.get("created", ""))


class Stopwatch:
    """Context manager measuring wall seconds: ``with Stopwatch() as sw: ...; sw.seconds``."""

    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
