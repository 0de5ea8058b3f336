"""Copr keygen: per-project GPG keys and signing; the private keys never leave it."""
