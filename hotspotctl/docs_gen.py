"""The documents made from the code, so they cannot drift from it.

- the configuration reference (``docs/reference/configuration.md``): every setting of ``Settings``,
  its default, environment variable, allowed range and help, read from the declarations themselves;
- the commented example configuration (``docs/hotspotctl.example.toml``, and what
  ``hotspotctl config init`` writes), from the same declarations;
- the command-line reference (``docs/reference/cli.md``): every command's ``--help``, from the typer app;
- the index of the decision records (``docs/decisions/index.md``), from the records' own titles.

``python -m hotspotctl.docs_gen`` writes the three files; ``--check`` says which are stale (exit 1).
The tests compare each committed file with what this module makes now.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import textwrap
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotspotctl.errors import InputError
from hotspotctl.settings import DEFAULT_CONFIG_NAME, ENV_PREFIX, Settings, env_name, every_setting

REGENERATE = "python -m hotspotctl.docs_gen"
CONFIGURATION_PAGE = Path("docs/reference/configuration.md")
CLI_PAGE = Path("docs/reference/cli.md")
EXAMPLE_CONFIG = Path("docs/hotspotctl.example.toml")
DECISIONS = Path("docs/decisions")
HELP_WIDTH = 100  # the width --help is rendered at in the CLI reference, whatever the terminal


@dataclass(frozen=True)
class SettingDoc:
    """One setting as the documents show it."""

    key: str  # key path: snmp.timeout_s; snmp.auth.NAME.version for a field of a named set
    default: Any
    env: str | None  # None: the file only (tables, and the fields of named sets)
    range: str  # "" when the setting is not a number
    help: str
    secret: str | None  # "value": never in a file, "url": a URL whose password is masked
    kind: Any


def iter_settings() -> Iterator[SettingDoc]:
    """Every leaf setting in declaration order (``settings.every_setting``); a table of named sets is listed
    as ``<table>.NAME``, then its entries' fields."""
    for declared in every_setting():
        args = typing.get_args(declared.kind)
        if typing.get_origin(declared.kind) is dict and _is_section(args[1]):
            yield SettingDoc(f"{declared.key}.NAME", declared.default, None, "", declared.help, None, declared.kind)
            continue
        yield SettingDoc(declared.key, declared.default, declared.env, _range(declared.check), declared.help,
                         declared.secret, declared.kind)


def iter_sections(cls: type = Settings, prefix: str = "") -> Iterator[tuple[str, str, type]]:
    """(key path, help, class) of every section (``[snmp]``, ``[crews.email]``), parents first."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        if _is_section(kind):
            path = f"{prefix}{f.name}"
            yield path, f.metadata.get("help", ""), kind
            yield from iter_sections(kind, f"{path}.")


def _is_section(kind: Any) -> typing.TypeGuard[type]:
    """A settings class (a section, or a named set's fields), as opposed to a value's type."""
    return isinstance(kind, type) and dataclasses.is_dataclass(kind)


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else None


def _number(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e18:
        return f"{int(value):,}"
    return f"{value:,g}"


def _range(check: Any) -> str:
    """The allowed range a check declares (``check.bounds``), both ends included unless the check refuses one."""
    bounds = getattr(check, "bounds", None)
    if bounds is None:
        return ""
    low, high, unit = bounds
    probe = (lambda value: check({"x": value})) if check.__name__ == "each" else check
    shown = f"{_number(low)} .. {_number(high)}"
    if probe(low) is not None:
        shown = f"more than {shown}"  # the low end itself refused (a share: more than 0)
    return f"{shown} {unit}".rstrip()


def toml_value(value: Any) -> str:
    """A default as TOML writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        if any(dataclasses.is_dataclass(item) for item in value.values()):
            return ", ".join(value)  # named sets: their names (the fields are listed below them)
        return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML form for {value!r}")  # pragma: no cover - a new kind of setting


def _cell(text: str) -> str:
    """Text for a Markdown table cell: no column breaks, tags or emphasis from the help's own characters."""
    for raw, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|"), ("*", "\\*"), ("\n", " ")):
        text = text.replace(raw, escaped)
    return text


def _env_cell(setting: SettingDoc) -> str:
    if setting.env is None:
        return "file only"
    origin = typing.get_origin(setting.kind)
    note = " (comma-separated)" if origin is tuple else ""
    return f"`{setting.env}`{note}"


def configuration_reference() -> str:
    """docs/reference/configuration.md: every setting, from the declarations in hotspotctl/settings.py."""
    settings = list(iter_settings())
    lines = [
        "# Configuration reference",
        "",
        f"<!-- generated by `{REGENERATE}` from hotspotctl/settings.py: do not edit by hand -->",
        "",
        "Every setting, its default, its environment variable, the values it allows, and what it does. "
        "How settings are read (file, environment, flags) is in [Configuration](../configuration.md); "
        "a commented file with every default is in [the example configuration](../configuration.md#an-example-file).",
        "",
        f"An environment variable's name is `{ENV_PREFIX}` plus the key path in capitals joined by `_`. "
        "Lists are comma-separated in the environment; tables (maps) and named credential sets come only "
        "from the file. Ranges include both ends. A secret is masked by `config show`; keep it in the "
        "environment, not in the file.",
        "",
    ]
    sections = [("", "top level")] + [(path, help) for path, help, _ in iter_sections()]
    for section, help in sections:
        rows = [s for s in settings if _section_of(s.key) == section]
        if not rows:
            continue
        lines += [f"## `[{section}]`: {help}" if section else "## Top level", "",
                  "| key | default | env | range | meaning |", "|---|---|---|---|---|"]
        for s in rows:
            default = toml_value(s.default) if s.default is not None else ""
            meaning = s.help + (" (secret)" if s.secret == "value" else "") + (
                " (its password is masked)" if s.secret == "url" else "")
            lines.append(f"| `{s.key}` | `{_cell(default)}` | {_env_cell(s)} | {s.range} | {_cell(meaning)} |")
        lines.append("")
    return "\n".join(lines)


def _section_of(key: str) -> str:
    """The section a key is listed under: snmp.auth.NAME.version is under snmp (with snmp.auth.NAME)."""
    parts = key.split(".")
    return ".".join(parts[: parts.index("NAME") - 1] if "NAME" in parts else parts[:-1])


def example_config() -> str:
    """The commented example configuration: every section, every default commented out.

    ``## `` lines explain; ``# key = value`` lines are the defaults, so uncommenting one changes nothing
    until its value is edited. Secrets appear only as the names of the variables that hold them.
    """
    lines = [
        "## hotspotctl settings: the defaults, commented out. Written by `hotspotctl config init`;",
        "## generated from hotspotctl/settings.py, so every key and default here is the program's own.",
        f"## Read from --config FILE, else $HOTSPOTCTL_CONFIG, else ./{DEFAULT_CONFIG_NAME}. Environment",
        f"## variables ({ENV_PREFIX}<KEY PATH>, e.g. {env_name('snmp.timeout_s')}) win over this file, and flags",
        "## win over both. Secrets (passwords, tokens, communities) never go in this file: put them in the",
        "## environment and name the variable where a *_env key exists.",
        "",
    ]
    lines += _example_section(Settings, "")
    for path, help, cls in iter_sections():
        lines += ["", *_wrapped(help), f"[{path}]"]
        lines += _example_section(cls, f"{path}.")
    return "\n".join(lines) + "\n"


def _example_section(cls: type, prefix: str) -> list[str]:
    hints = typing.get_type_hints(cls)
    lines: list[str] = []
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        if _is_section(kind):
            continue
        path = f"{prefix}{f.name}"
        args = typing.get_args(kind)
        help = f.metadata.get("help", "")
        check = _range(f.metadata.get("check"))
        if typing.get_origin(kind) is dict and _is_section(args[1]):
            lines += _example_sets(path, help, args[1])
            continue
        secret = f.metadata.get("secret")
        if secret == "value":
            lines.append(f"## {f.name}: a secret, read from {env_name(path)} in the environment; never write it here")
            continue
        where = "file only" if typing.get_origin(kind) is dict else env_name(path)
        lines += _wrapped(f"{help} [{where}{'; ' + check if check else ''}]")
        lines += _commented(f"{f.name} = {toml_value(_default(f))}")
    return lines


def _example_sets(path: str, help: str, item: type) -> list[str]:
    """Named credential sets: one sample set, all comments (a set added here would not be a default)."""
    lines = [*_wrapped(f"{path}.NAME: {help}"), f"## [{path}.NAME]"]
    for f in dataclasses.fields(item):
        if f.metadata.get("secret"):
            continue  # the *_env twin names the variable
        lines.append(f"## {f.name} = {toml_value(_default(f))}    # {f.metadata.get('help', '')}")
    return lines


def _wrapped(text: str) -> list[str]:
    """An explanation, as ``## `` comment lines of at most 100 characters."""
    return textwrap.wrap(text, width=100, initial_indent="## ", subsequent_indent="## ",
                         break_long_words=False, break_on_hyphens=False)


def _commented(assignment: str) -> list[str]:
    """``# key = value``, a long list one item a line."""
    if len(assignment) <= 100 or not assignment.endswith("]"):
        return [f"# {assignment}"]
    name, _, items = assignment.partition(" = [")
    return [f"# {name} = ["] + [f"#   {item.strip()}," for item in items[:-1].split(", ")] + ["# ]"]


def write_example_config(path: Path, *, force: bool = False) -> Path:
    """Write the example configuration to ``path``; an existing file is replaced only with ``force``."""
    if path.is_dir():
        raise InputError(f"{path}: is a directory; give a file name, e.g. {path / DEFAULT_CONFIG_NAME}")
    if path.exists() and not force:
        raise InputError(f"{path}: already exists; nothing written (--force replaces it)")
    if not path.parent.is_dir():
        raise InputError(f"{path.parent}: no such directory; nothing written")
    try:
        path.write_text(example_config(), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror}") from None
    return path


def cli_reference(command: Any) -> str:
    """docs/reference/cli.md: every command's --help, from the click command the typer app makes."""
    lines = [
        "# Command-line reference",
        "",
        f"<!-- generated by `{REGENERATE}` from the typer app: do not edit by hand -->",
        "",
        "Every command's `--help`, as `hotspotctl` prints it. Exit codes, everywhere: `0` ok; `1` internal "
        "error (or you declined at a prompt); `2` usage; `3` invalid input or config, nothing written; `4` "
        "partial (finished, but some rows or APs failed, and the output says which); `5` a sink was "
        "unavailable and the data was spooled.",
        "",
    ]
    for name, text in _helps(command, "hotspotctl", None):
        lines += [f"## `{name}`", "", "```text", text.rstrip(), "```", ""]
    return "\n".join(lines)


def _helps(command: Any, name: str, parent: Any) -> Iterator[tuple[str, str]]:
    settings = dict(command.context_settings or {}) if parent is None else {}
    ctx = command.context_class(command, info_name=name.rpartition(" ")[2], parent=parent,
                                terminal_width=HELP_WIDTH, max_content_width=HELP_WIDTH, **settings)
    yield name, command.get_help(ctx)
    if hasattr(command, "list_commands"):
        for sub in command.list_commands(ctx):
            child = command.get_command(ctx, sub)
            if child is not None and not child.hidden:
                yield from _helps(child, f"{name} {sub}", ctx)


def decision_records(folder: Path) -> list[tuple[str, str]]:
    """(file name, title) of every decision record in ``folder``, by file name; the title is its first heading."""
    records = []
    for path in sorted(folder.glob("*.md")):
        if path.name == "index.md":
            continue
        heading = next((line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("# ")),
                       f"# {path.stem}")
        records.append((path.name, heading[2:].strip()))
    return records


def decisions_index(folder: Path) -> str:
    """docs/decisions/index.md: one line per record."""
    lines = [
        "# Design decisions",
        "",
        f"<!-- generated by `{REGENERATE}` from the records in this folder: do not edit by hand -->",
        "",
        "Why hotspotctl is built the way it is: one short record per decision (context, decision, "
        "consequences). A new one is a file `docs/decisions/<slug>.md` with those three sections; "
        f"`{REGENERATE}` adds it to this list, and the site's menu finds it by itself.",
        "",
    ]
    lines += [f"- [{title}]({name})" for name, title in decision_records(folder)]
    return "\n".join(lines) + "\n"


def on_config(config: Any, **_: Any) -> Any:
    """mkdocs hook: the nav entry ``decisions/`` becomes the index and every record in the folder."""
    folder = Path(config["docs_dir"]) / "decisions"

    def expand(items: Any) -> Any:
        if isinstance(items, list):
            return [expand(item) for item in items]
        if isinstance(items, dict):
            return {key: expand(value) for key, value in items.items()}
        if items == "decisions/":
            return ["decisions/index.md"] + [f"decisions/{name}" for name, _ in decision_records(folder)]
        return items

    config["nav"] = expand(config["nav"])
    return config


def generated(root: Path) -> dict[Path, str]:
    """Each generated file under ``root`` and the text it should hold."""
    # The CLI app is read here only, when the pages are made: hotspotctl.cli imports this module (config init).
    import importlib

    import typer

    app = importlib.import_module("hotspotctl.cli").app
    return {root / CONFIGURATION_PAGE: configuration_reference(),
            root / CLI_PAGE: cli_reference(typer.main.get_command(app)),
            root / EXAMPLE_CONFIG: example_config(),
            root / DECISIONS / "index.md": decisions_index(root / DECISIONS)}


def main(argv: list[str] | None = None) -> int:
    """Write the generated documents (or, with --check, list the stale ones and exit 1)."""
    args = sys.argv[1:] if argv is None else argv
    root = Path(__file__).resolve().parent.parent
    stale = []
    for path, text in generated(root).items():
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == text:
            continue
        stale.append(path)
        if "--check" not in args:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    verb = "stale" if "--check" in args else "written"
    for path in stale:
        print(f"{verb}: {path.relative_to(root)}")
    if "--check" in args and stale:
        print(f"run `{REGENERATE}` to regenerate them")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
