"""The built Data Docs open styled in headless Chromium with the network cut off.

Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe): no port, no
extra package. Network access is blocked three ways (offline emulation, a dead proxy, DNS that
resolves nothing) and every request the page makes is recorded.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
TIMEOUT = 60.0

pytestmark = pytest.mark.integration

PROBE = """
(async () => {
  await document.fonts.ready;
  const style = (sel) => { const e = document.querySelector(sel); return e ? getComputedStyle(e) : null; };
  const nav = style('nav.navbar'), sticky = style('.sticky-top'), btn = style('.btn');
  const suites = [];
  if (window.jQuery && jQuery.fn.bootstrapTable) {
    jQuery('table[data-toggle="table"]').each(function () {
      for (const row of jQuery(this).bootstrapTable('getData')) {
        if (row._expectation_suite_name_sort) suites.push(row._expectation_suite_name_sort);
      }
    });
  }
  return {
    navbarDisplay: nav && nav.display,
    stickyPosition: sticky && sticky.position,
    buttonDisplay: btn && btn.display,
    buttonRadius: btn && btn.borderTopLeftRadius,
    jquery: typeof window.jQuery,
    bootstrapTable: !!(window.jQuery && jQuery.fn.bootstrapTable),
    bootstrapTooltip: !!(window.jQuery && jQuery.fn.tooltip),
    vegaEmbed: typeof window.vegaEmbed,
    fontAwesome: Array.from(document.fonts).some(
      (f) => f.family.includes('Font Awesome 6 Free') && f.status === 'loaded'),
    suites: Array.from(new Set(suites)).sort(),
  };
})()
"""


def _high_fd(fd: int) -> int:
    """The fd moved to 10 or above, so putting the pipes on fds 3 and 4 cannot clobber them."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class Cdp:
    """A minimal DevTools-protocol client over Chromium's debugging pipe (fd 3 in, fd 4 out)."""

    def __init__(self) -> None:
        self.profile = tempfile.mkdtemp(prefix="studyflow-chromium-")
        to_chrome_r, self.to_chrome = map(_high_fd, os.pipe())
        self.from_chrome, from_chrome_w = map(_high_fd, os.pipe())
        args = [
            str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-extensions", "--disable-default-apps", "--mute-audio",
            f"--user-data-dir={self.profile}", "--remote-debugging-pipe",
            "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
            "--host-resolver-rules=MAP * ~NOTFOUND", "--allow-file-access-from-files",
            "about:blank",
        ]
        # A tiny trampoline puts the pipe ends on the fds Chromium expects, then execs it.
        trampoline = (
            "import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
            "os.execv(sys.argv[3], sys.argv[3:])"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", trampoline, str(to_chrome_r), str(from_chrome_w), *args],
            pass_fds=(to_chrome_r, from_chrome_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.from_chrome], [], [], max(left, 0))
            if not ready:
                raise TimeoutError("no answer from Chromium")
            chunk = os.read(self.from_chrome, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the debugging pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        """Send a command and wait for its answer, keeping the events seen meanwhile."""
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str) -> dict[str, Any]:
        """Wait for an event (or find it among those already seen)."""
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + TIMEOUT
        while True:
            event = self._read(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event

    def close(self) -> None:
        """Stop Chromium and remove its profile."""
        with contextlib.suppress(Exception):  # closing is best effort
            self.send("Browser.close")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.to_chrome)
        os.close(self.from_chrome)
        shutil.rmtree(self.profile, ignore_errors=True)


def open_offline(page: Path) -> tuple[dict[str, Any], list[str]]:
    """Load a page with no network; return the probe's values and every URL requested."""
    cdp = Cdp()
    try:
        target = cdp.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        cdp.send("Network.enable", session=session)
        cdp.send("Network.emulateNetworkConditions", {
            "offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1,
        }, session=session)
        cdp.send("Page.enable", session=session)
        cdp.send("Page.navigate", {"url": page.as_uri()}, session=session)
        cdp.wait_for("Page.loadEventFired")
        result = cdp.send("Runtime.evaluate", {
            "expression": PROBE, "awaitPromise": True, "returnByValue": True,
        }, session=session)
        if "exceptionDetails" in result:
            raise RuntimeError(f"probe failed: {result['exceptionDetails']}")
        requested = [
            e["params"]["request"]["url"]
            for e in cdp.events
            if e.get("method") == "Network.requestWillBeSent"
        ]
        return result["result"]["value"], requested
    finally:
        cdp.close()


def test_data_docs_render_styled_offline_and_list_every_suite(built_docs: Any) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run infra/install-chromium.sh")
    values, requested = open_offline(built_docs.docs_dir / "index.html")

    remote = [u for u in requested if u.startswith(("http://", "https://"))]
    assert remote == [], f"the page tried the network: {remote}"
    # Bootstrap's CSS applied: a default <nav> is display:block, .sticky-top is static, and a
    # <button> is inline-block without Bootstrap's rounded corners.
    assert values["navbarDisplay"] == "flex", values
    assert values["stickyPosition"] == "sticky", values
    assert values["buttonDisplay"] == "inline-block" and values["buttonRadius"] not in ("", "0px"), values
    assert values["jquery"] == "function" and values["bootstrapTable"] and values["bootstrapTooltip"]
    assert values["vegaEmbed"] == "function", values
    assert values["fontAwesome"], values
    assert values["suites"] == sorted(built_docs.suites)


def test_a_validation_result_page_renders_styled_offline(built_docs: Any) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run infra/install-chromium.sh")
    # The deepest pages: validations/<suite path>/<run name>/<run time>/<batch>.html
    page = max((built_docs.docs_dir / "validations").rglob("*.html"), key=lambda p: len(p.parts))
    values, requested = open_offline(page)
    assert [u for u in requested if u.startswith(("http://", "https://"))] == []
    assert values["navbarDisplay"] == "flex" and values["jquery"] == "function", values
    assert values["fontAwesome"], values
