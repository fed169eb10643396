"""Agent state: where it is, where it wants to go, what it saw and did."""
from dataclasses import dataclass, field
from typing import Dict, List

from theus.context import BaseDomainContext, BaseGlobalContext, BaseSystemContext


@dataclass
class AgentGlobal(BaseGlobalContext):
    max_steps: int = 25


@dataclass
class AgentDomain(BaseDomainContext):
    goal: int = 7
    position: int = 0
    steps: int = 0
    observation: Dict[str, int] = field(default_factory=dict)
    action: str = ""
    trail: List[int] = field(default_factory=list)
    done: bool = False
    outcome: str = ""


@dataclass
class AgentContext(BaseSystemContext):
    global_ctx: AgentGlobal = field(default_factory=AgentGlobal)
    domain: AgentDomain = field(default_factory=AgentDomain)
