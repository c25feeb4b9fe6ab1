"""``@frozen``: immutable value classes, without importing ``dataclasses``.

Why not ``dataclasses``: it imports ``inspect`` (and with it ``ast``, ``dis``,
``tokenize`` ...), about 15 ms that every CGI request would pay before doing any work,
longer than the rest of a redirect. This module does the small part minilink needs:

* fields are the class's annotations, in order; a class attribute is the default;
  ``field(default_factory=...)`` makes a fresh default per instance;
* ``__init__`` (generated once per class, positional or keyword), then
  ``__post_init__`` if the class has one;
* instances are frozen (assigning raises ``AttributeError``), compare equal by type
  and fields, hash by fields, and print as ``Link(code='x', ...)``;
* ``replace(obj, **changes)`` and ``fields(cls)`` as in ``dataclasses``.

Type checkers see ``frozen`` as a frozen dataclass (PEP 681 ``dataclass_transform``),
so constructor calls are checked as strictly as real dataclasses.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, TypeVar

    from typing_extensions import dataclass_transform

    _T = TypeVar("_T")
else:

    def dataclass_transform(**_options):
        return lambda decorated: decorated


__all__ = ["field", "fields", "frozen", "replace"]

_MISSING = object()


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def field(*, default_factory: Callable[[], Any]) -> Any:
    """A field whose default is made fresh for each instance."""
    return _Factory(default_factory)


def _frozen_setattr(self: object, name: str, value: object) -> None:
    raise AttributeError(f"{type(self).__name__} is immutable; use replace()")


def _frozen_delattr(self: object, name: str) -> None:
    raise AttributeError(f"{type(self).__name__} is immutable")


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def frozen(cls: type[_T]) -> type[_T]:
    """Make ``cls`` an immutable value class (see the module docstring)."""
    names = tuple(
        name
        # The class's own annotations (strings, under "from __future__ import annotations").
        for name, annotation in cls.__dict__.get("__annotations__", {}).items()  # noqa: RUF063
        if not str(annotation).startswith(("ClassVar", "typing.ClassVar"))
    )
    defaults = {name: cls.__dict__[name] for name in names if name in cls.__dict__}
    params, body = [], []
    for name in names:
        default = defaults.get(name, _MISSING)
        if default is _MISSING:
            params.append(name)
        elif isinstance(default, _Factory):
            params.append(f"{name}=_MISSING")
            body.append(f" if {name} is _MISSING: {name} = _defaults[{name!r}].make()")
        else:
            params.append(f"{name}=_defaults[{name!r}]")
        body.append(f" _state[{name!r}] = {name}")
        if isinstance(default, _Factory):
            delattr(cls, name)  # the marker must not shadow a missing attribute
    if hasattr(cls, "__post_init__"):
        body.append(" self.__post_init__()")
    # Fields go straight into the instance dict (``__setattr__`` refuses them).
    body.insert(0, " _state = self.__dict__")
    source = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body)
    namespace: dict[str, Any] = {}
    exec(  # noqa: S102 - built from the class's own field names, as dataclasses does
        source, {"_defaults": defaults, "_MISSING": _MISSING}, namespace
    )
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in names)

    def __hash__(self: Any) -> int:
        return hash(tuple(getattr(self, n) for n in names))

    def __repr__(self: Any) -> str:
        shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in names)
        return f"{type(self).__name__}({shown})"

    methods = {
        "__init__": init,
        "__eq__": __eq__,
        "__hash__": __hash__,
        "__repr__": __repr__,
        "__setattr__": _frozen_setattr,
        "__delattr__": _frozen_delattr,
        "__value_fields__": names,
        "__value_post_init__": getattr(cls, "__post_init__", None),
    }
    for name, method in methods.items():
        setattr(cls, name, method)
    return cls


def fields(cls_or_obj: object) -> tuple[str, ...]:
    """The field names of a ``@frozen`` class or instance, in order."""
    names: tuple[str, ...] = cls_or_obj.__value_fields__  # type: ignore[attr-defined]
    return names


def replace(obj: _T, /, **changes: Any) -> _T:
    """A copy of ``obj`` with some fields changed (and ``__post_init__`` run again)."""
    # Instances keep their fields in ``__dict__`` (the generated ``__init__`` puts them
    # there): copying it, rather than calling ``__init__`` again, keeps ``replace``
    # cheap on the redirect path. Validation in ``__post_init__`` still runs.
    cls = obj.__class__
    copy = object.__new__(cls)
    state = copy.__dict__
    state.update(obj.__dict__)
    for name in changes:
        if name not in state:
            raise TypeError(f"{cls.__name__} has no field {name!r}")
    state.update(changes)
    post_init = cls.__value_post_init__  # type: ignore[attr-defined]
    if post_init is not None:
        post_init(copy)
    return copy
