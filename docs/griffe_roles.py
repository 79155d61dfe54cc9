"""A griffe extension for the API reference: our docstrings' reST bits, as Markdown.

The docstrings are read in terminals and editors too, where ``:func:`grad```
and a literal block introduced by ``::`` are the usual Python spelling. The
reference is Markdown, so this turns roles into inline code and ``::`` into
``:`` (the indented block after it is already a Markdown code block).
"""
from __future__ import annotations

import re

import griffe

_ROLE = re.compile(r":(?:func|class|meth|attr|mod|data|exc|obj):`~?([^`]+)`")
_LITERAL = re.compile(r"::\n")


class ReSTRoles(griffe.Extension):
    """Rewrite reST roles and ``::`` in every docstring before it is parsed."""

    def on_instance(self, *, obj, **kwargs):
        doc = obj.docstring
        if doc is not None:
            doc.value = _LITERAL.sub(":\n", _ROLE.sub(r"`\1`", doc.value))
