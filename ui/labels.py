"""The UI's language (``ui.language``: auto follows the browser, and an answer's frame its question) -> its labels: page
titles, the sidebar, persona names, the chat's frame around an answer, the live page's banner, tiles and statuses,
the documents and settings pages. Answers carry their own language (rag_car/answer/i18n.py); the rule that picks the
language, units and persona names are rag_car/language.py's, shared with the CLI."""

from __future__ import annotations

from rag_car.language import LANGUAGES, frame_language, persona_name

_LABELS: dict[str, dict[str, str]] = {
    # the frame: pages and sidebar
    "page_chat": {"en": "Chat", "zh": "问答"},
    "page_live": {"en": "Live vehicle", "zh": "车辆实时数据"},
    "page_documents": {"en": "Documents", "zh": "资料"},
    "page_settings": {"en": "Settings", "zh": "设置"},
    "tagline": {"en": "Answers from your vehicle's manuals, DTC references, bulletins and live CAN bus.",
                "zh": "根据您车辆的手册、故障码表、技术通告和实时 CAN 总线数据回答问题。"},
    "answer_for": {"en": "Answer for", "zh": "回答对象"},
    "answer_for_help": {"en": "Owner: plain steps and when to see a dealer. Technician: codes, values, procedures.",
                        "zh": "车主：简明的操作步骤，以及何时需要去经销商。技师：故障码、数值和维修步骤。"},
    "vehicle": {"en": "Vehicle", "zh": "车型"},
    "vehicle_help": {"en": "Only documents for this vehicle are searched. The list shows what is indexed.",
                     "zh": "只检索这一车型的资料。列表显示已建立索引的车型。"},
    "any_vehicle": {"en": "Any vehicle", "zh": "任意车型"},
    "any_year": {"en": "Any year", "zh": "任意年款"},
    "model_year": {"en": "Model year", "zh": "年款"},
    "use_live": {"en": "Use live vehicle data", "zh": "使用车辆实时数据"},
    "use_live_help": {"en": "Answers also use the signals, warning lamps and trouble codes on the bus.",
                      "zh": "回答时也使用总线上的信号、警告灯和故障码。"},
    "backend_bus": {"en": "Backend **{backend}** · bus `{bus}`", "zh": "回答后端 **{backend}** · 总线 `{bus}`"},
    # the chat page
    "chat_title": {"en": "Ask about your vehicle", "zh": "关于您的车辆，请提问"},
    "chat_input": {"en": "Ask about your vehicle…", "zh": "请输入您的问题…"},
    "new_conversation": {"en": "New conversation", "zh": "新对话"},
    "answering_as": {"en": "Answering as **{persona}** for **{scope}** · change both in the sidebar",
                     "zh": "回答对象 **{persona}** · 车型 **{scope}** · 可在侧边栏更改"},
    "any_indexed_vehicle": {"en": "any indexed vehicle", "zh": "任意已索引车型"},
    "intro": {"en": "Ask about a warning lamp, a trouble code, a maintenance step or what the car is doing right now. "
                    "Each answer cites the manual pages it comes from.",
              "zh": "可以询问警告灯、故障码、保养步骤，或车辆此刻的状态。每个回答都注明出自手册的哪一页。"},
    "example_1": {"en": "What does the coolant temperature warning lamp mean?", "zh": "冷却液温度警告灯亮了是什么意思？"},
    "example_2": {"en": "What does P0217 mean and is it safe to drive?", "zh": "故障码 P0217 是什么意思？还能继续开吗？"},
    "example_3": {"en": "What tire pressure should I use?", "zh": "轮胎气压应该是多少？"},
    "searching": {"en": "Searching the documents…", "zh": "正在检索资料…"},
    "not_in_documents": {"en": "Not in the documents: the indexed documents do not answer this. The closest sources "
                               "are below.",
                         "zh": "资料中没有答案：已索引的资料没有回答这个问题。下面列出最接近的资料。"},
    "more_from_sources": {"en": "More from the sources", "zh": "资料中的更多内容"},
    "fallback": {"en": "**{requested}** was not available ({reason}); this answer comes from the **{backend}** backend.",
                 "zh": "**{requested}** 不可用（{reason}）；本回答由 **{backend}** 后端生成。"},
    "live_readings_used": {"en": "Live readings used", "zh": "使用的实时数据"},
    "seconds_ago": {"en": "{age} s ago", "zh": "{age} 秒前"},
    "live_badge": {"en": "live · {name} {value} ({status}{age})", "zh": "实时 · {name} {value}（{status}{age}）"},
    "dtcs_read": {"en": "Trouble codes read from the vehicle", "zh": "从车辆读取的故障码"},
    "sources": {"en": "Sources", "zh": "资料来源"},
    "closest_sources": {"en": "Closest sources", "zh": "最接近的资料"},
    "page_n": {"en": "p. {page}", "zh": "第 {page} 页"},
    "page_word": {"en": "page {page}", "zh": "第 {page} 页"},
    "open_pdf_page": {"en": "Open the PDF at page {page}", "zh": "打开 PDF 第 {page} 页"},
    "open_document": {"en": "Open the document", "zh": "打开文档"},
    "your_upload": {"en": "your upload", "zh": "您上传的文件"},
    "unverified": {"en": "unverified", "zh": "未经核实"},
    "answered_by": {"en": "Answered by **{backend}**{timing} · {persona}", "zh": "由 **{backend}** 回答{timing} · {persona}"},
    "in_seconds": {"en": " in {seconds} s", "zh": "，用时 {seconds} 秒"},
    "add_documents": {"en": "Add documents", "zh": "添加资料"},
    "retry": {"en": "Retry", "zh": "重试"},
    "fix": {"en": "Fix: {fix}", "zh": "解决办法：{fix}"},
    # the live page
    "live_title": {"en": "Live vehicle", "zh": "车辆实时数据"},
    "key_signals": {"en": "Key signals", "zh": "主要信号"},
    "warning_lamps": {"en": "Warning lamps", "zh": "警告灯"},
    "no_lamp": {"en": "No warning lamp is on.", "zh": "没有警告灯点亮。"},
    "flashing": {"en": " (flashing)", "zh": "（闪烁）"},
    "trouble_codes": {"en": "Trouble codes", "zh": "故障码"},
    "no_dtc": {"en": "No active trouble code.", "zh": "没有当前故障码。"},
    "no_dtc_description": {"en": "no description in the documents", "zh": "资料中没有说明"},
    "dtc_read_via": {"en": "{status} · read via {source}", "zh": "{status} · 读取方式 {source}"},
    "ask_about_this": {"en": "Ask about this", "zh": "询问此项"},
    "ask_dtc": {"en": "What does trouble code {code} mean, and what should I do?",
                "zh": "故障码 {code} 是什么意思？我应该怎么办？"},
    "ask_dtc_described": {"en": "What does trouble code {code} mean ({description}), and what should I do?",
                          "zh": "故障码 {code}（{description}）是什么意思？我应该怎么办？"},
    "no_data": {"en": "no data", "zh": "无数据"},
    "status_ok": {"en": "normal", "zh": "正常"},
    "status_low": {"en": "low", "zh": "偏低"},
    "status_high": {"en": "high", "zh": "偏高"},
    "status_stale": {"en": "stale", "zh": "数据过期"},
    "tile_Speed": {"en": "Speed", "zh": "车速"},
    "tile_Engine speed": {"en": "Engine speed", "zh": "发动机转速"},
    "tile_Coolant": {"en": "Coolant", "zh": "冷却液温度"},
    "tile_12 V battery": {"en": "12 V battery", "zh": "12 V 蓄电池"},
    "tile_Fuel": {"en": "Fuel", "zh": "燃油"},
    "tile_Tire FL": {"en": "Tire FL", "zh": "左前胎压"},
    "tile_Tire FR": {"en": "Tire FR", "zh": "右前胎压"},
    "tile_Tire RL": {"en": "Tire RL", "zh": "左后胎压"},
    "tile_Tire RR": {"en": "Tire RR", "zh": "右后胎压"},
    "updated": {"en": "Updated {time} · refreshes every {every} s", "zh": "更新于 {time} · 每 {every} 秒刷新"},
    "bus_connected": {"en": "Connected to `{spec}` · {frames} frames received",
                      "zh": "已连接 `{spec}` · 已收到 {frames} 帧"},
    "bus_silent": {"en": "Connected to `{spec}` but the bus is silent ({age}). Is the ignition on?",
                   "zh": "已连接 `{spec}`，但总线没有数据（{age}）。点火开关打开了吗？"},
    "no_frame_yet": {"en": "no frame yet", "zh": "尚未收到数据帧"},
    "last_frame": {"en": "last frame {age} s ago", "zh": "最后一帧在 {age} 秒前"},
    "bus_connecting": {"en": "Connecting to `{spec}`…", "zh": "正在连接 `{spec}`…"},
    "bus_unreachable": {"en": "The bus `{spec}` is not reachable: {error}.", "zh": "无法连接总线 `{spec}`：{error}。"},
    "no_connection": {"en": "no connection", "zh": "没有连接"},
    "bus_retrying": {"en": "Retrying every few seconds; the rest of the app keeps working.",
                     "zh": "每隔几秒自动重试；应用的其他功能照常可用。"},
    "obd_reading": {"en": "Reading `{spec}` through the OBD-II adapter", "zh": "正在通过 OBD-II 适配器读取 `{spec}`"},
    "obd_progress": {"en": "OBD-II adapter `{spec}`: {step}… (step {n} of {total})",
                     "zh": "OBD-II 适配器 `{spec}`：{step}…（第 {n} 步，共 {total} 步）"},
    "out_of_range": {"en": "Out of range or stale", "zh": "超出范围或数据过期"},
    "signal_history": {"en": "Signal history", "zh": "信号历史"},
    "signals_to_chart": {"en": "Signals to chart (type to search; listed by message)",
                         "zh": "要绘制的信号（可输入搜索；按报文排列）"},
    "signals_placeholder": {"en": "e.g. CoolantTemp, EngineSpeed", "zh": "例如 CoolantTemp、EngineSpeed"},
    "show_all_signals": {"en": "Show every signal received", "zh": "显示收到的全部信号"},
    "no_readings_yet": {"en": "no readings yet", "zh": "还没有读数"},
    "all_signals": {"en": "All signals received ({n})", "zh": "收到的全部信号（{n}）"},
    "seconds_ago_axis": {"en": "seconds ago", "zh": "秒前"},
    "col_message": {"en": "message", "zh": "报文"},
    "col_signal": {"en": "signal", "zh": "信号"},
    "col_value": {"en": "value", "zh": "数值"},
    "col_status": {"en": "status", "zh": "状态"},
    "col_age": {"en": "age (s)", "zh": "数据时长（秒）"},
    # the documents page
    "documents_caption": {"en": "Owner's and service manuals, DTC tables, bulletins, recalls and NHTSA files. "
                                "Everything added here is searched by the chat.",
                          "zh": "车主手册、维修手册、故障码表、技术通告、召回和 NHTSA 文件。这里添加的所有资料都会被问答检索。"},
    "add_documents_heading": {"en": "Add documents", "zh": "添加资料"},
    "upload_label": {"en": "PDF, HTML, DOCX, Markdown, text, reStructuredText, DTC CSV or NHTSA flat files "
                           "(tab-separated), up to {mb} MB each",
                     "zh": "PDF、HTML、DOCX、Markdown、纯文本、reStructuredText、故障码 CSV 或 NHTSA 平面文件"
                           "（制表符分隔），每个文件不超过 {mb} MB"},
    "add_to_index": {"en": "Add to the index", "zh": "加入索引"},
    "indexing": {"en": "Indexing…", "zh": "正在建立索引…"},
    "done": {"en": "Done", "zh": "完成"},
    "index_heading": {"en": "Index", "zh": "索引"},
    "index_unreadable": {"en": "The index cannot be read: {message}", "zh": "无法读取索引：{message}"},
    "nothing_indexed": {"en": "Nothing is indexed yet: add documents above, or run `rag-car ingest knowledge/` for the "
                              "bundled manuals.",
                        "zh": "还没有任何资料建立索引：请在上方添加资料，或运行 `rag-car ingest knowledge/` 导入自带的手册。"},
    "m_documents": {"en": "Documents", "zh": "文档"},
    "m_passages": {"en": "Passages", "zh": "段落"},
    "m_vehicles": {"en": "Vehicles", "zh": "车型"},
    "by_type": {"en": "By document type", "zh": "按资料类型"},
    "by_vehicle": {"en": "By vehicle", "zh": "按车型"},
    "documents_list": {"en": "Documents", "zh": "文档列表"},
    "col_type": {"en": "type", "zh": "类型"},
    "col_documents": {"en": "documents", "zh": "文档数"},
    "col_passages": {"en": "passages", "zh": "段落数"},
    "col_vehicle": {"en": "vehicle", "zh": "车型"},
    "col_title": {"en": "title", "zh": "标题"},
    "col_file": {"en": "file", "zh": "文件"},
    "remove_heading": {"en": "Remove a document", "zh": "移除文档"},
    "document": {"en": "Document", "zh": "文档"},
    "remove_confirm": {"en": "Yes, remove it from the index (uploaded files are deleted too)",
                       "zh": "确定从索引中移除（上传的文件也会被删除）"},
    "remove": {"en": "Remove", "zh": "移除"},
    "tick_to_confirm": {"en": "Tick the box to confirm the removal.", "zh": "请勾选确认框后再移除。"},
    "could_not_remove": {"en": "Could not remove it: {message}", "zh": "无法移除：{message}"},
    "removed_passages": {"en": "{n} passages taken out of the index", "zh": "已从索引中移除 {n} 个段落"},
    "result_ingested": {"en": "ingested", "zh": "已加入索引"},
    "result_updated": {"en": "updated", "zh": "已更新"},
    "result_unchanged": {"en": "unchanged", "zh": "未变化"},
    "result_refused": {"en": "refused", "zh": "已拒绝"},
    "result_failed": {"en": "failed", "zh": "失败"},
    "result_removed": {"en": "removed", "zh": "已移除"},
    # the settings page
    "settings_caption": {"en": "The resolved configuration of this server and whether each part is reachable (same "
                               "checks as `rag-car doctor`).",
                         "zh": "本服务器当前生效的配置，以及各部分是否可用（与 `rag-car doctor` 的检查相同）。"},
    "check_again": {"en": "Check again", "zh": "重新检查"},
    "checking": {"en": "Checking…", "zh": "正在检查…"},
    "m_backend": {"en": "Answer backend", "zh": "回答后端"},
    "m_store": {"en": "Vector store", "zh": "向量库"},
    "m_bus": {"en": "CAN bus", "zh": "CAN 总线"},
    "health": {"en": "Health", "zh": "运行状态"},
    "vehicle_profile": {"en": "Vehicle profile", "zh": "车辆配置"},
    "pick_profile": {"en": "Pick a profile", "zh": "选择车辆配置"},
    "use_profile": {"en": "Use this profile", "zh": "使用此配置"},
    "how_to_change": {"en": "How to change them", "zh": "如何修改"},
    "all_settings": {"en": "All resolved settings", "zh": "全部生效的设置"},
    "language_setting": {"en": "UI language: `{setting}` (now {now}) · `RAG_CAR_UI__LANGUAGE=zh` or `[ui]` "
                               "`language = \"zh\"`; auto follows the browser, and each answer's frame its question",
                         "zh": "界面语言：`{setting}`（当前 {now}）· `RAG_CAR_UI__LANGUAGE=zh` 或 `[ui]` "
                               "`language = \"zh\"`；auto 跟随浏览器语言，回答的框架跟随提问的语言"},
}

KEYS = frozenset(_LABELS)
SESSION_KEY = "ui_language"  # the resolved language, set by ui/app.py for the pages


def current(session_state) -> str:
    """The language ui/app.py resolved for this session (English before it ran)."""
    return session_state.get(SESSION_KEY, "en")


def ui_language(setting: str, locale: str | None) -> str:
    """``en`` or ``zh``: the setting when it names one, else (``auto``) the browser's locale ("zh-CN", "zh-TW" -> zh)."""
    return frame_language(setting, locale=locale)


def answer_frame_language(setting: str, question: str, page_lang: str) -> str:
    """The language of the frame around one answer: ``setting`` when it names one, else the question's language;
    ``page_lang`` for an empty question."""
    return frame_language(setting, question) if (question or "").strip() else page_lang


def label(key: str, lang: str = "en", **values: object) -> str:
    """The label ``key`` in ``lang`` (English when there is no translation), formatted with ``values``."""
    table = _LABELS[key]
    text = table[lang] if lang in LANGUAGES and lang in table else table["en"]
    return text.format(**values) if values else text


def tile(title: str, lang: str = "en") -> str:
    """A live tile's title ("Speed", "Tire FL") in ``lang``; a title without a translation as it is."""
    key = f"tile_{title}"
    return label(key, lang) if key in KEYS else title


def status(name: str, lang: str = "en") -> str:
    """A reading's status ("ok", "low", "high", "stale") in words in ``lang``; another status as it is."""
    key = f"status_{name}"
    return label(key, lang) if key in KEYS else name


def persona(name: str, lang: str = "en") -> str:
    """A persona's display name in ``lang`` (rag_car/language.py's table): the sidebar's choices."""
    return persona_name(name, lang)


def persona_in_text(name: str, lang: str = "en") -> str:
    """A persona inside a sentence: the key people type in settings and the CLI ("technician") in English, its name
    in Chinese ("技师")."""
    return name if lang == "en" else persona_name(name, lang)
