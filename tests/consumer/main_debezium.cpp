#include <redsink/debezium.hpp>

#include <cstdint>
#include <string>

struct Event {
    BOOST_HANA_DEFINE_STRUCT(Event, (std::int64_t, id), (std::string, kind));
};

int main() {
    redsink::debezium::Decoder<Event> decoder;
    const std::string value = R"({"before":null,"after":{"id":7,"kind":"k"},"op":"c"})";
    const auto decoded = decoder.decode({"events", 0, 1, std::nullopt, value});
    return decoded.change.op == redsink::Op::create && decoded.change.row.id == 7 ? 0 : 1;
}
