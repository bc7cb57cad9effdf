// The S3 client against the local S3-compatible server (scripts/with-s3), which checks signatures.
#include "s3/support.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace s3 = redsink::s3;
using namespace redsink_test::s3;

namespace {

std::vector<std::string> keys_of(const std::vector<s3::ObjectInfo>& objects) {
    std::vector<std::string> keys;
    for (const auto& o : objects) keys.push_back(o.key);
    return keys;
}

// Sets (or removes, with nullptr) an environment variable for one scope.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value != nullptr)
            ::setenv(name, value, 1);
        else
            ::unsetenv(name);
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;
    ~ScopedEnv() {
        if (old_)
            ::setenv(name_, old_->c_str(), 1);
        else
            ::unsetenv(name_);
    }

private:
    const char* name_;
    std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("every byte value survives a round trip, and the payload's SHA-256 is signed", "[s3][client]") {
    s3::Client client(test_options());
    const auto key = unique_prefix("bytes") + "all-bytes";
    std::string bytes;
    for (int round = 0; round < 3; ++round)
        for (int b = 0; b < 256; ++b) bytes.push_back(static_cast<char>(b));
    client.put_object(key, bytes);
    CHECK(client.get_object(key) == bytes);

    const auto puts = logged_requests(s3::request::uri_encode(key, true));
    REQUIRE_FALSE(puts.empty());
    CHECK_THAT(puts.front(), Catch::Contains("\"method\":\"PUT\""));
    CHECK_THAT(puts.front(), Catch::Contains("\"sha256\":\"" + s3::request::sha256_hex(bytes) + "\""));
    CHECK_THAT(puts.front(), Catch::Contains("\"status\":200"));

    const auto listed = client.list_objects(key);
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].size == bytes.size());
}

TEST_CASE("an empty object", "[s3][client]") {
    s3::Client client(test_options());
    const auto key = unique_prefix("empty") + "nothing";
    client.put_object(key, std::string_view{});
    CHECK(client.get_object(key).empty());
    const auto listed = client.list_objects(key);
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].size == 0);
    s3::BytesBody empty({});
    client.put_object(key + "-streamed", empty);
    CHECK(client.get_object(key + "-streamed").empty());
}

TEST_CASE("a multi-megabyte body is streamed from its source, unsigned", "[s3][client]") {
    s3::Client client(test_options());
    const auto prefix = unique_prefix("stream");
    constexpr std::uint64_t size = 6 * 1024 * 1024 + 123;
    GeneratedBody body(size, 42);
    client.put_object(prefix + "generated", body);
    CHECK(client.get_object(prefix + "generated") == GeneratedBody::expected(size, 42));
    const auto puts = logged_requests(s3::request::uri_encode(prefix + "generated", true));
    REQUIRE_FALSE(puts.empty());
    CHECK_THAT(puts.front(), Catch::Contains("\"sha256\":\"UNSIGNED-PAYLOAD\""));

    // A file, as the load path may spool a gzip stream of unknown length.
    const auto path = std::filesystem::temp_directory_path() / ("redsink-s3-test-" + std::to_string(::getpid()));
    const auto content = GeneratedBody::expected(3 * 1024 * 1024, 7);
    {
        std::ofstream out(path, std::ios::binary);
        out.write(content.data(), static_cast<std::streamsize>(content.size()));
    }
    s3::FileBody file(path);
    CHECK(file.size() == content.size());
    client.put_object(prefix + "file", file);
    std::filesystem::remove(path);
    CHECK(client.get_object(prefix + "file") == content);
}

TEST_CASE("keys with spaces, +, =, UTF-8, slashes and reserved characters", "[s3][client]") {
    s3::Client client(test_options());
    const auto prefix = unique_prefix("keys");
    const std::vector<std::string> names = {
        "with space",
        "plus+sign",
        "equals=sign&and",
        "a/b/c/deep",
        "utf8-\xC3\xA9t\xC3\xA9-\xE2\x82\xAC-\xF0\x9F\x98\x80",
        "percent%20not-a-space",
        "reserved!*'()$@:;,?#[]~",
        "xml<&>\"'",
    };
    for (const auto& name : names) {
        INFO("key: " << prefix + name);
        const auto content = "content of " + name;
        client.put_object(prefix + name, content);
        CHECK(client.get_object(prefix + name) == content);
    }
    auto expected = names;
    for (auto& name : expected) name = prefix + name;
    std::sort(expected.begin(), expected.end());
    auto listed = keys_of(client.list_objects(prefix));
    std::sort(listed.begin(), listed.end());
    CHECK(listed == expected);
    for (const auto& key : expected) client.delete_object(key);
    CHECK(client.list_objects(prefix).empty());

    // Dot segments are part of an S3 key: they are sent as written, not resolved by libcurl (the
    // test server resolves them itself, which S3 does not, so only the request line is checked).
    client.put_object(prefix + "dot/./segment/../kept", "dots");
    CHECK(logged_requests(prefix + "dot/./segment/../kept").size() == 1);
}

TEST_CASE("a listing follows continuation tokens across pages", "[s3][client]") {
    auto options = test_options();
    options.list_page_size = 2;
    s3::Client client(options);
    const auto prefix = unique_prefix("pages");
    std::vector<std::string> expected;
    for (int i = 0; i < 7; ++i) {
        expected.push_back(prefix + "batch-" + std::to_string(i) + ".gz");
        client.put_object(expected.back(), "row " + std::to_string(i));
    }
    client.put_object(prefix.substr(0, prefix.size() - 1) + "-sibling", "not listed");

    const auto first = client.list_page(prefix);
    CHECK(first.objects.size() == 2);
    CHECK_FALSE(first.next_continuation_token.empty());

    const auto lists_before = logged_requests("list-type=2").size();
    const auto listed = client.list_objects(prefix);
    CHECK(keys_of(listed) == expected);
    CHECK(logged_requests("list-type=2").size() - lists_before == 4);  // 2 + 2 + 2 + 1
    CHECK(logged_requests("continuation-token=").size() >= 3);
    for (const auto& o : listed) CHECK(o.size == 5);
}

TEST_CASE("the sweep deletes everything under its prefix and nothing else", "[s3][client]") {
    auto options = test_options();
    options.list_page_size = 3;
    std::vector<std::string> announced;
    options.on_delete = [&](std::string_view key) { announced.emplace_back(key); };
    s3::Client client(options);
    const auto root = unique_prefix("sweep");
    std::vector<std::string> doomed;
    for (int i = 0; i < 8; ++i) doomed.push_back(root + "run/part-" + std::to_string(i));
    doomed.push_back(root + "run/nested/deeper & <escaped>");
    const std::vector<std::string> kept = {root + "run", root + "runner/x", root + "other/run/x"};
    for (const auto& key : doomed) client.put_object(key, "x");
    for (const auto& key : kept) client.put_object(key, "y");

    CHECK(client.delete_prefix(root + "run/") == doomed.size());
    std::sort(announced.begin(), announced.end());
    auto sorted_doomed = doomed;
    std::sort(sorted_doomed.begin(), sorted_doomed.end());
    CHECK(announced == sorted_doomed);
    auto left = keys_of(client.list_objects(root));
    std::sort(left.begin(), left.end());
    auto sorted_kept = kept;
    std::sort(sorted_kept.begin(), sorted_kept.end());
    CHECK(left == sorted_kept);
    CHECK(client.delete_prefix(root + "run/") == 0);
    CHECK_THROWS_AS(client.delete_prefix(""), s3::Error);
}

TEST_CASE("deleting keys that do not exist succeeds", "[s3][client]") {
    s3::Client client(test_options());
    const auto prefix = unique_prefix("absent");
    client.delete_object(prefix + "never-written");
    const std::vector<std::string> keys = {prefix + "a", prefix + "b"};
    client.put_object(keys[0], "a");
    client.delete_objects(keys);
    CHECK(client.list_objects(prefix).empty());
    client.delete_objects({});
}

TEST_CASE("a session token is sent and signed", "[s3][client]") {
    auto options = test_options();
    const std::string token = "FwoGZXIvYXdzEBY-test-session+token/=";
    options.credentials->session_token = token;
    s3::Client client(options);
    const auto key = unique_prefix("token") + "object";
    client.put_object(key, "with a token");
    CHECK(client.get_object(key) == "with a token");
    const auto requests = logged_requests(s3::request::uri_encode(key, true));
    REQUIRE(requests.size() == 2);
    for (const auto& line : requests) {
        CHECK_THAT(line, Catch::Contains("\"token_sha256\":\"" + s3::request::sha256_hex(token) + "\""));
        CHECK_THAT(line, Catch::Contains("\"status\":200"));
    }
}

TEST_CASE("credentials and region from the environment", "[s3][client]") {
    const auto credentials = test_credentials();
    const ScopedEnv id("AWS_ACCESS_KEY_ID", credentials.access_key_id.c_str());
    const ScopedEnv secret("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key.c_str());
    const ScopedEnv token("AWS_SESSION_TOKEN", "env-session-token");
    const ScopedEnv region("AWS_REGION", nullptr);
    const ScopedEnv default_region("AWS_DEFAULT_REGION", s3_env("REDSINK_TEST_S3_REGION").c_str());
    auto options = test_options();
    options.credentials.reset();
    options.region.clear();
    s3::Client client(options);
    CHECK(client.region() == s3_env("REDSINK_TEST_S3_REGION"));
    const auto key = unique_prefix("env") + "object";
    client.put_object(key, "from the environment");
    CHECK(client.get_object(key) == "from the environment");
    const auto requests = logged_requests(s3::request::uri_encode(key, true));
    REQUIRE_FALSE(requests.empty());
    CHECK_THAT(requests.front(), Catch::Contains(s3::request::sha256_hex("env-session-token")));

    {
        const ScopedEnv aws_region("AWS_REGION", "eu-north-1");  // AWS_REGION wins over AWS_DEFAULT_REGION
        CHECK(s3::Client(options).region() == "eu-north-1");
    }
    const ScopedEnv no_default("AWS_DEFAULT_REGION", nullptr);
    CHECK_THROWS_WITH(s3::Client(options), Catch::Contains("no S3 region"));
    const ScopedEnv no_secret("AWS_SECRET_ACCESS_KEY", nullptr);
    options.region = "us-east-1";
    CHECK_THROWS_WITH(s3::Client(options), Catch::Contains("AWS_SECRET_ACCESS_KEY"));
}
