#pragma once

#include <redsink/error.hpp>

#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <unistd.h>

// The temporary file a batch's CSV is compressed into as it is written, before its upload: zstd
// or gzip (docs/s3-copy.md, "Compression").
namespace redsink::s3 {

// How the bulk path's objects are compressed: Zstandard (COPY's ZSTD, objects .csv.zst) or gzip
// (COPY's GZIP, objects .csv.gz). Redshift reads both from S3.
enum class Compression { zstd, gzip };

// The level a compression gets when CopyOptions::compression_level is 0: 1 for both, chosen by
// measurement (docs/s3-copy.md, "Compression"): zstd's level 1 took a third to a half of gzip
// level 1's CPU for smaller objects; its level 3 twice level 1's CPU; its fast levels (negative) a
// little less than level 1, for objects up to 2.3 times larger.
[[nodiscard]] constexpr int default_level(Compression) noexcept {
    return 1;
}

// The levels a compression takes, 0 aside (the default): zstd from its fastest "fast" level
// (negative: less CPU, less compression; ZSTD_minCLevel()) to 19 (past 19, its "ultra" levels need
// far more memory), gzip 1 to 9.
[[nodiscard]] inline int min_level(Compression compression) noexcept {
    return compression == Compression::zstd ? ZSTD_minCLevel() : 1;
}
[[nodiscard]] constexpr int max_level(Compression compression) noexcept {
    return compression == Compression::zstd ? 19 : 9;
}

// COPY's option that reads the compression: ZSTD or GZIP.
[[nodiscard]] constexpr std::string_view copy_keyword(Compression compression) noexcept {
    return compression == Compression::zstd ? "ZSTD" : "GZIP";
}

// The end of an object's key: .csv.zst or .csv.gz.
[[nodiscard]] constexpr std::string_view object_suffix(Compression compression) noexcept {
    return compression == Compression::zstd ? ".csv.zst" : ".csv.gz";
}

[[nodiscard]] constexpr std::string_view compression_name(Compression compression) noexcept {
    return compression == Compression::zstd ? "zstd" : "gzip";
}

// A temporary file that compresses what is written to it into one complete zstd frame or gzip
// stream, removed when destroyed. Its memory is the compressor's state (zstd at level 1: about
// 1 MiB; zlib's: about 256 KiB) and one output buffer, whatever the file's size.
class CompressedFile {
public:
    // A new file in `directory` (empty: the system's temporary directory); `level` from
    // min_level(compression) to max_level(compression) (0: default_level).
    explicit CompressedFile(const std::filesystem::path& directory, Compression compression = Compression::zstd,
                            int level = 0)
        : compression_(compression) {
        if (level == 0) level = default_level(compression);
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
        if (compression_ == Compression::zstd) {
            zstd_.reset(ZSTD_createCCtx());
            if (!zstd_) fail_codec("zstd could not start a frame");
            check_zstd(ZSTD_CCtx_setParameter(zstd_.get(), ZSTD_c_compressionLevel, level));
            // A checksum of the content in the frame: a damaged object fails its COPY.
            check_zstd(ZSTD_CCtx_setParameter(zstd_.get(), ZSTD_c_checksumFlag, 1));
        } else {
            if (deflateInit2(&zs_, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
                fail_codec("zlib could not start a gzip stream");
            zlib_open_ = true;
        }
    }
    CompressedFile(const CompressedFile&) = delete;
    CompressedFile& operator=(const CompressedFile&) = delete;
    ~CompressedFile() {
        if (zlib_open_) deflateEnd(&zs_);
        file_.reset();
        if (!path_.empty()) {
            std::error_code ignored;
            std::filesystem::remove(path_, ignored);
        }
    }

    void write(std::string_view bytes) {
        bytes_in_ += bytes.size();
        if (compression_ == Compression::zstd) {
            compress_zstd(bytes, ZSTD_e_continue);
            return;
        }
        zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
        zs_.avail_in = static_cast<uInt>(bytes.size());
        deflate_all(Z_NO_FLUSH);
    }

    // Ends the frame (or stream) and flushes the file: then it can be read (FileBody).
    void finish() {
        if (compression_ == Compression::zstd) {
            compress_zstd({}, ZSTD_e_end);
        } else {
            zs_.next_in = nullptr;
            zs_.avail_in = 0;
            deflate_all(Z_FINISH);
        }
        if (std::fflush(file_.get()) != 0) fail("cannot write " + path_.string());
    }

    [[nodiscard]] Compression compression() const noexcept { return compression_; }
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
    [[nodiscard]] std::uint64_t bytes_in() const noexcept { return bytes_in_; }
    [[nodiscard]] std::uint64_t bytes_out() const noexcept { return bytes_out_; }

private:
    // A failed file operation, with the system's reason.
    [[noreturn]] static void fail(const std::string& what) {
        const int error = errno;
        throw redsink::Error(ErrorKind::other, {}, what + (error != 0 ? std::string(": ") + std::strerror(error) : ""));
    }
    // A failure of the compressor's, which sets no errno.
    [[noreturn]] static void fail_codec(const std::string& what) { throw redsink::Error(ErrorKind::other, {}, what); }
    static std::size_t check_zstd(std::size_t code) {
        if (ZSTD_isError(code) != 0u) fail_codec(std::string("zstd failed to compress: ") + ZSTD_getErrorName(code));
        return code;
    }

    void put(std::size_t produced) {
        if (produced == 0) return;
        if (std::fwrite(buffer_.get(), 1, produced, file_.get()) != produced) fail("cannot write " + path_.string());
        bytes_out_ += produced;
    }

    // ZSTD_e_continue: until zstd took every byte; ZSTD_e_end: until the frame is complete.
    void compress_zstd(std::string_view bytes, ZSTD_EndDirective directive) {
        ZSTD_inBuffer in{bytes.data(), bytes.size(), 0};
        for (;;) {
            ZSTD_outBuffer out{buffer_.get(), buffer_size, 0};
            const std::size_t left = check_zstd(ZSTD_compressStream2(zstd_.get(), &out, &in, directive));
            put(out.pos);
            if (directive == ZSTD_e_end ? left == 0 : in.pos == in.size) return;
        }
    }

    void deflate_all(int flush) {
        for (;;) {
            zs_.next_out = reinterpret_cast<Bytef*>(buffer_.get());
            zs_.avail_out = static_cast<uInt>(buffer_size);
            const int status = deflate(&zs_, flush);
            if (status == Z_STREAM_ERROR) fail_codec("zlib failed to compress");
            put(buffer_size - zs_.avail_out);
            if (flush == Z_FINISH ? status == Z_STREAM_END : zs_.avail_out != 0) return;
        }
    }

    struct FreeZstd {
        void operator()(ZSTD_CCtx* context) const noexcept { ZSTD_freeCCtx(context); }
    };

    static constexpr std::size_t buffer_size = std::size_t{1} << 16;

    Compression compression_;
    std::filesystem::path path_;
    std::unique_ptr<std::FILE, decltype(&std::fclose)> file_{nullptr, &std::fclose};
    std::unique_ptr<ZSTD_CCtx, FreeZstd> zstd_;
    z_stream zs_{};
    bool zlib_open_ = false;
    std::unique_ptr<char[]> buffer_ = std::make_unique<char[]>(buffer_size);
    std::uint64_t bytes_in_ = 0;
    std::uint64_t bytes_out_ = 0;
};

}  // namespace redsink::s3
