"""A project's forge secret: the key forges sign their webhook requests with.

The secret in the receiver URL (``Project.webhook_secret``) says which project a request
is for; the forge secret, when a project sets one, also proves the request came from the
forge (GitHub's and Bitbucket's HMAC signature, GitLab's token).
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from copr_frontend.db import Base, now


class ForgeSecret(Base):
    __tablename__ = "webhook_forge_secrets"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[str] = mapped_column(String(200))
    created_on: Mapped[int] = mapped_column(default=now)
