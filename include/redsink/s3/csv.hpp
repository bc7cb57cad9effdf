#pragma once

#include <redsink/bulk_load.hpp>
#include <redsink/pq/error.hpp>

#include <zlib.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

#include <unistd.h>

// The file a batch becomes on the bulk path: CSV, gzip-compressed as it is written, into a
// temporary file (docs/s3-copy.md, "The file").
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

// A temporary file that gzip-compresses what is written to it, removed when destroyed. Its memory
// is zlib's state and one output buffer, whatever the file's size.
class GzipFile {
public:
    // A new file in `directory` (empty: the system's temporary directory); `level` 1 (fastest) to 9.
    explicit GzipFile(const std::filesystem::path& directory, int level = 1) {
        auto dir = directory.empty() ? std::filesystem::temp_directory_path() : directory;
        std::string name = (dir / "redsink-copy-XXXXXX").string();
        errno = 0;
        const int fd = ::mkstemp(name.data());
        if (fd < 0) fail("cannot create a temporary file in " + dir.string());
        path_ = name;
        file_.reset(::fdopen(fd, "wb"));
        if (!file_) {
            ::close(fd);
            fail("cannot open " + path_.string());
        }
        if (deflateInit2(&zs_, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            fail_zlib("zlib could not start a gzip stream");
        zlib_open_ = true;
    }
    GzipFile(const GzipFile&) = delete;
    GzipFile& operator=(const GzipFile&) = delete;
    ~GzipFile() {
        if (zlib_open_) deflateEnd(&zs_);
        file_.reset();
        if (!path_.empty()) {
            std::error_code ignored;
            std::filesystem::remove(path_, ignored);
        }
    }

    void write(std::string_view bytes) {
        bytes_in_ += bytes.size();
        zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
        zs_.avail_in = static_cast<uInt>(bytes.size());
        deflate_all(Z_NO_FLUSH);
    }

    // Ends the gzip stream and flushes the file: then it can be read (FileBody).
    void finish() {
        zs_.next_in = nullptr;
        zs_.avail_in = 0;
        deflate_all(Z_FINISH);
        if (std::fflush(file_.get()) != 0) fail("cannot write " + path_.string());
    }

    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
    [[nodiscard]] std::uint64_t bytes_in() const noexcept { return bytes_in_; }
    [[nodiscard]] std::uint64_t bytes_out() const noexcept { return bytes_out_; }

private:
    // A failed file operation, with the system's reason.
    [[noreturn]] static void fail(const std::string& what) {
        const int error = errno;
        throw redsink::Error(ErrorKind::other, {}, what + (error != 0 ? std::string(": ") + std::strerror(error) : ""));
    }
    // A failure of zlib's, which sets no errno.
    [[noreturn]] static void fail_zlib(const std::string& what) { throw redsink::Error(ErrorKind::other, {}, what); }

    void deflate_all(int flush) {
        for (;;) {
            zs_.next_out = reinterpret_cast<Bytef*>(buffer_.get());
            zs_.avail_out = static_cast<uInt>(buffer_size);
            const int status = deflate(&zs_, flush);
            if (status == Z_STREAM_ERROR) fail_zlib("zlib failed to compress");
            const std::size_t produced = buffer_size - zs_.avail_out;
            if (produced > 0) {
                if (std::fwrite(buffer_.get(), 1, produced, file_.get()) != produced)
                    fail("cannot write " + path_.string());
                bytes_out_ += produced;
            }
            if (flush == Z_FINISH ? status == Z_STREAM_END : zs_.avail_out != 0) return;
        }
    }

    static constexpr std::size_t buffer_size = std::size_t{1} << 16;

    std::filesystem::path path_;
    std::unique_ptr<std::FILE, decltype(&std::fclose)> file_{nullptr, &std::fclose};
    z_stream zs_{};
    bool zlib_open_ = false;
    std::unique_ptr<char[]> buffer_ = std::make_unique<char[]>(buffer_size);
    std::uint64_t bytes_in_ = 0;
    std::uint64_t bytes_out_ = 0;
};

// Writes rows from `first` on into `file` as gzip CSV, a slice of rows at a time (the only copy
// of the batch in memory is the slice's text, some 64 KiB), until the rows end or the file's CSV
// reaches `part_bytes` at the end of a row: a part holds at least one row, and passes part_bytes
// by less than one row. Finishes the file and returns the first row not written.
inline std::size_t write_csv_gzip(const BulkRows& rows, std::size_t first, std::uint64_t part_bytes, GzipFile& file) {
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

// Writes every row into `file` as gzip CSV (one part, whatever its size). Finishes the file.
inline void write_csv_gzip(const BulkRows& rows, GzipFile& file) {
    write_csv_gzip(rows, 0, std::numeric_limits<std::uint64_t>::max(), file);
}

}  // namespace redsink::s3
