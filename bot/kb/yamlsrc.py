"""Safe YAML reading that remembers where every value came from.

PyYAML's safe loader forgets line numbers and silently keeps the last of two equal keys. Editors
need both: "line 12, field 'examples'" and "the id 'cnrr' is defined twice".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.kb.problems import ProblemList

Location = tuple[str | int, ...]

# libyaml's parser is several times faster; both are safe loaders and keep line marks.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class YamlDocument:
    data: Any
    lines: dict[Location, int] = field(default_factory=dict)

    def line(self, *location: str | int) -> int | None:
        """Line (1-based) of the value at ``location``, or of its closest known parent."""
        loc: Location = tuple(location)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), 1)


class _Builder:
    def __init__(self, path: Path, problems: ProblemList):
        self.path = path
        self.problems = problems
        self.constructor = yaml.SafeLoader("")
        self.lines: dict[Location, int] = {}

    def build(self, node: yaml.Node, loc: Location) -> Any:
        self.lines[loc] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    self.problems.error(
                        self.path,
                        key_node.start_mark.line + 1,
                        None,
                        "'<<' merge keys are not supported; write the fields out.",
                    )
                    continue
                key = self.constructor.construct_object(key_node, deep=True)
                if not isinstance(key, (str, int)):
                    self.problems.error(
                        self.path, key_node.start_mark.line + 1, None, f"a field name must be plain text, not {key!r}."
                    )
                    continue
                if key in result:
                    self.problems.error(
                        self.path,
                        key_node.start_mark.line + 1,
                        str(key),
                        f"'{key}' appears twice here (first on line {self.lines[(*loc, key)]}); "
                        "each name may appear only once — remove or rename one of them.",
                    )
                    continue
                result[key] = self.build(value_node, (*loc, key))
                self.lines[(*loc, key)] = key_node.start_mark.line + 1
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]
        try:
            return self.constructor.construct_object(node, deep=True)
        except ValueError as exc:  # a date that does not exist, such as 2026-02-30
            self.problems.error(
                self.path, node.start_mark.line + 1, None, f"'{node.value}' is not a real value ({exc})."
            )
            return node.value


def read_yaml(path: Path, problems: ProblemList) -> YamlDocument | None:
    """Parse one file with the safe loader; None (and a problem) if it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problems.error(path, None, None, f"the file is not saved as UTF-8 text ({exc.reason}). Save it again as UTF-8.")
        return None
    except OSError as exc:
        problems.error(path, None, None, f"the file cannot be read: {exc.strerror}.")
        return None
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = f", column {mark.column + 1}" if mark else ""
        what = exc.problem or exc.context or "syntax error"
        problems.error(
            path,
            line,
            None,
            f"this is not valid YAML ({what}{column}). Check the quotes, colons and "
            "indentation on this line and the one before it; text containing ':' or "
            "starting with a special character must be in double quotes.",
        )
        return None
    except yaml.YAMLError as exc:
        problems.error(path, None, None, f"this is not valid YAML: {exc}.")
        return None
    if node is None:
        return YamlDocument(None, {(): 1})
    builder = _Builder(path, problems)
    try:
        data = builder.build(node, ())
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        problems.error(
            path, mark.line + 1 if mark else None, None, f"a value here cannot be read safely ({exc.problem})."
        )
        return None
    return YamlDocument(data, builder.lines)
