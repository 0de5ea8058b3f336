"""Every domain's models in one import, so ``Base.metadata`` knows all tables.

Alembic and the test fixtures import this module; application code imports the domain
modules it needs.
"""

from copr_frontend.actions.models import Action
from copr_frontend.builds.models import (
    Batch,
    Build,
    BuildChroot,
    BuildChrootExclusion,
    CancelRequest,
)
from copr_frontend.db import Base
from copr_frontend.downloads.models import DownloadCount, DownloadLogPosition
from copr_frontend.mockchroots.models import MockChroot
from copr_frontend.notifications.models import (
    EmailDelivery,
    NotificationDelivery,
    NotificationEndpoint,
)
from copr_frontend.packages.models import Package
from copr_frontend.permissions.models import ProjectPermission
from copr_frontend.projects.models import Project, ProjectChroot, ProjectDir
from copr_frontend.quotas.models import OwnerQuota
from copr_frontend.users.models import Group, GroupMembership, User
from copr_frontend.webhooks.models import ForgeSecret

__all__ = [
    "Action",
    "Base",
    "Batch",
    "Build",
    "BuildChroot",
    "BuildChrootExclusion",
    "CancelRequest",
    "DownloadCount",
    "DownloadLogPosition",
    "EmailDelivery",
    "ForgeSecret",
    "Group",
    "GroupMembership",
    "MockChroot",
    "NotificationDelivery",
    "NotificationEndpoint",
    "OwnerQuota",
    "Package",
    "Project",
    "ProjectChroot",
    "ProjectDir",
    "ProjectPermission",
    "User",
]
