"""Import aiogram with its pydantic models built on first use, not all at import.

aiogram declares its 444 types with ``defer_build=True``, then ``aiogram.types``
undoes that at import: it calls ``model_rebuild()`` on every one of them, handing each
the namespace that resolves their forward references (``"Message"``, ``"Default"`` …).
That builds a validator and a serializer per type with every nested type inlined:
about 2 seconds and 106 MB, most of it for types this bot never sees (payments,
stickers, business accounts, stories …).

:func:`import_aiogram` imports aiogram with those calls recorded instead of run: the
namespace becomes the class's ``__pydantic_parent_namespace__``, which pydantic's own
deferred build reads when a model is first validated, constructed or serialised.
The models that are built come out the same as before, just later; the rest are
never built. ``tests/telegram/test_aiogram_models.py`` builds every aiogram type and
method this way and checks that each validates and serialises.

This leans on two pydantic details that are not public API (checked against
pydantic 2.13): ``model_rebuild``'s ``_types_namespace`` keyword, which is how
aiogram hands the namespace over, and ``__pydantic_parent_namespace__``, which
``model_rebuild`` merges over it. If either changes, :func:`import_aiogram` falls
back to aiogram's eager build rather than leaving models unresolvable.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

from pydantic import BaseModel

log = logging.getLogger(__name__)

#: True once aiogram.types was imported with its models deferred.
deferred = False


def import_aiogram() -> None:
    """Import ``aiogram`` (and ``aiogram.types``) with model building deferred.

    Does nothing if aiogram's types are imported already (their models are built).
    """
    global deferred
    if "aiogram.types" in sys.modules:
        return
    if not _supported():
        log.warning("pydantic changed: aiogram's models are built at import")
        importlib.import_module("aiogram")
        return
    original = BaseModel.__dict__["model_rebuild"]
    handed: list[Any] = []

    def record(cls: type[BaseModel], *, _types_namespace: Any = None, **kwargs: Any) -> bool | None:
        if _types_namespace is None or kwargs or not cls.__module__.startswith("aiogram."):
            return original.__func__(cls, _types_namespace=_types_namespace, **kwargs)  # type: ignore[no-any-return]
        _hand_over(cls, _types_namespace)
        if not handed:
            handed.append(_types_namespace)
        return None

    BaseModel.model_rebuild = classmethod(record)  # type: ignore[method-assign, assignment, arg-type]
    try:
        importlib.import_module("aiogram")
        importlib.import_module("aiogram.types")
    finally:
        BaseModel.model_rebuild = original  # type: ignore[method-assign]
    if not handed:  # aiogram changed: nothing was deferred, all is built as before
        return
    # A model is built with its own parent namespace applied to every type nested in
    # it, so the methods (whose keyboards, messages … refer to types by name) need the
    # types' namespace as well, or SendMessage could not be built before Message is.
    methods = importlib.import_module("aiogram.methods")
    for name in methods.__all__:
        cls = getattr(methods, name)
        if isinstance(cls, type) and issubclass(cls, BaseModel):
            _hand_over(cls, handed[0])
    deferred = True


def _hand_over(cls: type[BaseModel], namespace: Any) -> None:
    """Give ``cls`` the namespace its deferred build resolves names in."""
    own = cls.__dict__.get("__pydantic_parent_namespace__")
    # model_rebuild() lets the class's own parent namespace win over the one it is
    # handed; merging in the same order keeps what a deferred build resolves.
    cls.__pydantic_parent_namespace__ = {**namespace, **_unpack(own)} if own else namespace


def _supported() -> bool:
    import inspect

    try:
        params = inspect.signature(BaseModel.model_rebuild).parameters
    except (TypeError, ValueError):
        return False
    return "_types_namespace" in params and hasattr(BaseModel, "__pydantic_parent_namespace__")


def _unpack(namespace: Any) -> dict[str, Any]:
    from pydantic._internal._model_construction import unpack_lenient_weakvaluedict

    return unpack_lenient_weakvaluedict(namespace) or {}
