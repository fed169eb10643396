"""Payments: authorization against the customer's credit, then capture.

`authorize_payment` emits the signal `payment` ('approved' or 'declined'); the workflow's `if`
right after it reads `signal.get('payment')` (signals are latched for one committed version).
"""
from theus import process
from theus.structures import StateUpdate


@process(inputs=["domain.current", "domain.orders", "domain.credit"], outputs=["domain.orders"],
         side_effects=["payment gateway"])
def authorize_payment(ctx):
    oid = ctx.domain.current
    order = ctx.domain.orders[oid]
    approved = ctx.domain.credit.get(order["customer"], 0) >= order["total_cents"]
    return StateUpdate(
        data={f"domain.orders.{oid}.status": "authorized" if approved else "declined"},
        signal={"payment": "approved" if approved else "declined"},
    )


@process(inputs=["domain.current", "domain.orders", "domain.credit", "domain.revenue_cents"],
         outputs=["domain.credit", "domain.revenue_cents", "domain.payments", "domain.orders"])
def capture_payment(ctx):
    oid = ctx.domain.current
    order = ctx.domain.orders[oid]
    customer, amount = order["customer"], order["total_cents"]
    return StateUpdate(data={
        f"domain.credit.{customer}": ctx.domain.credit[customer] - amount,
        "domain.revenue_cents": ctx.domain.revenue_cents + amount,
        f"domain.payments.p{oid[1:]}": {"order": oid, "customer": customer, "amount_cents": amount},
        f"domain.orders.{oid}.status": "paid",
    })
