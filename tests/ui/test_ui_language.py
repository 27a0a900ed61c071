"""The UI in Chinese: ``ui.language`` (auto follows the browser) sets the labels, persona names, the documents and
settings pages, the live page's tiles, statuses and units; an answer's frame follows its question under auto;
English stays the default."""

from __future__ import annotations

import re
from types import SimpleNamespace

from ui_apptest import wait_until, indexed_data, new_app, page_text, popover_labels, ui_env  # noqa: F401  (fixtures)

from rag_car.vehicle.pycan import import_can
from rag_car.vehicle.simulator.runtime import open_simulator
from ui import conversation, resources
from ui.labels import label, persona, ui_language

can = import_can()


def test_language_setting_and_browser_locale():
    assert ui_language("zh", "en-US") == "zh" and ui_language("en", "zh-CN") == "en"
    assert ui_language("auto", "zh-TW") == "zh" and ui_language("auto", "en-GB") == "en"
    assert ui_language("auto", None) == "en"
    assert persona("owner", "zh") == "车主" and persona("owner", "en") == "Owner" and label("chat_title", "fr") == "Ask about your vehicle"


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


def _ask(at, question: str):
    at.chat_input[0].set_value(question).run()
    assert not at.exception, [e.value for e in at.exception]
    return at.session_state[conversation.TURNS][-1]


def test_a_chinese_question_gets_its_answer_frame_in_chinese_on_an_english_page(ui_env, indexed_data):
    ui_env(indexed_data)  # ui.language = auto; AppTest's browser has no Chinese locale: the page is English
    at = new_app().run()
    assert at.title[0].value == "Ask about your vehicle"
    turn = _ask(at, "冷却液温度警告灯在多少度时点亮？")
    assert turn.ok, (turn.error, turn.fix)
    text = page_text(at)
    assert ("**资料来源**" in text or "**最接近的资料**" in text) and "由 **extractive** 回答" in text, text
    assert "Answered by" not in text and "**Sources**" not in text
    chips = popover_labels(at)
    assert chips and all("p. " not in chip for chip in chips)  # a page is "第 N 页" in a Chinese frame
    english = _ask(at, "What does the coolant temperature warning lamp mean?")
    assert english.ok and "Answered by **extractive**" in page_text(at)  # each answer keeps its own frame


def test_the_setting_overrides_the_question_and_the_page_speaks_chinese(ui_env, indexed_data):
    ui_env(indexed_data, RAG_CAR_UI__LANGUAGE="zh")
    at = new_app().run()
    assert not at.exception
    text = page_text(at)
    assert "冷却液温度警告灯亮了是什么意思？" in [b.label for b in at.button]  # the examples ask in Chinese
    assert "回答对象 **车主**" in text and at.sidebar.selectbox[0].format_func("Any vehicle") == "任意车型"
    turn = _ask(at, "What does the coolant temperature warning lamp mean?")
    assert turn.ok and "由 **extractive** 回答" in page_text(at)


def test_documents_and_settings_pages_in_chinese(ui_env, indexed_data):
    ui_env(indexed_data, RAG_CAR_UI__LANGUAGE="zh")
    at = new_app().run()
    at.switch_page("views/documents.py").run()
    assert not at.exception, [e.value for e in at.exception]
    text = page_text(at)
    assert "添加资料" in text and "按资料类型" in text and "文档列表" in text
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["文档"]) > 0 and int(metrics["段落"].replace(",", "")) > 0
    types = list(at.dataframe[0].value["类型"])
    assert "车主手册" in types and "owner manual" not in types
    assert at.button[0].label == "加入索引"
    at.switch_page("views/settings.py").run()
    assert not at.exception
    text = page_text(at)
    assert "运行状态" in text and "界面语言：`zh`" in text and "车辆配置" in text
    assert {m.label for m in at.metric} == {"回答后端", "向量库", "CAN 总线"}


def test_live_page_tiles_statuses_and_units_in_chinese(ui_env):
    state = ui_env(RAG_CAR_UI__LANGUAGE="zh")
    channel = state["bus"].split(":", 1)[1]
    at = new_app().run()
    at.switch_page("views/live.py").run()
    assert not at.exception
    live = resources.live_feed().live
    with can.Bus(interface="virtual", channel=channel) as bus, \
            open_simulator(bus, "overheating", time_scale=20.0, warn=lambda *_: None):
        wait_until(lambda: any(d.code == "P0217" for d in live.snapshot().dtcs), 30.0)
        wait_until(lambda: (live.snapshot().signal("CoolantTemp") or SimpleNamespace(status="")).status == "high", 10.0)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        text = page_text(at)
        assert f"已连接 `{state['bus']}`" in text and "已收到" in text and "主要信号" in text
        metrics = {m.label: m for m in at.metric}
        assert {"车速", "发动机转速", "冷却液温度", "12 V 蓄电池", "燃油", "左前胎压", "右后胎压"} <= set(metrics), set(metrics)
        assert metrics["车速"].value.endswith(" 公里/小时") and metrics["发动机转速"].value.endswith(" 转/分")
        assert re.match(r"^-?[\d,.]+ 公里/小时$", metrics["车速"].value)  # the number as read, only the unit renamed
        assert metrics["冷却液温度"].value.endswith("°C") and metrics["冷却液温度"].proto.delta == "偏高"
        assert "超出范围或数据过期" in text and "CoolantTemp" in list(at.dataframe[0].value["信号"])
        assert "偏高" in list(at.dataframe[0].value["状态"])
        next(b for b in at.button if b.label == "询问此项").click().run()
        assert not at.exception
    question = at.session_state[conversation.TURNS][-1].question
    assert question.startswith("故障码 P0217") and at.title[0].value == "关于您的车辆，请提问"
