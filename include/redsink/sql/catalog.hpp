#pragma once

#include <redsink/sql/table.hpp>
#include <redsink/types.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace redsink::sql {

// information_schema exists on both servers; $1 is the schema, $2 the table.
[[nodiscard]] inline std::string columns_query_sql() {
    return "SELECT column_name, data_type, character_maximum_length, numeric_precision, numeric_scale, "
           "is_nullable, column_default, domain_name FROM information_schema.columns "
           "WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position";
}

[[nodiscard]] inline std::string primary_key_query_sql() {
    return "SELECT kcu.column_name FROM information_schema.table_constraints tc "
           "JOIN information_schema.key_column_usage kcu ON kcu.constraint_schema = tc.constraint_schema "
           "AND kcu.constraint_name = tc.constraint_name AND kcu.table_name = tc.table_name "
           "WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = $1 AND tc.table_name = $2 "
           "ORDER BY kcu.ordinal_position";
}

// Whether a table exists, whatever the user may do with it (information_schema shows only the
// tables the user has some privilege on): $1 schema, $2 table.
[[nodiscard]] inline std::string table_exists_query_sql() {
    return "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
           "WHERE n.nspname = $1 AND c.relname = $2";
}

// One row when the schema $1 exists. CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on
// the database even when the schema exists, which a least-privileged user lacks.
[[nodiscard]] inline std::string schema_exists_query_sql() {
    return "SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname = $1";
}

// The privileges a sink checks before it starts, with catalog functions Redshift has too: $1 the
// schema, $2 the table ("schema"."table", quoted).
[[nodiscard]] inline std::string schema_privileges_query_sql() {
    return "SELECT has_schema_privilege($1, 'USAGE'), has_schema_privilege($1, 'CREATE')";
}
[[nodiscard]] inline std::string database_privileges_query_sql() {
    return "SELECT has_database_privilege(current_database(), 'CREATE'), "
           "has_database_privilege(current_database(), 'TEMP'), current_database(), current_user";
}
[[nodiscard]] inline std::string table_privileges_query_sql() {
    return "SELECT has_table_privilege($1, 'SELECT'), has_table_privilege($1, 'INSERT'), "
           "has_table_privilege($1, 'UPDATE'), has_table_privilege($1, 'DELETE')";
}

// One row of columns_query_sql().
struct CatalogColumn {
    std::string name;
    std::string data_type;  // information_schema spelling: "character varying", "numeric", ...
    std::optional<int> length;
    std::optional<int> precision;
    std::optional<int> scale;
    bool nullable = true;
    bool has_default = false;
    std::string domain;  // a domain's name, when the column's type is a domain

    // The type as a person would write it: "character varying(100)", "numeric(12,2)".
    [[nodiscard]] std::string type_text() const {
        std::string out = domain.empty() ? data_type : domain + " (" + data_type + ")";
        if (data_type == "character varying" && length) out += "(" + std::to_string(*length) + ")";
        if (data_type == "numeric" && precision)
            out += "(" + std::to_string(*precision) + "," + std::to_string(scale.value_or(0)) + ")";
        if (!nullable) out += " NOT NULL";
        return out;
    }
};

// Why a table column cannot take a record member's values, or nothing when it can. A table
// column may be wider than the member (a longer VARCHAR, a wider integer, more integer digits
// at the same scale); anything else is a different type, which the sink never changes.
[[nodiscard]] inline std::optional<std::string> incompatibility(const ColumnSpec& expected, const CatalogColumn& actual,
                                                                Dialect dialect) {
    const auto& type = actual.data_type;
    const bool unbounded_text = type == "text" || (type == "character varying" && !actual.length);
    const auto varchar_at_least = [&](std::uint32_t length) {
        return unbounded_text ||
               (type == "character varying" && actual.length && *actual.length >= static_cast<int>(length));
    };
    bool compatible = false;
    switch (expected.type.kind) {
        case SqlKind::boolean: compatible = type == "boolean"; break;
        case SqlKind::int16: compatible = type == "smallint" || type == "integer" || type == "bigint"; break;
        case SqlKind::int32: compatible = type == "integer" || type == "bigint"; break;
        case SqlKind::int64: compatible = type == "bigint"; break;
        case SqlKind::real: compatible = type == "real" || type == "double precision"; break;
        case SqlKind::double_precision: compatible = type == "double precision"; break;
        case SqlKind::text:
            compatible = dialect == Dialect::redshift ? varchar_at_least(redshift_max_varchar) : unbounded_text;
            break;
        case SqlKind::varchar: compatible = varchar_at_least(expected.type.length); break;
        case SqlKind::decimal:
            compatible = type == "numeric" && actual.precision && actual.scale &&
                         *actual.scale == expected.type.scale &&
                         *actual.precision - *actual.scale >= expected.type.precision - expected.type.scale;
            break;
        case SqlKind::date: compatible = type == "date"; break;
        case SqlKind::timestamp: compatible = type == "timestamp without time zone"; break;
        case SqlKind::timestamptz: compatible = type == "timestamp with time zone"; break;
        case SqlKind::json:
            compatible = dialect == Dialect::redshift ? (type == "super" || actual.domain == "super")
                                                      : (type == "jsonb" || type == "json");
            break;
    }
    const auto both = [&] {
        return "the table has " + actual.type_text() + ", the record has " + sql_type_name(expected.type, dialect) +
               (expected.type.nullable ? "" : " NOT NULL");
    };
    if (!compatible) return both();
    if (expected.type.nullable && !actual.nullable)
        return both() + ": the record may hold NULL, which the table's NOT NULL column refuses";
    return std::nullopt;
}

}  // namespace redsink::sql
