#pragma once

#include <redsink/detail/utf8.hpp>
#include <redsink/pq/error.hpp>

#include <string>
#include <string_view>

namespace redsink::sql {

// PostgreSQL truncates identifiers at 63 bytes and Redshift folds them to lowercase: names are
// lowercased and kept within 63 bytes so that both servers see the same name.
inline constexpr std::size_t max_identifier_bytes = 63;

// "name", with embedded double quotes doubled.
[[nodiscard]] inline std::string quote_identifier(std::string_view name) {
    std::string out;
    out.reserve(name.size() + 2);
    out.push_back('"');
    for (const char c : name) {
        if (c == '"') out.push_back('"');
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

// Lowercases an identifier given at run time (schema, table) and checks that both servers can
// hold it; `what` names it in the error ("table name").
[[nodiscard]] inline std::string normalize_identifier(std::string_view name, std::string_view what) {
    const auto fail = [&](std::string why) {
        throw Error(ErrorKind::schema, {}, std::string(what) + " \"" + std::string(name) + "\" " + why);
    };
    if (name.empty()) fail("is empty");
    if (name.size() > max_identifier_bytes) fail("is longer than 63 bytes");
    if (detail::check_utf8(name).fault != detail::Utf8Fault::none)
        throw Error(ErrorKind::schema, {}, std::string(what) + " is not valid UTF-8 or holds a NUL byte");
    std::string out(name);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// A schema-qualified table name, already normalized.
struct TableRef {
    std::string schema;
    std::string table;

    // Normalizes both parts; an empty schema means "public".
    [[nodiscard]] static TableRef make(std::string_view schema, std::string_view table) {
        return {normalize_identifier(schema.empty() ? std::string_view("public") : schema, "schema name"),
                normalize_identifier(table, "table name")};
    }

    [[nodiscard]] std::string quoted() const { return quote_identifier(schema) + "." + quote_identifier(table); }
    [[nodiscard]] std::string display() const { return schema + "." + table; }
};

// Table names that begin with this belong to the sink's own tables (its stage and its lock table).
inline constexpr std::string_view reserved_prefix = "redsink_";

// Refuses a target whose name the sink keeps for its own tables.
inline void check_target_name(const TableRef& table) {
    if (table.table.starts_with(reserved_prefix))
        throw Error(ErrorKind::schema, {},
                    "table name \"" + table.table + "\": names beginning with " + std::string(reserved_prefix) +
                        " belong to the sink's own tables (its stage and lock tables); choose another name");
}

}  // namespace redsink::sql
