"""Reading the YAML files users write (profiles, scenarios): strict, and every error names file and key.

``read_yaml`` turns unreadable files and YAML syntax errors into a ConfigError with the line and
column; a ``StrictReader`` subclass checks the document key by key, so a typo comes back as
``cdmx.yaml: faults[3].evry: unknown key; did you mean 'every'?`` rather than being ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from hotspotctl.errors import ConfigError
from hotspotctl.names import did_you_mean


def read_yaml(path: Path, what: str) -> Any:
    """The parsed document (``yaml.safe_load``); ConfigError when it cannot be read or parsed."""
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" (line {where.line + 1}, column {where.column + 1})" if where else ""
        raise ConfigError(f"{Path(path).name}: not valid YAML{at}: {getattr(exc, 'problem', exc)}") from None


class StrictReader:
    """Checks shared by every strict loader; subclasses add the document's own shapes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.path.name}: {key}: {problem}" if key else f"{self.path.name}: {problem}")

    def table(self, node: Any, key: str, allowed: Sequence[str], what: str = "") -> dict[str, Any]:
        """A mapping whose keys are all in ``allowed`` ({} for a missing node)."""
        if node is None:
            return {}
        if not isinstance(node, dict):
            raise self.fail(key, f"expected a mapping with keys {', '.join(allowed)}, got {node!r}")
        for name in node:
            if name not in allowed:
                close = did_you_mean(str(name), allowed)
                hint = f"; did you mean '{close}'?" if close else f"; allowed: {', '.join(allowed)}"
                raise self.fail(f"{key}.{name}" if key else str(name), f"unknown key{what}{hint}")
        return node

    def text(self, node: Any, key: str, default: str = "") -> str:
        if node is None:
            return default
        if not isinstance(node, str):
            raise self.fail(key, f"expected a string, got {node!r}")
        return node
