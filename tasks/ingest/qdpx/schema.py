"""Validation against the official REFI-QDA XML schemas (vendored in ./xsd with their MIT licence).

Strict reading judges a document by the standard: ``Project.xsd`` for project.qde, ``Codebook.xsd``
for .qdc files. Every deviation is an ``InputError`` whose place is the XPath of the offending
element (``/@name`` appended for an attribute), e.g. ``/Project/CodeBook/Codes/Code[2]/@guid``.

The schemas accept GUIDs in upper or lower case, with or without braces: such GUIDs are valid.
The document is validated as already parsed (by defusedxml), so nothing here opens a file or a
URL named by the document (``xsi:schemaLocation`` is ignored).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Literal
from xml.etree import ElementTree as ET

import xmlschema

from tasks.ingest.errors import InputError
from tasks.ingest.qdpx.model import CODEBOOK_NAMESPACE, PROJECT_NAMESPACE

XSD_DIR = Path(__file__).with_name("xsd")
SCHEMA_FILES: dict[str, str] = {"project": "Project.xsd", "codebook": "Codebook.xsd"}
_NAMESPACES: dict[str, str] = {"project": PROJECT_NAMESPACE, "codebook": CODEBOOK_NAMESPACE}

# A corrupt export can break the schema at every element: list this many, then count the rest.
MAX_LISTED = 500

# xmlschema's reasons name a faulty attribute as "attribute color='0080ff': ...", "missing
# required attribute 'guid'" or "'description' attribute not allowed for element".
_ATTRIBUTE = re.compile(
    r"(?:(?:missing required )?attribute '?([A-Za-z_][\w.-]*)'?(?:[=\s]|$))|(?:'([A-Za-z_][\w.-]*)' attribute not allowed)"
)
_CLARK = re.compile(r"\{([^}]*)\}")


@cache
def _schema(kind: str) -> xmlschema.XMLSchema10:
    """The parsed schema (parsed once per process: building it takes ~0.1 s)."""
    return xmlschema.XMLSchema10(str(XSD_DIR / SCHEMA_FILES[kind]))


def _plain(text: str, namespace: str) -> str:
    """Clark-notation names in the schema's own namespace shown without it, others kept."""
    return _CLARK.sub(lambda m: "" if m.group(1) == namespace else m.group(0), text)


def _xpath(error: xmlschema.XMLSchemaValidationError, namespace: str) -> str:
    """The XPath of the element at fault, with the attribute appended when the fault is one."""
    path = _plain(error.path or "/", namespace)
    found = _ATTRIBUTE.match(error.reason or "")
    return f"{path}/@{found.group(1) or found.group(2)}" if found else path


def schema_errors(
    root: ET.Element, kind: Literal["project", "codebook"], file: str, member: str | None = None
) -> list[InputError]:
    """Every deviation of a parsed document from its REFI-QDA schema, each placed by its XPath."""
    namespace = _NAMESPACES[kind]
    xsd = SCHEMA_FILES[kind]
    prefix = f"{member}: " if member else ""
    rule = f"must be valid against the REFI-QDA schema {xsd}"
    errors: list[InputError] = []
    skipped = 0
    for error in _schema(kind).iter_errors(root, use_location_hints=False):
        if len(errors) >= MAX_LISTED:
            skipped += 1
            continue
        reason = _plain(error.reason or str(error.message), namespace)
        errors.append(InputError(file, f"{prefix}{_xpath(error, namespace)}", rule, reason))
    if skipped:
        errors.append(InputError(file, f"{prefix}/", rule, f"{skipped} more deviations not listed"))
    return errors
