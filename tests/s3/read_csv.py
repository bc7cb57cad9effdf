#!/usr/bin/python3
"""Reads a CSV object of the bulk load path with Python's own gzip and csv modules, as an
independent check of redsink's writer (tests/s3/copy_test.cpp).

  read_csv.py IN OUT

IN is a gzip object as uploaded (read with Python's gzip module), or the CSV text of a zstd
object, which the test decompressed (Python's standard library has no zstd).

Writes one line per CSV record to OUT: its fields separated by spaces, each field "N" for NULL (a
field that is a lone NUL byte: NULL AS '\\0') or "V" and the hex of its UTF-8 bytes. Fails on a
NUL byte anywhere else, and on text that is not UTF-8.
"""
import csv
import gzip
import io
import sys


def main(source, target):
    with open(source, "rb") as raw:
        data = raw.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    text = data.decode("utf-8", errors="strict")
    out = []
    for record in csv.reader(io.StringIO(text, newline=""), dialect="excel", strict=True):
        fields = []
        for field in record:
            if field == "\0":
                fields.append("N")
            elif "\0" in field:
                raise SystemExit(f"a NUL byte inside a field: {field!r}")
            else:
                fields.append("V" + field.encode("utf-8").hex())
        out.append(" ".join(fields))
    with open(target, "w", encoding="ascii") as lines:
        lines.write("\n".join(out) + ("\n" if out else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
