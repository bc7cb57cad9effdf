#pragma once

// The table's rows against the model's, both as sorted text: the same count, then row by row, so
// that a failure shows the first rows that differ rather than two long lists.
#include <catch2/catch.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace redsink_test {

inline void check_same_rows(const std::vector<std::string>& rows, const std::vector<std::string>& expected) {
    REQUIRE(rows.size() == expected.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        INFO("row " << i);
        CHECK(rows[i] == expected[i]);
    }
}

}  // namespace redsink_test
