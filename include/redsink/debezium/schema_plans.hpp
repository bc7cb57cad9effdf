#pragma once

// The schemas a stream's messages carry, each checked against the record once and kept.
#include <redsink/debezium/error.hpp>
#include <redsink/debezium/json_document.hpp>
#include <redsink/debezium/message.hpp>
#include <redsink/debezium/record_fields.hpp>
#include <redsink/debezium/schema.hpp>
#include <redsink/debezium/source_fields.hpp>
#include <redsink/record.hpp>

#include <array>
#include <cstddef>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redsink::debezium::detail {

// What a row's schema says of each member, checked against the record once per schema.
template <class Record>
struct Plan {
    RowSchema schema;
    std::array<const FieldSchema*, RecordFields<Record>::size> members{};
};

// The plans of the schemas seen last (the value's, or the key's).
template <class Record>
class SchemaPlans {
    using fields = RecordFields<Record>;
    using info = record_info<Record>;
    static constexpr std::size_t size = fields::size;

public:
    struct Known {
        const Plan<Record>* plan = nullptr;
        std::size_t schema_size = 0;
    };

    // The plan of a converter envelope whose schema's text was seen before: a message that starts
    // with `{"schema":` and then, byte for byte, a schema already read and checked. The schema is
    // then neither parsed nor checked again (payload_after_schema() finds the payload).
    std::optional<Known> known(std::string_view message) noexcept {
        if (!message.starts_with(schema_first)) return std::nullopt;
        const auto rest = message.substr(schema_first.size());
        const auto matches = [&](const std::string& schema) {
            return rest.size() > schema.size() && std::memcmp(rest.data(), schema.data(), schema.size()) == 0;
        };
        if (last_ < plans_.size() && matches(plans_[last_].first))
            return Known{plans_[last_].second.get(), plans_[last_].first.size()};
        for (std::size_t i = 0; i < plans_.size(); ++i)
            if (matches(plans_[i].first)) {
                last_ = i;
                return Known{plans_[i].second.get(), plans_[i].first.size()};
            }
        return std::nullopt;
    }

    // The plan for a schema's text: the last one, one seen before, or a new one (checked: a
    // whole row needs a field for every member that is not optional).
    const Plan<Record>& plan_for(std::string_view text, const std::string& path, bool whole_row, SchemaReader& reader,
                                 const Options& options) {
        if (last_ < plans_.size() && plans_[last_].first == text) return *plans_[last_].second;
        for (std::size_t i = 0; i < plans_.size(); ++i)
            if (plans_[i].first == text) {
                last_ = i;
                return *plans_[i].second;
            }
        auto plan = std::make_unique<Plan<Record>>();
        plan->schema = reader.read(text, path);
        check_schema(*plan, path, whole_row, options);
        // Schemas change rarely; a stream that keeps changing them is kept bounded.
        if (plans_.size() >= 16) plans_.erase(plans_.begin());
        plans_.emplace_back(std::string(text), std::move(plan));
        last_ = plans_.size() - 1;
        return *plans_.back().second;
    }

private:
    static void check_schema(Plan<Record>& plan, const std::string& path, bool whole_row, const Options& options) {
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
                              std::string(info::member_names[member]) + " (" + fields::type_name(member) +
                              ") cannot hold",
                          ErrorKind::schema);
            plan.members[member] = &field;
        }
        if (!whole_row) return;
        for (std::size_t i = 0; i < size; ++i)
            if (plan.members[i] == nullptr && !fields::optional(i))
                malformed(path,
                          "has no field for member " + std::string(info::member_names[i]) + " (" +
                              fields::type_name(i) + "), which is not std::optional",
                          ErrorKind::schema);
    }

    std::vector<std::pair<std::string, std::unique_ptr<Plan<Record>>>> plans_;
    std::size_t last_ = 0;
};

}  // namespace redsink::debezium::detail
