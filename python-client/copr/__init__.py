"""Python client for Copr: the API v3 client lives in :mod:`copr.v3`."""

__version__ = "0.1.0"
