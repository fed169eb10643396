"""The shop's state: settings in the global layer, catalogue, stock, customers' credit, orders,
payments and invoices in the domain layer. Amounts are integer cents.

`theus schema gen` writes the schema of these classes to specs/context_schema.yaml.
"""
import copy
from dataclasses import dataclass, field
from typing import Dict, List

from theus.context import BaseDomainContext, BaseGlobalContext, BaseSystemContext

CATALOG = {
    "green_tea": {"name": "Green tea", "price_cents": 1250},
    "mug": {"name": "Stoneware mug", "price_cents": 1800},
    "notebook": {"name": "Notebook", "price_cents": 650},
    "pen": {"name": "Fountain pen", "price_cents": 4200},
}
CREDIT_CENTS = {"alice": 600_000, "bob": 400_000, "carol": 120_000, "dave": 20_000}
INITIAL_STOCK = 500


@dataclass
class ShopGlobal(BaseGlobalContext):
    store_name: str = "__PROJECT_NAME__"
    currency: str = "EUR"
    tax_pct: int = 20
    max_qty: int = 20


@dataclass
class ShopDomain(BaseDomainContext):
    catalog: Dict[str, dict] = field(default_factory=lambda: copy.deepcopy(CATALOG))
    stock: Dict[str, int] = field(default_factory=lambda: {sku: INITIAL_STOCK for sku in CATALOG})
    credit: Dict[str, int] = field(default_factory=lambda: dict(CREDIT_CENTS))
    orders: Dict[str, dict] = field(default_factory=dict)
    pending: List[str] = field(default_factory=list)
    current: str = ""
    payments: Dict[str, dict] = field(default_factory=dict)
    invoices: Dict[str, dict] = field(default_factory=dict)
    revenue_cents: int = 0
    next_order: int = 1
    next_invoice: int = 1
    report: Dict[str, int] = field(default_factory=dict)
    heavy_check: Dict[str, int] = field(default_factory=dict)


@dataclass
class ShopContext(BaseSystemContext):
    global_ctx: ShopGlobal = field(default_factory=ShopGlobal)
    domain: ShopDomain = field(default_factory=ShopDomain)
