"""The heavy zone from Python: numpy arrays in POSIX shared memory.

Arrays live in segments of ``theus_core.shm.SharedSegment`` (mapped once, viewed through the buffer
protocol, never copied). Every segment an allocator creates is logged in the registry
(``theus_core.shm.MemoryRegistry``), whose zombie scan unlinks the segments of processes that died
without cleaning up. A ``ShmArray`` pickles as a small handle (segment name, shape, dtype, byte
offset, strides), so handing one to a worker process costs O(1) whatever its size; the worker maps
the same memory.

numpy is optional for ``import theus``; allocating or attaching arrays requires it.
"""
from __future__ import annotations

import atexit
import os
import threading
import uuid
import warnings
from typing import Any, Dict, Optional, Tuple

from ._core import core

try:
    import numpy as np
except ImportError:  # pragma: no cover - numpy is optional
    np = None

__all__ = [
    "ShmArray",
    "SafeSharedMemory",
    "rebuild_shm_array",
    "HeavyZoneWrapper",
    "HeavyZoneAllocator",
    "ManagedAllocator",
    "REGISTRY_FILE",
    "registry_path",
]

REGISTRY_FILE = ".theus_memory_registry.jsonl"
_UNLINK_DENIED = "Access Denied: Only the Owner process can unlink Managed Memory."


def registry_path() -> str:
    """The registry file: ``$THEUS_REGISTRY_FILE`` or ``.theus_memory_registry.jsonl`` in the cwd."""
    return os.environ.get("THEUS_REGISTRY_FILE") or REGISTRY_FILE


def _shm():
    if core is None:
        raise RuntimeError("the heavy zone requires the native module theus_core")
    return core.shm


def _numpy():
    if np is None:
        raise ImportError("heavy-zone arrays require numpy")
    return np


def _nbytes(shape: Any, dtype: Any) -> Tuple[Tuple[int, ...], Any, int]:
    numpy = _numpy()
    shape = (int(shape),) if isinstance(shape, int) else tuple(int(n) for n in shape)
    dt = numpy.dtype(dtype)
    count = 1
    for n in shape:
        if n < 0:
            raise ValueError(f"negative dimension in shape {shape}")
        count *= n
    return shape, dt, count * dt.itemsize


def _array_over(segment: Any, shape: Any, dtype: Any, offset: int = 0, strides: Any = None) -> "ShmArray":
    """A zero-copy ``ShmArray`` over ``segment``. The array holds a memoryview of the segment, so
    the mapping outlives every array viewing it even when the segment handle is closed."""
    numpy = _numpy()
    flat = numpy.frombuffer(segment.buf, dtype=numpy.uint8)
    arr = numpy.ndarray(shape, dtype=numpy.dtype(dtype), buffer=flat, offset=offset, strides=strides)
    return ShmArray(arr, shm=segment)


# ---- borrowed segments ----------------------------------------------------------------------


class SafeSharedMemory:
    """A borrower's handle on a segment another process (or allocator) owns: it maps and reads,
    may ``close()``, but may not ``unlink()``. Other attributes delegate to the segment."""

    __slots__ = ("_segment",)

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_segment", _shm().SharedSegment.attach(name))

    @property
    def name(self) -> str:
        return self._segment.name

    @property
    def size(self) -> int:
        return self._segment.size

    @property
    def buf(self) -> memoryview:
        return self._segment.buf

    def close(self) -> None:
        self._segment.close()

    def unlink(self) -> None:
        raise PermissionError(_UNLINK_DENIED)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._segment, name)

    def __repr__(self) -> str:
        return f"<SafeSharedMemory name='{self._segment.name}' size={self._segment.size}>"


def rebuild_shm_array(name: str, shape: Any, dtype: Any, offset: int = 0, strides: Any = None) -> Any:
    """Attach segment ``name`` and view ``shape``/``dtype`` at byte ``offset`` (with ``strides``)
    without copying; ``None`` when the segment no longer exists."""
    try:
        handle = SafeSharedMemory(name)
    except FileNotFoundError:
        return None
    return _array_over(handle, shape, dtype, offset, strides)


def _extent(arr: Any) -> Tuple[int, int]:
    """Lowest and one-past-highest byte offsets an array touches, relative to its data pointer."""
    if arr.size == 0:
        return 0, 0
    lo = hi = 0
    for n, s in zip(arr.shape, arr.strides):
        if s < 0:
            lo += (n - 1) * s
        else:
            hi += (n - 1) * s
    return lo, hi + arr.itemsize


# ---- ShmArray ---------------------------------------------------------------------------------

if np is not None:

    class ShmArray(np.ndarray):
        """An ndarray view over shared memory carrying its segment as ``.shm`` (kept by slices and
        views). Pickles as a handle (name, shape, dtype, byte offset, strides) that re-attaches
        the same memory on unpickling; an array without ``.shm``, or a view that the handle cannot
        describe, pickles by value."""

        def __new__(cls, input_array: Any, shm: Any = None) -> "ShmArray":
            obj = np.asarray(input_array).view(cls)
            obj.shm = shm
            return obj

        def __array_finalize__(self, obj: Any) -> None:
            self.shm = getattr(obj, "shm", None)

        @property
        def _shm_ref(self) -> Any:
            return self.shm

        def handle(self) -> Optional[tuple]:
            """``(name, shape, dtype, offset, strides)`` locating this view inside its segment, or
            None when it has no segment or does not lie inside it."""
            seg = self.shm
            if seg is None or getattr(seg, "closed", False):
                return None
            try:
                base = seg.address
            except ValueError:  # closed segment
                return None
            offset = self.__array_interface__["data"][0] - base
            lo, hi = _extent(self)
            if offset + lo < 0 or offset + hi > seg.size:
                return None
            dtype = self.dtype.str if np.dtype(self.dtype.str) == self.dtype else self.dtype
            return (seg.name, tuple(self.shape), dtype, int(offset), tuple(self.strides))

        def __reduce_ex__(self, protocol: int):
            handle = self.handle()
            if handle is None:
                return super().__reduce_ex__(protocol)
            return (rebuild_shm_array, handle)

else:  # pragma: no cover - numpy is optional

    class ShmArray:  # type: ignore[no-redef]
        """Placeholder: heavy-zone arrays require numpy."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise ImportError("heavy-zone arrays require numpy")


# ---- HeavyZoneWrapper -------------------------------------------------------------------------


def _descriptor_fields(value: Any) -> Optional[Tuple[str, Any, Any, int]]:
    """(name, shape, dtype, offset) of a value that describes a shared-memory buffer: a
    ``theus_core.shm.BufferDescriptor``, or a dict with a string ``name`` plus ``shape`` and
    ``dtype`` (the form of a core buffer reference)."""
    if isinstance(value, dict):
        if isinstance(value.get("name"), str) and "shape" in value and "dtype" in value:
            return value["name"], value["shape"], value["dtype"], int(value.get("offset", 0))
        return None
    if core is not None and isinstance(value, core.shm.BufferDescriptor):
        return value.name, value.shape, value.dtype, 0
    return None


class HeavyZoneWrapper:
    """A heavy map seen by user code: values that describe a shared-memory buffer are re-attached
    as ``ShmArray`` (None if the segment vanished); everything else is returned as stored.
    ``w[key]``, ``w.key``, ``get``, ``in``, ``items()``, ``keys()``, ``len``, iteration; ``w[key] = v``
    writes through to the wrapped map."""

    __slots__ = ("_data",)

    def __init__(self, data_dict: Any) -> None:
        object.__setattr__(self, "_data", data_dict if data_dict is not None else {})

    @staticmethod
    def _convert(value: Any) -> Any:
        fields = _descriptor_fields(value)
        if fields is None:
            return value
        name, shape, dtype, offset = fields
        return rebuild_shm_array(name, tuple(shape), dtype, offset)

    def __getitem__(self, key: Any) -> Any:
        return self._convert(self._data[key])

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        try:
            return self._convert(self._data[key])
        except KeyError:
            raise AttributeError(f"heavy zone has no entry '{key}'") from None

    def __setitem__(self, key: Any, value: Any) -> None:
        self._data[key] = value

    def get(self, key: Any, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: Any) -> bool:
        return key in self._data

    def keys(self):
        return list(self._data.keys())

    def items(self):
        return [(k, self._convert(self._data[k])) for k in self._data.keys()]

    def __iter__(self):
        return iter(list(self._data.keys()))

    def __len__(self) -> int:
        return len(self._data)

    def __reduce__(self):
        return (HeavyZoneWrapper, ({k: self._data[k] for k in self._data.keys()},))

    def __repr__(self) -> str:
        return f"<HeavyZoneWrapper keys={list(self._data.keys())}>"


# ---- allocators -------------------------------------------------------------------------------


def _unlink_owned(segment: Any) -> None:
    """Close a segment handle and, when this process created it, unlink it (arrays still viewing
    it keep their mapping until they are gone)."""
    segment.close()
    if segment.owner:
        try:
            segment.unlink()
        except FileNotFoundError:
            pass


class HeavyZoneAllocator:
    """A user-level allocator: ``alloc(key, shape, dtype)`` creates segment
    ``theus_<session8>_<pid>_<key>``, or attaches it if it already exists (idempotent). Arrays pickle
    as handles. ``cleanup()`` (run at interpreter exit unless called before) closes every segment
    and unlinks those the current process created (fork-safe); it is idempotent."""

    def __init__(self) -> None:
        self.session_id = uuid.uuid4().hex[:8]
        self._segments: Dict[str, Any] = {}
        self._lock = threading.Lock()
        self.registry = _shm().MemoryRegistry(self.session_id, registry_path())
        # Held until cleanup() or interpreter exit, so arrays outlive a discarded allocator.
        atexit.register(self.cleanup)

    def segment_name(self, key: str) -> str:
        return f"theus_{self.session_id}_{os.getpid()}_{key}"

    def alloc(self, key: str, shape: Any, dtype: Any = "float64") -> ShmArray:
        shape, dt, nbytes = _nbytes(shape, dtype)
        name = self.segment_name(key)
        shm = _shm()
        with self._lock:
            seg = self._segments.get(name)
            if seg is None or seg.closed:
                try:
                    seg = shm.SharedSegment.create(name, max(nbytes, 1))
                    self.registry.log_allocation(name, nbytes)
                except FileExistsError:
                    seg = shm.SharedSegment.attach(name)
                self._segments[name] = seg
        if seg.size < nbytes:
            raise ValueError(f"segment '{name}' holds {seg.size} bytes; shape {shape} of {dt} needs {nbytes}")
        return _array_over(seg, shape, dt)

    def cleanup(self) -> None:
        atexit.unregister(self.cleanup)
        with self._lock:
            segments, self._segments = list(self._segments.values()), {}
        for seg in segments:
            _unlink_owned(seg)
        registry = getattr(self, "registry", None)
        if registry is not None:
            registry.cleanup()

    def __del__(self) -> None:
        try:
            self.cleanup()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def __repr__(self) -> str:
        return f"<HeavyZoneAllocator session='{self.session_id}' segments={len(self._segments)}>"


class ManagedAllocator:
    """The engine's allocator (``engine.heavy``), bounded by ``capacity_mb``.

    ``alloc(name, shape, dtype)`` creates segment ``theus_<session_id>_<name>`` (``FileExistsError``
    if the name is taken, ``MemoryError`` beyond capacity) and returns a zero-copy ``ShmArray``;
    ``get(name, shape=None, dtype=None)`` attaches by name (an array view when shape and dtype
    are given, else the segment handle); ``free(name)`` releases one array; ``cleanup()`` unlinks
    every segment this process created. Construction runs the registry's zombie scan.
    """

    def __init__(self, capacity_mb: float = 512, session_id: Optional[str] = None) -> None:
        self.capacity = int(capacity_mb * 1024 * 1024)
        self.session_id = session_id or f"theus_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.usage = 0
        self._owned: Dict[str, Any] = {}
        self._sizes: Dict[str, int] = {}
        self._attached: Dict[str, Any] = {}
        self._lock = threading.Lock()
        self.registry = _shm().MemoryRegistry(self.session_id, registry_path())

    def segment_name(self, name: str) -> str:
        return f"theus_{self.session_id}_{name}"

    def alloc(self, name: str, shape: Any, dtype: Any = "float64") -> ShmArray:
        shape, dt, nbytes = _nbytes(shape, dtype)
        full = self.segment_name(name)
        with self._lock:
            if name in self._owned:
                raise FileExistsError(f"heavy array '{name}' is already allocated (segment '{full}')")
            if self.usage + nbytes > self.capacity:
                raise MemoryError(f"ManagedAllocator capacity exceeded ({self.usage + nbytes} > {self.capacity})")
            seg = _shm().SharedSegment.create(full, max(nbytes, 1))
            try:
                self.registry.log_allocation(full, nbytes)
            except BaseException:
                _unlink_owned(seg)
                raise
            self._owned[name] = seg
            self._sizes[name] = nbytes
            self.usage += nbytes
        return _array_over(seg, shape, dt)

    def get(self, name: str, shape: Any = None, dtype: Any = None) -> Any:
        with self._lock:
            seg = self._owned.get(name) or self._attached.get(name)
            if seg is None or seg.closed:
                seg = SafeSharedMemory(self.segment_name(name))
                self._attached[name] = seg
        if shape is not None and dtype is not None:
            return _array_over(seg, _nbytes(shape, dtype)[0], dtype)
        return seg

    def free(self, name: str) -> None:
        """Unlink one array's segment (views alive keep their memory until they are gone)."""
        with self._lock:
            seg = self._owned.pop(name, None)
            if seg is None:
                raise KeyError(f"no heavy array named '{name}' in this allocator")
            self.usage -= self._sizes.pop(name, 0)
        _unlink_owned(seg)

    def cleanup(self) -> None:
        with self._lock:
            owned, self._owned = list(self._owned.values()), {}
            attached, self._attached = list(self._attached.values()), {}
            self._sizes.clear()
            self.usage = 0
        for seg in owned:
            _unlink_owned(seg)
        for seg in attached:
            seg.close()
        registry = getattr(self, "registry", None)
        if registry is not None:
            registry.cleanup()

    def __del__(self) -> None:
        try:
            self.cleanup()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def __repr__(self) -> str:
        return (f"<ManagedAllocator session='{self.session_id}' arrays={len(self._owned)} "
                f"usage={self.usage}/{self.capacity} bytes>")


def engine_allocator() -> Optional[ManagedAllocator]:
    """``engine.heavy`` of a new engine: a ManagedAllocator of ``THEUS_HEAP_SIZE`` MB (default
    512); on failure a RuntimeWarning and None."""
    try:
        capacity = float(os.environ.get("THEUS_HEAP_SIZE", "512"))
        return ManagedAllocator(capacity_mb=capacity)
    except Exception as exc:  # noqa: BLE001 - the engine works without a heavy allocator
        warnings.warn(f"heavy zone allocator unavailable: {exc}", RuntimeWarning, stacklevel=3)
        return None
