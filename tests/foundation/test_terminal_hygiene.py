"""Escape sequences in documents, file names, DBC files and CAN logs never reach the terminal raw (issue #19).

Every command runs for real (`python -m rag_car ...`); the planted sequences retitle the terminal (OSC 0 ... BEL)
and clear it (CSI 2J). Text output must not carry ESC, BEL or any other control but newline and tab; JSON output
keeps the characters as data, escaped.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rag_car.cli.terminal import clean, json_text

TITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J"
HASH = {"RAG_CAR_EMBEDDING__MODEL": "hash", "RAG_CAR_LLM__BACKEND": "extractive"}
VEHICLE_FILES = Path(__file__).resolve().parents[1] / "files" / "vehicle"
_RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def assert_clean(result) -> None:
    for name, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        found = _RAW_CONTROL.findall(text)
        assert not found, f"{name} carries raw control characters {found!r}:\n{text[-2000:]!r}"


@pytest.fixture
def planted(tmp_path) -> Path:
    """A folder with a document whose name, title and text carry escape sequences, and an empty one that fails."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / f"brake{CLEAR}fluid.md").write_text(
        f"# Brake fluid {TITLE}service\n\nReplace the brake fluid every 3 years.{CLEAR} The brake fluid "
        "\x1b[31mreservoir\x1b[0m is under the hood, beside the \x9b2Jmaster cylinder.\n", encoding="utf-8")
    (docs / f"empty{TITLE}.md").write_text("", encoding="utf-8")
    return docs


def test_clean_removes_whole_sequences_and_controls_but_keeps_text():
    assert clean(f"a{TITLE}b{CLEAR}c\x1b[1;31md\x1b[0m") == "abcd"
    assert clean("tab\tand\nnewline stay; bell\x07, backspace\x08, CR\r, DEL\x7f, C1\x85 go") == \
        "tab\tand\nnewline stay; bell, backspace, CR, DEL, C1 go"
    assert clean("\x1bP1;2|data\x1b\\after") == "after"  # DCS string up to ST
    assert clean("\x9b2Jx\x9d0;t\x9cy") == "xy"  # 8-bit CSI and OSC
    assert clean("unterminated \x1b]0;title") == "unterminated "
    assert clean("Ölstand 油温 ✓") == "Ölstand 油温 ✓"
    data = {"title": f"x{TITLE}\x85y"}
    text = json_text(data, ensure_ascii=False)
    assert not _RAW_CONTROL.search(text) and json.loads(text) == data


def test_ingest_index_search_and_ask_print_no_escape_sequences(cli, planted):
    ingest = cli("ingest", str(planted), "--no-answer-sentences", env=HASH)
    assert ingest.returncode == 1, ingest.stderr  # the empty file fails
    assert "1 ingested" in ingest.stdout
    assert "empty.md is empty" in ingest.stderr  # the failure names the (cleaned) file
    assert_clean(ingest)

    listed = cli("index", "list", env=HASH)
    assert listed.returncode == 0 and "brakefluid.md" in listed.stdout
    assert_clean(listed)

    found = cli("search", "brake fluid reservoir", env=HASH)
    assert found.returncode == 0 and "reservoir" in found.stdout and "brakefluid.md" in found.stdout
    assert_clean(found)

    answer = cli("ask", "Where is the brake fluid reservoir?", env=HASH)
    assert answer.returncode == 0, answer.stderr
    assert "Brake fluid service" in answer.stdout  # the cited title, without its escape sequence
    assert_clean(answer)


def test_json_output_escapes_the_characters_and_keeps_them_as_data(cli, planted):
    ingest = cli("ingest", str(planted), "--no-answer-sentences", "--json", env=HASH)
    assert_clean(ingest)
    summary = json.loads(ingest.stdout)
    assert any(CLEAR in f["path"] for f in summary["files"])  # data unchanged, only escaped

    answer = cli("ask", "--json", "Where is the brake fluid reservoir?", env=HASH)
    assert answer.returncode == 0, answer.stderr
    assert_clean(answer)
    citations = json.loads(answer.stdout)["citations"]
    assert any(TITLE in c["title"] for c in citations)

    found = cli("search", "--json", "brake fluid reservoir", env=HASH)
    assert_clean(found)  # search --json writes ensure_ascii=False: the 8-bit CSI in the text must be escaped too
    assert "\\u009b" in found.stdout

    listed = cli("index", "list", "--json", env=HASH)
    assert_clean(listed)
    assert any(CLEAR in f["path"] for f in json.loads(listed.stdout))


def test_decode_and_monitor_print_no_escape_sequences_from_the_dbc_or_the_log(cli, tmp_path):
    dbc = tmp_path / "planted.dbc"
    dbc.write_text((VEHICLE_FILES / "bench_car.dbc").read_text().replace('0 "Park"', f'0 "Park{TITLE}"')
                   + f'\nCM_ BO_ 999 "{CLEAR}";\n', encoding="utf-8")
    log = tmp_path / "drive.log"
    log.write_text("(1700000000.000000) can0 100#A00F7D0000140000\n"
                   f"this line {CLEAR}is not a frame{TITLE}\n"
                   "(1700000000.010000) can0 100#A00F7D0000140000\n", encoding="utf-8")

    decoded = cli("decode", str(log), "--dbc", str(dbc))
    assert decoded.returncode == 0, decoded.stderr
    assert "GearPosition=Park(0)" in decoded.stdout
    assert "unreadable" in decoded.stderr or "line 2" in decoded.stderr
    assert_clean(decoded)

    monitored = cli("monitor", "--once", "--dbc", str(dbc), "--bus", f"replay:{log}?speed=max", "--listen", "2")
    assert monitored.returncode == 0, monitored.stderr
    assert "Park" in monitored.stdout
    assert_clean(monitored)


def test_log_records_warnings_and_prints_of_any_library_are_cleaned_too(tmp_path):
    """What third-party code writes during a command (logging, warnings.warn, print) goes through the same filter."""
    import subprocess
    import sys

    script = (
        "import logging, warnings\n"
        "from rag_car.cli.terminal import cleaned_output\n"
        "with cleaned_output():\n"
        f"    logging.getLogger('chromadb').warning('segment %s', {TITLE!r})\n"
        f"    warnings.warn('odd DBC line {CLEAR}')\n"
        f"    print('printed', {TITLE + CLEAR!r})\n"
        f"print('after the block the streams are the original ones', {CLEAR!r})\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "segment " in done.stderr and "odd DBC line" in done.stderr and "printed" in done.stdout
    assert not _RAW_CONTROL.search(done.stderr), done.stderr
    assert done.stdout.count("\x1b") == 1  # only the line printed after the block is raw
