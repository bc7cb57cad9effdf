#pragma once

// The uploads of a batch's parts, while the next part is written: each on a thread and an S3
// client (so a connection) of its own, at most a bound at a time (docs/s3-copy.md, "Large
// batches").
#include <redsink/s3/body.hpp>
#include <redsink/s3/client.hpp>
#include <redsink/s3/compressed_file.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace redsink::s3 {

// Uploads finished files, at most `concurrency` at once. Used from one thread (the task's); the
// clients are made at their first use and kept between batches with their connections. Every
// upload started has ended when a member returns by an exception, and when it is destroyed.
class PartUploads {
public:
    // `make_client`: a client for one more upload slot (sharing the task's credentials).
    PartUploads(std::size_t concurrency, std::function<Client()> make_client)
        : make_client_(std::move(make_client)), clients_(concurrency < 1 ? 1 : concurrency) {
        for (std::size_t slot = clients_.size(); slot > 0; --slot) free_.push_back(slot - 1);
    }

    PartUploads(const PartUploads&) = delete;
    PartUploads& operator=(const PartUploads&) = delete;
    ~PartUploads() { abandon(); }

    // Starts uploading `file` (finished) as `key`, first waiting for the oldest upload when
    // `concurrency` are running. The file is removed once its upload succeeded (after a failure,
    // when the upload's result is taken, at the latest when this returns by the error). Throws the first
    // error of an upload waited for (after every other has ended: the caller may then delete
    // whatever was stored).
    void submit(std::string key, std::unique_ptr<CompressedFile> file) {
        if (free_.empty()) wait_oldest();
        const auto slot = free_.back();
        auto& client = clients_[slot];
        try {
            if (!client) client.emplace(make_client_());
        } catch (...) {
            abandon();
            throw;
        }
        Client* const c = &*client;
        running_.push_back({std::async(std::launch::async,
                                       [c, key = std::move(key), file = std::move(file)]() mutable -> std::uint64_t {
                                           const auto bytes = file->bytes_out();
                                           {
                                               FileBody body(file->path());
                                               c->put_object(key, body);
                                           }
                                           file.reset();  // removed as soon as it is stored
                                           return bytes;
                                       }),
                            slot});
        free_.pop_back();
    }

    // Waits for every upload started; returns the bytes they uploaded since the last call.
    // Throws the first error, after every upload has ended.
    std::uint64_t wait() {
        while (!running_.empty()) wait_oldest();
        return std::exchange(bytes_, 0);
    }

    // Waits for every upload started, their errors ignored.
    void abandon() noexcept {
        for (auto& upload : running_) {
            try {
                upload.done.get();
            } catch (...) {
                // The error that made the caller abandon is the one it reports.
            }
            free_.push_back(upload.slot);
        }
        running_.clear();
        bytes_ = 0;
    }

private:
    struct Running {
        std::future<std::uint64_t> done;
        std::size_t slot = 0;
    };

    void wait_oldest() {
        auto upload = std::move(running_.front());
        running_.pop_front();
        free_.push_back(upload.slot);
        try {
            bytes_ += upload.done.get();
        } catch (...) {
            abandon();
            throw;
        }
    }

    std::function<Client()> make_client_;
    std::vector<std::optional<Client>> clients_;  // one per slot
    std::vector<std::size_t> free_;               // slots no upload runs on
    std::deque<Running> running_;                 // oldest first
    std::uint64_t bytes_ = 0;
};

}  // namespace redsink::s3
