#!/usr/bin/python3
"""Reads a COPY manifest of the bulk load path with Python's json module, as an independent check
of redsink's writer (tests/s3/copy_test.cpp).

  read_manifest.py IN OUT

Writes one line per entry to OUT: its URL, a space, and "mandatory" or "optional". Fails unless
IN is a JSON object holding only "entries", a list of objects each holding only "url" (a string)
and "mandatory" (a boolean): what Redshift's COPY reads from a manifest of S3 objects.
"""
import json
import sys


def main(source, target):
    with open(source, "rb") as raw:
        manifest = json.loads(raw.read().decode("utf-8", errors="strict"))
    if not isinstance(manifest, dict) or set(manifest) != {"entries"} or not isinstance(manifest["entries"], list):
        raise SystemExit(f"not a manifest: {manifest!r}")
    out = []
    for entry in manifest["entries"]:
        if not isinstance(entry, dict) or set(entry) != {"url", "mandatory"}:
            raise SystemExit(f"an entry holds other members than url and mandatory: {entry!r}")
        if not isinstance(entry["url"], str) or not isinstance(entry["mandatory"], bool):
            raise SystemExit(f"an entry's url is not a string or its mandatory not a boolean: {entry!r}")
        if " " in entry["url"] or "\n" in entry["url"]:
            raise SystemExit(f"a URL this script cannot print on one line: {entry['url']!r}")
        out.append(entry["url"] + " " + ("mandatory" if entry["mandatory"] else "optional"))
    with open(target, "w", encoding="utf-8") as lines:
        lines.write("\n".join(out) + ("\n" if out else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
