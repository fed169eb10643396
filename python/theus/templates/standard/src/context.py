"""The application state: a global layer (settings) and a domain layer (the data processes work on).

`theus schema gen` writes the schema of these classes to specs/context_schema.yaml.
"""
from dataclasses import dataclass, field
from typing import Dict, List

from theus.context import BaseDomainContext, BaseGlobalContext, BaseSystemContext


@dataclass
class AppGlobal(BaseGlobalContext):
    app_name: str = "__PROJECT_NAME__"
    checkpoint_every: int = 2
    batch_size: int = 5


@dataclass
class AppDomain(BaseDomainContext):
    tasks: Dict[str, dict] = field(default_factory=dict)
    queue: List[str] = field(default_factory=list)
    completed: int = 0
    checkpoints: List[int] = field(default_factory=list)
    summary: Dict[str, int] = field(default_factory=dict)


@dataclass
class AppContext(BaseSystemContext):
    global_ctx: AppGlobal = field(default_factory=AppGlobal)
    domain: AppDomain = field(default_factory=AppDomain)
