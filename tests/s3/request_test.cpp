// The S3 client's pure parts: addressing, digests, the XML reader, retry decisions, messages.
#include <redsink/s3.hpp>
#include <redsink/sink_options.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <string>

namespace s3 = redsink::s3;
using namespace std::chrono_literals;

TEST_CASE("keys are URI-encoded as SigV4 canonicalizes them", "[s3][request]") {
    using s3::request::uri_encode;
    CHECK(uri_encode("AZaz09-_.~", true) == "AZaz09-_.~");
    CHECK(uri_encode("a b+c=d/e", true) == "a%20b%2Bc%3Dd/e");
    CHECK(uri_encode("a b+c=d/e", false) == "a%20b%2Bc%3Dd%2Fe");
    CHECK(uri_encode("\xC3\xA9\xE2\x82\xAC", true) == "%C3%A9%E2%82%AC");  // é€
    CHECK(uri_encode("!*'()&$@:;,?#[]%", true) == "%21%2A%27%28%29%26%24%40%3A%3B%2C%3F%23%5B%5D%25");
    CHECK(uri_encode(std::string("\0\x7f", 2), true) == "%00%7F");
}

TEST_CASE("the query is written in canonical form", "[s3][request]") {
    using s3::request::canonical_query;
    CHECK(canonical_query({{"prefix", "a b/"}, {"list-type", "2"}, {"continuation-token", "x+y=="}}) ==
          "continuation-token=x%2By%3D%3D&list-type=2&prefix=a%20b%2F");
    CHECK(canonical_query({{"delete", ""}}) == "delete=");
    CHECK(canonical_query({}).empty());
}

TEST_CASE("object URLs, path-style and virtual-hosted", "[s3][request]") {
    using s3::request::parse_endpoint;
    using s3::request::url;
    const auto local = parse_endpoint("http://127.0.0.1:4568/");
    CHECK(local.scheme == "http");
    CHECK(local.authority == "127.0.0.1:4568");
    CHECK(url(local, true, "b", "x y/z") == "http://127.0.0.1:4568/b/x%20y/z");
    CHECK(url(local, true, "b", "", {{"list-type", "2"}}) == "http://127.0.0.1:4568/b?list-type=2");
    const auto aws = parse_endpoint("https://s3.eu-west-1.amazonaws.com");
    CHECK(url(aws, false, "loads", "a/b+c") == "https://loads.s3.eu-west-1.amazonaws.com/a/b%2Bc");
    CHECK(url(aws, false, "loads", "", {{"delete", ""}}) == "https://loads.s3.eu-west-1.amazonaws.com/?delete=");
    CHECK_THROWS_AS(parse_endpoint("127.0.0.1:4568"), std::invalid_argument);
    CHECK_THROWS_AS(parse_endpoint("ftp://host"), std::invalid_argument);
    CHECK_THROWS_AS(parse_endpoint("https://host/path"), std::invalid_argument);
    CHECK_THROWS_AS(parse_endpoint("https://user:pw@host"), std::invalid_argument);
}

TEST_CASE("payload digests", "[s3][request]") {
    using namespace s3::request;
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(md5_base64("") == "1B2M2Y8AsgTpgAmY7PhCfg==");
    CHECK(md5_base64("The quick brown fox jumps over the lazy dog") == "nhB9nTcrtoJr2B01QqQZ1g==");
    CHECK(base64("") == "");
    CHECK(base64("f") == "Zg==");
    CHECK(base64("fo") == "Zm8=");
    CHECK(base64("foo") == "Zm9v");
    CHECK(base64("foob") == "Zm9vYg==");
    CHECK(base64(std::string("\xff\xfe\x00", 3)) == "//4A");
}

TEST_CASE("the XML reader decodes entities and finds elements", "[s3][xml]") {
    const auto doc = s3::xml::parse(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- c -->"
        "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Name>b</Name><IsTruncated>true</IsTruncated>"
        "<Contents><Key>a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#x27;&#96;&#233;&#x20AC;&#x1F600;</Key>"
        "<Size>12</Size></Contents>"
        "<Contents><Key><![CDATA[x<y]]></Key><s3:Size xmlns:s3=\"u\">0</s3:Size></Contents><Empty/>"
        "</ListBucketResult>");
    CHECK(doc.name == "ListBucketResult");
    CHECK(doc.child_text("IsTruncated") == "true");
    REQUIRE(doc.children.size() == 5);
    CHECK(doc.children[2].child_text("Key") == "a & b <c> \"d\" 'e' '`\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
    CHECK(doc.children[2].child_text("Size") == "12");
    CHECK(doc.children[3].child_text("Key") == "x<y");
    CHECK(doc.children[3].child_text("Size") == "0");
    CHECK(doc.child("Empty") != nullptr);
    CHECK(doc.child("Missing") == nullptr);
    CHECK(doc.child_text("Missing").empty());
}

TEST_CASE("the XML reader refuses what it cannot read", "[s3][xml]") {
    using s3::xml::parse;
    using s3::xml::ParseError;
    CHECK_THROWS_AS(parse(""), ParseError);
    CHECK_THROWS_AS(parse("not xml"), ParseError);
    CHECK_THROWS_AS(parse("<a><b></a>"), ParseError);
    CHECK_THROWS_AS(parse("<a>x"), ParseError);
    CHECK_THROWS_AS(parse("<a>&bogus;</a>"), ParseError);
    CHECK_THROWS_AS(parse("<a>&#0;</a>"), ParseError);
    CHECK_THROWS_AS(parse("<a>&#xD800;</a>"), ParseError);
    CHECK_THROWS_AS(parse("<a>&#x110000;</a>"), ParseError);
    CHECK_THROWS_AS(parse("<a>&amp</a>"), ParseError);
    CHECK_THROWS_AS(parse("<a></a><b></b>"), ParseError);
    CHECK_THROWS_AS(parse("<a x=1></a>"), ParseError);
    std::string deep;
    for (int i = 0; i < 100; ++i) deep += "<a>";
    CHECK_THROWS_AS(parse(deep), ParseError);
}

TEST_CASE("escaped text reads back as it was", "[s3][xml]") {
    const std::string text = "k&<>\"'/\xC3\xA9 x";
    CHECK(s3::xml::escape(text) == "k&amp;&lt;&gt;&quot;&apos;/\xC3\xA9 x");
    CHECK(s3::xml::parse("<Key>" + s3::xml::escape(text) + "</Key>").text == text);
}

TEST_CASE("what is retried: 5xx, throttling, connection errors; never 403 or 404", "[s3][retry]") {
    using s3::retry::retryable_status;
    using s3::retry::retryable_transport;
    CHECK(retryable_status(500, "InternalError"));
    CHECK(retryable_status(503, "SlowDown"));
    CHECK(retryable_status(502, ""));
    CHECK(retryable_status(429, ""));
    CHECK(retryable_status(400, "RequestTimeout"));
    CHECK_FALSE(retryable_status(403, "AccessDenied"));
    CHECK_FALSE(retryable_status(403, "SignatureDoesNotMatch"));
    CHECK_FALSE(retryable_status(404, "NoSuchKey"));
    CHECK_FALSE(retryable_status(404, "NoSuchBucket"));
    CHECK_FALSE(retryable_status(400, "InvalidArgument"));
    CHECK_FALSE(retryable_status(301, "PermanentRedirect"));
    CHECK(retryable_transport(CURLE_COULDNT_CONNECT));
    CHECK(retryable_transport(CURLE_OPERATION_TIMEDOUT));
    CHECK(retryable_transport(CURLE_GOT_NOTHING));
    CHECK_FALSE(retryable_transport(CURLE_PEER_FAILED_VERIFICATION));
    CHECK_FALSE(retryable_transport(CURLE_ABORTED_BY_CALLBACK));
}

TEST_CASE("the client's retry options: SinkOptions' names and meanings, S3's defaults", "[s3][retry]") {
    // The delay's bounds (formerly s3::retry::backoff's) are the engine's: tests/unit/retry_test.cpp.
    const s3::ClientOptions defaults;
    CHECK(defaults.max_attempts == 6);
    CHECK(defaults.retry_budget == 300s);
    CHECK(defaults.retry_backoff == 200ms);
    CHECK(defaults.retry_backoff_max == 10s);
    CHECK_FALSE(defaults.stop.stop_possible());
    const redsink::SinkOptions sink;
    CHECK(sink.retry_budget == defaults.retry_budget);
}

TEST_CASE("an S3 error names the operation, bucket, key, status and S3's code", "[s3][error]") {
    const s3::Error e(s3::Failure{.operation = "GET object",
                                  .bucket = "loads",
                                  .key = "batch/1.gz",
                                  .http_status = 404,
                                  .code = "NoSuchKey",
                                  .message = "The specified key does not exist.",
                                  .request_id = "R1",
                                  .attempts = 1});
    CHECK(std::string(e.what()) ==
          "S3 GET object s3://loads/batch/1.gz: HTTP 404 NoSuchKey: The specified key does not exist. [request id R1]");
    CHECK(e.kind() == redsink::ErrorKind::other);
    CHECK_FALSE(e.retryable());
    CHECK(e.http_status() == 404);
    CHECK(e.code() == "NoSuchKey");
    const s3::Error t(s3::Failure{.operation = "PUT object",
                                  .bucket = "b",
                                  .key = "k",
                                  .code = "COULDNT_CONNECT",
                                  .message = "Failed to connect",
                                  .attempts = 4,
                                  .retryable = true});
    CHECK(std::string(t.what()) == "S3 PUT object s3://b/k: COULDNT_CONNECT: Failed to connect (after 4 attempts)");
    CHECK(t.kind() == redsink::ErrorKind::transient);
    const redsink::Error& base = t;  // the sink's error handling sees it as one of its own
    CHECK(base.retryable());
}

TEST_CASE("a client refuses incomplete options, without naming a secret", "[s3][options]") {
    const s3::Credentials credentials{.access_key_id = "AKID", .secret_access_key = "do-not-print-me"};
    const auto what = [](auto&& make) -> std::string {
        try {
            make();
        } catch (const s3::Error& e) {
            return e.what();
        }
        return "(no error)";
    };
    CHECK_THAT(what([&] { s3::Client({.region = "r", .credentials = credentials}); }),
               Catch::Contains("bucket is empty"));
    CHECK_THAT(what([&] {
                   s3::Client({.bucket = "b", .region = "r", .endpoint = "localhost:1", .credentials = credentials});
               }),
               Catch::Contains("needs a scheme"));
    CHECK_THAT(
        what([&] { s3::Client({.bucket = "b", .region = "r", .credentials = credentials, .max_attempts = -1}); }),
        Catch::Contains("max_attempts must be 0 (no limit) or more"));
    CHECK_NOTHROW(s3::Client({.bucket = "b", .region = "r", .credentials = credentials, .max_attempts = 0}));
    CHECK_THAT(
        what([&] { s3::Client({.bucket = "b", .region = "r", .credentials = credentials, .retry_budget = -1ms}); }),
        Catch::Contains("retry_budget, retry_backoff and retry_backoff_max cannot be negative"));
    CHECK_THAT(what([&] {
                   s3::Client({.bucket = "b", .region = "r", .credentials = credentials, .retry_backoff_max = -1ms});
               }),
               Catch::Contains("cannot be negative"));
    CHECK_THAT(
        what([&] { s3::Client({.bucket = "b", .region = "r", .credentials = credentials, .list_page_size = 1001}); }),
        Catch::Contains("list_page_size"));
    const auto missing_secret = what(
        [&] { s3::Client({.bucket = "b", .region = "r", .credentials = s3::Credentials{.access_key_id = "AKID"}}); });
    CHECK_THAT(missing_secret, Catch::Contains("empty access key id or secret"));
    // The default endpoint is AWS's, for the region.
    const s3::Client aws({.bucket = "b", .region = "eu-west-1", .credentials = credentials});
    CHECK(aws.endpoint() == "https://s3.eu-west-1.amazonaws.com");
    CHECK(aws.region() == "eu-west-1");
}
