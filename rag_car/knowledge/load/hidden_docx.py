"""A DOCX package -> the same package without the runs Word does not show a reader, and what went.

Word hides a run marked ``<w:vanish/>`` (Font > Hidden), directly or through its character or paragraph style;
a run in a font under 2 px (``w:sz`` is in half-points) or in a colour against its shading (the run's, the
paragraph's, the table cell's, the page's, else white paper) with a WCAG contrast ratio under 1.25 is as unseen.
The rules and thresholds are those of rag_car/knowledge/load/hidden.py for HTML. Such runs are removed from
``word/document.xml`` before unstructured partitions the package. ``w:webHidden`` (hidden on the web layout only,
printed) and theme colours (resolved through the theme part) are left alone: a run whose colour cannot be told is
kept.
"""

from __future__ import annotations

import io
import zipfile

from rag_car.knowledge.load.hidden import MIN_CONTRAST, MIN_FONT_PX, HiddenText, contrast_ratio, parse_colour

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_OFF = {"0", "false", "off"}
_PX_PER_HALF_POINT = 96 / 72 / 2
_WHITE = (255, 255, 255, 1.0)


def drop_hidden_docx(data: bytes) -> tuple[bytes | None, HiddenText]:
    """(the package without hidden runs, or None when it has none; what was dropped)."""
    import lxml.etree

    report = HiddenText()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            document = package.read("word/document.xml")
            styles_xml = package.read("word/styles.xml") if "word/styles.xml" in package.namelist() else b""
            parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
            root = lxml.etree.fromstring(document, parser)
            styles = _styles(lxml.etree.fromstring(styles_xml, parser)) if styles_xml else {}
    except (KeyError, zipfile.BadZipFile, lxml.etree.XMLSyntaxError, OSError):
        return None, report  # the loader says what is wrong with the package
    page = _page_colour(root)
    for run in list(root.iter(f"{_W}r")):
        reason = _hidden(run, styles, page)
        if reason:
            report.add(reason, "".join(t.text or "" for t in run.iter(f"{_W}t")))
            run.getparent().remove(run)
    if not report.pieces:
        return None, report
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = lxml.etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True) \
                if info.filename == "word/document.xml" else source.read(info)
            target.writestr(info, body)
    return out.getvalue(), report


def _on(props, tag: str) -> bool | None:
    """A toggle property of a ``w:rPr`` (``<w:vanish/>``, ``<w:vanish w:val="0"/>``), or None when not set."""
    if props is None:
        return None
    element = props.find(f"{_W}{tag}")
    if element is None:
        return None
    return element.get(f"{_W}val", "true").lower() not in _OFF


def _run_props(props) -> dict[str, object]:
    """The run properties this pass reads, from one ``w:rPr``."""
    found: dict[str, object] = {}
    if props is None:
        return found
    for tag in ("vanish", "specVanish"):
        value = _on(props, tag)
        if value is not None:
            found["vanish"] = value or found.get("vanish", False)
    color = props.find(f"{_W}color")
    if color is not None and color.get(f"{_W}val"):
        found["color"] = color.get(f"{_W}val")
        if color.get(f"{_W}themeColor"):
            found["color"] = "theme"
    size = props.find(f"{_W}sz")
    if size is not None and (size.get(f"{_W}val") or "").isdigit():
        found["sz"] = int(size.get(f"{_W}val"))
    shading = _fill(props)
    if shading:
        found["fill"] = shading
    return found


def _styles(root) -> dict[str, dict[str, object]]:
    """style id -> its run properties, with what it is based on filled in; "" holds the document defaults."""
    own: dict[str, tuple[dict[str, object], str]] = {}
    defaults = root.find(f"{_W}docDefaults/{_W}rPrDefault/{_W}rPr")
    own[""] = (_run_props(defaults), "")
    for style in root.iter(f"{_W}style"):
        based = style.find(f"{_W}basedOn")
        props = _run_props(style.find(f"{_W}rPr"))
        paragraph = style.find(f"{_W}pPr")
        if paragraph is not None and _fill(paragraph):
            props["paragraph_fill"] = _fill(paragraph)
        if style.find(f"{_W}tblPr") is not None or style.find(f"{_W}tblStylePr") is not None:
            props["table_style"] = True
        own[style.get(f"{_W}styleId", "")] = (props, based.get(f"{_W}val", "") if based is not None else "")
    resolved: dict[str, dict[str, object]] = {}

    def resolve(style_id: str, seen: frozenset[str] = frozenset()) -> dict[str, object]:
        if style_id in resolved:
            return resolved[style_id]
        props, based = own.get(style_id, ({}, ""))
        parent = resolve(based, seen | {style_id}) if based and based not in seen else own[""][0]
        resolved[style_id] = {**parent, **props}
        return resolved[style_id]

    for style_id in own:
        resolve(style_id)
    return resolved


def _fill(props) -> str:
    """A shading fill or highlight colour of a properties element (hex), or ""."""
    shading = props.find(f"{_W}shd")
    if shading is not None and (shading.get(f"{_W}fill") or "auto").lower() not in ("auto", ""):
        return shading.get(f"{_W}fill")
    highlight = props.find(f"{_W}highlight")
    if highlight is not None and (highlight.get(f"{_W}val") or "none") != "none":
        return highlight.get(f"{_W}val")
    return ""


def _page_colour(root) -> tuple[int, int, int, float] | None:
    background = root.find(f"{_W}background")
    if background is None:
        return _WHITE
    if background.get(f"{_W}themeColor"):
        return None
    return _hex(background.get(f"{_W}color", "")) if background.get(f"{_W}color") else _WHITE


def _hex(value: str) -> tuple[int, int, int, float] | None:
    value = (value or "").strip()
    if value.lower() == "auto":
        return None
    if len(value) == 6 and all(c in "0123456789abcdefABCDEF" for c in value):
        return parse_colour("#" + value)
    return parse_colour(value)  # highlight names: "white", "black", "yellow" ...


def _hidden(run, styles: dict[str, dict[str, object]], page) -> str:
    """Why Word does not show ``run`` to a reader, or ""."""
    paragraph = next((a for a in run.iterancestors(f"{_W}p")), None)
    p_props = paragraph.find(f"{_W}pPr") if paragraph is not None else None
    p_style = p_props.find(f"{_W}pStyle") if p_props is not None else None
    props = dict(styles.get(p_style.get(f"{_W}val", "") if p_style is not None else "", styles.get("", {})))
    r_props = run.find(f"{_W}rPr")
    r_style = r_props.find(f"{_W}rStyle") if r_props is not None else None
    if r_style is not None:
        props.update({k: v for k, v in styles.get(r_style.get(f"{_W}val", ""), {}).items()})
    props.update(_run_props(r_props))
    if not "".join(t.text or "" for t in run.iter(f"{_W}t")).strip():
        return ""
    if props.get("vanish"):
        return "hidden text"
    size = props.get("sz")
    if isinstance(size, int) and size * _PX_PER_HALF_POINT < MIN_FONT_PX:
        return "font size under 2 px"
    color = props.get("color")
    if not isinstance(color, str) or color in ("auto", "theme"):
        return ""
    ink = _hex(color)
    background = _background(run, props, page)
    if ink is not None and background is not None and contrast_ratio(ink, background) < MIN_CONTRAST:
        return "text the colour of its background"
    return ""


def _background(run, props: dict[str, object], page):
    """The colour behind a run: its own shading, its paragraph's, its table cell's, else the page's; None when
    it cannot be told (a table style, a text box or a shape paints it)."""
    if isinstance(props.get("fill"), str):
        return _hex(props["fill"])
    if isinstance(props.get("paragraph_fill"), str):
        return _hex(props["paragraph_fill"])
    for ancestor in run.iterancestors():
        if ancestor.tag == f"{_W}p":
            own = ancestor.find(f"{_W}pPr")
        elif ancestor.tag == f"{_W}tc":
            own = ancestor.find(f"{_W}tcPr")
        elif ancestor.tag == f"{_W}tbl":
            own = ancestor.find(f"{_W}tblPr")
            if own is not None and (own.find(f"{_W}tblStyle") is not None or _fill(own)):
                return _hex(_fill(own)) if _fill(own) else None  # a table style may shade its cells
            continue
        elif ancestor.tag == f"{_W}txbxContent":
            return None
        else:
            continue
        if own is not None and _fill(own):
            return _hex(_fill(own))
    return page
