"""A frame language (rag_car/language.py) -> the CLI's own words around an answer: the sources' heading, the notes,
the chat's greeting, help and replies. The answer's text carries its own language (rag_car/answer/i18n.py)."""

from __future__ import annotations

from rag_car.language import LANGUAGES

_LABELS: dict[str, dict[str, str]] = {
    "sources": {"en": "Sources:", "zh": "资料来源："},
    "page": {"en": "{label}, p. {page}", "zh": "{label}，第 {page} 页"},
    "more": {"en": "More:", "zh": "更多内容："},
    "more_hint": {"en": "(more in the sources: --more)", "zh": "（资料中还有更多内容：加 --more 显示）"},
    "note": {"en": "note: {text}", "zh": "提示：{text}"},
    "fallback": {"en": "answered by the extractive backend: {reason}", "zh": "由 extractive 后端回答：{reason}"},
    "profile": {"en": "vehicle profile {name} ({how})", "zh": "车辆配置 {name}（{how}）"},
    "chat_greeting": {"en": "rag-car chat: ask about your vehicle; /help for commands, /quit to leave.",
                      "zh": "rag-car 对话：请提问您车辆的问题；/help 查看命令，/quit 退出。"},
    "chat_prompt": {"en": "you> ", "zh": "您> "},
    "chat_help": {"en": """commands:
  /reset                       forget the conversation
  /persona owner|technician    change who the answers are written for
  /live on|off                 use the live bus data or not
  /backend NAME                extractive, llamacpp, ollama or openai
  /help                        this list
  /quit                        leave (or Ctrl-D)""",
                  "zh": """命令：
  /reset                       清空本次对话
  /persona owner|technician    回答对象：车主（owner）或技师（technician）
  /live on|off                 是否使用车辆实时数据
  /backend NAME                回答后端：extractive、llamacpp、ollama 或 openai
  /help                        显示本列表
  /quit                        退出（或按 Ctrl-D）"""},
    "reset": {"en": "conversation reset", "zh": "对话已清空"},
    "persona_usage": {"en": "usage: /persona {choices} (now {now})", "zh": "用法：/persona {choices}（当前：{now}）"},
    "persona_set": {"en": "persona: {name}", "zh": "回答对象：{name}"},
    "live_usage": {"en": "usage: /live on|off (now {now})", "zh": "用法：/live on|off（当前：{now}）"},
    "live_set": {"en": "live data: {state}", "zh": "实时数据：{state}"},
    "live_no_bus": {"en": "live data: on (no bus is connected: start rag-car chat with --bus SPEC)",
                    "zh": "实时数据：开（没有连接总线：请用 --bus SPEC 启动 rag-car chat）"},
    "on": {"en": "on", "zh": "开"},
    "off": {"en": "off", "zh": "关"},
    "backend_usage": {"en": "usage: /backend {choices} (now {now})", "zh": "用法：/backend {choices}（当前：{now}）"},
    "backend_set": {"en": "backend: {name}", "zh": "回答后端：{name}"},
    "unknown_command": {"en": "unknown command {name}", "zh": "未知命令 {name}"},
}

KEYS = frozenset(_LABELS)


def text(key: str, lang: str = "en", **values: object) -> str:
    """The CLI's words ``key`` in ``lang`` (English when ``lang`` is not one of rag_car.language.LANGUAGES)."""
    table = _LABELS[key]
    return table[lang if lang in LANGUAGES else "en"].format(**values)
