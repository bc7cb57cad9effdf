#pragma once

#include <redsink/pq/error.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

namespace redsink {

// Encoded bind parameters: every value's text, NUL-terminated, in one growing buffer, with
// the offset of each value. Cleared between batches, it keeps its memory: encoding allocates
// nothing per value in steady state.
class ParamBuffer {
public:
    static constexpr std::uint32_t null_value = std::numeric_limits<std::uint32_t>::max();

    struct Mark {
        std::size_t values;
        std::size_t bytes;
    };

    void clear() noexcept {
        size_ = 0;
        offsets_.clear();
    }

    [[nodiscard]] std::size_t size() const noexcept { return offsets_.size(); }
    [[nodiscard]] std::size_t bytes() const noexcept { return size_; }
    [[nodiscard]] bool is_null(std::size_t index) const noexcept { return offsets_[index] == null_value; }

    // The value's text (without its NUL), or nullptr for NULL.
    [[nodiscard]] const char* data(std::size_t index) const noexcept {
        return is_null(index) ? nullptr : buffer_.get() + offsets_[index];
    }
    [[nodiscard]] std::string_view view(std::size_t index) const noexcept {
        if (is_null(index)) return {};
        const auto begin = offsets_[index];
        const auto end = index + 1 < offsets_.size() ? next_offset(index + 1) : size_;
        return {buffer_.get() + begin, end - begin - 1};
    }

    void push_null() { offsets_.push_back(null_value); }

    void push(std::string_view text) {
        char* out = prepare(text.size());
        if (!text.empty()) std::memcpy(out, text.data(), text.size());
        commit(out + text.size());
    }

    // Room for `most` bytes at the end; `commit(end)` then records the value written there.
    [[nodiscard]] char* prepare(std::size_t most) {
        const std::size_t needed = size_ + most + 1;
        if (needed > capacity_) grow(needed);
        return buffer_.get() + size_;
    }
    void commit(char* end) {
        *end = '\0';
        offsets_.push_back(static_cast<std::uint32_t>(size_));
        size_ = static_cast<std::size_t>(end - buffer_.get()) + 1;
    }

    [[nodiscard]] Mark mark() const noexcept { return {offsets_.size(), size_}; }
    void rollback(Mark mark) noexcept {
        offsets_.resize(mark.values);
        size_ = mark.bytes;
    }

    void reserve(std::size_t values, std::size_t bytes) {
        offsets_.reserve(values);
        if (bytes > capacity_) grow(bytes);
    }

private:
    [[nodiscard]] std::size_t next_offset(std::size_t from) const noexcept {
        for (std::size_t i = from; i < offsets_.size(); ++i)
            if (offsets_[i] != null_value) return offsets_[i];
        return size_;
    }

    void grow(std::size_t needed) {
        if (needed >= null_value)
            throw Error(ErrorKind::other, {}, "a batch's encoded values passed 4 GiB; lower batch_bytes or batch_rows");
        std::size_t capacity = capacity_ == 0 ? 4096 : capacity_;
        while (capacity < needed) capacity *= 2;
        auto bigger = std::make_unique_for_overwrite<char[]>(capacity);
        if (size_ > 0) std::memcpy(bigger.get(), buffer_.get(), size_);
        buffer_ = std::move(bigger);
        capacity_ = capacity;
    }

    std::unique_ptr<char[]> buffer_;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
    std::vector<std::uint32_t> offsets_;
};

}  // namespace redsink
