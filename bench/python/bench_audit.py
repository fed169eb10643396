"""Audit overhead: execute_sync of a process whose call is checked by a 10-rule recipe (5 input
rules on its keyword arguments, 5 output rules on its delta), against the same engine and process
without audit, in the same run. Reports time per execution and the ratio.
Usage: bench_audit.py [--build DIR]  (DIR/python holds theus_core; default: PYTHONPATH)."""
from __future__ import annotations

import os
import sys

from _bench import Report, per_call

if sys.argv[1:2] == ["--build"]:
    _root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.path[:0] = [os.path.join(_root, "python"), os.path.join(os.path.abspath(sys.argv[2]), "python")]

from theus import TheusEngine, process  # noqa: E402

N = 20_000

RECIPE = {
    "audit": {"level": "B", "threshold_max": 3},
    "process_recipes": {
        "pay": {
            "inputs": [
                {"field": "amount", "min": 1},
                {"field": "amount", "max": 1_000_000},
                {"field": "currency", "eq": "EUR"},
                {"field": "ref", "regex": "[A-Z]{3}-[0-9]+"},
                {"field": "note", "max_len": 64},
            ],
            "outputs": [
                {"field": "domain.balance", "min": 0},
                {"field": "domain.balance", "max": 10**12},
                {"field": "domain.count", "min": 0},
                {"field": "domain.last_ref", "min_len": 3},
                {"field": "domain.last_ref", "neq": ""},
            ],
        }
    },
}


@process(inputs=["domain.balance", "domain.count"], outputs=["domain.balance", "domain.count", "domain.last_ref"])
def pay(ctx, amount, currency, ref, note):
    return ctx.domain.balance + amount, ctx.domain.count + 1, ref


def make(audit):
    engine = TheusEngine({"domain": {"balance": 0, "count": 0, "last_ref": ""}}, audit_recipe=RECIPE if audit else None)
    engine.register(pay)
    return engine


def main() -> None:
    report = Report(f"bench_audit: execute_sync with a 10-rule audit recipe ({N:,} calls, best of 5)")
    audited, plain = make(True), make(False)
    kwargs = {"amount": 5, "currency": "EUR", "ref": "INV-42", "note": "monthly"}
    with_audit = per_call(lambda: audited.execute_sync("pay", **kwargs), N)
    without = per_call(lambda: plain.execute_sync("pay", **kwargs), N)
    assert audited._audit.get_count("pay") == 0 and audited.state.data["domain"]["count"] > 0
    report.add("bench_audit", "execute_sync_10_rules_us", with_audit * 1e6, "us",
               "the same execute_sync without audit", without * 1e6)
    report.print_and_save()
    print(f"audit overhead: {with_audit / without:.2f}x ({(with_audit - without) * 1e6:.2f} us per execution)")


if __name__ == "__main__":
    main()
