"""Duplication answers as CSV and VOTable bytes, for the web route and the
command line alike (JSON is the rows themselves)."""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np

#: Columns of a visit in an answer, in order (:func:`webbarchive.plans.query.render`).
COLUMNS = (
    "program",
    "observation",
    "visit",
    "target_name",
    "template",
    "instrument",
    "optical_elements",
    "status",
    "separation_arcsec",
    "s_ra",
    "s_dec",
    "target_ra",
    "target_dec",
    "pm_ra_mas_yr",
    "pm_dec_mas_yr",
    "epoch_jyear",
    "t_plan_start",
    "t_plan_end",
    "calib_level",
    "apt_url",
)
TEXT_COLUMNS = {
    "target_name",
    "template",
    "instrument",
    "optical_elements",
    "status",
    "apt_url",
    "query_name",
}
INTEGER_COLUMNS = {"program", "observation", "visit", "calib_level", "query_index"}
FORMATS = ("json", "csv", "votable")


def to_csv(rows: list[dict[str, Any]], columns: tuple[str, ...] = COLUMNS) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def to_votable(rows: list[dict[str, Any]], columns: tuple[str, ...] = COLUMNS) -> bytes:
    from astropy.io.votable import from_table
    from astropy.table import MaskedColumn, Table

    table = Table()
    for name in columns:
        values = [row[name] for row in rows]
        if name in TEXT_COLUMNS:
            table[name] = MaskedColumn(
                ["" if v is None else str(v) for v in values],
                mask=[v is None for v in values],
                dtype=str,
            )
        elif name in INTEGER_COLUMNS:
            table[name] = np.array(values, dtype=np.int64)
        else:
            table[name] = np.array([np.nan if v is None else v for v in values], dtype=float)
    buffer = io.BytesIO()
    from_table(table).to_xml(buffer)
    return buffer.getvalue()
