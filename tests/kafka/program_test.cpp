// End to end: the connector program (examples/connector.cpp) run as a process, configured by a
// properties file, reading Debezium JSON with schemas for the tutorial's inventory tables from the
// mock cluster and writing them in the redshift dialect: each table created from its topic's first
// message, a column the source adds mid-stream added, a topic created while it runs picked up by
// topics.regex; SIGTERM stops it; the tables equal the model and the group's offsets are at the
// topics' ends.
#include <debezium/support.hpp>
#include <kafka/mock.hpp>
#include <support/sink.hpp>

#include <connector_metrics.hpp>

#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

// The text of the JSON object or array that opens at `at` in `text`.
std::string balanced(const std::string& text, std::size_t at) {
    int depth = 0;
    bool in_string = false;
    for (auto i = at; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            ++depth;
        } else if ((c == '}' || c == ']') && --depth == 0) {
            return text.substr(at, i - at + 1);
        }
    }
    FAIL("unbalanced JSON in " << text);
    return {};
}

// The members of the first row struct's "fields" in a Debezium value's schema (the struct after
// the envelope's own "fields").
std::string row_fields(const std::string& value) {
    const std::string marker = R"({"type":"struct","fields":[)";
    const auto envelope = value.find(marker);
    const auto row = value.find(marker, envelope + 1);
    REQUIRE(row != std::string::npos);
    const auto array = balanced(value, row + marker.size() - 1);
    return array.substr(1, array.size() - 2);
}

// What the messages are made of, from real messages (tests/debezium/fixtures/real/README.md):
// Debezium 3.0.1's MySQL envelope, source block and key of inventory.customers (decodableco/examples),
// and the row fields of customers and addresses from the same, of products from apache/paimon's
// products (before its ALTER TABLE ... ADD COLUMN age, and the age field after it).
struct Real {
    std::string envelope_schema;  // customers' value schema
    std::string customer_fields, address_fields, product_fields, age_field;
    std::string source;  // the payload's source block, for customers

    static const Real& get() {
        static const Real real = [] {
            Real out;
            const auto inventory = redsink_test::dbz::read_messages(
                redsink_test::dbz::fixture_path("fixtures/real/decodable_mysql_inventory.txt"));
            const auto& customer = *inventory.at(0).value;
            const auto payload = customer.find(R"(,"payload":)");
            out.envelope_schema = customer.substr(0, payload) + "}";
            out.envelope_schema = out.envelope_schema.substr(std::string(R"({"schema":)").size());
            out.envelope_schema.pop_back();
            out.customer_fields = row_fields(customer);
            out.address_fields = row_fields(*inventory.at(1).value);
            out.source = balanced(customer, customer.find(R"("source":{)") + 9);
            const auto evolution = redsink_test::dbz::read_messages(
                redsink_test::dbz::fixture_path("fixtures/real/paimon_mysql_schema_evolution.txt"));
            out.product_fields = row_fields(*evolution.at(0).value);
            const auto evolved = row_fields(*evolution.at(1).value);
            REQUIRE(evolved.starts_with(out.product_fields + ","));
            out.age_field = evolved.substr(out.product_fields.size() + 1);
            REQUIRE(out.age_field == R"({"type":"int32","optional":true,"field":"age"})");
            return out;
        }();
        return real;
    }
};

// A source table: its topic and how a row of it reads as Debezium JSON and in the table.
struct Table {
    std::string source;  // customers, ...
    std::string table;   // the table the connector writes it to
    int partitions = 1;
    std::string key;
    std::string fields;  // the row's fields in the value's schema
    std::string select;  // one text per row, ordered by the key
    std::function<std::pair<std::string, std::string>(int id, int serial)> row;  // JSON, row text
};

std::string quoted(const std::string& text) {
    return redsink_test::kafka::json_text(text);
}

std::string pipe(std::initializer_list<std::string> columns) {
    std::string out;
    for (const auto& column : columns) out += (out.empty() ? "" : " || '|' || ") + column;
    return out;
}

std::vector<Table> inventory_tables() {
    const auto& real = Real::get();
    return {
        {"customers", "e2e_clients", 2, "id", real.customer_fields, pipe({"id", "first_name", "last_name", "email"}),
         [](int id, int serial) {
             const auto first = "F\"" + std::to_string(serial), last = "L\\" + std::to_string(id),
                        email = "c" + std::to_string(serial) + "@example.com";
             return std::pair{fmt::format(R"({{"id":{},"first_name":{},"last_name":{},"email":{}}})", id, quoted(first),
                                          quoted(last), quoted(email)),
                              fmt::format("{}|{}|{}|{}", id, first, last, email)};
         }},
        {"products", "e2e_products", 1, "id", real.product_fields,
         pipe({"id", "name", "coalesce(description, '<NULL>')", "coalesce(weight::text, '<NULL>')"}),
         [](int id, int serial) {
             const auto name = "p" + std::to_string(serial);
             const bool described = serial % 2 == 0;
             const double weight = (serial % 8) * 0.25;
             return std::pair{fmt::format(R"({{"id":{},"name":{},"description":{},"weight":{}}})", id, quoted(name),
                                          described ? quoted("d é " + name) : "null",
                                          serial % 5 == 0 ? "null" : fmt::format("{}", weight)),
                              fmt::format("{}|{}|{}|{}", id, name, described ? "d é " + name : "<NULL>",
                                          serial % 5 == 0 ? "<NULL>" : fmt::format("{}", weight))};
         }},
        // No real orders message was found: its fields are composed as Debezium's MySQL connector
        // writes INT and DATE columns (io.debezium.time.Date: days since 1970).
        {"orders", "e2e_orders", 2, "order_number",
         R"({"type":"int32","optional":false,"field":"order_number"},)"
         R"({"type":"int32","optional":false,"name":"io.debezium.time.Date","version":1,"field":"order_date"},)"
         R"({"type":"int32","optional":false,"field":"purchaser"},{"type":"int32","optional":false,"field":"quantity"},)"
         R"({"type":"int32","optional":false,"field":"product_id"})",
         pipe({"order_number", "(order_date - DATE '1970-01-01')", "purchaser", "quantity", "product_id"}),
         [](int id, int serial) {
             const int day = 16'000 + serial % 900 - (serial % 7 == 0 ? 20'000 : 0);  // some before 1970
             return std::pair{
                 fmt::format(R"({{"order_number":{},"order_date":{},"purchaser":{},"quantity":{},"product_id":{}}})",
                             id, day, 1000 + serial % 4, serial % 9 + 1, 100 + serial % 3),
                 fmt::format("{}|{}|{}|{}|{}", id, day, 1000 + serial % 4, serial % 9 + 1, 100 + serial % 3)};
         }},
        {"addresses", "e2e_addresses", 1, "id", real.address_fields,
         pipe({"id", "customer_id", "street", "city", "state", "zip", "type"}),
         [](int id, int serial) {
             const std::string street = std::to_string(serial) + " Main St\nApt 2";
             const std::string type = serial % 2 ? "SHIPPING" : "BILLING";
             return std::pair{
                 fmt::format(
                     R"({{"id":{},"customer_id":{},"street":{},"city":"Springfield","state":"OR","zip":"97477","type":"{}"}})",
                     id, 1000 + serial % 5, quoted(street), type),
                 fmt::format("{}|{}|{}|Springfield|OR|97477|{}", id, 1000 + serial % 5, street, type)};
         }},
    };
}

// The tutorial's fifth table, whose topic appears while the connector runs (fields composed as
// Debezium writes INT columns).
Table products_on_hand() {
    return {
        "products_on_hand",
        "e2e_products_on_hand",
        1,
        "product_id",
        R"({"type":"int32","optional":false,"field":"product_id"},{"type":"int32","optional":false,"field":"quantity"})",
        pipe({"product_id", "quantity"}),
        [](int id, int serial) {
            return std::pair{fmt::format(R"({{"product_id":{},"quantity":{}}})", id, serial % 40),
                             fmt::format("{}|{}", id, serial % 40)};
        }};
}

// Produces creates, updates, deletes and tombstones for a table as Debezium writes them (value and
// key with their schemas), and keeps the model. add_column() makes later rows carry Paimon's
// optional `age` field, as after the source's ALTER TABLE ... ADD COLUMN.
class TableStream {
public:
    TableStream(const redsink_test::kafka::MockCluster& cluster, Table table, std::uint32_t seed)
        : table_(std::move(table)),
          random_(seed),
          ends_(static_cast<std::size_t>(table_.partitions), 0),
          producer_(cluster) {}

    [[nodiscard]] std::string topic() const { return "dbserver1.inventory." + table_.source; }

    void add_column() { evolved_ = true; }

    void produce(int count, int keys) {
        std::uniform_int_distribution<int> id_of(1, keys), kind(0, 7);
        for (int i = 0; i < count; ++i) {
            const int id = id_of(random_);
            const auto key = key_json(id);
            if (const auto existing = json_.find(id); existing != json_.end() && kind(random_) == 0) {
                send(id, key, value_json(existing->second, "null", "d"));
                send(id, key, std::nullopt);
                json_.erase(existing);
                model_.erase(id);
                ++serial_;  // each event its own source.ts_ms
                continue;
            }
            auto [json, text] = table_.row(id, serial_);
            std::optional<int> age;
            if (evolved_) {
                if (serial_ % 3 != 0) age = serial_ % 90;
                json.insert(json.size() - 1, R"(,"age":)" + (age ? std::to_string(*age) : std::string("null")));
            }
            ++serial_;
            ++changes_;
            send(id, key, value_json("null", json, json_.contains(id) ? "u" : "c"));
            json_[id] = json;
            model_[id] = {text, age};
        }
        producer_.flush();
    }

    [[nodiscard]] std::vector<std::string> model() const {
        std::vector<std::string> out;
        for (const auto& [id, row] : model_)
            out.push_back(row.first + (evolved_ ? "|" + (row.second ? std::to_string(*row.second) : "<NULL>") : ""));
        return out;
    }
    [[nodiscard]] std::vector<std::string> table_rows() const {
        auto conn = redsink_test::reader();
        const auto select = table_.select + (evolved_ ? " || '|' || coalesce(age::text, '<NULL>')" : "");
        const auto result = conn.exec("SELECT " + select + " FROM " + redsink_test::qualified(table_.table) +
                                      " ORDER BY " + table_.key);
        std::vector<std::string> out;
        for (int row = 0; row < result.rows(); ++row) out.emplace_back(result.get(row, 0));
        return out;
    }
    [[nodiscard]] const std::vector<std::int64_t>& ends() const noexcept { return ends_; }
    [[nodiscard]] const Table& table() const noexcept { return table_; }
    // The creates and updates sent: the rows of an insert.mode=insert table without deletes.
    [[nodiscard]] std::int64_t changes() const noexcept { return changes_; }

private:
    // The key as Debezium writes it: the key field's schema (the row's) and its value.
    [[nodiscard]] std::string key_json(int id) const {
        const auto field = R"("field":")" + table_.key + "\"";
        const auto end = table_.fields.find(field) + field.size() + 1;
        const auto begin = table_.fields.rfind('{', end);
        return fmt::format(R"({{"schema":{{"type":"struct","fields":[{}],"optional":false,"name":"{}.Key"}},)"
                           R"("payload":{{"{}":{}}}}})",
                           table_.fields.substr(begin, end - begin), topic(), table_.key, id);
    }
    // The envelope with this table's row fields, its source block naming the table.
    [[nodiscard]] std::string value_json(const std::string& before, const std::string& after,
                                         const std::string& op) const {
        const auto& real = Real::get();
        auto schema = real.envelope_schema;
        const auto fields = table_.fields + (evolved_ ? "," + real.age_field : "");
        for (auto at = schema.find(real.customer_fields); at != std::string::npos;
             at = schema.find(real.customer_fields, at + fields.size()))
            schema.replace(at, real.customer_fields.size(), fields);
        const std::string name = "demodb.inventory.customers";
        for (auto at = schema.find(name); at != std::string::npos; at = schema.find(name, at + 1))
            schema.replace(at, name.size(), "dbserver1.inventory." + table_.source);
        auto source = real.source;
        source.replace(source.find(R"("table":"customers")"), 19, R"("table":")" + table_.source + "\"");
        // When the database made the change: one millisecond per event.
        const std::string made = R"("ts_ms":1733763168000)";
        source.replace(source.find(made), made.size(), fmt::format(R"("ts_ms":{})", 1733763168000 + serial_));
        return fmt::format(R"({{"schema":{},"payload":{{"before":{},"after":{},"source":{},"op":"{}","ts_ms":{}}}}})",
                           schema, before, after, source, op, 1733763172327 + serial_);
    }

    void send(int id, const std::string& key, const std::optional<std::string>& value) {
        const int partition = id % table_.partitions;
        producer_.send(topic(), partition, key, value);
        ++ends_[static_cast<std::size_t>(partition)];
        sent_.push_back({partition, key, value});
    }

public:
    // Sends the first `count` messages sent so far again, as they were (a producer's retry, a
    // replay of an older range): the model does not change.
    void replay(std::size_t count) {
        for (std::size_t i = 0; i < count && i < sent_.size(); ++i) {
            const auto [partition, key, value] = sent_[i];
            producer_.send(topic(), partition, key, value);
            ++ends_[static_cast<std::size_t>(partition)];
        }
        producer_.flush();
    }

private:
    struct Sent {
        int partition = 0;
        std::string key;
        std::optional<std::string> value;
    };

    Table table_;
    std::mt19937 random_;
    std::map<int, std::string> json_;
    std::map<int, std::pair<std::string, std::optional<int>>> model_;
    std::vector<std::int64_t> ends_;
    std::vector<Sent> sent_;
    redsink_test::kafka::Producer producer_;
    int serial_ = 0;
    std::int64_t changes_ = 0;
    bool evolved_ = false;
};

}  // namespace

TEST_CASE(
    "the connector program: Debezium topics into tables made from their schemas, redshift dialect, a column "
    "added, a topic created while it runs, SIGTERM, restart",
    "[kafka]") {
    redsink_test::kafka::MockCluster cluster;
    std::vector<std::unique_ptr<TableStream>> streams;
    std::uint32_t seed = 21;
    std::string topics;
    for (auto& table : inventory_tables()) {
        redsink_test::drop_table(table.table);
        auto stream = std::make_unique<TableStream>(cluster, table, seed++);
        cluster.create_topic(stream->topic(), table.partitions);
        topics += (topics.empty() ? "" : ",") + stream->topic();
        streams.push_back(std::move(stream));
    }
    redsink_test::drop_table(products_on_hand().table);
    for (auto& stream : streams) stream->produce(1500, 200);

    const auto directory = std::filesystem::temp_directory_path() / fmt::format("redsink-connector-{}", ::getpid());
    std::filesystem::create_directories(directory);
    const auto properties = directory / "connector.properties";
    // The customers' table by topic.<topic>.table, the others by table.name.format.
    const auto write_properties = [&](const std::string& which_topics) {
        std::ofstream out(properties);
        out << "# the connector test's settings\n"
            << "table.schema=" << redsink_test::sink_schema << "\n"
            << "dialect=redshift\ninsert.mode=upsert\ndelete.enabled=true\nschema.evolution=basic\n"
            << "tasks.max=2\nbatch.rows=300\nprogress.interval.ms=300\n"
            << "bootstrap.servers=" << cluster.bootstraps() << "\n"
            << "group.id=connector-e2e\n"
            << which_topics << "\ntable.name.format=e2e_${source.table}\n"
            << "topic.dbserver1.inventory.customers.table=e2e_clients\n"
            << "kafka.session.timeout.ms=6000\nkafka.heartbeat.interval.ms=500\nkafka.fetch.wait.max.ms=50\n"
            << "kafka.topic.metadata.refresh.interval.ms=500\n";
    };
    write_properties("topics=" + topics);
    const auto output = directory / "output.txt";
    // The program, with the test database as REDSINK_CONNINFO; stdout and stderr to a file.
    // posix_spawn: this process has librdkafka's threads, and a forked child may only exec.
    std::vector<std::string> environment{std::string("REDSINK_CONNINFO=") + std::getenv("REDSINK_TEST_CONNINFO")};
    for (char** entry = environ; *entry != nullptr; ++entry)
        if (std::string_view(*entry).rfind("REDSINK_CONNINFO=", 0) != 0) environment.emplace_back(*entry);
    std::vector<char*> envp;
    for (auto& entry : environment) envp.push_back(entry.data());
    envp.push_back(nullptr);
    const auto start = [&] {
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, output.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        std::string program = REDSINK_CONNECTOR_PROGRAM, file = properties.string();
        std::array<char*, 3> argv{program.data(), file.data(), nullptr};
        pid_t child = -1;
        const int failed = ::posix_spawn(&child, program.c_str(), &actions, nullptr, argv.data(), envp.data());
        posix_spawn_file_actions_destroy(&actions);
        REQUIRE(failed == 0);
        return child;
    };
    const auto all_written = [&] {
        for (const auto& stream : streams)
            if (stream->table_rows() != stream->model()) return false;
        return true;
    };
    const auto wait_for = [](const std::function<bool()>& done) {
        const auto give_up = std::chrono::steady_clock::now() + 90s;
        while (!done() && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(200ms);
        return done();
    };
    const auto stop = [](pid_t child) {
        ::kill(child, SIGTERM);
        int status = 0;
        ::waitpid(child, &status, 0);
        return status;
    };

    auto child = start();
    const auto running = [&] {
        int status = 0;
        return ::waitpid(child, &status, WNOHANG) == 0;
    };
    // The tables are created by the first batches; until then the reads fail.
    const auto written = [&] {
        REQUIRE(running());
        try {
            return all_written();
        } catch (const std::exception&) {
            return false;
        }
    };
    CHECK(wait_for(written));
    auto status = stop(child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    for (const auto& stream : streams)
        CHECK(cluster.committed("connector-e2e", stream->topic(), stream->table().partitions) == stream->ends());
    {
        // Each table's columns and key are its topic's schema's.
        auto conn = redsink_test::reader();
        const auto columns = redsink_test::catalog_columns(conn, "e2e_orders");
        INFO(fmt::format("{}", fmt::join(columns, ", ")));
        CHECK(columns == std::vector<std::string>{"order_number integer NOT NULL", "order_date date",
                                                  "purchaser integer", "quantity integer", "product_id integer"});
    }

    // The source adds a column to products; a restart subscribes by topics.regex, resumes at the
    // committed offsets, and picks up a topic created while it runs.
    streams.at(1)->add_column();
    for (auto& stream : streams) stream->produce(500, 200);
    write_properties(R"(topics.regex=dbserver1\.inventory\..*)");
    child = start();
    CHECK(wait_for(written));
    auto on_hand = std::make_unique<TableStream>(cluster, products_on_hand(), seed++);
    cluster.create_topic(on_hand->topic(), 1);
    on_hand->produce(300, 50);
    streams.push_back(std::move(on_hand));
    CHECK(wait_for(written));
    status = stop(child);
    CHECK(WEXITSTATUS(status) == 0);
    for (const auto& stream : streams) {
        CHECK(stream->table_rows() == stream->model());
        CHECK(cluster.committed("connector-e2e", stream->topic(), stream->table().partitions) == stream->ends());
    }
    const auto text = redsink_test::read_file(output.string());
    INFO(text);
    CHECK_THAT(text, Catch::Contains("dbserver1.inventory.orders -> sink_test.e2e_orders (5 columns"));
    CHECK_THAT(text, Catch::Contains("dbserver1.inventory.customers -> sink_test.e2e_clients"));
    CHECK_THAT(text, Catch::Contains("dbserver1.inventory.products_on_hand -> sink_test.e2e_products_on_hand"));
    CHECK_THAT(text, Catch::Contains("progress: "));
    CHECK_THAT(text, Catch::Contains("stopping: flushing the sinks and committing offsets"));
    CHECK(text.find("password=") == std::string::npos);
    std::filesystem::remove_all(directory);
}

TEST_CASE("the connector program refuses a password in its properties file, and bad values", "[kafka]") {
    const auto directory = std::filesystem::temp_directory_path() / fmt::format("redsink-connector-bad-{}", ::getpid());
    std::filesystem::create_directories(directory);
    const auto run = [&](const std::string& content) {
        const auto path = directory / "bad.properties";
        std::ofstream(path) << content;
        const auto output = directory / "out.txt";
        const auto command = fmt::format("{} {} > {} 2>&1", REDSINK_CONNECTOR_PROGRAM, path.string(), output.string());
        const int status = std::system(command.c_str());
        return std::pair{WEXITSTATUS(status), redsink_test::read_file(output.string())};
    };
    const auto [code, text] = run("connection.password=hunter2\n");
    CHECK(code == 2);
    CHECK_THAT(text, Catch::Contains("connection.password does not belong in the file"));
    CHECK(text.find("hunter2") == std::string::npos);
    const std::string connection = "connection.hostname=localhost\nconnection.username=u\nconnection.database=d\n";
    const auto [code2, text2] = run(connection + "insert.mode=merge\nbootstrap.servers=x\ntopics=a.b.customers\n");
    CHECK(code2 == 2);
    CHECK_THAT(text2, Catch::Contains("insert.mode is \"merge\"; expected one of insert, upsert"));
    // The topics, the table names and the key, checked against each other.
    for (const auto& [lines, message] : std::vector<std::pair<std::string, std::string>>{
             {"", "the property topics (or topics.regex) is missing"},
             {"topics=a.b.c\ntopics.regex=a\\..*", "topics and topics.regex are both given"},
             {"topics.regex=a.(b", "topics.regex is not a regular expression"},
             {"topics=a.b.c\ntable.name.format=t_${table}", "its placeholders are ${topic} and ${source.table}"},
             {"topics=a.b.c\nprimary.key.mode=primary", "primary.key.mode is \"primary\"; expected one of record_key"},
             {"topics=a.b.c\nprimary.key.mode=record_value", "record_value needs primary.key.fields"},
             {"topics=a.b.c\nprimary.key.mode=none", "insert.mode=upsert needs a key"},
             {"topics=a.b.c\nprimary.key.mode=kafka\nprimary.key.fields=id", "primary.key.mode=kafka takes no fields"},
             {"topics=a.b.c\nprimary.key.mode=kafka", "delete.enabled=true needs primary.key.mode=record_key"},
             {"topics=a.b.c\nerrors.tolerance=some", "errors.tolerance is \"some\"; expected one of none, all"},
             {"topics=a.b.c\nerrors.deadletter.table.name=letters",
              "dead letters are written with errors.tolerance=all"},
             {"topics=a.b.c\ndelivery.guarantee=once",
              "delivery.guarantee is \"once\"; expected one of at_least_once, exactly_once"},
             {"topics=a.b.c\norder.by=lsn", "order.by is \"lsn\"; expected one of none, source.lsn, source.ts_ms"},
             {"topics=a.b.c\norder.by=source.lsn\ninsert.mode=insert",
              "order.by=source.lsn keeps each key's newest event in its row: it needs insert.mode=upsert"}}) {
        const auto [code3, text3] = run(connection + "bootstrap.servers=x\n" + lines + "\n");
        INFO(text3);
        CHECK(code3 == 2);
        CHECK_THAT(text3, Catch::Contains(message));
    }
    std::filesystem::remove_all(directory);
}

namespace {

// Runs the program with `args` and `environment` added to this process's, its output to a file;
// the exit code and the output.
std::pair<int, std::string> run_program(const std::filesystem::path& directory, const std::string& args,
                                        const std::string& environment = "") {
    const auto output = directory / "out.txt";
    const auto command =
        fmt::format("env {} {} {} > {} 2>&1", environment, REDSINK_CONNECTOR_PROGRAM, args, output.string());
    const int status = std::system(command.c_str());
    return {WEXITSTATUS(status), redsink_test::read_file(output.string())};
}

// Starts the program with the properties file `file`, its output to `output` (truncated), with
// this process's environment and `extra` before it.
pid_t spawn_program(const std::filesystem::path& file, const std::filesystem::path& output,
                    std::vector<std::string> extra = {}) {
    const auto given = extra.size();
    for (char** entry = environ; *entry != nullptr; ++entry) {
        const std::string_view text(*entry);
        const auto name = text.substr(0, text.find('=') + 1);
        if (std::none_of(extra.begin(), extra.begin() + static_cast<std::ptrdiff_t>(given),
                         [&](const std::string& mine) { return mine.starts_with(name); }))
            extra.emplace_back(text);
    }
    std::vector<char*> envp;
    for (auto& entry : extra) envp.push_back(entry.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::string program = REDSINK_CONNECTOR_PROGRAM, path = file.string();
    std::array<char*, 3> argv{program.data(), path.data(), nullptr};
    pid_t child = -1;
    const int failed = ::posix_spawn(&child, program.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(failed == 0);
    return child;
}

// Waits for `child` to exit; how long it took.
std::chrono::milliseconds wait_exit(pid_t child, int& status) {
    const auto from = std::chrono::steady_clock::now();
    ::waitpid(child, &status, 0);
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - from);
}

// A TCP port on this host that nothing listens on: bound, then closed.
int closed_port() {
    const int socket = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(socket, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    socklen_t size = sizeof address;
    REQUIRE(::getsockname(socket, reinterpret_cast<sockaddr*>(&address), &size) == 0);
    ::close(socket);
    return ntohs(address.sin_port);
}

}  // namespace

TEST_CASE("the connector program: unknown properties, bad values, the environment, --help and --version", "[kafka]") {
    const auto directory = std::filesystem::temp_directory_path() / fmt::format("redsink-connector-cli-{}", ::getpid());
    std::filesystem::create_directories(directory);
    const auto path = (directory / "c.properties").string();
    const std::string valid =
        "connection.hostname=localhost\nconnection.username=u\nconnection.database=d\nbootstrap.servers=x\n";
    const auto with = [&](const std::string& content, const std::string& environment = "") {
        std::ofstream(path) << content;
        return run_program(directory, path, environment);
    };
    // A misspelling: the error names the property and the closest known name.
    for (const auto& [line, suggestion] : std::vector<std::pair<std::string, std::string>>{
             {"delete.enable=true", "unknown property delete.enable; did you mean delete.enabled?"},
             {"tasks.maxx=2", "unknown property tasks.maxx; did you mean tasks.max?"},
             {"insert_mode=upsert", "unknown property insert_mode; did you mean insert.mode?"},
             {"security.protocol=ssl", "did you mean kafka.security.protocol (a librdkafka property)?"},
             {"topic.a.b.customers.tabel=x", "did you mean topic.<topic>.table?"},
             {"frobnicate=1", "unknown property frobnicate (redsink_connector --help lists them)"}}) {
        const auto [code, text] = with(valid + "topics=a.b.customers\n" + line + "\n");
        INFO(text);
        CHECK(code == 2);
        CHECK_THAT(text, Catch::Contains(suggestion));
        CHECK_THAT(text, Catch::Contains("ERROR"));
    }
    // Each enumerated property's bad value, and the numbers.
    for (const auto& [line, message] : std::vector<std::pair<std::string, std::string>>{
             {"dialect=mysql", "dialect is \"mysql\"; expected one of redshift, postgres"},
             {"insert.mode=merge", "insert.mode is \"merge\"; expected one of insert, upsert"},
             {"delete.enabled=yes", "delete.enabled is \"yes\"; expected one of true, false"},
             {"schema.evolution=auto", "schema.evolution is \"auto\"; expected one of none, basic"},
             {"tasks.max=0", "tasks.max is \"0\"; expected a positive number"},
             {"shutdown.timeout.ms=soon", "shutdown.timeout.ms is \"soon\"; expected a positive number"},
             {"batch.size=-1", "batch.rows is \"-1\"; expected a positive number"},  // Connect's name
             {"batch.size=5\nbatch.rows=5", "batch.size and batch.rows are one property"},
             {"kafka.fetch.wait.max.ms=never", "the property kafka.fetch.wait.max.ms was refused"},
             {"metrics.port=http", "metrics.port is \"http\"; expected a port number, 0 (none) to 65535"},
             {"metrics.port=65536", "metrics.port is \"65536\"; expected a port number"},
             {"metrics.port=-1", "metrics.port is \"-1\"; expected a port number"}}) {
        const auto [code, text] = with(valid + "topics=a.b.customers\n" + line + "\n");
        INFO(text);
        CHECK(code == 2);
        CHECK_THAT(text, Catch::Contains(message));
    }
    // The environment over the file; a misspelled variable is an error, other tools' are not.
    const auto [env_code, env_text] = with(valid + "topics=a.b.customers\ninsert.mode=upsert\n",
                                           "REDSINK_INSERT_MODE=bogus REDSINK_JOBS=2 REDSINK_BUILD_DIR=/tmp");
    CHECK(env_code == 2);
    CHECK_THAT(env_text, Catch::Contains("insert.mode is \"bogus\""));
    const auto [typo_code, typo_text] = with(valid + "topics=a.b.customers\n", "REDSINK_INSERT_MOD=insert");
    CHECK(typo_code == 2);
    CHECK_THAT(typo_text,
               Catch::Contains("REDSINK_INSERT_MOD is no property's; did you mean REDSINK_INSERT_MODE (insert.mode)?"));
    const auto [other_code, other_text] =
        with(valid + "topics=a.b.invoices\nprimary.key.mode=none\n", "REDSINK_JOBS=2");
    CHECK(other_code == 2);
    CHECK_THAT(other_text, Catch::Contains("insert.mode=upsert needs a key"));
    // The command line.
    const auto [help_code, help_text] = run_program(directory, "--help");
    CHECK(help_code == 0);
    for (const auto* name : {"connection.hostname", "also as batch.size", "shutdown.timeout.ms", "metrics.port",
                             "kafka.session.timeout.ms", "default 30000", "exit codes:", "fenced", "--check"})
        CHECK_THAT(help_text, Catch::Contains(name));
    const auto [version_code, version_text] = run_program(directory, "--version");
    CHECK(version_code == 0);
    CHECK_THAT(version_text, Catch::StartsWith("redsink_connector 0."));
    CHECK(run_program(directory, "--frobnicate").first == 2);
    CHECK(run_program(directory, "").first == 2);
    std::filesystem::remove_all(directory);
}

namespace {

// Whether a progress line a process wrote into `file` after byte `from` shows `partitions` of the
// customers' topic's two partitions held.
bool holds_partitions(const std::filesystem::path& file, std::size_t from, std::size_t partitions) {
    const auto give_up = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < give_up) {
        const auto text = redsink_test::read_file(file.string());
        const auto line_at = text.rfind("progress: ");
        if (line_at != std::string::npos && line_at >= from && text.find('\n', line_at) != std::string::npos) {
            const auto line = text.substr(line_at, text.find('\n', line_at) - line_at);
            const auto held = static_cast<std::size_t>((line.find("customers[0]") != std::string::npos ? 1 : 0) +
                                                       (line.find("customers[1]") != std::string::npos ? 1 : 0));
            if (held == partitions) return true;
        }
        std::this_thread::sleep_for(100ms);
    }
    return false;
}

// Two processes of the program in one group, with one properties file in `directory`; their
// output in out0.txt and out1.txt there (truncated at each start).
class ProgramPair {
public:
    ProgramPair(std::filesystem::path directory, std::filesystem::path properties)
        : directory_(std::move(directory)), properties_(std::move(properties)) {}

    void start(std::size_t which) {
        const auto environment =
            std::vector<std::string>{std::string("REDSINK_CONNINFO=") + std::getenv("REDSINK_TEST_CONNINFO")};
        children_.at(which) = spawn_program(properties_, out(which), environment);
    }
    // Sends `signal` to the process and waits for it; its status.
    int stop(std::size_t which, int signal) {
        int status = 0;
        ::kill(children_.at(which), signal);
        ::waitpid(children_.at(which), &status, 0);
        children_.at(which) = 0;
        return status;
    }
    [[nodiscard]] pid_t pid(std::size_t which) const { return children_.at(which); }
    // The process exited, and the caller waited for it.
    void forget(std::size_t which) { children_.at(which) = 0; }
    [[nodiscard]] std::filesystem::path out(std::size_t which) const {
        return directory_ / fmt::format("out{}.txt", which);
    }
    [[nodiscard]] std::string output() const {
        return redsink_test::read_file(out(0).string()) + "\n----\n" + redsink_test::read_file(out(1).string());
    }
    // Waits up to 90 s for `done` (a read of the table: it throws until the table is made); fails
    // the test when a process exits.
    bool wait_for(const std::function<bool()>& done) {
        const auto give_up = std::chrono::steady_clock::now() + 90s;
        while (std::chrono::steady_clock::now() < give_up) {
            for (const auto child : children_) {
                int status = 0;
                if (child != 0 && ::waitpid(child, &status, WNOHANG) != 0) FAIL("a process exited\n" << output());
            }
            try {
                if (done()) return true;
            } catch (const std::exception&) {
                // not created yet
            }
            std::this_thread::sleep_for(200ms);
        }
        return false;
    }

private:
    std::filesystem::path directory_, properties_;
    std::array<pid_t, 2> children_{};
};

}  // namespace

TEST_CASE(
    "the connector program: two processes in one group while the source adds a column, a SIGKILL after it, "
    "a restart",
    "[kafka]") {
    redsink_test::kafka::MockCluster cluster;
    auto table = inventory_tables()[0];  // customers, 2 partitions
    table.table = "e2e_pair_customers";
    redsink_test::drop_table(table.table);
    TableStream stream(cluster, table, 77);
    cluster.create_topic(stream.topic(), 2);
    stream.produce(600, 200);
    const auto directory =
        std::filesystem::temp_directory_path() / fmt::format("redsink-connector-pair-{}", ::getpid());
    std::filesystem::create_directories(directory);
    const auto path = directory / "c.properties";
    std::ofstream(path) << "table.schema=" << redsink_test::sink_schema << "\ndialect=postgres\n"
                        << "bootstrap.servers=" << cluster.bootstraps()
                        << "\ngroup.id=connector-pair\ntopics=" << stream.topic() << "\ntopic." << stream.topic()
                        << ".table=" << table.table
                        << "\ntasks.max=4\nbatch.rows=50\nprogress.interval.ms=300\nkafka.fetch.wait.max.ms=50\n"
                        << "kafka.session.timeout.ms=6000\nkafka.heartbeat.interval.ms=500\n";
    ProgramPair pair(directory, path);
    const auto written = [&] { return pair.wait_for([&] { return stream.table_rows() == stream.model(); }); };
    pair.start(0);
    pair.start(1);
    CHECK(written());
    // The source adds a column: each process's sink meets it in its own partition, and both add
    // it (one ALTER TABLE adds it, the other finds it added).
    stream.add_column();
    stream.produce(600, 200);
    CHECK(written());
    {
        auto conn = redsink_test::reader();
        CHECK(redsink_test::catalog_columns(conn, table.table).back() == "age integer");
    }
    // One process killed: the other takes its partition (after kafka.session.timeout.ms) and
    // writes again what the dead one had not acknowledged; the table stays equal to the model.
    (void)pair.stop(0, SIGKILL);
    stream.produce(300, 200);
    CHECK(written());
    // The restarted process takes a partition back; then each stops in turn once the group is
    // settled (a stop while the group rebalances cannot commit its last offsets: they are read again).
    pair.start(0);
    stream.produce(200, 200);
    CHECK(written());
    const auto settled = [&](std::size_t which, std::size_t from, std::size_t partitions) {
        return holds_partitions(pair.out(which), from, partitions);
    };
    const auto size_of = [&](std::size_t which) { return redsink_test::read_file(pair.out(which).string()).size(); };
    CHECK(settled(0, 0, 1));
    CHECK(settled(1, size_of(1), 1));
    std::this_thread::sleep_for(1s);  // a commit_interval: what was written, committed
    auto status = pair.stop(0, SIGTERM);
    {
        INFO(pair.output());
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
    CHECK(settled(1, size_of(1), 2));
    std::this_thread::sleep_for(1s);
    status = pair.stop(1, SIGTERM);
    {
        INFO(pair.output());
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
    CHECK(stream.table_rows() == stream.model());
    CHECK(cluster.committed("connector-pair", stream.topic(), 2) == stream.ends());
    std::filesystem::remove_all(directory);
}

TEST_CASE(
    "the connector program, delivery.guarantee=exactly_once: two processes append one row per event while the "
    "source adds a column, through a SIGKILL and a restart",
    "[kafka]") {
    redsink_test::kafka::MockCluster cluster;
    auto table = inventory_tables()[0];  // customers, 2 partitions; each event's email is its own
    table.table = "e2e_once_customers";
    redsink_test::drop_table(table.table);
    redsink_test::drop_table("redsink_positions_" + table.table);
    TableStream stream(cluster, table, 91);
    cluster.create_topic(stream.topic(), 2);
    stream.produce(800, 300);
    const auto directory =
        std::filesystem::temp_directory_path() / fmt::format("redsink-connector-once-{}", ::getpid());
    std::filesystem::create_directories(directory);
    const auto path = directory / "c.properties";
    // insert.mode=insert: every create and update a row of its own, so an event written twice is
    // a row too many. The redshift dialect, on the serializable stand-in.
    std::ofstream(path) << "table.schema=" << redsink_test::sink_schema << "\ndialect=redshift\n"
                        << "insert.mode=insert\ndelete.enabled=false\nprimary.key.mode=none\n"
                        << "delivery.guarantee=exactly_once\nbootstrap.servers=" << cluster.bootstraps()
                        << "\ngroup.id=connector-once\ntopics=" << stream.topic() << "\ntopic." << stream.topic()
                        << ".table=" << table.table
                        << "\ntasks.max=2\nbatch.rows=40\nprogress.interval.ms=300\nkafka.fetch.wait.max.ms=50\n"
                        << "kafka.session.timeout.ms=6000\nkafka.heartbeat.interval.ms=500\n";
    ProgramPair pair(directory, path);
    // The rows, and the distinct events among them.
    const auto counts = [&] {
        auto conn = redsink_test::reader();
        const auto result =
            conn.exec("SELECT count(*), count(DISTINCT email) FROM " + redsink_test::qualified(table.table));
        return std::pair{result.as<std::int64_t>(0, 0), result.as<std::int64_t>(0, 1)};
    };
    const auto written = [&] { return pair.wait_for([&] { return counts().second == stream.changes(); }); };
    pair.start(0);
    pair.start(1);
    CHECK(written());
    // The source adds a column, and one process is killed while it writes: batches it committed in
    // the table are past the offsets it committed to Kafka. The other takes its partition over,
    // claims it, and starts after what the table holds; so does the restarted one when it takes a
    // partition back.
    stream.add_column();
    stream.produce(1500, 300);
    std::this_thread::sleep_for(300ms);
    (void)pair.stop(0, SIGKILL);
    CHECK(written());
    pair.start(0);
    stream.produce(400, 300);
    CHECK(written());
    CHECK(holds_partitions(pair.out(0), 0, 1));
    CHECK(holds_partitions(pair.out(1), redsink_test::read_file(pair.out(1).string()).size(), 1));
    std::this_thread::sleep_for(1s);  // a commit_interval: what was written, committed
    for (const std::size_t which : {0, 1}) {
        const auto status = pair.stop(which, SIGTERM);
        INFO(pair.output());
        CHECK(WIFEXITED(status));
    }
    const auto [rows, distinct] = counts();
    INFO(pair.output());
    CHECK(distinct == stream.changes());
    CHECK(rows == distinct);
    {
        auto conn = redsink_test::reader();
        CHECK(redsink_test::catalog_columns(conn, table.table).back() == "age integer");
    }
    // Per partition, the positions table holds its last offset.
    auto conn = redsink_test::reader();
    CHECK(
        redsink_test::query_rows(conn, "SELECT source_partition, committed_offset FROM " +
                                           redsink_test::qualified("redsink_positions_" + table.table) +
                                           " WHERE source_partition >= 0") ==
        std::vector<std::string>{fmt::format("0|{}", stream.ends()[0] - 1), fmt::format("1|{}", stream.ends()[1] - 1)});
    CHECK_THAT(pair.output(), Catch::Contains("delivery.guarantee=exactly_once"));
    std::filesystem::remove_all(directory);
}

TEST_CASE(
    "the connector program, delivery.guarantee=exactly_once: a process cut off while its partition goes to "
    "another is fenced, exit 3, and its batch commits nothing",
    "[kafka]") {
    redsink_test::kafka::MockCluster cluster;
    auto table = inventory_tables()[0];
    table.partitions = 1;
    table.table = "e2e_fenced_customers";
    redsink_test::drop_table(table.table);
    redsink_test::drop_table("redsink_positions_" + table.table);
    TableStream stream(cluster, table, 19);
    cluster.create_topic(stream.topic(), 1);
    stream.produce(100, 1000);
    const auto directory =
        std::filesystem::temp_directory_path() / fmt::format("redsink-connector-fenced-{}", ::getpid());
    std::filesystem::create_directories(directory);
    const auto path = directory / "c.properties";
    std::ofstream(path) << "table.schema=" << redsink_test::sink_schema << "\ndialect=postgres\n"
                        << "insert.mode=insert\ndelete.enabled=false\nprimary.key.mode=none\n"
                        << "delivery.guarantee=exactly_once\nbootstrap.servers=" << cluster.bootstraps()
                        << "\ngroup.id=connector-fenced\ntopics=" << stream.topic() << "\ntopic." << stream.topic()
                        << ".table=" << table.table
                        << "\nbatch.rows=100000\nprogress.interval.ms=300\nkafka.fetch.wait.max.ms=50\n"
                        << "kafka.session.timeout.ms=6000\nkafka.heartbeat.interval.ms=500\n";
    ProgramPair pair(directory, path);
    const auto count = [&] {
        auto conn = redsink_test::reader();
        return conn.exec("SELECT count(*), count(DISTINCT email) FROM " + redsink_test::qualified(table.table))
            .as<std::int64_t>(0, 0);
    };
    pair.start(0);
    CHECK(pair.wait_for([&] { return count() == stream.changes(); }));
    // Read and held in the sink (a batch is handed over after flush_interval, 1 s), then cut off.
    stream.produce(50, 1000);
    std::this_thread::sleep_for(300ms);
    ::kill(pair.pid(0), SIGSTOP);
    // The other process gets the partition once the group drops the first, claims it, writes.
    pair.start(1);
    CHECK(pair.wait_for([&] { return count() == stream.changes(); }));
    ::kill(pair.pid(0), SIGCONT);
    int status = 0;
    ::waitpid(pair.pid(0), &status, 0);
    pair.forget(0);
    {
        INFO(pair.output());
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 3);
        CHECK_THAT(pair.output(), Catch::Contains("fenced"));
    }
    stream.produce(30, 1000);
    CHECK(pair.wait_for([&] { return count() == stream.changes(); }));
    (void)pair.stop(1, SIGTERM);
    auto conn = redsink_test::reader();
    CHECK(conn.exec("SELECT count(*) - count(DISTINCT email) FROM " + redsink_test::qualified(table.table))
              .as<std::int64_t>(0, 0) == 0);
    std::filesystem::remove_all(directory);
}

TEST_CASE("the connector program, order.by=source.ts_ms: a replay of older messages leaves each key at its newest",
          "[kafka]") {
    redsink_test::kafka::MockCluster cluster;
    auto table = inventory_tables()[0];  // customers, 2 partitions
    table.table = "e2e_newest_customers";
    redsink_test::drop_table(table.table);
    redsink_test::drop_table("redsink_tombstones_" + table.table);
    TableStream stream(cluster, table, 55);
    cluster.create_topic(stream.topic(), 2);
    stream.produce(600, 60);
    // The first 500 messages again (older creates, updates, deletes and tombstones over newer rows),
    // then newer events.
    stream.replay(500);
    stream.produce(200, 60);
    const auto directory =
        std::filesystem::temp_directory_path() / fmt::format("redsink-connector-newest-{}", ::getpid());
    std::filesystem::create_directories(directory);
    const auto path = directory / "c.properties";
    std::ofstream(path) << "table.schema=" << redsink_test::sink_schema << "\ndialect=redshift\norder.by=source.ts_ms\n"
                        << "bootstrap.servers=" << cluster.bootstraps()
                        << "\ngroup.id=connector-newest\ntopics=" << stream.topic() << "\ntopic." << stream.topic()
                        << ".table=" << table.table
                        << "\ntasks.max=2\nbatch.rows=70\nprogress.interval.ms=300\nkafka.fetch.wait.max.ms=50\n";
    const auto output = directory / "out.txt";
    const auto child =
        spawn_program(path, output, {std::string("REDSINK_CONNINFO=") + std::getenv("REDSINK_TEST_CONNINFO")});
    const auto give_up = std::chrono::steady_clock::now() + 90s;
    while (cluster.committed("connector-newest", stream.topic(), 2) != stream.ends() &&
           std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(200ms);
    ::kill(child, SIGTERM);
    int status = 0;
    ::waitpid(child, &status, 0);
    INFO(redsink_test::read_file(output.string()));
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(cluster.committed("connector-newest", stream.topic(), 2) == stream.ends());
    CHECK(stream.table_rows() == stream.model());
    auto conn = redsink_test::reader();
    CHECK(redsink_test::catalog_columns(conn, table.table).back() == "__source_position bigint NOT NULL");
}

TEST_CASE("the connector program: a field whose type changes stops it, or with errors.tolerance=all is a dead letter",
          "[kafka]") {
    // apache/paimon's schema-evolution stream (fixtures/real/README.md): products, `age` INT added at
    // offset 1, then `age` as BIGINT (2), INT again (3) and a string (4). No message keys: the key is
    // the row's id (primary.key.mode=record_value).
    const auto messages = redsink_test::dbz::read_messages(
        redsink_test::dbz::fixture_path("fixtures/real/paimon_mysql_schema_evolution.txt"));
    REQUIRE(messages.size() == 5);
    redsink_test::kafka::MockCluster cluster;
    const std::string topic = "paimon.inventory.products";
    cluster.create_topic(topic, 1);
    redsink_test::kafka::Producer producer(cluster);
    for (const auto& message : messages) producer.send(topic, 0, message.key, message.value);
    producer.flush();
    const auto directory =
        std::filesystem::temp_directory_path() / fmt::format("redsink-connector-types-{}", ::getpid());
    std::filesystem::create_directories(directory);
    const auto path = directory / "c.properties";
    const auto output = directory / "out.txt";
    const std::string table = "e2e_evolution", letters = "e2e_evolution_letters";
    const auto properties = [&](const std::string& group, const std::string& more) {
        std::ofstream(path) << "table.schema=" << redsink_test::sink_schema << "\ndialect=postgres\n"
                            << "bootstrap.servers=" << cluster.bootstraps() << "\ngroup.id=" << group
                            << "\ntopics=" << topic << "\ntopic." << topic << ".table=" << table
                            << "\nprimary.key.mode=record_value\nprimary.key.fields=id\nbatch.rows=2\n"
                            << "kafka.fetch.wait.max.ms=50\n"
                            << more;
    };
    const auto environment =
        std::vector<std::string>{std::string("REDSINK_CONNINFO=") + std::getenv("REDSINK_TEST_CONNINFO")};
    auto conn = redsink_test::reader();

    // errors.tolerance=none (the default): the program stops at offset 2, naming table, column, types.
    redsink_test::drop_table(table);
    properties("connector-types-stop", "");
    auto child = spawn_program(path, output, environment);
    int status = 0;
    const auto exited = [&] {
        const auto give_up = std::chrono::steady_clock::now() + 60s;
        while (std::chrono::steady_clock::now() < give_up) {
            if (::waitpid(child, &status, WNOHANG) == child) return true;
            std::this_thread::sleep_for(100ms);
        }
        ::kill(child, SIGKILL);
        ::waitpid(child, &status, 0);
        return false;
    };
    {
        REQUIRE(exited());
        const auto text = redsink_test::read_file(output.string());
        INFO(text);
        CHECK(WEXITSTATUS(status) == 1);
        CHECK_THAT(text, Catch::Contains(fmt::format("ERROR [{}.{}]", redsink_test::sink_schema, table)));
        CHECK_THAT(text, Catch::Contains("column \"age\"") && Catch::Contains("offset 2") &&
                             Catch::Contains("BIGINT") && Catch::Contains("INTEGER"));
        // Nothing past the refused message is acknowledged.
        CHECK(cluster.committed("connector-types-stop", topic, 1).at(0) <= 2);
        CHECK(redsink_test::catalog_columns(conn, table).back() == "age integer");
    }

    // errors.tolerance=all: offsets 2 and 4 are dead letters in errors.deadletter.table.name, the rest written.
    redsink_test::drop_table(table);
    redsink_test::drop_table(letters);
    properties("connector-types-letters", "errors.tolerance=all\nerrors.deadletter.table.name=" + letters + "\n");
    child = spawn_program(path, output, environment);
    const auto rows = [&] {
        try {
            return redsink_test::query_rows(conn, "SELECT id, name, age FROM " + redsink_test::qualified(table));
        } catch (const std::exception&) {
            return std::vector<std::string>{};
        }
    };
    const std::vector<std::string> expected{"101|scooter|<NULL>", "103|12-pack drill bits|18", "105|hammer|24"};
    const auto give_up = std::chrono::steady_clock::now() + 60s;
    while ((rows() != expected || cluster.committed("connector-types-letters", topic, 1).at(0) != 5) &&
           std::chrono::steady_clock::now() < give_up && ::waitpid(child, &status, WNOHANG) == 0)
        std::this_thread::sleep_for(200ms);
    ::kill(child, SIGTERM);
    ::waitpid(child, &status, 0);
    const auto text = redsink_test::read_file(output.string());
    INFO(text);
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(rows() == expected);
    CHECK(redsink_test::query_rows(conn, "SELECT source_offset, column_name FROM " + redsink_test::qualified(letters) +
                                             " ORDER BY source_offset") == std::vector<std::string>{"2|age", "4|age"});
    CHECK(cluster.committed("connector-types-letters", topic, 1).at(0) == 5);
    std::filesystem::remove_all(directory);
}

TEST_CASE("the connector program: --check reports the database and the topics", "[kafka]") {
    redsink_test::kafka::MockCluster cluster;
    cluster.create_topic("dbserver1.inventory.customers", 2);
    const auto directory =
        std::filesystem::temp_directory_path() / fmt::format("redsink-connector-check-{}", ::getpid());
    std::filesystem::create_directories(directory);
    const auto path = (directory / "c.properties").string();
    const auto conninfo = fmt::format("REDSINK_CONNINFO='{}'", std::getenv("REDSINK_TEST_CONNINFO"));
    const auto properties = fmt::format("table.schema={}\ndialect=postgres\nbootstrap.servers={}\n",
                                        redsink_test::sink_schema, cluster.bootstraps());
    std::ofstream(path) << properties << "topics=dbserver1.inventory.customers\n";
    const auto [code, text] = run_program(directory, "--check " + path, conninfo);
    INFO(text);
    CHECK(code == 0);
    CHECK_THAT(text, Catch::Contains("topic dbserver1.inventory.customers: 2 partitions"));
    CHECK_THAT(text, Catch::Contains("ready"));
    std::ofstream(path) << properties << "topics=dbserver1.inventory.customers,dbserver1.inventory.orders\n";
    const auto [missing_code, missing_text] = run_program(directory, "--check " + path, conninfo);
    INFO(missing_text);
    CHECK(missing_code == 1);
    CHECK_THAT(missing_text, Catch::Contains("topic dbserver1.inventory.orders: "));
    CHECK_THAT(missing_text, Catch::Contains("not ready"));
    // topics.regex: the topics that match now, and their tables.
    cluster.create_topic("dbserver1.inventory.addresses", 1);
    cluster.create_topic("other.inventory.orders", 1);
    std::ofstream(path) << properties
                        << "topics.regex=dbserver1\\.inventory\\..*\ntable.name.format=t_${source.table}\n";
    const auto [regex_code, regex_text] = run_program(directory, "--check " + path, conninfo);
    INFO(regex_text);
    CHECK(regex_code == 0);
    CHECK_THAT(regex_text, Catch::Contains("topic dbserver1.inventory.addresses: 1 partitions"));
    CHECK_THAT(regex_text, Catch::Contains("2 topics match topics.regex now"));
    CHECK_THAT(regex_text, Catch::Contains(fmt::format("table {}.t_customers (dbserver1.inventory.customers)",
                                                       redsink_test::sink_schema)));
    CHECK(regex_text.find("other.inventory.orders") == std::string::npos);
    std::ofstream(path) << properties << "topics=dbserver1.inventory.customers\ninsert.mode=merge\n";
    CHECK(run_program(directory, "--check " + path, conninfo).first == 2);
    std::filesystem::remove_all(directory);
}

TEST_CASE(
    "the connector program stops within shutdown.timeout.ms with the database or Kafka down; a second signal at once",
    "[kafka]") {
    const auto directory =
        std::filesystem::temp_directory_path() / fmt::format("redsink-connector-stop-{}", ::getpid());
    std::filesystem::create_directories(directory);
    const auto port = closed_port();
    // A topic's sink is made at its first message: one message, and the database down.
    redsink_test::kafka::MockCluster cluster;
    auto table = inventory_tables()[0];
    table.partitions = 1;
    TableStream stream(cluster, table, 3);
    cluster.create_topic(stream.topic(), 1);
    stream.produce(1, 1);
    const auto start = [&](int timeout_ms) {
        const auto path = directory / "c.properties";
        std::ofstream(path) << "connection.hostname=127.0.0.1\nconnection.port=" << port
                            << "\nconnection.username=u\nconnection.database=d\nbootstrap.servers="
                            << cluster.bootstraps() << "\ngroup.id=connector-stop-" << timeout_ms
                            << "\ntopics=" << stream.topic() << "\nshutdown.timeout.ms=" << timeout_ms << "\n";
        const auto child = spawn_program(path, directory / "out.txt");
        // Until the sink's start is retrying the database.
        const auto give_up = std::chrono::steady_clock::now() + 30s;
        while (redsink_test::read_file((directory / "out.txt").string()).find("columns from the first message") ==
                   std::string::npos &&
               std::chrono::steady_clock::now() < give_up)
            std::this_thread::sleep_for(50ms);
        return child;
    };
    // The sink's start retries the database (a 5-minute budget); SIGTERM: given up at 3/4 of the timeout.
    auto child = start(2000);
    std::this_thread::sleep_for(500ms);
    ::kill(child, SIGTERM);
    int status = 0;
    const auto took = wait_exit(child, status);
    const auto text = redsink_test::read_file((directory / "out.txt").string());
    INFO(text << "\nstopped in " << took.count() << " ms");
    CHECK(took < 2500ms);
    CHECK(took >= 1000ms);
    CHECK_THAT(text, Catch::Contains("columns from the first message"));
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 1);
    CHECK_THAT(text, Catch::Contains("giving up what waits to be tried again"));
    CHECK_THAT(text, Catch::Contains("stopped: SinkOptions::stop"));
    // A second signal exits at once, 128 + its number.
    child = start(60'000);
    std::this_thread::sleep_for(500ms);
    ::kill(child, SIGTERM);
    std::this_thread::sleep_for(300ms);
    ::kill(child, SIGINT);
    const auto second = wait_exit(child, status);
    INFO("the second signal: " << second.count() << " ms");
    CHECK(second < 1000ms);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 130);
    // Kafka unreachable (its bootstrap server a closed port): the stop still ends within the bound.
    {
        const auto path = directory / "k.properties";
        std::ofstream(path) << "connection.hostname=127.0.0.1\nconnection.port=" << port
                            << "\nconnection.username=u\nconnection.database=d\nbootstrap.servers=127.0.0.1:"
                            << closed_port() << "\ngroup.id=connector-stop-kafka\ntopics=" << stream.topic()
                            << "\nshutdown.timeout.ms=2000\n";
        child = spawn_program(path, directory / "k.txt");
        std::this_thread::sleep_for(1500ms);
        ::kill(child, SIGTERM);
        const auto kafka_down = wait_exit(child, status);
        INFO(redsink_test::read_file((directory / "k.txt").string())
             << "\nKafka down: stopped in " << kafka_down.count() << " ms");
        CHECK(kafka_down < 2500ms);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);  // nothing was read: nothing to commit
    }
    // The broker going down after the program read and wrote a message: the stop cannot commit
    // its offset, and still ends within the bound, exit 1 (the message is read again next time).
    {
        redsink_test::drop_table("e2e_stop_kafka");
        const auto path = directory / "b.properties";
        std::ofstream(path) << "table.schema=" << redsink_test::sink_schema
                            << "\ndialect=postgres\nbootstrap.servers=" << cluster.bootstraps()
                            << "\ngroup.id=connector-stop-broker\ntopics=" << stream.topic() << "\ntopic."
                            << stream.topic() << ".table=e2e_stop_kafka\nshutdown.timeout.ms=2000\n";
        child = spawn_program(path, directory / "b.txt",
                              {std::string("REDSINK_CONNINFO=") + std::getenv("REDSINK_TEST_CONNINFO")});
        const auto give_up = std::chrono::steady_clock::now() + 30s;
        const auto written = [] {
            try {
                auto conn = redsink_test::reader();
                return conn.exec("SELECT count(*) FROM " + redsink_test::qualified("e2e_stop_kafka"))
                           .as<std::int64_t>(0, 0) == 1;
            } catch (const std::exception&) {
                return false;
            }
        };
        while (!written() && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(100ms);
        CHECK(written());
        cluster.broker_down(1);
        ::kill(child, SIGTERM);
        const auto broker_down = wait_exit(child, status);
        cluster.broker_up(1);
        INFO(redsink_test::read_file((directory / "b.txt").string())
             << "\nbroker down: stopped in " << broker_down.count() << " ms");
        CHECK(broker_down < 2500ms);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 1);
    }
    std::filesystem::remove_all(directory);
}

TEST_CASE(
    "the connector program: SIGTERM while a batch waits on a lock exits at shutdown.timeout.ms; nothing "
    "uncommitted is acknowledged",
    "[kafka]") {
    redsink_test::kafka::MockCluster cluster;
    auto table = inventory_tables()[0];
    table.table = "e2e_stop_customers";
    table.partitions = 1;
    redsink_test::drop_table(table.table);
    TableStream stream(cluster, table, 5);
    cluster.create_topic(stream.topic(), 1);
    stream.produce(200, 100);
    const auto directory =
        std::filesystem::temp_directory_path() / fmt::format("redsink-connector-lock-{}", ::getpid());
    std::filesystem::create_directories(directory);
    const auto path = directory / "c.properties";
    std::ofstream(path) << "table.schema=" << redsink_test::sink_schema << "\ndialect=postgres\nbatch.rows=50\n"
                        << "bootstrap.servers=" << cluster.bootstraps()
                        << "\ngroup.id=connector-lock\ntopics=" << stream.topic() << "\ntopic." << stream.topic()
                        << ".table=" << table.table << "\n"
                        << "shutdown.timeout.ms=2000\nprogress.interval.ms=300\nkafka.session.timeout.ms=6000\n"
                        << "kafka.heartbeat.interval.ms=500\nkafka.fetch.wait.max.ms=50\n";
    const auto output = directory / "out.txt";
    const auto child =
        spawn_program(path, output, {std::string("REDSINK_CONNINFO=") + std::getenv("REDSINK_TEST_CONNINFO")});
    const auto committed = [&] { return cluster.committed("connector-lock", stream.topic(), 1); };
    const auto give_up = std::chrono::steady_clock::now() + 60s;
    const auto written = [&] {
        try {
            return stream.table_rows() == stream.model() && committed() == stream.ends();
        } catch (const std::exception&) {
            return false;  // the table is created by the first batch
        }
    };
    while (!written() && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(200ms);
    REQUIRE(written());
    const auto before = stream.ends();
    // The next batches wait on this lock (lock_timeout is a minute), past shutdown.timeout.ms.
    auto locker = redsink_test::reader();
    locker.exec("BEGIN");
    locker.exec("LOCK TABLE " + redsink_test::qualified(table.table) + " IN ACCESS EXCLUSIVE MODE");
    stream.produce(200, 100);
    std::this_thread::sleep_for(1500ms);
    ::kill(child, SIGTERM);
    int status = 0;
    const auto took = wait_exit(child, status);
    locker.exec("ROLLBACK");
    const auto text = redsink_test::read_file(output.string());
    INFO(text << "\nstopped in " << took.count() << " ms");
    CHECK(took < 2700ms);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 1);
    CHECK_THAT(text, Catch::Contains("shutdown.timeout.ms spent: exiting now"));
    CHECK(committed() == before);
    std::filesystem::remove_all(directory);
}

namespace {

// One HTTP/1.1 request to 127.0.0.1:`port` on a plain socket: the status line and headers, and
// the body (read to the end: the server closes the connection). Nothing when it cannot connect.
std::optional<std::pair<std::string, std::string>> http_get(int port, const std::string& path,
                                                            const std::string& method = "GET") {
    const int socket = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(socket >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::connect(socket, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(socket);
        return std::nullopt;
    }
    const auto request = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nAccept: text/plain\r\n\r\n";
    REQUIRE(::send(socket, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size()));
    std::string reply;
    std::array<char, 4096> buffer{};
    for (ssize_t got = 0; (got = ::recv(socket, buffer.data(), buffer.size(), 0)) > 0;)
        reply.append(buffer.data(), static_cast<std::size_t>(got));
    ::close(socket);
    const auto split = reply.find("\r\n\r\n");
    if (split == std::string::npos) return std::pair{reply, std::string()};
    return std::pair{reply.substr(0, split), reply.substr(split + 4)};
}

// The text format's samples by the text before the value (name{label="value",...}), and the
// families' types by name. Fails the test on a line that is neither a comment nor a sample.
struct Scrape {
    std::map<std::string, double> samples;
    std::map<std::string, std::string> types;
    std::map<std::string, std::string> helps;

    [[nodiscard]] std::optional<double> value(const std::string& sample) const {
        const auto at = samples.find(sample);
        return at == samples.end() ? std::nullopt : std::optional(at->second);
    }
};
Scrape parse_scrape(const std::string& text) {
    Scrape out;
    std::stringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
            const auto rest = line.substr(7);
            const auto space = rest.find(' ');
            REQUIRE(space != std::string::npos);
            (line[2] == 'T' ? out.types : out.helps)[rest.substr(0, space)] = rest.substr(space + 1);
            continue;
        }
        INFO(line);
        const auto space = line.rfind(' ');
        REQUIRE(space != std::string::npos);
        const auto value = line.substr(space + 1);
        double number = 0;
        if (value == "NaN")
            number = std::numeric_limits<double>::quiet_NaN();
        else
            REQUIRE(std::from_chars(value.data(), value.data() + value.size(), number).ec == std::errc{});
        REQUIRE(out.samples.emplace(line.substr(0, space), number).second);  // no sample twice
    }
    return out;
}

}  // namespace

TEST_CASE("the connector's metrics: the text format, its escapes, and the HTTP answers", "[kafka][metrics]") {
    namespace metrics = connector::metrics;
    CHECK(metrics::escape_label(R"(plain)") == "plain");
    CHECK(metrics::escape_label("a\"b\\c\nd") == R"(a\"b\\c\nd)");
    CHECK(metrics::escape_help("say \"x\" \\ then\nmore") == R"(say "x" \\ then\nmore)");
    CHECK(metrics::format_value(3) == "3");
    CHECK(metrics::format_value(0.25) == "0.25");
    CHECK(metrics::format_value(1e20) == "1e+20");
    CHECK(metrics::format_value(std::numeric_limits<double>::quiet_NaN()) == "NaN");
    CHECK(metrics::format_value(-std::numeric_limits<double>::infinity()) == "-Inf");

    metrics::Exposition text;
    text.family("redsink_example_total", "counter", "An example, with a\nnewline.");
    text.sample("redsink_example_total", {{"table", "s.t"}, {"partition", "2"}}, 7);
    text.sample("redsink_example_total", {}, 0.5);
    CHECK(text.text() ==
          "# HELP redsink_example_total An example, with a\\nnewline.\n"
          "# TYPE redsink_example_total counter\n"
          "redsink_example_total{table=\"s.t\",partition=\"2\"} 7\n"
          "redsink_example_total 0.5\n");

    // A snapshot: a table whose name needs escapes, a partition with its lag, one without.
    metrics::Snapshot snapshot;
    redsink::SinkStats stats;
    stats.events = 12;
    stats.events_in = 13;
    stats.events_pending = 1;
    stats.batches = 3;
    stats.retries = 2;
    stats.dead_letters = 1;
    stats.db_time = std::chrono::milliseconds(1500);
    snapshot.tables.emplace("inventory.\"odd\\name\"", stats);
    snapshot.tables.emplace("inventory.customers", redsink::SinkStats{});
    snapshot.consumer.messages = 13;
    snapshot.consumer.partitions[{"dbserver1.inventory.customers", 0}].lag = 5;
    snapshot.consumer.partitions[{"dbserver1.inventory.customers", 1}].lag = -1;  // unknown: no sample
    snapshot.statistics = metrics::read_statistics(R"({"name":"rdkafka#consumer-1","rxmsgs":42,"replyq":0,
        "brokers":{"localhost:9092/1":{"rxmsgs":41}}})");
    CHECK(snapshot.statistics == std::map<std::string, double>{{"replyq", 0}, {"rxmsgs", 42}});
    CHECK(metrics::read_statistics("not json").empty());
    const auto rendered = metrics::render(snapshot);
    INFO(rendered);
    const auto scrape = parse_scrape(rendered);
    const std::string odd = R"({table="inventory.\"odd\\name\""})";
    CHECK(scrape.value("redsink_events_total" + odd) == 12);
    CHECK(scrape.value("redsink_events_received_total" + odd) == 13);
    CHECK(scrape.value("redsink_events_pending" + odd) == 1);
    CHECK(scrape.value("redsink_batches_total" + odd) == 3);
    CHECK(scrape.value("redsink_retries_total" + odd) == 2);
    CHECK(scrape.value("redsink_dead_letters_total" + odd) == 1);
    CHECK(scrape.value("redsink_commit_seconds_total" + odd) == 1.5);
    CHECK(scrape.value(R"(redsink_events_total{table="inventory.customers"})") == 0);
    CHECK(scrape.value(R"(redsink_consumer_lag{topic="dbserver1.inventory.customers",partition="0"})") == 5);
    CHECK_FALSE(scrape.value(R"(redsink_consumer_lag{topic="dbserver1.inventory.customers",partition="1"})"));
    CHECK(scrape.value("redsink_consumer_messages_total") == 13);
    CHECK(scrape.value("redsink_consumer_partitions") == 2);
    CHECK(scrape.value("redsink_kafka_messages_received_total") == 42);
    CHECK(scrape.value("redsink_kafka_reply_queue") == 0);
    CHECK_FALSE(scrape.value("redsink_kafka_sent_bytes_total"));  // not in the statistics
    // Every sample's family has its HELP and TYPE, given once, before its samples.
    for (const auto& [sample, value] : scrape.samples) {
        const auto name = sample.substr(0, sample.find('{'));
        CHECK(scrape.types.contains(name));
        CHECK(scrape.helps.contains(name));
        CHECK(rendered.find("# TYPE " + name + " ") < rendered.find("\n" + sample + " "));
    }
    CHECK(scrape.types.at("redsink_events_total") == "counter");
    CHECK(scrape.types.at("redsink_commit_seconds_total") == "counter");
    CHECK(scrape.types.at("redsink_consumer_lag") == "gauge");
    CHECK(scrape.types.at("redsink_events_pending") == "gauge");

    // The HTTP answers: /metrics (a query string ignored), 404 elsewhere, 405 for other methods.
    const auto body = [] { return std::string("x 1\n"); };
    const auto ok = metrics::answer("GET /metrics?name[]=x HTTP/1.1", body);
    CHECK_THAT(ok, Catch::StartsWith("HTTP/1.1 200 OK\r\n"));
    CHECK_THAT(ok, Catch::Contains("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
    CHECK_THAT(ok, Catch::Contains("\r\nContent-Length: 4\r\n"));
    CHECK_THAT(ok, Catch::EndsWith("\r\n\r\nx 1\n"));
    CHECK_THAT(metrics::answer("HEAD /metrics HTTP/1.1", body), Catch::EndsWith("Connection: close\r\n\r\n"));
    CHECK_THAT(metrics::answer("GET / HTTP/1.1", body), Catch::StartsWith("HTTP/1.1 404 Not Found\r\n"));
    CHECK_THAT(metrics::answer("GET /metricsx HTTP/1.1", body), Catch::StartsWith("HTTP/1.1 404 "));
    CHECK_THAT(metrics::answer("POST /metrics HTTP/1.1", body), Catch::StartsWith("HTTP/1.1 405 "));
    CHECK_THAT(metrics::answer("garbage", body), Catch::StartsWith("HTTP/1.1 405 "));
}

TEST_CASE("the connector program: metrics.port serves the tables' counters and the partitions' lag",
          "[kafka][metrics]") {
    redsink_test::kafka::MockCluster cluster;
    std::vector<std::unique_ptr<TableStream>> streams;
    std::string topics, renames;
    std::uint32_t seed = 40;
    for (auto table : {inventory_tables()[0], inventory_tables()[1]}) {  // customers (2 partitions), products
        table.table = "e2e_metrics_" + table.source;
        redsink_test::drop_table(table.table);
        auto stream = std::make_unique<TableStream>(cluster, table, seed++);
        cluster.create_topic(stream->topic(), table.partitions);
        topics += (topics.empty() ? "" : ",") + stream->topic();
        renames += "topic." + stream->topic() + ".table=" + table.table + "\n";
        stream->produce(400, 150);
        streams.push_back(std::move(stream));
    }
    const auto directory =
        std::filesystem::temp_directory_path() / fmt::format("redsink-connector-metrics-{}", ::getpid());
    std::filesystem::create_directories(directory);
    const auto path = directory / "c.properties";
    const auto port = closed_port();
    std::ofstream(path) << "table.schema=" << redsink_test::sink_schema << "\ndialect=postgres\nbatch.rows=100\n"
                        << "bootstrap.servers=" << cluster.bootstraps()
                        << "\ngroup.id=connector-metrics\ntopics=" << topics << "\n"
                        << renames << "metrics.port=" << port << "\nkafka.statistics.interval.ms=200\n"
                        << "progress.interval.ms=300\nkafka.session.timeout.ms=6000\n"
                        << "kafka.heartbeat.interval.ms=500\nkafka.fetch.wait.max.ms=50\n";
    const auto output = directory / "out.txt";
    const auto child = spawn_program(path, output,
                                     {std::string("REDSINK_CONNINFO=") + std::getenv("REDSINK_TEST_CONNINFO"),
                                      "REDSINK_CONNECTION_PASSWORD=hunter2-metrics"});
    const auto table_label = [](const TableStream& stream) {
        return fmt::format(R"({{table="{}.{}"}})", redsink_test::sink_schema, stream.table().table);
    };
    const auto partition_label = [](const TableStream& stream, int partition) {
        return fmt::format(R"({{topic="{}",partition="{}"}})", stream.topic(), partition);
    };
    // Until every event is counted, each partition's lag is 0, and librdkafka's statistics came.
    std::string head, body;
    const auto complete = [&] {
        const auto reply = http_get(port, "/metrics");
        if (!reply) return false;  // not listening yet
        std::tie(head, body) = *reply;
        const auto scrape = parse_scrape(body);
        for (const auto& stream : streams) {
            std::int64_t produced = 0;
            for (const auto end : stream->ends()) produced += end;
            if (scrape.value("redsink_events_total" + table_label(*stream)) != static_cast<double>(produced))
                return false;
            for (int p = 0; p < stream->table().partitions; ++p)
                if (scrape.value("redsink_consumer_lag" + partition_label(*stream, p)) != 0) return false;
        }
        return scrape.value("redsink_kafka_messages_received_total").has_value();
    };
    const auto give_up = std::chrono::steady_clock::now() + 90s;
    int status = 0;
    bool exited = false;
    while (!complete() && std::chrono::steady_clock::now() < give_up) {
        if ((exited = ::waitpid(child, &status, WNOHANG) != 0)) break;
        std::this_thread::sleep_for(200ms);
    }
    INFO(head << "\n\n" << body << "\n" << redsink_test::read_file(output.string()));
    REQUIRE_FALSE(exited);
    REQUIRE(complete());
    CHECK_THAT(head, Catch::StartsWith("HTTP/1.1 200 OK\r\n"));
    CHECK_THAT(head, Catch::Contains("Content-Type: text/plain; version=0.0.4"));
    const auto scrape = parse_scrape(body);
    for (const auto& stream : streams) {
        std::int64_t produced = 0;
        for (const auto end : stream->ends()) produced += end;
        const auto label = table_label(*stream);
        CHECK(scrape.value("redsink_events_total" + label) == static_cast<double>(produced));
        CHECK(scrape.value("redsink_events_received_total" + label) == static_cast<double>(produced));
        CHECK(scrape.value("redsink_events_pending" + label) == 0);
        CHECK(scrape.value("redsink_batches_total" + label) >= 1);
        CHECK(scrape.value("redsink_retries_total" + label) == 0);
        CHECK(scrape.value("redsink_dead_letters_total" + label) == 0);
        CHECK(scrape.value("redsink_commit_seconds_total" + label) > 0);
        CHECK(stream->table_rows() == stream->model());
    }
    CHECK(scrape.value("redsink_consumer_partitions") == 3);
    CHECK(scrape.value("redsink_consumer_messages_total") ==
          scrape.value("redsink_events_received_total" + table_label(*streams[0])).value() +
              scrape.value("redsink_events_received_total" + table_label(*streams[1])).value());
    CHECK(scrape.types.at("redsink_events_total") == "counter");
    CHECK(scrape.types.at("redsink_consumer_lag") == "gauge");
    CHECK(body.find("hunter2") == std::string::npos);
    CHECK(body.find("password") == std::string::npos);

    const auto missing = http_get(port, "/");
    REQUIRE(missing);
    CHECK_THAT(missing->first, Catch::StartsWith("HTTP/1.1 404 Not Found\r\n"));
    const auto posted = http_get(port, "/metrics", "POST");
    REQUIRE(posted);
    CHECK_THAT(posted->first, Catch::StartsWith("HTTP/1.1 405 "));

    ::kill(child, SIGTERM);
    (void)wait_exit(child, status);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    const auto text = redsink_test::read_file(output.string());
    CHECK_THAT(text, Catch::Contains(fmt::format("metrics: serving GET /metrics on port {}", port)));
    CHECK(text.find("hunter2") == std::string::npos);
    std::filesystem::remove_all(directory);
}
