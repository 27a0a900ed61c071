"""Document text rendered by the UI (issue 19): an image in a document or an answer is never fetched and a link off
the machine is shown as its address; the app's own links stay links."""

from __future__ import annotations

import re

from ui_apptest import new_app, ui_env  # noqa: F401  (fixture)

from ui import conversation
from ui.inert_markdown import inert, inert_stream

TRACKER = "http://attacker.example/pixel.png?q=spare"
REMOTE = re.compile(r"!\[[^\]]*\]\(|\]\(\s*<?(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)  # an image, a link with a scheme


def test_images_and_links_off_the_machine_are_shown_as_text():
    cases = {
        f"See ![logo]({TRACKER}) here.": f"See logo (image `{TRACKER}`) here.",
        "[the manual](https://attacker.example/x \"Owner's manual\")": "the manual (`https://attacker.example/x`)",
        "[x](javascript:alert(1))": "x (`javascript:alert(1)`)",
        "[x](//attacker.example/y)": "x (`//attacker.example/y`)",
        "[r]: http://attacker.example/r.png\n\n![x][r]": "\\[r]: http://attacker.example/r.png\n\n!\\[x][r]",
    }
    for text, shown in cases.items():
        assert inert(text) == shown, text
        assert not REMOTE.search(inert(text)), text
    for kept in ("[Open the PDF at page 3](/rag-car/source?path=%2Fa.pdf#page=3)", "Inflate to 2.3 bar! [1] [2]",
                 "Torque (Nm) [see table]", "", "注意：[1]"):
        assert inert(kept) == kept


def test_a_stream_cut_between_the_bang_and_the_bracket_shows_no_image():
    pieces = ["The spare wheel is under the floor !", f"[logo]({TRACKER})", " of the boot!"]
    streamed = "".join(inert_stream(pieces))
    assert "![" not in streamed and streamed.endswith("of the boot!")
    assert "".join(inert_stream(["plain ", "text"])) == "plain text"


def test_an_answer_quoting_a_planted_image_fetches_nothing(ui_env, tmp_path):  # noqa: F811
    """A text file whose sentence carries a Markdown image and a link: the extractive answer quotes it, and the page
    shows it without either (the answer's own text still has them: what the UI must not render)."""
    from rag_car.knowledge.ingest import ingest
    from rag_car.settings import load_settings

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "spare_wheel.txt").write_text(
        "Spare wheel\n===========\n\n"
        f"The spare wheel is stored under the floor of the boot ![logo]({TRACKER}), beside the jack. "
        "The [wheel brace](https://attacker.example/brace) is clipped to the spare wheel.\n", encoding="utf-8")
    data = tmp_path / "data"
    settings = load_settings(overrides={"data_dir": str(data), "embedding": {"model": "hash"}, "llm": {"backend": "extractive"}})
    assert ingest(settings, [folder]).ok
    ui_env(data)
    at = new_app().run()
    at.chat_input[0].set_value("Where is the spare wheel stored?").run()
    assert not at.exception, [e.value for e in at.exception]
    turn = at.session_state[conversation.TURNS][-1]
    assert turn.ok and TRACKER in turn.answer.answer + "".join(c.text for c in turn.answer.citations)
    rendered = [str(m.value) for m in at.markdown]
    assert any("spare wheel" in m for m in rendered)
    assert not [m for m in rendered if REMOTE.search(m)], [m for m in rendered if REMOTE.search(m)]
