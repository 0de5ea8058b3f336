"""Copr frontend: the system of record.

A Flask application (:func:`copr_frontend.app.create_app`) over SQLAlchemy models packaged
by domain (``users``, ``projects``, ``mockchroots``, ``packages``, ``builds``, ``actions``,
``permissions``), with API v3 under ``/api_3/``, the backend API under ``/backend/`` and
the ``.repo`` files the dnf copr plugin reads.
"""
