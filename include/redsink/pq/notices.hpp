#pragma once

#include <libpq-fe.h>

#include <functional>
#include <memory>
#include <string_view>
#include <utility>

namespace redsink::pq::detail {

// Where a session's server notices (NOTICE, WARNING) go: a hook, or nowhere (libpq would print
// them on stderr).
class Notices {
public:
    void set(std::function<void(std::string_view)> hook, PGconn* conn) {
        hook_ = std::make_unique<std::function<void(std::string_view)>>(std::move(hook));
        install(conn);
    }

    // Points the notice processor of `conn` (each new session's too) at the hook.
    void install(PGconn* conn) const noexcept {
        if (conn == nullptr) return;
        PQsetNoticeProcessor(
            conn,
            [](void* hook, const char* message) {
                auto* receiver = static_cast<std::function<void(std::string_view)>*>(hook);
                if (receiver != nullptr && *receiver) (*receiver)(message);
            },
            hook_.get());
    }

private:
    // Heap-allocated so that its address, handed to libpq, survives moves of the Connection.
    std::unique_ptr<std::function<void(std::string_view)>> hook_;
};

}  // namespace redsink::pq::detail
