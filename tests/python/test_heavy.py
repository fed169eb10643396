"""Heavy zone (heavy_parallel_cli.md §1-3): shared segments, ShmArray and its handle pickling,
HeavyZoneWrapper, both allocators, the registry and its zombie scan, and heavy values in the
engine (by reference, zero-copy, CAS rules)."""
import json
import os
import pickle
import subprocess
import sys
import threading

import numpy as np
import pytest

import theus_core
from theus import TheusEngine, process
from theus.context import (
    REGISTRY_FILE,
    HeavyZoneAllocator,
    HeavyZoneWrapper,
    SafeSharedMemory,
    ShmArray,
    rebuild_shm_array,
)
from theus.structures import ContextError, ManagedAllocator, StateUpdate

shm = theus_core.shm


def exists(name):
    return os.path.exists(f"/dev/shm/{name}")


@pytest.fixture
def segment_name(request):
    name = f"theus_pytest_{os.getpid()}_{request.node.name[:40]}"
    yield name
    shm.unlink(name)


@pytest.fixture
def allocator():
    alloc = HeavyZoneAllocator()
    yield alloc
    alloc.cleanup()


# ---- SharedSegment ----------------------------------------------------------------------------


def test_segment_create_attach_share_bytes(segment_name):
    seg = shm.SharedSegment.create(segment_name, 64)
    assert (seg.name, seg.size, seg.owner, seg.closed) == (segment_name, 64, True, False)
    seg.buf[:5] = b"hello"
    other = shm.SharedSegment.attach(segment_name)
    assert bytes(other.buf[:5]) == b"hello"
    assert other.owner is False
    assert repr(seg) == f"<SharedSegment name='{segment_name}' size=64 owner_pid={os.getpid()}>"
    assert exists(segment_name)


def test_segment_errors_name_the_segment(segment_name):
    shm.SharedSegment.create(segment_name, 8)
    with pytest.raises(FileExistsError, match=segment_name):
        shm.SharedSegment.create(segment_name, 8)
    with pytest.raises(FileNotFoundError, match="theus_pytest_missing"):
        shm.SharedSegment.attach("theus_pytest_missing")
    with pytest.raises(ValueError, match="contains '/'"):
        shm.SharedSegment.create("a/b", 8)
    assert shm.unlink(segment_name) is True
    assert shm.unlink(segment_name) is False


def test_closing_a_segment_keeps_arrays_viewing_it_valid(segment_name):
    seg = shm.SharedSegment.create(segment_name, 8 * 100)
    arr = np.frombuffer(seg.buf, dtype=np.float64)
    arr[:] = 7.0
    assert seg.exports == 1
    seg.close()
    assert seg.closed
    assert arr.sum() == 700.0  # still mapped: the array holds an export
    with pytest.raises(ValueError, match="is closed"):
        memoryview(seg)
    del arr  # the last export: unmapped now
    assert seg.exports == 0


def test_readonly_attach_refuses_writable_buffers(segment_name):
    shm.SharedSegment.create(segment_name, 16)
    ro = shm.SharedSegment.attach(segment_name, writable=False)
    assert ro.writable is False
    assert memoryview(ro).readonly
    with pytest.raises(ValueError):
        np.frombuffer(ro.buf, dtype=np.uint8)[0] = 1


def test_process_identity_helpers():
    start = shm.process_start_time(os.getpid())
    assert isinstance(start, int) and start > 0
    assert shm.process_alive(os.getpid(), start)
    assert not shm.process_alive(os.getpid(), start + 1)
    assert shm.process_start_time(-5) is None


# ---- ShmArray and handle pickling --------------------------------------------------------------


def test_alloc_returns_a_zero_filled_shared_array(allocator):
    arr = allocator.alloc("frames", (3, 4), "float32")
    assert isinstance(arr, ShmArray) and isinstance(arr, np.ndarray)
    assert arr.shape == (3, 4) and arr.dtype == np.float32
    assert not arr.any()
    assert arr.shm.name == f"theus_{allocator.session_id}_{os.getpid()}_frames"
    assert arr._shm_ref is arr.shm
    twin = rebuild_shm_array(arr.shm.name, (3, 4), "float32")
    twin[1, 2] = 5.0
    assert arr[1, 2] == 5.0


def test_pickled_array_is_a_small_handle_to_the_same_memory(allocator):
    arr = allocator.alloc("big", (1_000_000,), "float64")  # 8 MB
    payload = pickle.dumps(arr)
    assert len(payload) < 1024
    back = pickle.loads(payload)
    assert isinstance(back, ShmArray)
    back[123] = 4.5
    assert arr[123] == 4.5
    assert np.shares_memory(back, back) and back.shm.name == arr.shm.name


@pytest.mark.parametrize(
    "view",
    [
        lambda a: a[2:5],
        lambda a: a[1::3],
        lambda a: a[::-1],
        lambda a: a[:, 2],
        lambda a: a.T,
        lambda a: a[3:, 1:4][::2],
        lambda a: a[0, 0:0],
    ],
    ids=["rows", "step", "reversed", "column", "transpose", "nested", "empty"],
)
def test_views_pickle_with_their_own_offset_and_strides(allocator, view):
    arr = allocator.alloc("grid", (6, 5), "int64")
    arr[:] = np.arange(30).reshape(6, 5)
    v = view(arr)
    back = pickle.loads(pickle.dumps(v))
    assert isinstance(back, ShmArray)
    np.testing.assert_array_equal(back, v)
    if v.size:
        back.flat[0] = -1  # same memory, not a copy
        assert v.flat[0] == -1


def test_arrays_outside_the_segment_pickle_by_value(allocator):
    arr = allocator.alloc("src", (10,), "float64")
    arr[:] = 2.0
    copied = arr.copy()  # carries .shm but lives elsewhere
    assert copied.shm is arr.shm
    back = pickle.loads(pickle.dumps(copied))
    np.testing.assert_array_equal(back, copied)
    back[0] = 99.0
    assert arr[0] == 2.0
    plain = pickle.loads(pickle.dumps(ShmArray(np.ones(3))))
    assert plain.shm is None and plain.sum() == 3.0


def test_unpickling_after_the_segment_is_gone_gives_none(allocator):
    arr = allocator.alloc("gone", (4,), "float64")
    payload = pickle.dumps(arr)
    allocator.cleanup()
    assert not exists(arr.shm.name)
    assert pickle.loads(payload) is None
    assert rebuild_shm_array("theus_pytest_never_existed", (1,), "float64") is None


def test_borrower_handle_cannot_unlink(allocator):
    arr = allocator.alloc("owned", (2,), "float64")
    borrowed = SafeSharedMemory(arr.shm.name)
    with pytest.raises(PermissionError, match="Only the Owner process can unlink Managed Memory"):
        borrowed.unlink()
    assert borrowed.size == arr.shm.size and borrowed.writable
    assert repr(borrowed).startswith("<SafeSharedMemory name='theus_")
    borrowed.close()
    assert exists(arr.shm.name)


# ---- HeavyZoneWrapper ------------------------------------------------------------------------


def test_wrapper_reattaches_descriptors_and_passes_other_values(allocator):
    arr = allocator.alloc("w", (4,), "int32")
    arr[:] = [1, 2, 3, 4]
    desc = shm.BufferDescriptor(arr.shm.name, 16, [4], "int32")
    ref = {"name": arr.shm.name, "shape": [2], "dtype": "int32", "offset": 8}
    gone = {"name": "theus_pytest_gone", "shape": [1], "dtype": "int8"}
    w = HeavyZoneWrapper({"desc": desc, "ref": ref, "plain": 5, "gone": gone})
    np.testing.assert_array_equal(w["desc"], [1, 2, 3, 4])
    np.testing.assert_array_equal(w.ref, [3, 4])
    assert w["plain"] == 5 and w.get("missing", 0) == 0
    assert w["gone"] is None
    assert "desc" in w and "nope" not in w
    assert dict(w.items())["plain"] == 5
    assert sorted(w.keys()) == ["desc", "gone", "plain", "ref"] and len(w) == 4
    with pytest.raises(AttributeError, match="nope"):
        w.nope
    w["new"] = 1
    assert w["new"] == 1
    assert repr(w) == "<HeavyZoneWrapper keys=['desc', 'ref', 'plain', 'gone', 'new']>"
    assert repr(desc) == f"<BufferDescriptor name='{arr.shm.name}' size=16 shape=[4] dtype='int32'>"


def test_wrapper_over_a_frozen_heavy_map_refuses_writes():
    engine = TheusEngine()
    engine.compare_and_swap(engine.state.version, heavy={"k": 1})
    w = HeavyZoneWrapper(engine.state.heavy)
    assert w["k"] == 1
    with pytest.raises(ContextError):
        w["k"] = 2


# ---- allocators ------------------------------------------------------------------------------


def test_heavy_zone_allocator_is_idempotent_and_cleans_up(allocator):
    a = allocator.alloc("same", (8,), "float64")
    b = allocator.alloc("same", (8,), "float64")
    a[0] = 3.0
    assert b[0] == 3.0
    name = a.shm.name
    records = [r for r in allocator.registry.records() if r["name"] == name]
    assert len(records) == 1 and records[0]["pid"] == os.getpid()
    assert records[0]["session"] == allocator.session_id
    allocator.cleanup()
    allocator.cleanup()  # idempotent
    assert not exists(name)
    assert a[0] == 3.0  # the array keeps its mapping


def test_managed_allocator_names_capacity_and_duplicates():
    alloc = ManagedAllocator(capacity_mb=1, session_id="pytest")
    try:
        arr = alloc.alloc("m", (1000,), "float64")
        assert arr.shm.name == "theus_pytest_m"
        assert alloc.usage == 8000
        with pytest.raises(FileExistsError, match="theus_pytest_m"):
            alloc.alloc("m", (10,), "float64")
        with pytest.raises(MemoryError, match=r"ManagedAllocator capacity exceeded \(1056576 > 1048576\)"):
            alloc.alloc("too_big", (131072,), "float64")
        seg = alloc.get("m")
        assert seg.name == "theus_pytest_m"
        view = alloc.get("m", shape=(10, 100), dtype="float64")
        view[0, 0] = 1.5
        assert arr[0] == 1.5
        alloc.free("m")
        assert alloc.usage == 0 and not exists("theus_pytest_m")
        assert repr(alloc).startswith("<ManagedAllocator session='pytest' arrays=0")
    finally:
        alloc.cleanup()


def test_default_sessions_follow_the_naming_rules():
    managed = ManagedAllocator()
    assert managed.session_id.startswith(f"theus_{os.getpid()}_") and len(managed.session_id.split("_")[-1]) == 8
    assert managed.capacity == 512 * 1024 * 1024
    user = HeavyZoneAllocator()
    assert len(user.session_id) == 8 and int(user.session_id, 16) >= 0
    managed.cleanup()
    user.cleanup()


def test_engine_owns_a_managed_allocator_sized_by_the_environment(monkeypatch):
    monkeypatch.setenv("THEUS_HEAP_SIZE", "2")
    engine = TheusEngine()
    assert isinstance(engine.heavy, ManagedAllocator)
    assert engine.heavy.capacity == 2 * 1024 * 1024
    arr = engine.heavy.alloc("e", (16,), "float64")
    name = arr.shm.name
    assert name.startswith(f"theus_theus_{os.getpid()}_") and exists(name)
    engine.shutdown()
    assert engine.heavy is None and not exists(name)


def test_engine_context_manager_releases_segments():
    with TheusEngine() as engine:
        name = engine.heavy.alloc("cm", (4,), "float64").shm.name
        assert exists(name)
    assert not exists(name)


def test_a_collected_engine_releases_its_segments():
    import gc

    engine = TheusEngine()
    name = engine.heavy.alloc("gc", (4,), "float64").shm.name
    del engine
    gc.collect()
    assert not exists(name)


# ---- registry --------------------------------------------------------------------------------


def test_registry_file_format(tmp_path):
    path = tmp_path / "reg.jsonl"
    reg = shm.MemoryRegistry("ab12cd34", str(path))
    reg.log_allocation("theus_ab12cd34_1_frames", 4096)
    line = path.read_text().splitlines()[0]
    rec = json.loads(line)
    assert list(rec) == ["name", "pid", "session", "size", "ts", "start"]
    assert line.startswith(f'{{"name":"theus_ab12cd34_1_frames","pid":{os.getpid()},"session":"ab12cd34","size":4096,')
    assert rec["start"] == shm.process_start_time(os.getpid())
    assert reg.allocations == {"theus_ab12cd34_1_frames": 4096}
    assert repr(reg) == f"<MemoryRegistry session='ab12cd34' path='{path}' allocations=1>"
    assert REGISTRY_FILE == shm.REGISTRY_FILE == ".theus_memory_registry.jsonl"


def test_registry_defaults_to_the_environment_then_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("THEUS_REGISTRY_FILE", str(tmp_path / "env.jsonl"))
    assert shm.MemoryRegistry("s").path == str(tmp_path / "env.jsonl")
    monkeypatch.delenv("THEUS_REGISTRY_FILE")
    monkeypatch.chdir(tmp_path)
    assert shm.MemoryRegistry("s").path == str(tmp_path / ".theus_memory_registry.jsonl")


def test_scan_reclaims_dead_and_pid_reused_owners_and_keeps_live_ones(tmp_path, capsys):
    path = str(tmp_path / "reg.jsonl")
    live = shm.SharedSegment.create(f"theus_pytest_live_{os.getpid()}", 8)
    reused = shm.SharedSegment.create(f"theus_pytest_reused_{os.getpid()}", 8)
    dead = shm.SharedSegment.create(f"theus_pytest_dead_{os.getpid()}", 8)
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(child.stdout)  # exited and reaped
    me, start = os.getpid(), shm.process_start_time(os.getpid())
    lines = [
        {"name": live.name, "pid": me, "session": "a", "size": 8, "ts": 0.0, "start": start},
        {"name": reused.name, "pid": me, "session": "b", "size": 8, "ts": 0.0, "start": start + 1},
        {"name": dead.name, "pid": dead_pid, "session": "c", "size": 8, "ts": 0.0},
    ]
    with open(path, "w") as fh:
        fh.write("\n".join(json.dumps(r) for r in lines) + "\n" + "garbage\n")
    capsys.readouterr()
    reg = shm.MemoryRegistry("scanner", path)  # the constructor scans
    err = capsys.readouterr().err
    assert "[TheusCore] Registry GC: 4 lines read, 1 kept (3 dropped). Rewriting..." in err
    assert "[TheusCore] Cleanup SUCCESS. File rewritten." in err
    assert exists(live.name) and not exists(reused.name) and not exists(dead.name)
    assert [r["name"] for r in reg.records()] == [live.name]
    assert reg.scan_zombies() == []
    assert "No cleanup needed. All records alive?" in capsys.readouterr().err
    shm.unlink(live.name)


def test_concurrent_processes_log_whole_lines(tmp_path):
    """Three processes append and scan (rewriting the file) at once; each stays alive until the
    file has been checked, so its records must all be there, whole."""
    path = str(tmp_path / "reg.jsonl")
    code = (
        "import sys, theus_core\n"
        "r = theus_core.shm.MemoryRegistry('p' + sys.argv[1], sys.argv[2], scan=False)\n"
        "for i in range(200):\n"
        "    r.log_allocation(f'theus_x_{sys.argv[1]}_{i}', i)\n"
        "    if i % 20 == 0: r.scan_zombies()\n"
        "print('done', flush=True)\n"
        "sys.stdin.read()\n"
    )
    from conftest import subprocess_env

    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(n), path], env=subprocess_env(), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for n in range(3)
    ]
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "done"
        with open(path) as fh:
            lines = fh.read().splitlines()
    finally:
        for p in procs:
            p.stdin.close()
            p.wait()
    assert len(lines) == 600
    assert sorted(json.loads(line)["name"] for line in lines) == sorted(
        f"theus_x_{n}_{i}" for n in range(3) for i in range(200)
    )


# ---- heavy values in the engine ----------------------------------------------------------------


@process(inputs=["heavy.frames"], outputs=["heavy.frames_out", "domain.seen"])
def use_heavy(ctx):
    arr = ctx.heavy["frames"]
    ctx.heavy["frames_out"] = arr[::2]
    return None, float(arr.sum())


def test_heavy_values_are_held_by_reference_and_never_copied(allocator):
    engine = TheusEngine({"domain": {"seen": 0.0}})
    arr = allocator.alloc("frames", (1000,), "float64")
    arr[:] = 1.0
    engine.compare_and_swap(engine.state.version, heavy={"frames": arr})
    assert engine.state.heavy["frames"] is arr
    seen = {}

    @process(inputs=["heavy.frames"], outputs=["heavy.out"])
    def grab(ctx):
        seen["obj"] = ctx.heavy["frames"]
        ctx.heavy["out"] = ctx.heavy["frames"][:10]
        return None

    engine.execute_sync(grab)
    assert seen["obj"] is arr  # zero-copy inside the process
    out = engine.state.heavy["out"]
    assert np.shares_memory(out, arr)
    arr[0] = 42.0  # in-place mutation is visible everywhere (not transactional)
    assert out[0] == 42.0


def test_heavy_writes_through_state_update_and_contract(allocator):
    engine = TheusEngine({"domain": {"seen": 0.0}})
    arr = allocator.alloc("in", (4,), "float64")

    @process(inputs=[], outputs=["heavy.result"])
    def publish(ctx):
        return StateUpdate(heavy={"result": arr})

    @process(inputs=[], outputs=["domain.seen"])
    def sneaky(ctx):
        return StateUpdate(heavy={"result": np.zeros(2)})

    engine.execute_sync(publish)
    assert engine.state.heavy["result"] is arr
    version = engine.state.version
    with pytest.raises(PermissionError, match="heavy.result"):
        engine.execute_sync(sneaky)
    assert engine.state.version == version and engine.state.heavy["result"] is arr


def test_heavy_zone_refuses_delete(allocator):
    engine = TheusEngine()
    engine.compare_and_swap(engine.state.version, heavy={"x": allocator.alloc("x", (2,), "float64")})

    @process(inputs=["heavy.x"], outputs=["heavy.x"])
    def delete_it(ctx):
        del ctx.heavy["x"]

    with pytest.raises(PermissionError, match="DELETE"):
        engine.execute_sync(delete_it)
    assert "x" in engine.state.heavy


def test_concurrent_cas_on_one_heavy_key_lets_exactly_one_win(allocator):
    engine = TheusEngine()
    a, b = allocator.alloc("a", (2,), "float64"), allocator.alloc("b", (2,), "float64")
    base = engine.state.version
    engine.compare_and_swap(base, heavy={"k": a})
    with pytest.raises(ContextError, match="CAS Version Mismatch"):
        engine.compare_and_swap(base, heavy={"k": b})
    assert engine.state.heavy["k"] is a
    engine.compare_and_swap(base, heavy={"other": b})  # disjoint key: no conflict
    assert engine.state.heavy["other"] is b


@process(inputs=["heavy.counter"], outputs=["heavy.counter"])
def bump_heavy(ctx):
    return ctx.heavy["counter"] + 1


def test_concurrent_writers_to_a_heavy_key_lose_no_update():
    engine = TheusEngine()
    engine.compare_and_swap(engine.state.version, heavy={"counter": 0})
    threads, per_thread = 4, 50
    errors = []

    def worker():
        try:
            for _ in range(per_thread):
                engine.execute_sync(bump_heavy)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert not errors
    assert engine.state.heavy["counter"] == threads * per_thread


def test_theus_imports_without_numpy():
    from conftest import subprocess_env

    code = "import theus, theus.heavy, theus.parallel, theus.context; print(theus.heavy.np is None)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env())
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
