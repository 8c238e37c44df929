"""The CSV/TSV reader parses a line at a time: same cells and same errors as parsing the whole text, in bounded memory."""
from __future__ import annotations

import csv
import io
import sys
import tracemalloc

import pytest

from screenstack.features.errors import ScreenstackError
from screenstack.features.records.tables import _first_undecodable_byte, read_table

# Files a streaming reader could split wrongly: line ends of every kind, quoted line breaks, a field past
# the text reader's 8 KiB buffer, blank and whitespace-only rows, a BOM, Excel's sep= line (with extra CRs).
LONG = "Long abstract, with commas; and \"quotes\"\r\nand line breaks. " * 400
FILES = {
    "crlf.csv": 'id,title,abstract\r\n1,A,"x\r\ny"\r\n2, B ,z\r\n',
    "cr.csv": 'id,title,abstract\r1,A,"x\ry"\r2,B,z\r',
    "mixed.csv": '\n\nid,title,abstract\n\n1,A,"two\nlines"\r\n , , \r,,,\n2,B,z,\n3,"C","' + LONG.replace('"', '""') + '"\n4,D,é–≥ 𝛼',
    "bom.csv": "\ufeffid;title;abstract\r\n1;A, b;x\r\n2;C;y",
    "sep.csv": "sep=;\r\r\r\nid;title;abstract\n1;A, b;x\n",
    "quoted-header.csv": '"id";"ti\nt,le";abstract\n1;A;x\n',  # the separator is sniffed past the header's line break
    "tab.tsv": 'id\ttitle\tabstract\n1\t"a\tb"\tx\n',
}


def whole_text_cells(text: str, sep: str) -> list[list[str]]:
    """The cells as the csv module reads the whole decoded text, blank rows and trailing separators dropped."""
    rows = [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True) if any(c.strip() for c in row)]
    return [row[: len(rows[0])] for row in rows[1:]]


@pytest.mark.parametrize("name", FILES)
def test_cells_are_those_of_the_whole_text(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(FILES[name].encode())
    frame = read_table(path)
    text = FILES[name].removeprefix("\ufeff")
    if text.startswith("sep="):
        text = text[5:].lstrip("\r").removeprefix("\n")
    expected = whole_text_cells(text, frame.attrs["separator"])
    assert frame.astype(str).values.tolist() == expected
    assert all(frame[c].dtype == object for c in frame.columns)


def test_an_error_further_down_keeps_its_precedence(tmp_path):
    """A wrong field count is raised once the file has parsed: a quoting error after it still comes first."""
    path = tmp_path / "r.csv"
    path.write_text('id,title\n1,A,extra\n2,B\n3,"C\n')
    with pytest.raises(ScreenstackError, match=r"cannot parse row 4 as CSV .*quote in the record that starts on line 4 is never closed"):
        read_table(path)
    path.write_bytes(b"id,title\n1,A,extra\n2,caf\xe9\n")
    with pytest.raises(ScreenstackError, match=r"row 3, column 'title' is not valid UTF-8 text \(byte 0xe9\)"):
        read_table(path)
    path.write_text("id,title\n1,A\n\n2,B,extra\n3,C\n")
    with pytest.raises(ScreenstackError, match="row 4 has 3 fields but the header has 2"):  # the blank row 3 counts
        read_table(path)


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
@pytest.mark.parametrize("at", [0, 5, (1 << 20) - 1, 1 << 20, (1 << 20) + 1])
def test_first_undecodable_byte_counts_as_decoding_the_whole_file(tmp_path, bom, at):
    """The offset of the first bad byte, found a block at a time, across a block boundary and a cut character."""
    body = bytearray(b"a" * ((1 << 20) + 8))
    body[at - 1:at + 2] = "–".encode()  # a 3-byte character around the bad byte's neighbour
    body[at + 2] = 0xFF
    path = tmp_path / "r.csv"
    path.write_bytes(bom + bytes(body))
    with pytest.raises(UnicodeDecodeError) as error:
        path.read_bytes().decode("utf-8-sig")
    assert _first_undecodable_byte(path) == (error.value.start, error.value.object[error.value.start])


def test_reading_holds_the_cells_not_the_file_text_besides(tmp_path):
    """Python's peak allocations while reading stay near the cells' own size (the old reader held the file's bytes and text too)."""
    path = tmp_path / "big.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "abstract"])
        for i in range(4_000):
            writer.writerow([f"r{i}", f"Title {i}", "An abstract of a trial, with – dashes. " * 60])
    tracemalloc.start()
    try:
        frame = read_table(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    cells = sum(sys.getsizeof(cell) for column in frame.columns for cell in frame[column])
    assert len(frame) == 4_000
    assert peak < 1.2 * cells, f"peak {peak / 2**20:.1f} MiB for {cells / 2**20:.1f} MiB of cells"


def test_a_stray_quote_in_the_header_is_a_literal_and_its_search_stops_at_a_megabyte(tmp_path):
    """A quote inside an unquoted header cell is legal; finding the header's end once rescanned the header per line."""
    from screenstack.features.records import tables

    rows = "".join(f"n{i},Title {i},{'word ' * 200},{i}\n" for i in range(2000))  # 2 MB of rows without quotes
    path = tmp_path / "stray.csv"
    path.write_text('id,title,abstract,size"inches\n' + rows)
    frame = read_table(path)
    assert list(frame.columns) == ["id", "title", "abstract", 'size"inches'] and len(frame) == 2000
    head = tables._read_header_row(iter(io.StringIO(rows, newline="")), 'id,title,abstract,size"inches\n')
    assert len(head) < tables.HEADER_LIMIT + 2000  # stopped near the limit, not at the end of the file


def test_a_pipe_or_an_unreadable_file_is_one_line(tmp_path, monkeypatch):
    import os

    from screenstack.features.records import tables

    fifo = tmp_path / "records.csv"
    os.mkfifo(fifo)
    with pytest.raises(ScreenstackError, match=r"records.csv: is not a regular file \(a pipe or a device\)\. Save"):
        read_table(fifo)
    locked = tmp_path / "locked.csv"
    locked.write_text("id,title,abstract\n1,a,b\n")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tables, "open", denied, raising=False)  # chmod 000 does not stop root, who runs CI
    with pytest.raises(ScreenstackError, match=r"locked.csv: cannot be read \(Permission denied\)\. Check the file's permissions"):
        read_table(locked)


def test_blank_lines_before_the_header_do_not_decide_the_separator(tmp_path):
    path = tmp_path / "blank-first.csv"
    path.write_bytes(b"\r\n\r\nid;title;abstract\r\n1;T, x;A\r\n")
    frame = read_table(path)
    assert list(frame.columns) == ["id", "title", "abstract"] and frame.iloc[0].tolist() == ["1", "T, x", "A"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])  # with a byte-order mark (Excel's Unicode Text), and without
def test_utf16_files_are_named_as_utf16(tmp_path, encoding):
    path = tmp_path / "records.csv"
    path.write_bytes("id,title,abstract\n1,A,B\n".encode(encoding))
    with pytest.raises(ScreenstackError, match=r"records.csv: .*UTF-16 text.* Save it as CSV UTF-8"):
        read_table(path)


def test_rows_are_numbered_as_a_spreadsheet_shows_them_blank_rows_included(tmp_path):
    from screenstack.features.records.corpus import load_records

    path = tmp_path / "labels.csv"
    path.write_text("\nid,title,abstract,judgement\n\n1,a,b,0\n2,c,d,1\n\n\n3,e,f,yes\n")
    with pytest.raises(ScreenstackError, match=r"labels.csv: row 8, column 'judgement': label 'yes' is not 0 or 1"):
        load_records(path)


def test_line_numbers_in_quoting_errors_count_excels_sep_line(tmp_path):
    path = tmp_path / "sep.csv"
    path.write_text('sep=,\n"id","title","abstract"\n1,"unclosed\n')
    with pytest.raises(ScreenstackError, match=r"row 2 as CSV: a quote in the record that starts on line 3 is never closed"):
        read_table(path)
