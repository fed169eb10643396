"""__PROJECT_NAME__: the Theus e-commerce demo.

    python main.py [--clients N] [--orders N] [--seed N] [--quiet]
    theus run workflows/fulfilment.yaml      # the fulfilment workflow alone, on sample orders

What it does:
 1. Orders: concurrent clients (asyncio tasks, like requests in a web server) place orders with
    `place_order`, which awaits a risk check mid-transaction. Orders collide on the order counter
    and the pending list; the engine detects the conflicts per path and retries. One invalid
    order is sent on purpose and rejected (by the audit recipe's input rule when audit is active,
    else by the process itself).
 2. Fulfilment: workflows/fulfilment.yaml loops (`flux: while`) over the pending orders,
    authorizes each payment and branches (`flux: if`) on the `payment` signal: capture + invoice,
    or cancel. A listener thread subscribed to the signal hub counts every signal.
 3. Outbox: each invoice queued an e-mail in the transactional outbox; a relay worker delivers
    them with `engine.process_outbox()`. The relay fails once: that message stays queued and is
    delivered on the next call (at-least-once).
 4. Heavy zone: the invoice totals go into a shared-memory array checked by a process (skipped
    when `engine.heavy` or numpy is not available).
 5. A summary, then invariant checks (exit code 1 if one fails).
"""
from __future__ import annotations

import argparse
import asyncio
import inspect
import random
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from theus import TheusEngine

from src.context import CATALOG, INITIAL_STOCK, ShopContext

ROOT = Path(__file__).resolve().parent
WORKFLOW = ROOT / "workflows" / "fulfilment.yaml"
AUDIT_RECIPE = ROOT / "specs" / "audit_recipe.yaml"
CUSTOMERS = ("alice", "bob", "carol", "dave")


def build_engine() -> TheusEngine:
    """The shop's engine (`theus run` uses it too): the context (seeded in one commit), the audit
    recipe, and every @process under src/processes/."""
    options = {}
    if AUDIT_RECIPE.is_file() and "audit_recipe" in inspect.signature(TheusEngine).parameters:
        options["audit_recipe"] = str(AUDIT_RECIPE)
    engine = TheusEngine(ShopContext(), **options)
    engine.scan_and_register(str(ROOT / "src" / "processes"))
    return engine


# ---- helpers --------------------------------------------------------------------------------


def engine_stats(engine: TheusEngine) -> dict:
    """Commit and conflict counters of the core (empty when the build does not expose them)."""
    stats = getattr(getattr(engine, "_core", None), "_stats", None)
    return dict(stats()) if callable(stats) else {}


def audit_events(engine: TheusEngine):
    """(active, events): the audit log entries other than successes, or (False, []) without audit."""
    audit = getattr(engine, "_audit", None)
    if audit is None or not hasattr(audit, "get_logs"):
        return False, []
    return True, [entry for entry in audit.get_logs() if entry.message != "Success"]


class SignalListener(threading.Thread):
    """Subscribes to the engine's signal hub and counts every signal by topic on its own thread
    (signals are "topic:payload" strings published after each commit). A subscriber that falls
    more than 128 messages behind is told how many it missed and carries on."""

    STOP = "demo.stop"

    def __init__(self, engine: TheusEngine) -> None:
        super().__init__(name="signal-listener", daemon=True)
        self.hub = engine.state.signal
        self.receiver = self.hub.subscribe()
        self.topics: Counter = Counter()
        self.missed = 0

    def run(self) -> None:
        while True:
            try:
                message = self.receiver.recv()
            except RuntimeError as exc:  # "Channel Lagged: missed N messages"
                self.missed += int(str(exc).rsplit("missed", 1)[-1].split()[0])
                continue
            topic = message.split(":", 1)[0]
            if topic == self.STOP:
                return
            self.topics[topic] += 1

    def stop(self) -> None:
        self.hub.publish(f"{self.STOP}:")
        self.join(timeout=10)


def money(cents: int) -> str:
    return f"{cents / 100:,.2f}"


# ---- 1. orders from concurrent clients ------------------------------------------------------


def is_refusal(exc: BaseException) -> bool:
    """A refusal by design: the process's own check (ValueError) or an audit rule (Audit*Error)."""
    return isinstance(exc, ValueError) or type(exc).__name__.startswith("Audit")


async def client(engine: TheusEngine, name: str, orders: int, seed: int, tally: Counter, errors: list) -> None:
    rng = random.Random(seed)
    skus = sorted(CATALOG)
    for _ in range(orders):
        try:
            await engine.execute("place_order", customer=name, sku=rng.choice(skus), qty=rng.randint(1, 8))
            tally["placed"] += 1
        except Exception as exc:  # noqa: BLE001 - anything but a refusal breaks an invariant below
            tally["rejected" if is_refusal(exc) else "failed"] += 1
            if not is_refusal(exc):
                errors.append(f"{name}: {type(exc).__name__}: {exc}")


async def place_orders(engine: TheusEngine, clients: int, orders: int, seed: int, say) -> dict:
    """Clients run concurrently on one event loop, like requests in an async web server. Each
    order awaits a risk check in the middle of its transaction, so the clients interleave and
    their commits collide; the engine retries the losers on the new state."""
    tally: Counter = Counter()
    errors: list = []
    start = time.perf_counter()
    await asyncio.gather(*(client(engine, CUSTOMERS[i % len(CUSTOMERS)], orders, seed + i, tally, errors)
                           for i in range(clients)))
    elapsed = time.perf_counter() - start
    say(f"  {clients} clients placed {tally['placed']} orders in {elapsed:.2f} s "
        f"({engine_stats(engine).get('retries', 0)} conflicts retried)")
    # One invalid order on purpose: 500 units is over the limit of 20.
    try:
        await engine.execute("place_order", customer="mallory", sku="green_tea", qty=500)
        bad = "ACCEPTED (wrong)"
    except Exception as exc:  # noqa: BLE001 - reported below
        bad = f"rejected by {type(exc).__name__}: {exc}" if is_refusal(exc) else f"FAILED: {exc!r}"
        tally["rejected"] += 1
    say(f"  invalid order (qty=500): {bad}")
    return {"tally": tally, "errors": errors, "bad_rejected": bad.startswith("rejected")}


# ---- 3. the outbox relay --------------------------------------------------------------------


class MailRelay:
    """Outbox worker: 'sends' invoice e-mails. The second delivery attempt fails once, as a mail
    server might; the message stays queued and goes out on the next process_outbox()."""

    def __init__(self) -> None:
        self.sent = []
        self.attempts = 0
        self.failures = 0

    def __call__(self, msg) -> None:
        self.attempts += 1
        if self.attempts == 2:
            self.failures += 1
            raise ConnectionError("mail server busy")
        self.sent.append((msg.topic, dict(msg.payload)))


def relay_outbox(engine: TheusEngine, say) -> MailRelay:
    relay = MailRelay()
    engine.attach_worker(relay)
    for _ in range(3):
        try:
            engine.process_outbox()
            break
        except ConnectionError as exc:
            say(f"  relay failed ({exc}); the message stays queued, retrying")
    say(f"  delivered {len(relay.sent)} e-mails, e.g. {relay.sent[0][1] if relay.sent else '-'}")
    return relay


# ---- 4. heavy zone --------------------------------------------------------------------------
# HEAVY-ZONE STEP. Large arrays live in shared memory (engine.heavy) and reach processes by
# reference, never copied into the versioned state. Needs the engine's heavy-zone allocator
# (`engine.heavy.alloc`) and numpy; without them the step is skipped with a note.


def heavy_step(engine: TheusEngine, say) -> dict:
    heavy = getattr(engine, "heavy", None)
    if heavy is None or not hasattr(heavy, "alloc"):
        return {"ran": False, "note": "skipped: engine.heavy is not available in this build"}
    try:
        import numpy as np
    except ImportError:
        return {"ran": False, "note": "skipped: numpy is not installed"}
    totals = [inv["total_cents"] for inv in engine.state.data["domain"]["invoices"].values()]
    if not totals:
        return {"ran": False, "note": "skipped: no invoices"}
    array = heavy.alloc("invoice_totals", shape=(len(totals),), dtype=np.int64)
    array[:] = totals
    engine.compare_and_swap(engine.state.version, heavy={"invoice_totals": array})
    check = engine.execute_sync("check_invoice_totals")
    say(f"  {len(totals)} invoice totals in shared memory ({array.nbytes} bytes); sum matches revenue: "
        f"{check['matches']}")
    return {"ran": True, "commits": 2, "matches": bool(check["matches"]),
            "note": f"{len(totals)} totals in shared memory, sum matches revenue: {check['matches']}"}


# ---- the demo -------------------------------------------------------------------------------


def run_demo(clients: int, orders: int, seed: int, quiet: bool) -> int:
    say = (lambda *a: None) if quiet else print
    engine = build_engine()
    start_version = engine.state.version
    audit_active, _ = audit_events(engine)
    say(f"Shop '{engine.state.data['global']['store_name']}': {len(CATALOG)} products, "
        f"{len(CUSTOMERS)} customers, audit {'on' if audit_active else 'off'} (v{start_version})")

    say("\n1. Orders from concurrent clients")
    placed = asyncio.run(place_orders(engine, clients, orders, seed, say))

    say("\n2. Fulfilment workflow (workflows/fulfilment.yaml)")
    listener = SignalListener(engine)
    listener.start()
    steps = asyncio.run(engine.execute_workflow(str(WORKFLOW)))
    listener.stop()
    say(f"  {len(steps)} steps: " + ", ".join(f"{n} x{c}" for n, c in Counter(steps).items()))

    say("\n3. Outbox relay")
    relay = relay_outbox(engine, say)

    say("\n4. Heavy zone")
    heavy = heavy_step(engine, say)
    if not heavy["ran"]:
        say(f"  {heavy['note']}")

    domain = engine.state.data["domain"].to_dict()
    currency = engine.state.data["global"]["currency"]
    all_orders = list(domain["orders"].values())
    paid = [o for o in all_orders if o["status"] == "paid"]
    cancelled = [o for o in all_orders if o["status"] == "cancelled"]
    stats = engine_stats(engine)
    audit_active, events = audit_events(engine)
    executed = placed["tally"]["placed"] + len(steps) + (1 if heavy["ran"] else 0)
    committed = engine.state.version - start_version
    audit_note = (", ".join(f"{k} x{n}" for k, n in Counter(e.key for e in events).items()) or "none") \
        if audit_active else "audit not active in this build"

    print("\n== Summary " + "=" * 60)
    print(f"Processes run       {executed}  (place_order {placed['tally']['placed']}, "
          f"workflow steps {len(steps)}, heavy {1 if heavy['ran'] else 0})")
    print(f"Versions committed  {committed}  (v{start_version} -> v{engine.state.version})")
    print(f"Conflicts retried   {stats.get('retries', 0)}  (VIP tickets {stats.get('vip_grants', 0)})")
    print(f"Audit events        {len(events)}  ({audit_note})")
    missed = f", {listener.missed} missed by the slow subscriber" if listener.missed else ""
    print(f"Signals received    {sum(listener.topics.values())}  "
          f"({', '.join(f'{k} x{n}' for k, n in listener.topics.items())}{missed})")
    print(f"Outbox deliveries   {len(relay.sent)}  ({relay.failures} failed attempt(s), redelivered)")
    print(f"Orders              {placed['tally']['placed']} placed, {placed['tally']['rejected']} rejected; "
          f"{len(paid)} paid, {len(cancelled)} cancelled")
    print(f"Revenue             {currency} {money(domain['revenue_cents'])}  ({len(domain['invoices'])} invoices)")
    print(f"Heavy zone          {heavy['note']}")

    sold = Counter()
    for order in paid:
        sold[order["sku"]] += order["qty"]
    checks = {
        "clients saw no unexpected errors": not placed["errors"],
        "the invalid order was rejected": placed["bad_rejected"],
        "every order was paid or cancelled": not domain["pending"] and len(paid) + len(cancelled) == len(all_orders),
        "stock + units sold == initial stock": all(domain["stock"][s] + sold[s] == INITIAL_STOCK for s in CATALOG),
        "revenue == paid orders == invoices": domain["revenue_cents"] == sum(o["total_cents"] for o in paid)
        == sum(i["total_cents"] for i in domain["invoices"].values()),
        "one invoice and one e-mail per paid order": len(domain["invoices"]) == len(paid) == len(relay.sent),
        "the outbox is empty": engine.outbox.len() == 0,
        "no customer credit below zero": all(v >= 0 for v in domain["credit"].values()),
        "one version per committed change": committed == executed + (1 if heavy["ran"] else 0),
        "the day report matches": domain["report"].get("paid") == len(paid),
        "the heavy check agrees (when it ran)": heavy.get("matches", True),
    }
    print("\nInvariants")
    for name, ok in checks.items():
        print(f"  [{' ok ' if ok else 'FAIL'}] {name}")
    engine.shutdown()
    failed = [name for name, ok in checks.items() if not ok]
    if failed:
        for err in placed["errors"][:5]:
            print(f"  {err}", file=sys.stderr)
        print(f"FAILED: {failed}", file=sys.stderr)
        return 1
    print("All invariants hold.")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Theus e-commerce demo")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--orders", type=int, default=25, help="orders per client (default 25)")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the clients")
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    args = parser.parse_args(argv)
    return run_demo(args.clients, args.orders, args.seed, args.quiet)


if __name__ == "__main__":
    sys.exit(main())
