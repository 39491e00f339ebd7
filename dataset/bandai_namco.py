"""The Bandai Namco Research Motion dataset (sets 1 and 2), CC BY-NC 4.0.

Takes are listed with their labels; the two sets' vocabularies are merged where they
name the same thing (set 1 "masculinity" = set 2 "masculine", "old" = "elderly",
"tired" = "exhausted"), so a style slider means one thing across the data.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from .paths import unpacked

ARCHIVE = "bandai-namco-motion.tar.xz"
FOLDER = "bandai-namco-motion"
CREDIT = ("Bandai Namco Research Motion dataset (Bandai Namco Research Inc., "
          "https://github.com/BandaiNamcoResearchInc/Bandai-Namco-Research-Motiondataset), "
          "CC BY-NC 4.0")

STYLE_ALIASES = {"masculinity": "masculine", "elderly": "old", "exhausted": "tired"}
CONTENT_ALIASES: dict[str, str] = {}

_NAME = re.compile(r"^dataset-(?P<set>[12])_(?P<content>[a-z-]+)_(?P<style>[a-z-]+)_(?P<take>\d+)$")


@dataclass(frozen=True)
class Take:
    path: Path
    set: int
    content: str
    style: str
    take: int

    @property
    def name(self) -> str:
        return self.path.stem


def parse_take_name(path: Path) -> Take:
    m = _NAME.match(path.stem)
    if not m:
        raise ValueError(f"{path.name}: not a Bandai Namco take name")
    content = CONTENT_ALIASES.get(m["content"], m["content"])
    style = STYLE_ALIASES.get(m["style"], m["style"])
    return Take(path, int(m["set"]), content, style, int(m["take"]))


def list_takes(root: Path | None = None) -> list[Take]:
    """All takes, sorted by name. ``root`` defaults to the unpacked archive."""
    root = root or unpacked(ARCHIVE, FOLDER)
    files = sorted(root.glob("**/data/*.bvh")) or sorted(root.glob("*.bvh"))
    return [parse_take_name(f) for f in files]


def split_takes(takes: list[Take], fraction: float = 0.1) -> dict[str, str]:
    """Deterministic split by take: {take name: "train" | "val" | "test"}.

    Within every (set, content, style) group, ordered by a hash of the take name:
    a lone take trains; of two, one trains and one tests; from three up about
    ``fraction`` each (at least one) go to test and val. So every content x style pair
    stays in train, and the split does not change when takes are added elsewhere.
    """
    groups: dict[tuple, list[Take]] = {}
    for t in takes:
        groups.setdefault((t.set, t.content, t.style), []).append(t)
    split = {}
    for members in groups.values():
        members = sorted(members, key=lambda t: hashlib.sha1(t.name.encode()).hexdigest())
        n = len(members)
        n_test = 0 if n == 1 else max(1, round(fraction * n))
        n_val = 0 if n < 3 else max(1, round(fraction * n))
        for i, t in enumerate(members):
            split[t.name] = "test" if i < n_test else "val" if i < n_test + n_val else "train"
    return split
