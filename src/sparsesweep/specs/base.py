"""The base of every user-facing spec model: numbers are checked at the boundary.

Every spec (arch, workload, scheme, ERT, mapper settings) derives from :class:`Spec`, so that for
all of them alike

* unknown keys are refused (``extra="forbid"``) and a loaded spec is immutable;
* floats must be finite (``.inf``, ``.nan``, ``1e400`` are refused);
* YAML booleans (``true``, ``yes``, ``on``) are not numbers: a bool is refused wherever the field
  does not itself take a bool (pydantic would read ``true`` as the integer 1);
* strings other than ``description`` are one line without control characters, so no name can
  inject YAML into a rendered file;
* integers are bounded by :data:`MAX_INTEGER`, beyond which the engine's int64 counts overflow.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

MAX_INTEGER = 2**40  # no real size, count or dimension comes near it
FREE_TEXT = ("description",)  # the only multi-line string fields; never rendered
_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def _takes_bool(annotation: Any) -> bool:
    if annotation is bool or annotation is Any:
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _takes_bool(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_takes_bool(arg) for arg in typing.get_args(annotation))
    return False


class Spec(BaseModel):
    """A validated, immutable spec (see the module docs)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _plain_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool):
            field = cls.model_fields.get(info.field_name or "")
            if field is not None and not _takes_bool(field.annotation):
                raise PydanticCustomError("bool_not_number", "a yes/no value where a number or name is expected",
                                          {"fix": "write the number itself (true/yes/on are not 1)"})
        elif isinstance(value, str) and info.field_name not in FREE_TEXT and _BREAKS.search(value):
            raise PydanticCustomError("single_line", "a name or value must be one line without control characters",
                                      {"fix": "remove the line break or control character"})
        elif isinstance(value, int) and abs(value) > MAX_INTEGER:
            raise PydanticCustomError("integer_range", "integer out of range",
                                      {"fix": f"use a value of at most {MAX_INTEGER:.2g}"})
        return value
