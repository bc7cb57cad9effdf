// What Kafka's JSON converter writes, read as written: its type names, decimals of any precision,
// names given twice, the message key against the row, and schemas recognised by their text.
#include <debezium/support.hpp>

#include <redsink/debezium.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace redsink_test::dbz;
using redsink::Op;
using redsink::debezium::DecodeError;
using redsink::debezium::Decoder;

namespace {

struct Wide {
    BOOST_HANA_DEFINE_STRUCT(Wide, (std::int64_t, id), (redsink::decimal<38, 2>, price), (std::string, exact),
                             (std::optional<double>, ratio), (std::optional<float>, ratio32));
};

std::string field(const std::string& name, const std::string& type, const std::string& more = "") {
    return R"({"type":")" + type + R"(","optional":)" + (name == "id" ? "false" : "true") + more + R"(,"field":")" +
           name + R"("})";
}

// A converter envelope as Kafka writes it: compact, the schema first.
std::string envelope(const std::string& fields, const std::string& after) {
    const std::string row =
        R"({"type":"struct","fields":[)" + fields + R"(],"optional":true,"name":"t.Value","field":")";
    return R"({"schema":{"type":"struct","fields":[)" + row + R"(before"},)" + row +
           R"(after"},{"type":"string","optional":false,"field":"op"}],"optional":false,"name":"t.Envelope"},)" +
           R"("payload":{"before":null,"after":)" + after + R"(,"op":"c"}})";
}

const std::string key_schema =
    R"({"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"}],)"
    R"("optional":false,"name":"t.Key"},"payload":{"id":)";

std::string key_of(int id) {
    return key_schema + std::to_string(id) + "}}";
}

// Kafka Connect's Decimal of `digits` nines, scale 2, as base64 of its two's complement.
std::string nines_base64(int digits) {
    // (10^digits - 1) in big-endian bytes, computed by repeated multiplication.
    std::vector<unsigned> bytes{0};
    for (int d = 0; d < digits; ++d) {
        unsigned carry = 9;
        for (auto it = bytes.rbegin(); it != bytes.rend(); ++it) {
            const unsigned value = *it * 10 + carry;
            *it = value & 0xFF;
            carry = value >> 8;
        }
        while (carry != 0) {
            bytes.insert(bytes.begin(), carry & 0xFF);
            carry >>= 8;
        }
    }
    if (bytes.front() & 0x80) bytes.insert(bytes.begin(), 0);
    static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        const unsigned a = bytes[i], b = i + 1 < bytes.size() ? bytes[i + 1] : 0,
                       c = i + 2 < bytes.size() ? bytes[i + 2] : 0;
        const unsigned word = a << 16 | b << 8 | c;
        out += alphabet[word >> 18 & 63];
        out += alphabet[word >> 12 & 63];
        out += i + 1 < bytes.size() ? alphabet[word >> 6 & 63] : '=';
        out += i + 2 < bytes.size() ? alphabet[word & 63] : '=';
    }
    return out;
}

const std::string decimal_65 = R"(,"name":"org.apache.kafka.connect.data.Decimal","version":1,)"
                               R"("parameters":{"scale":"2","connect.decimal.precision":"65"})";
const std::string wide_fields = field("id", "int64") + "," + field("price", "bytes", decimal_65) + "," +
                                field("exact", "bytes", decimal_65) + "," + field("ratio", "double") + "," +
                                field("ratio32", "float");

redsink::debezium::Message message(const std::string& key, const std::string& value) {
    return {"t", 0, 0, std::string_view(key), std::string_view(value)};
}

}  // namespace

TEST_CASE("Kafka's type names: double and float are read, float64 is not a type the converter writes", "[debezium]") {
    Decoder<Wide> decoder;
    const auto value = envelope(wide_fields, R"({"id":1,"price":")" + nines_base64(5) + R"(","exact":")" +
                                                 nines_base64(5) + R"(","ratio":0.5,"ratio32":0.25})");
    const auto key = key_of(1);
    const auto decoded = decoder.decode(message(key, value));
    CHECK(decoded.change.row.ratio == 0.5);
    CHECK(decoded.change.row.ratio32 == 0.25f);
    std::string old = value;
    old.replace(old.find(R"("double")"), 8, R"("float64")");
    CHECK_THROWS_WITH(decoder.decode(message(key, old)),
                      Catch::Contains("has type \"float64\", which Kafka Connect's JSON converter does not write"));
}

TEST_CASE(
    "a decimal column of precision 65: values that fit are read, wider ones named by their digits, and a "
    "text member holds them exactly",
    "[debezium]") {
    Decoder<Wide> decoder;
    const auto key = key_of(1);
    const auto row = [&](int price_digits, int exact_digits) {
        return decoder
            .decode(message(key, envelope(wide_fields, R"({"id":1,"price":")" + nines_base64(price_digits) +
                                                           R"(","exact":")" + nines_base64(exact_digits) + R"("})")))
            .change.row;
    };
    const auto fits = row(38, 65);
    CHECK(fits.price == redsink::decimal<38, 2>(std::string(36, '9') + ".99"));
    CHECK(fits.exact == std::string(63, '9') + ".99");
    CHECK(row(3, 1).exact == "0.09");
    CHECK(row(3, 2).exact == "0.99");
    CHECK_THROWS_WITH(row(39, 2), Catch::Contains("field value.payload.after.price: is a decimal of 39 digits, 2 after "
                                                  "the point, more than redsink::decimal<38, 2> holds"));
    CHECK_THROWS_WITH(row(65, 2), Catch::Contains("is a decimal of 65 digits"));
    // A negative value of any size, and a VariableScaleDecimal, into text.
    Decoder<Wide> plain({.ignore_unknown_fields = false});
    const auto negative = plain.decode(
        message(R"({"id":1})", R"({"op":"c","after":{"id":1,"price":1,"exact":{"scale":3,"value":"/w=="}}})"));
    CHECK(negative.change.row.exact == "-0.001");
}

TEST_CASE("a name given twice in the envelope is an error naming it, not a last-one-wins reading", "[debezium]") {
    Decoder<Customer> decoder;
    const std::string key = R"({"id":1})";
    const std::string row = R"({"id":1,"first_name":"a","last_name":"b","email":null})";
    CHECK_THROWS_WITH(decoder.decode(message(key, R"({"op":"c","after":)" + row + R"(,"op":"d"})")),
                      Catch::Contains("field value.op: appears twice"));
    CHECK_THROWS_WITH(decoder.decode(message(key, R"({"op":"c","after":)" + row + R"(,"after":)" + row + "}")),
                      Catch::Contains("field value.after: appears twice"));
    // Escaped names are compared unescaped.
    CHECK_THROWS_WITH(decoder.decode(message(key, R"({"op":"c","after":)" + row + R"(,"\u006fp":"d"})")),
                      Catch::Contains("field value.op: appears twice"));
    CHECK(decoder.decode(message(key, R"({"op":"c","after":)" + row + "}")).change.op == Op::create);
}

TEST_CASE("the message key of every event is checked against the row", "[debezium]") {
    Decoder<Wide> decoder;
    const auto value = envelope(wide_fields, R"({"id":7,"price":"AA==","exact":"AA=="})");
    CHECK(decoder.decode(message(key_of(7), value)).change.row.id == 7);
    CHECK_THROWS_WITH(decoder.decode(message(key_of(8), value)),
                      Catch::Contains("field key.payload.id: does not match value.payload.after.id"));
    const auto truncated = key_of(7).substr(0, key_of(7).size() - 3);
    CHECK_THROWS_AS(decoder.decode(message(truncated, value)), DecodeError);
    // A key that is null or absent is not checked (a table without a primary key).
    CHECK(decoder.decode({"t", 0, 0, std::nullopt, std::string_view(value)}).change.row.id == 7);
}

TEST_CASE("a schema seen before is recognised by its text; the payload is still read strictly", "[debezium]") {
    Decoder<Wide> decoder;
    const auto key = key_of(3);
    const auto first = envelope(wide_fields, R"({"id":3,"price":"AA==","exact":"AA=="})");
    CHECK(decoder.decode(message(key, first)).change.row.id == 3);
    // The same schema again, with whitespace where JSON allows it.
    auto spaced = first;
    spaced.replace(spaced.find(R"(,"payload":)"), 11, " ,\n \"payload\" :\t");
    spaced += " \n";
    CHECK(decoder.decode(message(key, spaced)).change.row.id == 3);
    // What follows a known schema is checked as before.
    CHECK_THROWS_WITH(decoder.decode(message(key, first.substr(0, first.size() - 1) + R"(,"x":1})")),
                      Catch::Contains("field value"));
    auto null_payload = first.substr(0, first.find(R"("payload":)")) + R"("payload":null})";
    CHECK_THROWS_WITH(decoder.decode(message(key, null_payload)),
                      Catch::Contains("field value.payload: is null but the schema is not"));
    CHECK_THROWS_AS(decoder.decode(message(key, first.substr(0, first.size() - 2))), DecodeError);
    // A schema that differs in one byte is read and checked again.
    const auto replace_all = [](std::string text, const std::string& from, const std::string& to) {
        for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
            text.replace(at, from.size(), to);
        return text;
    };
    const auto other = replace_all(first, R"("double")", R"("float")");
    CHECK(decoder.decode(message(key, other)).change.row.id == 3);
    CHECK_THROWS_WITH(decoder.decode(message(key, replace_all(other, R"("float")", R"("boolean")"))),
                      Catch::Contains("which member ratio"));
    CHECK(decoder.decode(message(key, first)).change.row.id == 3);
}

TEST_CASE("a payload that fails after a known schema is reported as when the schema was new", "[debezium]") {
    const auto key = key_of(3);
    const auto good = envelope(wide_fields, R"({"id":3,"price":"AA==","exact":"AA=="})");
    const auto error_of = [](Decoder<Wide>& decoder, const std::string& k, const std::string& v) {
        try {
            static_cast<void>(decoder.decode(message(k, v)));
        } catch (const DecodeError& error) {
            return std::string(error.what());
        }
        return std::string("decoded");
    };
    // Payloads that are not JSON (a control byte, then NULs), in the key and in the value.
    const std::string garbage(
        "\x05\0\0\0\0\0\0\0"
        "03}",
        11);
    const auto broken_key = key_schema.substr(0, key_schema.find(R"("payload":)")) + R"("payload":)" + garbage + "}";
    const auto broken_value = good.substr(0, good.find(R"("payload":)")) + R"("payload":)" + garbage + "}";
    for (const auto& [k, v] : {std::pair{broken_key, good}, std::pair{key, broken_value}}) {
        Decoder<Wide> fresh;
        const auto first = error_of(fresh, k, v);
        CHECK(first != "decoded");
        Decoder<Wide> warm;
        REQUIRE(warm.decode(message(key, good)).change.row.id == 3);
        CHECK(error_of(warm, k, v) == first);
        CHECK(error_of(warm, k, v) == first);
    }
}
