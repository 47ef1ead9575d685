"""How the bot understands people as they really write: greetings, small talk, questions typed
before a language is chosen, questions next to the knowledge base, emergencies in plain words."""

from __future__ import annotations

import yaml

from bot.engine import Engine
from tests.conversations.conftest import PROJECT, Person, rows


def locale(lang: str) -> dict:
    return yaml.safe_load((PROJECT / "locales" / f"{lang}.yaml").read_text(encoding="utf-8"))


def ticked(person: Person) -> list[str]:
    return [label for label in person.buttons if label.startswith("✓")]


async def chosen(engine: Engine, name: str, lang: str) -> Person:
    person = Person(engine, name, lang_hint=lang)
    await person.send("/start")
    await person.send(payload=f"lang:{lang}")
    return person


async def test_a_greeting_keeps_the_phone_language(engine: Engine) -> None:
    for name, greeting in [("g1", "hello"), ("g2", "namaste"), ("g3", "hi"), ("g4", "salam"), ("g5", "Hello!!")]:
        person = Person(engine, name, lang_hint="en")
        await person.send(greeting)
        assert ticked(person) == ["✓ English"], (greeting, person.buttons)


async def test_a_greeting_without_a_phone_language_preselects_nothing_unless_the_script_says(engine: Engine) -> None:
    for name, greeting in [("n1", "hello"), ("n2", "salam"), ("n3", "hi"), ("n4", "привіт")]:
        person = Person(engine, name)
        await person.send(greeting)
        assert ticked(person) == [], (greeting, person.buttons)
        assert len(person.buttons) == 11
    tamil = Person(engine, "n5")
    await tamil.send("வணக்கம்")  # only Tamil is written in this script
    assert ticked(tamil) == ["✓ தமிழ்"]


async def test_a_greeting_is_not_kept_as_a_question(engine: Engine, settings) -> None:
    ravi = Person(engine, "ravi", lang_hint="en")
    await ravi.send("hi")
    await ravi.press("English")
    assert any(b.startswith("topic:") for b in ravi.payloads)  # the menu, not "I don't know"
    assert rows(settings, "SELECT count(*) FROM unanswered") == [(0,)]


async def test_small_talk_gets_a_short_reply_in_the_persons_language(engine: Engine, settings) -> None:
    john = await chosen(engine, "john", "en")
    for text, key in [
        ("thanks a lot 🙏", "smalltalk.thanks"),
        ("thank you so much brother", "smalltalk.thanks"),
        ("ok got it", "smalltalk.ok"),
        ("👍", "smalltalk.ok"),
        ("bye, take care", "smalltalk.bye"),
        ("good morning", "smalltalk.greeting"),
    ]:
        await john.send(text)
        assert john.text == locale("en")[key], text
        assert john.intents == [None]
    await john.send("are you a robot or a real person?")
    assert john.text.startswith("I am Acasă")
    assert "human" in john.payloads  # asking for a person: offered one
    olena = await chosen(engine, "olena", "uk")
    await olena.send("Дякую!")
    assert olena.text == locale("uk")["smalltalk.thanks"]
    bikash = await chosen(engine, "bikash", "ne")
    await bikash.send("dhanyabad dai")
    assert bikash.text == locale("ne")["smalltalk.thanks"]
    assert rows(settings, "SELECT count(*) FROM unanswered") == [(0,)]


async def test_small_talk_words_inside_a_question_do_not_hide_it(engine: Engine) -> None:
    john = await chosen(engine, "john2", "en")
    await john.send("thanks, and how do I register with a family doctor?")
    assert "health.family_doctor" in john.intents


async def test_a_question_is_kept_when_the_person_types_again_instead_of_choosing(engine: Engine) -> None:
    amir = Person(engine, "amir")
    await amir.send("how can I renew my residence permit, it expires next month")
    await amir.send("hello??")  # typed again instead of choosing: nothing says which language
    assert len(amir.buttons) == 11  # the picker again
    await amir.press("English")
    assert "rights.residence_permit" in amir.intents


async def test_two_questions_before_choosing_are_both_answered(engine: Engine) -> None:
    lena = Person(engine, "lena")
    await lena.send("як записатися до сімейного лікаря")
    await lena.send("і як записати дитину до школи?")  # a second question, in a language we can tell
    assert "health.family_doctor" in lena.intents
    assert "education.school_enrolment" in lena.intents
    assert all(r.lang == "uk" for r in lena.replies)


async def test_a_question_next_to_the_knowledge_base_gets_an_honest_answer(engine: Engine, settings) -> None:
    john = await chosen(engine, "john3", "en")
    await john.send("how do i send money home to nepal cheapest, western union or moneygram?")
    assert john.intents == [None]  # not the bank account entry: it does not answer this
    topic = locale("en")["nearby.money"]
    assert john.text == locale("en")["nearby.message"].format(topic=topic)
    assert "human" in john.payloads
    assert rows(settings, "SELECT language, text FROM unanswered")[0][0] == "en"  # kept for the editors
    sanjay = await chosen(engine, "sanjay", "ne")
    await sanjay.send("yaha sim card kinna passport matra bhaye pugcha?")
    assert locale("ne")["nearby.sim_card"] in sanjay.text


async def test_one_vague_word_gets_a_did_you_mean_not_a_topic_or_nothing(engine: Engine) -> None:
    """ "documents" leans weakly towards the marriage topic, "papers" towards things said in a
    conversation: one word says too little for either, so the closest entries are offered. A word
    that clearly names a topic the bot has no entry for still gets that topic named."""
    john = await chosen(engine, "john8", "en")
    for word in ("documents", "papers"):
        await john.send(word)
        assert john.intents[-1] is None
        assert sum(p.startswith("e:") for p in john.payloads) >= 2, (word, john.payloads)
        assert locale("en")["nearby.marriage"] not in john.text
    await john.send("visa")
    assert locale("en")["nearby.tourist_visa"] in john.text


async def test_topics_that_got_entries_are_answered_not_named(engine: Engine) -> None:
    """Bank accounts and driving licences were near-domain topics; now the entries answer them."""
    john = await chosen(engine, "john4", "en")
    await john.send("can I open a bank account with my residence permit? which documents does the bank want")
    assert john.intents == ["general.bank_account"]
    sanjay = await chosen(engine, "sanjay2", "ne")
    await sanjay.send("nepal ko driving license yaha change garna milcha?")
    assert sanjay.intents == ["general.driving_licence"]


async def test_emergencies_in_plain_words_get_112_first(engine: Engine) -> None:
    for name, text in [
        ("e1", "prietenul meu a căzut de pe schelă și sângerează tare"),
        ("e2", "my friend took a lot of pills and is not waking up"),
        ("e3", "en friend site la irunthu vizhunthuttan, romba blood varuthu"),
        ("e4", "the kitchen is on fire and smoke everywhere"),
    ]:
        person = Person(engine, name)
        await person.send(text)
        assert "112" in person.replies[0].text, (text, person.text)


async def test_a_short_misspelt_call_for_help_gets_112_first_a_request_for_help_does_not(engine: Engine) -> None:
    """Typed in a hurry, an emergency reads only weakly to the classifiers; with a call for help now
    ("venez vite", "памагите") that is enough. Asking for help with a job is no call for help."""
    for name, text in [
        ("u1", "blesse grave sang partout svp venez vite"),
        ("u2", "кровищи очень многа срочна памагите"),
    ]:
        person = Person(engine, name)
        await person.send(text)
        assert "112" in person.replies[0].text, (text, person.text)
    worker = await chosen(engine, "u3", "en")
    await worker.send("please help me find a job in a warehouse near Timisoara")
    assert worker.replies[0].text != locale("en")["crisis.message"], worker.text


async def test_no_answer_to_a_message_that_may_be_danger_names_112_first(engine: Engine, settings) -> None:
    """Misspelt and short, this emergency raises no alarm (no phrase, a reading of 0.12); the bot
    cannot answer it, and its reply starts with the emergency number. An ordinary question it cannot
    answer, and one it answers, do not."""
    caution = locale("en")["crisis.caution"]
    john = await chosen(engine, "c1", "en")
    await john.send("bad injured blood every where pls")
    assert len(john.replies) == 1 and john.intents == [None], john.text
    assert john.replies[0].text.startswith(caution + "\n\n"), john.text
    assert john.replies[0].text != locale("en")["crisis.message"], john.text
    assert "human" in john.payloads  # a person is one press away, as with any did-you-mean
    await john.send("where can I buy a cheap bicycle")
    assert "112" not in john.text and john.intents == [None], john.text
    await john.send("how do I register with a family doctor")
    assert john.intents == ["health.family_doctor"] and not john.replies[0].text.startswith(caution), john.text
    # Still a question nobody could answer: kept for the editors, as any other.
    kept = rows(settings, "SELECT text FROM unanswered ORDER BY id")
    assert [t for (t,) in kept] == ["bad injured blood every where pls", "where can I buy a cheap bicycle"]


async def test_an_office_asked_for_by_name_gets_its_card(engine: Engine, settings) -> None:
    """ "unde e biroul IGI" is answered with the immigration office's card, in the person's
    language, with what people go there for and a person one press away; an entry that names the
    office keeps its answer, and a longer question about the office gets the entry."""
    ana = await chosen(engine, "o1", "ro")
    await ana.send("unde e biroul IGI")
    assert len(ana.replies) == 1 and ana.intents == [None], ana.text
    assert ana.text.startswith("Serviciul pentru Imigrări al Județului Timiș (IGI)"), ana.text
    assert "igi.mai.gov.ro" in ana.text
    assert ana.payloads[-1] == "human" and all(p.startswith("e:rights.") for p in ana.payloads[:-1]), ana.payloads
    omar = await chosen(engine, "o2", "ar")
    await omar.send("وين مكتب الهجرة")
    assert omar.text.lstrip("\u200f").startswith("دائرة الهجرة في محافظة تيميش (IGI)"), omar.text
    john = await chosen(engine, "o3", "en")
    await john.send("where is AJOFM")  # the entry on finding a job names it: that answer
    assert john.intents == ["work.find_job"], john.text
    await john.send("how do I renew my residence permit at IGI")
    assert john.intents == ["rights.residence_permit"], john.text
    assert rows(settings, "SELECT count(*) FROM unanswered") == [(0,)]


async def test_ordinary_questions_with_scary_words_raise_no_alarm(engine: Engine) -> None:
    john = await chosen(engine, "john4", "en")
    for text in ["is the emergency room free without insurance?", "I lost my passport, what do I do"]:
        await john.send(text)
        assert "112" not in john.replies[0].text.split("\n")[0] or john.intents[0] is not None, text
        assert john.replies[0].text != locale("en")["crisis.message"], text


async def test_deaths_and_embassies_are_named_not_answered_with_an_entry(engine: Engine, settings) -> None:
    john = await chosen(engine, "john5", "en")
    await john.send("my uncle died here last week, how do we send his body home to Nepal and what does it cost")
    assert john.intents == [None]
    assert john.text == locale("en")["nearby.message"].format(topic=locale("en")["nearby.death"])
    await john.send("where is the embassy of Sri Lanka, my passport expires next month")
    assert john.intents[-1] is None
    assert locale("en")["nearby.embassy"] in john.text
    sanjay = await chosen(engine, "sanjay3", "ne")
    await sanjay.send("mero sathi ko yaha mrityu bhayo, laas nepal kasari pathaune?")
    assert locale("ne")["nearby.death"] in sanjay.text
    assert not any(r.text == locale("ne")["crisis.message"] for r in sanjay.replies)
    assert rows(settings, "SELECT count(*) FROM unanswered") == [(3,)]  # kept for the editors


async def test_car_insurance_is_named_not_answered_with_health_insurance(engine: Engine) -> None:
    """ "Insurance" is mostly health insurance in the examples: car insurance, a parking fine or a
    damaged car get the topic "cars" named, and health insurance is still answered."""
    john = await chosen(engine, "john6", "en")
    await john.send("which company has the cheapest RCA for an old Dacia? I only have a Ukrainian licence plate")
    assert john.intents == [None]
    assert john.text == locale("en")["nearby.message"].format(topic=locale("en")["nearby.car"])
    await john.send("my health insurance card from CAS, where do I get it?")
    assert john.intents[-1] == "health.insurance"
    ana = await chosen(engine, "ana6", "ro")
    await ana.send("am primit amenda de parcare pe Bulevardul Take Ionescu, cum o platesc?")
    assert ana.intents == [None] and locale("ro")["nearby.car"] in ana.text
    imran = await chosen(engine, "imran6", "ur")
    await imran.send("gaadi ka accident hua, sirf gaadi ka nuksaan, insurance claim kaise karun")
    assert imran.intents == [None] and locale("ur")["nearby.car"] in imran.text


async def test_a_danger_word_in_an_ordinary_question_is_not_an_alarm_but_in_danger_it_is(engine: Engine) -> None:
    alarm = locale("en")["crisis.message"]
    asking = await chosen(engine, "asking", "en")
    await asking.send("if someone has a heart attack here which number do I call, does the operator speak english?")
    assert asking.replies[0].text != alarm, asking.text
    assert asking.intents == ["health.emergency"]  # the entry that says: call 112
    for name, text in [
        ("now1", "heart attack"),  # too short to judge: the phrase decides
        ("now2", "my father has a heart attack, he is on the floor and not answering"),
        # Words about ending one's life always bring the numbers, even in a question the matcher
        # reads as ordinary (it does read this one so).
        ("now3", "my friend talks about suicide sometimes, where can he find a psychologist who speaks arabic"),
    ]:
        person = Person(engine, name, lang_hint="en")
        await person.send(text)
        assert "112" in person.replies[0].text, (text, person.text)


async def test_danger_told_as_over_is_not_an_alarm_but_danger_now_or_again_is(engine: Engine) -> None:
    """ "Last month", "now he is fine" (knowledge/nlu/over.yaml): the person asks about an illness,
    injury, fire or violence that is over. Told as happening again, or with danger now beside the
    past one, it raises the alarm."""
    factory = await chosen(engine, "over1", "en")
    await factory.send("our factory caught fire last month and we all lost our jobs, how do I find new work")
    assert factory.replies[0].text != locale("en")["crisis.message"], factory.text
    assert factory.intents == ["work.find_job"]
    colleague = await chosen(engine, "over2", "ro")
    await colleague.send(
        "Luna trecută colegul a căzut de pe schelă, acum e bine. Patronul nu vrea să plătească spitalul, ce facem?"
    )
    assert colleague.replies[0].text != locale("ro")["crisis.message"], colleague.text
    for name, lang, text in [
        ("over3", "ar", "الشهر الماضي ضربني زوجي، هلق أنا بأمان عند أختي، كيف بعمل ordin de protectie؟"),
        (
            "over4",
            "en",
            "last month I tried to kill myself, now I am fine, is there a psychologist who speaks English?",
        ),
    ]:
        survivor = await chosen(engine, name, lang)
        await survivor.send(text)
        assert survivor.replies[0].text != locale(lang)["crisis.message"], survivor.text
    for name, lang, text in [
        ("now1", "en", "last year my husband beat me, now he found our new address and he is outside the door"),
        ("now2", "en", "two years ago I tried to kill myself, now I am standing on the bridge"),
        (
            "now3",
            "ro",
            "Prietena mea are ordin de protecție de luna trecută. Acum el a intrat peste ea în casă, aud cum țipă",
        ),
        ("again1", "en", "my husband used to beat me and now he is beating me again, he has a knife"),
        ("again2", "en", "last year I tried to kill myself and now I want to do it again tonight"),
        ("again3", "en", "last year he tried to strangle me, today he came again with a knife"),
        ("again4", "ro", "luna trecuta m-a batut, acum e iar aici si ma loveste"),
        ("again5", "ro", "saptamana trecuta a lesinat, acum iar a cazut si nu raspunde"),
    ]:
        person = await chosen(engine, name, lang)
        await person.send(text)
        assert person.replies[0].text == locale(lang)["crisis.message"], (text, person.text)


async def test_things_said_in_a_conversation_are_not_emergencies(engine: Engine) -> None:
    alarm = locale("en")["crisis.message"]
    john = await chosen(engine, "john6", "en")
    for text in [
        "my code is Quokka-77",
        "sorry I didn't reply yesterday, night shift and then my phone died",
        "the office was closed, I will go again tomorrow at 9",
        "I live on Strada Mehadia 14 ap 3, near Lidl",
    ]:
        await john.send(text)
        assert not any(r.text == alarm for r in john.replies), (text, john.text)


async def test_a_question_an_entry_clearly_answers_needs_more_than_a_second_opinion_to_alarm(engine: Engine) -> None:
    """ "warehouse" also appears in emergencies ("they locked us in the warehouse"): when the job
    entry is clearly the answer, the danger-or-not classifier alone does not raise the alarm."""
    john = await chosen(engine, "john7", "en")
    await john.send("looking for a job in a warehouse")
    assert john.intents == ["work.find_job"]
    assert john.replies[0].text != locale("en")["crisis.message"]
