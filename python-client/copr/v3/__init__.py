"""Copr API v3 client: ``Client``, the resource proxies, exceptions and helpers."""

from copr.v3.client import Client
from copr.v3.exceptions import (
    CoprAuthException,
    CoprConfigException,
    CoprException,
    CoprNoConfigException,
    CoprNoResultException,
    CoprRequestException,
    CoprTimeoutException,
    CoprValidationException,
)
from copr.v3.helpers import DEFAULT_CONFIG_PATH, config_from_file, succeeded, wait
from copr.v3.pagination import all_pages, next_page, unlimited
from copr.v3.proxies import BaseProxy
from copr.v3.proxies.build import BuildProxy
from copr.v3.proxies.build_chroot import BuildChrootProxy
from copr.v3.proxies.mock_chroot import MockChrootProxy
from copr.v3.proxies.monitor import MonitorProxy
from copr.v3.proxies.notification import NotificationProxy
from copr.v3.proxies.package import PackageProxy
from copr.v3.proxies.permissions import PermissionsProxy
from copr.v3.proxies.project import ProjectProxy
from copr.v3.proxies.project_chroot import ProjectChrootProxy
from copr.v3.proxies.quota import QuotaProxy
from copr.v3.proxies.user import UserProxy
from copr.v3.proxies.webhook import WebhookProxy
from copr.v3.results import List, Munch

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "BaseProxy",
    "BuildChrootProxy",
    "BuildProxy",
    "Client",
    "CoprAuthException",
    "CoprConfigException",
    "CoprException",
    "CoprNoConfigException",
    "CoprNoResultException",
    "CoprRequestException",
    "CoprTimeoutException",
    "CoprValidationException",
    "List",
    "MockChrootProxy",
    "MonitorProxy",
    "Munch",
    "NotificationProxy",
    "PackageProxy",
    "PermissionsProxy",
    "ProjectChrootProxy",
    "ProjectProxy",
    "QuotaProxy",
    "UserProxy",
    "WebhookProxy",
    "all_pages",
    "config_from_file",
    "next_page",
    "succeeded",
    "unlimited",
    "wait",
]
