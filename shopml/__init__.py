"""shopml: published e-commerce and marketplace ML on one event-log data model."""

__version__ = "0.1.0"
