"""Engineering mnemonic metadata (``info/mnemonics``) from a CSV file."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import Engine, delete, insert

from webbarchive.catalog.schema import mnemonics

COLUMNS = ("subsystem", "tlmMnemonic", "tlmIdentifier", "description", "sqlDataType", "unit")


def load_mnemonics(engine: Engine, path: Path) -> int:
    """Load ``path`` (CSV with a header row naming :data:`COLUMNS`) into ``mnemonics``.

    Mnemonics are stored upper case; a row replaces an existing row of the same
    mnemonic. Raises ValueError naming the problem (missing columns, empty
    mnemonic, non-integer tlmIdentifier with its line number).
    """
    rows: dict[str, dict] = {}
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise ValueError(
                f"{path}: missing column(s) {', '.join(missing)}; expected a header row with "
                + ",".join(COLUMNS)
            )
        for line, raw in enumerate(reader, start=2):
            record = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
            name = record["tlmMnemonic"].upper()
            if not name:
                raise ValueError(f"{path}:{line}: empty tlmMnemonic")
            identifier = record["tlmIdentifier"]
            try:
                tlm_id = int(identifier) if identifier else None
            except ValueError:
                raise ValueError(
                    f"{path}:{line}: tlmIdentifier {identifier!r} is not an integer"
                ) from None
            rows[name] = {
                "tlmMnemonic": name,
                "subsystem": record["subsystem"] or None,
                "tlmIdentifier": tlm_id,
                "description": record["description"] or None,
                "sqlDataType": record["sqlDataType"] or None,
                "unit": record["unit"] or None,
            }
    with engine.begin() as conn:
        if rows:
            conn.execute(delete(mnemonics).where(mnemonics.c.tlmMnemonic.in_(list(rows))))
            conn.execute(insert(mnemonics), list(rows.values()))
    return len(rows)
