"""Copr dist-git: imports SRPMs into git repos and a lookaside cache, and serves both."""
