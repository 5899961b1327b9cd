"""`shopml cards merge` and `shopml cards relabel`: keep result cards true when code changes.

When a change affects some methods only, rerun those methods with ``--cards SCRATCH`` and merge
their results into the kept cards (each card records the rerun's commit and reason); when a
name's meaning changes (a default became an option), relabel the old entries with the name
that reproduces them today. Every card is checked before any is written; a method named twice
in ``--methods``, or two methods renamed to one name, is refused (a card would hold two
entries of one method).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from shopml.cli_support import console, fail

CARDS = Path("docs/results/cards")


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise fail("name at least one method")
    return names


def _repeated(values: list[str]) -> list[str]:
    """Values listed more than once, in the order they first appear."""
    return sorted({v for v in values if values.count(v) > 1}, key=values.index)


def parse_renames(text: str) -> dict[str, str]:
    """'old=new,old2=new2' → {old: new, old2: new2}; a name renamed twice, or two names renamed
    to one (the card would hold two entries of that name), is refused (exit 2)."""
    pairs = []
    for item in _names(text):
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise fail(f"--rename takes OLD=NEW pairs, got {item!r}")
        pairs.append((old.strip(), new.strip()))
    olds, news = [o for o, _ in pairs], [n for _, n in pairs]
    if twice := _repeated(olds):
        raise fail(f"--rename renames {', '.join(twice)} more than once; nothing written")
    for new in _repeated(news):
        sources = [o for o, n in pairs if n == new]
        raise fail(
            f"--rename maps {', '.join(sources)} all to {new}: a card would hold {new} twice; "
            "nothing written"
        )
    return dict(pairs)


def merge(
    reruns: Annotated[Path, typer.Argument(help="directory of the rerun's cards")],
    methods: Annotated[str, typer.Option(help="comma-separated methods to take from the rerun")],
    reason: Annotated[str, typer.Option(help="why they were rerun (kept in each card)")],
    cards: Annotated[Path, typer.Option(help="directory of the cards to update")] = CARDS,
) -> None:
    """Replace some methods' results in kept cards by a rerun's (same file names)."""
    from shopml.report.cards import merged_card, save_card

    names = _names(methods)
    if twice := _repeated(names):
        raise fail(f"--methods names {', '.join(twice)} more than once; nothing written")
    files = sorted(reruns.glob("*.json"))
    if not files:
        raise fail(f"{reruns} holds no result cards (*.json)")
    updates = []
    for rerun in files:
        target = cards / rerun.name
        if not target.exists():
            raise fail(f"{rerun.name} has no card of the same name in {cards}; nothing written")
        try:
            updates.append((target, merged_card(target, rerun, names, reason)))
        except ValueError as exc:
            raise fail(f"{exc}; nothing written") from exc
    for target, card in updates:
        save_card(target, card)
        drift = card["reruns"][-1]["unchanged_methods_delta"]
        moved = {m: max((abs(v) for v in d.values()), default=0.0) for m, d in drift.items()}
        note = ", ".join(
            f"{m} moved by up to {v:.2g}" if v else f"{m} unchanged" for m, v in moved.items()
        )
        text = f"merged {', '.join(names)} into {target}" + (f" ({note})" if note else "")
        console.print(escape(text), soft_wrap=True)


def relabel(
    rename: Annotated[str, typer.Option(help="OLD=NEW method names, comma-separated")],
    reason: Annotated[str, typer.Option(help="why the names change (kept in each card)")],
    match: Annotated[str, typer.Option(help="only card files matching this glob")] = "*.json",
    cards: Annotated[Path, typer.Option(help="directory of the cards to update")] = CARDS,
) -> None:
    """Rename methods in every matching card that holds them (the numbers stay)."""
    from shopml.report.cards import read_card, relabelled_card, save_card

    names = parse_renames(rename)
    updates = []
    for path in sorted(cards.glob(match)):
        try:
            card = read_card(path)
            present = {r["method"] for r in card["results"]}
            held = {old: new for old, new in names.items() if old in present}
            if held:
                updates.append((path, held, relabelled_card(path, held, reason, card)))
        except ValueError as exc:
            raise fail(f"{exc}; nothing written") from exc
    if not updates:
        raise fail(f"no card matching {match} in {cards} holds {sorted(names)}")
    for path, held, card in updates:
        save_card(path, card)
        console.print(f"relabelled {held} in {escape(str(path))}", soft_wrap=True)


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add the `cards` commands to the CLI."""
    cards_app = typer.Typer(no_args_is_help=True, help="Update result cards after a code change.")
    cards_app.command("merge")(merge)
    cards_app.command("relabel")(relabel)
    app.add_typer(cards_app, name="cards")
