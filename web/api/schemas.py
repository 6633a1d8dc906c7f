"""OpenAPI 3.0 schemas from Python types: the TypedDicts and StrEnums of qihu.engine.types
(and the few the API composes itself), so the document says what the code returns.

    components({"Task": TaskInfo, ...})   # {"Task": {"type": "object", "properties": ...}, ...}

What it reads, through typing.get_type_hints:

- str, int, float, bool; `Any` (any JSON value, null included);
- `X | None`: X with `nullable: true` (an enum lists null among its values too);
- `list[X]`, `dict[str, X]` (an object with any keys), `Literal[...]`, a StrEnum (its values);
- `Annotated[str, Format("date-time")]` (engine.types.IsoDateTime): a string of that format;
- a TypedDict or a dataclass: an object whose properties are its keys in order, `required`
  the TypedDict's required keys (NotRequired ones may be absent; every field of a dataclass
  is sent). One named in the components is referred to by `$ref`, others are written inline.

Anything else is a TypeError naming it: a type the document cannot state is a bug to fix
here, not something to paper over with a free-form object.
"""
import dataclasses
import types
import typing
from enum import Enum
from typing import Any, Literal, NotRequired, Required, Union

from qihu.engine.types import Format

Schema = dict[str, Any]
_SCALARS: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and typing.is_typeddict(tp)


def _is_record(tp: Any) -> bool:
    """A TypedDict or a dataclass: written as an object."""
    return _is_typeddict(tp) or (isinstance(tp, type) and dataclasses.is_dataclass(tp))


def _fields(tp: type) -> tuple[dict[str, Any], list[str]]:
    """The record's keys with their types, in order, and the keys always present."""
    hints = typing.get_type_hints(tp, include_extras=True)
    if _is_typeddict(tp):
        required_keys: frozenset[str] = getattr(tp, "__required_keys__", frozenset())
        return hints, [k for k in hints if k in required_keys]
    names = [f.name for f in dataclasses.fields(tp)]
    return {n: hints[n] for n in names}, names


def _nullable(schema: Schema) -> Schema:
    if "$ref" in schema:
        # OpenAPI 3.0 ignores what stands beside a $ref
        return {"allOf": [schema], "nullable": True}
    out = {**schema, "nullable": True}
    if "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out


class SchemaBuilder:
    """Schemas of types, with the named records of `names` as components referred to by $ref."""

    def __init__(self, names: dict[str, type]) -> None:
        self.names = names
        self.refs: dict[Any, str] = {}
        for name, tp in names.items():
            if not _is_record(tp):
                raise TypeError(f"component {name}: {tp!r} is not a TypedDict or a dataclass")
            if tp in self.refs:
                raise TypeError(f"{tp.__name__} is named twice: {self.refs[tp]} and {name}")
            self.refs[tp] = name

    def components(self) -> dict[str, Schema]:
        return {name: self.record(tp) for name, tp in self.names.items()}

    def record(self, tp: type) -> Schema:
        """The object schema of a TypedDict or a dataclass, written out (not by $ref)."""
        hints, required = _fields(tp)
        props = {key: self.schema(hint, f"{tp.__name__}.{key}") for key, hint in hints.items()}
        out: Schema = {"type": "object", "properties": props}
        if required:
            out["required"] = required
        doc = (tp.__doc__ or "").strip()
        if doc and not doc.startswith(f"{tp.__name__}("):      # not a dataclass's generated signature
            out["description"] = " ".join(doc.split())
        return out

    def schema(self, tp: Any, where: str = "") -> Schema:
        """The schema of one type; `where` names the field in an error."""
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin in (Required, NotRequired):          # kept by include_extras; presence is `required`'s business
            return self.schema(args[0], where)
        if origin is typing.Annotated:
            out = self.schema(args[0], where)
            for meta in tp.__metadata__:
                if isinstance(meta, Format):
                    out["format"] = meta.name
            return out
        if tp is Any:
            return {"nullable": True}
        if origin in (Union, types.UnionType):
            others = [a for a in args if a is not type(None)]
            if len(others) == 1 and len(args) == 2:
                return _nullable(self.schema(others[0], where))
            raise TypeError(f"{where}: a union other than X | None ({tp!r})")
        if tp in _SCALARS:
            return {"type": _SCALARS[tp]}
        if isinstance(tp, type) and issubclass(tp, Enum):
            values = [m.value for m in tp]
            kinds = {_SCALARS.get(type(v)) for v in values}
            if len(kinds) != 1 or None in kinds:
                raise TypeError(f"{where}: enum {tp.__name__} mixes value types")
            return {"type": kinds.pop(), "enum": values}
        if origin is Literal:
            kinds = {_SCALARS.get(type(v)) for v in args}
            if len(kinds) != 1 or None in kinds:
                raise TypeError(f"{where}: Literal{list(args)} mixes value types")
            return {"type": kinds.pop(), "enum": list(args)}
        if origin is list:
            return {"type": "array", "items": self.schema(args[0], where + "[]")}
        if origin is dict:
            if args[0] is not str:
                raise TypeError(f"{where}: JSON objects have text keys, not {args[0]!r}")
            extra: bool | Schema = True if args[1] is Any else self.schema(args[1], where + "{}")
            return {"type": "object", "additionalProperties": extra}
        if _is_record(tp):
            name = self.refs.get(tp)
            return {"$ref": f"#/components/schemas/{name}"} if name else self.record(tp)
        raise TypeError(f"{where}: no JSON schema for {tp!r}")


def components(names: dict[str, type]) -> dict[str, Schema]:
    """`components/schemas` of an OpenAPI document: each named record written out."""
    return SchemaBuilder(names).components()


def schema_of(tp: Any, names: dict[str, type] | None = None) -> Schema:
    """The schema of one type (the records of `names` by $ref, others inline)."""
    return SchemaBuilder(names or {}).schema(tp, getattr(tp, "__name__", repr(tp)))
