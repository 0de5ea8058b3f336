"""Routes of the keygen service: parse, call :mod:`copr_keygen.keys`, answer.

``POST /gen_key`` keeps the request body Copr's backend sends (``name_real``,
``name_email``).  No route has a way to reach a secret key: the keyring can only
export public keys and make signatures.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from copr_common.key_identity import InvalidIdentityError, KeyIdentity
from copr_keygen import context
from copr_keygen.gpg import GpgError
from copr_keygen.keys import ExpiredKeyError, KeyNotFoundError, validate_name_real
from copr_keygen.locks import LockTimeoutError
from copr_keygen.settings import DIGEST_ALGOS, KEY_LENGTHS, MAX_EXPIRE_DAYS

bp = Blueprint("keygen", __name__)

GEN_KEY_FIELDS = frozenset({"name_real", "name_email", "key_length", "expire_days"})


class BadRequestError(ValueError):
    pass


def _error(message: str, status: int) -> tuple[Response, int]:
    return jsonify(error=message), status


def _identity(text: str) -> KeyIdentity:
    try:
        return KeyIdentity.parse(text)
    except InvalidIdentityError as error:
        raise BadRequestError(str(error)) from None


def _int_field(data: dict[str, Any], name: str, default: int) -> int:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequestError(f"{name} must be an integer, got {value!r}")
    return value


@bp.errorhandler(BadRequestError)
def _bad_request(error: BadRequestError) -> tuple[Response, int]:
    return _error(str(error), 400)


@bp.errorhandler(KeyNotFoundError)
def _not_found(error: KeyNotFoundError) -> tuple[Response, int]:
    return _error(str(error.args[0]), 404)


@bp.errorhandler(ExpiredKeyError)
def _expired(error: ExpiredKeyError) -> tuple[Response, int]:
    return _error(str(error), 409)


@bp.errorhandler(LockTimeoutError)
def _busy(error: LockTimeoutError) -> tuple[Response, int]:
    return _error(str(error), 503)


@bp.errorhandler(GpgError)
def _gpg_failed(error: GpgError) -> tuple[Response, int]:
    current_app.logger.error("%s", error)
    return _error(f"key operation failed: {error}", 500)


@bp.get("/ping")
def ping() -> Response:
    return jsonify(status="ok")


@bp.post("/gen_key")
def gen_key() -> tuple[Response, int]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequestError(
            'the body must be a JSON object like {"name_real": ..., "name_email": ...}'
        )
    unknown = sorted(set(data) - GEN_KEY_FIELDS)
    if unknown:
        raise BadRequestError(
            f"unknown fields {', '.join(unknown)}: use {', '.join(sorted(GEN_KEY_FIELDS))}"
        )
    email = data.get("name_email")
    if not isinstance(email, str):
        raise BadRequestError("name_email is required: <owner>#<project>@copr.<domain>")
    identity = _identity(email)
    name_real = data.get("name_real", identity.default_name_real)
    if not isinstance(name_real, str):
        raise BadRequestError(f"name_real must be a string, got {name_real!r}")
    try:
        validate_name_real(name_real)
    except ValueError as error:
        raise BadRequestError(str(error)) from None
    conf = context.settings()
    length = _int_field(data, "key_length", conf.default_key_length)
    if length not in KEY_LENGTHS:
        raise BadRequestError(
            f"key_length {length} is not supported: use one of {', '.join(map(str, KEY_LENGTHS))}"
        )
    expire_days = _int_field(data, "expire_days", conf.default_expire_days)
    if not 0 <= expire_days <= MAX_EXPIRE_DAYS:
        raise BadRequestError(
            f"expire_days {expire_days} is out of range: 0 (never) to {MAX_EXPIRE_DAYS}"
        )

    result = context.key_service().ensure(identity, name_real, length, expire_days)
    body = {"name_email": str(identity), "created": result.created, **result.key.as_json()}
    return jsonify(body), 201 if result.created else 200


@bp.get("/keys/<identity>")
def key_info(identity: str) -> Response:
    key = context.key_service().get(_identity(identity))
    return jsonify({"name_email": str(_identity(identity)), **key.as_json()})


@bp.get("/keys/<identity>/pubkey.gpg")
def public_key(identity: str) -> Response:
    armored = context.key_service().public_key(_identity(identity))
    return Response(armored, mimetype="application/pgp-keys")


@bp.post("/keys/<identity>/sign")
def sign(identity: str) -> Response:
    parsed = _identity(identity)
    digest_algo = request.args.get("digest_algo", context.settings().default_digest_algo)
    digest_algo = digest_algo.upper()
    if digest_algo not in DIGEST_ALGOS:
        raise BadRequestError(
            f"digest_algo {digest_algo!r} is not supported: use one of {', '.join(DIGEST_ALGOS)}"
        )
    armor_arg = request.args.get("armor", "0").lower()
    if armor_arg not in {"0", "1", "true", "false"}:
        raise BadRequestError(f"armor must be 0 or 1, got {armor_arg!r}")
    data = request.get_data(cache=False)
    if not data:
        raise BadRequestError("nothing to sign: send the bytes to sign as the request body")
    armor = armor_arg in {"1", "true"}
    signature = context.key_service().sign(parsed, data, digest_algo, armor=armor)
    return Response(
        signature, mimetype="application/pgp-signature" if armor else "application/octet-stream"
    )
