#include <redsink/redsink.hpp>

#include <cstdint>
#include <iostream>
#include <string>

struct Event {
    BOOST_HANA_DEFINE_STRUCT(Event, (std::int64_t, id), (std::string, kind));
};

using EventSink = redsink::Sink<Event, redsink::primary_key<"id">, redsink::upsert, redsink::hard_delete,
                                redsink::create_table, redsink::redshift>;

int main() {
    const auto config = redsink::ConnectionConfig::parse("host=db.example.com port=5439 dbname=dev user=loader");
    std::cout << config.redacted() << '\n';
    const auto spec = redsink::table_spec<Event, redsink::primary_key<"id">>(
        redsink::sql::TableRef::make("s", "events"), EventSink::dialect);
    std::cout << redsink::sql::create_table_sql(spec) << '\n';
    return config.port == "5439" ? 0 : 1;
}
