#pragma once

// Where a session's notices go: its trace hook, never stderr.
#include <redsink/pq/request.hpp>
#include <redsink/pq/secrets.hpp>
#include <redsink/pq/server_text.hpp>

#include <libpq-fe.h>

#include <string>
#include <string_view>

namespace redsink::pq::detail {

// What a session shows of itself, and how: its trace hook, the secrets taken out of every text,
// whether server text is shown verbatim. Kept at an address that survives moves of the
// Connection: libpq holds a pointer to it for the session's notices.
struct SessionText {
    TraceHook trace;
    Secrets secrets;
    std::string password;
    bool verbatim = false;

    [[nodiscard]] std::string scrub(std::string_view text) const { return secrets.scrub(text, password); }
};

// Points the notice receiver of `conn` at `text`: server notices (NOTICE, WARNING) and what libpq
// hands over as one (the FATAL a backend sends as it ends while the session waits for nothing) go
// to the trace hook as TracePoint::notice, their text as server_text.hpp allows; without a hook
// they are dropped. libpq's default prints them on stderr.
inline void route_notices(PGconn* conn, const SessionText* text) noexcept {
    if (conn == nullptr) return;
    PQsetNoticeReceiver(
        conn,
        [](void* arg, const PGresult* notice) {
            const auto* session = static_cast<const SessionText*>(arg);
            if (session == nullptr || !session->trace) return;
            try {
                const auto fields =
                    server_fields(notice, [&](std::string_view value) { return session->scrub(value); });
                session->trace(TracePoint::notice, notice_text(fields, session->verbatim));
            } catch (...) {
                // A hook that throws must not unwind through libpq.
            }
        },
        const_cast<SessionText*>(text));
}

}  // namespace redsink::pq::detail
