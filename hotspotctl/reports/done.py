"""The crews' "done" links: a stop's outage ids signed with crews.done_secret, so that a crew's phone can record
its visit through `hotspotctl crews receive` without an account.

A link is ``<crews.done_url>?stop=<ids>&sig=<hex>``: ``ids`` the stop's outage ids, ascending and
comma-separated, ``sig`` their HMAC-SHA256 under the secret. Only ``stop`` is signed: what the crew adds
(``by``, ``note``, ``fixed``) is its report, not an authority. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit, urlunsplit

from hotspotctl.settings import CrewSettings

if TYPE_CHECKING:  # reports.crews puts the links on its lists
    from hotspotctl.reports.crews import ZoneList

MAX_IDS = 100  # outage ids one link may carry (a stop has one, seldom more)


def stop_text(ids: Iterable[int]) -> str:
    """The ids as a link carries and signs them: distinct, ascending, comma-separated."""
    return ",".join(str(i) for i in sorted(set(ids)))


def done_signature(ids: Iterable[int], secret: str) -> str:
    return hmac.new(secret.encode(), stop_text(ids).encode("ascii"), hashlib.sha256).hexdigest()


def done_link(ids: Sequence[int], settings: CrewSettings) -> str | None:
    """The link that records a visit on these outages; None unless crews.done_url and crews.done_secret are
    both set (or there are no ids)."""
    if not (settings.done_url and settings.done_secret and ids):
        return None
    parts = urlsplit(settings.done_url)
    query = urlencode({"stop": stop_text(ids), "sig": done_signature(ids, settings.done_secret)})
    return urlunsplit(parts._replace(query=f"{parts.query}&{query}" if parts.query else query, fragment=""))


def verify_done(stop: str, sig: str, secret: str) -> tuple[int, ...] | None:
    """The outage ids of a link whose signature is good (in constant time); None for anything else: no secret,
    ids not as ``stop_text`` writes them, too many, or a signature that does not match."""
    if not secret or not stop or len(stop) > 12 * MAX_IDS:
        return None
    parts = stop.split(",")
    if len(parts) > MAX_IDS or not all(p.isascii() and p.isdigit() and len(p) <= 11 for p in parts):
        return None
    ids = tuple(int(p) for p in parts)
    if stop_text(ids) != stop:  # one spelling only: no "01", no repeats, ascending
        return None
    expected = done_signature(ids, secret)
    if not hmac.compare_digest(expected.encode("ascii"), sig.encode("utf-8", "replace")):
        return None
    return ids


def with_done_links(lists: Sequence[ZoneList], settings: CrewSettings) -> list[ZoneList]:
    """The lists with each stop's done link (as they are when the settings give no link)."""
    if not (settings.done_url and settings.done_secret):
        return list(lists)
    return [dataclasses.replace(zone, stops=tuple(dataclasses.replace(stop, done_link=done_link(stop.outages,
                                                                                                settings))
                                                  for stop in zone.stops)) for zone in lists]
