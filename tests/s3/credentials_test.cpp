// Where the S3 client's credentials come from: the default chain and its order, each source
// against a local stand-in (EC2 instance metadata, ECS, STS, a profile file), temporary
// credentials fetched again before they expire while several threads sign requests, S3's
// ExpiredToken, sources that fail (errors naming the source, never a secret), and the region.
#include "s3/http_stand_in.hpp"
#include "s3/support.hpp"

#include <redsink/s3/copy.hpp>

#include <support/sink.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace s3 = redsink::s3;
using namespace redsink_test::s3;
using namespace std::chrono_literals;

namespace {

// Sets (or removes, with nullptr) an environment variable for one scope.
class Env {
public:
    Env(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value != nullptr)
            ::setenv(name, value, 1);
        else
            ::unsetenv(name);
    }
    Env(const char* name, const std::string& value) : Env(name, value.c_str()) {}
    Env(const Env&) = delete;
    Env& operator=(const Env&) = delete;
    ~Env() {
        if (old_)
            ::setenv(name_, old_->c_str(), 1);
        else
            ::unsetenv(name_);
    }

private:
    const char* name_;
    std::optional<std::string> old_;
};

// A temporary directory, removed at the end of the scope.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        path = std::filesystem::temp_directory_path() /
               ("redsink-creds-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
        std::filesystem::create_directories(path);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() { std::filesystem::remove_all(path); }
    [[nodiscard]] std::string write(const std::string& name, const std::string& text) const {
        std::ofstream(path / name) << text;
        return (path / name).string();
    }
    static int& counter() {
        static int n = 0;
        return n;
    }
};

// No credential source configured by the machine or the caller's environment: every variable of
// the chain removed, HOME an empty directory, instance metadata disabled.
struct NoSources {
    TempDir home;
    Env vars[19] = {{"AWS_ACCESS_KEY_ID", nullptr},
                    {"AWS_SECRET_ACCESS_KEY", nullptr},
                    {"AWS_SESSION_TOKEN", nullptr},
                    {"AWS_WEB_IDENTITY_TOKEN_FILE", nullptr},
                    {"AWS_ROLE_ARN", nullptr},
                    {"AWS_ROLE_SESSION_NAME", nullptr},
                    {"AWS_ENDPOINT_URL_STS", nullptr},
                    {"AWS_PROFILE", nullptr},
                    {"AWS_SHARED_CREDENTIALS_FILE", nullptr},
                    {"AWS_CONFIG_FILE", nullptr},
                    {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", nullptr},
                    {"AWS_CONTAINER_CREDENTIALS_FULL_URI", nullptr},
                    {"AWS_CONTAINER_AUTHORIZATION_TOKEN", nullptr},
                    {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", nullptr},
                    {"AWS_EC2_METADATA_SERVICE_ENDPOINT", nullptr},
                    {"AWS_EC2_METADATA_DISABLED", "true"},
                    {"AWS_REGION", nullptr},
                    {"AWS_DEFAULT_REGION", nullptr},
                    {"HOME", home.path.string()}};
};

// The rotated key pairs the test S3 server accepts besides its own (scripts/with-s3).
std::vector<s3::Credentials> more_keys() {
    std::vector<s3::Credentials> pairs;
    const auto text = s3_env("REDSINK_TEST_S3_MORE_KEYS");
    for (std::size_t at = 0; at < text.size();) {
        auto end = text.find(',', at);
        if (end == std::string::npos) end = text.size();
        const auto pair = text.substr(at, end - at);
        const auto colon = pair.find(':');
        pairs.push_back({.access_key_id = pair.substr(0, colon), .secret_access_key = pair.substr(colon + 1)});
        at = end + 1;
    }
    REQUIRE(pairs.size() >= 3);
    return pairs;
}

std::string iso8601(std::chrono::system_clock::time_point t) {
    const auto seconds = std::chrono::floor<std::chrono::seconds>(t);
    const auto day = std::chrono::floor<std::chrono::days>(seconds);
    const std::chrono::year_month_day date(day);
    const std::chrono::hh_mm_ss clock(seconds - day);
    char text[32];
    std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(date.year()),
                  static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                  static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
                  static_cast<int>(clock.seconds().count()));
    return text;
}

std::string credentials_json(const s3::Credentials& c, std::chrono::system_clock::time_point expiration) {
    return R"({"Code":"Success","LastUpdated":"2026-12-02T10:00:00Z","Type":"AWS-HMAC","AccessKeyId":")" +
           c.access_key_id + R"(","SecretAccessKey":")" + c.secret_access_key + R"(","Token":")" + c.session_token +
           R"(","Expiration":")" + iso8601(expiration) + "\"}";
}

// IMDSv2 as EC2 serves it: a token for a PUT with its TTL header, the role, then its credentials
// (whatever `next` gives, each time), 401 without the token.
struct Imds {
    std::function<std::pair<s3::Credentials, std::chrono::system_clock::time_point>()> next;
    std::atomic<int> served{0};
    HttpStandIn server{[this](const HttpRequest& r) -> HttpReply {
        if (r.target == "/latest/api/token") {
            if (r.method != "PUT" || r.header("x-aws-ec2-metadata-token-ttl-seconds").empty()) return {400, "bad"};
            return {200, "imds-session-token-XYZ"};
        }
        if (r.header("x-aws-ec2-metadata-token") != "imds-session-token-XYZ") return {401, ""};
        if (r.target == "/latest/meta-data/iam/security-credentials/") return {200, "redsink-role\n"};
        if (r.target == "/latest/meta-data/iam/security-credentials/redsink-role") {
            const auto [credentials, expiration] = next();
            ++served;
            return {200, credentials_json(credentials, expiration)};
        }
        return {404, "not found"};
    }};
};

s3::ClientOptions options_without_credentials() {
    auto options = test_options();
    options.credentials.reset();
    return options;
}

// The access key ids that signed the requests whose URL holds `fragment`, each answered 200.
std::vector<std::string> signers(const std::string& fragment) {
    std::vector<std::string> keys;
    for (const auto& line : logged_requests(s3::request::uri_encode(fragment, true))) {
        CHECK_THAT(line, Catch::Contains("\"status\":200"));
        const auto at = line.find("\"access_key\":\"");
        REQUIRE(at != std::string::npos);
        const auto start = at + 14;
        keys.push_back(line.substr(start, line.find('"', start) - start));
    }
    return keys;
}

}  // namespace

TEST_CASE("the chain's order: environment, web identity, shared files, ECS, instance metadata", "[s3][credentials]") {
    const NoSources isolated;
    const auto keys = more_keys();
    Imds imds{.next = [&] { return std::pair{keys[0], std::chrono::system_clock::now() + 1h}; }};
    HttpStandIn ecs([&](const HttpRequest&) -> HttpReply {
        return {200, credentials_json(keys[1], std::chrono::system_clock::now() + 1h)};
    });
    HttpStandIn sts([&](const HttpRequest&) -> HttpReply {
        return {200,
                "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
                "<AccessKeyId>STSKEY</AccessKeyId><SecretAccessKey>sts-secret</SecretAccessKey>"
                "<SessionToken>sts-token</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration>"
                "</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>"};
    });
    const auto source_of = [] { return s3::default_credential_source("us-east-1"); };
    CHECK_THROWS_WITH(source_of(), Catch::Contains("no S3 credentials"));

    const Env imds_on("AWS_EC2_METADATA_DISABLED", "false");
    const Env imds_at("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.server.url());
    CHECK_THAT(source_of().name, Catch::StartsWith("EC2 instance metadata (" + imds.server.url()));
    CHECK(source_of().fetch().access_key_id == keys[0].access_key_id);

    const Env ecs_at("AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.url() + "/v2/credentials");
    CHECK_THAT(source_of().name, Catch::StartsWith("ECS container credentials"));
    CHECK(source_of().fetch().access_key_id == keys[1].access_key_id);

    const auto profile =
        isolated.home.write("credentials", "[default]\naws_access_key_id = PROFILEKEY\naws_secret_access_key = p-s\n");
    const Env files("AWS_SHARED_CREDENTIALS_FILE", profile);
    CHECK_THAT(source_of().name, Catch::StartsWith("profile 'default'"));
    CHECK(source_of().fetch().access_key_id == "PROFILEKEY");

    const Env token_file("AWS_WEB_IDENTITY_TOKEN_FILE", isolated.home.write("token", "eyJ-web-identity\n"));
    const Env role("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/redsink");
    const Env sts_at("AWS_ENDPOINT_URL_STS", sts.url());
    CHECK_THAT(source_of().name, Catch::StartsWith("web identity"));
    CHECK(source_of().fetch().access_key_id == "STSKEY");

    const Env id("AWS_ACCESS_KEY_ID", "ENVKEY");
    {
        // One of the pair set: the environment is the source, and the other missing an error.
        CHECK_THAT(source_of().name, Catch::StartsWith("the environment"));
        CHECK_THROWS_WITH(source_of().fetch(), Catch::Contains("AWS_SECRET_ACCESS_KEY"));
    }
    const Env secret("AWS_SECRET_ACCESS_KEY", "env-secret");
    CHECK(source_of().fetch().access_key_id == "ENVKEY");
}

TEST_CASE("EC2 instance metadata (IMDSv2): the session token, the role, its credentials signing S3 requests",
          "[s3][credentials]") {
    const NoSources isolated;
    const auto keys = more_keys();
    auto served = keys[2];
    served.session_token = "imds-session-credentials-token";
    Imds imds{.next = [&] { return std::pair{served, std::chrono::system_clock::now() + 6h}; }};
    const Env imds_on("AWS_EC2_METADATA_DISABLED", nullptr);
    const Env imds_at("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.server.url() + "/");
    s3::Client client(options_without_credentials());
    CHECK_THAT(client.credentials()->source(), Catch::Contains("EC2 instance metadata"));
    const auto key = unique_prefix("imds") + "object";
    client.put_object(key, "signed with the instance's keys");
    CHECK(client.get_object(key) == "signed with the instance's keys");
    CHECK(signers(key) == std::vector<std::string>{served.access_key_id, served.access_key_id});
    CHECK_THAT(logged_requests(s3::request::uri_encode(key, true)).front(),
               Catch::Contains(s3::request::sha256_hex(served.session_token)));
    const auto requests = imds.server.requests();
    REQUIRE(requests.size() == 3);
    CHECK(requests[0].method == "PUT");
    CHECK(requests[0].header("x-aws-ec2-metadata-token-ttl-seconds") == "21600");
    CHECK(imds.served == 1);  // fetched once: six hours to go
}

TEST_CASE("ECS container credentials: the Authorization header from the token or its file; hosts allowed",
          "[s3][credentials]") {
    const NoSources isolated;
    const auto keys = more_keys();
    HttpStandIn ecs([&](const HttpRequest& r) -> HttpReply {
        if (r.target != "/creds?id=7") return {404, R"({"code":"NotFound","message":"no such path"})"};
        if (r.header("authorization") != "Bearer ecs-auth-token-123")
            return {401, R"({"code":"AccessDenied","message":"wrong authorization"})"};
        return {200, credentials_json(keys[3], std::chrono::system_clock::now() + 1h)};
    });
    const Env uri("AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.url() + "/creds?id=7");
    {
        const Env token("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer ecs-auth-token-123");
        s3::Client client(options_without_credentials());
        const auto key = unique_prefix("ecs") + "object";
        client.put_object(key, "from the container");
        CHECK(signers(key) == std::vector<std::string>{keys[3].access_key_id});
    }
    {
        // The file wins over the variable, and is read at each fetch.
        const Env token("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer stale");
        const Env file("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                       isolated.home.write("ecs-token", "Bearer ecs-auth-token-123\n"));
        CHECK(s3::default_credential_source("us-east-1").fetch().access_key_id == keys[3].access_key_id);
    }
    {
        // A wrong token: 401, named, and the token not shown.
        const Env token("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer wrong-token-never-shown");
        try {
            s3::Client client(options_without_credentials());
            FAIL("the client started");
        } catch (const s3::Error& e) {
            CHECK_THAT(e.what(), Catch::Contains("ECS container credentials (" + ecs.url()) &&
                                     Catch::Contains("HTTP 401") && Catch::Contains("wrong authorization"));
            check_no_secret(e, {"wrong-token-never-shown"});
        }
    }
    // A full URI may only be https, loopback or the container endpoints' own addresses.
    for (const char* refused : {"http://example.com/creds", "http://169.254.169.254/x", "http://10.0.0.1/",
                                "http://127.0.0.1.evil.example/", "http://user@127.0.0.1/"}) {
        const Env bad("AWS_CONTAINER_CREDENTIALS_FULL_URI", refused);
        CHECK_THROWS_WITH(s3::default_credential_source("us-east-1"),
                          Catch::Contains("AWS_CONTAINER_CREDENTIALS_FULL_URI must be https"));
    }
    for (const char* allowed : {"https://creds.example.com/x", "http://127.0.0.1:51679/x", "http://localhost/x",
                                "http://169.254.170.23/v1/credentials", "http://[::1]:80/x"}) {
        const Env good("AWS_CONTAINER_CREDENTIALS_FULL_URI", allowed);
        CHECK(s3::container_endpoint_from_env()->url == allowed);
    }
    // ECS's own variable: a path on 169.254.170.2, ahead of the full URI.
    const Env relative("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc");
    CHECK(s3::container_endpoint_from_env()->url == "http://169.254.170.2/v2/credentials/abc");
}

TEST_CASE("web identity: the token file exchanged with STS AssumeRoleWithWebIdentity", "[s3][credentials]") {
    const NoSources isolated;
    const auto keys = more_keys();
    std::string expected_token = "eyJhbGciOiJSUzI1NiJ9.web-identity-token";
    HttpStandIn sts([&](const HttpRequest& r) -> HttpReply {
        if (r.body.find("WebIdentityToken=" + s3::request::uri_encode(expected_token, false)) == std::string::npos)
            return {400,
                    "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>"
                    "<Code>InvalidIdentityToken</Code><Message>Couldn't retrieve verification key from your identity "
                    "provider</Message></Error><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>"
                    "</ErrorResponse>"};
        return {200,
                "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                "<AssumeRoleWithWebIdentityResult><SubjectFromWebIdentityToken>system:serviceaccount:x</"
                "SubjectFromWebIdentityToken><Credentials><SessionToken>sts-session-token</SessionToken>"
                "<SecretAccessKey>" +
                    keys[0].secret_access_key + "</SecretAccessKey><Expiration>" +
                    iso8601(std::chrono::system_clock::now() + 1h) + "</Expiration><AccessKeyId>" +
                    keys[0].access_key_id +
                    "</AccessKeyId></Credentials></AssumeRoleWithWebIdentityResult>"
                    "<ResponseMetadata><RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId>"
                    "</ResponseMetadata></AssumeRoleWithWebIdentityResponse>"};
    });
    const auto token_path = isolated.home.write("token", expected_token + "\n");
    const Env file("AWS_WEB_IDENTITY_TOKEN_FILE", token_path);
    const Env role("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/redsink-eks");
    const Env session("AWS_ROLE_SESSION_NAME", "redsink-test");
    const Env endpoint("AWS_ENDPOINT_URL_STS", sts.url());
    s3::Client client(options_without_credentials());
    const auto key = unique_prefix("web-identity") + "object";
    client.put_object(key, "from STS");
    CHECK(signers(key) == std::vector<std::string>{keys[0].access_key_id});
    const auto requests = sts.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].method == "POST");
    CHECK(requests[0].target == "/");  // the token travels in the body, never in the URL
    CHECK_THAT(requests[0].body,
               Catch::Contains("Action=AssumeRoleWithWebIdentity") &&
                   Catch::Contains("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fredsink-eks") &&
                   Catch::Contains("RoleSessionName=redsink-test") && Catch::Contains("Version=2011-06-15"));

    // STS refuses the token: its Code and Message, the source named, the token not shown.
    expected_token = "another-token";
    try {
        s3::Client refused(options_without_credentials());
        FAIL("the client started");
    } catch (const s3::Error& e) {
        CHECK_THAT(e.what(),
                   Catch::Contains("credentials from web identity (STS AssumeRoleWithWebIdentity at " + sts.url()) &&
                       Catch::Contains("HTTP 400 InvalidIdentityToken: Couldn't retrieve"));
        CHECK(e.code() == "InvalidIdentityToken");
        check_no_secret(e, {"eyJhbGciOiJSUzI1NiJ9"});
    }
    // Half the pair: an error, not another source.
    const Env no_role("AWS_ROLE_ARN", nullptr);
    CHECK_THROWS_WITH(s3::default_credential_source("us-east-1"),
                      Catch::Contains("need both AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN"));
}

TEST_CASE("the shared files: profiles, [profile x] in config, session tokens, what is not supported",
          "[s3][credentials]") {
    const NoSources isolated;
    const auto keys = more_keys();
    const auto credentials = isolated.home.write("credentials",
                                                 "# a comment\n"
                                                 "[default]\n"
                                                 "aws_access_key_id = DEFAULTKEY\n"
                                                 "aws_secret_access_key = default-secret\n"
                                                 "\n"
                                                 "[work]\n"
                                                 "aws_access_key_id=" +
                                                     keys[1].access_key_id +
                                                     "\n"
                                                     "aws_secret_access_key=" +
                                                     keys[1].secret_access_key +
                                                     "  ; inline comment\n"
                                                     "aws_session_token = work-session-token\n");
    const auto config = isolated.home.write("config",
                                            "[default]\n"
                                            "region = eu-west-1\n"
                                            "[profile cfg]\n"
                                            "aws_access_key_id = CFGKEY\n"
                                            "aws_secret_access_key = cfg-secret\n"
                                            "s3 =\n"
                                            "  max_concurrent_requests = 4\n"
                                            "[profile assume]\n"
                                            "role_arn = arn:aws:iam::123456789012:role/x\n"
                                            "source_profile = default\n"
                                            "[profile sso]\n"
                                            "sso_session = corp\n"
                                            "[work]\n"
                                            "aws_access_key_id = NOT-A-PROFILE-IN-CONFIG\n");
    const Env credentials_file("AWS_SHARED_CREDENTIALS_FILE", credentials);
    const Env config_file("AWS_CONFIG_FILE", config);
    const auto fetch = [] { return s3::default_credential_source("us-east-1").fetch(); };
    CHECK(fetch().access_key_id == "DEFAULTKEY");
    {
        const Env profile("AWS_PROFILE", "work");
        const auto work = fetch();
        CHECK(work.access_key_id == keys[1].access_key_id);
        CHECK(work.secret_access_key == keys[1].secret_access_key);
        CHECK(work.session_token == "work-session-token");
        CHECK_FALSE(work.expiration);
        s3::Client client(options_without_credentials());
        const auto key = unique_prefix("profile") + "object";
        client.put_object(key, "from the profile");
        CHECK(signers(key) == std::vector<std::string>{keys[1].access_key_id});
    }
    {
        const Env profile("AWS_PROFILE", "cfg");
        CHECK(fetch().access_key_id == "CFGKEY");
    }
    for (const auto& [name, what] : {std::pair{"assume", "role_arn"}, std::pair{"sso", "sso_session"}}) {
        const Env profile("AWS_PROFILE", name);
        CHECK_THROWS_WITH(fetch(),
                          Catch::Contains(std::string("profile '") + name + "'") &&
                              Catch::Contains(std::string("uses ") + what + ", which redsink does not support"));
    }
    {
        const Env profile("AWS_PROFILE", "missing");
        CHECK_THROWS_WITH(s3::default_credential_source("us-east-1"),
                          Catch::Contains("AWS_PROFILE is 'missing'") && Catch::Contains(credentials));
    }
    // ~/.aws by default.
    const Env no_credentials_file("AWS_SHARED_CREDENTIALS_FILE", nullptr);
    const Env no_config_file("AWS_CONFIG_FILE", nullptr);
    std::filesystem::create_directories(isolated.home.path / ".aws");
    (void)isolated.home.write(".aws/credentials",
                              "[default]\naws_access_key_id = HOMEKEY\naws_secret_access_key = h\n");
    CHECK(fetch().access_key_id == "HOMEKEY");
}

TEST_CASE("credentials that expire in seconds: new ones fetched before they lapse, while three threads sign",
          "[s3][credentials]") {
    const NoSources isolated;
    const auto keys = more_keys();
    // Each fetch a new key pair (the server's rotated pairs in turn), valid for 4 seconds.
    std::mutex mutex;
    std::vector<std::pair<std::string, std::chrono::system_clock::time_point>> issued;
    Imds imds{.next = [&] {
        const std::lock_guard lock(mutex);
        auto credentials = keys[issued.size() % keys.size()];
        credentials.session_token = "token-" + std::to_string(issued.size());
        const auto expiration = std::chrono::system_clock::now() + 4s;
        issued.emplace_back(credentials.access_key_id, std::chrono::floor<std::chrono::seconds>(expiration));
        return std::pair{credentials, expiration};
    }};
    const Env imds_on("AWS_EC2_METADATA_DISABLED", nullptr);
    const Env imds_at("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.server.url());
    const auto options = options_without_credentials();
    s3::Client first(options);
    const auto shared = first.credentials();
    const auto prefix = unique_prefix("rotation");
    std::atomic<int> failures{0};
    std::atomic<int> puts{0};
    std::vector<std::thread> threads;
    const auto until = std::chrono::steady_clock::now() + 9s;
    for (int t = 0; t < 3; ++t)
        threads.emplace_back([&, t] {
            s3::Client client(options, shared);  // one client per thread, the credentials shared
            for (int i = 0; std::chrono::steady_clock::now() < until; ++i) {
                try {
                    client.put_object(prefix + "t" + std::to_string(t) + "-" + std::to_string(i), "x");
                    ++puts;
                } catch (const std::exception&) {
                    ++failures;
                }
                std::this_thread::sleep_for(50ms);
            }
        });
    for (auto& thread : threads) thread.join();
    CHECK(failures == 0);
    CHECK(puts > 30);
    // Fetched at half their life (2 s), by one thread at a time: some 4 or 5 sets in 9 seconds.
    CHECK(shared->fetches() >= 3);
    CHECK(shared->fetches() <= 9);
    const auto requests = imds.server.requests();
    std::vector<std::chrono::system_clock::time_point> fetched;
    for (const auto& r : requests)
        if (r.target.ends_with("/redsink-role")) fetched.push_back(r.received);
    REQUIRE(fetched.size() == issued.size());
    for (std::size_t i = 1; i < fetched.size(); ++i) {
        INFO("set " << i);
        CHECK(fetched[i] < issued[i - 1].second);  // the next set came before the last lapsed
    }
    // Every request signed and accepted, by several of the sets.
    const auto signed_by = signers(prefix);
    CHECK(signed_by.size() == static_cast<std::size_t>(puts.load()));
    const std::set<std::string> distinct(signed_by.begin(), signed_by.end());
    CHECK(distinct.size() >= 3);
}

TEST_CASE("S3 says ExpiredToken: the credentials fetched again and the request retried", "[s3][credentials]") {
    // An S3 stand-in that takes only the second key pair.
    HttpStandIn fake_s3([](const HttpRequest& r) -> HttpReply {
        if (r.header("authorization").find("Credential=SECONDKEY/") != std::string::npos) return {200, ""};
        return {400,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>ExpiredToken</Code><Message>The provided "
                "token has expired.</Message><RequestId>R1</RequestId></Error>"};
    });
    std::atomic<int> calls{0};
    auto options = test_options();
    options.endpoint = fake_s3.url();
    options.credentials.reset();
    options.credentials_provider = [&] {
        return ++calls == 1 ? s3::Credentials{.access_key_id = "FIRSTKEY",
                                              .secret_access_key = "first-secret",
                                              .session_token = "first-token"}
                            : s3::Credentials{.access_key_id = "SECONDKEY",
                                              .secret_access_key = "second-secret",
                                              .session_token = "second-token"};
    };
    s3::Client client(options);
    client.put_object("k", "v");
    CHECK(calls == 2);
    CHECK(fake_s3.requests().size() == 2);

    // Fixed keys cannot be fetched again: the error, at once, no secret in it.
    options.credentials_provider = {};
    options.credentials = s3::Credentials{.access_key_id = "FIRSTKEY", .secret_access_key = "first-secret"};
    s3::Client fixed(options);
    try {
        fixed.put_object("k", "v");
        FAIL("the request succeeded");
    } catch (const s3::Error& e) {
        CHECK(e.code() == "ExpiredToken");
        CHECK(e.attempts() == 1);
        check_no_secret(e, {"first-secret"});
    }
}

TEST_CASE("a source that fails: the error names it and holds no secret; a refresh that fails is tried again",
          "[s3][credentials]") {
    const NoSources isolated;
    auto options = options_without_credentials();
    // The user's provider.
    options.credentials_provider = []() -> s3::Credentials { throw std::runtime_error("vault is sealed"); };
    CHECK_THROWS_WITH(s3::Client(options), Catch::Contains("credentials from ClientOptions::credentials_provider") &&
                                               Catch::Contains("vault is sealed"));
    options.credentials_provider = [] { return s3::Credentials{.access_key_id = "AKID"}; };
    CHECK_THROWS_WITH(s3::Client(options), Catch::Contains("an empty access key id or secret"));
    options.credentials_provider = {};

    // Instance metadata that answers 500, then a body that is not JSON but holds a secret.
    std::atomic<int> mode{0};
    HttpStandIn imds([&](const HttpRequest& r) -> HttpReply {
        if (r.target == "/latest/api/token") return {200, "imds-token-abc"};
        if (mode == 0) return {500, "internal trouble"};
        if (r.target.ends_with("/")) return {200, "role"};
        return {200, R"({"AccessKeyId":"AKID","SecretAccessKey":"leaked-secret-value" oops})"};
    });
    const Env imds_on("AWS_EC2_METADATA_DISABLED", nullptr);
    const Env imds_at("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url());
    try {
        s3::Client client(options);
        FAIL("the client started");
    } catch (const s3::Error& e) {
        CHECK_THAT(e.what(), Catch::Contains("S3 credentials from EC2 instance metadata (" + imds.url() + ")") &&
                                 Catch::Contains("HTTP 500") && Catch::Contains("(after 3 attempts)"));
        CHECK(e.retryable());  // a sink tries the batch again
    }
    mode = 1;
    try {
        s3::Client client(options);
        FAIL("the client started");
    } catch (const s3::Error& e) {
        CHECK_THAT(e.what(), Catch::Contains("EC2 instance metadata") && Catch::Contains("not a flat JSON object"));
        check_no_secret(e, {"leaked-secret-value"});
    }
    // Nothing listens: a connection error, named.
    const Env nowhere("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9");
    CHECK_THROWS_WITH(s3::Client(options), Catch::Contains("EC2 instance metadata (http://127.0.0.1:9)") &&
                                               Catch::Contains("COULDNT_CONNECT"));

    // A refresh that fails while the credentials are valid: they serve on; once expired, the error.
    std::atomic<int> fetches{0};
    s3::CredentialsCache cache("a test source", [&] {
        if (++fetches > 1) throw std::runtime_error("the source is down");
        return s3::Credentials{
            .access_key_id = "A", .secret_access_key = "s", .expiration = std::chrono::system_clock::now() + 2s};
    });
    CHECK(cache.get().access_key_id == "A");
    std::this_thread::sleep_for(1200ms);  // past half their life: refreshed, which fails
    CHECK(cache.get().access_key_id == "A");
    CHECK(fetches == 2);
    std::this_thread::sleep_for(1000ms);
    CHECK_THROWS_WITH(cache.get(),
                      Catch::Contains("S3 credentials from a test source") && Catch::Contains("the source is down"));
}

TEST_CASE("the region: letters, digits and hyphens only", "[s3][credentials]") {
    const s3::Credentials keys{.access_key_id = "AKID", .secret_access_key = "secret"};
    CHECK_NOTHROW(s3::Client({.bucket = "b", .region = "us-gov-west-1", .credentials = keys}));
    for (const char* bad : {"eu-west-1' IAM_ROLE 'x", "eu west", "eu-west-1;", "eu/west", "région"})
        CHECK_THROWS_WITH(s3::Client({.bucket = "b", .region = bad, .credentials = keys}),
                          Catch::Contains("ClientOptions::region '" + std::string(bad) +
                                          "' is not a region name: letters, digits and hyphens only"));
    const Env region("AWS_REGION", "us-east-1'--");
    CHECK_THROWS_WITH(s3::Client({.bucket = "b", .credentials = keys}),
                      Catch::Contains("AWS_REGION 'us-east-1'--' is not a region name"));
}

TEST_CASE("COPY with keys from a provider that rotates: no secret in the trace or the error", "[s3_copy]") {
    const auto keys = more_keys();
    std::atomic<int> calls{0};
    auto copy_options = std::make_shared<s3::CopyOptions>();
    copy_options->client = test_options();
    copy_options->client.credentials.reset();
    copy_options->client.credentials_provider = [&] {
        auto credentials = keys[static_cast<std::size_t>(calls++) % keys.size()];
        credentials.session_token = "copy-session-token-" + std::to_string(calls.load());
        credentials.expiration = std::chrono::system_clock::now() + 1h;
        return credentials;
    };
    copy_options->prefix = unique_prefix("copy-keys");
    s3::CopySession session(copy_options, copy_options->prefix + "run/", 0);
    redsink::ParamBuffer params;
    params.push("1");
    params.push_null();
    const std::uint32_t events[] = {0};
    const char ops[] = {'i'};
    session.stage(redsink::BulkRows(params, 2, events, ops, true));

    redsink::pq::Connection conn(redsink_test::test_config());
    std::vector<std::string> traced;
    conn.set_trace([&](redsink::pq::TracePoint, std::string_view sql) { traced.emplace_back(sql); });
    const std::vector<std::string> columns = {R"("id")", R"("maybe")"};
    // PostgreSQL refuses Redshift's COPY: the error that comes back carries the statement's context.
    try {
        (void)session.copy(conn, {.table = R"("no_such_stage")", .columns = columns});
        FAIL("the COPY succeeded");
    } catch (const redsink::Error& e) {
        for (const auto& k : keys) check_no_secret(e, {k.secret_access_key});
        check_no_secret(e, {"copy-session-token-1"});
    }
    REQUIRE_FALSE(traced.empty());
    bool copy_traced = false;
    for (const auto& sql : traced) {
        for (const auto& k : keys) CHECK_THAT(sql, !Catch::Contains(k.secret_access_key));
        CHECK_THAT(sql, !Catch::Contains("copy-session-token"));
        if (sql.starts_with("COPY ")) {
            copy_traced = true;
            CHECK_THAT(sql, Catch::Contains("ACCESS_KEY_ID '" + keys[0].access_key_id +
                                            "' SECRET_ACCESS_KEY '<redacted>' SESSION_TOKEN '<redacted>'"));
        }
    }
    CHECK(copy_traced);
    session.discard();
}
