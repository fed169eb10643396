"""Heavy zone: large arrays are handed to processes by reference (shared memory), never copied
into the versioned state. main.py puts the invoice totals there when `engine.heavy` exists."""
from theus import process


@process(inputs=["heavy.invoice_totals", "domain.revenue_cents"], outputs=["domain.heavy_check"])
def check_invoice_totals(ctx):
    totals = ctx.heavy["invoice_totals"]
    total = int(totals.sum())
    return {"invoices": int(len(totals)), "sum_cents": total, "matches": total == ctx.domain.revenue_cents}
