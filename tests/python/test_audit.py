"""Audit layer (spec: workflow §3, D9): AuditSystem levels and thresholds, the log ring, recipe
loading (path / dict / AuditRecipe / AuditRecipeBook / ./audit_recipe.yaml) and refusal of
malformed recipes, every rule kind through execute, input and output gates, Flux, ConfigLoader."""
import asyncio
import warnings

import pytest

import theus_core
from theus import TheusEngine, process
from theus.config import AuditRecipe, AuditRecipeBook, ConfigFactory, ConfigLoader, SchemaViolationError
from theus.structures import StateUpdate
from theus.validator import AuditValidator

AuditLevel = theus_core.AuditLevel
AuditSystem = theus_core.AuditSystem


# ---- AuditSystem --------------------------------------------------------------------------------


def test_levels_and_messages():
    sys = AuditSystem(AuditRecipe(AuditLevel.Stop))
    with pytest.raises(theus_core.AuditStopError, match="^Audit Stop: k triggered immediate halt$"):
        sys.log_fail("k")
    with pytest.raises(theus_core.AuditAbortError, match="^Audit Abort: k operation cancelled$"):
        sys.log_fail("k", level="A")
    sys.log_fail("k", level=AuditLevel.Count)
    assert sys.get_count("k") == 3
    assert issubclass(theus_core.AuditBlockError, RuntimeError)
    assert issubclass(theus_core.AuditWarning, UserWarning)


def test_block_after_threshold_then_reset_on_success():
    sys = AuditSystem(AuditRecipe(threshold_max=2))
    assert sys.recipe.level == AuditLevel.Block
    sys.log_fail("k")
    sys.log_fail("k")
    with pytest.raises(theus_core.AuditBlockError, match="Audit Blocked: k exceeded threshold 2"):
        sys.log_fail("k")
    with pytest.raises(theus_core.AuditBlockError):
        sys.log_fail("k")  # blocking does not reset the counter
    sys.log_success("k")
    assert sys.get_count("k") == 0
    sys.log_fail("k")


def test_warning_threshold_and_warnings_as_errors():
    sys = AuditSystem(AuditRecipe("B", 3, 2))
    sys.log_fail("w")
    with pytest.warns(theus_core.AuditWarning, match=r"WARNING: Approaching threshold \(2/3\)"):
        sys.log_fail("w")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(theus_core.AuditWarning):
            sys.log_fail("w")
    assert any(e.message == "WARN: Approaching threshold (2/3)" for e in sys.get_logs())


def test_ring_buffer_wraps_and_keeps_the_newest():
    sys = AuditSystem(capacity=4)
    for i in range(10):
        sys.log(f"k{i}", "m")
    logs = sys.get_logs()
    assert [e.key for e in logs] == ["k6", "k7", "k8", "k9"]
    assert sys.ring_buffer_len == 4 and sys.get_count_all() == 10
    assert str(logs[-1]).endswith("] k9: m") and isinstance(logs[-1].timestamp, float)
    other = AuditSystem(capacity=2)
    assert other.get_logs() == []  # each instance owns its ring


def test_recipe_is_writable_and_has_a_repr():
    r = AuditRecipe()
    r.level = "Count"
    r.threshold_max = 9
    assert r.level == AuditLevel.Count and r.threshold_max == 9
    assert repr(r) == "AuditRecipe(level=AuditLevel.Count, threshold_max=9, threshold_min=0, reset_on_success=True)"
    with pytest.raises(ValueError, match="unknown audit level 'Z'"):
        AuditRecipe("Z")


# ---- recipes ------------------------------------------------------------------------------------

RECIPE = """
audit:
  level: B
  threshold_max: 1
  reset_on_success: false
process_recipes:
  pay:
    inputs:
      - {field: amount, min: 1, max: 100}
      - {field: currency, eq: EUR}
      - {field: ref, regex: '[A-Z]{3}-\\d+'}
      - {field: note, max_len: 5, level: C}
    outputs:
      - {field: domain.account.balance, min: 0, level: A}
  tag:
    outputs:
      - {field: domain.account.tags, max_len: 2}
"""


@process(inputs=["domain.account"], outputs=["domain.account.balance"])
def pay(ctx, amount=1, currency="EUR", ref="ABC-1", note=""):
    return ctx.domain.account.balance - amount


@process(inputs=["domain.account"], outputs=["domain.account.tags"])
def tag(ctx, name="t"):
    ctx.domain.account.tags.append(name)


@process(inputs=["domain.account"], outputs=["domain.account.balance"])
def pay_su(ctx, amount=1):
    return StateUpdate(key="domain.account.balance", val=ctx.domain.account.balance - amount)


def engine_with(recipe, tmp_path=None, balance=1000):
    if isinstance(recipe, str) and tmp_path is not None:
        path = tmp_path / "recipe.yaml"
        path.write_text(recipe, encoding="utf-8")
        recipe = str(path)
    e = TheusEngine({"domain": {"account": {"balance": balance, "tags": []}}}, audit_recipe=recipe)
    for p in (pay, tag, pay_su):
        e.register(p)
    return e


def balance(e):
    return e.state.data["domain"]["account"]["balance"]


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"amount": 0}, "amount=0 is below min 1"),
        ({"amount": 101}, "amount=101 is above max 100"),
        ({"currency": "USD"}, "currency='USD' must equal 'EUR'"),
        ({"ref": "abc-1"}, "does not match regex"),
    ],
)
def test_input_rules_fail_then_block_and_commit_nothing(tmp_path, kwargs, fragment):
    e = engine_with(RECIPE, tmp_path)
    key = "pay:input:" + next(iter(kwargs))
    e.execute_sync("pay", **kwargs)  # the first violation is counted (1 <= threshold 1) and runs
    v, before = e.state.version, balance(e)
    with pytest.raises(theus_core.AuditBlockError, match=f"Audit Blocked: {key} exceeded threshold 1") as info:
        e.execute_sync("pay", **kwargs)
    assert fragment in str(info.value)
    assert (e.state.version, balance(e)) == (v, before)  # the refused call ran nothing
    logs = [x.message for x in e._audit.get_logs() if x.key == key]
    assert logs[0] == f"VIOLATION: {logs[0][11:].split(' (level')[0]} (level Block, version {v - 1})"
    assert fragment in logs[0] and e._audit.get_count(key) == 2


def test_passing_inputs_and_count_level_rules_do_not_refuse(tmp_path):
    e = engine_with(RECIPE, tmp_path)
    for _ in range(5):
        e.execute_sync("pay", amount=1, note="far too long a note")  # Count: counted only
    assert balance(e) == 995
    assert e._audit.get_count("pay:input:note") == 5


def test_success_resets_the_process_and_its_rule_counters():
    import yaml

    doc = yaml.safe_load(RECIPE.replace("reset_on_success: false", "reset_on_success: true"))
    e = engine_with(doc)
    for _ in range(5):  # each violation is followed by a success: never over the threshold
        e.execute_sync("pay", amount=0)
    assert e._audit.get_count("pay:input:amount") == 0
    assert [x.message for x in e._audit.get_logs() if x.key == "pay"][-1] == "Success"


def test_output_rule_checks_the_return_value_once_d9(tmp_path):
    e = engine_with(RECIPE, tmp_path, balance=5)
    v = e.state.version
    with pytest.raises(theus_core.AuditAbortError, match="pay:output:domain.account.balance operation cancelled"):
        e.execute_sync("pay", amount=6)
    assert balance(e) == 5 and e.state.version == v
    assert e._audit.get_count("pay:output:domain.account.balance") == 1  # once, not twice (D9)
    assert e._audit.get_count("pay") == 1  # the failed execution is reported too
    # The next failure pushes `pay` over its threshold: Block replaces the Abort, chained to it.
    with pytest.raises(theus_core.AuditBlockError, match="pay exceeded threshold 1") as info:
        e.execute_sync("pay", amount=7)
    assert isinstance(info.value.__cause__, theus_core.AuditAbortError)


def test_output_rule_checks_state_update_values(tmp_path):
    e = engine_with(RECIPE.replace("  pay:\n", "  pay_su:\n"), tmp_path, balance=5)
    with pytest.raises(theus_core.AuditAbortError, match="pay_su:output:domain.account.balance"):
        e.execute_sync("pay_su", amount=6)
    assert balance(e) == 5


def test_output_rule_on_proxy_writes_and_nested_paths(tmp_path):
    e = engine_with(RECIPE, tmp_path)
    e.execute_sync("tag", name="a")
    e.execute_sync("tag", name="b")
    e.execute_sync("tag", name="c")  # the first violation is counted (1 <= 1) and commits
    with pytest.raises(theus_core.AuditBlockError) as info:
        e.execute_sync("tag", name="d")
    assert "len(domain.account.tags)=4 is above max_len 2" in str(info.value)
    assert e.state.data["domain"]["account"]["tags"] == ["a", "b", "c"]


def test_body_failures_are_counted_and_blocked_with_the_original_chained(tmp_path):
    @process(inputs=[], outputs=["domain.x"])
    def boom(ctx):
        raise ValueError("kaput")

    e = engine_with(RECIPE, tmp_path)
    e.register(boom)
    with pytest.raises(ValueError, match="kaput"):
        e.execute_sync(boom)
    with pytest.raises(theus_core.AuditBlockError, match="boom exceeded threshold 1") as info:
        e.execute_sync(boom)
    assert isinstance(info.value.__cause__, ValueError)


async def test_async_and_workflow_paths_run_the_gates(tmp_path):
    e = engine_with(RECIPE, tmp_path)
    await e.execute("pay", amount=500)
    with pytest.raises(theus_core.AuditBlockError, match="pay:input:amount"):
        await e.execute("pay", amount=500)
    e = engine_with(RECIPE, tmp_path, balance=3)
    flow = "steps:\n  - {flux: while, condition: 'domain.account.balance > -10', do: [pay]}\n"
    with pytest.raises(theus_core.AuditAbortError):
        await e.execute_workflow(flow)
    assert balance(e) == 0  # three payments of 1, the fourth refused by the output rule


def test_recipe_sources_dict_book_recipe_and_cwd(tmp_path, monkeypatch):
    import yaml

    doc = yaml.safe_load(RECIPE)
    e = engine_with(doc)
    with pytest.raises(theus_core.AuditBlockError):
        for _ in range(2):
            e.execute_sync("pay", amount=0)
    (tmp_path / "r.yaml").write_text(RECIPE, encoding="utf-8")
    book = ConfigFactory.load_recipe(tmp_path / "r.yaml")
    assert isinstance(book, AuditRecipeBook) and book.threshold_max == 1 and "pay" in book.definitions
    e = engine_with(book)
    with pytest.raises(theus_core.AuditBlockError):
        for _ in range(2):
            e.execute_sync("pay", amount=0)
    e = engine_with(AuditRecipe("C"))  # a bare recipe: counters only, no rules
    e.execute_sync("pay", amount=0)
    assert e._audit is not None and e._validator is None
    monkeypatch.chdir(tmp_path)
    assert TheusEngine({"domain": {}})._audit is None
    (tmp_path / "audit_recipe.yaml").write_text(RECIPE, encoding="utf-8")
    assert TheusEngine({"domain": {}})._audit.recipe.threshold_max == 1
    assert ConfigFactory.load_audit_recipe()["audit"]["level"] == "B"


def test_malformed_recipes_are_refused_at_load_with_file_line_rule_and_reason(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("process_recipes:\n  pay:\n    inputs:\n      - {field: amount, between: 3}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.yaml:4: process 'pay' inputs\[0\]: unknown rule key 'between'"):
        TheusEngine({"domain": {}}, audit_recipe=str(bad))
    with pytest.raises(FileNotFoundError, match="Recipe not found: .*missing.yaml"):
        TheusEngine({"domain": {}}, audit_recipe=str(tmp_path / "missing.yaml"))
    with pytest.raises(ValueError, match="invalid regex"):
        ConfigFactory.from_dict({"process_recipes": {"p": {"inputs": [{"field": "x", "regex": "("}]}}})
    with pytest.raises(TypeError, match="audit_recipe must be"):
        TheusEngine({"domain": {}}, audit_recipe=42)


def test_recipe_naming_an_unknown_process_warns_once(tmp_path):
    e = engine_with(RECIPE + "  ghost:\n    inputs: []\n", tmp_path)
    with pytest.warns(theus_core.AuditWarning, match="unknown process 'ghost'"):
        e.execute_sync("pay")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        e.execute_sync("pay")


def test_audit_validator_direct_use():
    sys = AuditSystem(AuditRecipe("A"))
    v = AuditValidator({"p": {"inputs": [{"field": "x", "max": 1}], "outputs": [{"field": "domain.y", "eq": 2}]}}, sys)
    v.validate_inputs("p", {"x": 1})
    with pytest.raises(theus_core.AuditAbortError, match="p:input:x"):
        v.validate_inputs("p", {"x": 2})
    v.validate_outputs("p", {"domain": {"z": 1}})  # path absent: skipped
    with pytest.raises(theus_core.AuditAbortError, match="p:output:domain.y"):
        v.validate_outputs("p", {"domain": {"y": 3}})
    v.validate_inputs("unlisted", {"x": 99})


def test_config_loader_strict_validation():
    assert ConfigLoader.load_from_string("context:\n  domain:\n    name: {type: string, default: 'x'}\n") is None
    for text, fragment in [
        ("other: 1\n", "unknown root key 'other'"),
        ("context:\n  heavy: {}\n", "unknown layer 'heavy'"),
        ("context:\n  domain:\n    n: 3\n", "must be a mapping"),
        ("context:\n  domain:\n    n: {type: int, default: 3}\n", "default must be a string"),
        ("context:\n  domain:\n    n: {kind: x}\n", "unknown key 'kind'"),
    ]:
        with pytest.raises(SchemaViolationError, match="Config Error: .*" + fragment):
            ConfigLoader.load_from_string(text)
