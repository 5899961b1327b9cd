"""The event log, its schema and validation, the simulator and dataset loaders."""

from shopml.data.eventlog import NO_EVENT, EventLog, EventLogError
from shopml.data.loaders import DatasetError, load, loaders
from shopml.data.loaders._common import load_report, load_report_lines
from shopml.data.schema import Feature, FeatureSpec, LeakyFeatureError

__all__ = [
    "NO_EVENT",
    "DatasetError",
    "EventLog",
    "EventLogError",
    "Feature",
    "FeatureSpec",
    "LeakyFeatureError",
    "load",
    "load_report",
    "load_report_lines",
    "loaders",
]
