"""The UI's language (``ui.language``: auto follows the browser) -> its labels: page titles, the sidebar, persona
names, the live page's headings, tiles and statuses. Answers carry their own language (rag_car/answer/i18n.py)."""

from __future__ import annotations

LANGUAGES = ("en", "zh")

_LABELS: dict[str, dict[str, str]] = {
    "page_chat": {"en": "Chat", "zh": "问答"},
    "page_live": {"en": "Live vehicle", "zh": "车辆实时数据"},
    "page_documents": {"en": "Documents", "zh": "资料"},
    "page_settings": {"en": "Settings", "zh": "设置"},
    "tagline": {"en": "Answers from your vehicle's manuals, DTC references, bulletins and live CAN bus.",
                "zh": "根据您车辆的手册、故障码表、技术通告和实时 CAN 总线数据回答问题。"},
    "answer_for": {"en": "Answer for", "zh": "回答对象"},
    "persona_owner": {"en": "Owner", "zh": "车主"},
    "persona_technician": {"en": "Technician", "zh": "技师"},
    "vehicle": {"en": "Vehicle", "zh": "车型"},
    "model_year": {"en": "Model year", "zh": "年款"},
    "use_live": {"en": "Use live vehicle data", "zh": "使用车辆实时数据"},
    "chat_title": {"en": "Ask about your vehicle", "zh": "关于您的车辆，请提问"},
    "chat_input": {"en": "Ask about your vehicle…", "zh": "请输入您的问题…"},
    "new_conversation": {"en": "New conversation", "zh": "新对话"},
    "live_title": {"en": "Live vehicle", "zh": "车辆实时数据"},
    "key_signals": {"en": "Key signals", "zh": "主要信号"},
    "warning_lamps": {"en": "Warning lamps", "zh": "警告灯"},
    "no_lamp": {"en": "No warning lamp is on.", "zh": "没有警告灯点亮。"},
    "trouble_codes": {"en": "Trouble codes", "zh": "故障码"},
    "no_dtc": {"en": "No active trouble code.", "zh": "没有当前故障码。"},
    "ask_about_this": {"en": "Ask about this", "zh": "询问此项"},
    "no_data": {"en": "no data", "zh": "无数据"},
    "status_ok": {"en": "normal", "zh": "正常"},
    "status_low": {"en": "low", "zh": "偏低"},
    "status_high": {"en": "high", "zh": "偏高"},
    "status_stale": {"en": "stale", "zh": "数据过期"},
}


KEYS = frozenset(_LABELS)
SESSION_KEY = "ui_language"  # the resolved language, set by ui/app.py for the pages


def current(session_state) -> str:
    """The language ui/app.py resolved for this session (English before it ran)."""
    return session_state.get(SESSION_KEY, "en")


def ui_language(setting: str, locale: str | None) -> str:
    """``en`` or ``zh``: the setting when it names one, else (``auto``) the browser's locale ("zh-CN", "zh-TW" -> zh)."""
    if setting in LANGUAGES:
        return setting
    return "zh" if (locale or "").lower().startswith("zh") else "en"


def label(key: str, lang: str = "en") -> str:
    """The label ``key`` in ``lang`` (English when there is no translation)."""
    table = _LABELS[key]
    return table.get(lang, table["en"])
