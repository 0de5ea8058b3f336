"""copr-cli: the command line client of Copr, built on the ``copr.v3`` library."""

__version__ = "0.1.0"
