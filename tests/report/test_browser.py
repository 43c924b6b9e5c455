"""The report's page in a real headless Chromium: it draws its charts, logs no error, makes no
request beyond its own file, and shows hostile log text as inert, masked text.

``TXDIAG_WRITE_SCREENSHOT=1`` also writes docs/report.png (the picture in the README) from the
screenshot taken here.
"""

from __future__ import annotations

import io
import os
import re
import sys
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from txdiag.cli.app import app

sys.path.insert(0, str(Path(__file__).parent))
import hostile  # noqa: E402

from conftest import Page  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "transactions.jsonl"
DOCS_PNG = ROOT / "docs" / "report.png"


def make_report(*args: str) -> None:
    result = CliRunner().invoke(app, ["report", *args, "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def ink(image: Image.Image, box: dict[str, float]) -> float:
    """The share of pixels in ``box`` that are not (nearly) white."""
    region = image.convert("L").crop((int(box["x"]), int(box["y"]),
                                      int(box["x"] + box["width"]),
                                      int(box["y"] + box["height"])))
    histogram = region.histogram()
    return 1 - sum(histogram[245:]) / max(1, sum(histogram))


def test_example_report_in_chromium(page: Page, tmp_path: Path) -> None:
    report = tmp_path / "incident.html"
    make_report(str(EXAMPLE), "-o", str(report))
    page.open(report)
    assert page.errors() == []
    assert page.requests() == [report.resolve().as_uri()]
    assert page.evaluate("document.scripts.length") == 0
    boxes = page.evaluate(
        "Object.fromEntries(['headline', 'timeline-chart', 'category-charts', 'reconcile', "
        "'notify'].map(id => { const r = document.getElementById(id).getBoundingClientRect();"
        " return [id, {x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height}];"
        " }))")
    # in the order a reader needs them
    order = ["headline", "timeline-chart", "category-charts", "reconcile", "notify"]
    assert [boxes[name]["y"] for name in order] == sorted(boxes[n]["y"] for n in order)
    shot = page.screenshot()
    image = Image.open(io.BytesIO(shot))
    for chart in ("timeline-chart", "category-charts"):
        box = boxes[chart]
        assert box["width"] > 600 and box["height"] > 200, chart
        assert ink(image, box) > 0.05, f"{chart} looks blank"
        # the system burst is drawn in the system colour (#e15759) inside the chart
        pixels = image.convert("RGB").crop((int(box["x"]), int(box["y"]),
                                            int(box["x"] + box["width"]),
                                            int(box["y"] + box["height"]))).getcolors(1 << 20)
        assert pixels is not None
        assert any(abs(r - 0xE1) < 8 and abs(g - 0x57) < 8 and abs(b - 0x59) < 8
                   for _, (r, g, b) in pixels), f"{chart} has no system failures drawn"
    text = page.evaluate("document.body.innerText")
    assert "2026-11-11T01:12:00Z" in text  # the promotion-day burst is an incident window
    # it prints: A4 landscape pages, the charts kept whole
    printed = page.pdf()
    assert printed.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", printed))
    assert 2 <= pages <= 12, pages
    assert page.errors() == []
    if os.environ.get("TXDIAG_WRITE_SCREENSHOT"):
        top = image.crop((0, 0, image.width, min(image.height, 1500))).convert("RGB")
        top = top.resize((top.width * 3 // 4, top.height * 3 // 4), Image.Resampling.LANCZOS)
        top.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(DOCS_PNG, optimize=True)


def test_hostile_text_is_inert_and_masked_in_chromium(page: Page, tmp_path: Path) -> None:
    log = hostile.write_log(tmp_path / "hostile.jsonl")
    report = tmp_path / "hostile.html"
    make_report(str(log), "-o", str(report), "--affected", str(tmp_path / "affected.csv"))
    page.open(report)
    assert page.errors() == []
    assert page.requests() == [report.resolve().as_uri()]
    found = page.evaluate(
        "({scripts: document.scripts.length, images: document.images.length,"
        " handlers: [...document.querySelectorAll('*')].filter(e => [...e.attributes]"
        ".some(a => a.name.startsWith('on'))).length,"
        " bold: [...document.querySelectorAll('b')].length,"
        " links: document.links.length, text: document.body.innerText})")
    assert found["scripts"] == found["images"] == found["handlers"] == found["links"] == 0
    assert found["bold"] == 0
    text = found["text"]
    assert hostile.MARKUP_CHANNEL in text  # shown as text
    assert "<script>alert(1)</script>" in text
    for secret in (hostile.CARD, hostile.PHONE, hostile.EMAIL, "\x1b", "\u202e"):
        assert secret not in text
    assert "<b>boom</b>" in text and "\\u202eevil" in text  # visible, not acted on
