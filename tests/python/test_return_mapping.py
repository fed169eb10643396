"""Return values: output mapping and StateUpdate (core.md §4.6, rule D of §4.3, D8)."""
import pytest

from theus import RetryPolicy, TheusEngine, process
from theus.structures import ContextError, StateUpdate


def make_engine(**kw):
    return TheusEngine({"domain": {"a": 1, "b": 2, "status": "idle", "cfg": {"x": 1, "y": 2}, "value": 0},
                        "global": {"g": 1}}, **kw)


def returning(value, outputs, inputs=()):
    @process(inputs=list(inputs), outputs=list(outputs))
    def ret(ctx):
        return value

    return ret


def dom(engine):
    return engine.state.data["domain"].to_dict()


# ---- output mapping --------------------------------------------------------------------------


def test_single_output_scalar_is_written():
    engine = make_engine()
    assert engine.execute_sync(returning(5, ["domain.a"])) == 5
    assert dom(engine)["a"] == 5 and dom(engine)["b"] == 2
    assert engine.state.version == 2


async def test_single_output_scalar_written_by_async_execute():
    engine = make_engine()

    @process(outputs=["domain.a"])
    async def ret(ctx):
        return 6

    assert await engine.execute(ret) == 6
    assert dom(engine)["a"] == 6


def test_single_output_tuple_stays_whole():
    engine = make_engine()
    engine.execute_sync(returning((7, 8), ["domain.a"]))
    assert engine.state.data["domain"]["a"] == (7, 8)


def test_several_outputs_positional_tuple():
    engine = make_engine()
    engine.execute_sync(returning((10, 20), ["domain.a", "domain.b"]))
    assert (dom(engine)["a"], dom(engine)["b"]) == (10, 20)


def test_several_outputs_extra_values_ignored():
    engine = make_engine()
    engine.execute_sync(returning([10, 20, 30], ["domain.a", "domain.b"]))
    assert (dom(engine)["a"], dom(engine)["b"]) == (10, 20)
    assert set(dom(engine)) == {"a", "b", "status", "cfg", "value"}


def test_several_outputs_missing_values_leave_outputs_untouched():
    engine = make_engine()
    engine.execute_sync(returning([10], ["domain.a", "domain.b"]))
    assert (dom(engine)["a"], dom(engine)["b"]) == (10, 2)


def test_dict_result_mapped_by_full_path():
    engine = make_engine()
    engine.execute_sync(returning({"domain.a": 11, "domain.b": 22}, ["domain.a", "domain.b"]))
    assert (dom(engine)["a"], dom(engine)["b"]) == (11, 22)


def test_dict_result_mapped_by_leaf_name_missing_is_skipped():
    engine = make_engine()
    engine.execute_sync(returning({"a": 11, "unrelated": 0}, ["domain.a", "domain.b"]))
    assert (dom(engine)["a"], dom(engine)["b"]) == (11, 2)


def test_dict_result_not_a_map_single_output_writes_whole_dict():
    engine = make_engine()
    engine.execute_sync(returning({"k": 1, "j": 2}, ["domain.cfg"]))
    assert dom(engine)["cfg"] == {"k": 1, "j": 2}


def test_dict_result_not_a_map_several_outputs_writes_nothing():
    engine = make_engine()
    engine.execute_sync(returning({"k": 1}, ["domain.a", "domain.b"]))
    assert (dom(engine)["a"], dom(engine)["b"]) == (1, 2)
    assert engine.state.version == 2


def test_single_output_status_unpacked_from_dict():
    engine = make_engine()
    engine.execute_sync(returning({"status": "x", "n": 1}, ["domain.status"]))
    assert dom(engine)["status"] == "x"


def test_none_result_writes_nothing_but_commits():
    engine = make_engine()
    engine.execute_sync(returning(None, ["domain.a"]))
    assert dom(engine)["a"] == 1
    assert engine.state.version == 2


def test_none_value_in_positional_result_is_skipped():
    engine = make_engine()
    engine.execute_sync(returning((None, 5), ["domain.a", "domain.b"]))
    assert (dom(engine)["a"], dom(engine)["b"]) == (1, 5)


def test_proxy_write_wins_over_return_value():
    engine = make_engine()

    @process(outputs=["domain.value"])
    def both(ctx):
        ctx.domain.value = 42
        return "ok"

    assert engine.execute_sync(both) == "ok"
    assert dom(engine)["value"] == 42


def test_proxy_write_wins_per_path_only():
    engine = make_engine()

    @process(outputs=["domain.a", "domain.b"])
    def both(ctx):
        ctx.domain.a = 100
        return (10, 20)

    engine.execute_sync(both)
    assert (dom(engine)["a"], dom(engine)["b"]) == (100, 20)


def test_proxy_write_of_descendant_skips_output():
    engine = make_engine()

    @process(outputs=["domain.cfg"])
    def both(ctx):
        ctx.domain.cfg.x = 50
        return {"replaced": True}

    engine.execute_sync(both)
    assert dom(engine)["cfg"] == {"x": 50, "y": 2}


def test_proxy_write_of_ancestor_skips_output():
    engine = make_engine()

    @process(outputs=["domain.cfg", "domain.cfg.x"])
    def both(ctx):
        ctx.domain.cfg = {"new": 1}
        return (None, 99)

    engine.execute_sync(both)
    assert dom(engine)["cfg"] == {"new": 1}


def test_output_to_other_root_creates_intermediate_dicts():
    engine = make_engine()
    engine.execute_sync(returning(3, ["stats.run.count"]))
    assert engine.state.data["stats"].to_dict() == {"run": {"count": 3}}


def test_output_with_global_alias_writes_global():
    engine = make_engine()
    engine.execute_sync(returning(5, ["global_.g"]))
    assert engine.state.data["global"]["g"] == 5
    assert "global_" not in engine.state.data


def test_output_overwrites_and_keeps_siblings():
    engine = make_engine()
    engine.execute_sync(returning(9, ["domain.cfg.x"]))
    assert dom(engine)["cfg"] == {"x": 9, "y": 2}


def test_heavy_output_goes_to_heavy_zone_by_reference():
    np = pytest.importorskip("numpy")
    arr = np.arange(4)
    engine = make_engine()
    engine.execute_sync(returning(arr, ["heavy.tensor"]))
    assert engine.state.heavy["tensor"] is arr
    assert "heavy" not in engine.state.data


def test_signal_output_is_latched_and_published():
    engine = make_engine()
    rx = engine.state.signal.subscribe()
    engine.execute_sync(returning("go", ["signal.ping"]))
    assert engine.state.signals.to_dict() == {"ping": "go"}
    assert rx.try_recv() == "ping:go"


def test_result_is_deep_unwrapped_and_detached():
    engine = make_engine()

    @process(inputs=["domain.cfg"])
    def give(ctx):
        return {"cfg": ctx.domain.cfg, "both": [ctx.domain.cfg]}

    result = engine.execute_sync(give)
    assert type(result["cfg"]) is dict and type(result["both"][0]) is dict
    result["cfg"]["x"] = 1000
    assert dom(engine)["cfg"]["x"] == 1


def test_returned_proxy_list_is_plain_list():
    engine = TheusEngine({"domain": {"items": [1, 2]}})

    @process(inputs=["domain.items"])
    def give(ctx):
        return ctx.domain["items"]

    result = engine.execute_sync(give)
    assert type(result) is list and result == [1, 2]


# ---- StateUpdate -----------------------------------------------------------------------------


def test_state_update_key_val_sets_dotted_path():
    engine = make_engine()
    engine.execute_sync(returning(StateUpdate(key="domain.new.deep", val=3), ["domain"]))
    assert dom(engine)["new"] == {"deep": 3}
    assert dom(engine)["a"] == 1


def test_state_update_single_segment_key_replaces_top_level_key():
    engine = make_engine()
    engine.execute_sync(returning(StateUpdate(key="global", val={"z": 1}), ["global"]))
    assert engine.state.data["global"].to_dict() == {"z": 1}


def test_state_update_val_none_writes_nothing():
    engine = make_engine()
    engine.execute_sync(returning(StateUpdate(key="domain.a", val=None), ["domain"]))
    assert dom(engine)["a"] == 1
    assert engine.state.version == 2


def test_state_update_data_sets_paths_including_none():
    engine = make_engine()
    engine.execute_sync(returning(StateUpdate(data={"domain.a": None, "domain.cfg.z": 5}), ["domain"]))
    assert dom(engine)["a"] is None
    assert dom(engine)["cfg"] == {"x": 1, "y": 2, "z": 5}


def test_state_update_skips_output_mapping():
    engine = make_engine()
    engine.execute_sync(returning(StateUpdate(data={"domain.b": 7}), ["domain.a", "domain.b"]))
    assert (dom(engine)["a"], dom(engine)["b"]) == (1, 7)


def test_state_update_heavy_written_by_reference():
    np = pytest.importorskip("numpy")
    arr = np.ones(3)
    engine = make_engine()
    engine.execute_sync(returning(StateUpdate(heavy={"w": arr}), ["heavy"]))
    assert engine.state.heavy["w"] is arr


def test_state_update_signal_latched_and_published_after_commit():
    engine = make_engine()
    rx = engine.state.signal.subscribe()
    engine.execute_sync(returning(StateUpdate(signal={"cmd_stop": True}), ["domain"]))
    assert engine.state.signals.to_dict() == {"cmd_stop": "True"}
    assert rx.try_recv() == "cmd_stop:True"


def test_state_update_signal_list_of_dicts():
    engine = make_engine()
    rx = engine.state.signal.subscribe()
    engine.execute_sync(returning(StateUpdate(signal=[{"a": 1}, {"b": 2}]), ["domain"]))
    assert [rx.try_recv(), rx.try_recv()] == ["a:1", "b:2"]


def test_state_update_assert_version_matching_commits():
    engine = make_engine()
    engine.execute_sync(returning(StateUpdate(key="domain.a", val=9, assert_version=1), ["domain.a"]))
    assert dom(engine)["a"] == 9 and engine.state.version == 2


def test_state_update_assert_version_mismatch_conflicts_and_commits_nothing():
    engine = make_engine(retry_policy=RetryPolicy(max_attempts=2, deadline_ms=5000))
    engine.execute_sync(returning(1, ["domain.b"]))
    before = engine.state
    with pytest.raises(ContextError, match="CAS Version Mismatch"):
        engine.execute_sync(returning(StateUpdate(key="domain.a", val=9, assert_version=1), ["domain.a"]))
    assert engine.state is before
    assert dom(engine)["a"] == 1


async def test_state_update_returned_by_async_process():
    engine = make_engine()

    @process(outputs=["domain.a"])
    async def ret(ctx):
        return StateUpdate(key="domain.a", val=77)

    await engine.execute(ret)
    assert dom(engine)["a"] == 77


# ---- permission check D ----------------------------------------------------------------------


@pytest.mark.parametrize("update,path", [
    (StateUpdate(key="domain.b", val=1), "domain.b"),
    (StateUpdate(data={"domain.a": 1, "global.g": 2}), "global.g"),
    (StateUpdate(heavy={"t": object()}), "heavy.t"),
])
def test_state_update_outside_outputs_refused(update, path):
    engine = make_engine()
    before = engine.state
    with pytest.raises(PermissionError, match=rf"Write permission denied for path '{path}'"):
        engine.execute_sync(returning(update, ["domain.a"]))
    assert engine.state is before


def test_state_update_root_output_covers_descendants():
    engine = make_engine()
    engine.execute_sync(returning(StateUpdate(key="domain.x.y", val=1), ["domain"]))
    assert dom(engine)["x"] == {"y": 1}


def test_state_update_wildcard_output_covers_path():
    engine = make_engine()
    engine.execute_sync(returning(StateUpdate(data={"domain.cfg.q": 1}), ["domain.cfg.*"]))
    assert dom(engine)["cfg"]["q"] == 1


def test_state_update_without_contract_is_not_permission_checked():
    engine = make_engine()

    def raw(ctx):
        return StateUpdate(data={"global.g": 3})

    engine.execute_sync(raw)
    assert engine.state.data["global"]["g"] == 3
