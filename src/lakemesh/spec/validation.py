"""Turning pydantic validation errors into Problems with field paths and "did you mean" hints."""

from __future__ import annotations

import types
import typing
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from lakemesh.spec.problems import Problem, did_you_mean, format_path

M = TypeVar("M", bound=BaseModel)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The BaseModel classes reachable through Optional/Union/list/dict/Annotated wrappers."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType, list, dict, tuple, typing.Annotated):
        found: list[type[BaseModel]] = []
        for arg in get_args(annotation):
            found.extend(_models_in(arg))
        return found
    return []


def _field_for(model: type[BaseModel], key: str) -> Any | None:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info.annotation
    return None


def _walk(root: type[BaseModel], loc: tuple[int | str, ...]) -> tuple[type[BaseModel] | None, list[int | str]]:
    """The model class holding the last element of `loc`, and `loc` without discriminator tags."""
    current: list[type[BaseModel]] = [root]
    shown: list[int | str] = []
    for part in loc[:-1]:
        if isinstance(part, int):
            shown.append(part)
            continue
        nxt: list[type[BaseModel]] = []
        for model in current:
            ann = _field_for(model, part)
            if ann is not None:
                nxt.extend(_models_in(ann))
        if nxt:
            shown.append(part)
        else:
            # a discriminated union puts the tag in loc: keep the member whose tag matches
            nxt = [m for m in current if part in _literal_tags(m)]
            if not nxt:
                return None, [*shown, *loc[len(shown) :]]
        current = nxt
    return (current[0] if current else None), [*shown, *loc[-1:]]


def _literal_tags(model: type[BaseModel]) -> set[str]:
    """The tags a union member answers to: its `type` (sources) or `kind` (policies) literals."""
    tags: set[str] = set()
    for key in ("type", "kind"):
        ann = _field_for(model, key)
        tags.update(str(a) for a in get_args(ann) if isinstance(a, str))
    return tags


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def problems_from_validation(exc: ValidationError, model: type[BaseModel], file: str) -> list[Problem]:
    """One Problem per pydantic error, unknown keys with the closest valid key."""
    problems = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not isinstance(p, str) or not p.startswith("function-"))
        holder, shown = _walk(model, loc) if loc else (None, [])
        path = format_path(shown)
        if err["type"] == "extra_forbidden":
            hint = did_you_mean(str(loc[-1]), _keys_of(holder)) if holder else ""
            problems.append(Problem(file, path, f"unknown key '{loc[-1]}'{hint}"))
        elif err["type"] == "missing":
            problems.append(Problem(file, path, "required field is missing"))
        else:
            given = err.get("input")
            got = f" (got {given!r})" if not isinstance(given, dict | list) else ""
            message = err["msg"].removeprefix("Value error, ")
            problems.append(Problem(file, path, f"{message}{got}"))
    return problems


def validate_model(model: type[M], data: Any, file: str) -> tuple[M | None, list[Problem]]:
    """Validate `data` into `model`; on failure return the problems instead."""
    if not isinstance(data, dict):
        kind = "empty" if data is None else type(data).__name__
        return None, [Problem(file, "", f"expected a mapping of keys to values, got {kind}")]
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, problems_from_validation(exc, model, file)
