"""A real browser on the console: Debian's Chromium driven by Playwright, and the API app
served by uvicorn on a free port of this machine (in the test's own event loop)."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from playwright.async_api import Browser, Page, async_playwright
from temporalio.client import Client

from activities.common.db import SessionMaker
from tests.console.support import OPERATOR_TOKEN, console_settings
from worker.api.app import ApiServices, create_app
from worker.devstack.processes import free_port
from worker.settings import Settings

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""What this machine's Chromium needs: no sandbox as root, and no calls home (the network is closed)."""


def chromium_path() -> str:
    """Debian's Chromium (``.ci/run`` installs the ``chromium`` package when it is missing)."""
    found = os.environ.get("STEPWISE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(found).exists():
        raise RuntimeError("Chromium is missing: install Debian's chromium package (.ci/run does)")
    return found


@asynccontextmanager
async def served_console(client: Client, settings: Settings, sessions: SessionMaker) -> AsyncIterator[str]:
    """The whole API app on ``http://127.0.0.1:<port>``; yields its base URL."""
    app = create_app(console_settings(settings), ApiServices(client, sessions, settings.worker.task_queue))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """A headless Chromium from the system's package."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            await browser.close()


async def signed_in_page(browser: Browser, base_url: str) -> Page:
    """A new page with the operator signed in through the form."""
    page = await browser.new_page(base_url=base_url, viewport={"width": 1360, "height": 900})
    page.set_default_timeout(20_000)
    await page.goto("/console/inbox")
    assert "/console/login" in page.url  # not signed in yet: the sign-in page
    await page.fill("input[name=token]", OPERATOR_TOKEN)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/console/inbox")
    return page


def screenshot_dir(fallback: Path) -> Path:
    """Where the browser test saves its screenshots: ``STEPWISE_CONSOLE_SCREENSHOTS`` (e.g. docs/) or a temp dir."""
    return Path(os.environ.get("STEPWISE_CONSOLE_SCREENSHOTS") or fallback)


@asynccontextmanager
async def signed_in_console(client: Client, settings: Settings, sessions: SessionMaker) -> AsyncIterator[Page]:
    """The console served on ``client``, and a Chromium page signed in to it as the operator."""
    async with served_console(client, settings, sessions) as base_url, chromium() as browser:
        yield await signed_in_page(browser, base_url)
