"""A dashboard JSON checked against Grafana's published types, offline: grafana-foundation-sdk's models.

The SDK (PyPI ``grafana-foundation-sdk``, Apache-2.0, by Grafana Labs) is generated from the same CUE kinds as
Grafana's published dashboard JSON schemas. Its wheel holds no schema files, but one Python class per schema
definition, which says all the schema does that we check:

- the keys of an object: ``to_json()`` writes each attribute under its JSON key. Called on a bare instance whose
  every attribute holds a distinct marker, it gives the key -> attribute map (``model_keys``, which cross-checks
  it with the keys ``from_json`` reads). A key it writes even when the attribute is None is required by the
  schema; as Grafana fills in a missing key with its default, only a required key without one (the generated
  constructor's default is then an empty string: a layer's ``name``, a panel's ``type``) must be present; and
  a required key whose annotation is Optional may be null (a threshold's base step);
- the type of each value: the attribute's annotation (``int``, ``float``, ``str``, ``bool``, ``Optional``,
  ``list[...]``, ``dict[...]``, ``Union``, ``Literal``, ``enum.StrEnum``/``IntEnum`` whose values must be
  members, a nested model class);
- which model a panel's ``options`` and ``fieldConfig.defaults.custom`` (and each ``custom.*`` override) follow:
  the panel kind the SDK registers for the panel's ``type`` (``variant_config()`` of each panel module).

Every model object is closed: a key the model does not know is reported (Grafana keeps it, and ignores it: in a
shipped dashboard it is a typo or an option of another Grafana version). What the models leave open stays open:
an ``object``/``Any`` value (a geomap layer's ``config``, a transformation's ``options``), and a panel's
``targets``, whose InfluxDB query model the SDK does not publish.

Where the published types are stricter than Grafana, a correction in CORRECTIONS says so and why; each must
still apply to the model it corrects, and be needed by some shipped dashboard (tests/grafana/test_schema.py).
"""

from __future__ import annotations

import ast
import enum
import functools
import importlib
import inspect
import pkgutil
import textwrap
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grafana_foundation_sdk.models as sdk_models
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.runtime import PanelCfgConfig
from grafana_foundation_sdk.models import dashboard, geomap

ANY: Any = object  # an annotation that accepts every JSON value


@dataclass(frozen=True)
class Correction:
    """Where Grafana accepts (and saves) what the SDK's model does not."""

    model: type
    key: str  # the JSON key
    change: str  # "optional" (a required key), "int -> float", "allowed" (a key the model lacks)
    why: str
    annotation: Any = None  # for "allowed": the type of the key

    @property
    def name(self) -> str:
        return f"{self.model.__module__.rsplit('.', 1)[-1]}.{self.model.__name__}.{self.key}"


CORRECTIONS: list[Correction] = [
    Correction(geomap.MapViewConfig, "lat", "int -> float",
               "a map centre is in decimal degrees (Mexico City is 19.4, -99.14); the SDK types it as an integer"),
    Correction(geomap.MapViewConfig, "lon", "int -> float", "as lat"),
    Correction(dashboard.DashboardLink, "icon", "optional", "Grafana defaults it (external link)"),
    Correction(dashboard.DashboardLink, "tooltip", "optional", "Grafana defaults it (none)"),
    Correction(dashboard.VariableModel, "definition", "allowed",
               "Grafana saves a query variable's query text there; the SDK's model leaves the key out", str),
]


class Problems(list[str]):
    def add(self, path: str, message: str) -> None:
        self.append(f"{path or '<dashboard>'}: {message}")


# --- the models, read ---------------------------------------------------------------------------------------


class _Marker:
    def __init__(self, attribute: str) -> None:
        self.attribute = attribute


@dataclass(frozen=True)
class Field:
    key: str
    attribute: str
    annotation: Any
    required: bool  # to_json writes the key even when the attribute is None, and the model has no default for it
    nullable: bool  # to_json writes the key even when the attribute is None, which the annotation allows
    constant: Any = None  # the value the model always writes for it (a row's "type" is "row"), or None


def _is_model(cls: Any) -> bool:
    return inspect.isclass(cls) and callable(getattr(cls, "to_json", None)) and callable(getattr(cls, "from_json", None))


def from_json_keys(cls: Any) -> set[str]:
    """The JSON keys ``cls.from_json`` reads (``if "key" in data``), from its source."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls.from_json)))
    return {node.left.value for node in ast.walk(tree)
            if isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant) and isinstance(node.left.value, str)
            and isinstance(node.ops[0], ast.In) and isinstance(node.comparators[0], ast.Name)
            and node.comparators[0].id == "data"}


@functools.cache
def model_keys(cls: Any) -> dict[str, Field]:
    """JSON key -> Field for a model class, read from its to_json and annotations (checked against from_json)."""
    hints = typing.get_type_hints(cls)
    attributes = [name for name in hints if not name.startswith("_")]

    def payload(none: str | None) -> dict[str, object]:
        instance: Any = object.__new__(cls)
        for name in attributes:
            setattr(instance, name, None if name == none else _Marker(name))
        return instance.to_json()

    parameters = inspect.signature(cls.__init__).parameters
    fields: dict[str, Field] = {}
    for key, value in payload(None).items():
        if not isinstance(value, _Marker):
            raise TypeError(f"{cls.__qualname__}.to_json writes {key!r} as something other than an attribute")
        always = key in payload(value.attribute)
        annotation = hints[value.attribute]
        default = getattr(cls(), value.attribute)
        constant = None if value.attribute in parameters else default  # not set from the JSON: always this
        fields[key] = Field(key, value.attribute, annotation, required=always and default == "",
                            nullable=always and _allows_none(annotation), constant=constant)
    constants = {key for key, f in fields.items() if f.constant is not None}
    if set(fields) - constants != from_json_keys(cls):  # a constant ("type": "row") is written, never read
        raise TypeError(f"{cls.__qualname__}: to_json writes {sorted(fields)}, from_json reads {sorted(from_json_keys(cls))}")
    if {f.attribute for f in fields.values()} != set(attributes):
        raise TypeError(f"{cls.__qualname__}: attributes without a JSON key")
    return fields


def _allows_none(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in typing.get_args(annotation)


@functools.cache
def panel_kinds() -> dict[str, tuple[type, type | None]]:
    """Panel ``type`` -> (Options model, FieldConfig model or None), as the SDK registers its panel plugins."""
    kinds: dict[str, tuple[type, type | None]] = {}
    for info in pkgutil.iter_modules(sdk_models.__path__):
        module = importlib.import_module(f"{sdk_models.__name__}.{info.name}")
        config = getattr(module, "variant_config", lambda: None)()
        if not isinstance(config, PanelCfgConfig) or config.options_from_json_hook is None:
            continue
        options, field = typing.cast(Any, config.options_from_json_hook), typing.cast(Any, config.field_config_from_json_hook)
        kinds[config.identifier] = (options.__self__, field.__self__ if field is not None else None)  # the classes
    return kinds


# --- the walk -----------------------------------------------------------------------------------------------


def _corrected(cls: type, corrections: list[Correction]) -> dict[str, Field]:
    fields = dict(model_keys(cls))
    for c in corrections:
        if c.model is not cls:
            continue
        field = fields.get(c.key)
        if c.change == "allowed":
            assert field is None, f"{c.name}: the model has the key now"
            fields[c.key] = Field(c.key, c.key, c.annotation, required=False, nullable=False)
            continue
        assert field is not None, f"{c.name}: the model has no such key"
        if c.change == "optional":
            assert field.required, f"{c.name}: already optional"
            fields[c.key] = Field(field.key, field.attribute, field.annotation, required=False, nullable=field.nullable)
        elif c.change == "int -> float":
            assert field.annotation in (int, int | None), f"{c.name}: no longer an int"
            fields[c.key] = Field(field.key, field.attribute, float | None, field.required, field.nullable)
        else:  # pragma: no cover - a typo in CORRECTIONS
            raise AssertionError(c)
    return fields


@dataclass
class _Walk:
    corrections: list[Correction]
    problems: Problems

    def model(self, data: Any, cls: type, path: str, kind: str | None = None) -> None:
        if not isinstance(data, dict):
            self.problems.add(path, f"{_show(data)} is not an object ({cls.__name__})")
            return
        if cls is dashboard.Panel:
            kind = data.get("type")
        fields = _corrected(cls, self.corrections)
        for key, value in data.items():
            where = f"{path}.{key}" if path else key
            field = fields.get(key)
            if field is None:
                self.problems.add(where, f"unknown key in {cls.__name__}")
                continue
            if value is None:
                if not field.nullable:
                    self.problems.add(where, f"null where {cls.__name__} wants {_name(field.annotation)}")
                continue
            if field.constant is not None and value != field.constant:
                self.problems.add(where, f"{_show(value)} where {cls.__name__} always has {_show(str(field.constant))}")
            self.value(value, self._annotation(cls, field, data, where, kind), where, kind)
        for key, field in fields.items():
            if field.required and key not in data:
                self.problems.add(f"{path}.{key}" if path else key, f"required key missing in {cls.__name__}")

    def _annotation(self, cls: type, field: Field, data: dict[str, Any], path: str, kind: str | None) -> Any:
        """The places where the model says only `object` and the SDK picks the model at run time."""
        if cls is dashboard.Panel and field.key == "options":
            return self._kind(kind, path)[0]
        if cls is dashboard.FieldConfig and field.key == "custom" and kind is not None:
            custom = self._kind(kind, path)[1]
            if custom is None:
                self.problems.add(path, f"panel type {kind!r} has no custom field config")
                return ANY
            return custom
        if cls is dashboard.DynamicConfigValue and field.key == "value" and kind is not None:
            return self._override(str(data.get("id", "")), kind, path)
        return field.annotation

    def _kind(self, kind: str | None, path: str) -> tuple[Any, Any]:
        if kind not in panel_kinds():
            self.problems.add(path, f"the SDK publishes no model for panel type {kind!r}")
            return ANY, ANY
        return panel_kinds()[str(kind)]

    def _override(self, property_id: str, kind: str, path: str) -> Any:
        """An override property sets one field-config key: custom.* of the panel kind, or of the dashboard's."""
        if property_id.startswith("custom."):
            model, key = self._kind(kind, path)[1], property_id.removeprefix("custom.")
        else:
            model, key = dashboard.FieldConfig, property_id
        if model is ANY:
            return ANY
        if model is None:
            self.problems.add(path, f"panel type {kind!r} has no custom field config for {property_id!r}")
            return ANY
        field = _corrected(model, self.corrections).get(key)
        if field is None:
            self.problems.add(path, f"override of {property_id!r}, a key {model.__name__} does not have")
            return ANY
        return field.annotation

    def value(self, value: Any, annotation: Any, path: str, kind: str | None) -> None:
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if annotation is ANY or annotation is Any:
            return
        if origin in (typing.Union, types.UnionType):
            self._union(value, [a for a in args if a is not type(None)], path, kind)
        elif origin is typing.Literal:
            if not any(value == a and type(value) is type(a) for a in args):
                self.problems.add(path, f"{_show(value)} is not one of {list(args)}")
        elif origin is list:
            if not isinstance(value, list):
                self.problems.add(path, f"{_show(value)} is not a list")
                return
            for i, item in enumerate(value):
                self.value(item, args[0] if args else ANY, f"{path}[{i}]", kind)
        elif origin is dict:
            if not isinstance(value, dict):
                self.problems.add(path, f"{_show(value)} is not an object")
                return
            for key, item in value.items():
                self.value(item, args[1] if args else ANY, f"{path}.{key}", kind)
        elif inspect.isclass(annotation) and issubclass(annotation, enum.Enum):
            members = [m.value for m in annotation]
            if not any(value == m and type(value) is type(m) for m in members):
                self.problems.add(path, f"{_show(value)} is not one of {members} ({annotation.__name__})")
        elif annotation is cogvariants.Dataquery:
            if not isinstance(value, dict):  # the SDK has no InfluxDB query model: its keys stay open
                self.problems.add(path, f"{_show(value)} is not an object (a query)")
        elif _is_model(annotation):
            self.model(value, annotation, path, kind)
        elif annotation in (int, float, str, bool):
            if not _scalar_ok(value, annotation):
                self.problems.add(path, f"{_show(value)} is not {_name(annotation)}")
        else:  # pragma: no cover - a kind of annotation the walk does not know yet
            raise TypeError(f"{path}: cannot check against {annotation!r}")

    def _union(self, value: Any, options: list[Any], path: str, kind: str | None) -> None:
        if len(options) == 1:
            self.value(value, options[0], path, kind)
            return
        if isinstance(value, dict) and all(_is_model(o) for o in options):
            # a panel or a row: by its "type", as the SDK's from_json picks (a row is the type "row")
            typed = {model_keys(o)["type"].constant: o for o in options if "type" in model_keys(o)}
            typed.pop(None, None)
            if typed:
                untyped = [o for o in options if o not in typed.values()]
                chosen = typed.get(value.get("type")) or (untyped[0] if len(untyped) == 1 else None)
                if chosen is not None:
                    self.value(value, chosen, path, kind)
                    return
                if not untyped:
                    self.problems.add(f"{path}.type", f"{_show(value.get('type'))} is not one of {sorted(map(str, typed))}")
                    return
        attempts: list[Problems] = []
        for option in options:
            attempt = _Walk(self.corrections, Problems())
            attempt.value(value, option, path, kind)
            if not attempt.problems:
                return
            attempts.append(attempt.problems)
        if all(not (_is_model(o) and isinstance(value, dict)) for o in options):
            self.problems.add(path, f"{_show(value)} is none of {[_name(o) for o in options]}")
        else:  # a union of models without a "type" to tell them apart: the problems of the nearest one
            self.problems.extend(sorted(attempts, key=lambda found: len(found))[0])


def _scalar_ok(value: Any, annotation: type) -> bool:
    if isinstance(value, bool):
        return annotation is bool
    if annotation is float:
        return isinstance(value, int | float)
    return isinstance(value, annotation)


def _name(annotation: Any) -> str:
    if typing.get_origin(annotation) is not None:
        return str(annotation).replace("typing.", "")
    return getattr(annotation, "__name__", None) or str(annotation)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def problems(document: dict[str, Any], corrections: list[Correction] | None = None) -> Problems:
    """Every place where a dashboard JSON breaks the SDK's (corrected) models, as 'path: message'."""
    walk = _Walk(CORRECTIONS if corrections is None else corrections, Problems())
    walk.model(document, dashboard.Dashboard, "")
    return walk.problems


def panels(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in document.get("panels") or []:
        yield panel
        yield from panel.get("panels") or []  # a row's panels

