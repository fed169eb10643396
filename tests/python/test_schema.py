"""The schema gatekeeper (core.md §10, D13)."""
import pytest
from pydantic import BaseModel, ConfigDict, model_validator

import theus_core
from theus import BaseSystemContext, SchemaViolationError, TheusEngine, process


class Episode(BaseModel):
    episode: int
    score: float
    mode: str = "train"


class Counter(BaseModel):
    class Domain(BaseModel):
        n: int

    domain: Domain


@process(inputs=["domain.n"], outputs=["domain.n"])
def set_n(ctx, v):
    return v


def counter_engine(**kw):
    engine = TheusEngine({"domain": {"n": 0}}, **kw)
    engine.set_schema(Counter)
    return engine


# ---- the partial-update example -------------------------------------------------------------------


def test_first_commit_lacking_a_required_field_fails():
    engine = TheusEngine()
    engine.set_schema(Episode)
    with pytest.raises(SchemaViolationError, match=r"(?s)^Schema Violation: .*score"):
        with engine.transaction() as tx:
            tx.update(data={"episode": 1})
    assert engine.state.version == 0


def test_partial_update_is_checked_against_the_merged_state():
    engine = TheusEngine()
    engine.set_schema(Episode)
    with engine.transaction() as tx:
        tx.update(data={"episode": 1, "score": 1.0})
    with engine.transaction() as tx:
        tx.update(data={"score": 20.0})
    assert engine.state.data.to_dict() == {"episode": 1, "score": 20.0}


def test_invalid_partial_update_fails_and_keeps_state():
    engine = TheusEngine()
    engine.set_schema(Episode)
    with engine.transaction() as tx:
        tx.update(data={"episode": 1, "score": 1.0})
    before = engine.state
    with pytest.raises(SchemaViolationError, match=r"^Schema Violation: "):
        with engine.transaction() as tx:
            tx.update(data={"score": "invalid"})
    assert engine.state is before
    assert engine.state.data["score"] == 1.0


# ---- every commit path (§10) -----------------------------------------------------------------------


def test_execute_violation_raises_and_commits_nothing():
    engine = counter_engine()
    before = engine.state
    with pytest.raises(SchemaViolationError, match=r"^Schema Violation: "):
        engine.execute_sync(set_n, v="not-a-number")
    assert engine.state is before


async def test_awaited_execute_violation_raises():
    engine = counter_engine()
    with pytest.raises(SchemaViolationError):
        await engine.execute(set_n, v="nan?")
    assert engine.state.data["domain"]["n"] == 0


def test_execute_partial_update_with_required_fields_passes_d13():
    class Model(BaseModel):
        class Domain(BaseModel):
            n: int
            label: str

        domain: Domain

    engine = TheusEngine({"domain": {"n": 0, "label": "x"}})
    engine.set_schema(Model)
    engine.execute_sync(set_n, v=5)  # the delta alone lacks 'label'
    assert engine.state.data["domain"].to_dict() == {"n": 5, "label": "x"}


def test_schema_applies_with_strict_guards_off_d13():
    engine = counter_engine(strict_guards=False)
    with pytest.raises(SchemaViolationError):
        engine.execute_sync(set_n, v="bad")
    assert engine.state.version == 1


def test_cas_violation_uses_cas_prefix():
    engine = counter_engine()
    with pytest.raises(SchemaViolationError, match=r"^Schema Violation \(CAS\): "):
        engine.compare_and_swap(1, data={"domain": {"n": "bad"}})
    assert engine.state.version == 1


def test_core_cas_violation_uses_cas_prefix():
    core = theus_core.TheusEngine()
    core.set_schema(Episode)
    with pytest.raises(SchemaViolationError, match=r"^Schema Violation \(CAS\): "):
        core.compare_and_swap(0, data={"episode": 1})
    assert core.state.version == 0


def test_edit_violation_propagates():
    from dataclasses import dataclass

    from theus import BaseDomainContext

    @dataclass
    class D(BaseDomainContext):
        n: int = 0

    dom = D()
    engine = TheusEngine(BaseSystemContext(domain=dom))
    engine.set_schema(Counter)
    with pytest.raises(SchemaViolationError):
        with engine.edit() as ctx:
            ctx.domain.n = "bad"
    assert engine.state.data["domain"]["n"] == 0


def test_violation_is_not_retried():
    attempts = []

    @process(outputs=["domain.n"])
    def bad(ctx):
        attempts.append(1)
        return "bad"

    engine = counter_engine()
    with pytest.raises(SchemaViolationError):
        engine.execute_sync(bad)
    assert attempts == [1]


def test_violation_publishes_no_signal_and_releases_no_outbox():
    @process(inputs=["domain.n"], outputs=["domain.n"])
    def noisy(ctx):
        ctx.outbox.add(theus_core.OutboxMsg("t", 1))
        ctx.domain.n = "bad"

    engine = counter_engine()
    rx = engine.state.signal.subscribe()
    with pytest.raises(SchemaViolationError):
        with engine.transaction() as tx:
            tx.update(data={"domain": {"n": "bad"}}, signal={"s": 1})
    with pytest.raises(SchemaViolationError):
        engine.execute_sync(noisy)
    engine.state.signal.publish("marker")
    assert rx.recv() == "marker"
    assert engine.outbox.drain() == []


def test_violation_does_not_sync_back():
    from dataclasses import dataclass

    from theus import BaseDomainContext

    @dataclass
    class D(BaseDomainContext):
        n: int = 0

    dom = D()
    engine = TheusEngine(BaseSystemContext(domain=dom))
    engine.set_schema(Counter)
    with pytest.raises(SchemaViolationError):
        engine.execute_sync(set_n, v="bad")
    assert dom.n == 0


def test_valid_commit_passes_through_the_gate():
    engine = counter_engine()
    engine.execute_sync(set_n, v=3)
    engine.compare_and_swap(2, data={"domain": {"n": 4}})
    assert engine.state.data["domain"]["n"] == 4
    assert engine.state.version == 3


# ---- what is validated -----------------------------------------------------------------------------


def test_full_resulting_data_map_is_validated_once_per_commit():
    seen = []

    class Spy(BaseModel):
        @model_validator(mode="before")
        @classmethod
        def record(cls, data):
            seen.append(dict(data))
            return data

    engine = TheusEngine({"domain": {"n": 0}, "other": {"k": 1}})
    engine.set_schema(Spy)
    engine.execute_sync(set_n, v=1)
    assert seen == [{"domain": {"n": 1}, "other": {"k": 1}}]


def test_extra_keys_are_ignored_by_default():
    engine = counter_engine()
    engine.compare_and_swap(1, data={"unrelated": 1})
    assert engine.state.data["unrelated"] == 1


def test_extra_keys_follow_model_config():
    class Closed(BaseModel):
        model_config = ConfigDict(extra="forbid")
        domain: dict

    engine = TheusEngine({"domain": {"n": 0}})
    engine.set_schema(Closed)
    with pytest.raises(SchemaViolationError, match="unrelated"):
        engine.compare_and_swap(1, data={"unrelated": 1})
    assert "unrelated" not in engine.state.data


# ---- malformed schemas --------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [5, "not a model", object])
def test_malformed_schema_is_refused_naming_it(bad):
    engine = TheusEngine({"domain": {"n": 0}})
    with pytest.raises(TypeError) as info:
        engine.set_schema(bad)
    assert repr(bad) in str(info.value)
    engine.execute_sync(set_n, v="anything")  # no gate was installed
    assert engine.state.data["domain"]["n"] == "anything"


def test_schema_whose_validation_crashes_refuses_the_commit():
    class Crashing(BaseModel):
        @model_validator(mode="before")
        @classmethod
        def crash(cls, data):
            raise KeyError("validator bug")

    engine = TheusEngine({"domain": {"n": 0}})
    engine.set_schema(Crashing)
    before = engine.state
    with pytest.raises(Exception):
        engine.execute_sync(set_n, v=1)
    assert engine.state is before
