#!/usr/bin/python3
"""Writes the malformed-input corpus: one file per case, each one message that must end in a
DecodeError. A file starts with "# record: customers|kinds" and "# expect: <a fragment of the
error message>", then the message as in ../fixtures (@ partition offset, key:, value:). Values
are written as raw text, so they can be anything at all."""
import base64
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def customer_value(after, op="c", before=None, extra=""):
    return ('{"before":%s,"after":%s,"source":{"connector":"postgresql","lsn":1,"ts_ms":1},"op":"%s","ts_ms":2%s}'
            % (json.dumps(before), after if isinstance(after, str) else json.dumps(after, ensure_ascii=False), op, extra))


GOOD = {"id": 1001, "first_name": "Sally", "last_name": "Thomas", "email": "s@x"}


def customer(**changes):
    row = dict(GOOD)
    row.update(changes)
    return {k: v for k, v in row.items() if v != "<drop>"}


def kinds(**changes):
    row = {"id": 1, "flag": True, "small": 1, "medium": 2, "ratio": 0.5, "ratio32": 0.25, "amount": "AA==",
           "big": None, "vsd": None, "day": 0, "at_ms": None, "at_us": None, "at_ns": None, "ts_ms": None,
           "ts_us": None, "ts_ns": None, "zoned": None, "zoned_time": None, "doc": None, "uid": None, "mood": None,
           "raw": None, "tags": None}
    row.update(changes)
    return customer_value(row)


def schema_value(fields, after):
    schema = {"type": "struct", "name": "t.Envelope", "optional": False, "fields": [
        {"type": "struct", "optional": True, "field": "before", "fields": fields},
        {"type": "struct", "optional": True, "field": "after", "fields": fields},
        {"type": "string", "optional": False, "field": "op"}]}
    return json.dumps({"schema": schema, "payload": {"before": None, "after": after, "op": "c"}})


def f(name, type_, **more):
    return dict({"type": type_, "optional": False, "field": name}, **more)


CUSTOMER_FIELDS = [f("id", "int32"), f("first_name", "string"), f("last_name", "string"),
                   f("email", "string", optional=True)]

KEY = '{"id":1001}'
cases = {
    # record, expected fragment, key, value (text or None for a tombstone)
    "truncated": ("customers", "field value: is not", KEY, customer_value(GOOD)[:-20]),
    "truncated_in_string": ("customers", "field value", KEY, customer_value(GOOD)[:60]),
    "truncated_key": ("customers", "field key", '{"id":10', customer_value(GOOD, op="d", before=None)),
    "empty_value": ("customers", "field value: is not valid JSON", KEY, ""),
    "invalid_utf8": ("customers", "UTF-8", KEY, customer_value(customer(first_name="Sa\udcc3(lly"))),
    "bad_escape": ("customers", "field value", KEY, customer_value('{"id":1001,"first_name":"Sa\\qlly","last_name":"T","email":null}')),
    "trailing_text": ("customers", "field value", KEY, customer_value(GOOD) + " {}"),
    "value_not_object": ("customers", "field value: is not a JSON object", KEY, "[1,2]"),
    "key_not_object": ("customers", "field key: is not a JSON object", "1001", None),
    "id_as_string": ("customers", "field value.after.id: is not an integer", KEY, customer_value(customer(id="1001"))),
    "id_out_of_range": ("customers", "field value.after.id: is out of range for std::int32_t (-2147483648 to 2147483647)", KEY,
                        customer_value(customer(id=3000000000))),
    "id_not_integral": ("customers", "field value.after.id: is not an integer", KEY, customer_value(customer(id=1.5))),
    "id_beyond_64_bits": ("customers", "field value.after.id", KEY, customer_value('{"id":123456789012345678901234,"first_name":"a","last_name":"b","email":null}')),
    "name_as_number": ("customers", "field value.after.first_name: is not a string", KEY,
                       customer_value(customer(first_name=7))),
    "missing_member": ("customers", "field value.after.last_name: is missing", KEY,
                       customer_value(customer(last_name="<drop>"))),
    "null_member": ("customers", "field value.after.last_name: is null, but member last_name", KEY,
                    customer_value(customer(last_name=None))),
    "unknown_field": ("customers", "field value.after.phone: matches no member", KEY,
                      customer_value(customer(phone="+1"))),
    "duplicate_field": ("customers", "field value.after.id: appears twice", KEY,
                        customer_value('{"id":1,"id":2,"first_name":"a","last_name":"b","email":null}')),
    "unknown_op": ("customers", "field value.op: is 'x'", KEY, customer_value(GOOD, op="x")),
    "truncate_op": ("customers", "a truncate", KEY, customer_value(None, op="t")),
    "create_without_after": ("customers", "field value.after: is missing or null in a 'create' event", KEY,
                             customer_value(None, op="c")),
    "delete_without_key": ("customers", "is a delete with neither a row nor a message key", None, customer_value(None, op="d")),
    "tombstone_without_key": ("customers", "is a tombstone without a message key", None, None),
    "key_with_wrong_field": ("customers", "field key.customer_id: matches no member", '{"customer_id":1}', None),
    "lsn_not_integer": ("customers", "field value.source.lsn: is not an integer", KEY,
                        customer_value(GOOD).replace('"lsn":1', '"lsn":"abc"')),
    "schema_type_mismatch": ("customers",
                             "field value.schema.first_name: is Debezium's int64, which member first_name (std::string) cannot hold",
                             KEY, schema_value([f("id", "int32"), f("first_name", "int64"), f("last_name", "string"),
                                                f("email", "string", optional=True)], GOOD)),
    "schema_missing_member": ("customers", "has no field for member last_name (std::string)", KEY,
                              schema_value([f("id", "int32"), f("first_name", "string")], GOOD)),
    "schema_unknown_field": ("customers", "field value.schema.phone: is a field (string) that matches no member",
                             KEY, schema_value(CUSTOMER_FIELDS + [f("phone", "string")], customer(phone="1"))),
    "schema_wider_integer": ("customers", "is Debezium's int64, which member id (std::int32_t) cannot hold", KEY,
                             schema_value([f("id", "int64")] + CUSTOMER_FIELDS[1:], GOOD)),
    "schema_not_object": ("customers", "field value.schema: is not an object", KEY,
                          json.dumps({"schema": "x", "payload": GOOD})),
    "bad_base64": ("kinds", "field value.after.amount: is not base64", KEY, kinds(amount="!!!=")),
    "bad_base64_length": ("kinds", "field value.after.amount: is not base64", KEY, kinds(amount="AAA")),
    "decimal_too_wide": ("kinds", "field value.after.amount: has 11 digits before the point, more than the 10 of redsink::decimal<12, 2>", KEY,
                         kinds(amount=base64.b64encode((10**12).to_bytes(6, "big", signed=True)).decode())),
    "decimal_more_scale": ("kinds", "field value.after.amount: has 3 digits after the point, more than the 2 of redsink::decimal<12, 2>", KEY,
                           kinds(amount="<num>").replace('"<num>"', "1.234")),
    "decimal_39_digits": ("kinds", "field value.after.big: is a decimal of 39 digits, 0 after the point, more than redsink::decimal<38, 0> holds", KEY,
                          kinds(big="<num>").replace('"<num>"', "1" * 39)),
    "decimal_129_bits": ("kinds", "field value.after.big: is a decimal of 39 digits, 0 after the point, more than redsink::decimal<38, 0> holds", KEY,
                         kinds(big=base64.b64encode(b"\x01" + bytes(16)).decode())),
    "vsd_unknown_field": ("kinds", "field value.after.vsd: is a VariableScaleDecimal with an unknown field", KEY,
                          kinds(vsd={"scale": 1, "value": "AQ==", "x": 1})),
    "vsd_without_value": ("kinds", "field value.after.vsd: is a VariableScaleDecimal without its scale and value",
                          KEY, kinds(vsd={"scale": 1})),
    "date_out_of_range": ("kinds", "field value.after.day: is a date outside the years 1 to 9999", KEY,
                          kinds(day=3000000)),
    "timestamp_overflow": ("kinds", "field value.after.ts_ms: is a timestamp outside the years 1 to 9999", KEY,
                           kinds(ts_ms=9000000000000000000)),
    "timestamp_year_10000": ("kinds", "field value.after.ts_us: is a timestamp outside the years 1 to 9999", KEY,
                             kinds(ts_us=253402300800000000)),
    "zoned_bad_month": ("kinds", "field value.after.zoned: is not an ISO-8601 timestamp", KEY,
                        kinds(zoned="2020-13-01T00:00:00Z")),
    "zoned_without_zone": ("kinds", "field value.after.zoned: is an ISO-8601 timestamp without a zone", KEY,
                           kinds(zoned="2020-01-01T00:00:00")),
    "infinity_refused": ("kinds", "field value.after.ts_us: is PostgreSQL's infinity", KEY,
                         kinds(ts_us=9223372036825200000)),
    "negative_infinity_text": ("kinds", "field value.after.zoned: is PostgreSQL's -infinity", KEY,
                               kinds(zoned="-infinity")),
    "json_invalid": ("kinds", "field value.after.doc: is not a JSON document", KEY, kinds(doc="{\"a\":")),
    "time_out_of_range": ("kinds", "field value.after.at_us: is not a string", KEY, kinds(at_us=-1)),
    "small_out_of_range": ("kinds", "field value.after.small: is out of range for std::int16_t (-32768 to 32767)", KEY,
                           kinds(small=40000)),
    "float_out_of_range": ("kinds", "field value.after.ratio32: is out of range for float", KEY, kinds(ratio32=1e300)),
    "bool_as_string": ("kinds", "field value.after.flag: is not a boolean", KEY, kinds(flag="true")),
    # A name given twice, anywhere: the envelope, the source block, the key, the schema.
    "op_twice": ("customers", "field value.op: appears twice", KEY, customer_value(GOOD, extra=',"op":"d"')),
    "source_twice": ("customers", "field value.source: appears twice", KEY,
                     customer_value(GOOD, extra=',"source":{"connector":"mysql"}')),
    "source_field_twice": ("customers", "field value.source.lsn: appears twice", KEY,
                           customer_value(GOOD).replace('"lsn":1', '"lsn":1,"lsn":2')),
    "envelope_schema_twice": ("customers", "field value.schema: appears twice", KEY,
                              '{"schema":null,"schema":null,"payload":%s}' % customer_value(GOOD)),
    "key_field_twice": ("customers", "field key.id: appears twice", '{"id":1001,"id":1001}', customer_value(GOOD)),
    "vsd_scale_twice": ("kinds", "field value.after.vsd.scale: appears twice", '{"id":1}',
                        kinds(vsd="<v>").replace('"<v>"', '{"scale":1,"scale":2,"value":"AQ=="}')),
    "schema_field_twice": ("customers", "field value.schema.fields.fields.id: appears twice in the same struct", KEY,
                           schema_value(CUSTOMER_FIELDS + [f("id", "int32")], GOOD)),
    "schema_key_twice": ("customers", "field value.schema.fields.fields.type: appears twice", KEY,
                         schema_value(CUSTOMER_FIELDS, GOOD).replace('"field": "id"', '"field": "id", "type": "int64"', 1)),
    "schema_float64": ("customers", "has type \"float64\", which Kafka Connect's JSON converter does not write", KEY,
                       schema_value([f("id", "int32"), f("first_name", "float64")] + CUSTOMER_FIELDS[2:], GOOD)),
    # The message key names the row: it must agree with it.
    "key_mismatch": ("customers", "field key.id: does not match value.after.id", '{"id":1002}', customer_value(GOOD)),
    "key_truncated_create": ("customers", "field key: is not a JSON object: JSON document ended early", '{"id":10', customer_value(GOOD)),
    "deleted_flag_bad": ("customers", "field value.__deleted: is not \"true\" or \"false\"", KEY,
                         json.dumps(dict(GOOD, __deleted="yes"))),
}

for stale in os.listdir(HERE):
    if stale.endswith(".txt"):
        os.remove(os.path.join(HERE, stale))
for name, (record, expect, key, value) in sorted(cases.items()):
    with open(os.path.join(HERE, name + ".txt"), "wb") as out:
        text = f"# record: {record}\n# expect: {expect}\n@ 3 {len(name)}\n" + ("key:" if key is None else f"key: {key}") + "\nvalue: "
        out.write(text.encode())
        if value is not None:
            out.write(value.encode("utf-8", "surrogateescape"))
        else:
            out.seek(out.tell() - 1)  # "value:" alone: a tombstone
            out.truncate()
        out.write(b"\n")
