#pragma once

// The schemas a stream's messages carry, each read and planned once and kept, recognised again
// by their bytes.
#include <redsink/debezium/envelope_reader.hpp>
#include <redsink/debezium/error.hpp>
#include <redsink/debezium/json_document.hpp>
#include <redsink/debezium/malformed.hpp>
#include <redsink/debezium/schema.hpp>

#include <cstddef>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace redsink::debezium::detail {

// The plans of the schemas seen last (the value's, or the key's). A Plan has `schema`, the
// MessageSchema read from the text; the rest of it is the decoder's.
template <class Plan>
class SchemaPlans {
public:
    using Known = KnownPlan<Plan>;

    // The plan of a converter envelope whose schema's text was seen before: a message that starts
    // with `{"schema":` and then, byte for byte, a schema already read and planned. The schema is
    // then neither parsed nor planned again (payload_after_schema() finds the payload).
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

    // The plan for a schema's text: the last one, one seen before, or a new one: the schema read,
    // then `plan(Plan&, path)` completes it in place (a plan may point into its own schema) or
    // throws (Malformed) when the schema cannot be decoded.
    template <class Planner>
    const Plan& plan_for(std::string_view text, const std::string& path, SchemaReader& reader, Planner&& plan) {
        if (last_ < plans_.size() && plans_[last_].first == text) return *plans_[last_].second;
        for (std::size_t i = 0; i < plans_.size(); ++i)
            if (plans_[i].first == text) {
                last_ = i;
                return *plans_[i].second;
            }
        auto made = std::make_unique<Plan>();
        made->schema = reader.read(text, path);
        plan(*made, path);
        // Schemas change rarely; a stream that keeps changing them is kept bounded.
        if (plans_.size() >= 16) plans_.erase(plans_.begin());
        plans_.emplace_back(std::string(text), std::move(made));
        last_ = plans_.size() - 1;
        return *plans_.back().second;
    }

private:
    std::vector<std::pair<std::string, std::unique_ptr<Plan>>> plans_;
    std::size_t last_ = 0;
};

}  // namespace redsink::debezium::detail
