#pragma once

// The connector program's routes (examples/connector.cpp): each topic's Sink<Row, ...>, of the
// one type the settings' policies name, made at the topic's first message. The 96 sink types are
// compiled in four files, one per dialect and delivery guarantee (connector_routes_*.cpp), which
// build in parallel. docs/connector.md.
#include "connector_properties.hpp"

#include <redsink/kafka.hpp>
#include <redsink/redsink.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <type_traits>
#include <utility>

namespace connector {

// Told of each table when its topic's first message makes its sink: the topic, `schema.table`,
// and the number of columns the message's schema gives it.
using OnTable = std::function<void(const std::string& topic, const std::string& table, std::size_t columns)>;

// Routes the settings' topics (or topics.regex) into sinks of the settings' policies; `give_up`
// is the sinks' SinkOptions::stop. One function per dialect and delivery guarantee, each in a
// file of its own.
void route_redshift(redsink::kafka::Connector& connector, const Settings& settings, std::stop_token give_up,
                    OnTable on_table);
void route_redshift_exactly_once(redsink::kafka::Connector& connector, const Settings& settings,
                                 std::stop_token give_up, OnTable on_table);
void route_postgres(redsink::kafka::Connector& connector, const Settings& settings, std::stop_token give_up,
                    OnTable on_table);
void route_postgres_exactly_once(redsink::kafka::Connector& connector, const Settings& settings,
                                 std::stop_token give_up, OnTable on_table);

inline void route_topics(redsink::kafka::Connector& connector, const Settings& settings, std::stop_token give_up,
                         OnTable on_table) {
    const bool redshift = settings.dialect == "redshift";
    if (settings.exactly_once)
        (redshift ? route_redshift_exactly_once : route_postgres_exactly_once)(connector, settings, std::move(give_up),
                                                                               std::move(on_table));
    else
        (redshift ? route_redshift : route_postgres)(connector, settings, std::move(give_up), std::move(on_table));
}

// The options of `topic`'s sink.
inline redsink::SinkOptions sink_options(const Settings& settings, const std::string& topic, std::stop_token give_up) {
    redsink::SinkOptions options;
    options.schema = settings.schema;
    options.table = settings.table_for(topic);
    options.tasks = settings.tasks;
    options.batch_rows = settings.batch_rows;
    options.stop = std::move(give_up);
    if (settings.dead_letters) options.dead_letter_table = settings.dead_letter_table;
    // The group's members share each table's identity: each claims the partitions it is assigned.
    if (settings.exactly_once) options.fencing = redsink::Fencing::partition;
    return options;
}

// Calls `visit.operator()<Policies...>()` with the policies the settings name, of `Dialect` and
// `Delivery`: one of 24 Sink<Row, ...> types. order.by's sinks order each key's events by the
// column debezium::Options::order_by adds (Options::order_column's default name).
template <class Dialect, class Delivery, class Visit>
void with_policies(const Settings& settings, Visit&& visit) {
    const auto with_schema = [&]<class... P>() {
        if (settings.evolution == "basic")
            visit.template operator()<P..., redsink::evolve_schema, Delivery, Dialect>();
        else
            visit.template operator()<P..., redsink::fixed_schema, Delivery, Dialect>();
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
    if (settings.order_by != redsink::debezium::OrderBy::none)
        with_errors.template operator()<redsink::newest_wins<"__source_position">>();
    else if (settings.insert_mode == "upsert")
        with_errors.template operator()<redsink::upsert>();
    else
        with_errors.template operator()<redsink::append>();
}

// The route_* functions: each one's file calls this with its dialect and delivery guarantee.
template <class Dialect, class Delivery>
void route_with(redsink::kafka::Connector& connector, const Settings& settings, const std::stop_token& give_up,
                const OnTable& on_table) {
    with_policies<Dialect, Delivery>(settings, [&]<class... Policies>() {
        using S = redsink::Sink<redsink::Row, Policies...>;
        const auto make = [&settings, give_up, on_table](const std::string& topic,
                                                         std::shared_ptr<const redsink::RowSchema> schema) {
            auto options = sink_options(settings, topic, give_up);
            on_table(topic, settings.schema + "." + options.table, schema->size());
            return std::make_unique<S>(settings.connection, options, std::move(schema));
        };
        redsink::debezium::Options decode;
        decode.order_by = settings.order_by;
        const auto route = [&](auto&&... committed) {
            if (!settings.topics_regex.empty())
                connector.route_rows_matching<S>(settings.subscription_pattern(), make, committed..., decode,
                                                 settings.key);
            else
                for (const auto& topic : settings.topics)
                    connector.route_rows<S>(topic, make, committed..., decode, settings.key);
        };
        if constexpr (std::is_same_v<Delivery, redsink::exactly_once>)
            // Where each partition starts before its topic's first message makes the sink.
            route(redsink::kafka::detail::RowPositions([&settings, give_up](const std::string& topic) {
                return redsink::committed_positions(settings.connection, sink_options(settings, topic, give_up));
            }));
        else
            route();
    });
}

}  // namespace connector
