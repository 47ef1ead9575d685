"""A disk cache for what the matcher builds from the content (index, trained classifier, language
model), so a restart with unchanged content starts in a fraction of a second.

Files are plain ``.npz`` arrays (no pickles), named by a hash of everything they were built from;
a file that is missing, unreadable or of another shape is simply built again. The name also holds
a hash of the matcher's own code (``nlu/*.py``): after an upgrade that changes how text becomes
features, weights trained on the old features are never loaded. Written whole, then renamed, so a
second process starting at the same moment never reads half a file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

CACHE_ENV = "ACASA_CACHE_DIR"
FORMAT = 2  # bump when what is cached changes shape or meaning
_SEPARATOR = "\x1f"


def _code_version() -> str:
    """A hash of the code that turns text into features and trains on them."""
    digest = hashlib.sha256()
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:16]


CODE_VERSION = _code_version()


def cache_dir() -> Path | None:
    """``$ACASA_CACHE_DIR`` (empty: no cache), else the user's cache folder."""
    configured = os.environ.get(CACHE_ENV)
    if configured is not None:
        return Path(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "acasa"


def path_for(kind: str, key: str) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    digest = hashlib.sha256(f"{FORMAT}|{CODE_VERSION}|{kind}|{key}".encode()).hexdigest()[:32]
    return folder / f"{kind}-{digest}.npz"


def load(kind: str, key: str) -> dict[str, np.ndarray] | None:
    path = path_for(kind, key)
    if path is None or not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as saved:
            return {name: saved[name] for name in saved.files}
    except (OSError, ValueError, KeyError) as exc:
        log.warning("ignoring an unreadable cache file %s (%s)", path.name, exc)
        return None


def save(kind: str, key: str, arrays: dict[str, np.ndarray]) -> None:
    path = path_for(kind, key)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as file:
            np.savez(file, **arrays)
        os.replace(file.name, path)
    except OSError as exc:  # a read-only disk costs a few seconds at each start, nothing more
        log.warning("could not write the matcher cache in %s (%s)", path.parent, exc)


def pack(strings: list[str]) -> np.ndarray:
    """Strings as one byte array (fast to save and load, no pickles)."""
    return np.frombuffer(_SEPARATOR.join(strings).encode("utf-8"), dtype=np.uint8)


def unpack(array: np.ndarray) -> list[str]:
    text = array.tobytes().decode("utf-8")
    return text.split(_SEPARATOR) if text else []
