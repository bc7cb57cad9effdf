#pragma once

#include <redsink/param_buffer.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace redsink {

// Appends value `index` of `params` as one field in COPY's text format: \N for NULL, and a
// backslash escape for each backslash, newline, carriage return and tab.
inline void append_copy_field(std::string& out, const ParamBuffer& params, std::size_t index) {
    if (params.is_null(index)) {
        out.append("\\N", 2);
        return;
    }
    const std::string_view text = params.view(index);
    const char* data = text.data();
    const std::size_t size = text.size();
    std::size_t done = 0;  // bytes of text already appended
    std::size_t i = 0;
    while (i < size) {
        // Eight bytes at a time while none is below 0x0E (tab, newline, carriage return) or a backslash.
        while (i + 8 <= size) {
            std::uint64_t word = 0;
            std::memcpy(&word, data + i, 8);
            const std::uint64_t low = (word - 0x0E0E0E0E0E0E0E0EULL) & ~word & 0x8080808080808080ULL;
            const std::uint64_t slash = word ^ 0x5C5C5C5C5C5C5C5CULL;
            const std::uint64_t backslash = (slash - 0x0101010101010101ULL) & ~slash & 0x8080808080808080ULL;
            if ((low | backslash) != 0) break;
            i += 8;
        }
        const std::size_t stop = std::min(size, i + 8);
        for (; i < stop; ++i) {
            const char c = data[i];
            const char* escape = c == '\\'   ? "\\\\"
                                 : c == '\n' ? "\\n"
                                 : c == '\r' ? "\\r"
                                 : c == '\t' ? "\\t"
                                             : nullptr;
            if (escape == nullptr) continue;
            out.append(data + done, i - done).append(escape, 2);
            done = i + 1;
        }
    }
    out.append(data + done, size - done);
}

}  // namespace redsink
