"""Accounts logic: users, passwords, API tokens, groups.  Never commits."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import time

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from copr_common.names import InvalidNameError, validate_owner
from copr_frontend.db import now
from copr_frontend.users.addresses import AddressError, check_address
from copr_frontend.users.models import Group, GroupMembership, User

_TOKEN_ALPHABET = string.ascii_lowercase
_TOKEN_LENGTH = 32
_DAY = 24 * 3600


class AccountError(ValueError):
    """A user or group operation that cannot be done; the message says why."""


class TokenError(Exception):
    """An API login/token pair that does not authenticate; the message says why."""


def _random_word() -> str:
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(_TOKEN_LENGTH))


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def validate_user_name(name: str) -> str:
    if name.startswith("@"):
        raise AccountError(f"user name {name!r} is invalid: '@' marks group names")
    try:
        validate_owner(name)
    except InvalidNameError as error:
        raise AccountError(str(error).replace("owner", "user name", 1)) from None
    if len(name) > 100:
        raise AccountError(f"user name {name!r} is too long (at most 100 characters)")
    return name


def get_user(session: Session, name: str) -> User | None:
    return session.scalar(select(User).where(User.name == name))


def create_user(
    session: Session,
    name: str,
    *,
    password: str | None = None,
    admin: bool = False,
    mail: str = "",
) -> User:
    validate_user_name(name)
    if get_user(session, name) is not None:
        raise AccountError(f"user {name!r} already exists")
    user = User(name=name, admin=admin)
    set_mail_settings(user, mail=mail)
    if password is not None:
        set_password(user, password)
    session.add(user)
    session.flush()
    return user


def set_mail_settings(
    user: User, *, mail: str | None = None, email_notifications: bool | None = None
) -> None:
    """Change the user's address (empty: none) and their opt-in to build e-mail; an
    opt-in needs an address.
    """
    if mail is not None:
        try:
            user.mail = check_address(mail) if mail.strip() else ""
        except AddressError as error:
            raise AccountError(str(error)) from None
    if email_notifications is not None:
        user.email_notifications = email_notifications
    if user.email_notifications and not user.mail:
        raise AccountError("e-mail notifications need an e-mail address: give 'mail' too")


def set_password(user: User, password: str) -> None:
    if len(password) < 8:
        raise AccountError("the password is too short: use at least 8 characters")
    user.password_hash = generate_password_hash(password)


def check_password(user: User, password: str) -> bool:
    if not user.password_hash:
        return False
    return check_password_hash(user.password_hash, password)


def authenticate_password(session: Session, name: str, password: str) -> User | None:
    user = get_user(session, name)
    if user is None or not check_password(user, password):
        return None
    return user


def issue_api_token(user: User, lifetime_days: int) -> str:
    """Create or renew ``user``'s API token; returns the token (only its hash is kept).

    The API login stays the same across renewals so existing configs only need the new
    token.
    """
    if lifetime_days < 1:
        raise AccountError("the token lifetime must be at least one day")
    if not user.api_login:
        user.api_login = _random_word()
    token = _random_word()
    user.api_token_hash = _hash_token(token)
    user.api_token_expires_on = now() + lifetime_days * _DAY
    return token


def authenticate_token(session: Session, login: str, token: str) -> User:
    """The user whose API login and token these are; TokenError says what is wrong."""
    user = session.scalar(select(User).where(User.api_login == login)) if login else None
    if (
        user is None
        or not user.api_token_hash
        or not hmac.compare_digest(user.api_token_hash, _hash_token(token))
    ):
        raise TokenError(
            "Login invalid/expired: the API login or token is wrong. Get a new token "
            "(copr-frontend api-token <user>) and update your copr-cli config."
        )
    expires = user.api_token_expires_on
    if expires is not None and expires < now():
        day = time.strftime("%Y-%m-%d", time.gmtime(expires))
        raise TokenError(
            f"Login invalid/expired: the API token expired on {day}. Renew it "
            "(copr-frontend api-token <user>) and update your copr-cli config."
        )
    return user


def get_group(session: Session, name: str) -> Group | None:
    return session.scalar(select(Group).where(Group.name == name.removeprefix("@")))


def create_group(session: Session, name: str) -> Group:
    plain = name.removeprefix("@")
    try:
        validate_owner(plain)
    except InvalidNameError:
        raise AccountError(
            f"group name {name!r} is invalid: use letters, digits, '_', '.', '-'"
        ) from None
    if get_group(session, plain) is not None:
        raise AccountError(f"group @{plain} already exists")
    group = Group(name=plain)
    session.add(group)
    session.flush()
    return group


def add_member(session: Session, group: Group, user: User) -> None:
    if is_member(session, user, group):
        raise AccountError(f"{user.name} is already a member of @{group.name}")
    session.add(GroupMembership(user_id=user.id, group_id=group.id))
    session.flush()
    session.expire(group, ["members"])
    session.expire(user, ["groups"])


def is_member(session: Session, user: User, group: Group) -> bool:
    found = session.get(GroupMembership, (user.id, group.id))
    return found is not None
