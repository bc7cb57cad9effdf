// Failures: refused credentials, missing keys and buckets, a server that goes away and comes back,
// body sources that fail. No message may hold a secret.
#include "s3/support.hpp"

#include <chrono>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

namespace s3 = redsink::s3;
using namespace redsink_test::s3;
using namespace std::chrono_literals;

namespace {

// The error an operation throws; fails the test when it throws none, or another kind.
template <class Operation>
s3::Error error_of(Operation&& operation) {
    try {
        operation();
    } catch (const s3::Error& e) {
        return e;
    }
    FAIL("the operation did not throw redsink::s3::Error");
    throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("a wrong secret: 403 naming bucket and key, S3's code, no secret, no retry", "[s3][faults]") {
    auto options = test_options();
    const std::string wrong_secret = "wrong-secret-that-must-not-be-printed";
    options.credentials->secret_access_key = wrong_secret;
    options.credentials->session_token = "session-token-that-must-not-be-printed";
    int retries = 0;
    options.on_retry = [&](const s3::RetryEvent&) { ++retries; };
    s3::Client client(options);
    const auto key = unique_prefix("denied") + "object";
    for (const auto& e : {error_of([&] { client.put_object(key, "x"); }), error_of([&] {
                              GeneratedBody body(1000, 1);
                              client.put_object(key, body);
                          }),
                          error_of([&] { (void)client.get_object(key); }), error_of([&] { client.delete_object(key); }),
                          error_of([&] { (void)client.list_objects(key); }),
                          error_of([&] { client.delete_objects(std::vector<std::string>{key}); })}) {
        INFO(e.what());
        CHECK(e.http_status() == 403);
        CHECK(e.code() == "SignatureDoesNotMatch");
        CHECK(e.attempts() == 1);
        CHECK_FALSE(e.retryable());
        CHECK_THAT(e.what(), Catch::Contains("s3://" + s3_env("REDSINK_TEST_S3_BUCKET") + "/" + key));
        CHECK_THAT(e.what(), Catch::Contains("HTTP 403 SignatureDoesNotMatch"));
        check_no_secret(e,
                        {wrong_secret, "session-token-that-must-not-be-printed", s3_env("REDSINK_TEST_S3_SECRET_KEY")});
    }
    CHECK(retries == 0);

    auto unknown = test_options();
    unknown.credentials->access_key_id = "AKIDUNKNOWN";
    const auto e = error_of([&] { s3::Client(unknown).put_object(key, "x"); });
    CHECK(e.http_status() == 403);
    CHECK(e.code() == "InvalidAccessKeyId");
    check_no_secret(e, {s3_env("REDSINK_TEST_S3_SECRET_KEY")});
}

TEST_CASE("a missing key: 404 NoSuchKey, not retried", "[s3][faults]") {
    auto options = test_options();
    int retries = 0;
    options.on_retry = [&](const s3::RetryEvent&) { ++retries; };
    s3::Client client(options);
    const auto key = unique_prefix("missing") + "no such key";
    const auto e = error_of([&] { (void)client.get_object(key); });
    CHECK(e.http_status() == 404);
    CHECK(e.code() == "NoSuchKey");
    CHECK(e.operation() == "GET object");
    CHECK(e.key() == key);
    CHECK(e.attempts() == 1);
    CHECK(retries == 0);
    CHECK_THAT(e.what(), Catch::StartsWith("S3 GET object s3://" + s3_env("REDSINK_TEST_S3_BUCKET") + "/" + key +
                                           ": HTTP 404 NoSuchKey: "));
    check_no_secret(e, {s3_env("REDSINK_TEST_S3_SECRET_KEY")});
}

TEST_CASE("a missing bucket: 404 NoSuchBucket, naming the bucket", "[s3][faults]") {
    auto options = test_options();
    options.bucket = "redsink-no-such-bucket";
    s3::Client client(options);
    for (const auto& e :
         {error_of([&] { client.put_object("k", "x"); }), error_of([&] { (void)client.list_objects("p/"); })}) {
        INFO(e.what());
        CHECK(e.http_status() == 404);
        CHECK(e.code() == "NoSuchBucket");
        CHECK(e.attempts() == 1);
        CHECK_THAT(e.what(), Catch::Contains("s3://redsink-no-such-bucket/"));
        CHECK_THAT(e.what(), Catch::Contains("NoSuchBucket: The specified bucket does not exist"));
        check_no_secret(e, {s3_env("REDSINK_TEST_S3_SECRET_KEY")});
    }
}

TEST_CASE("a stopped server: retried with growing delays, then a clear error", "[s3][faults]") {
    auto options = test_options();
    options.max_attempts = 4;
    options.retry_backoff = 40ms;
    options.retry_backoff_max = 1s;
    options.credentials->session_token = "token-never-shown";
    std::vector<s3::RetryEvent> retries;
    std::vector<std::string> reasons;
    options.on_retry = [&](const s3::RetryEvent& event) {
        retries.push_back(event);
        reasons.emplace_back(event.reason);
    };
    s3::Client client(options);
    const auto key = unique_prefix("stopped") + "object";
    client.put_object(key, "before");  // a connection to reuse, which the stop breaks

    const RestartServerAtEnd restart;
    server_ctl("stop");
    const auto started = std::chrono::steady_clock::now();
    const auto e = error_of([&] { client.put_object(key, "during"); });
    const auto elapsed = std::chrono::steady_clock::now() - started;
    INFO(e.what());
    CHECK(e.attempts() == 4);
    CHECK(e.http_status() == 0);
    CHECK(e.kind() == redsink::ErrorKind::transient);
    CHECK(e.retryable());
    CHECK_THAT(e.what(), Catch::Contains("S3 PUT object s3://" + s3_env("REDSINK_TEST_S3_BUCKET") + "/" + key));
    CHECK_THAT(e.what(), Catch::Contains("(after 4 attempts)"));
    CHECK_THAT(e.what(), Catch::Contains("COULDNT_CONNECT"));
    REQUIRE(retries.size() == 3);
    for (std::size_t i = 0; i < retries.size(); ++i) {
        CHECK(retries[i].failed_attempt == static_cast<int>(i) + 1);
        CHECK(retries[i].operation == "PUT object");
        CHECK_THAT(reasons[i], Catch::Contains("COULDNT_CONNECT"));
        CHECK(reasons[i].find("token-never-shown") == std::string::npos);
    }
    // Between half and all of 40, 80 and 160 ms.
    CHECK((retries[0].delay >= 20ms && retries[0].delay <= 40ms));
    CHECK((retries[1].delay >= 40ms && retries[1].delay <= 80ms));
    CHECK((retries[2].delay >= 80ms && retries[2].delay <= 160ms));
    CHECK(elapsed >= retries[0].delay + retries[1].delay + retries[2].delay);
    check_no_secret(e, {s3_env("REDSINK_TEST_S3_SECRET_KEY"), "token-never-shown"});

    // One attempt only: no retry at all.
    options.max_attempts = 1;
    retries.clear();
    const auto once = error_of([&] { (void)s3::Client(options).get_object(key); });
    CHECK(once.attempts() == 1);
    CHECK(retries.empty());
}

TEST_CASE("a stop cuts a retry's wait short: the request fails at once with its last error", "[s3][faults]") {
    auto options = test_options();
    options.max_attempts = 0;  // as many as the budget allows
    options.retry_budget = 60s;
    options.retry_backoff = 10s;
    options.retry_backoff_max = 10s;
    std::stop_source stop;
    options.stop = stop.get_token();
    int retries = 0;
    options.on_retry = [&](const s3::RetryEvent& event) {
        ++retries;
        CHECK(event.delay >= 5s);
        stop.request_stop();
    };
    s3::Client client(options);
    const auto key = unique_prefix("stop") + "object";

    const RestartServerAtEnd restart;
    server_ctl("stop");
    const auto started = std::chrono::steady_clock::now();
    const auto e = error_of([&] { client.put_object(key, "during"); });
    CHECK(std::chrono::steady_clock::now() - started < 5s);
    CHECK(retries == 1);
    CHECK(e.attempts() == 1);
    CHECK(e.kind() == redsink::ErrorKind::transient);
    CHECK_THAT(e.what(), Catch::Contains("COULDNT_CONNECT"));
}

TEST_CASE("retry_budget bounds a request's retries when max_attempts is 0", "[s3][faults]") {
    auto options = test_options();
    options.max_attempts = 0;
    options.retry_budget = 300ms;
    options.retry_backoff = 20ms;
    options.retry_backoff_max = 40ms;
    int retries = 0;
    options.on_retry = [&](const s3::RetryEvent&) { ++retries; };
    s3::Client client(options);
    const auto key = unique_prefix("budget") + "object";

    const RestartServerAtEnd restart;
    server_ctl("stop");
    const auto started = std::chrono::steady_clock::now();
    const auto e = error_of([&] { (void)client.get_object(key); });
    const auto elapsed = std::chrono::steady_clock::now() - started;
    INFO(e.what());
    CHECK(elapsed >= 300ms);
    CHECK(elapsed < 5s);
    CHECK(retries >= 3);
    CHECK(e.attempts() == retries + 1);
    CHECK_THAT(e.what(), Catch::Contains("(after " + std::to_string(e.attempts()) + " attempts)"));
}

TEST_CASE("a server back within the retry window: a streamed upload is sent again from its start", "[s3][faults]") {
    auto options = test_options();
    options.max_attempts = 12;
    options.retry_backoff = 100ms;
    options.retry_backoff_max = 1s;
    int retries = 0;
    options.on_retry = [&](const s3::RetryEvent&) { ++retries; };
    s3::Client client(options);
    const auto key = unique_prefix("restarted") + "object";

    const RestartServerAtEnd restart;
    server_ctl("stop");
    std::thread starter([] {
        std::this_thread::sleep_for(300ms);
        const auto line = s3_env("REDSINK_TEST_S3_CTL") + " start >/dev/null";
        if (std::system(line.c_str()) != 0) std::abort();
    });
    constexpr std::uint64_t size = 512 * 1024;
    GeneratedBody body(size, 99);
    try {
        client.put_object(key, body);
    } catch (...) {
        starter.join();
        throw;
    }
    starter.join();
    CHECK(retries >= 1);
    CHECK(body.rewinds == retries + 1);  // once before the first attempt, once before each retry
    CHECK(client.get_object(key) == GeneratedBody::expected(size, 99));
}

TEST_CASE("a body source that fails or ends early is not retried", "[s3][faults]") {
    struct Failing final : s3::BodySource {
        [[nodiscard]] std::uint64_t size() const override { return 100; }
        std::size_t read(char*, std::size_t) override { throw std::runtime_error("the gzip stream broke"); }
        void rewind() override { ++rewinds; }
        int rewinds = 0;
    };
    struct Short final : s3::BodySource {
        [[nodiscard]] std::uint64_t size() const override { return 100; }
        std::size_t read(char* buffer, std::size_t capacity) override {
            const auto n = std::min<std::size_t>(capacity, 10 - std::min<std::size_t>(given, 10));
            std::fill_n(buffer, n, 'x');
            given += n;
            return n;
        }
        void rewind() override { given = 0; }
        std::size_t given = 0;
    };
    auto options = test_options();
    int retries = 0;
    options.on_retry = [&](const s3::RetryEvent&) { ++retries; };
    s3::Client client(options);
    const auto prefix = unique_prefix("sources");

    Failing failing;
    CHECK_THROWS_WITH(client.put_object(prefix + "failing", failing), "the gzip stream broke");
    CHECK(failing.rewinds == 1);

    Short short_body;
    const auto e = error_of([&] { client.put_object(prefix + "short", short_body); });
    CHECK(e.code() == "IncompleteBody");
    CHECK_THAT(e.what(), Catch::Contains("ended after 10 of the 100 bytes"));
    CHECK(retries == 0);

    // The connection is still good for the next request.
    client.put_object(prefix + "after", "fine");
    CHECK(client.get_object(prefix + "after") == "fine");
}
