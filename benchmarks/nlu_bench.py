"""Matcher benchmark: questions/s on one core, p50/p99 latency, scaling with KB size, cold start.

    .venv/bin/python benchmarks/nlu_bench.py            # shipped KB, 10x and 100x synthetic KBs
    .venv/bin/python benchmarks/nlu_bench.py --scales 1 # shipped KB only

Queries are the development question set, each text new to the matcher's caches on the first
pass (the figures quoted in the docs come from that pass: real people rarely repeat a message).
Synthetic entries copy real examples with two words replaced by invented words, so the
vocabulary and the posting lists grow like a real, larger knowledge base would.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import percentile  # noqa: E402
from bot.kb import load_knowledge  # noqa: E402
from nlu import cache, translit  # noqa: E402
from nlu.evaluate import read_questions  # noqa: E402
from nlu.matcher import OUT_OF_SCOPE, BuiltinMatcher, Example  # noqa: E402

SYLLABLES = ["ka", "ri", "mo", "tu", "sel", "van", "dor", "pi", "lek", "shu", "na", "zor", "ime", "bra", "ost"]


def pin_to_one_core() -> str:
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    except (AttributeError, OSError):
        return "not pinned (no sched_setaffinity)"


def synthetic(examples: list[Example], scale: int, seed: int = 7) -> list[Example]:
    rng = random.Random(seed)
    out = list(examples)
    real = [e for e in examples if e.intent != OUT_OF_SCOPE]
    for copy in range(1, scale):
        for e in real:
            words = e.text.split()
            for _ in range(min(2, len(words))):
                i = rng.randrange(len(words))
                words[i] = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
            out.append(Example(f"{e.intent}.syn{copy}", e.lang, " ".join(words)))
    return out


def clear_caches(matcher: BuiltinMatcher) -> None:
    translit._word_to_latin.cache_clear()
    translit.phonetic_word.cache_clear()
    translit.skeleton_word.cache_clear()
    matcher._correction_cache.clear()


def bench_scale(
    examples: list[Example],
    queries: list[tuple[str, str | None]],
    scale: int,
    repeat: int,
) -> None:
    data = synthetic(examples, scale)
    os.environ[cache.CACHE_ENV] = ""  # the build itself, not a load from the cache
    started = time.perf_counter()
    matcher = BuiltinMatcher(data)
    build = time.perf_counter() - started
    del os.environ[cache.CACHE_ENV]
    clear_caches(matcher)
    first: list[float] = []
    for text, lang in queries:
        t = time.perf_counter_ns()
        matcher.predict(text, lang)
        first.append((time.perf_counter_ns() - t) / 1e6)
    warm: list[float] = []
    started = time.perf_counter()
    for _ in range(repeat):
        for text, lang in queries:
            t = time.perf_counter_ns()
            matcher.predict(text, lang)
            warm.append((time.perf_counter_ns() - t) / 1e6)
    elapsed = time.perf_counter() - started
    print(
        f"| {scale:>4}x | {len(data):>8,} | {build:7.2f} s | {len(first) / (sum(first) / 1000):8.0f} | "
        f"{statistics.median(first):6.2f} | {percentile(first, 0.99):6.2f} | {len(warm) / elapsed:8.0f} | "
        f"{statistics.median(warm):6.2f} | {percentile(warm, 0.99):6.2f} |",
        flush=True,
    )


def cold_start(label: str = "", env: dict[str, str] | None = None) -> float:
    code = (
        "import time; t = time.perf_counter()\n"
        "from bot.kb import load_knowledge\nfrom bot.locales import load_locales\n"
        "from bot.matching import build_builtin\nfrom bot.handlers.answer import compose_reply\n"
        "kb, _ = load_knowledge('knowledge', style_checks=False); locales, _ = load_locales('locales')\n"
        "m = build_builtin(kb)\nr = compose_reply(kb, locales, m.predict('I need a family doctor', 'en'), 'en')\n"
        "assert r.intent == 'health.family_doctor'\nprint(time.perf_counter() - t)\n"
    )
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, env=env)
    total = time.perf_counter() - started
    print(
        f"Cold start to first answer{label}: {total:.2f} s for the whole process "
        f"({float(out.stdout):.2f} s after the interpreter started)"
    )
    return total


def bench_realistic(kb) -> None:
    """Matching plus the danger check, as the bot does for every message, on the long, romanised
    and code-mixed messages of the realistic sets (first pass: nothing cached)."""
    from bot.content import DangerReading
    from bot.crisis import load_crisis_lexicon
    from bot.smalltalk import load_smalltalk

    matcher = BuiltinMatcher(kb.examples())
    lexicon, _ = load_crisis_lexicon(kb.root / "nlu" / "crisis.yaml")
    smalltalk, _ = load_smalltalk(kb.root / "nlu" / "smalltalk.yaml")
    crisis = lexicon.with_reader(DangerReading(matcher, smalltalk), matcher.ordinary_words())
    folder = ROOT / "tests" / "nlu" / "realistic"
    texts = [q.text for path in sorted(folder.glob("*/*.jsonl")) for q in read_questions(path)]
    timings = []
    for text in texts:
        started = time.perf_counter()
        crisis.detect(text)
        matcher.predict(text)
        timings.append((time.perf_counter() - started) * 1000)
    p50, p99 = statistics.median(timings), percentile(timings, 0.99)
    print(f"\nRealistic sets ({len(texts)} messages), danger check + matching: p50 {p50:.2f} ms, p99 {p99:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="1,10,100", help="KB size multipliers, comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="warm passes over the question set")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, {pin_to_one_core()}")
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, cache.CACHE_ENV: folder}
        cold_start(" after a content change (matcher built and trained)", env)
        cold_start(" with unchanged content (matcher loaded from the cache)", env)
    kb, _problems = load_knowledge(ROOT / "knowledge")
    if kb is None:
        raise SystemExit("the knowledge base has errors; run 'acasa kb check'")
    queries = [(q.text, q.lang) for q in read_questions(ROOT / "tests" / "nlu" / "dev_questions.jsonl")]
    print(f"{len(queries)} questions per pass\n")
    print("| KB    | examples | build     | q/s new  | p50 ms | p99 ms | q/s warm | p50 ms | p99 ms |")
    print("|-------|----------|-----------|----------|--------|--------|----------|--------|--------|")
    for scale in (int(s) for s in args.scales.split(",")):
        bench_scale(kb.examples(), queries, scale, args.repeat if scale < 100 else 1)
    bench_realistic(kb)


if __name__ == "__main__":
    main()
