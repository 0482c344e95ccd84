"""Controller callsign to staffed sectors, against the real VATSpy release and the
simaware TRACON file of 2023-01-01, with controllers from recorded feeds.

Every expected answer was checked in the data: e.g. `LON_E` is the prefix of the EGTT-E
line of VATSpy.dat, `ZMO` of KZMA-OCN, and TRACONBoundaries.geojson has
`{"id": "URSS", "prefix": ["URSS_R"], "name": "Sochi Radar"}`.
"""

from __future__ import annotations

import json
from functools import cache

import pytest
from shapely.geometry import box

from vatsim_pipeline.sectors.boundaries import Sector, load_sectors, sector_geometry
from vatsim_pipeline.sectors.staffing import StaffingIndex, parse_position, sectors_staffed_by
from vatsim_pipeline_tests.shared_data import sequence_files, shared_data


@pytest.fixture(scope="module")
def sectors() -> list[Sector]:
    return load_sectors(
        shared_data("VATSpy.dat"),
        shared_data("Boundaries.geojson.gz"),
        tracon=shared_data("TRACONBoundaries.geojson"),
    )


@pytest.fixture(scope="module")
def index(sectors: list[Sector]) -> StaffingIndex:
    return StaffingIndex(sectors)


@cache
def recorded_facilities(path: str) -> dict[str, int]:
    with open(path, encoding="utf-8") as handle:
        payload = json.load(handle)
    return {c["callsign"]: c["facility"] for c in payload["controllers"]}


FEED_2023 = str(shared_data("vatsim-data_20230312T172418Z.json"))


@pytest.mark.parametrize(
    ("callsign", "expected"),
    [
        ("ADR_CTR", ["ADR"]),  # ADR|Adria Radar||ADR: the ICAO is the prefix
        ("ATL_MB_CTR", ["KZTL"]),  # no ATL_MB line: falls back to ATL
        ("EDMM_R_CTR", ["EDMM"]),
        ("EKDK_B_CTR", ["EKDK-E"]),  # a VATSpy sub-sector prefix
        ("ESOS_1_CTR", ["ESOS-1"]),
        ("HECC_1_CTR", ["HECC-1"]),
        ("LECM_CTR", ["LECM"]),  # VATSpy's prefix is LEMD; the boundary id still matches
        ("LON_E_CTR", ["EGTT-E"]),
        ("LOVV_E_CTR", ["LOVV-E"]),
        ("LTC_CTR", ["EGTL"]),
        ("MAN_SE_CTR", ["EGTM-W"]),
        ("ZMO_62_CTR", ["KZMA-OCN"]),
        ("ATL_KV_APP", ["TRACON:A80:ATL"]),
        ("BOS_APP", ["TRACON:A90 BOS"]),
        ("CYUL_N_APP", ["TRACON:CYUL"]),
        ("EGKK__APP", ["TRACON:EGKK"]),  # double underscore
        ("EWR_APP", ["TRACON:N90 EWR"]),
        ("MYNN_APP1", ["TRACON:MYNN"]),  # numbered position
        ("URSS_R_APP", ["TRACON:URSS:URSS_R"]),  # the longer prefix wins
        ("LSZH_APP", []),  # no boundary for Zurich in this TRACON file
        ("EDDF_S_TWR", []),
        ("NB_OBS", []),
    ],
)
def test_controllers_of_2023_03_12(
    index: StaffingIndex, callsign: str, expected: list[str]
) -> None:
    facility = recorded_facilities(FEED_2023)[callsign]
    assert sectors_staffed_by(callsign, facility, index) == expected


def test_real_fss_positions_staff_a_uir_and_its_firs(index: StaffingIndex) -> None:
    early = recorded_facilities(str(shared_data("vatsim-data_20210104T153515Z_early-v3.json")))
    assert sectors_staffed_by("PRC_FSS", early["PRC_FSS"], index) == [
        "UIR:PRC",
        "ZBPE",
        "ZGZU",
        "ZJSA",
        "ZLHW",
        "ZPKM",
        "ZSHA",
        "ZWUQ",
        "ZYSH",
    ]
    assert sectors_staffed_by("RB_SUP", early["RB_SUP"], index) == []  # facility 1, no FSS
    later = recorded_facilities(str(sequence_files()[0]))
    staffed = sectors_staffed_by("RU-CEN_FSS", later["RU-CEN_FSS"], index)
    assert staffed[:3] == ["UIR:RU-CEN", "UATT", "UACN"] and len(staffed) == 14


@pytest.mark.parametrize(
    ("callsign", "facility", "expected"),
    [
        ("EDGG_CTR", 6, ["EDGG"]),
        ("EDGG_E_CTR", 6, ["EDGG"]),  # no EDGG_E sector: falls back to EDGG
        ("LON_CTR", 6, ["EGTT"]),
        ("LON_S_CTR", 6, ["EGTT-S"]),  # VATSpy has its own LON_S line (London South)
        ("EGTT_CTR", 6, ["EGTT"]),
        ("NY_CTR", 6, ["KZNY"]),
        ("NY_FSS", 1, ["KZNY:OCEANIC"]),  # FSS lights the oceanic variant
        ("GAN_CTR", 6, ["CZQO"]),
        ("ADR_U_CTR", 6, ["ADR"]),  # CTR: the [FIRs] line ADR_U first
        ("ADR_U_FSS", 1, ["UIR:ADR_U", "LJLA", "LDZO", "LQSB", "LYBA", "LWSS", "LAAA"]),
        ("NY_CAM_APP", 5, ["TRACON:N90"]),
        ("JFK_DEP", 5, ["TRACON:N90 JFK"]),  # no DEP boundary: the APP one
        ("NCT_DEP", 5, ["TRACON:NCT:NCT_DEP"]),
        ("NCT_APP", 5, ["TRACON:NCT:NCT_APP"]),
        ("SFO_DEP", 5, ["TRACON:NCT:SFO+OAK_DEP"]),
        ("OAK_DEP", 5, ["TRACON:NCT:SFO+OAK_DEP"]),
        ("LTAJ_TWR", 4, ["TRACON:LTAJ"]),  # a TRACON drawn for TWR callsigns
        ("EGLL_TWR", 4, []),
        ("EDDF_APP", 0, []),  # an observer's facility never staffs
        ("EDDF_APP", None, ["TRACON:EDDF"]),
        ("EDGG_CTR", 5, []),
        ("ZZZZ_CTR", 6, []),
        ("EDDF_ATIS", 4, []),
        ("CTR", 6, []),
    ],
)
def test_position_rules(
    index: StaffingIndex, callsign: str, facility: int | None, expected: list[str]
) -> None:
    assert sectors_staffed_by(callsign, facility, index) == expected


def test_custom_sub_sector_wins_over_its_fir(sectors: list[Sector]) -> None:
    east = Sector(
        id="CUSTOM:EDGG-E",
        name="Langen East",
        kind="custom",
        geometry=sector_geometry([box(8, 49, 10, 51)]),
        prefixes=("EDGG_E",),
    )
    index = StaffingIndex([*sectors, east])
    assert sectors_staffed_by("EDGG_E_CTR", 6, index) == ["CUSTOM:EDGG-E"]
    assert sectors_staffed_by("EDGG_CTR", 6, index) == ["EDGG"]


def test_parse_position() -> None:
    assert parse_position("edgg_e_ctr") == (["EDGG", "E", "CTR"], "CTR")
    assert parse_position("EGKK__APP") == (["EGKK", "APP"], "APP")
    assert parse_position("MYNN_APP1") == (["MYNN", "APP1"], "APP")
    assert parse_position("EDDF_GND") == (["EDDF", "GND"], None)
    assert parse_position("DLH123") == (["DLH123"], None)
