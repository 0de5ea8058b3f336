"""The backend's client of the frontend: the shared backend-API client, from the settings.

See :mod:`copr_common.backend_api` for the calls and how they retry.  Reports are retried
for ``frontend_retry_for`` seconds; a worker that still cannot report leaves its build to
the worker that takes the task over (see :mod:`copr_backend.builds.worker`).
"""

from __future__ import annotations

from copr_backend.settings import BackendSettings
from copr_common.backend_api import BackendApiClient, BackendApiError

__all__ = ["BackendApiClient", "BackendApiError", "frontend_client"]


def frontend_client(settings: BackendSettings) -> BackendApiClient:
    return BackendApiClient(
        settings.frontend_url,
        settings.frontend_auth,
        timeout=settings.frontend_timeout,
        report_patience=settings.frontend_retry_for,
    )
