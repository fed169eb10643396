"""Invoices and the end-of-day report.

`issue_invoice` queues an e-mail in the transactional outbox (`ctx.outbox.add`): the message
leaves only if this commit succeeds, and main.py's relay delivers it with
`engine.process_outbox()`.
"""
from theus import process
from theus.contracts import OutboxMsg, SemanticType
from theus.structures import StateUpdate


@process(inputs=["domain.current", "domain.orders", "domain.next_invoice", "global.store_name", "global.currency"],
         outputs=["domain.invoices", "domain.orders", "domain.next_invoice"],
         side_effects=["email"])
def issue_invoice(ctx):
    oid = ctx.domain.current
    order = ctx.domain.orders[oid]
    number = ctx.domain.next_invoice
    iid = f"i{number:05d}"
    invoice = {
        "id": iid, "order": oid, "customer": order["customer"], "store": ctx.global_ctx.store_name,
        "currency": ctx.global_ctx.currency, "total_cents": order["total_cents"],
    }
    ctx.outbox.add(OutboxMsg("invoice.email", {"to": order["customer"], "invoice": iid,
                                               "total_cents": order["total_cents"]}))
    return StateUpdate(
        data={
            f"domain.invoices.{iid}": invoice,
            f"domain.orders.{oid}.invoice": iid,
            "domain.next_invoice": number + 1,
        },
        signal={"invoice_issued": iid},
    )


@process(inputs=["domain.orders", "domain.invoices", "domain.revenue_cents"], outputs=["domain.report"],
         semantic=SemanticType.PURE)
def close_day(ctx):
    """PURE: a read-only view of its inputs; the report is its return value."""
    statuses = [order["status"] for order in ctx.domain.orders.values()]
    return {
        "orders": len(statuses), "paid": statuses.count("paid"), "cancelled": statuses.count("cancelled"),
        "invoices": len(ctx.domain.invoices), "revenue_cents": ctx.domain.revenue_cents,
    }
