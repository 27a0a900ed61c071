"""The UI in Chinese: ``ui.language`` (auto follows the browser) sets the labels, persona names and the live page's
headings; English stays the default."""

from __future__ import annotations

from ui_apptest import new_app, page_text, ui_env  # noqa: F401  (fixtures)

from ui.labels import label, ui_language


def test_language_setting_and_browser_locale():
    assert ui_language("zh", "en-US") == "zh" and ui_language("en", "zh-CN") == "en"
    assert ui_language("auto", "zh-TW") == "zh" and ui_language("auto", "en-GB") == "en"
    assert ui_language("auto", None) == "en"
    assert label("persona_owner", "zh") == "车主" and label("persona_owner", "en") == "Owner"


def test_chinese_ui_labels_on_the_chat_and_live_pages(ui_env):
    ui_env(RAG_CAR_UI__LANGUAGE="zh")
    at = new_app().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "关于您的车辆，请提问" in page_text(at)
    assert at.chat_input[0].proto.placeholder == "请输入您的问题…"
    assert at.toggle[0].label == "使用车辆实时数据"
    assert at.selectbox[0].label == "车型"
    at.switch_page("views/live.py").run()
    assert not at.exception and "车辆实时数据" in page_text(at)


def test_english_stays_the_default(ui_env):
    ui_env()
    at = new_app().run()
    assert not at.exception
    assert "Ask about your vehicle" in page_text(at) and at.toggle[0].label == "Use live vehicle data"
