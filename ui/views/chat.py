"""Chat page: a question -> a streamed answer with citation chips, live readings, backend and fallback."""

from __future__ import annotations

import time
import traceback

import streamlit as st

from rag_car.errors import BackendUnavailable, EmptyIndexError, RagCarError
from rag_car.language import doc_type_name, with_unit

from ui import conversation, labels, resources
from ui.inert_markdown import inert, inert_stream
from ui.sources import origin_note, source_url

settings = resources.settings()
persona = st.session_state.get(conversation.PERSONA) or settings.llm.persona
vehicle = conversation.vehicle_filter() or conversation.ANY_VEHICLE
LANG = labels.current(st.session_state)

head, tools = st.columns([5, 1], vertical_alignment="bottom")
with head:
    st.title(labels.label("chat_title", LANG))
    scope = labels.label("any_indexed_vehicle", LANG) if vehicle == conversation.ANY_VEHICLE else vehicle
    st.caption(labels.label("answering_as", LANG, persona=labels.persona_in_text(persona, LANG), scope=scope))
with tools:
    if st.button(labels.label("new_conversation", LANG), icon=":material/add_comment:", key="new_conversation", width="stretch"):
        conversation.new_conversation()
        st.rerun()


# -- how one answer looks -----------------------------------------------------------------------

def frame_of(question: str) -> str:
    """The language of the frame around the answer to ``question`` (ui.language, else the question's own)."""
    return labels.answer_frame_language(settings.ui.language, question, LANG)


def render_citation(citation, lang: str) -> None:
    """A chip ``[n] Title, p. N`` that opens onto the passage, its section and page."""
    page = " · " + labels.label("page_n", lang, page=citation.page) if citation.page else ""
    origin = origin_note(citation.metadata)  # a user's upload or an unverified file is marked as such (#19)
    key = {"your upload": "your_upload", "unverified": "unverified"}.get(origin, "")
    shown = labels.label(key, lang) if key else origin
    label = f"[{citation.n}] {citation.title or citation.source.rsplit('/', 1)[-1]}{page}" + (f" · {shown}" if shown else "")
    with st.popover(label, width="content", icon=":material/person:" if origin == "your upload" else None):
        st.markdown(f"**{citation.title or citation.source}**")
        where = [part for part in (citation.section, labels.label("page_word", lang, page=citation.page) if citation.page else "",
                                   doc_type_name(citation.doc_type, lang), shown) if part]
        st.caption(" · ".join(where))
        st.markdown("\n".join("> " + line for line in inert(citation.text or "").splitlines() or [""]))
        if citation.source:
            opener = labels.label("open_pdf_page", lang, page=citation.page) \
                if citation.source.lower().endswith(".pdf") and citation.page else labels.label("open_document", lang)
            st.markdown(f"[:material/open_in_new: {opener}]({source_url(citation.source, citation.page)})")


def render_answer_details(answer, lang: str) -> None:
    """Everything around the answer text: "more", notices, readings, codes, sources, backend."""
    render_more(answer, lang)
    if answer.fallback:
        st.warning(labels.label("fallback", lang, requested=answer.requested_backend or settings.llm.backend,
                                reason=answer.fallback, backend=answer.backend), icon=":material/swap_horiz:")
    for warning in answer.warnings:
        st.error(warning, icon=":material/warning:")
    if answer.signals:
        st.markdown(f"**{labels.label('live_readings_used', lang)}**")
        with st.container(horizontal=True, gap="small"):
            for signal in answer.signals:
                value = signal.value if not isinstance(signal.value, float) else f"{signal.value:.4g}"
                color = {"ok": "green", "low": "orange", "high": "red", "stale": "gray"}.get(signal.status, "blue")
                age = (", " if lang == "en" else "，") + labels.label("seconds_ago", lang, age=f"{signal.age_s:.1f}") \
                    if signal.age_s is not None else ""
                st.badge(labels.label("live_badge", lang, name=signal.name, value=with_unit(str(value), signal.unit, lang),
                                      status=labels.status(signal.status, lang), age=age),
                         icon=":material/sensors:", color=color)
    if answer.dtcs:
        st.markdown(f"**{labels.label('dtcs_read', lang)}**: " + ", ".join(
            f"`{d.code}` {d.description}".strip() for d in answer.dtcs))
    if answer.citations:
        heading = "closest_sources" if not answer.grounded or answer.abstained else "sources"
        st.markdown(f"**{labels.label(heading, lang)}**")
        with st.container(horizontal=True, gap="small"):
            for citation in answer.citations:
                render_citation(citation, lang)
    for notice in answer.notices:
        st.caption(f":material/info: {notice}")
    total = answer.timings.get("total_ms")
    timing = labels.label("in_seconds", lang, seconds=f"{total / 1000:.1f}") if total else ""
    st.caption(labels.label("answered_by", lang, backend=answer.backend, timing=timing,
                            persona=labels.persona_in_text(answer.persona, lang)))


def render_answer(answer, lang: str) -> None:
    if answer.abstained or not answer.grounded:
        st.info(labels.label("not_in_documents", lang), icon=":material/search_off:")
    st.markdown(inert(answer.answer))  # document text: no image fetched, no link off the machine (#19)
    render_answer_details(answer, lang)


def render_more(answer, lang: str) -> None:
    """What the sources add beyond the short answer, folded away (an owner's answer is short by default)."""
    if getattr(answer, "more", ""):
        with st.expander(labels.label("more_from_sources", lang)):
            st.markdown(inert(answer.more))


def render_error(turn: conversation.Turn, index: int) -> None:
    lang = frame_of(turn.question)
    if turn.error_kind == "empty_index":
        st.warning(f"{turn.error}. {turn.fix}", icon=":material/inventory_2:")
        st.page_link("views/documents.py", label=labels.label("add_documents", lang), icon=":material/upload_file:")
    elif turn.error_kind == "interrupted":
        st.info(f"{turn.error}.", icon=":material/pause_circle:")
    else:
        st.error(f"{turn.error}" + ("\n\n" + labels.label("fix", lang, fix=turn.fix) if turn.fix else ""),
                 icon=":material/error:")
        if settings.debug and turn.meta.get("traceback"):
            st.code(turn.meta["traceback"])
    if st.button(labels.label("retry", lang), key=f"retry_{index}", icon=":material/refresh:"):
        conversation.turns().pop(index)
        conversation.ask_from_elsewhere(turn.question, turn.persona)
        st.rerun()


for index, turn in enumerate(conversation.turns()):
    with st.chat_message("user"):
        st.markdown(turn.question)
        if turn.persona != persona or turn.vehicle != vehicle:
            st.caption(f"{labels.persona_in_text(turn.persona, LANG)} · {turn.vehicle}")
    with st.chat_message("assistant"):
        if turn.ok:
            render_answer(turn.answer, frame_of(turn.question))
        else:
            render_error(turn, index)

if not conversation.turns():
    st.markdown(labels.label("intro", LANG))
    examples = [labels.label(f"example_{n}", LANG) for n in (1, 2, 3)]
    with st.container(horizontal=True):
        for n, example in enumerate(examples):
            if st.button(example, key=f"example_{n}", type="tertiary"):
                conversation.ask_from_elsewhere(example)
                st.rerun()


# -- asking -------------------------------------------------------------------------------------

def ask(question: str) -> None:
    """Stream the answer of ``question`` into the page and record the turn (also when it fails)."""
    filter_vehicle = conversation.vehicle_filter()
    turn = conversation.Turn(question=question, persona=persona, vehicle=vehicle)
    context = conversation.history()
    conversation.turns().append(turn)
    with st.chat_message("user"):
        st.markdown(question)
    with st.chat_message("assistant"):
        started = time.perf_counter()
        holder: dict = {}
        try:
            with st.spinner(labels.label("searching", frame_of(question)), show_time=False):
                assistant = resources.assistant()
            stream = assistant.stream(question, history=context, persona=persona, vehicle=filter_vehicle,
                                      use_live=bool(st.session_state.get(conversation.USE_LIVE, True)))

            def pieces():
                for item in stream:
                    if isinstance(item, str):
                        holder.setdefault("first_ms", (time.perf_counter() - started) * 1000)
                        yield item
                    else:
                        holder["answer"] = item

            text_box = st.empty()
            with text_box:
                streamed = st.write_stream(inert_stream(pieces()))
            answer = holder.get("answer")
            if answer is None:
                raise RagCarError("the assistant finished without an answer", "ask again; if it persists, run `rag-car doctor`")
            failure = getattr(answer, "error", "")
            if failure:  # the assistant answers "nothing is indexed" / "could not search" instead of raising
                kind = "empty_index" if "nothing is indexed" in failure.lower() else "error"
                message, _, fix = failure.partition(": ")
                _fail(turn, kind, message, fix)
            if answer.abstained or not answer.grounded or inert(answer.answer or "").strip() != (streamed or "").strip():
                text_box.empty()
                with text_box.container():
                    render_answer(answer, frame_of(question))
            else:
                render_answer_details(answer, frame_of(question))
            turn.answer = answer
            turn.meta["first_ms"] = holder.get("first_ms")
        except EmptyIndexError as exc:
            _fail(turn, "empty_index", exc.message,
                  exc.fix or "add documents on the Documents page, or run `rag-car ingest knowledge/`")
        except BackendUnavailable as exc:
            _fail(turn, "backend", f"The answer backend is not available: {exc.message}", exc.fix or "")
        except RagCarError as exc:
            _fail(turn, "error", exc.message, exc.fix or "")
        except TimeoutError:
            _fail(turn, "error", "the assistant is still loading its models", "wait a moment and press Retry")
        except Exception as exc:  # a bug must not cost the user their question
            turn.meta["traceback"] = traceback.format_exc()
            _fail(turn, "error", f"unexpected {type(exc).__name__}: {exc}",
                  "ask again; run `rag-car --debug serve` and report the traceback if it persists")
        except BaseException:  # Streamlit stopped this run (another page, another question): keep the question
            if turn.answer is None and not turn.error:
                turn.error, turn.error_kind = "answering was interrupted before it finished", "interrupted"
                turn.fix = "ask again with Retry"
            raise


def _fail(turn: conversation.Turn, kind: str, message: str, fix: str) -> None:
    turn.error, turn.fix, turn.error_kind = message, fix, kind
    conversation.keep_draft(turn.question)
    st.rerun()


conversation.restore_draft()
typed = st.chat_input(labels.label("chat_input", LANG), key=conversation.CHAT_INPUT, max_chars=2000)
pending, pending_persona = conversation.take_pending()
question = typed or pending
if question and question.strip():
    if not typed and pending_persona:
        persona = pending_persona
    ask(question.strip())
