#pragma once

#include <string_view>

namespace redsink {

// The SQL a sink emits. PostgreSQL accepts everything the Redshift dialect emits (the tests
// prove it); the postgres dialect adds PostgreSQL's faster forms.
enum class Dialect { redshift, postgres };

[[nodiscard]] constexpr std::string_view to_string(Dialect dialect) noexcept {
    return dialect == Dialect::redshift ? "redshift" : "postgres";
}

}  // namespace redsink
