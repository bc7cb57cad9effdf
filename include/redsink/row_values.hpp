#pragma once

#include <redsink/encode.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

namespace redsink {

// The encoded rows a batch's loads read, numbered from 0: first the events' own rows (`events`,
// `columns` values each, and one keep text per row in `keeps`), then, from `first_merged` on, the
// rows the reduction merged kept values into (`merged`, `merged_keeps`). Each value is its encoded
// text (encode.hpp) or nullptr for NULL; a keep text is '0'/'1' per column, or nullptr when the
// row keeps no stored value. A view: the buffers must outlive it.
class RowValues {
public:
    RowValues() = default;
    RowValues(const ParamBuffer& events, std::size_t columns, const ParamBuffer* keeps = nullptr,
              const ParamBuffer* merged = nullptr, const ParamBuffer* merged_keeps = nullptr,
              std::uint32_t first_merged = 0) noexcept
        : events_(&events),
          keeps_(keeps),
          merged_(merged),
          merged_keeps_(merged_keeps),
          columns_(columns),
          first_merged_(merged != nullptr ? first_merged : no_merged) {}

    [[nodiscard]] std::size_t columns() const noexcept { return columns_; }

    // The buffer that holds value `column` of `row`, and its index there.
    [[nodiscard]] std::pair<const ParamBuffer*, std::size_t> locate(std::uint32_t row,
                                                                    std::size_t column) const noexcept {
        if (row >= first_merged_) return {merged_, (row - first_merged_) * columns_ + column};
        return {events_, row * columns_ + column};
    }
    [[nodiscard]] const char* value(std::uint32_t row, std::size_t column) const noexcept {
        const auto [buffer, index] = locate(row, column);
        return buffer->data(index);
    }
    [[nodiscard]] std::string_view view(std::uint32_t row, std::size_t column) const noexcept {
        const auto [buffer, index] = locate(row, column);
        return buffer->view(index);
    }
    // The row's keep text, or nullptr.
    [[nodiscard]] const char* keep(std::uint32_t row) const noexcept {
        const ParamBuffer* keeps = row >= first_merged_ ? merged_keeps_ : keeps_;
        const std::size_t index = row >= first_merged_ ? row - first_merged_ : row;
        return keeps != nullptr && index < keeps->size() ? keeps->data(index) : nullptr;
    }

private:
    static constexpr std::uint32_t no_merged = 0xFFFFFFFF;

    const ParamBuffer* events_ = nullptr;
    const ParamBuffer* keeps_ = nullptr;
    const ParamBuffer* merged_ = nullptr;
    const ParamBuffer* merged_keeps_ = nullptr;
    std::size_t columns_ = 0;
    std::uint32_t first_merged_ = no_merged;
};

}  // namespace redsink
