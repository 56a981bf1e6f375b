"""Data Docs views that compile GX's page templates once per process, not once per build.

Each GX view builds its own jinja environment, so every Data Docs build parsed and compiled the
same ~50 templates again (about a third of a phase's quality gate on the demo). These views are
GX's own, sharing one in-memory jinja bytecode cache: the compiled templates are reused and
jinja checks each template's source checksum, so the pages are unchanged. The site builder
loads them by name (`tasks.quality.gx._context`); importing this module imports GX.
"""

from __future__ import annotations

import threading
from typing import Any

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2.bccache import Bucket, BytecodeCache


class SharedTemplateCode(BytecodeCache):
    """Compiled jinja templates kept in memory, keyed by template and checked by source checksum."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def load_bytecode(self, bucket: Bucket) -> None:
        """Fill the bucket from the cache (jinja discards it if the source changed)."""
        with self._lock:
            code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        """Keep a freshly compiled template."""
        code = bucket.bytecode_to_string()
        with self._lock:
            self._code[bucket.key] = code

    def clear(self) -> None:
        """Forget every compiled template."""
        with self._lock:
            self._code.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._code)


TEMPLATE_CODE = SharedTemplateCode()


class CachedJinjaPageView(DefaultJinjaPageView):
    """GX's page view (suite and validation pages) with the shared compiled templates."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = TEMPLATE_CODE


class CachedJinjaIndexPageView(DefaultJinjaIndexPageView):
    """GX's index page view with the shared compiled templates."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = TEMPLATE_CODE
