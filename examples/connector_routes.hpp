#pragma once

// The connector program's routes (examples/connector.cpp): each topic's Sink<Row, ...>, of the
// one type the settings' policies name, made at the topic's first message. The 32 sink types are
// compiled in two files, one per dialect (connector_routes_redshift.cpp,
// connector_routes_postgres.cpp), which build in parallel. docs/connector.md.
#include "connector_properties.hpp"

#include <redsink/kafka.hpp>
#include <redsink/redsink.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>

namespace connector {

// Told of each table when its topic's first message makes its sink: the topic, `schema.table`,
// and the number of columns the message's schema gives it.
using OnTable = std::function<void(const std::string& topic, const std::string& table, std::size_t columns)>;

// Routes the settings' topics (or topics.regex) into sinks of the settings' policies; `give_up`
// is the sinks' SinkOptions::stop.
void route_redshift(redsink::kafka::Connector& connector, const Settings& settings, std::stop_token give_up,
                    OnTable on_table);
void route_postgres(redsink::kafka::Connector& connector, const Settings& settings, std::stop_token give_up,
                    OnTable on_table);

inline void route_topics(redsink::kafka::Connector& connector, const Settings& settings, std::stop_token give_up,
                         OnTable on_table) {
    if (settings.dialect == "redshift")
        route_redshift(connector, settings, std::move(give_up), std::move(on_table));
    else
        route_postgres(connector, settings, std::move(give_up), std::move(on_table));
}

// Calls `visit.operator()<Policies...>()` with the policies the settings name, of `Dialect`:
// one of sixteen Sink<Row, ...> types per dialect.
template <class Dialect, class Visit>
void with_policies(const Settings& settings, Visit&& visit) {
    const auto with_schema = [&]<class... P>() {
        if (settings.evolution == "basic")
            visit.template operator()<P..., redsink::evolve_schema, Dialect>();
        else
            visit.template operator()<P..., redsink::fixed_schema, Dialect>();
    };
    const auto with_deletes = [&]<class... P>() {
        if (settings.delete_enabled)
            with_schema.template operator()<P..., redsink::hard_delete>();
        else
            with_schema.template operator()<P..., redsink::ignore_deletes>();
    };
    const auto with_errors = [&]<class... P>() {
        if (settings.dead_letters)
            with_deletes.template operator()<P..., redsink::dead_letter<>>();
        else
            with_deletes.template operator()<P..., redsink::stop_on_error>();
    };
    if (settings.insert_mode == "upsert")
        with_errors.template operator()<redsink::upsert>();
    else
        with_errors.template operator()<redsink::append>();
}

// route_redshift and route_postgres: each one's file calls this with its dialect.
template <class Dialect>
void route_with(redsink::kafka::Connector& connector, const Settings& settings, const std::stop_token& give_up,
                const OnTable& on_table) {
    with_policies<Dialect>(settings, [&]<class... Policies>() {
        using S = redsink::Sink<redsink::Row, Policies...>;
        const auto make = [&settings, give_up, on_table](const std::string& topic,
                                                         std::shared_ptr<const redsink::RowSchema> schema) {
            redsink::SinkOptions options;
            options.schema = settings.schema;
            options.table = settings.table_for(topic);
            options.tasks = settings.tasks;
            options.batch_rows = settings.batch_rows;
            options.stop = give_up;
            if (settings.dead_letters) options.dead_letter_table = settings.dead_letter_table;
            on_table(topic, settings.schema + "." + options.table, schema->size());
            return std::make_unique<S>(settings.connection, options, std::move(schema));
        };
        if (!settings.topics_regex.empty())
            connector.route_rows_matching<S>(settings.subscription_pattern(), make, {}, settings.key);
        else
            for (const auto& topic : settings.topics) connector.route_rows<S>(topic, make, {}, settings.key);
    });
}

}  // namespace connector
