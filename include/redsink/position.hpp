#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace redsink {

// Where an event came from in its source: a partition and an offset within it (a Kafka
// partition and offset, a binlog file number and position, ...). Offsets grow within a partition.
struct Position {
    std::int32_t partition = 0;
    std::int64_t offset = 0;

    friend constexpr auto operator<=>(const Position&, const Position&) = default;
};

// Acknowledged positions: for each partition, the highest offset up to which everything is
// committed.
using Positions = std::map<std::int32_t, std::int64_t>;

[[nodiscard]] inline std::string to_string(const Position& position) {
    return "partition " + std::to_string(position.partition) + ", offset " + std::to_string(position.offset);
}

}  // namespace redsink
