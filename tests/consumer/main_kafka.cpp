#include <redsink/kafka.hpp>

#include <string>

int main() {
    // Configuration is checked before any broker is reached.
    try {
        redsink::kafka::Connector connector({.properties = {{"bootstrap.servers", "localhost:1"}}});
    } catch (const redsink::kafka::KafkaError& error) {
        return std::string(error.what()).find("group.id") != std::string::npos ? 0 : 1;
    }
    return 1;
}
