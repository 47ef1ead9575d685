"""A shared location: the nearest office or organisation with known coordinates."""

from __future__ import annotations

import math

from bot.handlers import menu
from bot.handlers.context import Context
from bot.messages import Location, Outgoing, Venue

EARTH_RADIUS_KM = 6371.0


def distance_km(a: Location, b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude, b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def nearest(ctx: Context, where: Location) -> None:
    placed = [c for c in ctx.content.kb.contacts.values() if c.coordinates and c.kind != "emergency"]
    if not placed:
        ctx.say(ctx.t("location.thanks"))
        menu.show_main(ctx)
        return
    contact = min(placed, key=lambda c: distance_km(where, c.coordinates))  # type: ignore[arg-type]
    km = distance_km(where, contact.coordinates)  # type: ignore[arg-type]
    name = contact.display_name(ctx.lang)
    lat, lon = contact.coordinates  # type: ignore[misc]
    ctx.send(
        Outgoing(
            ctx.t("location.nearest", name=name, km=f"{km:.1f}"),
            ctx.lang,
            (ctx.button("button.menu", "menu"),),
            venue=Venue(name, Location(lat, lon), contact.address),
        )
    )
