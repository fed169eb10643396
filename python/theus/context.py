"""Context classes users describe their state with, namespaces, and capability markers.

Contexts are plain dataclasses (or pydantic models, or dicts). The engine copies them in when it is
constructed and syncs committed values back into them after each commit; the objects themselves
are never the engine's state (D7).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from .heavy import HeavyZoneAllocator, HeavyZoneWrapper, SafeSharedMemory, ShmArray, rebuild_shm_array
from .locks import LockManager
from .zones import ContextZone, resolve_zone

__all__ = [
    "BaseSystemContext",
    "BaseDomainContext",
    "BaseGlobalContext",
    "LockedContextMixin",
    "Namespace",
    "NamespacePolicy",
    "NamespaceRegistry",
    "TransactionError",
    "Mutable",
    "AppendOnly",
    "Immutable",
    "PYTHON_PHYSICS_OVERRIDES",
    "REGISTRY_FILE",
    "HeavyZoneWrapper",
    "HeavyZoneAllocator",
    "ShmArray",
    "SafeSharedMemory",
    "rebuild_shm_array",
    "LockManager",
    "ContextZone",
    "resolve_zone",
]

_log = logging.getLogger("theus.context")

REGISTRY_FILE = ".theus_memory_registry.jsonl"

#: Mirror of the process-wide physics-override table (``theus_core.register_physics_override``).
PYTHON_PHYSICS_OVERRIDES: Dict[str, int] = {}

try:
    import theus_core as _tc

    _tc._set_physics_mirror(PYTHON_PHYSICS_OVERRIDES)
except ImportError:  # pragma: no cover - without the native module
    pass

_DEFAULT_EXCLUDED = (ContextZone.SIGNAL, ContextZone.META, ContextZone.HEAVY, ContextZone.LOG)


class TransactionError(Exception):
    """Exported for compatibility; never raised."""


# ---- capability markers (typing.Annotated) -------------------------------------------------


class _Marker:
    caps = 15

    def __repr__(self) -> str:
        return type(self).__name__


class Mutable(_Marker):
    """``Annotated[dict, Mutable]``: read, append, update and delete (caps 15)."""

    caps = 15


class AppendOnly(_Marker):
    """``Annotated[list, AppendOnly]``: read and append only (caps 3)."""

    caps = 3


class Immutable(_Marker):
    """``Annotated[dict, Immutable]``: read only (caps 1)."""

    caps = 1


# ---- context classes -----------------------------------------------------------------------


def _convert(value: Any, exclude_zones) -> Any:
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not isinstance(value, type):
        try:
            return to_dict(exclude_zones=exclude_zones)
        except TypeError:
            return to_dict()
    return value


@dataclass
class LockedContextMixin:
    _lock_manager: Optional[LockManager] = field(default=None, init=False, repr=False, compare=False)

    def set_lock_manager(self, manager: Optional[LockManager]) -> None:
        object.__setattr__(self, "_lock_manager", manager)

    def __setattr__(self, name: str, value: Any) -> None:
        if not name.startswith("_"):
            manager = getattr(self, "_lock_manager", None)
            if manager is not None:
                manager.validate_write(name, self)
        object.__setattr__(self, name, value)

    def get_zone(self, key: str) -> ContextZone:
        return resolve_zone(key)

    @property
    def heavy(self):
        state = getattr(self, "_state", None)
        if state is None:
            return None
        return HeavyZoneWrapper(state.heavy)

    def restrict_view(self):
        return getattr(self, "_state", None)

    def to_dict(self, exclude_zones=None) -> Dict[str, Any]:
        """Public attributes as a dict, skipping the excluded zones (default: Signal, Meta, Heavy, Log)."""
        excluded = _DEFAULT_EXCLUDED if exclude_zones is None else tuple(exclude_zones)
        out: Dict[str, Any] = {}
        for name, value in vars(self).items():
            if name.startswith("_") or resolve_zone(name) in excluded:
                continue
            out[name] = _convert(value, exclude_zones)
        return out

    def from_dict(self, data: Dict[str, Any]) -> None:
        for name, value in data.items():
            if name.startswith("_"):
                continue
            current = getattr(self, name, None)
            if isinstance(value, dict) and hasattr(current, "from_dict"):
                current.from_dict(value)
            else:
                setattr(self, name, value)


@dataclass
class BaseGlobalContext(LockedContextMixin):
    pass


@dataclass
class BaseDomainContext(LockedContextMixin):
    pass


@dataclass
class BaseSystemContext(LockedContextMixin):
    global_ctx: Optional[Any] = None
    domain: Optional[Any] = None

    def to_dict(self, exclude_zones=None) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        domain = self.__dict__.get("domain")
        if domain is None:
            domain = self.__dict__.get("domain_ctx")
        if domain is not None:
            out["domain"] = _convert(domain, exclude_zones)
        glob = self.__dict__.get("global_ctx")
        if glob is None:
            glob = self.__dict__.get("global")
        if glob is not None:
            out["global"] = _convert(glob, exclude_zones)
        registry = NamespaceRegistry()
        for name in registry.names():
            if name == "default" or name in out:
                continue
            value = getattr(self, name, None)
            if value is None:
                continue
            if hasattr(value, "to_dict"):
                out[name] = _convert(value, exclude_zones)
            elif hasattr(value, "model_dump"):
                out[name] = value.model_dump()
            else:
                out[name] = value
        return out

    def __getattr__(self, name: str) -> Any:
        # Only called for missing attributes.
        if name.startswith("_"):
            raise AttributeError(name)
        if name in NamespaceRegistry().names():
            state = self.__dict__.get("_state")
            if state is not None:
                return state.data.get(name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")


# ---- namespaces ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NamespacePolicy:
    allow_read: bool = True
    allow_update: bool = True
    allow_delete: bool = False
    allow_append: bool = True

    def to_caps(self) -> int:
        """Capability bits in the core layout: READ=1, APPEND=2, UPDATE=4, DELETE=8."""
        return (
            (1 if self.allow_read else 0)
            | (2 if self.allow_append else 0)
            | (4 if self.allow_update else 0)
            | (8 if self.allow_delete else 0)
        )


class NamespaceRegistry:
    """Process-wide registry of namespace names (``NamespaceRegistry() is NamespaceRegistry()``).

    Engines snapshot it when they are constructed, so registering a namespace later does not change
    the behaviour of existing engines.
    """

    _instance: Optional["NamespaceRegistry"] = None
    _guard = threading.Lock()

    def __new__(cls):
        with cls._guard:
            if cls._instance is None:
                inst = super().__new__(cls)
                inst._namespaces = {}
                inst._lock = threading.RLock()
                cls._instance = inst
        return cls._instance

    def register(self, name: str, policy: Optional[NamespacePolicy] = None, default_data: Any = None) -> None:
        with self._lock:
            entry = self._namespaces.setdefault(name, {"policy": NamespacePolicy(), "data": {}})
            if policy is not None:
                entry["policy"] = policy
            if default_data is not None:
                entry["data"] = default_data

    def get_policy(self, name: str) -> NamespacePolicy:
        with self._lock:
            entry = self._namespaces.get(name)
            return entry["policy"] if entry else NamespacePolicy()

    def resolve_path(self, path: str):
        head, _, rest = path.partition(".")
        with self._lock:
            if head in self._namespaces:
                return head, rest
        return "default", path

    def names(self):
        with self._lock:
            return list(self._namespaces)

    def get_all_data(self) -> Dict[str, Any]:
        with self._lock:
            return {name: entry["data"] for name, entry in self._namespaces.items()}

    def set_data(self, name: str, data: Any) -> None:
        with self._lock:
            self._namespaces.setdefault(name, {"policy": NamespacePolicy(), "data": {}})["data"] = data

    def clear(self) -> None:
        with self._lock:
            self._namespaces.clear()


class Namespace:
    """Descriptor declaring a namespace on a system context class::

        class App(BaseSystemContext):
            shop = Namespace(ShopContext, NamespacePolicy(allow_delete=True))

    The attribute name is registered when the class is created; each instance lazily gets one
    ``ShopContext()``.
    """

    def __init__(self, context_cls: type, policy: Optional[NamespacePolicy] = None) -> None:
        self.context_cls = context_cls
        self.policy = policy
        self.name: Optional[str] = None

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        NamespaceRegistry().register(name, self.policy)

    def __get__(self, instance: Any, owner: type) -> Any:
        if instance is None:
            return self
        cache = f"_ns_inst_{self.name}"
        value = instance.__dict__.get(cache)
        if value is None:
            value = self.context_cls()
            instance.__dict__[cache] = value
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[f"_ns_inst_{self.name}"] = value
