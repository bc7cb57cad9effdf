// The main job: an ingestion app that streams a realistic change stream for three related tables
// through redsink sinks, shows its progress, and ends with a summary of what the tables hold,
// checked against what the stream implies.
//
//   redsink_demo [--events N] [--batch-rows N] [--tasks N] [--dialect auto|redshift|postgres]
//
// It writes to the database that REDSINK_CONNINFO (or the PG* variables) names, into the schema
// redsink_demo, whose tables it replaces. The stream holds creates, many updates of hot keys,
// deletes, tombstones, snapshot reads; part-way the customer record gains two members (the
// table evolves); and the app "restarts" once, resuming from an earlier position, so a range is
// delivered twice: the upsert tables absorb it, and the append-only page views, written with
// exactly_once, skip what was committed before (resuming from resume_positions(), and earlier).
#include <redsink/redsink.hpp>

#include <fmt/core.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace demo {

using Clock = std::chrono::steady_clock;

struct CustomerV1 {
    BOOST_HANA_DEFINE_STRUCT(CustomerV1, (std::int64_t, customer_id), (std::string, name),
                             (redsink::varchar<320>, email), (redsink::timestamptz, updated_at));
};

// Version 2, part-way through the stream: two more members, which evolve_schema adds.
struct CustomerV2 {
    BOOST_HANA_DEFINE_STRUCT(CustomerV2, (std::int64_t, customer_id), (std::string, name),
                             (redsink::varchar<320>, email), (redsink::timestamptz, updated_at),
                             (std::optional<redsink::varchar<16>>, loyalty_tier),
                             (std::optional<redsink::decimal<14, 2>>, lifetime_value));
};

struct Order {
    BOOST_HANA_DEFINE_STRUCT(Order, (std::int64_t, order_id), (std::int64_t, customer_id),
                             (redsink::varchar<16>, status), (redsink::decimal<12, 2>, total),
                             (std::optional<std::string>, note), (redsink::timestamptz, updated_at));
};

// Append-only: every page view is a row; no key.
struct PageView {
    BOOST_HANA_DEFINE_STRUCT(PageView, (std::int64_t, customer_id), (redsink::varchar<200>, path),
                             (std::int32_t, duration_ms), (redsink::timestamptz, viewed_at));
};

struct Options {
    std::size_t events = 1'000'000;
    std::size_t batch_rows = 20'000;
    std::size_t tasks = 1;
    std::string dialect = "auto";
};

// What the tables must hold after the stream, computed from the events alone.
struct Expected {
    std::map<std::int64_t, std::string> customers;  // customer_id -> name|tier
    std::map<std::int64_t, std::string> orders;     // order_id -> status|total|deleted
    std::size_t page_views = 0;
};

// One source event, before it is given to the sink of its table.
struct Event {
    enum class Table { customers, orders, page_views } table;
    redsink::Op op;
    std::int64_t key;
    std::uint64_t seed;  // the row's values derive from it
};

// A deterministic stream: 60% orders (hot keys get many updates), 25% customers, 15% page views.
inline std::vector<Event> make_stream(std::size_t count) {
    std::mt19937_64 random(2026);
    std::vector<Event> events;
    events.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        const auto roll = random() % 100;
        const auto op_roll = random() % 100;
        const auto op = op_roll < 8    ? redsink::Op::remove
                        : op_roll < 11 ? redsink::Op::tombstone
                        : op_roll < 35 ? redsink::Op::create
                        : op_roll < 95 ? redsink::Op::update
                                       : redsink::Op::read;
        if (roll < 60) {
            const bool hot = random() % 4 == 0;
            const auto key = static_cast<std::int64_t>(hot ? random() % 50 : random() % (count / 4 + 1));
            events.push_back({Event::Table::orders, op, key, random()});
        } else if (roll < 85) {
            events.push_back(
                {Event::Table::customers, op, static_cast<std::int64_t>(random() % (count / 20 + 1)), random()});
        } else {
            events.push_back({Event::Table::page_views, redsink::Op::create,
                              static_cast<std::int64_t>(random() % (count / 20 + 1)), random()});
        }
    }
    return events;
}

inline redsink::timestamptz at(std::uint64_t seed) {
    using namespace std::chrono;
    return redsink::timestamptz(sys_days(year(2026) / 11 / 1) +
                                microseconds(static_cast<std::int64_t>(seed % 2'000'000'000'000)));
}

inline std::string money(redsink::int128 cents) {
    return fmt::format("{}.{:02}", static_cast<long long>(cents / 100), static_cast<long long>(cents % 100));
}

template <class Dialect>
class Run {
public:
    using Customers1 = redsink::Sink<CustomerV1, redsink::primary_key<"customer_id">, redsink::upsert,
                                     redsink::hard_delete, redsink::evolve_schema, Dialect>;
    using Customers2 = redsink::Sink<CustomerV2, redsink::primary_key<"customer_id">, redsink::upsert,
                                     redsink::hard_delete, redsink::evolve_schema, Dialect>;
    using Orders = redsink::Sink<Order, redsink::primary_key<"order_id">, redsink::upsert,
                                 redsink::soft_delete<"deleted">, redsink::create_table, Dialect>;
    using PageViews = redsink::Sink<PageView, redsink::append, redsink::create_table, redsink::exactly_once, Dialect>;

    Run(redsink::ConnectionConfig config, const Options& options) : config_(std::move(config)), options_(options) {}

    int operator()() {
        const auto stream = make_stream(options_.events);
        const std::size_t evolve_at = stream.size() / 2;
        const std::size_t restart_at = stream.size() * 3 / 4;
        const std::size_t resume_from = restart_at - stream.size() / 20;

        const auto sink_options = [&](const char* table) {
            return redsink::SinkOptions{
                .schema = "redsink_demo", .table = table, .batch_rows = options_.batch_rows, .tasks = options_.tasks};
        };
        std::optional<Customers1> customers_v1(std::in_place, config_, sink_options("customers"));
        std::optional<Customers2> customers_v2;
        Orders orders(config_, sink_options("orders"));
        std::optional<PageViews> page_views(std::in_place, config_, sink_options("page_views"));
        customers_v1->on_commit([&](const redsink::Positions& done) { acked_[0] = done; });
        orders.on_commit([&](const redsink::Positions& done) { acked_[1] = done; });
        page_views->on_commit([&](const redsink::Positions& done) { acked_[2] = done; });

        fmt::print("streaming {} events into redsink_demo.customers, .orders, .page_views ({} dialect)\n",
                   stream.size(), redsink::to_string(Dialect::value));
        const auto start = Clock::now();
        auto last_report = start;
        std::size_t delivered = 0;
        std::size_t views_from = 0;  // after the restart: where the page views resume
        for (std::size_t i = 0; i < stream.size(); ++i) {
            if (i == evolve_at && customers_v1) {
                customers_v1->flush();
                customers_v1.reset();
                customers_v2.emplace(config_, sink_options("customers"));
                customers_v2->on_commit([&](const redsink::Positions& done) { acked_[0] = done; });
                fmt::print("  customer record version 2: evolve_schema added {}\n",
                           fmt::join(customers_v2->setup().added_columns, ", "));
            }
            if (i == restart_at && !restarted_) {
                // The app "crashes": the page views' sink goes without a flush (what it had not
                // committed is lost, and was not acknowledged) and starts again. The page views
                // resume before resume_positions(), on purpose; the upsert tables at resume_from.
                restarted_ = true;
                page_views.reset();
                page_views.emplace(config_, sink_options("page_views"));
                page_views->on_commit([&](const redsink::Positions& done) { acked_[2] = done; });
                // The earliest resume position over the partitions, then 5% of the stream further back.
                std::size_t earliest = restart_at;
                const auto resume = page_views->resume_positions();
                for (std::int32_t partition = 0; partition < 4; ++partition) {
                    const auto found = resume.find(partition);
                    earliest = std::min(
                        earliest, found == resume.end() ? std::size_t{0} : static_cast<std::size_t>(found->second + 1));
                }
                views_from = std::min(resume_from, earliest - std::min(earliest, stream.size() / 20));
                fmt::print(
                    "  app restart: resuming at event {}, so {} events are delivered twice; page views at {}, "
                    "{} events before their resume_positions()\n",
                    resume_from, restart_at - resume_from, views_from, earliest - views_from);
                i = views_from;
            }
            if (i < resume_from && restarted_ && stream[i].table != Event::Table::page_views) continue;
            write(stream[i], i, customers_v1, customers_v2, orders, page_views);
            ++delivered;
            if (const auto now = Clock::now(); now - last_report >= std::chrono::seconds(1)) {
                report(delivered, now - start);
                last_report = now;
            }
        }
        customers_v2->flush();
        orders.flush();
        page_views->flush();
        const auto elapsed = Clock::now() - start;
        report(delivered, elapsed);
        return summarize(stream, resume_from, restart_at, delivered, elapsed, *customers_v2, orders, *page_views);
    }

private:
    void write(const Event& event, std::size_t index, std::optional<Customers1>& v1, std::optional<Customers2>& v2,
               Orders& orders, std::optional<PageViews>& page_views) {
        const redsink::Position position{static_cast<std::int32_t>(event.key % 4), static_cast<std::int64_t>(index)};
        switch (event.table) {
            case Event::Table::customers:
                if (v1)
                    v1->write({event.op, customer_v1(event), position});
                else
                    v2->write({event.op, customer_v2(event), position});
                break;
            case Event::Table::orders: orders.write({event.op, order(event), position}); break;
            case Event::Table::page_views: page_views->write({event.op, page_view(event), position}); break;
        }
    }

    static CustomerV1 customer_v1(const Event& e) {
        return {e.key, fmt::format("Customer {} \xE2\x80\x94 {}", e.key, e.seed % 1000),
                redsink::varchar<320>(fmt::format("c{}@example.com", e.key)), at(e.seed)};
    }
    static CustomerV2 customer_v2(const Event& e) {
        const auto base = customer_v1(e);
        std::optional<redsink::varchar<16>> tier;
        if (e.seed % 3 != 0) tier = redsink::varchar<16>(e.seed % 3 == 1 ? "silver" : "gold");
        return {base.customer_id,
                base.name,
                base.email,
                base.updated_at,
                tier,
                redsink::decimal<14, 2>::from_units(static_cast<redsink::int128>(e.seed % 10'000'000))};
    }
    static Order order(const Event& e) {
        static constexpr const char* statuses[] = {"placed", "paid", "packed", "shipped", "delivered"};
        std::optional<std::string> note;
        if (e.seed % 5 == 0) note = "leave at the door, it's \"fragile\"";
        return {e.key,
                static_cast<std::int64_t>(e.seed % 10'000),
                redsink::varchar<16>(statuses[e.seed % 5]),
                redsink::decimal<12, 2>::from_units(static_cast<redsink::int128>(e.seed % 1'000'000)),
                note,
                at(e.seed)};
    }
    static PageView page_view(const Event& e) {
        return {e.key, redsink::varchar<200>(fmt::format("/products/{}", e.seed % 5000)),
                static_cast<std::int32_t>(e.seed % 60'000), at(e.seed)};
    }

    void report(std::size_t delivered, Clock::duration elapsed) const {
        const double seconds = std::chrono::duration<double>(elapsed).count();
        const auto positions = [](const redsink::Positions& acked) {
            std::string text;
            for (const auto& [partition, offset] : acked) text += fmt::format(" {}:{}", partition, offset);
            return text.empty() ? std::string(" -") : text;
        };
        fmt::print("  {:>9} events  {:>9.0f} events/s  acknowledged customers{} | orders{} | page_views{}\n", delivered,
                   seconds > 0 ? static_cast<double>(delivered) / seconds : 0.0, positions(acked_[0]),
                   positions(acked_[1]), positions(acked_[2]));
    }

    Expected expect(const std::vector<Event>& stream, std::size_t resume_from, std::size_t restart_at) const {
        Expected expected;
        const std::size_t evolve_at = stream.size() / 2;
        const auto apply = [&](std::size_t i) {
            const auto& e = stream[i];
            const bool gone = redsink::is_delete(e.op);
            switch (e.table) {
                case Event::Table::customers:
                    if (gone) {
                        expected.customers.erase(e.key);
                    } else if (i < evolve_at) {
                        expected.customers[e.key] = customer_v1(e).name + "|-";
                    } else {
                        const auto row = customer_v2(e);
                        expected.customers[e.key] = row.name + "|" + (row.loyalty_tier ? row.loyalty_tier->value : "-");
                    }
                    break;
                case Event::Table::orders:
                    if (gone) {
                        if (auto found = expected.orders.find(e.key); found != expected.orders.end())
                            found->second = found->second.substr(0, found->second.size() - 1) + "t";
                    } else {
                        const auto row = order(e);
                        expected.orders[e.key] = row.status.value + "|" + money(row.total.units) + "|f";
                    }
                    break;
                case Event::Table::page_views: break;
            }
        };
        for (std::size_t i = 0; i < restart_at; ++i) apply(i);
        for (std::size_t i = resume_from; i < stream.size(); ++i) apply(i);
        // exactly_once: every page view once, the redelivered ones included.
        for (const auto& e : stream) expected.page_views += e.table == Event::Table::page_views ? 1 : 0;
        return expected;
    }

    int summarize(const std::vector<Event>& stream, std::size_t resume_from, std::size_t restart_at,
                  std::size_t delivered, Clock::duration elapsed, const Customers2& customers, const Orders& orders,
                  const PageViews& page_views) {
        const auto expected = expect(stream, resume_from, restart_at);
        redsink::pq::Connection conn(config_);
        std::map<std::int64_t, std::string> actual_customers;
        const auto c = conn.exec("SELECT customer_id, name, coalesce(loyalty_tier, '-') FROM redsink_demo.customers");
        for (int r = 0; r < c.rows(); ++r)
            actual_customers[c.as<std::int64_t>(r, 0)] = std::string(c.get(r, 1)) + "|" + std::string(c.get(r, 2));
        std::map<std::int64_t, std::string> actual_orders;
        const auto o = conn.exec(
            "SELECT order_id, status, total, CASE WHEN deleted THEN 't' ELSE 'f' END FROM redsink_demo.orders");
        for (int r = 0; r < o.rows(); ++r)
            actual_orders[o.as<std::int64_t>(r, 0)] =
                std::string(o.get(r, 1)) + "|" + std::string(o.get(r, 2)) + "|" + std::string(o.get(r, 3));
        const auto views = conn.exec("SELECT count(*) FROM redsink_demo.page_views").template as<std::size_t>(0, 0);
        const auto deleted_orders =
            conn.exec("SELECT count(*) FROM redsink_demo.orders WHERE deleted").template as<std::size_t>(0, 0);

        const bool customers_ok = actual_customers == expected.customers;
        const bool orders_ok = actual_orders == expected.orders;
        bool views_ok = views == expected.page_views;
        const double seconds = std::chrono::duration<double>(elapsed).count();
        fmt::print("\nsummary: {} events delivered ({} twice after the restart) in {:.1f} s, {:.0f} events/s\n",
                   delivered, restart_at - resume_from, seconds, static_cast<double>(delivered) / seconds);
        const auto line = [](const char* table, std::size_t rows, bool ok, const std::string& what,
                             const redsink::SinkStats& stats) {
            fmt::print("  {:<11} {:>8} rows  {}  {}; {} batches, {} retries, {:.1f} s in the database\n", table, rows,
                       ok ? "matches the stream" : "DOES NOT MATCH the stream", what, stats.batches, stats.retries,
                       std::chrono::duration<double>(stats.db_time).count());
        };
        line("customers", actual_customers.size(), customers_ok, "upsert, hard deletes, schema evolved to v2",
             customers.stats());
        line("orders", actual_orders.size(), orders_ok,
             fmt::format("upsert, {} soft-deleted; the redelivered range changed nothing", deleted_orders),
             orders.stats());
        const auto duplicates = conn.exec(
                                        "SELECT count(*) FROM (SELECT customer_id, path, duration_ms, viewed_at FROM "
                                        "redsink_demo.page_views "
                                        "GROUP BY 1, 2, 3, 4 HAVING count(*) > 1) AS twice")
                                    .template as<std::size_t>(0, 0);
        views_ok = views_ok && duplicates == 0;
        const auto view_stats = page_views.stats();
        line("page_views", views, views_ok,
             fmt::format("append, exactly_once: {} redelivered views skipped after the restart, {} duplicates "
                         "(docs/delivery.md#exactly-once)",
                         view_stats.events_skipped, duplicates),
             view_stats);
        const bool ok = customers_ok && orders_ok && views_ok;
        fmt::print("{}\n",
                   ok ? "all tables match what the stream implies" : "MISMATCH between the tables and the stream");
        return ok ? 0 : 1;
    }

    redsink::ConnectionConfig config_;
    Options options_;
    redsink::Positions acked_[3];
    bool restarted_ = false;
};

inline Options parse_options(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::invalid_argument(std::string(arg) + " needs a value");
            return argv[++i];
        };
        if (arg == "--events")
            options.events = std::stoul(value());
        else if (arg == "--batch-rows")
            options.batch_rows = std::stoul(value());
        else if (arg == "--tasks")
            options.tasks = std::stoul(value());
        else if (arg == "--dialect")
            options.dialect = value();
        else
            throw std::invalid_argument("unknown argument " + std::string(arg) +
                                        "; usage: redsink_demo [--events N] [--batch-rows N] [--tasks N] "
                                        "[--dialect auto|redshift|postgres]");
    }
    if (options.events < 1000) throw std::invalid_argument("--events must be at least 1000");
    return options;
}

}  // namespace demo

int main(int argc, char** argv) {
    try {
        const auto options = demo::parse_options(argc, argv);
        const auto config = redsink::ConnectionConfig::from_env();
        redsink::pq::Connection conn(config);
        fmt::print("connected to {}\nserver: {}\n", config.redacted(), conn.version());
        const bool redshift = options.dialect == "redshift" || (options.dialect == "auto" && conn.is_redshift());
        conn.exec("DROP SCHEMA IF EXISTS redsink_demo CASCADE");
        if (redshift && !conn.is_redshift()) {
            // The Redshift dialect on PostgreSQL: the demo's records use no SUPER, so nothing
            // else is needed.
            fmt::print("writing the Redshift dialect to PostgreSQL\n");
        }
        return redshift ? demo::Run<redsink::redshift>(config, options)()
                        : demo::Run<redsink::postgres>(config, options)();
    } catch (const std::exception& error) {
        fmt::print(stderr, "redsink_demo: {}\n", error.what());
        return 1;
    }
}
