"""FrozenDict (core.md §11.2) and FrozenList (§11.3) read-only views."""
import collections.abc
import copy

import pytest

from theus import TheusEngine
from theus.structures import ContextError, FrozenDict, FrozenList

IMMUTABLE = r"Context is Immutable\. Use \.update\(\)"


class Opaque:
    def __init__(self, v):
        self.v = v

    def __eq__(self, other):
        return isinstance(other, Opaque) and other.v == self.v


def engine_domain():
    engine = TheusEngine({"domain": {"l": [1, 2, [3]], "d": {"x": 1, "n": {"y": 2}}, "obj": Opaque(5), "s": "str"}})
    return engine, engine.state.data["domain"]


# ---- FrozenDict constructed from Python ------------------------------------------------------


def test_python_frozen_dict_wraps_without_copy():
    d = {"a": 1}
    assert FrozenDict(d).to_dict() is d


def test_missing_key_raises_key_error():
    with pytest.raises(KeyError, match="Key not found"):
        FrozenDict({"a": 1})["zz"]


def test_item_assignment_raises_context_error():
    fd = FrozenDict({"a": 1})
    with pytest.raises(ContextError, match=IMMUTABLE):
        fd["a"] = 2
    assert fd["a"] == 1


def test_attribute_lookup_reads_items():
    assert FrozenDict({"a": 1}).a == 1


def test_missing_attribute_raises_attribute_error():
    with pytest.raises(AttributeError, match="Attribute not found"):
        FrozenDict({"a": 1}).zz


def test_mapping_reads():
    fd = FrozenDict({"a": 1, "b": 2})
    assert fd.get("a") == 1 and fd.get("zz") is None and fd.get("zz", 3) == 3
    assert list(fd.keys()) == ["a", "b"]
    assert list(fd.values()) == [1, 2]
    assert list(fd.items()) == [("a", 1), ("b", 2)]
    assert len(fd) == 2 and "a" in fd and "zz" not in fd
    assert list(fd) == ["a", "b"]


def test_str_format():
    assert str(FrozenDict({"a": 1})) == "FrozenDict({'a': 1})"


def test_deepcopy_gives_new_frozen_dict_over_copy():
    inner = {"x": [1]}
    fd = FrozenDict({"a": inner})
    cp = copy.deepcopy(fd)
    assert isinstance(cp, FrozenDict)
    assert cp == fd
    assert cp.to_dict()["a"] is not inner


def test_frozen_dict_is_subclassable():
    class Sub(FrozenDict):
        pass

    assert Sub({"a": 1}).a == 1


def test_context_error_module_and_base():
    assert ContextError.__module__ == "theus.structures"
    assert issubclass(ContextError, Exception)


# ---- FrozenDict equality ---------------------------------------------------------------------


def test_equality_with_same_wrapped_dict():
    d = {"a": 1}
    assert FrozenDict(d) == FrozenDict(d)


def test_equality_both_ways_with_dict():
    fd = FrozenDict({"a": 1, "b": [1]})
    assert fd == {"a": 1, "b": [1]}
    assert {"a": 1, "b": [1]} == fd


def test_inequality_on_length_or_value():
    fd = FrozenDict({"a": 1})
    assert not fd == {"a": 1, "b": 2}
    assert not fd == {"a": 2}
    assert not fd == 5


def test_equality_reduces_arrays_with_all():
    np = pytest.importorskip("numpy")
    assert FrozenDict({"a": np.array([1, 2])}) == {"a": np.array([1, 2])}
    assert not FrozenDict({"a": np.array([1, 2])}) == {"a": np.array([1, 3])}


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_equality_with_incomparable_arrays_is_false_not_error():
    np = pytest.importorskip("numpy")
    assert not FrozenDict({"a": np.array([1, 2])}) == {"a": np.array([1, 2, 3])}


# ---- engine-produced views -------------------------------------------------------------------


def test_engine_nested_dict_and_list_views():
    _, dv = engine_domain()
    assert isinstance(dv, FrozenDict)
    assert isinstance(dv["d"], FrozenDict) and isinstance(dv["d"]["n"], FrozenDict)
    assert isinstance(dv["l"], FrozenList) and isinstance(dv["l"][2], FrozenList)
    assert dv.d.n.y == 2


def test_engine_frozen_dict_write_raises():
    engine, dv = engine_domain()
    with pytest.raises(ContextError, match=IMMUTABLE):
        dv["d"]["x"] = 5
    assert engine.state.data["domain"]["d"]["x"] == 1


def test_engine_opaque_value_read_as_fresh_copy():
    engine, dv = engine_domain()
    a, b = dv["obj"], engine.state.data["domain"]["obj"]
    assert a == Opaque(5) and b == Opaque(5)
    assert a is not b
    a.v = 99
    assert engine.state.data["domain"]["obj"].v == 5


def test_engine_to_dict_is_detached_plain_deep_copy():
    engine, dv = engine_domain()
    plain = dv.to_dict()
    assert type(plain["d"]) is dict and type(plain["l"]) is list and type(plain["l"][2]) is list
    plain["d"]["x"] = 100
    plain["l"].append(9)
    assert engine.state.data["domain"]["d"]["x"] == 1
    assert len(engine.state.data["domain"]["l"]) == 3
    assert dv.to_dict() is not dv.to_dict()


def test_engine_deepcopy_is_equal_frozen_dict():
    _, dv = engine_domain()
    cp = copy.deepcopy(dv["d"])
    assert isinstance(cp, FrozenDict) and cp == {"x": 1, "n": {"y": 2}}


def test_engine_ndarray_read_back_non_writeable():
    np = pytest.importorskip("numpy")
    engine = TheusEngine({"domain": {"arr": np.arange(3)}})
    arr = engine.state.data["domain"]["arr"]
    assert isinstance(arr, np.ndarray) and not arr.flags.writeable
    with pytest.raises(ValueError):
        arr[0] = 5


def test_str_of_engine_frozen_dict():
    _, dv = engine_domain()
    assert str(dv["d"]) == "FrozenDict({'x': 1, 'n': {'y': 2}})"


# ---- FrozenList ------------------------------------------------------------------------------


def test_frozen_list_indexing_and_negative_index():
    _, dv = engine_domain()
    lst = dv["l"]
    assert lst[0] == 1 and lst[-2] == 2 and lst[-1] == [3]


def test_frozen_list_index_out_of_range():
    _, dv = engine_domain()
    with pytest.raises(IndexError):
        dv["l"][10]


def test_frozen_list_slice_returns_plain_list():
    _, dv = engine_domain()
    s = dv["l"][0:2]
    assert type(s) is list and s == [1, 2]


def test_frozen_list_len_iter_contains_count_index():
    _, dv = engine_domain()
    lst = dv["l"]
    assert len(lst) == 3
    assert list(lst)[:2] == [1, 2]
    assert 2 in lst and 7 not in lst
    assert lst.count(1) == 1 and lst.index(2) == 1


def test_frozen_list_equality_with_list_tuple_and_frozen_list():
    engine, dv = engine_domain()
    lst = dv["l"]
    assert lst == [1, 2, [3]]
    assert lst == (1, 2, [3])
    assert lst == engine.state.data["domain"]["l"]
    assert [1, 2, [3]] == lst
    assert lst != [1, 2]
    assert not lst != [1, 2, [3]]


def test_frozen_list_copy_is_plain_list():
    engine, dv = engine_domain()
    c = dv["l"].copy()
    assert type(c) is list and c == [1, 2, [3]]
    c.append(4)
    assert len(engine.state.data["domain"]["l"]) == 3


MUTATORS = {
    "append": lambda l: l.append(1),
    "extend": lambda l: l.extend([1]),
    "insert": lambda l: l.insert(0, 1),
    "pop": lambda l: l.pop(),
    "remove": lambda l: l.remove(1),
    "clear": lambda l: l.clear(),
    "sort": lambda l: l.sort(),
    "reverse": lambda l: l.reverse(),
    "setitem": lambda l: l.__setitem__(0, 5),
    "delitem": lambda l: l.__delitem__(0),
}


@pytest.mark.parametrize("op", sorted(MUTATORS))
def test_frozen_list_mutator_raises_context_error(op):
    engine, dv = engine_domain()
    with pytest.raises(ContextError, match=IMMUTABLE):
        MUTATORS[op](dv["l"])
    assert engine.state.data["domain"]["l"] == [1, 2, [3]]


def test_frozen_list_is_sequence_but_not_list():
    _, dv = engine_domain()
    assert isinstance(dv["l"], collections.abc.Sequence)
    assert not isinstance(dv["l"], list)


def test_frozen_list_reexported_by_structures():
    import theus_core

    assert FrozenList is theus_core.FrozenList
