"""Grafana panel ids from each panel's identity, so adding or removing a panel renumbers no other.

Numbering panels 1..n in order made every later panel's `id` change when one was inserted: review
noise in the dashboard JSON and in its Kubernetes ConfigMap. Grafana only needs ids that are positive
integers, unique within a dashboard (they key `viewPanel=` links and panel state); any stable value does.

Identity: the dashboard's uid (its service) + the panel's title, plus n for the n-th repeat of a
title on that dashboard, which is the only thing that tells same-titled panels apart. The preferred id
is 1 + sha256(identity) mod ID_SPACE: small (at most five digits) and independent of PYTHONHASHSEED.

Collisions, resolved deterministically and without looking at panel order:
1. each preferred id goes to the panel with the smallest identity (string order) among those that
   prefer it;
2. every other panel, in identity order, takes the next id upward (wrapping to 1) that no panel of
   step 1 holds and no earlier panel of step 2 has taken.
So an inserted panel can change an existing panel's id only if it lands on that panel's slot and
sorts before it: with ID_SPACE ids and n panels that is about n / ID_SPACE per insertion.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

ID_SPACE = 99_999  # ids 1..99999


def panel_identities(dashboard_uid: str, titles: Sequence[str]) -> list[str]:
    """One identity per title, in order: JSON of [uid, title] plus the repeat count n (n >= 2) for the
    n-th panel of the same title (JSON, so no title can imitate another panel's identity)."""
    seen: dict[str, int] = {}
    out = []
    for title in titles:
        seen[title] = seen.get(title, 0) + 1
        parts: list[str | int] = [dashboard_uid, title] + ([seen[title]] if seen[title] > 1 else [])
        out.append(json.dumps(parts, ensure_ascii=False))
    return out


def preferred_id(identity: str) -> int:
    digest = hashlib.sha256(identity.encode("utf-8")).digest()
    return 1 + int.from_bytes(digest[:8], "big") % ID_SPACE


def assign_ids(identities: Sequence[str], preferred: dict[str, int] | None = None) -> list[int]:
    """Unique ids for distinct identities, in input order. `preferred` overrides the hash (tests force
    collisions with it)."""
    if len(set(identities)) != len(identities):
        raise ValueError("panel identities must be unique within a dashboard")
    if len(identities) > ID_SPACE:
        raise ValueError(f"a dashboard holds at most {ID_SPACE} panels")
    want = {i: (preferred or {}).get(i) or preferred_id(i) for i in identities}
    taken: dict[int, str] = {}
    for identity in sorted(identities):  # step 1: the smallest identity wins its preferred slot
        taken.setdefault(want[identity], identity)
    ids = {identity: pid for pid, identity in taken.items()}
    for identity in sorted(i for i in identities if i not in ids):  # step 2: probe upward
        pid = want[identity]
        while pid in taken:
            pid = pid % ID_SPACE + 1
        taken[pid] = identity
        ids[identity] = pid
    return [ids[i] for i in identities]


def panel_ids(dashboard_uid: str, titles: Sequence[str]) -> list[int]:
    """The ids of a dashboard's panels, given their titles in order."""
    return assign_ids(panel_identities(dashboard_uid, titles))
