#pragma once

#include <redsink/bulk_load.hpp>
#include <redsink/s3/compressed_file.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

// The file a batch becomes on the bulk path: CSV, compressed (zstd or gzip) as it is written, into
// a temporary file (docs/s3-copy.md, "The file").
namespace redsink::s3 {

// NULL in the file: a field that is one NUL byte, unquoted; Redshift's COPY reads it with
// NULL AS '\0'. No value can be that field, quoted or not: the encoders refuse a NUL byte in any
// text (encode.hpp), and every other value is written quoted.
inline constexpr char csv_null = '\0';

// Appends one field: NULL as csv_null; any other value between double quotes, each double quote
// in it doubled. Nothing else is escaped: commas, newlines, tabs and backslashes are data inside
// the quotes.
inline void append_csv_field(std::string& out, const char* value, std::string_view text) {
    if (value == nullptr) {
        out.push_back(csv_null);
        return;
    }
    out.push_back('"');
    std::size_t done = 0;
    for (auto quote = text.find('"'); quote != std::string_view::npos; quote = text.find('"', quote + 1)) {
        out.append(text.data() + done, quote + 1 - done);
        out.push_back('"');
        done = quote + 1;
    }
    out.append(text.data() + done, text.size() - done);
    out.push_back('"');
}

// Appends the rows as CSV lines: fields separated by commas, each line ended by a newline.
inline void append_csv_rows(std::string& out, const BulkRows& rows, std::size_t first, std::size_t count) {
    for (std::size_t row = first; row < first + count; ++row) {
        for (std::size_t column = 0; column < rows.columns(); ++column) {
            if (column > 0) out.push_back(',');
            append_csv_field(out, rows.value(row, column), rows.view(row, column));
        }
        out.push_back('\n');
    }
}

// Writes rows from `first` on into `file` as compressed CSV, a slice of rows at a time (the only copy
// of the batch in memory is the slice's text, some 64 KiB), until the rows end or the file's CSV
// reaches `part_bytes` at the end of a row: a part holds at least one row, and passes part_bytes
// by less than one row. Finishes the file and returns the first row not written.
inline std::size_t write_csv(const BulkRows& rows, std::size_t first, std::uint64_t part_bytes, CompressedFile& file) {
    std::string text;
    text.reserve(std::size_t{1} << 17);
    std::size_t row = first;
    while (row < rows.rows()) {
        append_csv_rows(text, rows, row, 1);
        ++row;
        const bool full = file.bytes_in() + text.size() >= part_bytes;
        if (full || text.size() >= (std::size_t{1} << 16)) {
            file.write(text);
            text.clear();
        }
        if (full) break;
    }
    file.write(text);
    file.finish();
    return row;
}

// Writes every row into `file` as compressed CSV (one part, whatever its size). Finishes the file.
inline void write_csv(const BulkRows& rows, CompressedFile& file) {
    write_csv(rows, 0, std::numeric_limits<std::uint64_t>::max(), file);
}

}  // namespace redsink::s3
