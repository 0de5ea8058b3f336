"""Results as attribute-access dicts (``build.state`` as well as ``build["state"]``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import requests


def _wrap(value: Any) -> Any:
    if isinstance(value, Munch):
        return value
    if isinstance(value, Mapping):
        return Munch(value)
    if isinstance(value, list):
        return [_wrap(item) for item in value]
    return value


class Munch(dict[str, Any]):
    """A dict whose keys are also attributes; nested dicts are Munches too.

    ``__response__`` and ``__proxy__`` live on the object, never in the dict, so the dict
    is exactly the server's JSON while python-copr's ``result.__response__`` still works.
    """

    __response__: requests.Response | None
    __proxy__: Any

    def __init__(self, data: Mapping[str, Any] | None = None, **kwargs: Any):
        super().__init__()
        object.__setattr__(self, "__response__", None)
        object.__setattr__(self, "__proxy__", None)
        for key, value in {**(data or {}), **kwargs}.items():
            self[key] = _wrap(value)

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("__response__", "__proxy__"):
            object.__setattr__(self, name, value)
        else:
            self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __dir__(self) -> Iterable[str]:
        return [*super().__dir__(), *self.keys()]

    def toDict(self) -> dict[str, Any]:  # munch's spelling, which scripts use
        """A plain (recursively unwrapped) dict copy."""
        return {key: _unwrap(item) for key, item in self.items()}


def _unwrap(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _unwrap(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unwrap(item) for item in value]
    return value


class List(list[Any]):
    """One page of a paginated listing: the items plus ``meta`` (limit, offset, ...)."""

    def __init__(
        self,
        items: Iterable[Any],
        meta: Mapping[str, Any] | None = None,
        response: requests.Response | None = None,
        proxy: Any = None,
    ):
        super().__init__(items)
        self.meta = Munch(meta or {})
        self.__response__ = response
        self.__proxy__ = proxy


def munchify(response: requests.Response, proxy: Any = None) -> Any:
    """The JSON body of a successful response as a Munch, or a List for a listing."""
    data = response.json()
    if isinstance(data, dict) and "items" in data and isinstance(data["items"], list):
        items = [_wrap(item) for item in data["items"]]
        for item in items:
            if isinstance(item, Munch):
                item.__proxy__ = proxy
        return List(
            items,
            meta=data.get("meta") or {},
            response=response,
            proxy=proxy,
        )
    if isinstance(data, dict):
        result = Munch(data)
        result.__response__ = response
        result.__proxy__ = proxy
        return result
    return data
