"""JSON and pydantic interop."""
from __future__ import annotations

import collections.abc
import json

__all__ = ["TheusEncoder", "get_pydantic_config"]


class TheusEncoder(json.JSONEncoder):
    """``json.dumps(obj, cls=TheusEncoder)`` for proxies and frozen views: ``to_dict()`` when the
    object has it (one native call), any other Mapping through ``dict()``."""

    def default(self, obj):  # noqa: D401 - JSONEncoder API
        to_dict = getattr(obj, "to_dict", None)
        if callable(to_dict):
            return to_dict()
        if isinstance(obj, collections.abc.Mapping):
            return dict(obj)
        if isinstance(obj, collections.abc.Sequence) and not isinstance(obj, (str, bytes)):
            return list(obj)
        return super().default(obj)


def get_pydantic_config() -> dict:
    return {"from_attributes": True}
