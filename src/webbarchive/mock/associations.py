"""Association files in the pipeline's JSON format (``jw01345-o062_<version>_spec3_00001_asn.json``)."""

from __future__ import annotations

import json
from pathlib import Path

from webbarchive.mock import common
from webbarchive.mock.sky import Observation

RULES = {"spec3": "candidate_Asn_Lv3SpecAux", "image3": "candidate_Asn_Lv3Image"}


def level3_asn_name(obs: Observation, asn_type: str, sequence: int) -> str:
    return (
        f"jw{obs.program.padded}-o{obs.number:03d}_{common.version_id(obs)}_"
        f"{asn_type}_{sequence:05d}_asn.json"
    )


def write_asn(
    path: Path,
    obs: Observation,
    asn_type: str,
    product_names: list[str],
    members: list[str],
    timing: common.Timing,
) -> dict:
    program = obs.program.padded
    constraints = "\n".join(
        [
            f"DMSAttrConstraint({{'name': 'program', 'sources': ['program'], 'value': '{program}'}})",
            f"DMSAttrConstraint({{'name': 'obs_num', 'sources': ['obs_num'], 'value': '{obs.number:03d}'}})",
            "DMSAttrConstraint({'name': 'target', 'sources': ['targetid'], 'value': '1'})",
        ]
    )
    document = {
        "asn_type": asn_type,
        "asn_rule": RULES[asn_type],
        "version_id": common.version_id(obs),
        "code_version": obs.program.cal_ver,
        "degraded_status": "No known degraded exposures in association.",
        "program": program,
        "constraints": constraints,
        "asn_id": f"o{obs.number:03d}",
        "target": "t001",
        "asn_pool": f"jw{program}_{common.version_id(obs)}_pool",
        "products": [
            {
                "name": name,
                "members": [
                    {
                        "expname": member,
                        "exptype": "science",
                        "exposerr": "null",
                        "asn_candidate": f"[('o{obs.number:03d}', 'observation')]",
                    }
                    for member in members
                ],
            }
            for name in product_names
        ],
    }
    path.write_text(json.dumps(document, indent=4) + "\n")
    return common.manifest_entry(
        path, "asn", obs, obs_id=None, ra=None, dec=None, instrument=None, exp_type=None,
        timing=timing, asn_type=asn_type, products=product_names, members=members,
    )  # fmt: skip
