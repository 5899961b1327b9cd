"""Result cards (one JSON per benchmark run) and the docs pages generated from them."""

from shopml.report.cards import card_dir, read_cards, write_card

__all__ = ["card_dir", "read_cards", "write_card"]
