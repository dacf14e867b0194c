"""Make the PDF export's fonts: DejaVu Sans cut down to the scripts lectures are written in.

The full DejaVu Sans has about 6,000 glyphs; fpdf2 reads the font tables for every PDF it writes,
so that cost dominated a short lecture's PDF. Kept: Latin (with Vietnamese and IPA), combining
accents, Greek (with polytonic), Cyrillic, punctuation, super- and subscripts, currency,
letterlike symbols, arrows, mathematical operators, shapes and check marks (about 2,500 glyphs).
Dropped: other scripts (Arabic and Hebrew, which fpdf2 would print unshaped anyway, Armenian,
Georgian, ...), OpenType layout tables and hinting, which fpdf2 does not use. The licence allows
modified copies under a name without "Bitstream" or "Vera"; the family stays "DejaVu Sans".
Needs the Debian `fonts-dejavu-core` package.

Usage: .venv/bin/python scripts/subset_fonts.py [--source /usr/share/fonts/truetype/dejavu]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

TARGET = Path(__file__).resolve().parents[1] / "src" / "pegasus_adapters" / "fonts"
FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")
RANGES = (
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x024F),  # Latin-1 Supplement, Latin Extended-A and -B
    (0x0250, 0x036F),  # IPA, spacing modifiers, combining diacritical marks
    (0x0370, 0x03FF),  # Greek and Coptic
    (0x0400, 0x052F),  # Cyrillic and its supplement
    (0x1E00, 0x1FFF),  # Latin Extended Additional (Vietnamese), Greek Extended (polytonic)
    (0x2000, 0x214F),  # punctuation, super/subscripts, currency, letterlike symbols
    (0x2150, 0x22FF),  # number forms, arrows, mathematical operators
    (0x25A0, 0x25FF),  # geometric shapes
    (0x2713, 0x2718),  # check marks and crosses
    (0x27C0, 0x27EF),  # miscellaneous mathematical symbols-A (brackets)
    (0xFB00, 0xFB06),  # Latin ligatures
    (0xFFFD, 0xFFFD),  # replacement character
)


def main() -> None:
    """Write the cut-down fonts into src/pegasus_adapters/fonts/."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", type=Path, default=Path("/usr/share/fonts/truetype/dejavu"))
    args = parser.parse_args()
    options = subset.Options()
    options.name_IDs = ["*"]  # keep the copyright and licence records
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.glyph_names = True  # fpdf2 subsets by glyph name
    options.layout_features = []
    options.hinting = False
    options.legacy_kern = False
    unicodes = [code for first, last in RANGES for code in range(first, last + 1)]
    for name in FILES:
        font = TTFont(args.source / name)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=unicodes)
        subsetter.subset(font)
        font.save(TARGET / name)
        print(f"{name}: {len(font.getGlyphOrder())} glyphs, {(TARGET / name).stat().st_size:,} B")


if __name__ == "__main__":
    main()
