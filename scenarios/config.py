"""Scenario files: TOML data validated against world/params.py, with `--set` overrides.

A scenario is a TOML file whose tables mirror EconomyParams ([run], [demand.chat],
[investors], ..., [[events]], [[architectures]]) plus an optional [scenario] table with a
`description`. Anything wrong becomes ONE ScenarioError naming the file, the field path,
the bad value and what is allowed, which the CLI prints without a traceback.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from hardware_models import specs
from hardware_models.errors import InputError
from world.params import EconomyParams

LIBRARY = Path(__file__).resolve().parent / "library"


class ScenarioError(InputError):
    """A scenario file or override that does not fit the schema."""


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: its name, file, resolved parameters and description."""

    name: str
    path: Path | None
    params: EconomyParams
    description: str = ""

    @property
    def months(self) -> int:
        return self.params.run.months

    @property
    def start(self) -> str:
        return self.params.run.start


def library_names() -> list[str]:
    """Names of the scenarios shipped in scenarios/library/."""
    return sorted(p.stem for p in LIBRARY.glob("*.toml"))


def _resolve(source: str | Path) -> tuple[str, Path]:
    text = str(source)
    if text.endswith(".toml") or "/" in text or Path(text).suffix:
        path = Path(text)
        if not path.is_file():
            raise ScenarioError(f"{text}: no such scenario file")
        return path.stem, path
    if text not in library_names():
        close = difflib.get_close_matches(text, library_names(), n=3, cutoff=0.4)
        hint = f"; closest: {', '.join(close)}" if close else ""
        raise ScenarioError(f"unknown scenario {text!r}{hint} (library: {', '.join(library_names())}; or give a path to a .toml file)")
    return text, LIBRARY / f"{text}.toml"


def _fields_at(loc: Sequence[Any]) -> list[str]:
    """Field names allowed at a location of the schema (for 'closest key' hints)."""
    model: Any = EconomyParams
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        f = getattr(model, "model_fields", {}).get(part)
        if f is None:
            return []
        ann = f.annotation
        model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
        if model is None:
            return []
    return list(getattr(model, "model_fields", {}))


def _message(where: str, err: ValidationError) -> str:
    errors = err.errors(include_url=False)
    first = errors[0]
    loc = [p for p in first["loc"] if not (isinstance(p, str) and p in _EVENT_KINDS)]
    path = ".".join(str(p) for p in loc)
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    if first["type"] == "extra_forbidden":
        allowed = _fields_at(loc)
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=3, cutoff=0.5)
        hint = f"; closest: {', '.join(close)}" if close else ""
        return f"{where}: unknown field {path!r}{hint} (allowed here: {', '.join(allowed)}){more}"
    return f"{where}: field {path} = {first.get('input')!r}: {first['msg']}{more}"


_EVENT_KINDS = ("export_controls", "rate_change", "architecture", "demand_shock", "subsidy")


def _set_path(data: dict, dotted: str, value: object, where: str) -> None:
    """Put one override into the raw dict, refusing keys the schema does not have."""
    parts = dotted.split(".")
    node: dict = data
    model: Any = EconomyParams
    for i, part in enumerate(parts):
        fields = getattr(model, "model_fields", None)
        if fields is None or part not in fields:
            allowed = list(fields or [])
            close = difflib.get_close_matches(part, allowed, n=3, cutoff=0.5)
            hint = f"; closest: {', '.join('.'.join(parts[:i] + [c]) for c in close)}" if close else ""
            raise ScenarioError(f"{where}: unknown parameter {dotted!r}{hint} (see `aibubble run --help` for --set)")
        if i == len(parts) - 1:
            node[part] = value
            return
        ann = fields[part].annotation
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            raise ScenarioError(f"{where}: {'.'.join(parts[: i + 1])} is a list or value, not a section; "
                                f"edit it in the scenario file")
        node = node.setdefault(part, {})
        model = ann


def _split_override(item: str) -> tuple[str, str]:
    if "=" not in item:
        raise ScenarioError(f"--set {item!r}: expected key=value, e.g. investors.trend_following=false")
    key, value = item.split("=", 1)
    return key.strip(), value.strip()


def _check_catalog_ids(params: EconomyParams, where: str) -> None:
    valid = list(specs.models())
    for i, a in enumerate(params.architectures):
        if a.model_id not in valid:
            close = difflib.get_close_matches(a.model_id, valid, n=3, cutoff=0.4)
            raise ScenarioError(f"{where}: field architectures.{i}.model_id = {a.model_id!r}: not a catalog model; "
                                f"closest: {', '.join(close)} (valid: {', '.join(valid)})")
    chip_ids = list(specs.chips())
    for i, e in enumerate(params.events):
        for c in getattr(e, "chips", ()):
            if c not in chip_ids:
                close = difflib.get_close_matches(c, chip_ids, n=3, cutoff=0.4)
                raise ScenarioError(f"{where}: field events.{i}.chips = {c!r}: not a catalog chip; "
                                    f"closest: {', '.join(close)} (valid: {', '.join(chip_ids)})")
        mid = getattr(e, "model_id", None)
        if mid is not None and mid not in valid:
            close = difflib.get_close_matches(mid, valid, n=3, cutoff=0.4)
            raise ScenarioError(f"{where}: field events.{i}.model_id = {mid!r}: not a catalog model; "
                                f"closest: {', '.join(close)} (valid: {', '.join(valid)})")


def load_scenario(source: str | Path | Scenario,
                  overrides: Sequence[str] | Mapping[str, object] = ()) -> Scenario:
    """Load a library scenario or a .toml file, apply overrides, validate everything.

    Args:
        source: a library name ("baseline"), a path to a .toml file, or a Scenario.
        overrides: "a.b=value" strings (values parsed by the field's type) or a
            {"a.b": value} mapping.
    """
    if isinstance(source, Scenario):
        name, path = source.name, source.path
        raw = source.params.model_dump(mode="json")
        description = source.description
        where = str(path) if path else name
    else:
        name, path = _resolve(source)
        where = str(path)
        try:
            with path.open("rb") as fh:
                raw = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(f"{where}: not valid TOML: {exc}") from None
        meta = raw.pop("scenario", {})
        if not isinstance(meta, dict) or set(meta) - {"description", "name"}:
            raise ScenarioError(f"{where}: [scenario] may hold only 'name' and 'description'")
        description = str(meta.get("description", ""))
        name = str(meta.get("name", name))
    try:
        params = EconomyParams.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(_message(where, exc)) from None
    items = list(overrides.items()) if isinstance(overrides, Mapping) else [_split_override(o) for o in overrides]
    if items:
        # overrides land on the fully resolved parameters, so a partial section stays whole
        resolved = params.model_dump(mode="json")
        for key, value in items:
            _set_path(resolved, key, value, f"{where} (--set {key})")
        try:
            params = EconomyParams.model_validate(resolved)
        except ValidationError as exc:
            raise ScenarioError(_message(f"{where} (--set)", exc)) from None
    _check_catalog_ids(params, where)
    return Scenario(name=name, path=path, params=params, description=description)


def parameter_paths(scenario: Scenario) -> dict[str, object]:
    """Every dotted key `--set` may name, with its current value (lists excluded)."""
    out: dict[str, object] = {}

    def walk(prefix: str, model: BaseModel) -> None:
        for key in type(model).model_fields:
            value = getattr(model, key)
            if isinstance(value, BaseModel):
                walk(f"{prefix}{key}.", value)
            elif not isinstance(value, (tuple, list)):
                out[f"{prefix}{key}"] = value

    walk("", scenario.params)
    return out
