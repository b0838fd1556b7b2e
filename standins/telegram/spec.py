"""The official Bot API method and type list, and checking values against it.

``telegram-bot-api.json`` (MIT, see ``telegram-bot-api.LICENSE``) lists every method with its
parameters and every type with its fields. The stand-in uses it twice:

* *binding* a call: each parameter read off the wire (strings from form bodies, JSON values
  from JSON bodies, uploaded files) is converted to the type the list declares, leniently, the
  way the real server reads them;
* *checking* a result: every object the stand-in returns is checked strictly against the list,
  so a stand-in bug that would make aiogram or python-telegram-bot choke shows up at once.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from standins.telegram.wire import UploadedFile, WireCall

SPEC_PATH = Path(__file__).with_name("telegram-bot-api.json")

_INTEGER = re.compile(r"-?\d+")
_ARRAY_OF = "Array of "
_DISCRIMINATOR = re.compile(r'(?:must be|always)\s+["“]?([A-Za-z_]+)["”]?')
_BOOLEAN_WORDS = {"true": True, "false": False, "1": True, "0": False}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    types: tuple[str, ...]
    required: bool
    description: str


@dataclass(frozen=True)
class MethodSpec:
    name: str
    fields: tuple[FieldSpec, ...]
    returns: tuple[str, ...]

    def field(self, name: str) -> FieldSpec | None:
        return next((field for field in self.fields if field.name == name), None)


@dataclass(frozen=True)
class TypeSpec:
    name: str
    fields: tuple[FieldSpec, ...]
    subtypes: tuple[str, ...]


class Mismatch(Exception):
    """A value that does not fit the declared type; ``path`` says where inside the value."""

    def __init__(self, path: str, problem: str, *, not_json: bool = False) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem
        self.not_json = not_json


class MissingParameter(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class BadParameter(Exception):
    def __init__(self, name: str, mismatch: Mismatch) -> None:
        super().__init__(f"{name}: {mismatch}")
        self.name = name
        self.mismatch = mismatch


class BotApiSpec:
    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.version: str = str(raw.get("version", ""))
        self._methods = {
            name.lower(): MethodSpec(
                name=name,
                fields=_fields(entry.get("fields", [])),
                returns=tuple(entry.get("returns", [])),
            )
            for name, entry in raw["methods"].items()
        }
        self._types = {
            name: TypeSpec(
                name=name,
                fields=_fields(entry.get("fields", [])),
                subtypes=tuple(entry.get("subtypes", [])),
            )
            for name, entry in raw["types"].items()
        }
        self._discriminators = {
            spec.name: self._find_discriminator(spec) for spec in self._types.values()
        }

    @classmethod
    @functools.cache
    def default(cls) -> BotApiSpec:
        with SPEC_PATH.open(encoding="utf-8") as handle:
            return cls(json.load(handle))

    def method(self, name: str) -> MethodSpec | None:
        """Look a method up the way the server does: case-insensitively."""
        return self._methods.get(name.lower())

    def method_names(self) -> list[str]:
        return sorted(spec.name for spec in self._methods.values())

    def type(self, name: str) -> TypeSpec | None:
        return self._types.get(name)

    # Binding calls ------------------------------------------------------------------------

    def bind(
        self,
        method: MethodSpec,
        call: WireCall,
        allow_empty: frozenset[str] = frozenset(),
        legacy: tuple[FieldSpec, ...] = (),
    ) -> dict[str, Any]:
        """Convert a call's wire values to the declared parameter types.

        Raises MissingParameter for an absent or empty required parameter (an empty string
        counts as absent, as on the real server, unless the parameter is in ``allow_empty``)
        and BadParameter for a value of the wrong type. Parameters the method does not declare
        (nor ``legacy`` revives) are dropped, as the real server ignores them.
        """
        bound: dict[str, Any] = {}
        for field in method.fields + legacy:
            value: Any = call.values.get(field.name)
            if value is None and "InputFile" in field.types:
                value = call.files.get(field.name)
            if value == "" and field.name in allow_empty:
                bound[field.name] = ""
                continue
            if value is None or value == "":
                if field.required:
                    raise MissingParameter(field.name)
                continue
            try:
                bound[field.name] = self._convert(
                    field.types, value, field.name, lenient=True, files=call.files
                )
            except Mismatch as mismatch:
                raise BadParameter(field.name, mismatch) from mismatch
        return bound

    # Checking results ---------------------------------------------------------------------

    def check(self, types: Sequence[str], value: Any, path: str = "result") -> list[str]:
        """Problems of ``value`` against ``types`` (strict JSON typing, no unknown fields)."""
        try:
            self._convert(types, value, path, lenient=False, files={})
        except Mismatch as mismatch:
            return [f"{mismatch.path}: {mismatch.problem}"]
        return []

    def check_result(self, method: MethodSpec, value: Any) -> list[str]:
        return self.check(method.returns, value, f"{method.name} result")

    # Conversion ---------------------------------------------------------------------------

    def _convert(
        self,
        types: Sequence[str],
        value: Any,
        path: str,
        *,
        lenient: bool,
        files: Mapping[str, UploadedFile],
    ) -> Any:
        mismatches: list[Mismatch] = []
        for type_name in types:
            try:
                return self._convert_one(type_name, value, path, lenient=lenient, files=files)
            except Mismatch as mismatch:
                mismatches.append(mismatch)
        deeper = [mismatch for mismatch in mismatches if mismatch.path != path]
        if deeper:
            raise deeper[0]
        not_json = [mismatch for mismatch in mismatches if mismatch.not_json]
        if not_json:
            raise not_json[0]
        if len(mismatches) == 1:
            raise mismatches[0]
        raise Mismatch(path, f"must be of type {' or '.join(types)}")

    def _convert_one(
        self,
        type_name: str,
        value: Any,
        path: str,
        *,
        lenient: bool,
        files: Mapping[str, UploadedFile],
    ) -> Any:
        primitive = _PRIMITIVES.get(type_name)
        if primitive is not None:
            return primitive(value, path, lenient)
        if type_name == "InputFile":
            return _input_file(value, path, files)
        if type_name.startswith(_ARRAY_OF):
            return self._convert_array(type_name[len(_ARRAY_OF) :], value, path, lenient, files)
        spec = self._types.get(type_name)
        if spec is None:
            return value
        return self._convert_object(spec, value, path, lenient, files)

    def _convert_array(
        self,
        item_type: str,
        value: Any,
        path: str,
        lenient: bool,
        files: Mapping[str, UploadedFile],
    ) -> list[Any]:
        if lenient and isinstance(value, str):
            value = _decode_json(value, path)
        if not isinstance(value, list):
            raise Mismatch(path, f"must be of type Array of {item_type}")
        return [
            self._convert_one(item_type, item, f"{path}[{index}]", lenient=lenient, files=files)
            for index, item in enumerate(value)
        ]

    def _convert_object(
        self,
        spec: TypeSpec,
        value: Any,
        path: str,
        lenient: bool,
        files: Mapping[str, UploadedFile],
    ) -> dict[str, Any]:
        if lenient and isinstance(value, str):
            value = _decode_json(value, path)
        if not isinstance(value, dict):
            raise Mismatch(path, f"must be of type {spec.name}")
        if spec.subtypes:
            return self._convert_union(spec, value, path, lenient, files)
        converted: dict[str, Any] = dict(value)
        for field in spec.fields:
            if field.name not in value or value[field.name] is None:
                if field.required:
                    raise Mismatch(path, f'field "{field.name}" of {spec.name} is required')
                continue
            converted[field.name] = self._convert(
                field.types,
                value[field.name],
                f"{path}.{field.name}",
                lenient=lenient,
                files=files,
            )
        if not lenient:
            known = {field.name for field in spec.fields}
            unknown = sorted(set(value) - known)
            if unknown:
                raise Mismatch(path, f"{spec.name} has no field {unknown[0]!r}")
        return converted

    def _convert_union(
        self,
        spec: TypeSpec,
        value: dict[str, Any],
        path: str,
        lenient: bool,
        files: Mapping[str, UploadedFile],
    ) -> dict[str, Any]:
        discriminator = self._discriminators.get(spec.name)
        if discriminator is not None:
            field_name, by_value = discriminator
            tag = value.get(field_name)
            subtype = by_value.get(str(tag))
            if subtype is None:
                raise Mismatch(path, f'unsupported {spec.name} {field_name} "{tag}"')
            return self._convert_object(self._types[subtype], value, path, lenient, files)
        mismatches: list[Mismatch] = []
        for name in spec.subtypes:
            try:
                return self._convert_object(self._types[name], value, path, lenient, files)
            except Mismatch as mismatch:
                mismatches.append(mismatch)
        raise mismatches[0] if mismatches else Mismatch(path, f"must be of type {spec.name}")

    def _find_discriminator(self, spec: TypeSpec) -> tuple[str, dict[str, str]] | None:
        """For a union type: the field whose fixed value names the subtype, if there is one."""
        if not spec.subtypes:
            return None
        by_value: dict[str, str] = {}
        field_name: str | None = None
        for name in spec.subtypes:
            subtype = self._types.get(name)
            if subtype is None or not subtype.fields:
                return None
            first = subtype.fields[0]
            match = _DISCRIMINATOR.search(first.description)
            if match is None or (field_name is not None and first.name != field_name):
                return None
            field_name = first.name
            by_value[match.group(1)] = name
        return (field_name, by_value) if field_name else None


def _fields(raw: Sequence[Mapping[str, Any]]) -> tuple[FieldSpec, ...]:
    return tuple(
        FieldSpec(
            name=entry["name"],
            types=tuple(entry.get("types", [])),
            required=bool(entry.get("required", False)),
            description=str(entry.get("description", "")),
        )
        for entry in raw
    )


def _decode_json(text: str, path: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise Mismatch(path, "is not valid JSON", not_json=True) from error


def _integer(value: Any, path: str, lenient: bool) -> int:
    if isinstance(value, bool):
        raise Mismatch(path, "must be of type Integer")
    if isinstance(value, int):
        return value
    if lenient and isinstance(value, float) and value.is_integer():
        return int(value)
    if lenient and isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    raise Mismatch(path, "must be of type Integer")


def _float(value: Any, path: str, lenient: bool) -> float:
    if isinstance(value, bool):
        raise Mismatch(path, "must be of type Float")
    if isinstance(value, int | float):
        return float(value)
    if lenient and isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise Mismatch(path, "must be of type Float")


def _boolean(value: Any, path: str, lenient: bool) -> bool:
    if isinstance(value, bool):
        return value
    if lenient and isinstance(value, str) and value.strip().lower() in _BOOLEAN_WORDS:
        return _BOOLEAN_WORDS[value.strip().lower()]
    if lenient and isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise Mismatch(path, "must be of type Boolean")


def _true(value: Any, path: str, lenient: bool) -> bool:
    if _boolean(value, path, lenient) is not True:
        raise Mismatch(path, "must be True")
    return True


def _string(value: Any, path: str, lenient: bool) -> str:
    if isinstance(value, str):
        return value
    if lenient and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise Mismatch(path, "must be of type String")


def _input_file(value: Any, path: str, files: Mapping[str, UploadedFile]) -> UploadedFile:
    if isinstance(value, UploadedFile):
        return value
    if isinstance(value, str) and value.startswith("attach://"):
        upload = files.get(value[len("attach://") :])
        if upload is not None:
            return upload
        raise Mismatch(path, f"file {value} is not attached")
    raise Mismatch(path, "must be of type InputFile")


_PRIMITIVES = {
    "Integer": _integer,
    "Float": _float,
    "Boolean": _boolean,
    "True": _true,
    "String": _string,
}
