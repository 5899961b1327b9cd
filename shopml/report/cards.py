"""Result cards: every benchmark run writes one JSON file under docs/results/cards/.

A card holds ``benchmark``, ``dataset`` (name, path or preset, sha256 of the
input file or of the simulator config), ``seed``, ``config``, ``env``
(package versions, machine), ``results`` (a list of ``{"method", "metrics",
"wall_s"}``), ``bayes_limit`` (metrics of the simulator's truth, where the
data is simulated) and ``created``; a card of a registered sample that replaced one written
when the sample had other bytes keeps ``sample_changes`` (old and new sha256, when). Metric
names are lowercase snake_case.
Docs tables are generated from cards, never typed by hand.
"""

from __future__ import annotations

import contextlib
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


def file_dataset_name(kind: str, path: str | Path, sha256: str, sample: str | None = None) -> str:
    """A card's dataset name for a user's file: ``kind`` for the registered sample file itself
    (``sample``, relative to the shared data directory), else ``kind-<file stem>-<sha256[:8]>``,
    so two files never share a card name or a results section."""
    if sample is not None:
        from shopml.data.samples import SampleDataMissingError, sample_path

        with contextlib.suppress(SampleDataMissingError):  # no sample here: name it by the file
            if sha256_file(sample_path(sample)) == sha256:
                return kind
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(path).name.split(".")[0]) or "data"
    return f"{kind}-{stem}-{sha256[:8]}"


def subsampled(dataset: dict[str, Any], fraction: float | None, clicks: int) -> dict[str, Any]:
    """A file's dataset entry read as a random ``fraction`` of its clicks: named apart from the
    whole file (``-subsample<f>``), so their cards never mix, and described (``subsample``)."""
    if fraction is None:
        return dataset
    sample = {"fraction": fraction, "seed": 0, "clicks": clicks}
    share = repr(float(fraction))  # exact: two shares never share a card name
    return {**dataset, "name": f"{dataset['name']}-subsample{share}", "subsample": sample}


def event_log_kind(meta: dict[str, Any]) -> str:
    """The ``kind`` of a card's dataset name for an event-log directory (not a release file):
    ``<preset>_log`` for a simulated world (``c2c_log``), else ``<source>_log`` or ``event_log``."""
    origin = meta.get("preset") or meta.get("source")
    return f"{re.sub(r'[^A-Za-z0-9_]+', '_', str(origin))}_log" if origin else "event_log"


def file_dataset(
    kind: str, path: str | Path, sha256: str, sample: str | None = None
) -> dict[str, Any]:
    """A card's dataset entry for a user's file: ``name`` (see :func:`file_dataset_name`),
    ``path``, ``sha256`` and, when the file is the registered sample ``sample`` itself,
    ``sample`` (so a later run may replace the card after the sample's bytes changed)."""
    name = file_dataset_name(kind, path, sha256, sample)
    entry: dict[str, Any] = {"name": name, "path": str(path), "sha256": sha256}
    if sample is not None and name == kind:
        entry["sample"] = sample
    return entry


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
    path = card_file(name or f"{benchmark}-{dataset.get('name', 'data')}-seed{seed}", out_dir)
    history, change = _replaced_card(path, dataset)
    if history or change:
        card["sample_changes"] = [*history, *([change] if change else [])]
    path.parent.mkdir(parents=True, exist_ok=True)
    save_card(path, card)
    return path


def card_file(stem: str, out_dir: str | Path | None = None) -> Path:
    """The path of the card named ``stem`` in ``out_dir`` (default :func:`card_dir`)."""
    out = Path(out_dir) if out_dir is not None else card_dir()
    return out / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', stem)}.json"


def check_card_paths(
    dataset: dict[str, Any],
    stems: list[str],
    out_dir: str | Path | None = None,
    console: Any = None,
) -> None:
    """Before a benchmark's work: raise the ValueError :func:`write_card` would raise later for
    any of the cards ``stems`` of ``dataset`` (one holding another data file's card), and print
    a note (to ``console``, else stderr) for the registered sample's cards it will replace
    because the sample's bytes changed since they were written."""
    replaced = []
    for stem in stems:
        path = card_file(stem, out_dir)
        _, change = _replaced_card(path, dataset)
        if change:
            replaced.append((path, change))
    if not replaced:
        return
    olds = sorted({str(change["old_sha256"])[:12] for _, change in replaced})
    note = (
        f"the registered sample {dataset['sample']} has changed since {len(replaced)} of its "
        f"card(s) were written (sha256 {', '.join(olds)}... then, {dataset['sha256'][:12]}... "
        f"now): this run replaces {', '.join(p.name for p, _ in replaced)}, recording the "
        "change under sample_changes; rerun the sample's other cards too, so that no results "
        "page mixes the two versions"
    )
    if console is None:
        import sys

        print(f"note: {note}", file=sys.stderr)
    else:
        from shopml.console import print_notes

        print_notes(console, [note])


def _replaced_card(path: Path, dataset: dict[str, Any]) -> tuple[list[dict], dict | None]:
    """What writing ``dataset``'s card to ``path`` replaces: the old card's ``sample_changes``
    (kept in the new card) and this run's change of the registered sample's bytes (or None).

    ValueError when ``path`` holds a card of another data file (a different sha256, where
    either card was run on a file): a rerun may replace its own card, never another file's.
    The registered sample file itself (``dataset["sample"]``) may replace its own card (the
    same dataset name) written when the sample had other bytes (updated and fetched again)."""
    if not path.exists():
        return [], None
    try:
        old_card = json.loads(path.read_text())
        old = old_card.get("dataset") or {}
        history = list(old_card.get("sample_changes") or [])
    except (OSError, ValueError, AttributeError, TypeError):  # unreadable: replaced as before
        return [], None
    from_file = "path" in old or "path" in dataset
    if not (from_file and old.get("sha256") and old.get("sha256") != dataset.get("sha256")):
        return history, None
    if dataset.get("sample") and old.get("name") == dataset.get("name"):
        return history, {
            "sample": dataset["sample"],
            "old_sha256": old["sha256"],
            "new_sha256": dataset.get("sha256"),
            "old_path": old.get("path"),
            "old_created": old_card.get("created"),
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    raise ValueError(
        f"{path} holds the card of another data file ({old.get('path', old.get('name'))}, "
        f"sha256 {str(old.get('sha256'))[:12]}...); not overwritten: write the card to "
        "another card directory"
    )


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
        card = read_card(file)
        if benchmark is None or card.get("benchmark") == benchmark:
            card["_path"] = str(file)
            cards.append(card)
    return sorted(cards, key=lambda c: c.get("created", ""))


def read_card(file: str | Path) -> dict:
    """One card file; ValueError naming the file if it is not JSON or not a result card."""
    try:
        card = json.loads(Path(file).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{file}: not a readable result card ({exc})") from exc
    if not isinstance(card, dict) or not {"benchmark", "results"} <= card.keys():
        raise ValueError(
            f"{file}: not a result card (a JSON object with 'benchmark' and 'results'); "
            "move it out of the card directory"
        )
    return card


class Stopwatch:
    """Context manager measuring wall seconds: ``with Stopwatch() as sw: ...; sw.seconds``."""

    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


def merge_rerun(card_path: str | Path, rerun_path: str | Path, methods: list[str], reason: str) -> dict:
    """Replace `methods`' results in a card by those of a rerun on the same dataset and seed.

    Used when code changes affect only some methods: the card keeps its other results, takes
    the rerun's entries for `methods` and records the merge (the rerun's environment, git
    commit, reason, and how far the rerun's entries for the unchanged methods moved) under
    ``reruns``. Refuses a rerun of another benchmark, dataset, seed or configuration (keys both
    cards record, apart from the list of methods run).
    """
    card_path = Path(card_path)
    card = merged_card(card_path, rerun_path, methods, reason)
    save_card(card_path, card)
    return card


def merged_card(card_path: str | Path, rerun_path: str | Path, methods: list[str], reason: str) -> dict:
    """The card `merge_rerun` would write, without writing it (so a batch can be checked first)."""
    card_path, rerun_path = Path(card_path), Path(rerun_path)
    card, rerun = read_card(card_path), read_card(rerun_path)
    for key in ("benchmark", "seed"):
        if card.get(key) != rerun.get(key):
            raise ValueError(f"{rerun_path} has {key} {rerun.get(key)!r}, the card {card.get(key)!r}")
    if card["dataset"].get("sha256") != rerun["dataset"].get("sha256"):
        raise ValueError(f"{rerun_path} ran on another dataset than {card_path}")
    old_config, new_config = card.get("config") or {}, rerun.get("config") or {}
    differ = sorted(  # keys both record; which methods ran may differ, nothing else
        k for k in set(old_config) & set(new_config) - {"methods"} if old_config[k] != new_config[k]
    )
    if differ:
        raise ValueError(f"{rerun_path} ran with another config than {card_path}: {differ}")
    repeated = sorted({m for m in methods if methods.count(m) > 1})
    if repeated:
        raise ValueError(f"methods {repeated} named more than once")
    new = {r["method"]: r for r in rerun["results"]}
    missing = sorted(set(methods) - set(new))
    if missing:
        raise ValueError(f"{rerun_path} has no results for {missing}")
    old_methods = {r["method"] for r in card["results"]}
    drift = {}
    for entry in card["results"]:
        name = entry["method"]
        if name in new and name not in methods:  # unchanged methods the rerun repeated
            drift[name] = {
                k: new[name]["metrics"][k] - v
                for k, v in entry["metrics"].items()
                if k in new[name]["metrics"] and isinstance(v, int | float)
            }
    card["results"] = [new[r["method"]] if r["method"] in methods else r for r in card["results"]]
    card["results"] += [new[m] for m in methods if m not in old_methods]
    card.setdefault("reruns", []).append(
        {
            "methods": methods,
            "reason": reason,
            "created": rerun.get("created"),
            "env": rerun.get("env"),
            "config": rerun.get("config"),
            "unchanged_methods_delta": drift,
        }
    )
    return card


def relabel_methods(card_path: str | Path, names: dict[str, str], reason: str) -> dict:
    """Rename methods in a card when the code a name runs has changed since the card was made.

    The numbers stay; the entry takes the name under which today's code reproduces them
    (e.g. a default that became an option), and the card records the renaming under
    ``relabels`` so the history is visible.
    """
    card_path = Path(card_path)
    card = relabelled_card(card_path, names, reason)
    save_card(card_path, card)
    return card


def relabelled_card(
    card_path: str | Path, names: dict[str, str], reason: str, card: dict | None = None
) -> dict:
    """The card `relabel_methods` would write, without writing it (``card``: the file's
    contents when the caller has read them already; they are changed in place)."""
    card_path = Path(card_path)
    if card is None:
        card = read_card(card_path)
    present = {r["method"] for r in card["results"]}
    missing = sorted(set(names) - present)
    if missing:
        raise ValueError(f"{card_path} has no results for {missing}")
    targets = list(names.values())
    merged = sorted({n for n in targets if targets.count(n) > 1})
    if merged:
        raise ValueError(f"several methods would be renamed to {merged}")
    clash = sorted(set(names.values()) & (present - set(names)))
    if clash:
        raise ValueError(f"{card_path} already has results named {clash}")
    for entry in card["results"]:
        entry["method"] = names.get(entry["method"], entry["method"])
    card.setdefault("relabels", []).append(
        {"names": names, "reason": reason, "at": datetime.now(UTC).isoformat(timespec="seconds")}
    )
    return card


def save_card(path: str | Path, card: dict) -> None:
    """Write a card dict (as read or merged) back to its JSON file."""
    card = {k: v for k, v in card.items() if k != "_path"}
    Path(path).write_text(json.dumps(card, indent=2, default=_json_default) + "\n")
