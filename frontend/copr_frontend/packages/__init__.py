"""Packages of a project and how to get their sources."""
