"""The wide count's batch reader (:func:`webbarchive.pixels.scan.matching_counts`)
on a store of small row groups, so that every window splits into interior
batches (no wavelength column read) and edge batches (bisected), several per
segment and run on several threads: its per-spectrum counts equal numpy's
count over the spectra's own arrays."""

from __future__ import annotations

import numpy as np
import pytest

from webbarchive.pixels import scan
from webbarchive.pixels import store as store_module
from webbarchive.pixels.extract import from_arrays
from webbarchive.pixels.store import PixelStore, partition, to_table
from webbarchive.pixels.syntax import Predicate

SPECTRA = 40


@pytest.fixture(scope="module")
def segments(tmp_path_factory):
    """Two segments of 20 spectra each, row groups of 97 pixels; the arrays."""
    rng = np.random.default_rng(17)
    store = PixelStore(tmp_path_factory.mktemp("pixels"))
    arrays, paths = {}, []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store_module, "ROW_GROUP_ROWS", 97)
        for half in (0, 1):
            ids = list(range(1 + half * 20, 21 + half * 20))
            spectra = []
            for pid in ids:
                n = int(rng.integers(50, 400))
                wave = np.sort(rng.uniform(0.6, 5.3, n))
                flux = rng.normal(10.0, 5.0, n)
                flux[rng.random(n) < 0.05] = np.nan  # non-finite fluxes fail every test
                arrays[pid] = (wave, flux)
                spectra.append(from_arrays(wave, flux, np.full(n, 0.5), np.zeros(n, np.int32)))
            info = store.write(partition("x1d", "nirspec_prism_clear"), to_table(ids, spectra))
            paths.append(str(store.path(info.segment)))
    return paths, arrays


CASES = {
    "window and flux": [
        Predicate("wavelength", ">=", 1.2),
        Predicate("wavelength", "<=", 3.3),
        Predicate("flux", ">=", 10.0),
    ],
    "strict window": [Predicate("wavelength", ">", 2.0), Predicate("wavelength", "<", 2.2)],
    "flux only": [Predicate("flux", "<", 4.0)],
    "open window, flux not equal": [
        Predicate("wavelength", ">=", 4.0),
        Predicate("flux", "<>", 10.0),
    ],
}


@pytest.mark.parametrize("name", list(CASES))
def test_batches_count_what_numpy_counts(segments, monkeypatch, name):
    paths, arrays = segments
    predicates = CASES[name]
    expected = {}
    for pid, (wave, flux) in arrays.items():
        keep = np.ones(wave.size, bool)
        for p in predicates:
            keep &= p.holds(wave if p.column == "wavelength" else flux)
        if keep.any():
            expected[pid] = int(keep.sum())
    monkeypatch.setattr(scan, "COUNT_BATCH_GROUPS", 3)
    planned = scan.plan(paths, predicates)
    groups = [g for _, g in planned]
    inner = [
        scan.wavelengths_inside(
            scan.footer(p).minimum["wavelength"][g],
            scan.footer(p).maximum["wavelength"][g],
            predicates,
        )
        for p, g in planned
    ]
    ids, counts = scan.matching_counts(planned, predicates)
    assert dict(zip(ids.tolist(), counts.tolist(), strict=True)) == expected
    assert expected, "nothing matched: nothing tested"
    assert sum(g.size for g in groups) > 2 * scan.COUNT_BATCH_GROUPS, "one batch: nothing split"
    if any(p.column == "wavelength" for p in predicates):
        assert any(m.any() for m in inner) and any((~m).any() for m in inner)
