"""Where the content lives by default: the project's own folders, overridable by environment."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def knowledge_dir() -> Path:
    return Path(os.environ.get("ACASA_KB_DIR") or PROJECT_ROOT / "knowledge")


def locales_dir() -> Path:
    return Path(os.environ.get("ACASA_LOCALES_DIR") or PROJECT_ROOT / "locales")
