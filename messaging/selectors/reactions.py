"""Reaction counts, loaded for a page of messages in one query."""

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Min, Q

from accounts.models import User
from messaging.models import Message, Reaction


@dataclass(frozen=True)
class ReactionCount:
    """One emoji on a message: how many chose it, and (when counted for a viewer) whether they did."""

    emoji: str
    count: int
    me: bool | None = None


def reactions_attach(messages: list[Message], *, viewer: User | None = None) -> None:
    """Count every message's reactions in one query and keep them on the messages for the payload.

    No query when no message ever changed (version 0: no reaction was ever added). With `viewer`,
    each count also says whether the viewer is among it.
    """
    summaries: dict[int, list[ReactionCount]] = defaultdict(list)
    changed = [message.pk for message in messages if message.version > 0 and message.deleted_at is None]
    if changed:
        annotations = {"count": Count("id"), "first": Min("id")}
        if viewer is not None:
            annotations["mine"] = Count("id", filter=Q(user=viewer))
        rows = (
            Reaction.objects.filter(message_id__in=changed)
            .values("message_id", "emoji")
            .annotate(**annotations)
            .order_by("message_id", "first")
        )
        for row in rows:
            me = None if viewer is None else row["mine"] > 0
            summaries[row["message_id"]].append(ReactionCount(row["emoji"], row["count"], me))
    for message in messages:
        message.reaction_counts = summaries.get(message.pk, [])
