#include <redsink/pq.hpp>

#include <iostream>

int main() {
    const auto config = redsink::ConnectionConfig::parse("host=db.example.com port=5439 dbname=dev user=loader");
    std::cout << config.redacted() << '\n';
    return config.port == "5439" ? 0 : 1;
}
