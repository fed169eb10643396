"""Module map and exports (core.md §2), exception classes (§14)."""
import collections.abc
import contextvars
import importlib

import pytest

import theus_core

# Names owned by later issues (audit, Flux/WorkflowEngine, heavy zone allocators, parallel pools,
# CLI, config loading) are deliberately not listed here.
EXPORTS = {
    "theus": [
        "TheusEngine", "process", "ContractViolationError", "BaseSystemContext", "BaseGlobalContext",
        "BaseDomainContext", "SignalHub", "SignalReceiver", "SchemaViolationError", "TheusEncoder",
        "CORE_AVAILABLE", "__version__", "RetryPolicy",
    ],
    "theus.engine": [
        "TheusEngine", "ContractViolationError", "SecurityViolationError", "TransactionError", "StateUpdate",
        "ContextError", "SupervisorProxy", "RestrictedStateProxy", "FilteredDomainProxy", "theus_core",
        "RetryPolicy",
    ],
    "theus.contracts": [
        "process", "ProcessContract", "SemanticType", "ContractViolationError", "AdminTransaction", "OutboxMsg",
    ],
    "theus.context": [
        "BaseSystemContext", "BaseDomainContext", "BaseGlobalContext", "LockedContextMixin", "Namespace",
        "NamespacePolicy", "NamespaceRegistry", "TransactionError", "Mutable", "AppendOnly", "Immutable",
        "PYTHON_PHYSICS_OVERRIDES", "REGISTRY_FILE", "LockManager", "ContextZone", "resolve_zone",
    ],
    "theus.structures": ["State", "FrozenDict", "ContextError", "StateUpdate", "FunctionResult", "FrozenList"],
    "theus.guards": ["ContextGuard", "_current_tx"],
    "theus.zones": ["ContextZone", "PREFIX_SIGNAL", "PREFIX_META", "PREFIX_HEAVY", "PREFIX_LOG", "resolve_zone"],
    "theus.locks": ["LockManager", "LockViolationError"],
    "theus.interop": ["TheusEncoder", "get_pydantic_config"],
    "theus.config": ["SchemaViolationError"],
}

CORE_CLASSES = [
    "SupervisorCore", "SupervisorProxy", "TheusEngine", "Transaction", "OutboxCollector", "SignalHub",
    "SignalReceiver", "State", "ProcessContext", "FrozenDict", "OutboxMsg", "MetaLogEntry", "ContextGuard",
    "ConflictManager", "RetryDecision", "FrozenList",
]
CORE_EXCEPTIONS = ["WriteTimeoutError", "ContextError", "SchemaViolationError"]


@pytest.mark.parametrize("module,name", [(m, n) for m, names in EXPORTS.items() for n in names])
def test_module_exports_name(module, name):
    mod = importlib.import_module(module)
    assert hasattr(mod, name), f"{module} does not export {name}"


@pytest.mark.parametrize("name", CORE_CLASSES + CORE_EXCEPTIONS)
def test_theus_core_exports_class(name):
    assert isinstance(getattr(theus_core, name), type)


def test_theus_core_exports_physics_functions():
    assert callable(theus_core.register_physics_override)
    assert callable(theus_core.clear_physics_overrides)


def test_theus_core_shm_is_an_importable_submodule_attribute():
    from theus_core import shm

    assert shm is theus_core.shm


def test_theus_version_is_a_version_string():
    import theus

    assert theus.__version__ == "3.0.26"
    assert theus.CORE_AVAILABLE is True


def test_theus_engine_all_lists_exactly_three_names():
    import theus.engine

    assert theus.engine.__all__ == ["TheusEngine", "TransactionError", "SecurityViolationError"]


def test_engine_supervisor_proxy_is_the_python_guard_class():
    import theus.engine
    import theus.guards

    assert theus.engine.SupervisorProxy is theus.guards.ContextGuard
    assert theus.engine.SupervisorProxy is not theus_core.SupervisorProxy


def test_security_violation_error_aliases_contract_violation_error():
    import theus.engine

    assert theus.engine.SecurityViolationError is theus.engine.ContractViolationError


def test_engine_module_reexports_theus_core():
    import theus.engine

    assert theus.engine.theus_core is theus_core


def test_same_class_objects_across_modules():
    import theus
    import theus.contracts
    import theus.engine
    import theus.structures

    assert theus.TheusEngine is theus.engine.TheusEngine
    assert theus.process is theus.contracts.process
    assert theus.RetryPolicy is theus.engine.RetryPolicy
    assert theus.ContractViolationError is theus.contracts.ContractViolationError
    assert theus.structures.ContextError is theus_core.ContextError
    assert theus.structures.State is theus_core.State
    assert theus.structures.FrozenDict is theus_core.FrozenDict
    assert theus.structures.FrozenList is theus_core.FrozenList
    assert theus.contracts.OutboxMsg is theus_core.OutboxMsg
    assert theus.SignalHub is theus_core.SignalHub
    assert theus.SignalReceiver is theus_core.SignalReceiver


def test_schema_violation_error_is_one_class_in_three_modules():
    import theus
    import theus.config

    assert theus.SchemaViolationError is theus_core.SchemaViolationError
    assert theus.config.SchemaViolationError is theus_core.SchemaViolationError


def test_import_theus_registers_supervisor_proxy_as_mapping():
    import theus  # noqa: F401

    assert issubclass(theus_core.SupervisorProxy, collections.abc.Mapping)


def test_current_tx_is_a_context_var_defaulting_to_none():
    from theus.guards import _current_tx

    assert isinstance(_current_tx, contextvars.ContextVar)
    assert _current_tx.name == "_current_tx"
    assert contextvars.copy_context().run(_current_tx.get) is None


def test_zone_prefix_constants():
    from theus import zones

    assert zones.PREFIX_SIGNAL == ("sig_", "cmd_")
    assert zones.PREFIX_META == ("meta_",)
    assert zones.PREFIX_HEAVY == ("heavy_",)
    assert zones.PREFIX_LOG == ("log_",)


def test_registry_file_constant():
    from theus.context import REGISTRY_FILE

    assert REGISTRY_FILE == ".theus_memory_registry.jsonl"


def test_context_reexports_lock_manager_and_zones():
    import theus.context
    import theus.locks
    import theus.zones

    assert theus.context.LockManager is theus.locks.LockManager
    assert theus.context.ContextZone is theus.zones.ContextZone
    assert theus.context.resolve_zone is theus.zones.resolve_zone


def test_function_result_is_a_dataclass_with_val_and_key():
    import dataclasses

    from theus.structures import FunctionResult

    assert [f.name for f in dataclasses.fields(FunctionResult)] == ["val", "key"]


def test_engine_has_no_commit_state_on_wrapper_or_core():
    from theus import TheusEngine

    engine = TheusEngine({"domain": {"n": 0}})
    assert not hasattr(engine, "commit_state")
    assert not hasattr(engine._core, "commit_state")
    assert not hasattr(theus_core.TheusEngine(), "commit_state")


def test_wrapper_keeps_private_attributes_user_code_reaches():
    from theus import TheusEngine

    engine = TheusEngine({"domain": {"n": 0}})
    assert isinstance(engine._core, theus_core.TheusEngine)
    for name in ("_audit", "_registry", "_validator", "_strict_guards", "_strict_cas", "_parallel_pool"):
        assert hasattr(engine, name), name
    assert callable(engine._run_process_sync)


# ---- §14 exceptions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls_path,base",
    [
        ("theus.contracts.ContractViolationError", Exception),
        ("theus_core.ContextError", Exception),
        ("theus_core.SchemaViolationError", Exception),
        ("theus_core.WriteTimeoutError", TimeoutError),
        ("theus.locks.LockViolationError", Exception),
        ("theus.context.TransactionError", Exception),
    ],
)
def test_exception_base_class(cls_path, base):
    module, _, name = cls_path.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, base)


def test_context_error_module_is_theus_structures():
    assert theus_core.ContextError.__module__ == "theus.structures"


def test_schema_violation_error_module_is_theus_config():
    assert theus_core.SchemaViolationError.__module__ == "theus.config"


def test_schema_violation_error_is_a_plain_exception_subclass():
    assert theus_core.SchemaViolationError.__mro__[1] is Exception


def test_transaction_error_is_the_same_class_in_context_and_engine():
    import theus.context
    import theus.engine

    assert theus.engine.TransactionError is theus.context.TransactionError


def test_lock_manager_exposes_violation_error_class_attribute():
    from theus.locks import LockManager, LockViolationError

    assert LockManager.LockViolationError is LockViolationError


def test_strict_lock_manager_raises_unsafe_mutation_outside_unlock():
    from theus.locks import LockManager, LockViolationError

    manager = LockManager(strict_guards=True)
    with pytest.raises(LockViolationError, match=r"^UNSAFE MUTATION"):
        manager.validate_write("x", object())
    with manager.unlock():
        manager.validate_write("x", object())
