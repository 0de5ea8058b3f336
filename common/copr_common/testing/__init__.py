"""Test support shared by every service: real PostgreSQL, Redis and RabbitMQ servers.

Installed as a pytest plugin (entry point ``copr_common``), so the fixtures of
:mod:`copr_common.testing.plugin` are there in every service's tests.
"""
