"""A scaling model of the pixel search: 10^11 pixels on N machines, from measurements.

    .venv/bin/python -m bench.pixel_scaling MEASUREMENTS.json [--pixels 1e11]
        [--machines 1,8,64] [--cores 2] [--disk-gbps 1.0]

``MEASUREMENTS.json`` is what ``bench.pixel_search --json FILE --rates --dask N``
writes: the store's size and the rates measured on it (``rates``, see
:func:`bench.pixel_search.measure_rates`). The model, for ``P`` pixels on ``N``
machines of ``C`` cores (one one-thread Dask worker per core, ``W = N C``):

- the server's catalog work (rights and zone maps over every spectrum) grows with
  the spectra: ``catalog_plan_s * P / P0``;
- the cluster costs one round trip plus ``dask_task_s`` per task (one task per
  worker): ``dask_roundtrip_s + W * dask_task_s``;
- a **seed query** (narrow window) reads ``seed_groups * P / P0`` row groups at
  ``group_read_s`` each, spread over the workers;
- a **wide count** (2-5 um, when the file has one) is the measured single-process
  p50 scaled linearly with the pixels and divided over the machines;
- a **whole-archive count** (``flux >= 100`` everywhere, row-group statistics
  pruning what they can) scans every pixel at ``segment_scan_pixels_per_s``
  per worker, or at the machines' disk bandwidth if lower (``--disk-gbps`` per
  machine, the store's measured bytes per pixel), and merges one (id, count) per
  spectrum at ``merge_s_per_spectrum``.

The rates come from a box where the data sat in the page cache; the disk term is
what a cold 10^11-pixel store (1.6 TB) would add. Every input is printed with
the prediction.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def predict(rates: dict, build: dict, pixels: float, machines: int, cores: int, disk_gbps: float):
    """(seed p50 s, whole-archive count p50 s, terms) for ``machines``."""
    scale = pixels / rates["pixels"]
    workers = machines * cores
    catalog = rates["catalog_plan_s"] * scale
    cluster = rates.get("dask_roundtrip_s", 0.0) + workers * rates.get("dask_task_s", 0.0)
    seed_scan = rates["seed_groups"] * scale * rates["group_read_s"] / workers
    bytes_per_pixel = build.get("store_bytes", 0) / max(build.get("pixels", 1), 1) or 16.5
    cpu = pixels / (rates["segment_scan_pixels_per_s"] * workers)
    disk = pixels * bytes_per_pixel / (disk_gbps * 1e9 * machines) if disk_gbps else 0.0
    merge = rates.get("merge_s_per_spectrum", 0.0) * rates["spectra"] * scale
    seed = catalog + cluster + seed_scan
    whole = catalog + cluster + max(cpu, disk) + merge
    terms = {
        "catalog_s": catalog,
        "cluster_s": cluster,
        "seed_scan_s": seed_scan,
        "count_cpu_s": cpu,
        "count_disk_s": disk,
        "merge_s": merge,
    }
    return seed, whole, terms


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("measurements", type=Path)
    parser.add_argument("--pixels", type=float, default=1e11)
    parser.add_argument("--machines", default="1,8,64")
    parser.add_argument("--cores", type=int, default=2, help="cores (workers) per machine")
    parser.add_argument("--disk-gbps", type=float, default=1.0, help="0: data in memory")
    args = parser.parse_args(argv)
    data = json.loads(args.measurements.read_text())
    rates, build = data["rates"], data.get("build", {})
    print(f"inputs (measured at {rates['pixels']:.3g} pixels, {rates['spectra']:,} spectra):")
    for key, value in sorted(rates.items()):
        print(f"  {key:28s} {value:.4g}")
    print(
        f"\n{args.pixels:.0e} pixels, {args.cores} cores per machine, "
        f"disk {args.disk_gbps:g} GB/s per machine"
    )
    wide = next((q for label, q in data.get("queries", {}).items() if "wide" in label), None)
    if wide:
        print(
            f"  wide (2-5 um) count p50 at {rates['pixels']:.3g} pixels, one process "
            f"({args.cores} cores): {wide['count_p50_ms'] / 1e3:.2f} s"
        )
    print(
        f"{'machines':>8s} {'seed p50 s':>11s} {'count p50 s':>12s} {'wide p50 s':>11s}   "
        "terms (catalog, cluster, seed scan, count cpu, count disk, merge; s)"
    )
    for n in (int(v) for v in args.machines.split(",")):
        seed, whole, t = predict(rates, build, args.pixels, n, args.cores, args.disk_gbps)
        # the measured wide count, scaled: linear in pixels, divided over the machines
        wide_s = float("nan")
        if wide:
            scanned = wide["count_p50_ms"] / 1e3 * args.pixels / rates["pixels"] / n
            wide_s = t["catalog_s"] + t["cluster_s"] + scanned
        print(
            f"{n:8d} {seed:11.3f} {whole:12.1f} {wide_s:11.1f}   "
            + ", ".join(f"{t[k]:.3g}" for k in t)
        )


if __name__ == "__main__":
    main()
