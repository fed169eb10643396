"""Inventory demo: the Python API end to end.

A warehouse with stock levels and an order book. Client threads place orders through processes
with contracts; a restock process refills; a PURE report reads totals; a schema refuses invalid
states; an explicit transaction and a compare-and-swap show the other write paths; a Flux
workflow (restock_flow.yaml) tops up every low item. At the end it prints what happened and
checks the invariants (no oversold item, stock + shipped == initial + restocked, one version per
successful execution, no item left below the workflow's threshold).

Usage: python examples/python/inventory_demo.py [--threads N] [--orders N] [--quiet]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, List

from pydantic import BaseModel

from theus import TheusEngine, process
from theus.context import BaseDomainContext, BaseSystemContext
from theus.contracts import ContractViolationError, SemanticType
from theus.structures import StateUpdate

ITEMS = ["apple", "pear", "plum", "fig", "kiwi", "lime"]


@dataclass
class Warehouse(BaseDomainContext):
    stock: Dict[str, int] = field(default_factory=lambda: {i: 50 for i in ITEMS})
    shipped: Dict[str, int] = field(default_factory=lambda: {i: 0 for i in ITEMS})
    orders: List[dict] = field(default_factory=list)
    restocked: int = 0
    log_events: List[str] = field(default_factory=list)  # LOG zone: append-only


@dataclass
class App(BaseSystemContext):
    domain: Warehouse = field(default_factory=Warehouse)


class StockSchema(BaseModel):
    """The schema gate: every committed state must satisfy it."""

    class Domain(BaseModel):
        stock: Dict[str, int]
        restocked: int

        def model_post_init(self, _ctx) -> None:
            bad = [k for k, v in self.stock.items() if v < 0]
            if bad:
                raise ValueError(f"negative stock for {bad}")

    domain: Domain


@process(inputs=["domain.stock"], outputs=["domain.stock", "domain.shipped", "domain.orders", "domain.log_events"])
def place_order(ctx, client: str, item: str, qty: int):
    if ctx.domain.stock[item] < qty:
        raise ValueError(f"{item}: only {ctx.domain.stock[item]} left, {qty} wanted")
    ctx.domain.stock[item] -= qty
    ctx.domain.shipped[item] += qty
    ctx.domain.orders.append({"client": client, "item": item, "qty": qty})
    ctx.domain.log_events.append(f"{client} took {qty} {item}")


@process(inputs=["domain.stock", "domain.restocked"], outputs=["domain.stock", "domain.restocked"])
def restock(ctx, item: str, qty: int):
    ctx.domain.stock[item] += qty
    ctx.domain.restocked += qty


@process(inputs=["domain.stock", "domain.restocked"], outputs=["domain.stock", "domain.restocked"])
def restock_lowest(ctx):
    item = min(ctx.domain.stock, key=lambda k: ctx.domain.stock[k])
    ctx.domain.stock[item] += 10
    ctx.domain.restocked += 10


@process(inputs=["domain.stock", "domain.shipped"], outputs=[], semantic=SemanticType.PURE)
def report(ctx):
    return {"in_stock": sum(ctx.domain.stock.values()), "shipped": sum(ctx.domain.shipped.values())}


@process(inputs=["domain.stock", "domain.orders"], outputs=["domain.stock"])
def sneaky(ctx):
    ctx.domain.orders.clear()  # readable, but not declared in outputs: refused at commit


@process(inputs=["domain.stock"], outputs=["domain.stock"])
def oversell(ctx):
    return StateUpdate(data={"domain.stock.apple": -1})  # the schema gate refuses it


def client(engine: TheusEngine, name: str, orders: int, seed: int, tally: dict, lock: threading.Lock) -> None:
    try:
        place_orders(engine, name, orders, seed, tally, lock)
    except Exception as exc:  # noqa: BLE001 - reported and failed in the invariants
        with lock:
            tally["errors"].append(f"{name}: {exc!r}")


def place_orders(engine: TheusEngine, name: str, orders: int, seed: int, tally: dict, lock: threading.Lock) -> None:
    rng = random.Random(seed)
    for _ in range(orders):
        item = rng.choice(ITEMS[:3]) if rng.random() < 0.7 else rng.choice(ITEMS)  # hot items
        try:
            engine.execute_sync(place_order, client=name, item=item, qty=rng.randint(1, 3))
            key = "ok"
        except ValueError:
            key = "refused"
        if rng.random() < 0.05:
            engine.execute_sync(restock, item=item, qty=10)
            with lock:
                tally["restocks"] += 1
        with lock:
            tally[key] += 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--orders", type=int, default=400, help="orders per client thread")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    say = (lambda *a: None) if args.quiet else print

    app = App()
    engine = TheusEngine(app)
    engine.set_schema(StockSchema)
    for p in (place_order, restock, restock_lowest, report, sneaky, oversell):
        engine.register(p)
    initial = sum(engine.state.data["domain"]["stock"].values())
    say(f"Inventory demo: {len(ITEMS)} items, {initial} units, {args.threads} clients x {args.orders} orders")

    say("\nRefusals (state unchanged each time):")
    for proc, expected in ((sneaky, ContractViolationError), (oversell, Exception)):
        before = engine.state
        try:
            engine.execute_sync(proc)
            say(f"  {proc.__name__}: NOT refused")
            return 1
        except expected as exc:
            say(f"  {proc.__name__:9} -> {type(exc).__name__}: {str(exc).splitlines()[0][:90]}")
        assert engine.state is before

    tally = {"ok": 0, "refused": 0, "restocks": 0, "errors": []}
    lock = threading.Lock()
    start_version = engine.state.version
    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(engine, f"c{i}", args.orders, 1000 + i, tally, lock))
               for i in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0

    with engine.transaction() as tx:  # the explicit write path
        tx.update(data={"domain.stock.kiwi": engine.state.data["domain"]["stock"]["kiwi"]})
    engine.compare_and_swap(engine.state.version, data={"domain": {"restocked": engine.state.data["domain"].restocked}})

    flow = os.path.join(os.path.dirname(os.path.abspath(__file__)), "restock_flow.yaml")
    steps = asyncio.run(engine.execute_workflow(flow))
    say(f"\nWorkflow          restock_flow.yaml ran {len(steps)} steps: "
        f"{steps.count('restock_lowest')} x restock_lowest, then {steps[-1]}")

    totals = engine.execute_sync(report)
    stats = engine._core._stats()
    domain = engine.state.data["domain"]
    stock, shipped = domain["stock"].to_dict(), domain["shipped"].to_dict()
    commits = engine.state.version - start_version
    say(f"\nOrders placed     {tally['ok']}, refused (out of stock) {tally['refused']}, restocks {tally['restocks']}")
    say(f"Versions          {engine.state.version} ({commits} in the concurrent phase and after)")
    say(f"Conflicts retried {stats['retries']}, VIP tickets {stats['vip_grants']}, gave up {stats['gave_up']}")
    say(f"Throughput        {(tally['ok'] + tally['refused']) / elapsed:,.0f} executions/s over {elapsed:.2f} s")
    say(f"Report (PURE)     {totals}")
    say(f"Context synced    app.domain.restocked == {app.domain.restocked}, {len(app.domain.orders)} orders")

    checks = {
        "clients ran without unexpected errors": not tally["errors"],
        "orders went through": tally["ok"] > 0,
        "no item oversold": all(v >= 0 for v in stock.values()),
        "stock + shipped == initial + restocked": sum(stock.values()) + sum(shipped.values()) == initial + domain.restocked,
        "every accepted order is in the book": len(domain["orders"]) == tally["ok"],
        "one version per successful execution": commits == tally["ok"] + tally["restocks"] + 2 + len(steps) + 1,
        "the workflow left no item below 20": min(stock.values()) >= 20 and steps[-1] == "report",
        "the PURE report matches the state": totals == {"in_stock": sum(stock.values()), "shipped": sum(shipped.values())},
        "the user's context objects were synced": app.domain.restocked == domain.restocked,
    }
    say("\nInvariants")
    for name, ok in checks.items():
        say(f"  [{' ok ' if ok else 'FAIL'}] {name}")
    failed = [n for n, ok in checks.items() if not ok]
    if failed:
        print(f"FAILED: {failed}", file=sys.stderr)
        for err in tally["errors"][:5]:
            print(f"  {err}", file=sys.stderr)
        return 1
    say("\nAll invariants hold.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
