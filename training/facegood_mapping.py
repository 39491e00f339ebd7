"""Parse FACEGOOD's ``doc/Voice2Face_blendshape2ARkit.xlsx`` once into
``face/facegood_arkit.json`` (the shipped form of the mapping; the xlsx is not shipped).

The sheet has one row per ARKit shape in Apple's order: the ARKit name, the FACEGOOD
expression (a blendshape name, ``max(a,b,...)``, or empty) and a status ("valid" where the
dataset animates the shape: the mouth and jaw). The xlsx is read as the zip of XML it is
(no openpyxl). Typos in the sheet are fixed by a small table below and every name is
checked against ``doc/bsname.txt`` and ARKit-52.

    .venv/bin/python training/facegood_mapping.py     # rewrites face/facegood_arkit.json
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from _bootstrap import ROOT

from cadence.dataset.paths import unpacked
from cadence.face.arkit import ARKIT_NAMES

OUT = ROOT / "face" / "facegood_arkit.json"
_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
# The sheet's spellings that differ from bsname.txt / Apple's names.
NAME_FIXES = {"cheek_up": "cheek_UP", "eye_upLidRaise_l": "eye_upperLidRaise_l",
              "eye_upLidRaise_r": "eye_upperLidRaise_r"}


def read_sheet(path: Path) -> list[list[str]]:
    """Rows of the first worksheet as lists of strings (shared strings resolved)."""
    with zipfile.ZipFile(path) as z:
        shared = [''.join(t.text or '' for t in si.iter(f"{{{_NS['m']}}}t"))
                  for si in ET.fromstring(z.read("xl/sharedStrings.xml")).findall("m:si", _NS)]
        sheet = ET.fromstring(z.read("xl/worksheets/sheet1.xml"))
    rows = []
    for row in sheet.iter(f"{{{_NS['m']}}}row"):
        cells = {}
        for c in row.findall("m:c", _NS):
            v = c.find("m:v", _NS)
            text = v.text if v is not None else ""
            if c.get("t") == "s" and text:
                text = shared[int(text)]
            col = re.match(r"[A-Z]+", c.get("r")).group(0)
            cells[col] = (text or "").strip()
        rows.append([cells.get(col, "") for col in "ABCDEFG"])
    return rows


def parse(folder: Path) -> dict:
    names = [line.strip() for line in (folder / "doc" / "bsname.txt").read_text().splitlines()]
    count, names = int(names[0]), [n for n in names[1:] if n]
    assert count == len(names) == 116, (count, len(names))
    # case-insensitive: the sheet spells one name "browDownleft"
    arkit_by_lower = {n.lower(): n for n in ARKIT_NAMES}
    rules = []
    for arkit, _, expr, *_rest in read_sheet(folder / "doc" / "Voice2Face_blendshape2ARkit.xlsx"):
        status = _rest[-1] if _rest else ""
        if arkit.lower() not in arkit_by_lower:
            continue  # title, blank and note rows
        arkit = arkit_by_lower[arkit.lower()]
        m = re.fullmatch(r"max\((.*)\)", expr)
        sources = [s.strip() for s in (m.group(1).split(",") if m else [expr] if expr else [])]
        sources = [NAME_FIXES.get(s, s) for s in sources]
        unknown = [s for s in sources if s not in names]
        if unknown:
            raise ValueError(f"{arkit}: {unknown} not in bsname.txt")
        rules.append({"arkit": arkit, "combine": "max" if m else ("copy" if sources else "none"),
                      "sources": sources, "valid": status.lower() == "valid"})
    assert [r["arkit"] for r in rules] == list(ARKIT_NAMES), "sheet rows must be ARKit-52 in order"
    return {
        "source": "FACEGOOD-Audio2Face doc/Voice2Face_blendshape2ARkit.xlsx and doc/bsname.txt (MIT)",
        "generated_by": "training/facegood_mapping.py",
        "note": ("'max' takes the largest of the sources; 'valid' marks the shapes the "
                 "dataset animates (mouth and jaw); the others are zero in the data."),
        "facegood_names": names,
        "rules": rules,
    }


def main() -> int:
    folder = unpacked("facegood-audio2face.tar.xz", "facegood-audio2face")
    data = parse(folder)
    OUT.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    valid = sum(r["valid"] for r in data["rules"])
    print(f"wrote {OUT.relative_to(ROOT)}: 52 rules ({valid} valid), 116 FACEGOOD names")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
