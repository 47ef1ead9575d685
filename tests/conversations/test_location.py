"""A shared location gets the nearest place with known coordinates, or an honest fallback."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from bot.app import running_engine
from bot.messages import Incoming, Location
from tests.conversations.conftest import PROJECT, Person

TIMISOARA_CENTRE = Location(45.7537, 21.2257)


async def test_without_coordinates_the_bot_says_so_and_shows_the_menu(engine) -> None:
    person = Person(engine, "walker", lang_hint="en")
    await person.send(payload="lang:en")
    person.replies = await engine.handle(Incoming(person.key, location=TIMISOARA_CENTRE))
    assert "do not know the locations of offices yet" in person.text
    assert any(p.startswith("topic:") for p in person.payloads)


async def test_nearest_contact_with_coordinates(settings, tmp_path: Path) -> None:
    kb = tmp_path / "knowledge"
    shutil.copytree(PROJECT / "knowledge", kb)
    contacts = kb / "contacts.yaml"
    text = contacts.read_text(encoding="utf-8")
    text = text.replace("cnrr:\n", "cnrr:\n  coordinates: [44.4268, 26.1025]\n", 1)  # Bucharest
    text = text.replace("jrs_romania:\n", "jrs_romania:\n  coordinates: [45.7489, 21.2087]\n", 1)  # Timișoara
    contacts.write_text(text, encoding="utf-8")
    async with running_engine(replace(settings, knowledge_dir=kb), watch=False) as engine:
        person = Person(engine, "walker2")
        await person.send(payload="lang:en")
        person.replies = await engine.handle(Incoming(person.key, location=TIMISOARA_CENTRE))
    reply = person.replies[0]
    assert "Jesuit Refugee Service Romania" in reply.text
    assert "1.4 km" in reply.text
    assert reply.venue is not None and reply.venue.location == Location(45.7489, 21.2087)
