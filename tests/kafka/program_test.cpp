// End to end: the connector program (examples/connector.cpp) run as a process, configured by a
// properties file, reading Debezium JSON for the tutorial's four inventory tables from the mock
// cluster and writing them in the redshift dialect; SIGTERM stops it; the tables equal the model
// and the group's offsets are at the topics' ends.
#include <kafka/mock.hpp>
#include <support/sink.hpp>

#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

// A source table: its topic and how a row of it reads as Debezium JSON and in the table.
struct Table {
    std::string source;  // customers, ...
    std::string table;   // where the connector is told to write it
    int partitions = 1;
    std::string key;
    std::string select;                                                          // one text per row, ordered by the key
    std::function<std::pair<std::string, std::string>(int id, int serial)> row;  // JSON, row text
};

std::string quoted(const std::string& text) {
    return redsink_test::kafka::json_text(text);
}

std::vector<Table> inventory_tables() {
    const auto pipe = [](std::initializer_list<std::string> columns) {
        std::string out;
        for (const auto& column : columns) out += (out.empty() ? "" : " || '|' || ") + column;
        return out;
    };
    return {
        {"customers", "e2e_customers", 2, "id", pipe({"id", "first_name", "last_name", "email"}),
         [](int id, int serial) {
             const auto first = "F\"" + std::to_string(serial), last = "L\\" + std::to_string(id),
                        email = "c" + std::to_string(serial) + "@example.com";
             return std::pair{fmt::format(R"({{"id":{},"first_name":{},"last_name":{},"email":{}}})", id, quoted(first),
                                          quoted(last), quoted(email)),
                              fmt::format("{}|{}|{}|{}", id, first, last, email)};
         }},
        {"products", "e2e_products", 1, "id",
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
        {"orders", "e2e_orders", 2, "order_number",
         pipe({"order_number", "(order_date - DATE '1970-01-01')", "purchaser", "quantity", "product_id"}),
         [](int id, int serial) {
             const int day = 16'000 + serial % 900 - (serial % 7 == 0 ? 20'000 : 0);  // some before 1970
             return std::pair{
                 fmt::format(R"({{"order_number":{},"order_date":{},"purchaser":{},"quantity":{},"product_id":{}}})",
                             id, day, 1000 + serial % 4, serial % 9 + 1, 100 + serial % 3),
                 fmt::format("{}|{}|{}|{}|{}", id, day, 1000 + serial % 4, serial % 9 + 1, 100 + serial % 3)};
         }},
        {"addresses", "e2e_addresses", 1, "id", pipe({"id", "customer_id", "street", "city", "state", "zip", "type"}),
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

// Produces creates, updates, deletes and tombstones for a table, and keeps the model.
class TableStream {
public:
    TableStream(const redsink_test::kafka::MockCluster& cluster, Table table, std::uint32_t seed)
        : table_(std::move(table)),
          random_(seed),
          ends_(static_cast<std::size_t>(table_.partitions), 0),
          producer_(cluster) {}

    [[nodiscard]] std::string topic() const { return "dbserver1.inventory." + table_.source; }

    void produce(int count, int keys) {
        std::uniform_int_distribution<int> id_of(1, keys), kind(0, 7);
        for (int i = 0; i < count; ++i) {
            const int id = id_of(random_);
            const auto key = fmt::format(R"({{"{}":{}}})", table_.key, id);
            if (const auto existing = json_.find(id); existing != json_.end() && kind(random_) == 0) {
                send(id, key, R"({"before":)" + existing->second + R"(,"after":null,"op":"d"})");
                send(id, key, std::nullopt);
                json_.erase(existing);
                model_.erase(id);
                continue;
            }
            const auto [json, text] = table_.row(id, serial_++);
            send(id, key,
                 R"({"before":null,"after":)" + json + R"(,"op":")" + (json_.contains(id) ? "u" : "c") + "\"}");
            json_[id] = json;
            model_[id] = text;
        }
        producer_.flush();
    }

    [[nodiscard]] std::vector<std::string> model() const {
        std::vector<std::string> out;
        for (const auto& [id, text] : model_) out.push_back(text);
        return out;
    }
    [[nodiscard]] std::vector<std::string> table_rows() const {
        auto conn = redsink_test::reader();
        const auto result = conn.exec("SELECT " + table_.select + " FROM " + redsink_test::qualified(table_.table) +
                                      " ORDER BY " + table_.key);
        std::vector<std::string> out;
        for (int row = 0; row < result.rows(); ++row) out.emplace_back(result.get(row, 0));
        return out;
    }
    [[nodiscard]] const std::vector<std::int64_t>& ends() const noexcept { return ends_; }
    [[nodiscard]] const Table& table() const noexcept { return table_; }

private:
    void send(int id, const std::string& key, const std::optional<std::string>& value) {
        const int partition = id % table_.partitions;
        producer_.send(topic(), partition, key, value);
        ++ends_[static_cast<std::size_t>(partition)];
    }

    Table table_;
    std::mt19937 random_;
    std::map<int, std::string> json_, model_;
    std::vector<std::int64_t> ends_;
    redsink_test::kafka::Producer producer_;
    int serial_ = 0;
};

}  // namespace

TEST_CASE("the connector program: Debezium topics of four tables into the redshift dialect, SIGTERM, restart",
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
    for (auto& stream : streams) stream->produce(1500, 200);

    const auto directory = std::filesystem::temp_directory_path() / fmt::format("redsink-connector-{}", ::getpid());
    std::filesystem::create_directories(directory);
    const auto properties = directory / "connector.properties";
    {
        std::ofstream out(properties);
        out << "# the connector test's settings\n"
            << "table.schema=" << redsink_test::sink_schema << "\n"
            << "dialect=redshift\ninsert.mode=upsert\ndelete.enabled=true\nschema.evolution=basic\n"
            << "tasks.max=2\nbatch.rows=300\nprogress.interval.ms=300\n"
            << "bootstrap.servers=" << cluster.bootstraps() << "\n"
            << "group.id=connector-e2e\ntopics=" << topics << "\n"
            << "kafka.session.timeout.ms=6000\nkafka.heartbeat.interval.ms=500\nkafka.fetch.wait.max.ms=50\n";
        for (const auto& stream : streams)
            out << "topic." << stream->topic() << ".table=" << stream->table().table << "\n";
    }
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
    CHECK(wait_for([&] {
        REQUIRE(running());
        try {
            return all_written();
        } catch (const std::exception&) {
            return false;
        }
    }));
    auto status = stop(child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    for (const auto& stream : streams)
        CHECK(cluster.committed("connector-e2e", stream->topic(), stream->table().partitions) == stream->ends());

    // More events, a restart: it resumes at the committed offsets.
    for (auto& stream : streams) stream->produce(500, 200);
    child = start();
    CHECK(wait_for([&] {
        REQUIRE(running());
        return all_written();
    }));
    status = stop(child);
    CHECK(WEXITSTATUS(status) == 0);
    for (const auto& stream : streams) {
        CHECK(stream->table_rows() == stream->model());
        CHECK(cluster.committed("connector-e2e", stream->topic(), stream->table().partitions) == stream->ends());
    }
    const auto text = redsink_test::read_file(output.string());
    INFO(text);
    CHECK_THAT(text, Catch::Contains("dbserver1.inventory.orders -> sink_test.e2e_orders"));
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
    const auto [code3, text3] = run(connection + "bootstrap.servers=x\ntopics=a.b.invoices\n");
    CHECK(code3 == 2);
    CHECK_THAT(text3, Catch::Contains("no record for the source table invoices"));
    std::filesystem::remove_all(directory);
}
