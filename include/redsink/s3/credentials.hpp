#pragma once

// S3 credentials and the cache that hands them to the requests of every client that shares it:
// fetched from their source once, fetched again before they expire, thread-safe.
#include <redsink/s3/error.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace redsink::s3 {

// An access key pair, and the session token that comes with temporary credentials. Used to sign
// requests (and, without an IAM role, in COPY) and nowhere else: no message, log line or trace
// shows the secret or the token.
struct Credentials {
    std::string access_key_id{};
    std::string secret_access_key{};
    std::string session_token{};  // empty for long-term keys; sent as x-amz-security-token
    // When temporary credentials stop working; none: they do not expire.
    std::optional<std::chrono::system_clock::time_point> expiration{};

    // AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and (optional) AWS_SESSION_TOKEN; throws when
    // either of the first two is missing.
    [[nodiscard]] static Credentials from_env();
};

// Your own source of credentials (ClientOptions::credentials_provider): called when the client
// starts, again before the credentials it returned expire (when they carry an expiration), and
// when S3 says they expired. It may throw; its message then reaches the error as it is, so it
// must not hold a secret.
using CredentialsProvider = std::function<Credentials()>;

namespace detail {

[[nodiscard]] inline std::string env_or_empty(const char* name) {
    const char* value = std::getenv(name);
    return value != nullptr ? std::string(value) : std::string();
}

[[nodiscard]] inline Error configuration_error(std::string message) {
    return Error(Failure{.operation = "configuration", .code = "InvalidConfiguration", .message = std::move(message)});
}

[[nodiscard]] inline Error credentials_error(std::string_view source, std::string message, bool retryable = false) {
    return Error(Failure{.operation = "credentials from " + std::string(source),
                         .code = "CredentialsUnavailable",
                         .message = std::move(message),
                         .retryable = retryable});
}

}  // namespace detail

// The credentials of one source, shared by the clients that use it (a loader's tasks), safe to
// use from several threads at once. Credentials with an expiration are fetched again
// `refresh_before` it (5 minutes), or at half their remaining life when that is shorter, by one
// thread while the others go on with the current ones; a refresh that fails while they are still
// valid is tried again later (every 10 seconds at most), and an error only when they expired.
class CredentialsCache {
public:
    // `source` names where they come from, in errors ("EC2 instance metadata (http://...)").
    // `refreshable`: asking `fetch` again may give other credentials (not so for fixed keys).
    CredentialsCache(std::string source, CredentialsProvider fetch, bool refreshable = true,
                     std::chrono::seconds refresh_before = std::chrono::minutes(5))
        : source_(std::move(source)),
          fetch_(std::move(fetch)),
          refreshable_(refreshable),
          refresh_before_(refresh_before) {}

    CredentialsCache(const CredentialsCache&) = delete;
    CredentialsCache& operator=(const CredentialsCache&) = delete;

    // Credentials that have not expired: the current ones, or new ones when their time came.
    // Throws an s3::Error naming the source (never a secret) when none can be had.
    [[nodiscard]] Credentials get();

    // S3 refused `used` as expired (ExpiredToken): they are dropped, if they are still the current
    // ones, so that the next get() fetches new ones. Returns whether a new fetch may help.
    bool expired(const Credentials& used);

    [[nodiscard]] const std::string& source() const noexcept { return source_; }
    // How many times the source gave credentials.
    [[nodiscard]] std::uint64_t fetches() const {
        const std::lock_guard lock(mutex_);
        return fetches_;
    }

private:
    using Clock = std::chrono::system_clock;

    [[nodiscard]] bool usable(Clock::time_point now) const {
        return current_ && (!current_->expiration || now < *current_->expiration);
    }
    [[nodiscard]] Credentials fetch_checked();

    std::string source_;
    CredentialsProvider fetch_;
    bool refreshable_;
    std::chrono::seconds refresh_before_;

    mutable std::mutex mutex_;
    std::condition_variable refreshed_;
    std::optional<Credentials> current_{};
    Clock::time_point refresh_at_{};
    bool refreshing_ = false;
    std::uint64_t fetches_ = 0;
};

inline Credentials Credentials::from_env() {
    Credentials credentials{.access_key_id = detail::env_or_empty("AWS_ACCESS_KEY_ID"),
                            .secret_access_key = detail::env_or_empty("AWS_SECRET_ACCESS_KEY"),
                            .session_token = detail::env_or_empty("AWS_SESSION_TOKEN")};
    if (credentials.access_key_id.empty() || credentials.secret_access_key.empty())
        throw detail::configuration_error(
            "no S3 credentials in the environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set");
    return credentials;
}

inline Credentials CredentialsCache::fetch_checked() {
    Credentials fresh;
    try {
        fresh = fetch_();
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        throw detail::credentials_error(source_, e.what());
    }
    if (fresh.access_key_id.empty() || fresh.secret_access_key.empty())
        throw detail::credentials_error(source_, "an empty access key id or secret");
    if (fresh.expiration && *fresh.expiration <= Clock::now())
        throw detail::credentials_error(source_, "the credentials it gave have already expired");
    return fresh;
}

inline Credentials CredentialsCache::get() {
    std::unique_lock lock(mutex_);
    for (;;) {
        const auto now = Clock::now();
        if (current_ && (!current_->expiration || now < refresh_at_)) return *current_;
        if (refreshing_) {
            // Another thread fetches: the current credentials serve until they expire.
            if (usable(now)) return *current_;
            refreshed_.wait(lock);
            continue;
        }
        refreshing_ = true;
        lock.unlock();
        std::optional<Credentials> fresh;
        std::exception_ptr failure;
        try {
            fresh = fetch_checked();
        } catch (...) {
            failure = std::current_exception();
        }
        lock.lock();
        refreshing_ = false;
        refreshed_.notify_all();
        const auto after = Clock::now();
        if (failure) {
            if (!usable(after)) std::rethrow_exception(failure);
            // Still valid: used while the source is asked again later.
            const auto left = *current_->expiration - after;
            refresh_at_ = after + std::min<Clock::duration>(std::chrono::seconds(10), left / 2);
            return *current_;
        }
        current_ = std::move(fresh);
        ++fetches_;
        if (current_->expiration) {
            const auto life = *current_->expiration - after;
            refresh_at_ = *current_->expiration - std::min<Clock::duration>(refresh_before_, life / 2);
        }
        return *current_;
    }
}

inline bool CredentialsCache::expired(const Credentials& used) {
    if (!refreshable_) return false;
    const std::lock_guard lock(mutex_);
    if (current_ && current_->access_key_id == used.access_key_id &&
        current_->secret_access_key == used.secret_access_key && current_->session_token == used.session_token)
        current_.reset();
    return true;
}

}  // namespace redsink::s3
