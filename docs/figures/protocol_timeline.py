"""Draw the NetCVR stream protocol (TESLA App. D) as docs/figures/protocol_timeline.png.

python docs/figures/protocol_timeline.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle


def draw(path: Path) -> Path:
    """Top: the log split; bottom: one click's windows and the samples TESLA delivers."""
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(11, 5.2), gridspec_kw={"height_ratios": [1, 1.6]}
    )
    # --- the split of the log
    parts = [
        (0, 8, "pre-training part\n(complete labels)", "#9ecae1"),
        (8, 14, "gap = W_v_attr + W_r_attr\n(no training: prevents leakage)", "#eeeeee"),
        (
            14,
            25,
            "streaming part: 15-min slices\ntrain on slice n, evaluate on the clicks of slice n+1",
            "#a1d99b",
        ),
    ]
    for lo, hi, label, color in parts:
        top.add_patch(Rectangle((lo, 0), hi - lo, 1, color=color, ec="k"))
        top.text((lo + hi) / 2, 0.5, label, ha="center", va="center", fontsize=9)
    for x in [14 + i * 0.5 for i in range(1, 22)]:
        top.plot([x, x], [0, 0.15], color="k", lw=0.5)
    top.set_xlim(0, 25)
    top.set_ylim(0, 1)
    top.set_yticks([])
    top.set_xlabel("day of the log (defaults for a 25-day CASCADE-like log)")
    # --- one click's cascade
    c, p, r = 0.0, 2.0, 2.6
    bottom.axhline(0, color="k", lw=0.8)
    for t, name in [(c, "click"), (p, "pay"), (r, "refund")]:
        bottom.plot([t], [0], "o", color="k")
        bottom.text(t, -0.35, name, ha="center", fontsize=9)
    spans = [
        (c, c + 0.8, 0.9, "conversion observation W_v_obs (15 min)", "#fdae6b"),
        (c, c + 7.0, 1.6, "conversion attribution W_v_attr (3 d)", "#fdd0a2"),
        (p, p + 0.8, 2.3, "refund observation W_r_obs (15 min)", "#bcbddc"),
        (p, p + 7.0, 3.0, "refund attribution W_r_attr (3 d)", "#dadaeb"),
    ]
    for lo, hi, y, label, color in spans:
        bottom.add_patch(Rectangle((lo, y - 0.25), hi - lo, 0.5, color=color, ec="k", lw=0.5))
        bottom.text(lo + 0.05, y, label, va="center", fontsize=8.5)
    notes = [
        (
            c + 0.8,
            0.2,
            "CVR sample at c + W_v_obs with the label\nobserved then (here 0: a fake negative)",
        ),
        (p, 3.3, "positive duplicate\nat the pay time"),
        (
            r,
            5.6,
            "RFR sample at min(refund, pay + W_r_obs):\nhere the refund comes first (iRefund)",
        ),
    ]
    for x, text_x, text in notes:
        bottom.annotate(
            text, (x, 0), (text_x, -1.7), fontsize=8, arrowprops={"arrowstyle": "->", "lw": 0.6}
        )
    bottom.set_xlim(-0.3, 9.5)
    bottom.set_ylim(-2.1, 3.5)
    bottom.set_yticks([])
    bottom.set_xticks([])
    bottom.set_title(
        "one click (schematic, not to scale): the four windows and TESLA's deliveries", fontsize=10
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    print(draw(Path(__file__).with_name("protocol_timeline.png")))
