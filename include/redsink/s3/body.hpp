#pragma once

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace redsink::s3 {

// A request body that the client reads as it sends, so that an upload needs no copy of it in
// memory. S3 takes a single PUT only with its Content-Length, so the size is known before the
// first byte (a gzip stream of unknown size is written to a file first: FileBody). A retry sends
// the body again from its start: rewind() is called before every attempt after the first.
class BodySource {
public:
    virtual ~BodySource() = default;
    // The number of bytes read() will give, from the start.
    [[nodiscard]] virtual std::uint64_t size() const = 0;
    // Up to `capacity` bytes into `buffer`; 0 only at the end. May throw: the request then
    // fails with that exception, not retried.
    virtual std::size_t read(char* buffer, std::size_t capacity) = 0;
    // Back to the first byte.
    virtual void rewind() = 0;
};

// Bytes the caller keeps alive until the request returns.
class BytesBody final : public BodySource {
public:
    explicit BytesBody(std::string_view bytes) noexcept : bytes_(bytes) {}
    [[nodiscard]] std::uint64_t size() const override { return bytes_.size(); }
    std::size_t read(char* buffer, std::size_t capacity) override {
        const auto n = std::min(capacity, bytes_.size() - offset_);
        std::memcpy(buffer, bytes_.data() + offset_, n);
        offset_ += n;
        return n;
    }
    void rewind() override { offset_ = 0; }

private:
    std::string_view bytes_;
    std::size_t offset_ = 0;
};

// A file, read from its start on each attempt. Its size is taken when it is opened.
class FileBody final : public BodySource {
public:
    explicit FileBody(const std::filesystem::path& path) : file_(std::fopen(path.c_str(), "rb"), &std::fclose) {
        if (!file_) throw std::runtime_error("cannot open " + path.string() + ": " + std::strerror(errno));
        size_ = std::filesystem::file_size(path);
        path_ = path.string();
    }
    [[nodiscard]] std::uint64_t size() const override { return size_; }
    std::size_t read(char* buffer, std::size_t capacity) override {
        const auto n = std::fread(buffer, 1, capacity, file_.get());
        if (n == 0 && std::ferror(file_.get()) != 0) throw std::runtime_error("cannot read " + path_);
        return n;
    }
    void rewind() override {
        if (std::fseek(file_.get(), 0, SEEK_SET) != 0) throw std::runtime_error("cannot rewind " + path_);
        std::clearerr(file_.get());
    }

private:
    std::unique_ptr<std::FILE, decltype(&std::fclose)> file_;
    std::uint64_t size_ = 0;
    std::string path_;
};

}  // namespace redsink::s3
