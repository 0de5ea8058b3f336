"""Queueing backend actions and reading their queue.  Never commits.

The backend reads ``data`` as a JSON-encoded string (as Copr's backend does), so
:func:`action_to_json` serializes it that way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from copr_common.enums import ActionTypeEnum, BackendResultEnum, DefaultActionPriorityEnum
from copr_frontend.actions.models import Action
from copr_frontend.db import now
from copr_frontend.projects.models import Project


def default_priority(action_type: ActionTypeEnum) -> int:
    try:
        return int(DefaultActionPriorityEnum[action_type.name])
    except KeyError:
        return 0


def queue_action(
    session: Session,
    action_type: ActionTypeEnum,
    object_type: str,
    object_id: int | None,
    data: dict[str, Any],
    *,
    project: Project | None = None,
    old_value: str | None = None,
    new_value: str | None = None,
    priority: int | None = None,
) -> Action:
    action = Action(
        action_type=action_type,
        object_type=object_type,
        object_id=object_id,
        data=data,
        project=project,
        old_value=old_value,
        new_value=new_value,
        priority=default_priority(action_type) if priority is None else priority,
        result=BackendResultEnum.waiting,
        created_on=now(),
    )
    session.add(action)
    session.flush()
    return action


def waiting_actions(session: Session) -> Sequence[Action]:
    """Actions the backend has not finished, in the order to start them, with their
    project (which names the queue of an action whose data does not).
    """
    query = (
        select(Action)
        .where(Action.result == BackendResultEnum.waiting)
        .options(joinedload(Action.project))
        .order_by(Action.priority, Action.id)
    )
    return session.scalars(query).all()


def waiting_action_count(session: Session) -> int:
    query = (
        select(func.count()).select_from(Action).where(Action.result == BackendResultEnum.waiting)
    )
    return session.scalar(query) or 0


def finish_action(
    action: Action, result: BackendResultEnum, message: str | None, ended_on: int | None
) -> bool:
    """Record the backend's report; a second report of a finished action changes nothing."""
    if action.result != BackendResultEnum.waiting:
        return False
    action.result = result
    action.message = message
    action.ended_on = ended_on or now()
    return True


def action_to_json(action: Action) -> dict[str, Any]:
    return {
        "id": action.id,
        "action_type": int(action.action_type),
        "object_type": action.object_type,
        "object_id": action.object_id,
        "old_value": action.old_value,
        "new_value": action.new_value,
        "data": json.dumps(action.data),
        "priority": action.priority,
        "created_on": action.created_on,
        "ended_on": action.ended_on,
        "result": int(action.result),
        "message": action.message,
    }
