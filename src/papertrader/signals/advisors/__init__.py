"""Optional LLM advisors (Grok, Kimi, Claude) as board members that never block a cycle."""

from papertrader.signals.advisors.factory import AdvisorPlan, advisor_members, advisor_plan
from papertrader.signals.advisors.member import AdvisorHealth, AdvisorMember
from papertrader.signals.advisors.prompt import PromptSpec
from papertrader.signals.advisors.schema import AdvisorAnswer, parse_answer

__all__ = [
    "AdvisorAnswer",
    "AdvisorHealth",
    "AdvisorMember",
    "AdvisorPlan",
    "PromptSpec",
    "advisor_members",
    "advisor_plan",
    "parse_answer",
]
