"""The client: one proxy per API v3 resource, all from one config."""

from __future__ import annotations

from typing import Any, Self

from copr.v3.helpers import config_from_file
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


class Client:
    """Entry point of the library, with one proxy per API resource.

    For example::

        client = Client.create_from_config_file()
        build = client.build_proxy.create_from_file("me", "proj", "foo.src.rpm")
    """

    def __init__(self, config: dict[str, Any]):
        self.config = config
        self.base_proxy = BaseProxy(config)
        self.project_proxy = ProjectProxy(config)
        self.build_proxy = BuildProxy(config)
        self.package_proxy = PackageProxy(config)
        self.mock_chroot_proxy = MockChrootProxy(config)
        self.monitor_proxy = MonitorProxy(config)
        self.project_chroot_proxy = ProjectChrootProxy(config)
        self.build_chroot_proxy = BuildChrootProxy(config)
        self.webhook_proxy = WebhookProxy(config)
        self.permissions_proxy = PermissionsProxy(config)
        self.notification_proxy = NotificationProxy(config)
        self.quota_proxy = QuotaProxy(config)
        self.user_proxy = UserProxy(config)

    @classmethod
    def create_from_config_file(cls, path: str | None = None) -> Self:
        """A client configured from ``path`` (default ``~/.config/copr``)."""
        return cls(config_from_file(path))
