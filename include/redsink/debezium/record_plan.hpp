#pragma once

// What a message's schema says of each member of a record, checked once per schema.
#include <redsink/debezium/malformed.hpp>
#include <redsink/debezium/message.hpp>
#include <redsink/debezium/record_fields.hpp>
#include <redsink/debezium/schema.hpp>
#include <redsink/debezium/source_fields.hpp>
#include <redsink/record.hpp>

#include <array>
#include <cstddef>
#include <string>

namespace redsink::debezium::detail {

// Per member, the field of the schema that holds it (or none).
template <class Record>
struct Plan {
    MessageSchema schema;
    std::array<const FieldSchema*, RecordFields<Record>::size> members{};
};

// Completes `plan` for its schema: each field matched to its member and checked against the
// member's type; a whole row (a value, not a key) needs a field for every member that is not
// optional.
template <class Record>
void plan_record(Plan<Record>& plan, const std::string& path, bool whole_row, const Options& options) {
    using fields = RecordFields<Record>;
    using info = record_info<Record>;
    constexpr std::size_t size = fields::size;
    std::size_t next = 0;
    for (const auto& field : plan.schema.fields) {
        const auto member = fields::member_of(field.field, next);
        if (member == size) {
            if (is_metadata(field.field, options) || options.ignore_unknown_fields) continue;
            malformed(path + "." + field.field,
                      "is a field (" + field.describe() +
                          ") that matches no member of the record; Options::ignore_unknown_fields "
                          "skips such fields",
                      ErrorKind::schema);
        }
        next = member + 1;
        if (plan.members[member] != nullptr)
            malformed(path + "." + shown_name(field.field),
                      "is a second field for member " + std::string(info::member_names[member]) + " (after " +
                          shown_name(plan.members[member]->field) + ")",
                      ErrorKind::schema);
        if (!fields::accepts(member, field))
            malformed(path + "." + field.field,
                      "is Debezium's " + field.describe() + ", which member " +
                          std::string(info::member_names[member]) + " (" + fields::type_name(member) + ") cannot hold",
                      ErrorKind::schema);
        plan.members[member] = &field;
    }
    if (!whole_row) return;
    for (std::size_t i = 0; i < size; ++i)
        if (plan.members[i] == nullptr && !fields::optional(i))
            malformed(path,
                      "has no field for member " + std::string(info::member_names[i]) + " (" + fields::type_name(i) +
                          "), which is not std::optional",
                      ErrorKind::schema);
}

}  // namespace redsink::debezium::detail
