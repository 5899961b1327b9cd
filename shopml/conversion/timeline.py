"""The cascade timeline of each click (click → pay → refund) and the four windows.

The protocol follows TESLA (Luo et al., WWW 2026, "Modeling Cascaded Delay
Feedback for Online Net Conversion Rate Prediction", arXiv 2601.19965),
Appendix D.1–D.2: two attribution windows define the complete labels, two
observation windows define when a label is first delivered to an online
learner.

- conversion attribution ``W_v_attr`` (3 d): a pay counts if it comes within it
  after the click;
- refund attribution ``W_r_attr`` (3 d): a refund counts if it comes within it
  after the pay;
- conversion observation ``W_v_obs`` (15 min) and refund observation
  ``W_r_obs`` (15 min): how long an online learner waits before delivering a
  click (resp. a conversion) with the label observed so far.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shopml.data.eventlog import NO_EVENT, EventLog

DAY = 86_400


class Windows(BaseModel):
    """The four windows of the NetCVR stream protocol, in seconds."""

    model_config = ConfigDict(extra="forbid")  # a misspelt window is an error, not the default
    conversion_attribution_s: int = Field(default=3 * DAY, gt=0)
    refund_attribution_s: int = Field(default=3 * DAY, gt=0)
    conversion_observation_s: int = Field(default=900, ge=0)
    refund_observation_s: int = Field(default=900, ge=0)

    @model_validator(mode="after")
    def _observation_within_attribution(self) -> Windows:
        """An observation window longer than its attribution window waits past every label."""
        for stage in ("conversion", "refund"):
            observe = getattr(self, f"{stage}_observation_s")
            attribute = getattr(self, f"{stage}_attribution_s")
            if observe > attribute:
                raise ValueError(
                    f"{stage}_observation_s ({observe} s) is longer than "
                    f"{stage}_attribution_s ({attribute} s): no {stage} label arrives after "
                    f"its attribution window, so give an observation window of at most "
                    f"{attribute} s"
                )
        return self

    @property
    def leakage_gap_s(self) -> int:
        """Gap between pre-training and streaming parts: W_v_attr + W_r_attr."""
        return self.conversion_attribution_s + self.refund_attribution_s


@dataclass(frozen=True)
class Timeline:
    """Per click: click time, first attributed pay time and attributed refund time.

    ``pay_ts`` / ``refund_ts`` hold :data:`NO_EVENT` where the event does not
    happen within its attribution window; these define the complete labels.
    """

    click_ts: np.ndarray
    pay_ts: np.ndarray
    refund_ts: np.ndarray

    @classmethod
    def from_log(cls, log: EventLog, windows: Windows) -> Timeline:
        """Derive the timeline from an event log's pay and refund events."""
        pay = log.first_event_ts("pay", windows.conversion_attribution_s)
        refund = log.refund_ts(windows.conversion_attribution_s, windows.refund_attribution_s)
        return cls(click_ts=log.column("ts").astype(np.int64), pay_ts=pay, refund_ts=refund)

    def __len__(self) -> int:
        return len(self.click_ts)

    @property
    def paid(self) -> np.ndarray:
        """Complete CVR label: paid within the conversion attribution window."""
        return self.pay_ts != NO_EVENT

    @property
    def refunded(self) -> np.ndarray:
        """Complete refund label: paid and refunded within the refund attribution window."""
        return self.refund_ts != NO_EVENT

    @property
    def net(self) -> np.ndarray:
        """Complete NetCVR label: paid and not refunded."""
        return self.paid & ~self.refunded

    @property
    def pay_delay(self) -> np.ndarray:
        """Seconds from click to pay (NaN where no pay)."""
        delay = (self.pay_ts - self.click_ts).astype(np.float64)
        delay[~self.paid] = np.nan
        return delay

    @property
    def refund_delay(self) -> np.ndarray:
        """Seconds from pay to refund (NaN where no refund)."""
        delay = (self.refund_ts - self.pay_ts).astype(np.float64)
        delay[~self.refunded] = np.nan
        return delay

    def take(self, rows: np.ndarray) -> Timeline:
        """The timeline of a subset of clicks."""
        return Timeline(self.click_ts[rows], self.pay_ts[rows], self.refund_ts[rows])
