"""Bad input the CSV/TSV reader names in one line (or, for harmless quirks of exports, reads as meant)."""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import warnings
import zipfile

import pytest

from screenstack.features.errors import ScreenstackError
from screenstack.features.records.corpus import load_records
from screenstack.features.records.tables import read_table, sheet_row


def write(tmp_path, name: str, data: bytes | str):
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_a_nul_byte_in_a_cell_is_named_by_its_spreadsheet_row_and_column(tmp_path):
    # blank rows count, as a spreadsheet shows them: data row 1 (0-based) is sheet row 4
    path = write(tmp_path, "damaged.csv", b"id,title,abstract\n1,A,B\n\n2,C,D\x00E\n3,F,G\n")
    with pytest.raises(ScreenstackError) as caught:
        read_table(path)
    message = str(caught.value)
    assert message == (f"{path}: row {sheet_row(1, [3])}, column 'abstract' holds a NUL byte: a binary or damaged file "
                       "read as text. Re-export the file as CSV UTF-8 (Excel: File > Save As > CSV UTF-8).")
    assert "row 4," in message and "\n" not in message


def test_a_dos_end_of_file_mark_after_the_last_row_is_read_as_the_end_not_as_a_split_record(tmp_path):
    # It was refused as "rows 3 and 4 ... as when a line break inside an unquoted field splits a record".
    path = write(tmp_path, "old.csv", b"id,title,abstract\r\n1,A,B\r\n2,C,D\r\n\x1a")
    assert read_table(path).to_dict("list") == {"id": ["1", "2"], "title": ["A", "C"], "abstract": ["B", "D"]}


def test_a_nul_byte_in_the_header_is_named(tmp_path):
    path = write(tmp_path, "damaged.csv", b"id,title,abst\x00ract\n1,A,B\n")
    with pytest.raises(ScreenstackError, match=r"damaged.csv: the header row, column 3, holds a NUL byte.* CSV UTF-8"):
        read_table(path)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])  # a NUL near the start: still named as UTF-16
def test_utf16_is_still_named_as_utf16_not_as_a_nul_cell(tmp_path, encoding):
    path = write(tmp_path, "records.csv", "id,title,abstract\n1,A,B\n".encode(encoding))
    with pytest.raises(ScreenstackError, match="UTF-16"):
        read_table(path)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_a_utf16_ris_file_is_named_as_utf16_not_as_a_record_that_is_not_utf8(tmp_path, encoding):
    # It said "record 1 is not valid UTF-8 text (byte offset 0)", where a CSV file of the same bytes is named UTF-16.
    path = write(tmp_path, "export.ris", "TY  - JOUR\nTI  - A title\nAB  - An abstract\nER  - \n".encode(encoding))
    with pytest.raises(ScreenstackError, match=r"export.ris: (is|holds NUL bytes near its start:) UTF-16 text.* Re-export the "
                                               r"RIS file as UTF-8\.$"):
        read_table(path)


@pytest.mark.parametrize("name", ["export.ris", "records.csv"])
@pytest.mark.parametrize("encoding", ["utf-32", "utf-32-be"])
def test_utf32_is_named_as_utf32_not_as_utf16(tmp_path, name, encoding):
    # Its byte-order mark begins as UTF-16's does, and it was named UTF-16: a user who saved it so looked for the wrong one.
    text = "TY  - JOUR\nTI  - A title\nER  - \n" if name.endswith(".ris") else "id,title,abstract\n1,A,B\n"
    raw = text.encode(encoding)
    path = write(tmp_path, name, raw if raw[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff") else b"\x00\x00\xfe\xff" + raw)
    with pytest.raises(ScreenstackError, match=rf"{name}: is UTF-32 text; records are read as UTF-8\. (Re-export|Save)"):
        read_table(path)


@pytest.mark.parametrize("header, row", [(",", ","), (",,", ",,"), (",", ""), (", ,", ",")])
def test_trailing_separators_in_the_header_are_dropped_when_their_columns_are_empty(tmp_path, header, row):
    path = write(tmp_path, "excel.csv", f"id,title,abstract,judgement{header}\r\n1,A,B,1{row}\r\n2,C,D,0{row}\r\n")
    frame = read_table(path)
    assert list(frame.columns) == ["id", "title", "abstract", "judgement"]
    assert frame.values.tolist() == [["1", "A", "B", "1"], ["2", "C", "D", "0"]]
    assert load_records(path)["label"].tolist() == [1, 0]


def test_a_row_split_by_an_unquoted_comma_with_its_last_cell_empty_is_named_not_read_silently(tmp_path):
    # A helper's unscreened record, a comma in its unquoted title: read as ending in a separator, its title became
    # "The Use of Mobile Phones to Supp" and its abstract "ort Children's ...", without a word.
    rows = ["id,title,abstract,keywords,label", "1,A,x,k,1", "2,B,y,k,0", "3,Mobile Phones to Supp,ort Literacy,The abstract,,",
            "4,D,z,k,0", "5,E,w,k,"]
    path = write(tmp_path, "shifted.csv", "\n".join(rows) + "\n")
    with pytest.warns(UserWarning, match=r"shifted.csv: 1 row\(s\) have more fields than the header's 5, the last ones "
                                         r"empty \(row 4 with 6\).*Check the quoting on those rows"):
        records = load_records(path, labelled="partly")
    assert records["title"][2] == "Mobile Phones to Supp"  # read as it is: the warning is what tells
    # A labelled row so split puts another cell in the label column: the error says why.
    path = write(tmp_path, "labelled.csv", "\n".join(rows[:3] + ["3,Mobile Phones,to Supp,ort Literacy,2005,"]) + "\n")
    with pytest.warns(UserWarning, match="row 4 with 6"), pytest.raises(
            ScreenstackError, match=r"row 4, column 'label': label '2005' is not 0 or 1 \(row 4 has 6 fields where the "
                                    r"header has 5: check its quoting"):
        load_records(path, labelled="partly")
    # Refusing a longer row with data past the header names the split rows read before it too.
    path = write(tmp_path, "two.csv", "\n".join(rows[:3] + ["3,A,b,c,d,", "4,A,b,c,d,e"]) + "\n")
    with pytest.raises(ScreenstackError, match=r"row 5 has 6 fields but the header has 5 .*; row 4 before it has more "
                                               r"fields than the header too \(the last ones empty\): check it as well\.$"):
        read_table(path)
    # Every row ending in a separator is a trailing separator, said nowhere, nor in a refusal of another row.
    path = write(tmp_path, "trailing.csv", "id,title,abstract,keywords,label\n1,A,x,k,1,\n2,B,y,k,0,\n3,C,z,k,,\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_records(path, labelled="partly")["title"].tolist() == ["A", "B", "C"]
    path = write(tmp_path, "trailing-and-data.csv", path.read_text() + "4,D,w,k,0,data\n")
    with pytest.raises(ScreenstackError, match=r"row 5 has 6 fields but the header has 5 .* really CSV\.$"):
        read_table(path)
    # An update (no label column) is not told of a label column.
    path = write(tmp_path, "update.csv", "id,title,abstract\n1,A,x\n2,B,y\n3,Mobile, Phones,\n4,D,z\n")
    with pytest.warns(UserWarning, match=r"update.csv: 1 row\(s\) .*\(a title cut in two\)\. Check the quoting"):
        load_records(path, labelled=False)


def test_data_under_a_nameless_trailing_column_is_refused_naming_the_column_and_first_row(tmp_path):
    path = write(tmp_path, "excel.csv", "id,title,abstract,,\n1,A,B,,\n\n2,C,D,,note\n3,E,F,x,\n")
    with pytest.raises(ScreenstackError) as caught:
        read_table(path)
    assert str(caught.value) == (f"{path}: column 5 has no name in the header row, but row 4 has data there ('note'). "
                                 "Name the column in the header row, or delete its data.")


@pytest.mark.parametrize("name", ["export.csv", "export.xlsx"])
def test_a_title_line_above_the_header_is_named_with_the_rows_to_delete(tmp_path, name):
    # It said "column 2 has no name in the header row, but row 3 has data there ('title')" (a workbook), or "row 2 has
    # 4 fields but the header has 1" (CSV): neither said the header must be the first row (a helper's finding).
    import openpyxl

    rows = [["Screening export, 5 December"], [], ["id", "title", "abstract", "label"], ["1", "A", "x", "1"]]
    if name.endswith(".csv"):
        path = write(tmp_path, name, "\n".join(",".join(row) for row in rows if row).replace("Screening export, 5 December",
                                                                                           "Screening export 5 December"))
        number, first = 2, "Screening export 5 December"
    else:
        book = openpyxl.Workbook()
        for row in rows:
            book.active.append(row)
        path = tmp_path / name
        book.save(path)
        number, first = 3, "Screening export, 5 December, and 3 without a name"
    with pytest.raises(ScreenstackError) as caught:
        read_table(path)
    assert str(caught.value) == (f"{path}: row {number} looks like the header row (it names title, abstract), but the first "
                                 f"row ({first}) is read as the header. Delete the rows above row {number}.")

def test_a_row_wider_than_a_header_with_nameless_columns_is_a_width_error(tmp_path):
    path = write(tmp_path, "excel.csv", "id,title,\n1,A,,x\n")
    with pytest.raises(ScreenstackError, match=r"row 2 has 4 fields but the header has 3 \(id, title, and 1 without a name\)"):
        read_table(path)


def test_rows_old_excel_saved_without_their_trailing_empty_cells_are_read_with_those_cells_empty(tmp_path):
    path = write(tmp_path, "excel.csv", "id,title,abstract,included,notes\r\n1,A,a,1,x\r\n2,B,b,0\r\n3,C,c\r\n\r\n4,D\r\n5,E,e,,y\r\n")
    frame = read_table(path)
    assert frame.values.tolist() == [["1", "A", "a", "1", "x"], ["2", "B", "b", "0", ""], ["3", "C", "c", "", ""],
                                     ["4", "D", "", "", ""], ["5", "E", "e", "", "y"]]
    records = load_records(path, labelled="partly")
    assert records["label"].tolist()[:2] == [1, 0] and records["label"].isna().tolist() == [False, False, True, True, True]


@pytest.mark.parametrize("text, rows, counts", [
    ("id,title,abstract\n1,A,First paragraph.\nSecond paragraph.\n2,B,b\n", "2 and 3", "3 and 1"),  # last column
    ("id,title,abstract\n1,A,First paragraph.\n\nSecond paragraph.\n2,B,b\n", "2 and 4", "3 and 1"),  # blank line: row 3
    ("id,title,abstract,label\n1,A,a,1\n2,B,starts\nends,0\n", "3 and 4", "3 and 2"),  # a middle column
    ("id,title,abstract,label\n1,A,one\ntwo\nthree,1\n", "2, 3 and 4", "3, 1 and 2"),  # three pieces
], ids=["last-column", "blank-line", "middle-column", "three-pieces"])
def test_short_rows_that_could_be_one_record_split_by_a_line_break_are_refused(tmp_path, text, rows, counts):
    path = write(tmp_path, "broken.csv", text)
    with pytest.raises(ScreenstackError) as caught:
        read_table(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: rows {rows} have {counts} fields: read together they are one row of the header's ")
    assert message.endswith("Quote the field that holds the line break, or, if the rows only lack empty cells, "
                            "re-save the file from a current spreadsheet.") and "\n" not in message


def _zip(member: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(member, "id,title\n1,a\n")
    return buffer.getvalue()


TEXT = b"id,title,abstract\n1,A,B\n"


@pytest.mark.parametrize("name, data, message", [
    ("records.csv", bz2.compress(TEXT), "is bz2-compressed, not a text table. Decompress it first (bzip2 -dc records.csv > records-decompressed.csv)."),
    ("records.csv", lzma.compress(TEXT), "is xz-compressed, not a text table. Decompress it first (xz -dc records.csv > records-decompressed.csv)."),
    ("records.csv", b"\x28\xb5\x2f\xfd" + bytes(16), "is zstd-compressed, not a text table. Decompress it first (zstd -dc records.csv > records-decompressed.csv)."),
    ("records.csv.gz", gzip.compress(TEXT), "is gzip-compressed, not a text table. Decompress it first (gzip -dc records.csv.gz > records.csv)."),
    ("records.csv", _zip("records.csv"), "is zip-compressed, not a text table. Decompress it first (unzip records.csv) and give"),
    ("records.tsv", _zip("xl/workbook.xml"), "is an Excel .xlsx workbook, not a text table. Read as a workbook: rename it to .xlsx"),
], ids=["bz2", "xz", "zstd", "gzip", "zip", "xlsx"])
def test_compressed_files_are_named_with_the_command_that_decompresses_them(tmp_path, name, data, message):
    path = write(tmp_path, name, data)
    with pytest.raises(ScreenstackError) as caught:
        read_table(path)
    assert str(caught.value).startswith(f"{path}: {message}")


RIS = b"TY  - JOUR\nTI  - A title\nER  - \n"


@pytest.mark.parametrize("name, data, message", [
    ("refs.ris.gz", gzip.compress(RIS), "is gzip-compressed, not RIS text. Decompress it first (gzip -dc refs.ris.gz > refs.ris)."),
    ("refs.ris", gzip.compress(RIS), "is gzip-compressed, not RIS text. Decompress it first (gzip -dc refs.ris > refs-decompressed.ris)."),
    ("refs.ris", bz2.compress(RIS), "is bz2-compressed, not RIS text. Decompress it first (bzip2 -dc refs.ris > refs-decompressed.ris)."),
    ("refs.ris", lzma.compress(RIS), "is xz-compressed, not RIS text. Decompress it first (xz -dc refs.ris > refs-decompressed.ris)."),
    ("refs.ris", b"\x28\xb5\x2f\xfd" + bytes(16), "is zstd-compressed, not RIS text. Decompress it first (zstd -dc refs.ris > refs-decompressed.ris)."),
    ("refs.ris", _zip("refs.ris"), "is zip-compressed, not RIS text. Decompress it first (unzip refs.ris) and give"),
], ids=["gz-ending", "gzip", "bz2", "xz", "zstd", "zip"])
def test_compressed_ris_files_are_named_like_compressed_tables(tmp_path, name, data, message):
    # refused as compressed CSV files are (not read: gzip CSV is not read either), not as bytes that are not UTF-8
    path = write(tmp_path, name, data)
    with pytest.raises(ScreenstackError) as caught:
        load_records(path, labelled=False)
    assert str(caught.value).startswith(f"{path}: {message}")


def test_a_header_starting_with_bzh_is_text(tmp_path):
    frame = read_table(write(tmp_path, "records.csv", "BZh,title\n1,A\n"))
    assert list(frame.columns) == ["BZh", "title"]


@pytest.mark.parametrize("boms", [2, 3])
def test_every_leading_bom_is_stripped(tmp_path, boms):
    path = write(tmp_path, "records.csv", "\ufeff" * boms + "id;title;abstract\r\n1;A, b;x\r\n")
    frame = read_table(path)
    assert list(frame.columns) == ["id", "title", "abstract"] and frame.iloc[0].tolist() == ["1", "A, b", "x"]
    assert list(read_table(write(tmp_path, "sep.csv", "\ufeff\ufeffsep=;\nid;title\n1;A\n")).columns) == ["id", "title"]


def test_a_double_bom_in_a_ris_file_is_stripped(tmp_path):
    frame = read_table(write(tmp_path, "records.ris", "\ufeff\ufeffTY  - JOUR\nTI  - A title\nER  - \n"))
    assert frame["title"].tolist() == ["A title"]


@pytest.mark.parametrize("second", ["id,title,abstract", "\ufeffid,title,abstract", " id , title,abstract,",
                                    "ID,Title,Abstract",  # another export's capitals
                                    '\ufeff"id","title","abstract"',  # cat of two quoted exports: the BOM keeps the quotes as text
                                    "title,id,abstract"])  # another export's column order
def test_a_header_repeated_below_is_refused_as_two_exports_pasted_together(tmp_path, second):
    path = write(tmp_path, "both.csv", f"\ufeffid,title,abstract\n1,A,B\n\n{second}\n2,C,D\n")
    with pytest.raises(ScreenstackError) as caught:
        read_table(path)
    assert str(caught.value) == (f"{path}: row 4 repeats the header row (id, title, abstract), as when two exports are "
                                 "pasted together. Delete that second header line, or export the records once.")


def test_a_record_that_only_shares_the_headers_first_name_is_kept(tmp_path):
    frame = read_table(write(tmp_path, "records.csv", "id,title\n1,A\nid,another title\n"))
    assert frame["id"].tolist() == ["1", "id"]


@pytest.mark.parametrize("sep_line", ["sep=;", "SEP=;", "sep=;;;;", "sep=; ", '"sep=;"', '"sep=;";;;'])
def test_an_excel_sep_line_as_libreoffice_resaves_it_names_the_separator(tmp_path, sep_line):
    # LibreOffice shows Excel's sep= line as a row and pads it to the table's width (or quotes it) on saving.
    frame = read_table(write(tmp_path, "records.csv", f"{sep_line}\nid;title;abstract;;\n1;A;B;;\n"))
    assert list(frame.columns) == ["id", "title", "abstract"] and frame["title"].tolist() == ["A"]


def test_a_header_repeated_inside_a_workbook_is_refused(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    for row in (["id", "title", "abstract"], ["1", "A", "B"], ["ID", "Title", "Abstract"], ["2", "C", "D"]):
        book.active.append(row)
    book.save(tmp_path / "both.xlsx")
    with pytest.raises(ScreenstackError, match=r"both.xlsx: row 3 repeats the header row \(id, title, abstract\)"):
        read_table(tmp_path / "both.xlsx")


@pytest.mark.parametrize("name, text, what", [
    ("savedrecs.txt", "\ufeffFN Clarivate Analytics Web of Science\nVR 1.0\nPT J\nTI A title\nER\n\nEF\n",
     "is Web of Science's plain text export"),
])
def test_a_database_s_own_text_format_is_named_with_the_export_to_use(tmp_path, name, text, what):
    # Read as CSV they were "row 3 has 2 fields but the header has 1 (...)", naming no format.
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScreenstackError) as refused:
        read_table(path)
    assert str(refused.value).startswith(f"{path}: {what}") and "which screenstack does not read" in str(refused.value)
