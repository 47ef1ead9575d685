"""Problems found in editors' files, phrased for editors."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    severity: Severity
    file: Path
    line: int | None
    field: str | None
    message: str

    def format(self, root: Path | None = None) -> str:
        try:
            shown = self.file.resolve().relative_to(root.resolve()) if root else self.file
        except ValueError:
            shown = self.file
        where = str(shown)
        if self.line is not None:
            where += f", line {self.line}"
        if self.field:
            where += f", field '{self.field}'"
        return f"{self.severity.value.upper()}: {where}: {self.message}"


class ProblemList(list[Problem]):
    """Collects problems while a file is read."""

    def error(self, file: Path, line: int | None, field: str | None, message: str) -> None:
        self.append(Problem(Severity.ERROR, file, line, field, message))

    def warning(self, file: Path, line: int | None, field: str | None, message: str) -> None:
        self.append(Problem(Severity.WARNING, file, line, field, message))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self if p.severity is Severity.WARNING]
