"""The real thing: `rag-car serve --with-simulator` on a free loopback port, driven by headless Chromium (Playwright)."""

from __future__ import annotations

import re
import shutil

import pytest

from ui_apptest import indexed_data  # noqa: F401  (fixture)
from ui_server import CHROMIUM, base_env, browser, serve, submit_question

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory, indexed_data):
    """A copy of the indexed bundled knowledge, the UI and the simulated vehicle serving it."""
    root = tmp_path_factory.mktemp("ui-browser")
    shutil.copytree(indexed_data, root / "data")
    env = base_env(root / "data")
    with serve(env, root / "serve.log") as (url, proc):
        yield url, root
        log = (root / "serve.log").read_text(errors="replace")  # read before shutdown: only the run counts
    assert "Traceback" not in log, log[-4000:]


@pytest.fixture
def page(server):
    with browser() as chromium:
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        yield tab
        context.close()
        assert not errors, errors


def test_ask_expand_a_citation_and_watch_the_live_page(server, page, tmp_path):
    try:
        _drive(server[0], page, tmp_path)
    except Exception:
        page.screenshot(path=str(tmp_path / "99-failure.png"), full_page=True)
        print(f"screenshots in {tmp_path}; server log:\n" + (server[1] / "serve.log").read_text(errors="replace")[-3000:])
        raise


def _drive(url, page, tmp_path) -> None:
    page.goto(url + "/")
    page.get_by_role("heading", name="Ask about your vehicle").wait_for(timeout=30_000)
    page.screenshot(path=str(tmp_path / "01-chat-empty.png"))

    submit_question(page, "What does the coolant temperature warning lamp mean?")
    answer = page.get_by_test_id("stChatMessage").nth(1)
    answer.get_by_text(re.compile(r"Answered by")).wait_for(timeout=60_000)
    text = answer.inner_text()
    assert "coolant" in text.lower()
    assert "Answered by extractive" in text
    chips = answer.get_by_role("button", name=re.compile(r"^\[1\] "))
    assert chips.count() >= 1
    page.screenshot(path=str(tmp_path / "02-chat-answer.png"), full_page=True)

    # a citation chip opens onto its passage: title, section/page and the quoted text
    chip_label = chips.first.inner_text()
    chips.first.click()
    popover = page.get_by_test_id("stPopoverBody")
    popover.wait_for(timeout=10_000)
    body = popover.inner_text()
    title = chip_label.split("] ", 1)[1].split(" · p.")[0].strip()
    assert title and title in body
    assert len(body) > len(title) + 40  # the passage itself is shown
    assert popover.get_by_role("link", name=re.compile("Open the")).count() == 1
    page.screenshot(path=str(tmp_path / "03-citation.png"), full_page=True)
    href = popover.get_by_role("link", name=re.compile("Open the")).get_attribute("href")
    served = page.request.get(url + href.split("#")[0])
    assert served.status == 200 and len(served.body()) > 0
    assert page.request.get(url + "/rag-car/source?path=%2Fetc%2Fpasswd").status == 404
    page.keyboard.press("Escape")

    # the live page: connected to the simulator, key signals with values, refreshing by itself
    page.get_by_role("link", name="Live vehicle").click()
    page.get_by_role("heading", name="Live vehicle").wait_for(timeout=30_000)
    page.get_by_text(re.compile(r"Connected to `?remote:ws://127\.0\.0\.1:\d+/")).wait_for(timeout=30_000)
    speed = page.get_by_test_id("stMetric").filter(has_text="Speed").first
    speed.wait_for(timeout=30_000)
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="stMetric"]')]
                 .some(m => m.innerText.includes('Engine speed') && /\\d/.test(m.innerText))""", timeout=30_000)
    clock = page.get_by_text(re.compile(r"^Updated \d\d:\d\d:\d\d\.\d"))
    first = clock.inner_text()
    page.wait_for_timeout(2500)
    assert clock.inner_text() != first  # refreshed without reloading
    assert page.get_by_text(re.compile(r"frames received")).count() == 1
    page.screenshot(path=str(tmp_path / "04-live.png"), full_page=True)

    # the conversation is still there after visiting the live page
    page.get_by_role("link", name="Chat").click()
    page.get_by_text("What does the coolant temperature warning lamp mean?").wait_for(timeout=15_000)
    page.screenshot(path=str(tmp_path / "05-chat-kept.png"), full_page=True)
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "01-chat-empty.png", "02-chat-answer.png", "03-citation.png", "04-live.png", "05-chat-kept.png"]


def test_auto_follows_a_chinese_browser(server, tmp_path):
    """ui.language = auto (the default) and a browser whose language is zh-CN: the frame, the live tiles and their
    units in Chinese; a Chinese question's answer framed in Chinese."""
    url, root = server
    with browser() as chromium:
        context = chromium.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            page.goto(url + "/")
            page.get_by_role("heading", name="关于您的车辆，请提问").wait_for(timeout=30_000)
            page.get_by_test_id("stSidebar").get_by_text("使用车辆实时数据").wait_for(timeout=30_000)
            sidebar = page.get_by_test_id("stSidebar").inner_text()
            assert "回答对象" in sidebar and "车主" in sidebar and "Answer for" not in sidebar, sidebar
            submit_question(page, "冷却液温度警告灯在多少度时点亮？")
            answer = page.get_by_test_id("stChatMessage").nth(1)
            answer.get_by_text(re.compile(r"由 extractive 回答")).wait_for(timeout=60_000)
            assert re.search(r"资料来源|最接近的资料", answer.inner_text()) and "Answered by" not in answer.inner_text()

            page.get_by_role("link", name="车辆实时数据").click()
            page.get_by_role("heading", name="车辆实时数据").wait_for(timeout=30_000)
            page.wait_for_function(
                """() => [...document.querySelectorAll('[data-testid="stMetric"]')]
                         .some(m => m.innerText.includes('车速') && /\\d 公里\\/小时/.test(m.innerText))""", timeout=30_000)
            page.get_by_text(re.compile(r"已连接 `?remote:ws://127\.0\.0\.1:\d+/")).wait_for(timeout=30_000)
            page.screenshot(path=str(tmp_path / "zh-live.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(tmp_path / "zh-failure.png"), full_page=True)
            print(f"screenshots in {tmp_path}; server log:\n" + (root / "serve.log").read_text(errors="replace")[-3000:])
            raise
        finally:
            context.close()
    assert not errors, errors
