"""A griffe extension for the API reference: Sphinx roles in goprims docstrings become links.

goprims docstrings cross-reference with Sphinx roles (``:class:`Chan```, ``:func:`~goprims.chan.go```).
Markdown renders those literally, so before mkdocstrings renders a docstring this extension rewrites
each role into an autorefs link when the target is documented on one of the reference pages, and
into inline code otherwise (a builtin, another library, a private helper): no broken link can come
out of it, so ``mkdocs build --strict`` stays meaningful. Loaded from ``mkdocs.yml``; it is not part
of the site (``exclude_docs``).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

# :class:`X`, :py:func:`~a.b.c`, :meth:`text <target>`
_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj|const|type)" r":?`([^`]+)`")


class SphinxRolesToLinks(griffe.Extension):
    """Rewrite Sphinx roles once the whole package is loaded."""

    def __init__(self, modules: list[str] | None = None) -> None:
        # The modules that have a reference page, most specific first: when an object is exported
        # by several of them, the first one listed is where its links point.
        self.modules = modules or []

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        collection = pkg.modules_collection
        documented = self._documented(collection)
        for obj in _walk(pkg):
            if obj.docstring is None:
                continue
            obj.docstring.value = _ROLE.sub(
                lambda m, o=obj: _rewrite(m.group(1), o, collection, documented),
                obj.docstring.value,
            )

    def _documented(self, collection: Any) -> dict[str, str]:
        """Canonical path -> the path under which a reference page renders it."""
        out: dict[str, str] = {}
        for mod_path in self.modules:
            try:
                mod = collection.get_member(mod_path)
            except (KeyError, ValueError):
                continue
            out.setdefault(mod.path, mod.path)
            exports = _exports(mod)
            for name, member in mod.members.items():
                if exports is not None and name not in exports:
                    continue
                if exports is None and name.startswith("_"):
                    continue
                target = _final(member, collection)
                if target is None or not _shown(target):
                    continue
                shown_as = f"{mod.path}.{name}"
                out.setdefault(target.path, shown_as)
                out.setdefault(shown_as, shown_as)
                if target.is_class:
                    for mname, sub in target.members.items():
                        if mname.startswith("_") or sub.is_alias or not _shown(sub):
                            continue
                        out.setdefault(f"{target.path}.{mname}", f"{shown_as}.{mname}")
                        out.setdefault(f"{shown_as}.{mname}", f"{shown_as}.{mname}")
        return out


def _exports(mod: Any) -> set[str] | None:
    exports = getattr(mod, "exports", None)
    if exports is None:
        return None
    return {str(e) if not hasattr(e, "name") else e.name for e in exports}


def _shown(obj: Any) -> bool:
    """mkdocstrings renders members with a docstring only (``show_if_no_docstring`` is off)."""
    return obj.is_module or bool(obj.docstring and obj.docstring.value.strip())


def _final(obj: Any, collection: Any) -> Any:
    """Follow aliases by path without triggering griffe's alias resolution."""
    for _ in range(10):
        if not obj.is_alias:
            return obj
        try:
            obj = collection.get_member(obj.target_path)
        except (KeyError, ValueError, AttributeError):
            return None
    return None


def _walk(obj: Any) -> Any:
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _walk(member)


def _rewrite(text: str, obj: Any, collection: Any, documented: dict[str, str]) -> str:
    m = re.fullmatch(r"(.*?)\s*<([^>]+)>", text)
    if m:
        label, target = m.group(1), m.group(2)
    else:
        target = text
        label = target.lstrip("~").rsplit(".", 1)[-1] if target.startswith("~") else target
    target = target.lstrip("~!.")
    path = _resolve(target, obj, collection)
    label = f"`{label}`"
    if path is not None and path in documented:
        return f"[{label}][{documented[path]}]"
    return label


def _resolve(target: str, obj: Any, collection: Any) -> str | None:
    head, _, rest = target.partition(".")
    try:
        base = obj.resolve(head)
    except Exception:
        base = head
    path = f"{base}.{rest}" if rest else base
    try:
        found = collection.get_member(path)
    except Exception:
        # a method named from a class's scope, e.g. :meth:`send` inside Chan's docstring
        scope = obj if obj.is_class else obj.parent
        if scope is not None and scope.is_class and head in scope.all_members:
            return f"{scope.path}.{target}"
        return None
    final = _final(found, collection)
    return None if final is None else final.path
