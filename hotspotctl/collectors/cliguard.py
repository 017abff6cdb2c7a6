"""The read-only guard of `ap ssh`: a command is parsed the way the device parses it, and runs without
asking only when every part of it is on the profile's allow-list (``ssh.read_only``).

A pattern searched in free text cannot be that guard (`/user set admin password=" print "` contains
` print `; `print fi=x` is `print file=x` to RouterOS). So each dialect has a parser:

* ``routeros``: MikroTik's console. A menu path (``/ip address``, ``ip/address``, ``..``), a verb and
  its arguments (``name=value``, ``"..."`` with backslash escapes); menu words, verbs and argument
  names may be abbreviated to any unambiguous prefix, so each word is resolved against the allowed
  words *and* the denied ones (``fi=`` is ``file=``). ``;``, ``[ ]``, ``( )``, ``{ }``, ``$``, ``:``
  commands and ``?`` (the console's help key) are refused wherever they are.
* ``shell``: POSIX shell words (BusyBox ash, bash), with shell quoting. Any unquoted operator,
  redirection, substitution, expansion (``$``, backquote, glob, ``~``, braces, history ``!``) is
  refused; the command name must be listed, with only its listed options and operands.
* ``ios``: Cisco IOS exec commands, words abbreviated as IOS allows (``sh ver``), only listed ``show``
  subcommands, and only the listed ``| include/exclude/begin/section/count REGEX`` output filters.

Every dialect refuses a line that is not printable ASCII (NUL, CR, LF, tab, look-alike Unicode
characters) or longer than ``MAX_COMMAND_CHARS``. Anything the parser is unsure of is refused, with
the reason. Which menus, verbs, commands, options and filters are read-only is vendor knowledge and
lives in the profiles' YAML; the loader here is strict like the rest of profiles.py.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from hotspotctl.yamlfile import StrictReader

MAX_COMMAND_CHARS = 1024
DIALECTS = ("routeros", "shell", "ios")
# netmiko device types whose command line each dialect parses; others name their dialect in the profile.
DIALECT_OF_DEVICE_TYPE = {"mikrotik_routeros": "routeros", "linux": "shell", "cisco_ios": "ios", "cisco_xe": "ios"}


class Refused(Exception):
    """Why a command is not read-only (or cannot be parsed for sure)."""


class ReadOnlyRules(Protocol):
    @property
    def dialect(self) -> str:
        """routeros, shell or ios: how a command line is parsed (a frozen field in each implementation)."""

    def refusal(self, command: str) -> str | None:
        """None when ``command`` is read-only, else why not."""

    def describe(self) -> dict[str, Any]:
        """The rules as plain data, for `profiles show`."""


def _show(text: str) -> str:
    return f"`{text}`"


def _text_problem(command: str) -> str | None:
    if len(command) > MAX_COMMAND_CHARS:
        return f"it is {len(command):,} characters long (at most {MAX_COMMAND_CHARS:,})"
    for char in command:
        if " " <= char <= "~":
            continue
        names = {"\x00": "a NUL", "\r": "a carriage return", "\n": "a line break", "\t": "a tab"}
        what = names.get(char) or (f"the control character U+{ord(char):04X}" if ord(char) < 0x20 or ord(char) == 0x7f
                                   else f"the character U+{ord(char):04X} ({char!r})")
        return f"it has {what}: only printable ASCII is read the same way here and on the device"
    if not command.strip():
        return "it is empty"
    return None


def _expand(word: str, names: Collection[str]) -> list[str]:
    """The names ``word`` stands for: itself when it is one, else every name it is an abbreviation of."""
    if word in names:
        return [word]
    return sorted(n for n in names if n.startswith(word))


def _resolve(word: str, allowed: Collection[str], denied: Collection[str], what: str) -> str:
    """The allowed name ``word`` abbreviates, or Refused (denied, ambiguous, unknown)."""
    found = _expand(word, set(allowed) | set(denied))
    if len(found) > 1:
        raise Refused(f"{_show(word)} could be {', '.join(map(_show, found))}")
    if not found:
        known = ", ".join(sorted(allowed)) or "none"
        raise Refused(f"{_show(word)} is not a {what} allowed here (allowed: {known})")
    name = found[0]
    if name in denied:
        means = "" if name == word else f" (short for {_show(name)})"
        raise Refused(f"{_show(word)}{means} is not read-only")
    return name


@dataclass(frozen=True, slots=True)
class Operands:
    """Positional words: each must match ``match`` (the whole word); between ``min`` and ``max`` of them."""

    match: re.Pattern[str] | None = None
    min: int = 0
    max: int = 0

    def check(self, words: Sequence[str], where: str) -> None:
        for word in words:
            if self.match is None or not self.match.fullmatch(word):
                if self.max == 0:
                    raise Refused(f"{where} takes no operand here, got {_show(word)}")
                pattern = self.match.pattern if self.match else ""
                hint = f"'{pattern}'" if len(pattern) <= 60 else "ssh.read_only in `hotspotctl profiles show`"
                raise Refused(f"{_show(word)} is not an operand {where} allows (see {hint})")
        if len(words) > self.max:
            raise Refused(f"{where} takes at most {self.max} operand(s), got {len(words)}")
        if len(words) < self.min:
            raise Refused(f"{where} needs {self.min} operand(s), got {len(words)}")

    def describe(self) -> dict[str, Any] | None:
        if self.max == 0:
            return None
        return {"match": self.match.pattern if self.match else None, "min": self.min, "max": self.max}


# -- RouterOS -------------------------------------------------------------------------------------------------------

# Outside a quoted value these make one line more than one command, or evaluate something.
_ROS_SPECIAL = {
    ";": "`;` ends the command and starts another",
    "[": "`[ ]` runs a command inside this one", "]": "`[ ]` runs a command inside this one",
    "(": "`( )` evaluates an expression", ")": "`( )` evaluates an expression",
    "{": "`{ }` is a block of commands", "}": "`{ }` is a block of commands",
    "$": "`$` substitutes a variable or a command",
    "\\": "a backslash outside a quoted value escapes or continues the line",
    "#": "`#` starts a comment", "?": "`?` is the console's help key",
    "'": "RouterOS does not quote with `'`", "`": "`` ` `` is not RouterOS syntax",
    "&": "`&` is an operator", "|": "`|` is an operator",
}
_ROS_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "$": "$", "?": "?", "_": " ",
                "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
_ROS_HEX = re.compile(r"[0-9A-F]{2}")
_ROS_OPERATORS = ("!=", "<=", ">=", "=", "~", "<", ">")
_ROS_PROPERTY = re.compile(r"[a-z][a-z0-9.-]*")
_ROS_PLAIN_VALUE = re.compile(r"[\w.:/*,@%+-]*")


@dataclass(frozen=True, slots=True)
class _RosWord:
    """One word of a console line: ``plain`` as typed up to a quote, and the decoded quoted value if any."""

    plain: str
    quoted: str | None = None

    @property
    def bare(self) -> bool:
        return self.quoted is None and "=" not in self.plain

    @property
    def text(self) -> str:
        return self.plain + (self.quoted if self.quoted is not None else "")


def _ros_string(command: str, start: int) -> tuple[str, int]:
    """The decoded value of the quoted string opening at ``start``, and the index after its closing quote."""
    out: list[str] = []
    i = start + 1
    while i < len(command):
        char = command[i]
        if char == '"':
            return "".join(out), i + 1
        if char == "\\":
            pair = command[i + 1:i + 3]
            if pair[:1] in _ROS_ESCAPES:
                out.append(_ROS_ESCAPES[pair[:1]])
                i += 2
            elif _ROS_HEX.fullmatch(pair):
                out.append(chr(int(pair, 16)))
                i += 3
            else:
                raise Refused(f"{_show(chr(92) + pair[:1])} is not an escape RouterOS knows in a quoted value")
            continue
        if char == "$":
            raise Refused("`$` in a quoted value substitutes a variable or a command (`\\$` is a dollar sign)")
        if char == "?":
            raise Refused("`?` in a quoted value is the console's help key (`\\?` is a question mark)")
        out.append(char)
        i += 1
    raise Refused('a quote (") is left open')


def _routeros_words(command: str) -> list[_RosWord]:
    words: list[_RosWord] = []
    i, n = 0, len(command)
    while i < n:
        if command[i] == " ":
            i += 1
            continue
        plain: list[str] = []
        while i < n and command[i] not in ' "':
            char = command[i]
            if char in _ROS_SPECIAL:
                raise Refused(_ROS_SPECIAL[char])
            plain.append(char)
            i += 1
        text = "".join(plain)
        quoted = None
        if i < n and command[i] == '"':
            if text and not text.endswith(("=", "~", "<", ">")):
                raise Refused(f"a quote in the middle of {_show(text)}")
            quoted, i = _ros_string(command, i)
            if i < n and command[i] != " ":
                raise Refused("text right after a closing quote")
        words.append(_RosWord(text, quoted))
    return words


@dataclass(frozen=True)
class RouterOsVerb:
    """A read-only verb: where it may run, and its arguments.

    ``flags`` take no value, ``options`` take ``name=value`` (the value must match), ``deny`` are its
    arguments that write or never end (refused, and counted when an abbreviation is resolved)."""

    name: str
    menus: frozenset[tuple[str, ...]] | None = None  # None: every menu of the rules
    flags: frozenset[str] = frozenset()
    options: Mapping[str, re.Pattern[str]] = field(default_factory=dict)
    deny: frozenset[str] = frozenset()
    operands: Operands = Operands()
    where: bool = False
    require: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.menus is not None:
            data["menus"] = sorted(_menu_text(m) for m in self.menus)
        data.update(flags=sorted(self.flags), options={k: p.pattern for k, p in sorted(self.options.items())},
                    operands=self.operands.describe(), where=self.where, require=list(self.require),
                    deny=sorted(self.deny))
        return data


def _menu_text(path: tuple[str, ...]) -> str:
    return "/" + " ".join(path)


@dataclass(frozen=True)
class RouterOsRules:
    menus: frozenset[tuple[str, ...]]
    verbs: Mapping[str, RouterOsVerb]
    deny: frozenset[str]  # commands that change things: refused, and counted when an abbreviation is resolved
    dialect: str = "routeros"

    def describe(self) -> dict[str, Any]:
        return {"dialect": self.dialect, "menus": sorted(_menu_text(m) for m in self.menus),
                "verbs": {name: verb.describe() for name, verb in sorted(self.verbs.items())},
                "deny": sorted(self.deny)}

    def _verbs_at(self, path: tuple[str, ...]) -> dict[str, RouterOsVerb]:
        return {name: verb for name, verb in self.verbs.items()
                if path in (verb.menus if verb.menus is not None else self.menus)}

    def _children(self, path: tuple[str, ...]) -> set[str]:
        every = set(self.menus).union(*(v.menus for v in self.verbs.values() if v.menus is not None))
        return {m[len(path)] for m in every if len(m) > len(path) and m[:len(path)] == path}

    def refusal(self, command: str) -> str | None:
        problem = _text_problem(command)
        if problem:
            return problem
        try:
            self._check(_routeros_words(command))
        except Refused as why:
            return str(why)
        return None

    def _check(self, words: list[_RosWord]) -> None:
        if words[0].plain.startswith(":"):
            raise Refused(f"{_show(words[0].text)} is a scripting command (`:`), not a read-only one")
        path: tuple[str, ...] = ()
        verb: RouterOsVerb | None = None
        index = 0
        while verb is None:
            if index == len(words) or not words[index].bare:
                read_only = ", ".join(sorted(self._verbs_at(path))) or "none here"
                raise Refused(f"no command after the menu {_menu_text(path)} (read-only ones: {read_only})")
            text = words[index].plain
            index += 1
            parts = text.split("/")
            for position, part in enumerate(parts):
                if part == "":
                    if position == 0:
                        path = ()  # a leading slash: from the root menu
                        continue
                    raise Refused(f"an empty menu name in {_show(text)}")
                if verb is not None:
                    raise Refused(f"{_show(part)} after the command {_show(verb.name)} in {_show(text)}")
                if part == "..":
                    if not path:
                        raise Refused("`..` above the root menu")
                    path = path[:-1]
                    continue
                verbs = self._verbs_at(path)
                name = _resolve(part, self._children(path) | set(verbs), self.deny - set(verbs),
                                f"menu or read-only command in {_menu_text(path)}")
                if name in verbs:
                    verb = verbs[name]
                else:
                    path = (*path, name)
        self._arguments(verb, words[index:], _menu_text((*path, verb.name)))

    def _arguments(self, verb: RouterOsVerb, words: list[_RosWord], where: str) -> None:
        names = set(verb.flags) | set(verb.options) | ({"where"} if verb.where else set())
        seen: set[str] = set()
        operands: list[str] = []
        for position, word in enumerate(words):
            if word.bare:
                found = _expand(word.plain, names | verb.deny)
                if not found:
                    if seen:
                        raise Refused(f"{_show(word.plain)} after named arguments: an operand comes right after "
                                      f"the command, and it is not an argument of {where}")
                    operands.append(word.plain)
                    continue
                name = _resolve(word.plain, names, verb.deny, f"argument of {where}")
                if name == "where":
                    self._where(verb, words[position + 1:])
                    seen.add(name)
                    break
                if name in verb.options:
                    raise Refused(f"give {name}=VALUE (the value of {_show(word.plain)} must follow its `=`)")
                seen.add(name)
                continue
            if word.quoted is not None and not word.plain:
                if seen:
                    raise Refused(f"a quoted operand after named arguments in {where}")
                operands.append(word.quoted)
                continue
            key, _, value = word.plain.partition("=")
            if word.quoted is not None:
                if value:
                    raise Refused(f"a quote in the middle of {_show(word.plain)}")
                value = word.quoted
            if not key:
                raise Refused(f"{_show(word.text)} has no argument name before `=`")
            name = _resolve(key, names - {"where"}, verb.deny, f"argument of {where}")
            if name in verb.flags:
                raise Refused(f"{_show(name)} takes no value")
            if not verb.options[name].fullmatch(value):
                raise Refused(f"{name}={_show(value)}: the value must match '{verb.options[name].pattern}'")
            seen.add(name)
        verb.operands.check(operands, where)
        missing = [r for r in verb.require if r not in seen]
        if missing:
            raise Refused(f"{where} needs {', '.join(missing)} here")

    def _where(self, verb: RouterOsVerb, words: list[_RosWord]) -> None:
        """``where`` conditions: ``[!]property[OP value]`` joined by and/or, ``not`` before one."""
        expect = True
        for word in words:
            if not expect:
                if word.bare and word.plain in ("and", "or"):
                    expect = True
                    continue
                raise Refused(f"{_show(word.text)} in a where condition: join conditions with and / or")
            if word.bare and word.plain in ("not", "!"):
                continue
            plain = word.plain.removeprefix("!")
            op = next((o for o in _ROS_OPERATORS if o in plain), None)
            prop, value = (plain.split(op, 1) if op else (plain, None))
            if word.quoted is not None:
                if op is None or value:
                    raise Refused(f"a quote in the middle of {_show(word.plain)}")
                value = word.quoted
            elif value is not None and not _ROS_PLAIN_VALUE.fullmatch(value):
                raise Refused(f"{_show(value)} in a where condition: quote a value with other characters")
            if not _ROS_PROPERTY.fullmatch(prop):
                raise Refused(f"{_show(word.text)} is not a condition `ap ssh` can read (property, operator, value)")
            denied = _expand(prop, verb.deny)
            if denied:
                raise Refused(f"{_show(prop)} in a where condition could be read as the argument {denied[0]}=")
            expect = False
        if expect:
            raise Refused("`where` needs a condition")


# -- shells -----------------------------------------------------------------------------------------------------

_SHELL_SPECIAL = {
    ";": "`;` ends the command and starts another", "&": "`&` runs commands in the background or chains them",
    "|": "`|` pipes into another command", "<": "`<` redirects input", ">": "`>` redirects output to a file",
    "(": "`( )` runs a subshell", ")": "`( )` runs a subshell", "$": "`$` expands a variable or a command",
    "`": "`` ` `` runs a command inside this one", "{": "`{ }` expands or groups", "}": "`{ }` expands or groups",
    "*": "`*` expands to file names", "?": "`?` expands to file names", "[": "`[ ]` expands to file names",
    "]": "`[ ]` expands to file names", "~": "`~` expands to a home folder", "#": "`#` starts a comment",
    "!": "`!` expands the shell's history",
}


def shell_words(command: str) -> list[str]:
    """The words a POSIX shell makes of ``command``, or Refused when it would do more than split and unquote."""
    words: list[str] = []
    current: list[str] = []
    in_word = False
    i, n = 0, len(command)
    while i < n:
        char = command[i]
        if char == " ":
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
            i += 1
            continue
        in_word = True
        if char == "'":
            end = command.find("'", i + 1)
            if end < 0:
                raise Refused("a quote (') is left open")
            current.append(command[i + 1:end])
            i = end + 1
        elif char == '"':
            i += 1
            while True:
                if i >= n:
                    raise Refused('a quote (") is left open')
                inner = command[i]
                if inner == '"':
                    i += 1
                    break
                if inner == "\\" and i + 1 < n and command[i + 1] in '$`"\\':
                    current.append(command[i + 1])
                    i += 2
                    continue
                if inner in "$`!":
                    raise Refused(f"{_SHELL_SPECIAL[inner]}, also inside double quotes")
                current.append(inner)
                i += 1
        elif char == "\\":
            if i + 1 >= n:
                raise Refused("a backslash at the end continues the command on another line")
            current.append(command[i + 1])
            i += 2
        elif char in _SHELL_SPECIAL:
            raise Refused(_SHELL_SPECIAL[char] + " (quote it if it is meant literally)")
        else:
            current.append(char)
            i += 1
    if in_word:
        words.append("".join(current))
    return words


@dataclass(frozen=True)
class ShellCommand:
    """A command (or subcommand) and what may follow it.

    ``flags`` are option words without a value, ``options`` take one (``-n 5``, ``-n5``, ``--lines=5``)
    that must match; with ``cluster``, single-letter options combine (``-rT``). ``words`` are
    subcommands (a pattern for the whole word, then what may follow it); other words are operands."""

    flags: frozenset[str] = frozenset()
    options: Mapping[str, re.Pattern[str]] = field(default_factory=dict)
    operands: Operands = Operands()
    words: tuple[tuple[re.Pattern[str], ShellCommand], ...] = ()
    require: tuple[str, ...] = ()
    cluster: bool = True

    def describe(self) -> dict[str, Any]:
        data: dict[str, Any] = {"flags": sorted(self.flags)}  # always: a command with nothing else shows too
        if self.options:
            data["options"] = {k: p.pattern for k, p in sorted(self.options.items())}
        if self.operands.max:
            data["operands"] = self.operands.describe()
        if self.words:
            data["words"] = {p.pattern: sub.describe() for p, sub in self.words}
        if self.require:
            data["require"] = list(self.require)
        if not self.cluster:
            data["cluster"] = False
        return data

    def subcommand(self, word: str) -> ShellCommand | None:
        return next((sub for pattern, sub in self.words if pattern.fullmatch(word)), None)

    def option(self, words: list[str], index: int, seen: set[str], where: str) -> int:
        """Check the option at ``words[index]``; the index after it (and its value)."""
        word = words[index]
        if word.startswith("--") and "=" in word:
            name, _, value = word.partition("=")
            self._value(name, value, where)
            seen.add(name)
            return index + 1
        if word in self.flags:
            seen.add(word)
            return index + 1
        if word in self.options:
            if index + 1 >= len(words):
                raise Refused(f"{word} needs a value")
            self._value(word, words[index + 1], where)
            seen.add(word)
            return index + 2
        if self.cluster and not word.startswith("--") and len(word) > 2:
            for position, letter in enumerate(word[1:], start=1):
                name = "-" + letter
                if name in self.flags:
                    seen.add(name)
                    continue
                if name in self.options:
                    value = word[position + 1:]
                    seen.add(name)
                    if value:
                        self._value(name, value, where)
                        return index + 1
                    if index + 1 >= len(words):
                        raise Refused(f"{name} needs a value")
                    self._value(name, words[index + 1], where)
                    return index + 2
                break
            else:
                return index + 1
        allowed = ", ".join(sorted(set(self.flags) | set(self.options))) or "none"
        raise Refused(f"{_show(word)} is not an option {where} allows here (allowed: {allowed})")

    def _value(self, name: str, value: str, where: str) -> None:
        pattern = self.options.get(name)
        if pattern is None:
            raise Refused(f"{_show(name)} is not an option {where} allows here")
        if not pattern.fullmatch(value):
            raise Refused(f"{name} {_show(value)}: the value must match '{pattern.pattern}'")


@dataclass(frozen=True)
class ShellRules:
    commands: Mapping[str, ShellCommand]
    dialect: str = "shell"

    def describe(self) -> dict[str, Any]:
        return {"dialect": self.dialect,
                "commands": {name: spec.describe() for name, spec in sorted(self.commands.items())}}

    def refusal(self, command: str) -> str | None:
        problem = _text_problem(command)
        if problem:
            return problem
        try:
            self._check(shell_words(command))
        except Refused as why:
            return str(why)
        return None

    def _check(self, words: list[str]) -> None:
        if not words:
            raise Refused("it has no command")
        name = words[0]
        node = self.commands.get(name)
        if node is None:
            raise Refused(f"{_show(name)} is not a command `ap ssh` runs here (it runs: "
                          f"{', '.join(sorted(self.commands))})")
        where = name
        seen: set[str] = set()
        operands: list[str] = []
        options_end = False
        index = 1
        while index < len(words):
            word = words[index]
            if not options_end and word == "--":
                options_end = True
                index += 1
                continue
            if not options_end and word.startswith("-") and word != "-":
                index = node.option(words, index, seen, _show(where))
                continue
            sub = node.subcommand(word) if not operands else None
            if sub is not None:
                self._finish(node, operands, seen, where)
                node, where, seen = sub, f"{where} {word}", set()
            else:
                operands.append(word)
            index += 1
        self._finish(node, operands, seen, where)

    @staticmethod
    def _finish(node: ShellCommand, operands: list[str], seen: set[str], where: str) -> None:
        node.operands.check(operands, _show(where))
        missing = [r for r in node.require if r not in seen]
        if missing:
            raise Refused(f"{_show(where)} needs {', '.join(missing)} here")


# -- Cisco IOS --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IosCommand:
    """An exec command: the subcommands it allows (abbreviated as IOS allows), its operands, its filters."""

    subcommands: frozenset[str] = frozenset()
    operands: Operands = Operands()
    filters: frozenset[str] = frozenset()

    def describe(self) -> dict[str, Any]:
        return {"subcommands": sorted(self.subcommands), "operands": self.operands.describe(),
                "filters": sorted(self.filters)}


_IOS_SPECIAL = {"?": "`?` is IOS's help key", "<": "`<` is not read here", ">": "`>` can redirect output"}


@dataclass(frozen=True)
class IosRules:
    commands: Mapping[str, IosCommand]
    deny: frozenset[str]  # exec commands that change things: refused, and counted when an abbreviation is resolved
    deny_filters: frozenset[str]  # output filters that write (redirect, tee, append)
    dialect: str = "ios"

    def describe(self) -> dict[str, Any]:
        return {"dialect": self.dialect,
                "commands": {name: spec.describe() for name, spec in sorted(self.commands.items())},
                "deny": sorted(self.deny), "deny_filters": sorted(self.deny_filters)}

    def refusal(self, command: str) -> str | None:
        problem = _text_problem(command)
        if problem:
            return problem
        try:
            self._check(command)
        except Refused as why:
            return str(why)
        return None

    def _check(self, command: str) -> None:
        found = next((c for c in command if c in _IOS_SPECIAL), None)
        if found:
            raise Refused(_IOS_SPECIAL[found])
        main, pipe, filtered = command.partition("|")
        words = main.split()
        if not words:
            raise Refused("it has no command")
        name = _resolve(words[0].lower(), self.commands, self.deny, "command")
        spec = self.commands[name]
        rest = words[1:]
        where = name
        if spec.subcommands:
            if not rest:
                raise Refused(f"{_show(name)} needs one of: {', '.join(sorted(spec.subcommands))}")
            sub = _resolve(rest[0].lower(), spec.subcommands, (), f"{name} subcommand")
            where, rest = f"{name} {sub}", rest[1:]
        spec.operands.check(rest, _show(where))
        if pipe:
            self._filter(spec, filtered, where)

    def _filter(self, spec: IosCommand, text: str, where: str) -> None:
        if not spec.filters:
            raise Refused(f"{_show(where)} takes no `|` filter here")
        words = text.split(None, 1)
        if not words:
            raise Refused("`|` needs a filter")
        _resolve(words[0].lower(), spec.filters, self.deny_filters, "output filter")
        regex = words[1].strip() if len(words) > 1 else ""
        if not regex:
            raise Refused(f"`| {words[0]}` needs a regular expression")
        if re.search(r"\s\|", regex):
            raise Refused("a second `|` filter (only one, and never redirect, tee or append)")


# -- loading from a profile's YAML ------------------------------------------------------------------------------

_KEYS = {"routeros": ("dialect", "menus", "verbs", "deny"), "shell": ("dialect", "commands"),
         "ios": ("dialect", "commands", "deny", "deny_filters")}
_ROS_VERB = ("menus", "flags", "options", "operands", "where", "require", "deny")
_SHELL_COMMAND = ("flags", "options", "operands", "words", "require", "cluster")
_IOS_COMMAND = ("subcommands", "operands", "filters")
_ROS_WORD = re.compile(r"[a-z0-9][a-z0-9.-]*")


def load_read_only(reader: StrictReader, node: Any, key: str, device_type: str) -> ReadOnlyRules | None:
    """The ``ssh.read_only`` section of a profile; ConfigError (file and key path) for any mistake."""
    if node is None:
        return None
    if isinstance(node, list):
        raise reader.fail(key, "a list of patterns is not accepted (a pattern cannot tell what a command does): "
                               "give a mapping with the dialect and its allowed commands, see collectors/README.md")
    if not isinstance(node, dict):
        raise reader.fail(key, f"expected a mapping (dialect and the allowed commands), got {node!r}")
    dialect = node.get("dialect", DIALECT_OF_DEVICE_TYPE.get(device_type))
    if dialect is None:
        raise reader.fail(f"{key}.dialect", f"required for device type {device_type!r}: one of {', '.join(DIALECTS)} "
                                            "(how its command line is parsed)")
    if dialect not in DIALECTS:
        raise reader.fail(f"{key}.dialect", f"{dialect!r} is not one of {', '.join(DIALECTS)}")
    table = reader.table(node, key, _KEYS[dialect], f" for dialect {dialect}")
    loader = _Loader(reader, key)
    if dialect == "routeros":
        return loader.routeros(table)
    if dialect == "shell":
        return ShellRules(loader.shell_commands(table.get("commands"), f"{key}.commands"))
    return loader.ios(table)


class _Loader:
    def __init__(self, reader: StrictReader, key: str) -> None:
        self.reader = reader
        self.key = key

    def fail(self, key: str, problem: str) -> Exception:
        return self.reader.fail(key, problem)

    def listing(self, node: Any, key: str) -> list[str]:
        if node is None:
            return []
        if not isinstance(node, list):
            raise self.fail(key, f"expected a list of words, got {node!r}")
        for i, value in enumerate(node):
            if not isinstance(value, str) or not value:
                hint = f" (quote it: YAML read it as {type(value).__name__})" if value not in ("", None) else ""
                raise self.fail(f"{key}[{i}]", f"expected a word, got {value!r}{hint}")
        return list(node)

    def pattern(self, node: Any, key: str) -> re.Pattern[str]:
        if not isinstance(node, str) or not node:
            raise self.fail(key, f"expected a regular expression (matched against the whole word), got {node!r}")
        try:
            return re.compile(node)
        except re.error as exc:
            raise self.fail(key, f"not a valid regular expression: {exc}") from None

    def options(self, node: Any, key: str) -> dict[str, re.Pattern[str]]:
        if node is None:
            return {}
        if not isinstance(node, dict):
            raise self.fail(key, f"expected a mapping of option name to the pattern of its value, got {node!r}")
        return {str(name): self.pattern(value, f"{key}.{name}") for name, value in node.items()}

    def operands(self, node: Any, key: str) -> Operands:
        if node is None:
            return Operands()
        table = self.reader.table(node, key, ("match", "min", "max"))
        if "match" not in table:
            raise self.fail(f"{key}.match", "required: the pattern each operand must match")
        low, high = table.get("min", 0), table.get("max", 1)
        for name, value in (("min", low), ("max", high)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise self.fail(f"{key}.{name}", f"expected a whole number >= 0, got {value!r}")
        if high < max(low, 1):
            raise self.fail(f"{key}.max", f"must be at least 1 and at least min ({low})")
        return Operands(self.pattern(table["match"], f"{key}.match"), low, high)

    def require(self, node: Any, key: str, known: Collection[str]) -> tuple[str, ...]:
        names = self.listing(node, key)
        for i, name in enumerate(names):
            if name not in known:
                raise self.fail(f"{key}[{i}]", f"{name!r} is not one of its flags or options")
        return tuple(names)

    def mapping(self, node: Any, key: str, what: str) -> dict[str, Any]:
        if not isinstance(node, dict) or not node:
            raise self.fail(key, f"expected a mapping of {what}, got {node!r}")
        return node

    # RouterOS

    def menu(self, text: Any, key: str) -> tuple[str, ...]:
        if not isinstance(text, str) or not text.startswith("/"):
            raise self.fail(key, f"expected a menu path from the root, like '/ip address', got {text!r}")
        words = tuple(w for w in re.split(r"[ /]+", text) if w)
        for word in words:
            if not _ROS_WORD.fullmatch(word):
                raise self.fail(key, f"{word!r} is not a menu name (lower case letters, digits, '-', '.')")
        return words

    def routeros(self, table: dict[str, Any]) -> RouterOsRules:
        menus = frozenset(self.menu(m, f"{self.key}.menus[{i}]")
                          for i, m in enumerate(self.listing(table.get("menus"), f"{self.key}.menus")))
        deny = frozenset(self.listing(table.get("deny"), f"{self.key}.deny"))
        verbs_node = self.mapping(table.get("verbs"), f"{self.key}.verbs", "read-only verbs (print, ...)")
        verbs = {}
        for name, spec in verbs_node.items():
            key = f"{self.key}.verbs.{name}"
            if not _ROS_WORD.fullmatch(str(name)):
                raise self.fail(key, "not a RouterOS command name")
            if name in deny:
                raise self.fail(key, f"{name!r} is also in {self.key}.deny")
            verbs[str(name)] = self.routeros_verb(str(name), spec or {}, key)
        if not menus and any(v.menus is None for v in verbs.values()):
            raise self.fail(f"{self.key}.menus", "required: the menus the verbs may read (or give each verb its menus)")
        return RouterOsRules(menus, verbs, deny)

    def routeros_verb(self, name: str, node: Any, key: str) -> RouterOsVerb:
        table = self.reader.table(node, key, _ROS_VERB)
        menus = None
        if "menus" in table:
            menus = frozenset(self.menu(m, f"{key}.menus[{i}]")
                              for i, m in enumerate(self.listing(table["menus"], f"{key}.menus")))
        flags = frozenset(self.listing(table.get("flags"), f"{key}.flags"))
        options = self.options(table.get("options"), f"{key}.options")
        deny = frozenset(self.listing(table.get("deny"), f"{key}.deny"))
        for word in (*flags, *options, *deny):
            if not _ROS_WORD.fullmatch(word):
                raise self.fail(key, f"{word!r} is not an argument name")
        both = (flags & set(options)) | ((flags | set(options)) & deny)
        if both:
            raise self.fail(key, f"{sorted(both)[0]!r} is listed twice (flags, options, deny)")
        where = table.get("where", False)
        if not isinstance(where, bool):
            raise self.fail(f"{key}.where", f"expected true or false, got {where!r}")
        return RouterOsVerb(name, menus, flags, options, deny, self.operands(table.get("operands"), f"{key}.operands"),
                            where, self.require(table.get("require"), f"{key}.require", flags | set(options)))

    # shells

    def shell_commands(self, node: Any, key: str) -> dict[str, ShellCommand]:
        commands = {}
        for name, spec in self.mapping(node, key, "command names to what they allow").items():
            if not re.fullmatch(r"[\w.+-]+", str(name)):
                raise self.fail(f"{key}.{name}", "not a command name")
            commands[str(name)] = self.shell_command(spec or {}, f"{key}.{name}")
        return commands

    def shell_command(self, node: Any, key: str) -> ShellCommand:
        table = self.reader.table(node, key, _SHELL_COMMAND)
        flags = frozenset(self.listing(table.get("flags"), f"{key}.flags"))
        options = self.options(table.get("options"), f"{key}.options")
        for word in (*flags, *options):
            if not re.fullmatch(r"--?[\w][\w-]*", word):
                raise self.fail(key, f"{word!r} is not an option (like -n or --lines)")
        words = []
        if table.get("words") is not None:
            for pattern, sub in self.mapping(table["words"], f"{key}.words", "subcommand patterns").items():
                words.append((self.pattern(str(pattern), f"{key}.words"),
                              self.shell_command(sub or {}, f"{key}.words.{pattern}")))
        cluster = table.get("cluster", True)
        if not isinstance(cluster, bool):
            raise self.fail(f"{key}.cluster", f"expected true or false, got {cluster!r}")
        return ShellCommand(flags, options, self.operands(table.get("operands"), f"{key}.operands"), tuple(words),
                            self.require(table.get("require"), f"{key}.require", flags | set(options)), cluster)

    # IOS

    def ios(self, table: dict[str, Any]) -> IosRules:
        deny = frozenset(w.lower() for w in self.listing(table.get("deny"), f"{self.key}.deny"))
        deny_filters = frozenset(w.lower() for w in self.listing(table.get("deny_filters"),
                                                                  f"{self.key}.deny_filters"))
        commands = {}
        key = f"{self.key}.commands"
        for name, spec in self.mapping(table.get("commands"), key, "exec commands to what they allow").items():
            word = str(name).lower()
            if word in deny:
                raise self.fail(f"{key}.{name}", f"{name!r} is also in {self.key}.deny")
            entry = self.reader.table(spec or {}, f"{key}.{name}", _IOS_COMMAND)
            filters = frozenset(w.lower() for w in self.listing(entry.get("filters"), f"{key}.{name}.filters"))
            if filters & deny_filters:
                raise self.fail(f"{key}.{name}.filters", f"{sorted(filters & deny_filters)[0]!r} is also in "
                                                         f"{self.key}.deny_filters")
            commands[word] = IosCommand(
                frozenset(w.lower() for w in self.listing(entry.get("subcommands"), f"{key}.{name}.subcommands")),
                self.operands(entry.get("operands"), f"{key}.{name}.operands"), filters)
        return IosRules(commands, deny, deny_filters)
