"""The step-through app in a real browser: Debian's headless chromium driven by playwright.

One `aibubble viz baseline` server and one browser per test session (session scope: under
xdist another module's tests may run between these, and a module-scoped server would start
again each time); each test opens its own page, which is its own Solara session with a
fresh model at month 0. Every request that leaves
127.0.0.1 is refused and recorded, so the page is shown to work offline. Screenshots go
to test-artifacts/viz/.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright
from viz_server import CHROMIUM, CHROMIUM_ARGS, REPO, viz_server

from scenarios.config import library_names

pytestmark = pytest.mark.xdist_group("browser")  # one browser at a time under `-n 2`

ARTIFACTS = REPO / "test-artifacts" / "viz"
START_MONTH = "2023-01"
PANELS = ("prices", "compute", "valuation", "structure", "network", "events", "agents")
CLOCK = re.compile(r"^(\d{4}-\d{2}) · step (\d+)/(\d+)$")
TIMEOUT_MS = 20_000


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    with viz_server("baseline", "--seed", "0", log=ARTIFACTS / "server.log") as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)"
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def outside() -> list[str]:
    """URLs the page tried to fetch from outside this machine (all refused)."""
    return []


@pytest.fixture
def page(server: str, browser: Browser, outside: list[str]) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1500, "height": 1250})
    tab = context.new_page()

    def local_only(route: Route) -> None:
        if route.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    tab.route("**/*", local_only)
    tab.set_default_timeout(TIMEOUT_MS)
    tab.goto(server)
    expect(tab.locator(".aibubble-clock")).to_have_text(CLOCK, timeout=60_000)
    yield tab
    context.close()


def clock(page: Page) -> tuple[str, int]:
    """The month and step shown in the app bar."""
    match = CLOCK.match(page.locator(".aibubble-clock").inner_text().strip())
    assert match, page.locator(".aibubble-clock").inner_text()
    return match.group(1), int(match.group(2))


def wait_step(page: Page, step: int) -> None:
    expect(page.locator(".aibubble-clock")).to_contain_text(f"· step {step}/")


def press(page: Page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()


def step_n(page: Page, n: int) -> None:
    """Press Step n times, each time waiting for the month to move."""
    for _ in range(n):
        _, now = clock(page)
        press(page, "Step")
        wait_step(page, now + 1)


def settled_step(page: Page, timeout_s: float = 5.0) -> int:
    """The step once two readings 400 ms apart agree."""
    deadline = time.monotonic() + timeout_s
    _, last = clock(page)
    while time.monotonic() < deadline:
        page.wait_for_timeout(400)
        _, now = clock(page)
        if now == last:
            return now
        last = now
    raise AssertionError(f"the model kept stepping after Pause (step {last})")


def figure_src(page: Page, panel: str) -> str:
    return page.locator(f".aibubble-{panel} img").get_attribute("src") or ""


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_page_loads_offline_with_all_panels(server: str, page: Page, outside: list[str]) -> None:
    assert f"at {server.rstrip('/')} " in (ARTIFACTS / "server.log").read_text()  # the CLI printed it
    assert clock(page) == (START_MONTH, 0)
    for panel in PANELS:
        expect(page.locator(f".aibubble-{panel}")).to_be_visible()
    for panel in ("prices", "compute", "valuation", "structure", "network"):
        width = page.locator(f".aibubble-{panel} img").evaluate("img => img.naturalWidth")
        assert width > 100, f"{panel} figure did not render"
    for name in ("Reset", "▶", "Step"):
        expect(page.get_by_role("button", name=name, exact=True)).to_be_enabled()
    expect(page.get_by_text("investors.trend_strength")).to_be_visible()
    shot(page, "loaded")
    assert outside == [], f"the page fetched from outside 127.0.0.1: {outside}"


def test_step_advances_the_month_and_redraws(page: Page) -> None:
    before = {p: figure_src(page, p) for p in ("prices", "valuation", "network")}
    press(page, "Step")
    wait_step(page, 1)
    assert clock(page) == (START_MONTH, 1)  # the clock names the month just simulated
    # the clock and the figures are separate elements: under load the images can land a
    # moment after the clock, so wait for them (a step that redraws nothing still fails)
    deadline = time.monotonic() + 20
    while not (changed := [p for p, src in before.items() if figure_src(page, p) != src]):
        assert time.monotonic() < deadline, "no figure changed after a Step"
        page.wait_for_timeout(200)
    press(page, "Step")
    wait_step(page, 2)
    assert clock(page) == ("2023-02", 2)
    shot(page, "after-step")


def test_play_then_pause_advances_several_months(page: Page) -> None:
    press(page, "▶")
    expect(page.locator(".aibubble-clock")).to_contain_text(re.compile(r"· step ([3-9]|\d\d+)/"))
    press(page, "❚❚")
    expect(page.get_by_role("button", name="Step", exact=True)).to_be_enabled()
    paused_at = settled_step(page)  # a month already under way when Pause came may finish
    page.wait_for_timeout(800)
    month, step = clock(page)
    assert step == paused_at >= 3
    assert month != START_MONTH
    shot(page, "after-play-pause")


def test_reset_returns_to_month_zero(page: Page) -> None:
    step_n(page, 2)
    press(page, "Reset")
    wait_step(page, 0)
    assert clock(page) == (START_MONTH, 0)
    expect(page.locator(".aibubble-headline")).to_contain_text("no month simulated yet")


def test_slider_then_reset_changes_the_outcome(page: Page) -> None:
    months = 2
    step_n(page, months)
    baseline = page.locator(".aibubble-headline").inner_text()
    press(page, "Reset")
    wait_step(page, 0)
    step_n(page, months)
    assert page.locator(".aibubble-headline").inner_text() == baseline, "same settings, same seed: same run"

    slider = page.locator(".aibubble-knob", has_text="startups.n =").locator("[role=slider]")
    slider.focus()
    slider.press("End")
    expect(page.get_by_text("startups.n = 120")).to_be_visible()
    press(page, "Reset")
    wait_step(page, 0)
    step_n(page, months)
    changed = page.locator(".aibubble-headline").inner_text()
    assert changed != baseline
    shot(page, "slider-reset")


def column_values(page: Page, header: str) -> list[float]:
    """The numbers in one column of the agents table, top to bottom (this page of it)."""
    table = page.locator(".aibubble-agents table")
    names = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    index = next(i for i, name in enumerate(names) if name.startswith(header))
    cells = table.locator(f"tbody tr td:nth-child({index + 1})").all_inner_texts()
    return [float(c) for c in cells if c.strip()]


def sorted_column(page: Page, header: str, descending: bool, timeout_s: float = 5.0) -> list[float]:
    """The column once the browser has re-sorted it (or as it is after `timeout_s`)."""
    deadline = time.monotonic() + timeout_s
    values = column_values(page, header)
    while values != sorted(values, reverse=descending) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
        values = column_values(page, header)
    return values


def test_agents_table_sorts_by_a_clicked_column(page: Page) -> None:
    step_n(page, 1)
    expect(page.locator(".aibubble-agents tbody tr")).not_to_have_count(1)  # not the "no data" row
    valuations = column_values(page, "Valuation $M")
    assert valuations == sorted(valuations, reverse=True)  # the table opens sorted by valuation
    page.locator(".aibubble-agents thead th", has_text="Cash $M").click()
    cash = sorted_column(page, "Cash $M", descending=False)
    assert len(cash) >= 5 and cash == sorted(cash)
    page.locator(".aibubble-agents thead th", has_text="Cash $M").click()
    cash = sorted_column(page, "Cash $M", descending=True)
    assert cash == sorted(cash, reverse=True)


def test_scenario_picker_runs_another_scenario_after_reset(page: Page) -> None:
    other = next(name for name in library_names() if name != "baseline")
    page.locator(".v-select", has_text="scenario").click()
    page.locator(".v-menu__content .v-list-item", has_text=other).first.click()
    press(page, "Reset")
    expect(page.locator(".aibubble-headline")).to_have_text(f"{other}: no month simulated yet")
    assert clock(page) == (START_MONTH, 0)
    step_n(page, 1)
    expect(page.locator(".aibubble-headline")).to_contain_text("startups alive")
