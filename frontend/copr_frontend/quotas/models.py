"""An admin's override of an owner's storage limit (``copr-frontend set-quota``)."""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from copr_frontend.db import Base, now


class OwnerQuota(Base):
    """The storage limit of one owner (a user, or ``@group``) instead of the default."""

    __tablename__ = "owner_quotas"

    ownername: Mapped[str] = mapped_column(String(101), primary_key=True)
    limit_bytes: Mapped[int | None] = mapped_column(BigInteger)
    """Bytes the owner's results may take; None: no limit for this owner."""
    set_on: Mapped[int] = mapped_column(default=now)
