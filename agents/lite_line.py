"""A cloud lab's small-model product: Gemini Flash, GPT-4o-mini, Doubao-lite, Qwen-Turbo."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agents.provider import Provider

if TYPE_CHECKING:
    from agents.hyperscaler import Hyperscaler


class LiteLine(Provider):
    """The second token product of a hyperscaler's lab: a small-tier model made from its flagship.

    Why: the clouds sell cheap small models next to their frontier ones, and in China they
    led the 2024 low-end price war (Doubao-lite, Qwen-Turbo). Without this line the
    low-end market rests on a few startups.

    Not a Mesa agent: it shares its owner's account (`unique_id`), chips, markup and
    capability (capped at its tier), and lives and dies with the owner.
    """

    def __init__(self, owner: Hyperscaler, tier: str) -> None:
        self.owner = owner
        self.model = owner.model
        self.region = owner.region
        self.unique_id = owner.unique_id
        self.has_lab = True
        self.init_provider(quality=owner.quality, tier=tier, markup=owner.markup)
        self.sync_quality()

    @property
    def alive(self) -> bool:
        return self.owner.alive

    def sync_quality(self) -> None:
        """The flagship's capability, down to what the small tier can hold this year."""
        self.quality = min(self.owner.quality, self.quality_cap())
