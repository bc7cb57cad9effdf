// The malformed-input corpus (malformed/*.txt): every case ends in a DecodeError that names the
// topic, partition, offset and field, with the fragment the case expects.
#include <debezium/support.hpp>

#include <redsink/debezium.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

using namespace redsink_test::dbz;

namespace {

template <class Record>
std::string decode_error(const StoredMessage& message) {
    redsink::debezium::Decoder<Record> decoder;
    try {
        const auto decoded = decoder.decode(message.message());
        return "decoded as " + std::string(redsink::to_string(decoded.change.op));
    } catch (const redsink::debezium::DecodeError& error) {
        CHECK(error.topic() == message.topic);
        CHECK(error.position() == redsink::Position{message.partition, message.offset});
        return error.what();
    }
}

std::string comment(const StoredMessage& message, const std::string& label) {
    for (const auto& line : message.comments)
        if (line.rfind("# " + label + ": ", 0) == 0) return line.substr(label.size() + 4);
    FAIL("no '# " << label << ":' line");
    return {};
}

}  // namespace

TEST_CASE("every malformed message ends in a DecodeError naming its place and field", "[debezium]") {
    std::vector<std::filesystem::path> cases;
    for (const auto& entry : std::filesystem::directory_iterator(fixture_path("malformed")))
        if (entry.path().extension() == ".txt") cases.push_back(entry.path());
    std::sort(cases.begin(), cases.end());
    REQUIRE(cases.size() >= 50);
    for (const auto& path : cases) {
        const auto messages = read_messages(path.string(), "inventory." + path.stem().string());
        REQUIRE(messages.size() == 1);
        const auto& message = messages[0];
        const auto record = comment(message, "record");
        const auto error = record == "kinds" ? decode_error<Kinds>(message) : decode_error<Customer>(message);
        INFO(path.filename().string() << ": " << error);
        CHECK_THAT(error, Catch::Contains(comment(message, "expect")));
        CHECK_THAT(error, Catch::StartsWith("cannot decode the message at topic inventory." + path.stem().string() +
                                            ", partition 3, offset " + std::to_string(message.offset) + ", field "));
    }
}
