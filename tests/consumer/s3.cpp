#include <redsink/s3.hpp>

#include <iostream>

int main() {
    // No request is sent: the client is configured, and its endpoint derived from the region.
    const redsink::s3::Client client(
        {.bucket = "loads",
         .region = "eu-west-1",
         .credentials = redsink::s3::Credentials{.access_key_id = "AKID", .secret_access_key = "secret"}});
    std::cout << client.endpoint() << '\n';
    return client.endpoint() == "https://s3.eu-west-1.amazonaws.com" ? 0 : 1;
}
