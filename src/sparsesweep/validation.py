"""Turn pydantic validation failures into one-line, located :class:`SpecError` s."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .errors import SpecError, suggest
from .yamlio import YamlDoc

M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], doc: YamlDoc, data: Any = None, prefix: Sequence[str | int] = ()) -> M:
    """Validate ``data`` (default: the whole document) against ``model``.

    ``prefix`` is the key path of ``data`` inside ``doc``; it locates errors.
    """
    payload = doc.data if data is None else data
    try:
        validated = model.model_validate(payload)
    except ValidationError as exc:
        raise located_error(exc, doc, prefix, model) from exc
    _refuse_quoted_numbers(validated, doc, tuple(prefix))
    return validated


def _refuse_quoted_numbers(validated: BaseModel, doc: YamlDoc, prefix: tuple[str | int, ...]) -> None:
    """A quoted scalar (``smem_kib: '12'``, a string) that became a number: pydantic reads numeric strings
    as numbers, which would hide a typo such as a unit in quotes; the file must write the number itself."""
    for path in sorted(doc.quoted, key=lambda p: (doc.line_of(p) or 0, str(p))):
        if path[:len(prefix)] != prefix:
            continue
        value = _value_at(validated, path[len(prefix):])
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            text = _raw_at(doc.data, path)
            raise doc.error(f"a number in quotes ({text!r} is a string)", path,
                            fix=f"write {str(text).strip()} without quotes")


_MISSING = object()


def _value_at(node: Any, path: Sequence[str | int]) -> Any:
    """The validated value at a key path of the file (fields by name or alias), or ``_MISSING``."""
    for part in path:
        if isinstance(node, BaseModel):
            name = next((n for n, f in type(node).model_fields.items() if part in (n, f.alias)), None)
            if name is None:
                return _MISSING
            node = getattr(node, name)
        elif isinstance(node, dict):
            node = node.get(part, _MISSING)
        elif isinstance(node, (list, tuple)) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return _MISSING
    return node


def _raw_at(data: Any, path: Sequence[str | int]) -> Any:
    for part in path:
        data = data[part]
    return data


def located_error(
    exc: ValidationError, doc: YamlDoc, prefix: Sequence[str | int], model: type[BaseModel]
) -> SpecError:
    """The first error of ``exc`` as a :class:`SpecError` with file, line and key path."""
    err = exc.errors()[0]
    loc = tuple(prefix) + tuple(p for p in err["loc"] if not _is_union_tag(p))
    kind = err["type"]
    if kind == "extra_forbidden":
        bad = str(loc[-1])
        allowed = _allowed_keys(model, err["loc"][:-1])
        return doc.error(f"unknown key '{bad}'", loc, fix=suggest(bad, allowed) if allowed else "remove it")
    if kind == "missing":
        return doc.error(f"missing required key '{loc[-1]}'", loc, fix="add it")
    msg = err["msg"]
    value = err.get("input")
    shown = repr(value) if isinstance(value, (int, float, str, bool)) or value is None else type(value).__name__
    fix = err.get("ctx", {}).get("fix") if isinstance(err.get("ctx"), dict) else None
    if kind == "literal_error" and isinstance(value, str) and not fix:
        # Suggest the closest allowed value ("structred" -> did you mean 'structured'?).
        choices = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
        fix = suggest(value, choices) if choices else None
    if not fix:
        # The field's own description says what is expected (type, unit).
        description = _field_description(model, [p for p in err["loc"] if not _is_union_tag(p)])
        name = next((p for p in reversed(loc) if isinstance(p, str)), None)
        fix = f"{name}: {description}" if description and name else None
    return doc.error(f"{msg} (got {shown})", loc, fix=fix or "correct the value")


def _is_union_tag(part: Any) -> bool:
    # pydantic adds the union member / function name to loc; they are not keys in the file.
    return isinstance(part, str) and ("[" in part or part.startswith("function-"))


def _allowed_keys(model: type[BaseModel], loc: Sequence[Any]) -> list[str]:
    """Field names (and aliases) of the sub-model at ``loc``, best effort."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in _names(current):
            return []
        field = next(f for n, f in fields.items() if part in (n, f.alias))
        current = _inner_model(field.annotation)
        if current is None:
            return []
    return _names(current) if hasattr(current, "model_fields") else []


def _field_description(model: type[BaseModel], loc: Sequence[Any]) -> str | None:
    """The ``Field(description=...)`` of the field at ``loc``, best effort."""
    keys = [p for p in loc if not isinstance(p, int)]
    if not keys:
        return None
    owner: Any = model
    for part in keys[:-1]:
        fields = getattr(owner, "model_fields", None) or {}
        field = next((f for n, f in fields.items() if part in (n, f.alias)), None)
        owner = _inner_model(field.annotation) if field is not None else None
        if owner is None:
            return None
    fields = getattr(owner, "model_fields", None) or {}
    field = next((f for n, f in fields.items() if keys[-1] in (n, f.alias)), None)
    return field.description if field is not None else None


def _names(model: type[BaseModel]) -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        out.append(field.alias or name)
    return out


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
