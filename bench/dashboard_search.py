"""The dashboard's search at national size, texts of realistic length:
``python -m bench.dashboard_search``.

``bench.progress``'s database gives each of its 1,000,000 ideas a title and a text of
15 characters; real ideas run to several hundred. This copies it once to a cache of
its own (``bench/results/dashboard-search-…db``) whose ``idea_search`` texts are 200-600
characters drawn from Vietnamese workplace words (folded, as the bot stores them,
a few common words and many rare ones, and a made-up word, ``xyclon``, in about one
text in 50,000), whose ideas are numbered in the order they were sent (as the bot
numbers them: the copy moves each idea's ``created_at``, the set of moments kept), and
whose full-text index (migration 0013's ``idea_fts``) is built. Then it times, as the
server answers them (``handlers.dashboard``), the first page of ideas with and without
a search, and the cost of the index to a submission. Prints medians and p95s.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import sqlite3
import sys
import time
from collections.abc import Awaitable
from datetime import UTC, date, datetime
from pathlib import Path

from bench.dashboard import ensure_index, prepare
from bench.progress import RESULTS_DIR, _time, _timing, build, cached
from handlers.dashboard.base import JSON
from storage.folding import fold_name
from storage.web_models import SQLITE_SEARCH_INDEX

TEXTS_VERSION = "1"  # bump when the generated texts change
RARE_WORD = "xyclon"

#: Words of ideas as workers write them; the first are the commonest (weights 1/rank).
_WORDS_TEXT = """
và của các cho là có được trong không này với để những một khi đã công nhân sản xuất
máy thời gian chi phí giảm tăng năng suất an toàn lao động xưởng tổ ca làm việc đề xuất
cải tiến sáng kiến quy trình thiết bị điện nước vật tư nguyên liệu sản phẩm chất lượng
kiểm tra bảo dưỡng sửa chữa vận hành hệ thống dây chuyền kho hàng vận chuyển đóng gói
tiết kiệm nhiên liệu môi trường bụi tiếng ồn nhiệt độ ánh sáng quạt hút thông gió
lắp đặt thay thế dụng cụ khuôn gá bàn ghế băng tải xe nâng pallet thùng carton nhãn
mã vạch phần mềm bảng tính báo cáo số liệu giấy tờ biểu mẫu in ấn hai mặt điện năng
đèn led cảm biến tự động bằng tay thủ công mỗi ngày tuần tháng năm giờ phút người
đồng tiền triệu khoảng hơn ít nhiều rất cũng nên cần phải theo từ đến tại
trên dưới trước sau giữa ngoài bên cạnh khu vực phòng ban bộ phận quản lý tổ trưởng
kỹ thuật viên kỹ sư thợ may hàn tiện phay mài cắt gấp ép dập sơn phun rửa sấy khô
lỗi hỏng hao mòn rò rỉ tắc nghẽn chậm trễ lãng phí thừa thiếu nguy hiểm tai nạn bỏng
găng tay khẩu trang kính mũ bảo hộ giày áo quần vải chỉ kim nút khóa kéo túi hộp
nhựa thép nhôm gỗ cao su dầu mỡ hóa chất keo băng dính ống van bơm động cơ bánh răng
dây đai xích lò hơi nồi máy nén khí điều hòa tủ lạnh kho lạnh cửa sổ mái tôn nền sàn
tường cầu thang lối đi biển báo vạch kẻ sơ đồ hướng dẫn đào tạo huấn luyện họp nhóm
ý kiến đánh giá kết quả hiệu quả lợi ích giá trị ước tính đạt vượt kế hoạch
mục tiêu đơn hàng khách hàng giao nhận kịp thời chính xác đúng sai nhanh gọn sạch đẹp
"""
#: Words of ideas as workers write them; the first are the commonest (weights 1/rank).
WORDS = tuple(_WORDS_TEXT.split())


def texts(count: int, seed: int = 20261206) -> itertools.chain[str]:
    """``count`` folded texts of 200-600 characters."""
    rnd = random.Random(seed)
    words = [fold_name(w) for w in WORDS]
    cumulative = list(itertools.accumulate(1 / rank for rank in range(1, len(words) + 1)))

    def one() -> str:
        target, out, length = rnd.randrange(200, 601), [], 0
        while length < target:
            for word in rnd.choices(words, cum_weights=cumulative, k=16):
                out.append(word)
                length += len(word) + 1
                if length >= target:
                    break
        if rnd.random() < 1 / 50_000:
            out.insert(rnd.randrange(len(out)), RARE_WORD)
        return " ".join(out)

    return itertools.chain(one() for _ in range(count))


def realistic(source: Path) -> Path:
    """The copy of ``source`` with realistic texts and the index (built once)."""
    target = RESULTS_DIR / f"dashboard-search-{source.stem.removeprefix('progress-')}.db"
    if target.exists():
        db = sqlite3.connect(target)
        try:
            row = db.execute("SELECT value FROM bench_meta WHERE key = 'search_texts'").fetchone()
        except sqlite3.Error:
            row = None
        db.close()
        if row is not None and row[0] == TEXTS_VERSION:
            return target
    partial = target.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    started = time.perf_counter()
    print(f"copying {source.name} …", file=sys.stderr)
    with sqlite3.connect(source) as src, sqlite3.connect(partial) as dst:
        src.backup(dst)
    db = sqlite3.connect(partial)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA journal_mode=OFF")
    print("numbering ideas in time order …", file=sys.stderr)
    db.execute("CREATE TEMP TABLE moments (n INTEGER PRIMARY KEY, at TEXT)")
    db.execute(
        "INSERT INTO moments (n, at) SELECT row_number() OVER (ORDER BY created_at, id), created_at"
        " FROM ideas"
    )
    db.execute("UPDATE ideas SET created_at = (SELECT at FROM moments WHERE n = ideas.id)")
    db.execute("UPDATE ideas SET updated_at = created_at WHERE updated_at < created_at")
    print("writing texts …", file=sys.stderr)
    for trigger in ("idea_fts_insert", "idea_fts_delete", "idea_fts_update"):
        db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    db.execute("DROP TABLE IF EXISTS idea_fts")
    rows = db.execute("SELECT idea_id, title FROM idea_search ORDER BY idea_id").fetchall()
    db.execute("DELETE FROM idea_search")
    db.executemany(
        "INSERT INTO idea_search (idea_id, title, text) VALUES (?, ?, ?)",
        ((i, title, text) for (i, title), text in zip(rows, texts(len(rows)), strict=True)),
    )
    db.commit()
    size = ensure_index(db)
    db.execute("ANALYZE")
    db.execute(
        "INSERT OR REPLACE INTO bench_meta (key, value) VALUES ('search_texts', ?)",
        (TEXTS_VERSION,),
    )
    db.execute(
        "INSERT OR REPLACE INTO bench_meta (key, value) VALUES ('search_index_bytes', ?)",
        (str(size),),
    )
    db.commit()
    db.close()
    partial.rename(target)
    print(f"built {target.name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return target


#: (name, viewer, query): viewer 0 is the country's official, 2 the district's.
SEARCHES: tuple[tuple[str, int, dict[str, str]], ...] = (
    ("first page, the country (no search)", 0, {}),
    ("common words (every title), the country", 0, {"text": "cải tiến"}),
    ("words of 1 text in 40, the country", 0, {"text": "quạt hút"}),
    ("word prefixes, the country", 0, {"text": "qua hu"}),
    ("one letter, the country", 0, {"text": "c"}),
    ("a rare title word, the country", 0, {"text": "số 987654"}),
    ("a rare text word, the country", 0, {"text": RARE_WORD}),
    ("a rare text word, a district", 2, {"text": RARE_WORD}),
    ("common words, a district", 2, {"text": "cải tiến"}),
    ("words of 1 text in 40, a district", 2, {"text": "quạt hút"}),
    ("FTS5 syntax typed, the country", 0, {"text": 'NEAR( "x* -y title: ^z)'}),
)


async def load_postgres(path: Path, url: str) -> None:
    """Copy the ideas of ``path`` (and their units, people, roles, campaigns and search
    rows) into the empty PostgreSQL database at ``url``, migrated first; the GIN
    indexes are built after the rows, as migration 0013 builds them after its fill."""
    import asyncpg  # type: ignore[import-untyped]  # the bench's own connection, for COPY

    from storage.schema import upgrade

    await upgrade(url)
    pg = await asyncpg.connect(url.replace("+asyncpg", ""))
    lite = sqlite3.connect(path)
    try:
        if await pg.fetchval("SELECT count(*) FROM ideas"):
            return
        print("copying the ideas into PostgreSQL …", file=sys.stderr)
        await pg.execute("DROP INDEX ix_idea_search_title_words, ix_idea_search_text_words")
        for table in ("units", "people", "campaigns", "roles", "ideas", "idea_search"):
            types = dict(
                await pg.fetch(
                    "SELECT column_name, data_type FROM information_schema.columns"
                    " WHERE table_name = $1",
                    table,
                )
            )
            names = [r[1] for r in lite.execute(f"PRAGMA table_info({table})") if r[1] in types]
            kinds = [types[n] for n in names]
            rows = lite.execute(f"SELECT {', '.join(names)} FROM {table}")
            await pg.execute(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
            while batch := rows.fetchmany(50_000):
                records = [tuple(_pg(k, v) for k, v in zip(kinds, r, strict=True)) for r in batch]
                await pg.copy_records_to_table(table, records=records, columns=names)
            await pg.execute(f"ALTER TABLE {table} ENABLE TRIGGER ALL")
            if "id" in names:
                await pg.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
                )
        await pg.execute("SET maintenance_work_mem = '512MB'")
        for column in ("title", "text"):
            await pg.execute(
                f"CREATE INDEX ix_idea_search_{column}_words ON idea_search"
                f" USING gin (to_tsvector('simple'::regconfig, {column}))"
            )
        await pg.execute("ANALYZE")
    finally:
        lite.close()
        await pg.close()


def _pg(kind: str, value: object) -> object:
    """A SQLite value as PostgreSQL's COPY takes it."""
    if value is None:
        return None
    if kind == "boolean":
        return bool(value)
    if kind.startswith("timestamp"):
        return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)
    if kind == "date":
        return date.fromisoformat(str(value))
    return value


async def measure(path: Path, runs: int, url: str | None = None) -> list[tuple[str, float, float]]:
    from handlers.dashboard.base import IdeaQuery
    from handlers.dashboard.service import Dashboard
    from handlers.i18n import Catalogue
    from storage.db import create_engine, create_sessionmaker

    national, _, _, local, district = prepare(path)
    viewers = (national, None, local)
    url = url or f"sqlite+aiosqlite:///{path}"
    writer_engine, reader_engine = create_engine(url), create_engine(url)
    board = Dashboard(
        sessionmaker=create_sessionmaker(writer_engine),
        reader=create_sessionmaker(reader_engine),
        catalogue=Catalogue.load(),
        clock=lambda: datetime(2026, 11, 20, 9, tzinfo=UTC),
    )
    results = []
    try:
        for name, viewer, query in SEARCHES:
            person = viewers[viewer]
            assert person is not None
            asked = IdeaQuery(text=query.get("text"), unit_id=district if viewer == 2 else None)

            def view(person: int = person, asked: IdeaQuery = asked) -> Awaitable[JSON]:
                return board.ideas(person, asked)

            found = len((await view())["ideas"])
            timing = _timing(name, "search", await _time(view, runs), 0)
            results.append((f"{name} [{found} shown]", timing.median_ms, timing.p95_ms))
    finally:
        await writer_engine.dispose()
        await reader_engine.dispose()
    return results


def scan(path: Path, runs: int) -> tuple[str, float, float]:
    """The pass the search made before the index: LIKE over every folded text."""
    db = sqlite3.connect(path)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        db.execute(
            "SELECT count(*) FROM idea_search WHERE title LIKE ? OR text LIKE ?",
            ("%" + RARE_WORD + "%",) * 2,
        ).fetchone()
        samples.append((time.perf_counter() - started) * 1000)
    db.close()
    timing = _timing("", "", samples, 0)
    return ("before: the LIKE pass alone, a rare word", timing.median_ms, timing.p95_ms)


def submissions(path: Path, runs: int) -> list[tuple[str, float, float]]:
    """A submission's idea_search row committed with and without the index's trigger,
    alternately, on the same database (rows of ideas past the last, taken out again)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    (body,) = list(texts(1, seed=7))
    top = int(db.execute("SELECT max(idea_id) FROM idea_search").fetchone()[0])
    samples: dict[bool, list[float]] = {True: [], False: []}
    insert = "INSERT INTO idea_search (idea_id, title, text) VALUES (?, 'de xuat moi', ?)"
    try:
        for n in range(2 * runs):
            idea_id, indexed = top + 1 + n, n % 2 == 1
            if not indexed:
                db.execute("DROP TRIGGER idea_fts_insert")
            started = time.perf_counter()
            db.execute("BEGIN IMMEDIATE")
            db.execute(insert, (idea_id, body))
            db.execute("COMMIT")
            samples[indexed].append((time.perf_counter() - started) * 1000)
            if not indexed:
                db.execute(SQLITE_SEARCH_INDEX[1])
                db.execute(
                    "INSERT INTO idea_fts (rowid, title, text) VALUES (?, 'de xuat moi', ?)",
                    (idea_id, body),
                )
    finally:
        db.execute("DELETE FROM idea_search WHERE idea_id > ?", (top,))
        db.close()
    out = []
    for indexed, label in ((False, "without the index"), (True, "with the index")):
        t = _timing("", "", samples[indexed], 0)
        out.append((f"a submission's idea_search row, {label}", t.median_ms, t.p95_ms))
    return out


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard_search", description=__doc__)
    parser.add_argument("--runs", type=int, default=30, help="timed runs per view")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="also on PostgreSQL: an empty database there, filled with the same ideas once",
    )
    args = parser.parse_args(argv)
    source = RESULTS_DIR / "progress-132133u-1000000i.db"
    if not cached(source):
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        await build(source, 132_133, 1_000_000)
    path = realistic(source)
    db = sqlite3.connect(path)
    texts_chars = db.execute("SELECT avg(length(text)) FROM idea_search").fetchone()[0]
    index_bytes = db.execute(
        "SELECT value FROM bench_meta WHERE key = 'search_index_bytes'"
    ).fetchone()[0]
    db.close()
    rows = await measure(path, args.runs)
    rows.append(scan(path, max(5, args.runs // 3)))
    rows += submissions(path, args.runs)
    if args.postgres:
        await load_postgres(path, args.postgres)
        rows += [
            (f"PostgreSQL: {n}", m, p) for n, m, p in await measure(path, args.runs, args.postgres)
        ]
    print(
        f"{path.name}: texts of {texts_chars:.0f} characters on average,"
        f" idea_fts {int(index_bytes) / 1e6:.0f} MB (SQLite {sqlite3.sqlite_version})"
    )
    print(f"{'':58} {'median ms':>10} {'p95 ms':>8}")
    for name, median, p95 in rows:
        print(f"{name:58} {median:10.1f} {p95:8.1f}")


if __name__ == "__main__":
    asyncio.run(main())
