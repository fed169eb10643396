"""``TheusEngine``: the Python face of the core engine.

The transaction, delta, conflict, contract and retry logic all run in the core (``theus_core``);
this module adapts Python context objects in and out (hydration, sync-back), keeps the process
registry, and drives processes: synchronous ones run inline on the calling thread, coroutine
processes on the caller's event loop.
"""
from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import importlib.util
import inspect
import os
import sys
import threading
import typing
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, Optional, Tuple

from ._core import CORE_AVAILABLE, core
from .context import BaseSystemContext, NamespacePolicy, NamespaceRegistry, TransactionError
from .contracts import ContractViolationError, ProcessContract, SemanticType
from .guards import ContextGuard, _current_tx
from .structures import ContextError, StateUpdate
from .zones import PREFIX_SIGNAL

__all__ = ["TheusEngine", "TransactionError", "SecurityViolationError"]

SecurityViolationError = ContractViolationError
SupervisorProxy = ContextGuard  # the Python guard class (compatibility alias)
theus_core = core


@dataclass(frozen=True)
class RetryPolicy:
    """How ``execute()`` retries conflicts (Addition, D3).

    ``max_attempts`` total attempts per call (first included); ``deadline_ms`` wall-clock budget
    across attempts (None: none); a VIP ticket after ``vip_after`` consecutive conflicts; backoff
    ``base_backoff_ms * 2**(n-1)`` with jitter, each wait capped at ``max_backoff_ms``.
    """

    max_attempts: int = 64
    deadline_ms: Optional[int] = 30000
    vip_after: int = 5
    base_backoff_ms: int = 2
    max_backoff_ms: int = 1000


# ---- PURE views ----------------------------------------------------------------------------


def _readonly(value: Any) -> Any:
    """Read-only form of a value handed to a PURE process: lists as tuples, dicts as mappingproxy."""
    import types

    if core is not None and isinstance(value, core.FrozenList):
        return tuple(_readonly(v) for v in value)
    if core is not None and isinstance(value, core.FrozenDict):
        return types.MappingProxyType({k: _readonly(value[k]) for k in value.keys()})
    if isinstance(value, list):
        return tuple(_readonly(v) for v in value)
    if isinstance(value, dict):
        return types.MappingProxyType({k: _readonly(v) for k, v in value.items()})
    return value


class FilteredDomainProxy:
    """A zone seen by a PURE process: only declared input paths (and their ancestors, for
    navigation) are readable; every write is refused."""

    __slots__ = ("_data", "_contract", "_zone", "_allowed")

    def __init__(self, data: Any, allowed_keys: Any, zone: str, _contract: Any = None) -> None:
        object.__setattr__(self, "_data", data)
        object.__setattr__(self, "_allowed", list(allowed_keys))
        object.__setattr__(self, "_zone", zone)
        if _contract is None:
            _contract = core._Contract(list(allowed_keys), [], "pure")
        object.__setattr__(self, "_contract", _contract)

    def _read(self, key: Any, item: bool) -> Any:
        path = f"{self._zone}.{key}"
        access = self._contract.input_access(path)
        if access == 0:
            suffix = f" Allowed: {self._allowed}" if item else ""
            raise ContractViolationError(f"Access denied: '{path}' not declared in contract inputs.{suffix}")
        try:
            value = self._data[key]
        except (KeyError, IndexError, TypeError):
            if item:
                raise
            raise AttributeError(key) from None
        if access == 1 and isinstance(value, (dict, core.FrozenDict)):
            return FilteredDomainProxy(value, self._allowed, path, self._contract)
        return _readonly(value)

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        return self._read(key, item=False)

    def __getitem__(self, key: Any) -> Any:
        return self._read(key, item=True)

    def get(self, key: Any, default: Any = None) -> Any:
        try:
            return self._read(key, item=True)
        except KeyError:
            return default

    def __contains__(self, key: Any) -> bool:
        return key in self._data

    def keys(self):
        return list(self._data.keys())

    def __iter__(self):
        return iter(self._data.keys())

    def __len__(self) -> int:
        return len(self._data)

    def __setattr__(self, key: str, value: Any) -> None:
        raise ContractViolationError(f"PURE Process cannot mutate state: '{self._zone}.{key}'")

    def __setitem__(self, key: Any, value: Any) -> None:
        raise ContractViolationError(f"PURE Process cannot mutate state: '{self._zone}.{key}'")

    def __delattr__(self, key: str) -> None:
        raise ContractViolationError(f"PURE Process cannot delete state: '{self._zone}.{key}'")

    def __delitem__(self, key: Any) -> None:
        raise ContractViolationError(f"PURE Process cannot delete state: '{self._zone}.{key}'")

    def __repr__(self) -> str:
        return f"<FilteredDomainProxy zone='{self._zone}' allowed={self._allowed}>"


class RestrictedStateProxy:
    """What a PURE process receives: a read-only, input-filtered view of its base snapshot."""

    _ZONES = ("domain", "global")

    def __init__(self, state: Any, allowed_paths: Iterable[str]) -> None:
        object.__setattr__(self, "_state", state)
        object.__setattr__(self, "_allowed", list(allowed_paths))
        object.__setattr__(self, "_contract", core._Contract(list(allowed_paths), [], "pure"))

    def _zone(self, zone: str) -> Any:
        data = self._state.data
        value = data.get(zone)
        if value is None:
            value = core.FrozenDict({})
        if self._contract.input_access(zone) == 2:
            return _readonly(value)
        return FilteredDomainProxy(value, self._allowed, zone, self._contract)

    @property
    def version(self) -> int:
        return self._state.version

    @property
    def domain(self) -> Any:
        return self._zone("domain")

    @property
    def global_ctx(self) -> Any:
        return self._zone("global")

    @property
    def global_(self) -> Any:
        return self._zone("global")

    @property
    def heavy(self) -> Any:
        return self._state.heavy

    @property
    def data(self) -> Any:
        return FilteredDomainProxy(self._state.data, self._allowed, "", self._contract) if False else _FilteredRoot(self)

    def __getattr__(self, name: str) -> Any:
        if name == "global":
            return self._zone("global")
        raise AttributeError(f"'RestrictedStateProxy' object has no attribute '{name}'")

    def __setattr__(self, name: str, value: Any) -> None:
        raise ContractViolationError(f"PURE Process cannot mutate state: '{name}'")


class _FilteredRoot:
    """``ctx.data`` of a PURE process: the data map filtered by the declared inputs."""

    def __init__(self, proxy: RestrictedStateProxy) -> None:
        self._proxy = proxy

    def __getitem__(self, key: str) -> Any:
        p = self._proxy
        access = p._contract.input_access(key)
        if access == 0:
            raise ContractViolationError(f"Access denied: '{key}' not declared in contract inputs. Allowed: {p._allowed}")
        if access == 2:
            return _readonly(p._state.data[key])
        return FilteredDomainProxy(p._state.data[key], p._allowed, key, p._contract)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def keys(self):
        return [k for k in self._proxy._state.data.keys() if self._proxy._contract.input_access(k)]


if core is not None:
    core._set_restricted_factory(lambda state, inputs: RestrictedStateProxy(state, inputs))


# ---- state view ------------------------------------------------------------------------------


class _DataView:
    """``engine.state.data``: committed roots as read-only views (or fresh pydantic models)."""

    def __init__(self, state: Any, engine: "TheusEngine") -> None:
        self._state = state
        self._engine = engine

    def __getitem__(self, key: str) -> Any:
        value = self._state.data[key]
        model_cls = self._engine._layer_model(key)
        if model_cls is not None:
            plain = value.to_dict() if hasattr(value, "to_dict") else value
            return _validate(model_cls, plain)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def keys(self):
        return self._state.data.keys()

    def values(self):
        return [self[k] for k in self.keys()]

    def items(self):
        return [(k, self[k]) for k in self.keys()]

    def __iter__(self):
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._state.data)

    def __contains__(self, key: Any) -> bool:
        return key in self._state.data

    def to_dict(self) -> dict:
        return self._state.data.to_dict()

    def __repr__(self) -> str:
        return repr(self._state.data)


class StateView:
    """``engine.state``: the committed version, cached per version (same object until a commit)."""

    def __init__(self, state: Any, engine: "TheusEngine") -> None:
        self._state = state
        self._engine = engine

    @property
    def version(self) -> int:
        return self._state.version

    @property
    def data(self) -> _DataView:
        return _DataView(self._state, self._engine)

    def __getattr__(self, name: str) -> Any:
        if name == "local" or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._state, name)

    def __repr__(self) -> str:
        return f"<StateView v{self._state.version}>"


def _validate(model_cls: Any, data: Any) -> Any:
    if hasattr(model_cls, "model_validate"):
        return model_cls.model_validate(data)
    return model_cls.parse_obj(data)


# ---- hydration helpers -----------------------------------------------------------------------


def _dump(obj: Any) -> Any:
    """Plain data for a context value (§5.7 step 3); objects that are not plain stay as they are
    (the core then stores them as opaque, deep-copied values)."""
    if isinstance(obj, dict):
        return {k: _dump(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [_dump(v) for v in obj]
    if obj is None or isinstance(obj, (str, bytes, int, float, bool)):
        return obj
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict) and not isinstance(obj, type):
        return _dump(to_dict())
    return obj


def _drop_signal_fields(layer: Any) -> Any:
    if isinstance(layer, dict):
        return {k: v for k, v in layer.items() if not (isinstance(k, str) and k.startswith(PREFIX_SIGNAL))}
    return layer


def _annotation_caps(annotation: Any) -> Optional[int]:
    from .context import _Marker

    if typing.get_origin(annotation) is typing.Annotated:
        for meta in typing.get_args(annotation)[1:]:
            if isinstance(meta, _Marker) or (isinstance(meta, type) and issubclass(meta, _Marker)):
                return meta.caps
    return None


def _scan_markers(obj: Any, prefix: str, out: Dict[str, int], depth: int = 0) -> None:
    """``Annotated[..., Mutable/AppendOnly/Immutable]`` fields -> path capability overrides."""
    if obj is None or depth > 8 or isinstance(obj, (int, float, str, bool, list, dict)):
        return
    fields = getattr(type(obj), "model_fields", None)
    if isinstance(fields, dict):
        annotations = {name: f.annotation for name, f in fields.items()}
        try:
            hints = typing.get_type_hints(type(obj), include_extras=True)
            annotations.update({k: v for k, v in hints.items() if k in annotations})
        except Exception:  # noqa: BLE001 - annotations that cannot be resolved are skipped
            pass
    else:
        try:
            annotations = typing.get_type_hints(type(obj), include_extras=True)
        except Exception:  # noqa: BLE001
            annotations = dict(getattr(type(obj), "__annotations__", {}))
    for name, ann in annotations.items():
        if name.startswith("_"):
            continue
        caps = _annotation_caps(ann)
        if caps is not None:
            out[f"{prefix}.{name}"] = caps
        _scan_markers(getattr(obj, name, None), f"{prefix}.{name}", out, depth + 1)


# ---- the engine ------------------------------------------------------------------------------


_LAYERS = (("domain", ("domain", "domain_ctx")), ("global", ("global_ctx", "global")))


class TheusEngine:
    """Transactional, process-oriented state engine.

    ``TheusEngine(context=None, namespaces=None, strict_guards=True, strict_cas=False,
    audit_recipe=None, write_timeout_ms=None, retry_policy=None)``
    """

    def __init__(
        self,
        context: Any = None,
        namespaces: Any = None,
        strict_guards: bool = True,
        strict_cas: bool = False,
        audit_recipe: Any = None,
        write_timeout_ms: Optional[int] = None,
        retry_policy: Optional[RetryPolicy] = None,
    ) -> None:
        if not CORE_AVAILABLE:
            raise RuntimeError("Theus v3.0 requires Rust Core!")
        if write_timeout_ms is None:
            write_timeout_ms = int(os.environ.get("THEUS_WRITE_TIMEOUT_MS", "300000"))
        policy = retry_policy or RetryPolicy()
        self._retry_policy = policy
        self._write_timeout_ms = write_timeout_ms
        self._context, extra = self._normalize_context(context)
        data, self._namespaces = self._hydrate(self._context, extra, namespaces)
        self._core = core.TheusEngine(
            strict_guards=strict_guards,
            strict_cas=strict_cas,
            write_timeout_ms=write_timeout_ms,
            max_attempts=policy.max_attempts,
            deadline_ms=policy.deadline_ms,
            vip_after=policy.vip_after,
            base_backoff_ms=policy.base_backoff_ms,
            max_backoff_ms=policy.max_backoff_ms,
        )
        markers: Dict[str, int] = {}
        for key, attrs in _LAYERS:
            for attr in attrs:
                _scan_markers(self._context.__dict__.get(attr) if hasattr(self._context, "__dict__") else None, key, markers)
        for path, caps in markers.items():
            self._core._physics_override(path, caps)
        self._registry: Dict[str, Callable] = {}
        self._procs: Dict[Any, Any] = {}
        self._setup_audit(audit_recipe)
        self._audit_unchecked = self._audit_book is not None
        if data:
            self._core.compare_and_swap(0, data=data)
        has_state_attr = hasattr(self._context, "_state")
        if has_state_attr:
            with contextlib.suppress(AttributeError, TypeError):
                object.__setattr__(self._context, "_state", self._core.state)
        self._core._configure(
            [n for n in self._namespaces if n != "default"],
            self._context if hasattr(self._context, "__dict__") else None,
            has_state_attr,
            self._sync_namespaces if self._namespaces else None,
        )
        self._view: Optional[StateView] = None
        from .heavy import engine_allocator

        self.heavy = engine_allocator()
        self._parallel_pool = None
        self._worker_ref = None

    # ---- context in and out ------------------------------------------------------------

    @staticmethod
    def _normalize_context(context: Any) -> Tuple[Any, Dict[str, Any]]:
        if context is None:
            return BaseSystemContext(), {}
        if isinstance(context, dict):
            extra: Dict[str, Any] = {}
            for key, value in context.items():
                if key in ("domain", "domain_ctx", "global", "global_ctx", "global_"):
                    continue
                from .zones import ContextZone, resolve_zone

                if isinstance(key, str) and resolve_zone(key) is ContextZone.DATA and not key.startswith(
                    ("const_", "internal_", "heavy", "sig", "signal", "cmd", "meta", "log_", "audit_")
                ):
                    extra[key] = value
                else:
                    warnings.warn(f"context key '{key}' is not a data-zone key and was not hydrated", RuntimeWarning, stacklevel=3)
            ctx = BaseSystemContext(
                domain=context.get("domain") or context.get("domain_ctx"),
                global_ctx=context.get("global_ctx") or context.get("global") or context.get("global_"),
            )
            return ctx, extra
        return context, {}

    def _hydrate(self, ctx: Any, extra: Dict[str, Any], namespaces: Any) -> Tuple[Dict[str, Any], Dict[str, Any]]:
        registry = NamespaceRegistry()
        ns_data: Dict[str, Any] = {}
        for decl in namespaces or []:
            if isinstance(decl, dict):
                name, policy, default = decl["name"], decl.get("policy"), decl.get("data")
            else:
                decl = tuple(decl)
                name = decl[0]
                policy = decl[1] if len(decl) > 1 else None
                default = decl[2] if len(decl) > 2 else None
            registry.register(name, policy, default)
            ns_data[name] = {} if default is None else default
        from .zones import ContextZone

        if hasattr(ctx, "to_dict"):
            try:
                dumped = ctx.to_dict(exclude_zones=[ContextZone.SIGNAL])
            except TypeError:
                dumped = ctx.to_dict()
        elif hasattr(ctx, "model_dump"):
            dumped = ctx.model_dump()  # a pydantic root model: its fields as plain data
        elif callable(getattr(ctx, "dict", None)):
            dumped = ctx.dict()
        elif hasattr(ctx, "__dict__"):
            dumped = {k: v for k, v in vars(ctx).items() if not k.startswith("_")}
        else:
            dumped = {}
        data: Dict[str, Any] = {}
        for key, value in dict(dumped).items():
            canonical = {"domain_ctx": "domain", "global_ctx": "global", "global_": "global"}.get(key, key)
            if value is None:
                continue
            data[canonical] = _drop_signal_fields(_dump(value))
        data.update({k: _dump(v) for k, v in extra.items()})
        for name, value in ns_data.items():
            data.setdefault(name, _dump(value))
        names = {n: registry.get_policy(n) for n in registry.names()}
        return data, names

    def _layer_model(self, key: str) -> Any:
        """The pydantic model class of the context layer stored at ``key``, if any."""
        for layer, attrs in _LAYERS:
            if layer != key:
                continue
            for attr in attrs:
                value = getattr(self._context, "__dict__", {}).get(attr)
                if value is not None and hasattr(type(value), "model_validate"):
                    return type(value)
        return None

    def _sync_context(self) -> None:
        """Refresh the user's context objects from the committed state (§5.8); only the paths
        written since the last refresh are copied out (the work happens in the core binding)."""
        self._core._sync()

    def _sync_namespaces(self, state: Any) -> None:
        registry = NamespaceRegistry()
        data = state.data
        names = set(self._namespaces)
        for name in names:
            if name in data:
                registry.set_data(name, data[name].to_dict() if hasattr(data[name], "to_dict") else data[name])
        registry.set_data("default", {k: data[k].to_dict() if hasattr(data[k], "to_dict") else data[k]
                                      for k in data.keys() if k not in names})

    # ---- flags -------------------------------------------------------------------------

    @property
    def strict_guards(self) -> bool:
        return self._core.strict_guards

    @strict_guards.setter
    def strict_guards(self, value: bool) -> None:
        self._core.set_strict_guards(bool(value))

    @property
    def strict_cas(self) -> bool:
        return self._core.strict_cas

    @strict_cas.setter
    def strict_cas(self, value: bool) -> None:
        self._core.set_strict_cas(bool(value))

    _strict_guards = strict_guards
    _strict_cas = strict_cas

    # ---- state -------------------------------------------------------------------------

    @property
    def state(self) -> StateView:
        core_state = self._core.state
        view = self._view
        if view is None or view._state is not core_state:
            view = StateView(core_state, self)
            self._view = view
        return view

    # ---- registry ----------------------------------------------------------------------

    @staticmethod
    def _contract_of(func: Callable) -> Tuple[ProcessContract, bool]:
        contract = getattr(func, "_pop_contract", None)
        if contract is None:
            return ProcessContract([], [], SemanticType.EFFECT), False
        return contract, True

    def _firewall(self, func: Callable) -> None:
        contract, _ = self._contract_of(func)
        contract.compiled().check_pure_inputs()

    def register(self, func: Callable) -> None:
        """Register a process under its ``__name__`` (PURE processes with Signal/Meta inputs are refused)."""
        self._firewall(func)
        self._registry[func.__name__] = func
        proc = self._make_process(func, func.__name__)
        self._procs[func.__name__] = proc
        with contextlib.suppress(TypeError):
            self._procs[func] = proc

    def _make_process(self, func: Callable, name: str) -> Any:
        contract, has_contract = self._contract_of(func)
        compiled = contract.compiled()
        inner = getattr(func, "_theus_inner", None)
        if inner is not None:
            target, accepted = inner, getattr(func, "_theus_accepts", None)
        else:
            target, accepted = func, None
        is_coroutine = inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(target)
        return core._Process(target, accepted, name, compiled, has_contract, is_coroutine, bool(contract.parallel))

    def _process(self, func_or_name: Any) -> Any:
        """The native handle of a process (cached per function and per registered name)."""
        try:
            proc = self._procs.get(func_or_name)
        except TypeError:
            proc = None
        if proc is not None:
            return proc
        func, name = self._resolve(func_or_name)
        proc = self._make_process(func, name)
        if not isinstance(func_or_name, str):
            with contextlib.suppress(TypeError):
                self._procs[func_or_name] = proc
        return proc

    def scan_and_register(self, path: str) -> None:
        """Import every ``*.py`` below ``path`` (recursively, skipping ``__*``) and register every
        attribute carrying a process contract. Import errors are reported and skipped."""
        if not os.path.isdir(path):
            return
        for root, _dirs, files in os.walk(path):
            for fname in sorted(files):
                if not fname.endswith(".py") or fname.startswith("__"):
                    continue
                full = os.path.join(root, fname)
                mod_name = os.path.splitext(fname)[0]
                try:
                    spec = importlib.util.spec_from_file_location(mod_name, full)
                    module = importlib.util.module_from_spec(spec)
                    sys.modules.setdefault(mod_name, module)
                    spec.loader.exec_module(module)
                except Exception as exc:  # noqa: BLE001
                    print(f"[theus] cannot import {full}: {exc!r}", file=sys.stderr)
                    continue
                for value in vars(module).values():
                    if callable(value) and getattr(value, "_pop_contract", None) is not None:
                        self.register(value)

    def _resolve(self, func_or_name: Any) -> Tuple[Callable, str]:
        if isinstance(func_or_name, str):
            func = self._registry.get(func_or_name)
            if func is None:
                raise ValueError(f"Process '{func_or_name}' not found in registry")
            return func, func_or_name
        if not callable(func_or_name):
            raise TypeError(f"execute() expects a process or its name, got {type(func_or_name).__name__}")
        self._firewall(func_or_name)
        return func_or_name, getattr(func_or_name, "__name__", type(func_or_name).__name__)

    # ---- execution ---------------------------------------------------------------------

    @staticmethod
    def _min_attempts(kwargs: Dict[str, Any]) -> int:
        if "retries" not in kwargs:
            return 0
        retries = kwargs.pop("retries")
        return int(retries) + 1 if retries is not None else 0

    async def execute(self, func_or_name: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one process transactionally; returns its (detached) result.

        Synchronous processes run inline on the calling thread, coroutine processes on this event
        loop. Conflicts are retried with backoff (the waits are awaited); any other error
        propagates and nothing of the failed attempt is committed.
        """
        proc = self._process(func_or_name)
        min_attempts = self._min_attempts(kwargs)
        if self._audit_unchecked:
            self._warn_unknown_audit_processes()
        out = self._core._execute(proc, args, kwargs, min_attempts, False)
        if out[0]:
            return out[1]
        result = await self._continue(proc, out[1], out[2], out[3], args, kwargs)
        self._core._sync()
        return result

    def execute_sync(self, func_or_name: Any, *args: Any, **kwargs: Any) -> Any:
        """Synchronous ``execute()``: runs a synchronous process inline on this thread (retry waits
        block the thread). A coroutine process is run to completion on a private event loop, which
        is refused while an event loop is running in this thread."""
        proc = self._process(func_or_name)
        min_attempts = self._min_attempts(kwargs)
        if self._audit_unchecked:
            self._warn_unknown_audit_processes()
        out = self._core._execute(proc, args, kwargs, min_attempts, True)
        if out[0]:
            return out[1]
        result = self._run_private_loop(self._continue(proc, out[1], out[2], out[3], args, kwargs))
        self._core._sync()
        return result

    async def _continue(self, proc: Any, run: Any, kind: str, value: Any, args: tuple, kwargs: dict) -> Any:
        """Finishes a run the core handed back: a backoff to await, an awaitable a synchronous
        process returned, or a coroutine / parallel process to drive from here."""
        if kind == "async":
            if proc.parallel:
                return await self._execute_parallel_attempts(run, proc.name, kwargs)
            return await self._drive_async(run, args, kwargs)
        while True:
            if kind == "done":
                return value
            if kind == "wait":
                await asyncio.sleep(value)
                kind, value = run.run_sync(False, *args, **kwargs)
                continue
            try:  # "await"
                result = await value
            except BaseException as exc:
                wait = run.fail(exc)
                if wait is None:
                    raise
                kind, value = "wait", wait
                continue
            action, out = run.complete(result)
            if action == 0:
                return out
            kind, value = "wait", out

    @staticmethod
    async def _drive_async(run: Any, args: tuple, kwargs: dict) -> Any:
        while True:
            ctx = run.attempt()
            token = _current_tx.set(run.transaction)
            try:
                result = await run.invoke(ctx, *args, **kwargs)
            except BaseException as exc:
                _current_tx.reset(token)
                wait = run.fail(exc)
                if wait is None:
                    raise
                await asyncio.sleep(wait)
                continue
            _current_tx.reset(token)
            action, out = run.complete(result)
            if action == 0:
                return out
            await asyncio.sleep(out)

    async def _execute_parallel_attempts(self, run: Any, name: str, kwargs: dict) -> Any:
        loop = asyncio.get_running_loop()
        while True:
            run.attempt()
            try:
                result = await loop.run_in_executor(None, lambda: self.execute_parallel(name, **kwargs))
            except BaseException as exc:
                wait = run.fail(exc)
                if wait is None:
                    raise
                await asyncio.sleep(wait)
                continue
            action, out = run.complete(result)
            if action == 0:
                return out
            await asyncio.sleep(out)

    _pool_lock = threading.Lock()

    def execute_parallel(self, process_name: str, **kwargs: Any) -> Any:
        """Run registered process ``process_name`` in a worker of the engine's pool and return its
        result (nothing is committed here; ``execute`` of a ``parallel=True`` process commits it).
        The worker gets a ``ParallelContext`` over the heavy zone with ``kwargs`` as input. The
        pool is created on first use from ``THEUS_POOL_SIZE`` / ``THEUS_USE_PROCESSES`` /
        ``THEUS_FORCE_INTERPRETERS``. Worker exceptions are re-raised here."""
        from .parallel import ParallelContext, pool_from_env

        func = self._registry.get(process_name)
        if func is None:
            raise ValueError(f"Process '{process_name}' not found")
        pool = self._parallel_pool
        if pool is None:
            with TheusEngine._pool_lock:
                pool = self._parallel_pool
                if pool is None:
                    pool = self._parallel_pool = pool_from_env()
        ctx = ParallelContext.from_state(self.state, **kwargs)
        return pool.submit(func, ctx).result()

    @staticmethod
    def _run_private_loop(coro: Any) -> Any:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            coro.close()
            raise RuntimeError(
                "Cannot run a coroutine process synchronously while an event loop is running in this "
                "thread; use 'await engine.execute(...)'"
            )
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(coro)
        finally:
            loop.close()

    def _run_process_sync(self, name: str, **kwargs: Any) -> Any:
        """Run ``execute(name, **kwargs)`` to completion on a private event loop (compatibility)."""
        return self._run_private_loop(self.execute(name, **kwargs))

    # ---- workflows ---------------------------------------------------------------------

    @staticmethod
    def _workflow_source(path_or_yaml: Any) -> Tuple[str, str]:
        """(yaml text, source name) of ``execute_workflow``'s argument: a path (str or
        ``os.PathLike``, read as UTF-8 relative to the working directory) or, when the string
        contains a newline, the YAML document itself."""
        if isinstance(path_or_yaml, str) and "\n" in path_or_yaml:
            return path_or_yaml, "<string>"
        path = os.fspath(path_or_yaml)
        with open(path, encoding="utf-8") as fh:  # FileNotFoundError names the path
            return fh.read(), str(path)

    @staticmethod
    def _workflow_options(kwargs: Dict[str, Any]) -> Tuple[int, bool]:
        max_ops = kwargs.get("max_ops")
        if max_ops is None:
            max_ops = int(os.environ.get("THEUS_MAX_LOOPS", "10000"))
        debug = kwargs.get("debug")
        if debug is None:
            debug = os.environ.get("THEUS_FLUX_DEBUG", "").strip().lower() in ("1", "true", "yes")
        return int(max_ops), bool(debug)

    async def execute_workflow(self, yaml_path: Any, **kwargs: Any) -> list:
        """Run a Flux workflow (a YAML file path, or YAML text containing a newline) on this
        event loop; returns the names of the executed processes in order.

        Every process step goes through the full ``execute()`` pipeline (contract, retries,
        audit, output mapping, commit); conditions see ``domain``, ``global`` and the latched
        ``signal`` / ``cmd`` of the state committed by the previous step. Keyword arguments:
        ``max_ops`` (default ``THEUS_MAX_LOOPS`` or 10000) and ``debug`` (default
        ``THEUS_FLUX_DEBUG``); others are ignored.
        """
        text, source = self._workflow_source(yaml_path)
        max_ops, debug = self._workflow_options(kwargs)
        workflow = core.WorkflowEngine(text, max_ops, debug, source=source)
        run = workflow._engine_run(self._core)
        # Synchronous registered processes run natively inside advance() (audit included: the
        # core's execute path runs the gates); the others come back here to be awaited.
        if self._audit_unchecked:
            self._warn_unknown_audit_processes()
        try:
            while True:
                step = run.advance(self._procs)
                if step is None:
                    return run.finish()
                name, pending = step
                if pending is None:
                    await self.execute(name)
                else:
                    proc, prun, kind, value = pending
                    awaiting = kind != "wait"
                    if awaiting:
                        run.waiting()
                    try:
                        await self._continue(proc, prun, kind, value, (), {})
                    finally:
                        self._core._sync()
                    if awaiting:
                        run.resumed()
                run.completed()
        except BaseException:
            run.fail()
            raise

    def execute_workflow_sync(self, yaml_path: Any, **kwargs: Any) -> list:
        """Synchronous ``execute_workflow()``: runs the workflow on a private event loop (refused
        while an event loop is running in this thread)."""
        return self._run_private_loop(self.execute_workflow(yaml_path, **kwargs))

    # ---- explicit writes ---------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self, write_timeout_ms: int = 5000):
        """``with engine.transaction() as tx:`` commits on normal exit; an exception discards it."""
        tx = core.Transaction(self._core, write_timeout_ms=write_timeout_ms)
        with tx:
            yield tx
        self._sync_context()

    def compare_and_swap(self, expected_version: int, data: Any = None, heavy: Any = None, signal: Any = None,
                         requester: Optional[str] = None) -> None:
        """Merge ``data`` / ``heavy`` as one new version unless what they write changed since
        ``expected_version``. Raises ContextError on conflict."""
        self._core.compare_and_swap(expected_version, data=data, heavy=heavy, signal=signal, requester=requester)
        self._sync_context()

    @contextlib.contextmanager
    def edit(self):
        """Edit the context object directly, then push it as one CAS on normal exit."""
        ctx = self._context
        yield ctx
        if hasattr(ctx, "to_dict"):
            from .zones import ContextZone

            try:
                payload = ctx.to_dict(exclude_zones=[ContextZone.SIGNAL])
            except TypeError:
                payload = ctx.to_dict()
        else:
            payload = {"domain": getattr(ctx, "domain", None)}
        payload = {k: _drop_signal_fields(_dump(v)) for k, v in payload.items() if v is not None}
        self._core.compare_and_swap(self._core.version, data=payload)
        self._sync_context()

    def set_schema(self, schema: Any) -> None:
        """Install a pydantic model class validating the full state before every commit (D13)."""
        self._core.set_schema(schema)

    # ---- audit -------------------------------------------------------------------------

    def _setup_audit(self, audit_recipe: Any) -> None:
        """Installs the audit in the core (spec: workflow §3.5). The core runs the input gate,
        the output gate on the final delta, failure counting and success resets in execute()."""
        from .config import DEFAULT_RECIPE_FILE, AuditRecipe, AuditRecipeBook, ConfigFactory
        from .validator import AuditValidator

        self._audit = None
        self._validator = None
        self._audit_book: Optional[AuditRecipeBook] = None
        if audit_recipe is None:
            if not os.path.exists(DEFAULT_RECIPE_FILE):
                self._core._set_audit(None)
                return
            audit_recipe = DEFAULT_RECIPE_FILE
        if isinstance(audit_recipe, (str, os.PathLike)):
            book = ConfigFactory.load_recipe(audit_recipe)
        elif isinstance(audit_recipe, dict):
            book = ConfigFactory.from_dict(audit_recipe)
        elif isinstance(audit_recipe, AuditRecipeBook):
            book = audit_recipe
        elif isinstance(audit_recipe, AuditRecipe):
            book = None
        else:
            raise TypeError(
                "audit_recipe must be a path, a dict, an AuditRecipe or an AuditRecipeBook, "
                f"got {type(audit_recipe).__name__}"
            )
        recipe = audit_recipe if book is None else book.rust_recipe
        capacity = int(os.environ.get("THEUS_AUDIT_LOG_SIZE", "1000"))
        self._audit = core.AuditSystem(recipe, capacity)
        self._audit_book = book
        rules = book.rules() if book is not None else None
        if book is not None:
            self._validator = AuditValidator(book, self._audit)
        self._core._set_audit(self._audit, rules)
        self._core.set_audit_system(self._audit)

    def _warn_unknown_audit_processes(self) -> None:
        """Once, at the first execution: recipe entries naming no registered process."""
        book, self._audit_unchecked = self._audit_book, False
        if book is None:
            return
        names = set(self._registry)
        for name in book.rules().processes():
            if name not in names:
                warnings.warn(
                    f"audit recipe {book.source}: process_recipes names unknown process '{name}' "
                    f"(registered: {sorted(names)})",
                    core.AuditWarning,
                    stacklevel=3,
                )

    # ---- misc --------------------------------------------------------------------------

    def __enter__(self) -> "TheusEngine":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()

    def shutdown(self) -> None:
        """Stop the parallel pool (waiting for its tasks) and release the heavy zone's segments."""
        pool, self._parallel_pool = self._parallel_pool, None
        if pool is not None:
            pool.shutdown()
        heavy, self.heavy = self.heavy, None
        if heavy is not None:
            heavy.cleanup()

    def log(self, *args: Any, **kwargs: Any) -> None:
        print(*args, file=sys.stderr, **kwargs)

    def attach_worker(self, worker: Callable) -> None:
        self._worker_ref = worker
        self._core.attach_worker(worker)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_core", "commit_state"):
            raise AttributeError(name)
        return getattr(self._core, name)

    def __repr__(self) -> str:
        return f"<TheusEngine v{self._core.version} processes={len(self._registry)}>"
