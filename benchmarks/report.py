#!/usr/bin/python3
"""Writes docs/benchmarks.md and docs/benchmarks.png from one run of scripts/bench.

Reads the Google Benchmark JSON of redsink_bench_loaders, redsink_bench_encode and
redsink_bench_s3, and the output of redsink_bench_memory with /usr/bin/time -v's report. Every comparison is a ratio of
medians measured in the same run; nothing is compared with an absolute threshold. Standard
library only; the chart is drawn by gnuplot.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

# Which hand-written loader each Sink case is measured against, and the ratio of rows/s it
# should reach: (sink loader, baseline loader, same batch size?, minimum ratio, the batch sizes
# and task counts the target is for; None: all).
TARGETS = [
    ("sink_redshift_append", "pipelined_insert", False, 1.0, (10_000, 100_000), (1,)),
    ("sink_redshift_upsert", "staged_upsert", True, 2.0, (10_000, 100_000), (1,)),
    ("sink_postgres_append", "copy", False, 0.9, None, (1,)),
]
# Compared and shown, without a target.
CONTEXT = [
    ("sink_redshift_append", "multi_row_insert", False),
    ("sink_redshift_append", "copy", False),
    ("sink_postgres_append", "copy_per_batch", True),
    ("sink_postgres_upsert", "staged_upsert", True),
    ("sink_redshift_upsert_recreate", "staged_upsert", True),
    ("sink_redshift_upsert_merge", "staged_upsert", True),
    ("sink_postgres_upsert_merge", "staged_upsert", True),
    ("sink_redshift_upsert_refused", "staged_upsert", True),
    ("sink_postgres_upsert_refused", "staged_upsert", True),
]
ENCODE_TARGET = 1.1  # redsink's time over the hand-written fmt encoder's, at most
# The serializable stand-in: 4 tasks' time over 1 task's, at most.
SERIALIZABLE_TARGET = 1.5
# The connector's path: its events/s over decode-then-Sink's in one loop, at least.
CONNECTOR_TARGET = 0.9

LABELS = {
    "per_row_insert": "hand: per-row INSERT",
    "multi_row_insert": "hand: multi-row INSERT (typical)",
    "pipelined_insert": "hand: prepared + pipelined (expert)",
    "staged_upsert": "hand: staging-table upsert",
    "copy": "hand: COPY FROM STDIN",
    "copy_per_batch": "hand: COPY per batch",
    "sink_redshift_append": "Sink redshift append",
    "sink_redshift_upsert": "Sink redshift upsert",
    "sink_redshift_upsert_recreate": "Sink redshift upsert, stage recreated every batch",
    "sink_redshift_upsert_merge": "Sink redshift upsert, one MERGE",
    "sink_postgres_upsert_merge": "Sink postgres upsert, one MERGE",
    "sink_postgres_append": "Sink postgres append",
    "sink_postgres_upsert": "Sink postgres upsert",
    "sink_redshift_upsert_refused": "Sink redshift upsert, 1 row in 10,000 dead-lettered by the server",
    "sink_postgres_upsert_refused": "Sink postgres upsert, 1 row in 10,000 dead-lettered by the server",
    "sink_redshift_append_once": "Sink redshift append, exactly_once",
    "sink_redshift_upsert_once": "Sink redshift upsert, exactly_once",
    "sink_postgres_append_once": "Sink postgres append, exactly_once",
    "sink_postgres_upsert_once": "Sink postgres upsert, exactly_once",
    "sink_redshift_append_rows": "Sink redshift append, Row",
    "sink_redshift_upsert_rows": "Sink redshift upsert, Row",
    "sink_postgres_append_rows": "Sink postgres append, Row",
    "sink_postgres_upsert_rows": "Sink postgres upsert, Row",
}
# exactly_once against at_least_once on the same stream: (exactly_once case, at_least_once case).
ONCE = [
    ("sink_redshift_append_once", "sink_redshift_append"),
    ("sink_redshift_upsert_once", "sink_redshift_upsert"),
    ("sink_postgres_append_once", "sink_postgres_append"),
    ("sink_postgres_upsert_once", "sink_postgres_upsert"),
]
# Rows whose columns are known at run time against the struct with the same columns: (Row case, struct case).
ROWS = [
    ("sink_redshift_append_rows", "sink_redshift_append"),
    ("sink_redshift_upsert_rows", "sink_redshift_upsert"),
    ("sink_postgres_append_rows", "sink_postgres_append"),
    ("sink_postgres_upsert_rows", "sink_postgres_upsert"),
]
ROWS_TARGET = 0.8
BASELINES = ["per_row_insert", "multi_row_insert", "pipelined_insert", "staged_upsert", "copy", "copy_per_batch"]
SINKS = [
    "sink_redshift_append",
    "sink_redshift_upsert",
    "sink_redshift_upsert_recreate",
    "sink_redshift_upsert_merge",
    "sink_postgres_upsert_merge",
    "sink_postgres_append",
    "sink_postgres_upsert",
    "sink_redshift_upsert_refused",
    "sink_postgres_upsert_refused",
    "sink_redshift_append_once",
    "sink_redshift_upsert_once",
    "sink_postgres_append_once",
    "sink_postgres_upsert_once",
]
RECORDS = ("narrow", "wide")


def parse_case(run_name):
    """'narrow/sink_redshift_append/batch:1000/tasks:1/iterations:1/real_time' -> parts."""
    parts = run_name.split("/")
    args = {}
    for part in parts[2:]:
        key, _, value = part.partition(":")
        if value and key not in ("iterations", "repeats", "min_time"):
            args[key] = int(value)
    return parts[0], parts[1], args.get("batch", 0), args.get("tasks", 0)


def load_runs(path):
    """Median and coefficient of variation per case, and the run's context."""
    data = json.loads(Path(path).read_text())
    cases = {}
    failed = []
    for entry in data["benchmarks"]:
        if entry.get("error_occurred"):
            failed.append(f"{entry['name']}: {entry.get('error_message', '')}")
            continue
        key = parse_case(entry["run_name"])
        case = cases.setdefault(key, {})
        if entry.get("run_type") == "aggregate":
            case[entry["aggregate_name"]] = entry
        else:
            case.setdefault("runs", []).append(entry)
    result = {}
    for key, case in cases.items():
        if "median" in case:
            median = case["median"]
            cv = case.get("cv", {}).get("real_time")
            repetitions = median.get("repetitions", 1)
        else:  # a single repetition reports no aggregates
            median = case["runs"][0]
            cv = None
            repetitions = 1
        result[key] = {
            "rows_per_second": median.get("rows_per_second"),
            "events_per_second": median.get("events_per_second"),
            "retries": median.get("retries"),
            "real_time": median["real_time"],
            "time_unit": median["time_unit"],
            "cv": cv,
            "repetitions": repetitions,
        }
    return result, data.get("context", {}), failed


def parse_time_v(path):
    text = Path(path).read_text()
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    return int(found.group(1)) * 1024 if found else None


def machine(context):
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory": memory,
        "postgresql": context.get("postgresql_version", "unknown"),
        "libpq": context.get("libpq_version", "unknown"),
        "load": context.get("load_avg"),
        "date": context.get("date", datetime.now(timezone.utc).isoformat()),
    }


def rate(value):
    if value is None:
        return "-"
    if value >= 1e6:
        return f"{value / 1e6:.2f} M"
    return f"{value / 1e3:.1f} k"


def ratio_text(value):
    return "-" if value is None else f"{value:.2f}x"


def baseline_for(runs, record, loader, batch, same_batch):
    key = (record, loader, batch if same_batch else 0, 0)
    found = runs.get(key)
    return found["rows_per_second"] if found else None


def comparisons(runs):
    """Per Sink case, the ratio to each relevant hand-written loader, and its target if it has one."""
    out = {}
    for (record, loader, batch, tasks), case in runs.items():
        if loader not in SINKS or record not in RECORDS:
            continue
        for sink, baseline, same_batch, *target in TARGETS + [c + (None, None, None) for c in CONTEXT]:
            if sink != loader:
                continue
            theirs = baseline_for(runs, record, baseline, batch, same_batch)
            if not theirs:
                continue
            needed, batches, task_counts = target
            applies = needed is not None and (batches is None or batch in batches) and tasks in task_counts
            out[(record, loader, batch, tasks, baseline)] = (case["rows_per_second"] / theirs, needed if applies else None)
    return out


def loaders_table(runs, ratios):
    lines = [
        "| record | loader | batch | rows/s | cv | vs multi-row | vs pipelined | vs COPY | vs COPY per batch "
        "| vs staged upsert |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    order = {name: i for i, name in enumerate(BASELINES + SINKS)}
    for key in sorted((k for k in runs if k[0] in RECORDS), key=lambda k: (k[0] != "narrow", order.get(k[1], 99), k[2], k[3])):
        record, loader, batch, tasks = key
        case = runs[key]
        cells = []
        for baseline in ("multi_row_insert", "pipelined_insert", "copy", "copy_per_batch", "staged_upsert"):
            found = ratios.get((record, loader, batch, tasks, baseline))
            cells.append(ratio_text(found[0]) if found else "")
        cv = f"{case['cv'] * 100:.0f}%" if case["cv"] is not None else "-"
        batch_text = f"{batch:,}" if batch else "all"
        name = LABELS.get(loader, loader) + (f", tasks {tasks}" if tasks > 1 else "")
        lines.append(
            f"| {record} | {name} | {batch_text} | {rate(case['rows_per_second'])} | {cv} | " + " | ".join(cells) + " |"
        )
    return lines


def debezium_table(encode_runs):
    """The Debezium decoder against simdjson's parse of the same bytes (None when not built)."""
    ours = encode_runs.get(("debezium", "decode", 0, 0))
    theirs = encode_runs.get(("debezium", "simdjson_parse", 0, 0))
    if not ours or not theirs:
        return ["The Debezium decoder was not built in this run (it needs simdjson)."]
    rows = encode_runs.get(("debezium", "decode_rows", 0, 0))
    lines = ["| work | events/s | cv | vs simdjson's parse |", "|---|---:|---:|---:|"]
    for what, case in (("decode: key and value into a Change, schema checked", ours),
                       ("decode as a Row: its columns from the message's schema (RowDecoder)", rows),
                       ("simdjson DOM parse of the same key and value", theirs)):
        if not case:
            continue
        cv = f"{case['cv'] * 100:.0f}%" if case["cv"] is not None else "-"
        ratio = ratio_text(case["events_per_second"] / theirs["events_per_second"]) if case is not theirs else ""
        lines.append(f"| {what} | {rate(case['events_per_second'])} | {cv} | {ratio} |")
    if rows:
        lines.append("")
        lines.append(f"Rows against the struct's decoder: {ratio_text(rows['events_per_second'] / ours['events_per_second'])}.")
    return lines


def validators_table(encode_runs):
    """The encoders' validators against simdjson's, per kind of text (None when not built)."""
    kinds = (("utf8", "short_ascii", "UTF-8: short ASCII (~17 B)"), ("utf8", "mixed_utf8", "UTF-8: short, mixed (~25 B)"),
             ("utf8", "long_3kb", "UTF-8: long ASCII (~3 KB)"), ("json", "", "JSON syntax: a small document (~70 B)"))
    lines = ["| text | ours, texts/s | simdjson, texts/s | ours vs simdjson |", "|---|---:|---:|---:|"]
    for check, kind, label in kinds:
        suffix = f"_{kind}" if kind else ""
        ours = encode_runs.get(("validate", f"{check}_ours{suffix}", 0, 0))
        theirs = encode_runs.get(("validate", f"{check}_simdjson{suffix}", 0, 0))
        if not ours or not theirs:
            return ["The validators' cases were not built in this run (they need simdjson)."]
        ratio = ratio_text(ours["events_per_second"] / theirs["events_per_second"])
        lines.append(f"| {label} | {rate(ours['events_per_second'])} | {rate(theirs['events_per_second'])} | {ratio} |")
    return lines


def load_s3_runs(path):
    """redsink_bench_s3's cases: per (path, batch), the median process CPU time per row, its cv,
    and the median wall time of a pass; and the failed cases."""
    if not Path(path).exists():
        return {}, [f"redsink_bench_s3: no result in {path}"]
    text = Path(path).read_text()
    if not text.strip():  # a filter that matched none of its cases: Google Benchmark writes nothing
        return {}, []
    data = json.loads(text)
    cases = {}
    failed = []
    for entry in data["benchmarks"]:
        if entry.get("error_occurred"):
            failed.append(f"{entry['name']}: {entry.get('error_message', '')}")
            continue
        _, loader, batch, _ = parse_case(entry["run_name"])
        case = cases.setdefault((loader, batch), {})
        if entry.get("run_type") != "aggregate":
            case.setdefault("median", entry)  # a single repetition reports no aggregates
        elif entry["aggregate_name"] in ("median", "cv"):
            case[entry["aggregate_name"]] = entry
    result = {}
    for key, case in cases.items():
        median = case["median"]
        result[key] = {
            # items_per_second counts rows over the process's CPU time (MeasureProcessCPUTime).
            "cpu_us_per_row": 1e6 / median["items_per_second"],
            "cpu_cv": case["cv"]["cpu_time"] if "cv" in case else None,
            "wall_ms": median["real_time"] * {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[median["time_unit"]],
        }
    return result, failed


# redsink_bench_s3's S3 cases (client_s3_<name>) and how the table names them, in the table's order.
S3_CASES = [
    ("zstd1", "zstd, level 1"),
    ("zstd3", "zstd, level 3"),
    ("zstd_fast1", "zstd, level -1"),
    ("zstd_fast5", "zstd, level -5"),
    ("gzip1", "gzip, level 1"),
]


def s3_table(s3_runs):
    """The client's CPU per row on the INSERT path and on the S3 path with each compression, per
    batch size, and the ratio."""
    lines = [
        "| batch | S3 compression | INSERT: client CPU per row | cv | S3: client CPU per row | cv | S3 vs INSERT | "
        "wall time of a pass, INSERT | wall time of a pass, S3 (no COPY) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    batches = sorted({batch for _, batch in s3_runs})
    for batch in batches:
        insert = s3_runs.get(("client_insert", batch))
        for name, label in S3_CASES:
            s3 = s3_runs.get((f"client_s3_{name}", batch))
            if not insert or not s3:
                continue
            cells = []
            for case in (insert, s3):
                cv = f"{case['cpu_cv'] * 100:.0f}%" if case["cpu_cv"] is not None else "-"
                cells += [f"{case['cpu_us_per_row']:.2f} µs", cv]
            ratio = ratio_text(s3["cpu_us_per_row"] / insert["cpu_us_per_row"])
            lines.append(
                f"| {batch:,} | {label} | {' | '.join(cells)} | {ratio} | {insert['wall_ms']:.0f} ms | "
                f"{s3['wall_ms']:.0f} ms |"
            )
    if len(lines) == 2:
        return ["`redsink_bench_s3` measured no pair of cases in this run (filtered out, or failed)."]
    return lines


def wall_pair_table(s3_runs, columns, names, batch, missing):
    """Two cases' median wall time per S3 server (as it is, each PUT held 150 ms), and their ratio.
    `names(held)`: the two cases' names; `columns`: the header's last three cells."""
    lines = ["| S3 server | " + " | ".join(columns) + " |", "|---|---:|---:|---:|"]
    for held, label in (("", "local, as it is"), ("_held150ms", "each PUT held 150 ms")):
        first, second = (s3_runs.get((name, batch)) for name in names(held))
        if not first or not second:
            continue
        lines.append(
            f"| {label} | {first['wall_ms']:.0f} ms | {second['wall_ms']:.0f} ms | "
            f"{second['wall_ms'] / first['wall_ms']:.2f}x |"
        )
    if len(lines) == 2:
        return [f"`redsink_bench_s3` measured no pair of the {missing} cases in this run (filtered out, or failed)."]
    return lines


def parts_table(s3_runs):
    """A batch in parts uploaded one at a time against four at once: the wall time of a pass."""
    return wall_pair_table(
        s3_runs,
        ("parts uploaded one at a time", "four at once", "four at once vs one at a time (time)"),
        lambda held: (f"parts_s3_zstd1{held}_uploads1", f"parts_s3_zstd1{held}_uploads4"),
        100_000,
        "parts",
    )


def ahead_table(s3_runs):
    """Batches staged ahead against uploaded in turn, with a COPY of 100 ms: the wall time of a pass."""
    return wall_pair_table(
        s3_runs,
        ("each batch uploaded in turn", "staged ahead", "staged ahead vs in turn (time)"),
        lambda held: (f"ahead_s3_zstd1_copy100ms{held}_in_turn", f"ahead_s3_zstd1_copy100ms{held}_ahead"),
        10_000,
        "staging-ahead",
    )


def once_table(runs):
    """exactly_once's rows/s against at_least_once's, per case and batch size, as a ratio."""
    lines = [
        "| case | batch | at_least_once rows/s | exactly_once rows/s | exactly_once vs at_least_once |",
        "|---|---:|---:|---:|---:|",
    ]
    for once, plain in ONCE:
        for batch in (1_000, 10_000):
            theirs = runs.get(("narrow", plain, batch, 1))
            ours = runs.get(("narrow", once, batch, 1))
            if not theirs or not ours:
                continue
            ratio = ours["rows_per_second"] / theirs["rows_per_second"]
            lines.append(
                f"| {LABELS[plain].removeprefix('Sink ')} | {batch:,} | {rate(theirs['rows_per_second'])} | "
                f"{rate(ours['rows_per_second'])} | {ratio_text(ratio)} |"
            )
    return lines


def rows_table(runs):
    """redsink::Row's rows/s against the struct's on the same stream and batch, as a ratio."""
    lines = [
        "| record | case | batch | struct rows/s | Row rows/s | Row vs struct | target |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for record in RECORDS:
        for rows, plain in ROWS:
            for batch in (10_000, 100_000):
                theirs = runs.get((record, plain, batch, 1))
                ours = runs.get((record, rows, batch, 1))
                if not theirs or not ours:
                    continue
                ratio = ours["rows_per_second"] / theirs["rows_per_second"]
                met = "met" if ratio >= ROWS_TARGET else "**not met**"
                lines.append(
                    f"| {record} | {LABELS[plain].removeprefix('Sink ')} | {batch:,} | {rate(theirs['rows_per_second'])} | "
                    f"{rate(ours['rows_per_second'])} | {ratio_text(ratio)} | {ROWS_TARGET} {met} |"
                )
    return lines


def row_encode_table(encode_runs):
    """The writing thread's encoding of Rows against structs, no database (redsink_bench_encode)."""
    lines = [
        "| record | events held | struct rows/s | Row rows/s | Row vs struct |",
        "|---|---:|---:|---:|---:|",
    ]
    for record in RECORDS:
        for batch in (10_000, 100_000):
            theirs = encode_runs.get((record, "struct_encode", batch, 0))
            ours = encode_runs.get((record, "row_encode", batch, 0))
            if not theirs or not ours:
                continue
            ratio = ours["rows_per_second"] / theirs["rows_per_second"]
            lines.append(
                f"| {record} | {batch:,} | {rate(theirs['rows_per_second'])} | {rate(ours['rows_per_second'])} | "
                f"{ratio_text(ratio)} |"
            )
    return lines


def serializable_table(runs):
    """The serializable stand-in's cases, and 4 tasks' time over 1 task's (None if either is missing)."""
    lines = ["| tasks | events/s | cv | retries | time vs 1 task |", "|---:|---:|---:|---:|---:|"]
    one = runs.get(("serializable", "sink_redshift_upsert", 0, 1))
    ratio = None
    for tasks in (1, 4):
        case = runs.get(("serializable", "sink_redshift_upsert", 0, tasks))
        if not case:
            continue
        time_ratio = one["rows_per_second"] / case["rows_per_second"] if one else None
        if tasks == 4:
            ratio = time_ratio
        cv = f"{case['cv'] * 100:.0f}%" if case["cv"] is not None else "-"
        retries = case.get("retries")
        lines.append(
            f"| {tasks} | {rate(case['rows_per_second'])} | {cv} | {'-' if retries is None else f'{retries:.0f}'} | "
            f"{ratio_text(time_ratio)} |"
        )
    return lines, ratio


def targets_table(ratios, encode_ratios, serializable_ratio):
    lines = ["| target | record | batch | tasks | measured | needed | met |", "|---|---|---:|---:|---:|---:|---|"]
    verdicts = []
    if serializable_ratio is not None:
        met = serializable_ratio <= SERIALIZABLE_TARGET
        what = "serializable stand-in: 4 tasks' time vs 1 task's"
        lines.append(
            f"| {what} | narrow | 500 | 4 | {serializable_ratio:.2f}x | <= {SERIALIZABLE_TARGET:.2f}x | "
            f"{'yes' if met else '**no**'} |"
        )
        verdicts.append((what, "narrow", 500, serializable_ratio, f"<= {SERIALIZABLE_TARGET:.2f}x", met))
    for (record, loader, batch, tasks, baseline), (value, needed) in sorted(
        ratios.items(), key=lambda item: (item[0][1], item[0][4], item[0][0] != "narrow", item[0][2], item[0][3])
    ):
        if needed is None:
            continue
        met = value >= needed
        what = f"{LABELS[loader]} vs {LABELS[baseline].removeprefix('hand: ')}"
        lines.append(
            f"| {what} | {record} | {batch:,} | {tasks} | {value:.2f}x | >= {needed:.2f}x | {'yes' if met else '**no**'} |"
        )
        verdicts.append((what, record, batch, value, f">= {needed:.2f}x", met))
    for record, value in sorted(encode_ratios.items(), key=lambda item: item[0] != "narrow"):
        met = value <= ENCODE_TARGET
        what = "encoding time, redsink vs fmt by hand"
        lines.append(f"| {what} | {record} | 10,000 | - | {value:.2f}x | <= {ENCODE_TARGET:.2f}x | {'yes' if met else '**no**'} |")
        verdicts.append((what, record, 10000, value, f"<= {ENCODE_TARGET:.2f}x", met))
    return lines, verdicts


def encode_table(encode_runs):
    lines = [
        "| record | work | time per 10,000 rows | rows/s | cv | redsink / fmt time |",
        "|---|---|---:|---:|---:|---:|",
    ]
    ratios = {}
    for record in ("narrow", "wide"):
        for kind in ("params", "copy_text"):
            ours = encode_runs.get((record, f"redsink_{kind}", 0, 0))
            theirs = encode_runs.get((record, f"fmt_{kind}", 0, 0))
            if not ours or not theirs:
                continue
            value = ours["real_time"] / theirs["real_time"]
            if kind == "params":
                ratios[record] = value
            what = "bind parameters + INSERT text" if kind == "params" else "COPY text"
            for who, case in (("redsink", ours), ("fmt by hand", theirs)):
                cv = f"{case['cv'] * 100:.0f}%" if case["cv"] is not None else "-"
                lines.append(
                    f"| {record} | {what}, {who} | {case['real_time'] / 1000:.2f} ms | "
                    f"{rate(case['rows_per_second'])} | {cv} | {ratio_text(value) if who == 'redsink' else ''} |"
                )
    return lines, ratios


def load_connector_runs(path):
    """redsink_bench_connector's cases: per path (kafka, decode_sink, sink), the median events/s,
    its cv, the stream's events, and for the connector the median first_message_ms; and the failed
    cases. None when the program was not run (no redsink::kafka target)."""
    if not path or not Path(path).exists():
        return None, []
    text = Path(path).read_text()
    if not text.strip():  # a filter that matched none of its cases: Google Benchmark writes nothing
        return {}, []
    data = json.loads(text)
    cases = {}
    failed = []
    for entry in data["benchmarks"]:
        if entry.get("error_occurred"):
            failed.append(f"{entry['name']}: {entry.get('error_message', '')}")
            continue
        parts = entry["run_name"].split("/")
        events = next((int(part.split(":")[1]) for part in parts if part.startswith("events:")), 0)
        case = cases.setdefault(parts[1], {"events": events})
        if entry.get("run_type") != "aggregate":
            case.setdefault("median", entry)  # a single repetition reports no aggregates
        elif entry["aggregate_name"] in ("median", "cv"):
            case[entry["aggregate_name"]] = entry
    result = {}
    for path_name, case in cases.items():
        median = case["median"]
        result[path_name] = {
            "events": case["events"],
            "events_per_second": median["events_per_second"],
            "cv": case["cv"]["real_time"] if "cv" in case else None,
            "first_message_ms": median.get("first_message_ms"),
            "repetitions": median.get("repetitions", 1),
        }
    return result, failed


CONNECTOR_PATHS = [
    ("kafka", "(a) the connector: Kafka consumer (mock cluster), decode, Sink, offsets committed"),
    ("decode_sink", "(b) decode, then Sink: one loop, one thread, no Kafka"),
    ("decode_sink_rows", "(b') as (b), as Rows: RowDecoder, then a Sink<Row> made from the first message"),
    ("sink", "(c) the Sink alone: the same events decoded beforehand"),
]


def connector_table(connector_runs):
    """The connector's events/s against decode-then-Sink's and the Sink's alone, and its ratio to (b)."""
    if connector_runs is None:
        return ["`redsink_bench_connector` was not built in this run (it needs the redsink::kafka target: "
                "librdkafka and simdjson)."], None
    ours = connector_runs.get("kafka")
    if not ours:
        return ["`redsink_bench_connector` measured no connector case in this run (filtered out, or failed)."], None
    lines = ["| path | events/s | cv | (a) vs this |", "|---|---:|---:|---:|"]
    ratio = None
    for name, label in CONNECTOR_PATHS:
        case = connector_runs.get(name)
        if not case:
            continue
        cv = f"{case['cv'] * 100:.0f}%" if case["cv"] is not None else "-"
        value = ours["events_per_second"] / case["events_per_second"] if name != "kafka" else None
        if name == "decode_sink":
            ratio = value
        lines.append(f"| {label} | {rate(case['events_per_second'])} | {cv} | {ratio_text(value) if value else ''} |")
    lines.append("")
    structs, rows = connector_runs.get("decode_sink"), connector_runs.get("decode_sink_rows")
    if structs and rows:
        lines.append(
            f"Rows made from the messages' schemas against the struct, (b') / (b): "
            f"{ratio_text(rows['events_per_second'] / structs['events_per_second'])} (the target: 0.8 or more)."
        )
        lines.append("")
    lines.append(
        f"{ours['events']:,} messages a pass, {ours['repetitions']} repetitions. Not timed in (a): joining "
        "the group and librdkafka's start of the assigned partitions, "
        + (f"{ours['first_message_ms']:.0f} ms" if ours.get("first_message_ms") is not None else "unknown")
        + " (median) from the assignment to the first message."
    )
    return lines, ratio


def memory_table(memory):
    lines = [
        "| dialect | events | batch_rows | rows/s | peak RSS | one batch's encoded values (est.) | RSS / batch |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for result, rss in memory:
        estimate = result["batch_bytes_estimate"]
        lines.append(
            f"| {result['dialect']} | {result['events']:,} | {result['batch_rows']:,} | "
            f"{rate(result['rows_per_second'])} | {rss / 2**20:.1f} MiB | "
            f"{estimate / 2**20:.1f} MiB ({result['batch_rows']:,} x {result['encoded_row_bytes']:.0f} B) | "
            f"{rss / estimate:.1f}x |"
        )
    return lines


def chart(runs, png):
    """Horizontal bars of rows/s, one panel per record (their scales differ tenfold)."""
    with tempfile.TemporaryDirectory() as work:
        panels = []
        order = {name: i for i, name in enumerate(BASELINES + SINKS)}
        for record in ("narrow", "wide"):
            keys = sorted((k for k in runs if k[0] == record), key=lambda k: (order.get(k[1], 99), k[2], k[3]))
            if not keys:
                continue
            data = Path(work) / f"{record}.dat"
            with data.open("w") as out:
                for i, key in enumerate(reversed(keys)):
                    label = LABELS.get(key[1], key[1]).removeprefix("hand: ")
                    if key[2]:
                        label += f" ({key[2] // 1000}k" + (f", {key[3]} tasks)" if key[3] > 1 else ")")
                    color = 0x4477AA if key[1] in SINKS or key[1].endswith("_rows") else 0xBBBBBB
                    out.write(f'{i}\t{runs[key]["rows_per_second"] / 1000:.3f}\t"{label}"\t{color}\n')
            panels.append((record, data, len(keys)))
        height = max(n for _, _, n in panels) * 22 + 120
        script = [
            f"set terminal pngcairo size 1700,{height} font 'sans,10'",
            f"set output '{png}'",
            f"set multiplot layout 1,{len(panels)}",
            "set style fill solid 0.9 border -1",
            "set grid xtics",
            "set xlabel 'rows per second (thousands), median'",
            "unset key",
            "set ytics nomirror",
            "set xrange [0:*]",
        ]
        for record, data, count in panels:
            script += [
                f"set title '{record} rows (grey: hand-written libpq; blue: redsink::Sink)'",
                f"set yrange [-0.7:{count - 0.3}]",
                f"plot '{data}' using (0):1:(0):2:($1-0.4):($1+0.4):4:ytic(3) with boxxyerror lc rgb variable",
            ]
        script.append("unset multiplot")
        subprocess.run(["gnuplot"], input="\n".join(script), text=True, check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loaders", required=True)
    parser.add_argument("--encode", required=True)
    parser.add_argument("--s3", required=True, help="redsink_bench_s3's JSON (Redshift's INSERT path against S3)")
    parser.add_argument("--connector", help="redsink_bench_connector's JSON (absent: not built)")
    parser.add_argument("--memory", nargs=2, action="append", metavar=("OUTPUT", "TIME_V"), default=[])
    parser.add_argument("--command", required=True, help="the command that produced the run, for the report")
    parser.add_argument("--markdown", required=True)
    parser.add_argument("--png", required=True)
    parser.add_argument("--load-after", help="load average when the run ended")
    parser.add_argument("--revision", default="unknown", help="the git commit measured")
    parser.add_argument("--minutes", type=int, help="how long scripts/bench ran, build included")
    parser.add_argument("--uncommitted", default="", help="library files changed since that commit")
    options = parser.parse_args()

    runs, context, failed = load_runs(options.loaders)
    encode_runs, encode_context, encode_failed = load_runs(options.encode)
    failed += encode_failed
    s3_runs, s3_failed = load_s3_runs(options.s3)
    failed += s3_failed
    connector_runs, connector_failed = load_connector_runs(options.connector)
    failed += connector_failed
    memory = []
    for output, time_v in options.memory:
        lines = Path(output).read_text().strip().splitlines() if Path(output).exists() else []
        if not lines:
            failed.append(f"redsink_bench_memory: no result in {output}")
            continue
        memory.append((json.loads(lines[-1]), parse_time_v(time_v)))
    host = machine(context)
    ratios = comparisons(runs)
    encode_lines, encode_ratios = encode_table(encode_runs)
    serializable_lines, serializable_ratio = serializable_table(runs)
    target_lines, verdicts = targets_table(ratios, encode_ratios, serializable_ratio)
    connector_lines, connector_ratio = connector_table(connector_runs)
    if connector_ratio is not None:
        met_connector = connector_ratio >= CONNECTOR_TARGET
        what = "the connector's path vs decode-then-Sink"
        target_lines.append(
            f"| {what} | debezium | 10,000 | 1 | {connector_ratio:.2f}x | >= {CONNECTOR_TARGET:.2f}x | "
            f"{'yes' if met_connector else '**no**'} |"
        )
        verdicts.append((what, "debezium", 10_000, connector_ratio, f">= {CONNECTOR_TARGET:.2f}x", met_connector))
    repetitions = max((case["repetitions"] for case in runs.values()), default=1)
    connector_repetitions = max((case["repetitions"] for case in (connector_runs or {}).values()), default=repetitions)
    load = host["load"]
    load_text = ", ".join(f"{value:.2f}" for value in load) if load else "unknown"

    png = Path(options.png)
    chart(runs, png.resolve())
    met = sum(1 for verdict in verdicts if verdict[5])

    doc = [
        "# Benchmarks",
        "",
        "Generated by `benchmarks/report.py` from one run of `scripts/bench`; do not edit by hand.",
        "Every comparison is a ratio of medians measured in the same run, never an absolute number:",
        "absolute rows/s depend on the machine, and this one is small and shared.",
        "",
        "## The run",
        "",
        f"- command: `{options.command}`",
        f"- library: commit {options.revision}"
        + (f", with uncommitted changes to {options.uncommitted}" if options.uncommitted else ""),
        f"- date: {host['date']}",
        f"- machine: {host['nproc']} cores ({host['cpu']}), {host['memory']} memory; "
        f"load average {load_text} when the loaders started"
        + (f", {options.load_after} when the run ended" if options.load_after else ""),
        f"- server: PostgreSQL {host['postgresql']} on the same machine (scripts/with-postgres: local socket, "
        "`fsync=off`, `synchronous_commit=off`), libpq {}".format(host["libpq"]),
        f"- each case: {repetitions} repetitions of one pass over the rows, repetitions of all cases "
        "interleaved in random order; the table shows the median and the coefficient of variation (cv)",
        "",
        "## What runs",
        "",
        "Every loader writes the same deterministic rows (`benchmarks/records.hpp`) into a fresh table "
        "of its own (`TRUNCATE` and `ANALYZE` before each timed pass, autovacuum off on these tables so "
        "it cannot start in the middle of one): 100,000 **narrow** rows (6 columns: two `BIGINT`, "
        "`NUMERIC(12,2)`, a 20-byte `TEXT`, `TIMESTAMP`, `BOOLEAN`) or 20,000 **wide** rows (39 columns "
        "of every type, about 1.5 KB of text each, some NULLs). Only the load is timed (wall time, the "
        "work is in the server); for an upsert, every other key is present beforehand, so half of the "
        "rows update and half insert.",
        "",
        "The hand-written loaders (`benchmarks/baselines.hpp`) use plain libpq and fmt (compiled format "
        "strings, one reused buffer), as a competent engineer writes them:",
        "",
        "- **per-row INSERT**: `PQexecParams` per row, one transaction;",
        "- **multi-row INSERT (typical)**: 1,000 rows per statement (840 wide rows: Redshift's 32,767 "
        "bind parameters), `PQexecParams` with text parameters, one transaction;",
        "- **prepared + pipelined (expert)**: the same statement prepared once per session, executed per "
        "chunk in libpq pipeline mode with 4 statements in flight, one transaction;",
        "- **staging-table upsert**: Redshift's documented merge, per batch and in one transaction: "
        "`CREATE TEMP TABLE stage (LIKE target)`, multi-row INSERTs into it, `DELETE FROM target USING "
        "stage`, `INSERT INTO target SELECT * FROM stage`, `DROP TABLE stage`;",
        "- **COPY FROM STDIN** (PostgreSQL only): text format in 1 MB messages; the physical limit;",
        "- **COPY per batch** (PostgreSQL only): the same, one COPY (so one transaction) per batch of "
        "1,000, 10,000 or 100,000 rows: what committing as often as the Sink costs the server.",
        "",
        "`redsink::Sink` (`benchmarks/sink_cases.cpp`) writes the same rows to a table of the same "
        "shape (`fixed_schema`), in `append` and in `upsert` mode (`primary_key<\"id\">`), in both "
        "dialects, with `batch_rows` 1,000, 10,000 and 100,000 (a 100,000 batch of narrow rows is the "
        "whole pass, and of wide rows more than its 20,000), `tasks` 1, and at 10,000 rows a batch "
        "also `tasks` 2 and 4 (a batch is one task's: with 2 tasks, two batches of 10,000 are in "
        "flight; this machine's 2 cores run the app, the tasks and the server). The app hands the "
        "Sink events it owns; a background task writes batch n while `write()` encodes batch n + 1. "
        "The Redshift dialect's upsert runs once more with its stage dropped and created again every "
        "batch (`stage_recreate_batches` 1) instead of emptied with `DELETE` and recreated every 8th "
        "batch. Narrow upserts at 10,000 rows a batch run once more with `dead_letter` and a CHECK "
        "that refuses one row of every batch: each is found by trial transactions and "
        "dead-lettered, the batch written without it (docs/dead-letters.md; compare them with the "
        "Sink's own upsert at the same batch size). The redshift dialect runs on PostgreSQL here, so "
        "its numbers measure the client and protocol strategy, not a Redshift cluster.",
        "",
        "## Loaders",
        "",
        "Ratios are the Sink's rows/s over the hand-written loader's; staged upserts are compared at "
        "the same batch size.",
        "",
        *loaders_table(runs, ratios),
        "",
        f"![rows per second per case]({png.name})",
        "",
        "## Exactly once against at least once",
        "",
        "The same narrow stream, one task, with `exactly_once` (docs/delivery.md#exactly-once) and with "
        "the default `at_least_once`: each batch's transaction also writes its positions (one `UPDATE` "
        "per partition; these streams have one) and checks its fence, and the sink waits for those "
        "answers before it sends `COMMIT`; PostgreSQL's plain append, a lone `COPY` under "
        "`at_least_once`, becomes a transaction. Ratios of rows/s; below 1 is the cost.",
        "",
        *once_table(runs),
        "",
        "## Rows against structs",
        "",
        "The same streams written as `redsink::Row`s (docs/rows.md: a `RowSchema` made at run time from "
        "the struct's columns and key with `row_schema_of`, each event converted by `row_of` before the "
        "timed part, as the struct cases build their events) against the struct itself, one task. "
        "The Row path visits a `std::variant` per value and checks each row's schema pointer. Ratios "
        "of rows/s; the target is at least 0.8.",
        "",
        *rows_table(runs),
        "",
        "The writing thread's part alone, without a database (`redsink_bench_encode`'s `struct_encode` "
        "and `row_encode`): the events made first, then every value encoded, the struct's by its "
        "member's encoder, the Row's through the variant. A Row keeps up to 8 values inside itself "
        "(`Row::inline_values`), so a narrow row is read in order like a struct; a wide one's values "
        "are on the heap.",
        "",
        *row_encode_table(encode_runs),
        "",
        "## Redshift's load paths: INSERT against COPY from S3, the client's work",
        "",
        "`redsink_bench_s3` (`benchmarks/s3_copy.cpp`, run under `scripts/with-s3`): 100,000 narrow "
        "rows a pass, appended by the redshift dialect's Sink with `batch_rows` 10,000 and 100,000, "
        "on the INSERT path (bound multi-row INSERTs) and on the S3 path (`redsink::s3::copy_loader`, "
        "`min_rows` 1, the default `part_bytes`: encode, CSV, compression into a temporary file, PUT "
        "to the local S3 server, the COPY statement, the DELETE), the S3 path once per compression: "
        "zstd levels 1 (the default) and 3 and its fast levels -1 and -5, and gzip level 1 (the default "
        "before zstd). Measured: the process's CPU time "
        "per row (the sink's task included; PostgreSQL and the S3 server are other processes), 3 "
        "passes a repetition. **The server's COPY time cannot be measured here**: PostgreSQL cannot "
        "read `s3://`, so on the S3 path the COPY is not run (the runner answers the rows sent), "
        "and what COPY saves on a cluster's slices against binding rows to INSERTs is not in these "
        "numbers. For the same reason the wall times are not comparable: the INSERT path's includes "
        "the server's work on the rows, the S3 path's leaves out the load. Above 1, the S3 path costs "
        "the client more (docs/s3-copy.md).",
        "",
        *s3_table(s3_runs),
        "",
        "A batch of 100,000 narrow rows (8.7 MB of CSV) cut into parts of 1 MiB (`part_bytes`), zstd "
        "level 1, each part uploaded while the next is written, one at a time "
        "(`upload_concurrency` 1) or up to four at once (the default): the median wall time of a "
        "pass (the COPY not run), against the local S3 server as it is and with each PUT held 150 ms "
        "by the server (a link to S3 slower than loopback). Below 1, four at once is faster.",
        "",
        *parts_table(s3_runs),
        "",
        "### Staging ahead",
        "",
        "100,000 narrow rows in batches of 10,000, zstd level 1, each COPY taking 100 ms (the runner "
        "sleeps: a cluster's COPY, which the stand-in does not run), each batch uploaded when its turn "
        "comes (`stage_ahead` false) or staged by the task's helper while the batch before is in its "
        "transaction (the default): the median wall time of a pass, against the local S3 server as it "
        "is and with each PUT held 150 ms. Below 1, staging ahead is faster (docs/s3-copy.md).",
        "",
        *ahead_table(s3_runs),
        "",
        "## Decoding Debezium's change events",
        "",
        "`redsink_bench_encode`'s `debezium/` cases (`benchmarks/debezium.cpp`, no database): the "
        "creates, updates and snapshot reads of the decoder tests' PostgreSQL fixture (envelopes with "
        "their schema, about 2.4 KB each) decoded into `Change<Customer>` by "
        "`redsink::debezium::Decoder` (docs/debezium.md), against simdjson's DOM parse of the same key "
        "and value bytes. The ratio is what decoding keeps of the bare parse's speed: below 1 is the "
        "decoder's own work (reading every field in order, the schema check, the values).",
        "",
        *debezium_table(encode_runs),
        "",
        "## The encoders' validators against simdjson's",
        "",
        "`redsink_bench_encode`'s `validate/` cases: `detail::check_utf8` (strict UTF-8, and also the "
        "NUL byte libpq cannot send, the fault's offset and the character count) against "
        "`simdjson::validate_utf8`, and `detail::JsonSyntax` (RFC 8259, Redshift's limits) against "
        "simdjson's DOM parse, over 1,000 texts of each kind. Above 1, ours is faster.",
        "",
        *validators_table(encode_runs),
        "",
        "## Reading the numbers",
        "",
        "Server time was read from the server's log (`log_min_duration_statement = 0`, summed by "
        "statement) on single cases of this program, at commit c466b56.",
        "",
        "- Against COPY, the redshift dialect measures what Redshift-compatible SQL (multi-row INSERT "
        "with bind parameters) costs on PostgreSQL: the server evaluates every bound value of a VALUES "
        "list as an expression, which COPY does not. The expert loader sends the same statements and is "
        "the closer reference.",
        "- The redshift dialect's append against the expert loader: the server runs the same prepared "
        "statements, and the Sink's client work overlaps it from one batch to the next (the task sends "
        "batch n while `write()` encodes batch n + 1). What cannot overlap is the first batch's "
        "encoding: a narrow pass at 100,000-row batches is a single batch (about 15 ms of its 200 ms), "
        "a wide pass is two batches at 10,000 rows and one at 100,000 (about 20 and 45 ms of 400). And "
        "a batch's last rows go in smaller statements (full chunks, then powers of two: a handful of "
        "shapes each session prepares once), which for wide rows makes 34 statements per pass against "
        "the expert's 24, about 7% more server time in the log. In a stream of many batches the first "
        "batch's encoding is paid once; at 1,000-row batches every batch is a transaction of its own, "
        "against one for the expert's whole pass.",
        "- An upsert's time is mostly the server's. On `narrow/sink_redshift_upsert/batch:10000` the "
        "server spent about 580 ms per pass, 360 ms of it in `DELETE ... USING` the stage and `INSERT "
        "... SELECT`, the same two statements the staging-table loader sends (340 ms of its 860 ms); "
        "the rest is filling the stage (binding and inserting 700,000 values, 200 ms, against 490 ms "
        "for the loader's unprepared INSERTs, parsed and planned every time). With those two "
        "statements as they are, the ratio cannot pass about 860 / (360 + the fill): 2.0x would need "
        "the stage filled in under 80 ms, faster than COPY fills it here. That part is the server's.",
        "- The postgres dialect's append at 1,000-row batches: every batch is one COPY and one commit, "
        "and the server's cost per COPY statement is the gap to a single COPY of the whole pass (in the "
        "log: 1.8 ms per 1,000-row COPY, against 1.0 ms per 1,000 rows of one large COPY). The "
        "hand-written COPY per batch pays the same; the Sink's ratio to it is in its own column.",
        "- The redshift dialect with tasks 2 and 4 on one table: every transaction takes the lock "
        "first, so the server applies one batch at a time, and the tasks overlap only their client "
        "work with each other's apply (docs/tasks.md); on this machine they also compete with the "
        "server for 2 cores.",
        "- Recreating the stage every batch costs DDL and preparing the INSERT shapes again (their "
        "first executions are planned each time); emptying it with `DELETE` leaves rows that no "
        "vacuum reclaims in a temporary table, which slow the joins and, on PostgreSQL, change their "
        "plans once the stage looks large. Recreating it every 8th batch bounds them.",
        "- This machine is shared: a cv of 10 to 30% is common, and a ratio within about 15% of its "
        "target is not distinguishable from it in one run.",
        "",
        "## The serializable stand-in",
        "",
        "`serializable/sink_redshift_upsert` (`benchmarks/serializable.cpp`): 30,000 upserts and "
        "deletes over 500 keys, `batch_rows` 500, the Redshift dialect, into a database whose "
        "sessions are `SERIALIZABLE` by default (as every Redshift transaction is), with 1 and with 4 "
        "tasks; the table is checked against the stream's net effect. Retries are counted: with "
        "`LOCK` first there are none. The 4 tasks apply one batch at a time under the lock and "
        "overlap their client work.",
        "",
        *serializable_lines,
        "",
        "## Targets",
        "",
        f"{met} of {len(verdicts)} met in this run.",
        "",
        *target_lines,
        "",
        "## Encoding (no database)",
        "",
        "`redsink_bench_encode`: one batch of 10,000 rows, redsink dialect `redshift`. *Bind parameters*: "
        "the multi-row INSERT text built once plus every value encoded into one buffer and the pointer "
        "array libpq takes (`redsink::encode_row` into a `ParamBuffer`, `sql::insert_values_sql`), "
        "against the same with fmt by hand. *COPY text*: the batch in COPY's text format (redsink: "
        "encode, then `append_copy_field`; by hand: formatted straight into the COPY buffer). Both "
        "encoders are checked to produce the same text for every value before anything is timed; "
        "redsink also validates UTF-8 and lengths, which the hand-written one does not.",
        "",
        *encode_lines,
        "",
        "## The connector's path",
        "",
        "`redsink_bench_connector` (`benchmarks/connector.cpp`), run by scripts/bench as "
        "`scripts/with-postgres build-bench/benchmarks/redsink_bench_connector "
        f"--benchmark_repetitions={connector_repetitions} --benchmark_report_aggregates_only=true "
        "--benchmark_enable_random_interleaving=true`: one stream of Debezium messages, the decoder "
        "tests' PostgreSQL fixture's creates, updates and snapshot reads (envelopes with their schemas, "
        "about 2.4 KB each) in turn, each re-keyed to an id of its own, so that the table ends with one "
        "row per message. Every path writes them through the same Sink, the connector program's with "
        "its default properties (`upsert`, `hard_delete`, `evolve_schema`, `batch_rows` 10,000, one "
        "task, PostgreSQL), into a table dropped before each pass, and ends when every event is "
        "committed in the table, which is then checked (rows, sum of ids). The sink's start is not "
        "timed. Events/s of wall time, median of the repetitions, interleaved; cv over them.",
        "",
        "- **(a)** `redsink::kafka::Connector` as the connector program runs it (`poll()` in a loop, "
        "default `ConnectorOptions`), a new consumer group each pass, reading the 16 partitions of a "
        "topic of librdkafka's mock cluster into which the stream was produced before anything is "
        "timed; timed from the first message read until `close()` returned (the sink flushed, the "
        "offsets committed to Kafka, the group left). The mock's broker runs in the same process, so "
        "its threads and librdkafka's take turns with the decoder on this machine's 2 cores;",
        "- **(b)** `redsink::debezium::Decoder` then `Sink::write` of each message in one loop on one "
        "thread, then `flush()`: the connector's work without Kafka;",
        "- **(c)** the Sink alone, writing the same events decoded before the timed part, then `flush()`.",
        "",
        "The last column is (a)'s events/s over each path's: against (b), what Kafka and the "
        "connector's own work cost (the issue's target: at least 0.9x); against (c), what decoding "
        "and Kafka together cost.",
        "",
        *connector_lines,
        "",
        "## Memory",
        "",
        "`redsink_bench_memory` streams 1,000,000 narrow events (500,000 keys: half insert, half "
        "update) through an upserting Sink with `batch_rows` 50,000, under `/usr/bin/time -v`. "
        "Peak RSS is the whole process (libpq, the program, the pending events); the batch's encoded "
        "values are estimated as 50,000 x the average encoded row (text, NULs and 4-byte offsets). "
        "Events are encoded as they are written and not kept; the task holds at most three batches "
        "(one being filled, one waiting, one being written) and libpq's buffers hold a statement or a "
        "COPY message in flight. Reported, never asserted.",
        "",
        *memory_table(memory),
        "",
        "## Reproducing",
        "",
        "`scripts/bench`"
        + (f" ({options.minutes} minutes for this run, build included)" if options.minutes else "")
        + ": installs what is missing "
        "(`scripts/install-deps --bench`), builds `build-bench/` (Release), runs the five programs "
        "against a throwaway PostgreSQL 15 (`redsink_bench_s3` also against a throwaway S3 server, "
        "`scripts/with-s3`) and writes this page and its chart. `REDSINK_BENCH_REPETITIONS` "
        "changes the repetitions. One case by hand: "
        "`scripts/with-postgres build-bench/benchmarks/redsink_bench_loaders "
        "--benchmark_filter=narrow/copy`.",
        "",
    ]
    if failed:
        doc[doc.index("## Loaders") : doc.index("## Loaders")] = [
            "## Failed cases",
            "",
            *[f"- {line}" for line in failed],
            "",
        ]
    Path(options.markdown).write_text("\n".join(doc))

    width = max(len(v[0]) for v in verdicts) if verdicts else 10
    print("targets:")
    for what, record, batch, value, needed, ok in verdicts:
        print(f"  {'met   ' if ok else 'MISSED'} {what:<{width}} {record:<6} batch {batch:>7,} {value:6.2f}x ({needed})")
    print(f"{met} of {len(verdicts)} targets met; wrote {options.markdown} and {options.png}")
    if failed:
        print("failed cases:\n  " + "\n  ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
