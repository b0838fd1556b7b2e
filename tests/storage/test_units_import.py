from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.trees import generate_tree
from storage.models import Unit, UnitKind
from storage.units_import import (
    SAMPLE_UNITS_CSV,
    ImportResult,
    UnitsImportError,
    fold_name,
    import_units,
)

Sessions = async_sessionmaker[AsyncSession]
HEADER = "code,name,kind,parent_code\n"


def write(tmp_path: Path, content: str | bytes, name: str = "units.csv") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


async def all_units(sessionmaker: Sessions) -> dict[str, Unit]:
    async with sessionmaker() as session:
        return {u.code: u for u in (await session.scalars(select(Unit))).all()}


def assert_tree_consistent(units: dict[str, Unit]) -> None:
    """Every path is the parent's path plus the unit's id; depth matches."""
    by_id = {u.id: u for u in units.values()}
    for unit in units.values():
        if unit.parent_id is None:
            assert unit.path == f"/{unit.id}/"
            assert unit.depth == 0
        else:
            parent = by_id[unit.parent_id]
            assert unit.path == f"{parent.path}{unit.id}/", unit.code
            assert unit.depth == parent.depth + 1
        assert unit.name_folded == fold_name(unit.name)


# ------------------------------------------------------------------- fold_name


@pytest.mark.parametrize(
    ("name", "folded"),
    [
        ("Tổng Liên đoàn Lao động Việt Nam", "tong lien doan lao dong viet nam"),
        ("ĐÀ NẴNG", "da nang"),
        ("  Công   đoàn\tDệt May ", "cong doan det may"),
        ("Thừa Thiên Huế", "thua thien hue"),
        (unicodedata.normalize("NFD", "Cần Giuộc"), "can giuoc"),
    ],
)
def test_fold_name(name: str, folded: str) -> None:
    assert fold_name(name) == folded


# -------------------------------------------------------------- happy paths


async def test_sample_file_loads(sessionmaker: Sessions) -> None:
    progress: list[tuple[int, int]] = []
    result = await import_units(
        sessionmaker, SAMPLE_UNITS_CSV, on_progress=lambda d, t: progress.append((d, t))
    )
    units = await all_units(sessionmaker)
    assert result == ImportResult(rows=len(units), added=len(units), updated=0, unchanged=0)
    assert len(units) >= 20
    assert_tree_consistent(units)
    assert units["TLD"].name == "Tổng Liên đoàn Lao động Việt Nam"
    assert units["TLD"].kind == UnitKind.NATIONAL
    assert {u.kind for u in units.values()} == set(UnitKind)
    roots = [u for u in units.values() if u.parent_id is None]
    assert [r.code for r in roots] == ["TLD"]
    assert progress[0] == (0, len(units))
    assert progress[-1] == (len(units), len(units))
    # A quoted name with a comma survives.
    assert "," in units["HCM-Q7-TPSGX"].name
    assert all(len(code) <= 32 for code in units)


async def test_sample_reimport_changes_nothing(sessionmaker: Sessions) -> None:
    await import_units(sessionmaker, SAMPLE_UNITS_CSV)
    before = {c: (u.id, u.path) for c, u in (await all_units(sessionmaker)).items()}
    result = await import_units(sessionmaker, SAMPLE_UNITS_CSV)
    assert (result.added, result.updated, result.unchanged) == (0, 0, len(before))
    assert {c: (u.id, u.path) for c, u in (await all_units(sessionmaker)).items()} == before


async def test_rows_in_any_order(sessionmaker: Sessions, tmp_path: Path) -> None:
    lines = SAMPLE_UNITS_CSV.read_text(encoding="utf-8").splitlines(keepends=True)
    reversed_file = write(tmp_path, lines[0] + "".join(reversed(lines[1:])))
    result = await import_units(sessionmaker, reversed_file)
    units = await all_units(sessionmaker)
    assert result.added == len(units) == len(lines) - 1
    assert_tree_consistent(units)
    assert units["HCM-Q7-CTYMAY-T01"].depth == 4


async def test_bom_crlf_semicolons_and_extra_columns(
    sessionmaker: Sessions, tmp_path: Path
) -> None:
    content = (
        "\ufeffParent_Code;Kind;Code;Name;Ghi chú\r\n"
        ";national;TLD;Tổng Liên đoàn Lao động Việt Nam;\r\n"
        "TLD;Province;HN;Liên đoàn Lao động Thành phố Hà Nội;thủ đô\r\n"
        "\r\n"
        "HN;grassroots;HN-01;CĐCS Công ty Điện tử Thăng Long;\r\n"
    )
    result = await import_units(sessionmaker, write(tmp_path, content))
    assert result.added == 3
    units = await all_units(sessionmaker)
    assert units["HN"].kind == "province"
    assert units["HN-01"].path == f"/{units['TLD'].id}/{units['HN'].id}/{units['HN-01'].id}/"


async def test_names_are_stored_nfc(sessionmaker: Sessions, tmp_path: Path) -> None:
    nfd = unicodedata.normalize("NFD", "Liên đoàn Lao động tỉnh Long An")
    await import_units(sessionmaker, write(tmp_path, f"{HEADER}LA,{nfd},province,\n"))
    unit = (await all_units(sessionmaker))["LA"]
    assert unit.name == unicodedata.normalize("NFC", nfd)


# --------------------------------------------------------------------- errors


async def test_bad_rows_are_all_reported_and_nothing_loads(
    sessionmaker: Sessions, tmp_path: Path
) -> None:
    content = (
        HEADER  # line 1
        + "TLD,Tổng Liên đoàn Lao động Việt Nam,national,\n"  # 2 fine
        + "HCM,Liên đoàn Lao động TP. Hồ Chí Minh,tinh,TLD\n"  # 3 unknown kind
        + "HN,,province,TLD\n"  # 4 name empty
        + "HCM,LĐLĐ trùng mã,province,TLD\n"  # 5 duplicate code
        + "Q7,LĐLĐ Quận 7,district,KHONGCO\n"  # 6 parent nowhere
        + "A,Vòng A,grassroots,B\n"  # 7 cycle
        + "B,Vòng B,grassroots,A\n"  # 8 cycle
        + f"{'X' * 33},Mã quá dài,grassroots,TLD\n"  # 9 code too long
        + f"LONG,{'Tên rất dài ' * 30},grassroots,TLD\n"  # 10 name too long
        + "NOKIND,Thiếu loại,,TLD\n"  # 11 kind missing
        + "SELF,Tự làm cha,team,SELF\n"  # 12 own parent
        + "COMMA,CĐCS Công ty A, chi nhánh B,grassroots,TLD\n"  # 13 unquoted comma
        + ",Không có mã,team,TLD\n"  # 14 code missing
        + "OK2,Đơn vị tốt,district,TLD\n"  # 15 fine
    )
    with pytest.raises(UnitsImportError) as caught:
        await import_units(sessionmaker, write(tmp_path, content))
    errors = caught.value.errors
    by_line = {e.line: e.message for e in errors}
    assert sorted(by_line) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
    assert "unknown kind 'tinh'" in by_line[3]
    assert "name is missing" in by_line[4]
    assert "duplicate code 'HCM' (first on line 3)" in by_line[5]
    assert "'KHONGCO' is neither in the file nor in the database" in by_line[6]
    assert "cycle" in by_line[7] and "cycle" in by_line[8]
    assert "at most 32" in by_line[9]
    assert "at most 300" in by_line[10]
    assert "kind is missing" in by_line[11]
    assert "own parent" in by_line[12]
    assert "double quotes" in by_line[13]
    assert "code is missing" in by_line[14]
    assert "line 3:" in str(caught.value)
    assert await all_units(sessionmaker) == {}


async def test_cycle_through_the_database(sessionmaker: Sessions, tmp_path: Path) -> None:
    await import_units(
        sessionmaker,
        write(tmp_path, HEADER + "R,Gốc,national,\nA,Cha,province,R\nB,Con,district,A\n"),
    )
    # Moving A under its own child B would make a loop.
    with pytest.raises(UnitsImportError) as caught:
        await import_units(sessionmaker, write(tmp_path, HEADER + "A,Cha,province,B\n", "m.csv"))
    assert [e.line for e in caught.value.errors] == [2]
    assert "cycle" in caught.value.errors[0].message
    units = await all_units(sessionmaker)
    assert units["A"].parent_id == units["R"].id
    assert_tree_consistent(units)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty"),
        (b"code,name,kind\nTLD,X,national\n", "missing: parent_code"),
        (b"TLD,T\xe1\xbb\x95ng,national,\n", "header"),
        (HEADER.encode() + b"TLD,T\xf4ng,national,\n", "not UTF-8"),
    ],
)
async def test_unreadable_files(
    sessionmaker: Sessions, tmp_path: Path, content: bytes, expected: str
) -> None:
    with pytest.raises(UnitsImportError, match=expected) as caught:
        await import_units(sessionmaker, write(tmp_path, content))
    if expected == "not UTF-8":
        assert caught.value.errors[0].line == 2


async def test_missing_file(sessionmaker: Sessions, tmp_path: Path) -> None:
    with pytest.raises(UnitsImportError, match="cannot read"):
        await import_units(sessionmaker, tmp_path / "nope.csv")


# -------------------------------------------------------------------- updates


async def test_reimport_updates_name_and_kind(sessionmaker: Sessions, tmp_path: Path) -> None:
    await import_units(sessionmaker, SAMPLE_UNITS_CSV)
    before = await all_units(sessionmaker)
    content = (
        HEADER + "HN,Liên đoàn Lao động Thủ đô Hà Nội,province,TLD\nNEW,Đơn vị mới,district,HN\n"
    )
    result = await import_units(sessionmaker, write(tmp_path, content))
    assert (result.added, result.updated, result.unchanged) == (1, 1, 0)
    after = await all_units(sessionmaker)
    assert after["HN"].id == before["HN"].id
    assert after["HN"].name_folded == "lien doan lao dong thu do ha noi"
    assert after["NEW"].path == f"{after['HN'].path}{after['NEW'].id}/"
    assert after["HCM"].name == before["HCM"].name  # units not in the file stay


async def test_move_recomputes_the_whole_subtree(sessionmaker: Sessions, tmp_path: Path) -> None:
    await import_units(sessionmaker, SAMPLE_UNITS_CSV)
    before = await all_units(sessionmaker)
    subtree = {c for c, u in before.items() if u.path.startswith(before["HCM-Q7"].path)}
    assert subtree == {
        "HCM-Q7",
        "HCM-Q7-CTYMAY",
        "HCM-Q7-CKTT",
        "HCM-Q7-TPSGX",
        "HCM-Q7-CTYMAY-T01",
        "HCM-Q7-CTYMAY-T02",
    }
    # Move the district from Hồ Chí Minh City to the textile sector; only its own
    # row is in the file, its grassroots units and teams must follow.
    content = HEADER + "HCM-Q7,Liên đoàn Lao động Quận 7,district,CDDM\n"
    result = await import_units(sessionmaker, write(tmp_path, content))
    assert (result.updated, result.paths_changed) == (1, len(subtree))
    after = await all_units(sessionmaker)
    assert_tree_consistent(after)
    for code in subtree:
        assert after[code].path.startswith(after["CDDM"].path), code
        assert after[code].depth == before[code].depth  # same level, new branch
        assert after[code].id == before[code].id
    for code in before.keys() - subtree:
        assert after[code].path == before[code].path


async def test_move_deeper_changes_depths(sessionmaker: Sessions, tmp_path: Path) -> None:
    await import_units(sessionmaker, SAMPLE_UNITS_CSV)
    content = (
        HEADER + "HCM-Q7-CTYMAY,CĐCS Công ty TNHH May mặc Nam Sài Gòn,grassroots,LA-KCN-NHUA\n"
    )
    await import_units(sessionmaker, write(tmp_path, content))
    after = await all_units(sessionmaker)
    assert_tree_consistent(after)
    assert after["HCM-Q7-CTYMAY-T01"].depth == 5


# ------------------------------------------------------------------- big files


async def test_generated_tree_in_random_order(sessionmaker: Sessions, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    generate_tree(path, 3000)
    result = await import_units(sessionmaker, path)
    assert result.added == 3000
    units = await all_units(sessionmaker)
    assert_tree_consistent(units)
    async with sessionmaker() as session:
        vn = units["VN"]
        count = await session.scalar(
            select(func.count()).select_from(Unit).where(Unit.path.startswith(vn.path))
        )
    assert count == 3000
