"""Orders: placing an order (reserves stock), taking the next pending order, cancelling.

Processes return their writes (a tuple per declared output, or a StateUpdate for paths below
an output) instead of mutating the context; the engine commits them atomically and, when two
concurrent orders touch the same paths (the order counter, the pending list), retries the later
one on the new state.
"""
import asyncio

from theus import process
from theus.structures import StateUpdate

SAMPLE_ORDERS = [
    ("alice", "green_tea", 2),
    ("bob", "pen", 1),
    ("dave", "pen", 5),          # more than his credit: declined, then cancelled
    ("carol", "notebook", 4),
    ("alice", "mug", 1),
]


async def risk_check(customer: str, total_cents: int) -> bool:
    """Stand-in for a fraud-scoring service: answers after a short wait."""
    await asyncio.sleep(0.001)
    return total_cents <= 100_000


def make_order(number: int, customer: str, sku: str, qty: int, unit_cents: int, tax_pct: int) -> dict:
    """A new pending order record (plain data)."""
    subtotal = unit_cents * qty
    tax = subtotal * tax_pct // 100
    return {
        "id": f"o{number:05d}", "customer": customer, "sku": sku, "qty": qty,
        "subtotal_cents": subtotal, "tax_cents": tax, "total_cents": subtotal + tax,
        "status": "pending", "invoice": "",
    }


@process(
    inputs=["domain.catalog", "domain.stock", "domain.pending", "domain.next_order", "global.tax_pct",
            "global.max_qty"],
    outputs=["domain.stock", "domain.orders", "domain.pending", "domain.next_order"],
    errors=["ValueError"],
)
async def place_order(ctx, customer: str = "", sku: str = "", qty: int = 0):
    """Reserve stock and queue an order for fulfilment. The risk check is awaited inside the
    transaction: if another order committed meanwhile, this attempt conflicts and is retried."""
    if not 1 <= qty <= ctx.global_ctx.max_qty:
        raise ValueError(f"quantity must be between 1 and {ctx.global_ctx.max_qty}, got {qty}")
    if sku not in ctx.domain.catalog:
        raise ValueError(f"unknown product '{sku}'")
    available = ctx.domain.stock[sku]
    if available < qty:
        raise ValueError(f"only {available} x {sku} left, {qty} wanted")
    number = ctx.domain.next_order
    order = make_order(number, customer, sku, qty, ctx.domain.catalog[sku]["price_cents"], ctx.global_ctx.tax_pct)
    pending = [*ctx.domain.pending, order["id"]]
    if not await risk_check(customer, order["total_cents"]):
        raise ValueError(f"order of {customer} refused by the risk check")
    return StateUpdate(data={
        f"domain.stock.{sku}": available - qty,
        f"domain.orders.{order['id']}": order,
        "domain.pending": pending,
        "domain.next_order": number + 1,
    })


@process(
    inputs=["domain.catalog", "domain.stock", "domain.pending", "domain.next_order", "global.tax_pct"],
    outputs=["domain.stock", "domain.orders", "domain.pending", "domain.next_order"],
)
def load_sample_orders(ctx):
    """Queue a few sample orders (used when the workflow starts with nothing pending)."""
    number = ctx.domain.next_order
    stock = dict(ctx.domain.stock)
    pending = list(ctx.domain.pending)
    data = {}
    for customer, sku, qty in SAMPLE_ORDERS:
        order = make_order(number, customer, sku, qty, ctx.domain.catalog[sku]["price_cents"], ctx.global_ctx.tax_pct)
        stock[sku] -= qty
        pending.append(order["id"])
        data[f"domain.orders.{order['id']}"] = order
        number += 1
    data.update({"domain.stock": stock, "domain.pending": pending, "domain.next_order": number})
    return StateUpdate(data=data)


@process(inputs=["domain.pending"], outputs=["domain.pending", "domain.current"])
def take_next_order(ctx):
    """Move the first pending order to `current` (outputs in order: pending, current)."""
    pending = list(ctx.domain.pending)
    if not pending:
        raise ValueError("no pending order")
    return pending[1:], pending[0]


@process(inputs=["domain.current", "domain.orders", "domain.stock"], outputs=["domain.stock", "domain.orders"])
def cancel_order(ctx):
    """Put the reserved stock back and mark the current order cancelled."""
    oid = ctx.domain.current
    order = ctx.domain.orders[oid]
    sku = order["sku"]
    return StateUpdate(
        data={f"domain.stock.{sku}": ctx.domain.stock[sku] + order["qty"], f"domain.orders.{oid}.status": "cancelled"},
        signal={"order_cancelled": oid},
    )
