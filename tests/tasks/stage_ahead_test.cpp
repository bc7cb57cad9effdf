// Staging ahead, the engine's side: each task stages the batch queued behind the one in its
// transaction on a helper thread, with a bulk loader held in memory (its COPY is PostgreSQL's
// COPY FROM STDIN), so the threads' hand-overs run under ThreadSanitizer with the tasks' tests.
// The S3 loader's side (keys, uploads that overlap a COPY) is in tests/s3/copy_test.cpp.
#include <redsink/bulk_load.hpp>
#include <redsink/sink.hpp>

#include <catch2/catch.hpp>
#include <support/sink.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace redsink_test;
using namespace std::chrono_literals;

namespace {

using Sink =
    redsink::Sink<Account, AccountKey, redsink::upsert, redsink::hard_delete, redsink::create_table, redsink::redshift>;

// What the sessions of a MemoryLoader did, across the tasks' threads.
struct MemoryCounts {
    std::atomic<int> stages{0};
    std::atomic<int> copies{0};
    std::atomic<int> copied_ahead{0};    // COPYs of rows staged on another thread (a task's helper)
    std::atomic<int> held{0};            // stage()s not yet discarded
    std::atomic<int> copies_failing{0};  // the next COPYs report one row fewer than they loaded
    std::atomic<int> stages_failing{0};  // the next stage()s fail (transient)
};

// COPY's text format for one value: NULL as \N; backslash, tab, newline and carriage return escaped.
void append_text(std::string& out, const char* value) {
    if (value == nullptr) {
        out += "\\N";
        return;
    }
    for (const char* c = value; *c != '\0'; ++c) {
        switch (*c) {
            case '\\': out += "\\\\"; break;
            case '\t': out += "\\t"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            default: out.push_back(*c);
        }
    }
}

// One task's session: stage() keeps the rows as COPY text after a pause that stands for an
// upload; copy() sends them (out of the trace: the statement is the stand-in's, not Redshift's).
class MemorySession final : public redsink::BulkLoadSession {
public:
    explicit MemorySession(MemoryCounts& counts) : counts_(counts) {}

    void stage(const redsink::BulkRows& rows) override {
        std::this_thread::sleep_for(10ms);
        for (int left = counts_.stages_failing.load(); left > 0;)
            if (counts_.stages_failing.compare_exchange_weak(left, left - 1))
                throw redsink::Error(redsink::ErrorKind::transient, {}, "the memory loader's upload failed (test)");
        ++counts_.stages;
        if (staged_++ == 0) ++counts_.held;
        text_.clear();
        for (std::size_t row = 0; row < rows.rows(); ++row) {
            for (std::size_t column = 0; column < rows.columns(); ++column) {
                if (column > 0) text_.push_back('\t');
                append_text(text_, rows.value(row, column));
            }
            text_.push_back('\n');
        }
        thread_ = std::this_thread::get_id();
    }

    std::uint64_t copy(redsink::pq::Connection& conn, const redsink::BulkTarget& target) override {
        std::string sql = "COPY " + std::string(target.table) + " (";
        for (std::size_t i = 0; i < target.columns.size(); ++i) sql += (i > 0 ? ", " : "") + target.columns[i];
        sql += ") FROM STDIN";
        std::this_thread::sleep_for(20ms);
        const auto trace = conn.trace();
        conn.set_trace({});
        std::size_t loaded = 0;
        try {
            loaded = conn.copy_from_stdin(sql, text_);
        } catch (...) {
            conn.set_trace(trace);
            throw;
        }
        conn.set_trace(trace);
        ++counts_.copies;
        if (thread_ != std::this_thread::get_id()) ++counts_.copied_ahead;
        for (int left = counts_.copies_failing.load(); left > 0;)
            if (counts_.copies_failing.compare_exchange_weak(left, left - 1)) return loaded - 1;
        return loaded;
    }

    void discard() noexcept override {
        if (staged_ > 0) --counts_.held;
        staged_ = 0;
        text_.clear();
    }

private:
    MemoryCounts& counts_;
    std::string text_;
    int staged_ = 0;  // stage()s since the last discard()
    std::thread::id thread_;
};

class MemoryLoader final : public redsink::BulkLoader {
public:
    MemoryLoader(MemoryCounts& counts, bool ahead) : counts_(counts), ahead_(ahead) {}
    [[nodiscard]] std::size_t min_rows() const noexcept override { return 1; }
    void start(std::string_view) override {}
    [[nodiscard]] std::unique_ptr<redsink::BulkLoadSession> session(std::size_t) override {
        return std::make_unique<MemorySession>(counts_);
    }
    [[nodiscard]] bool stages_ahead() const noexcept override { return ahead_; }

private:
    MemoryCounts& counts_;
    bool ahead_;
};

}  // namespace

TEST_CASE("staging ahead: each batch staged once, most on the tasks' helpers; the model's table",
          "[pg][tasks][stage_ahead]") {
    const std::string table = "tasks_stage_ahead";
    const bool ahead = GENERATE(true, false);
    const std::size_t tasks = GENERATE(1, 3);
    INFO("stages_ahead " << ahead << ", " << tasks << " tasks");
    drop_table(table);
    MemoryCounts counts;
    // One upload fails, on a helper or on a task: the batch's own attempt stages it again.
    counts.stages_failing = 1;
    const auto stream = random_stream({.seed = 61, .events = 3000, .keys = 300});
    {
        Sink sink(test_config(), {.schema = sink_schema,
                                  .table = table,
                                  .batch_rows = 100,
                                  .tasks = tasks,
                                  .bulk_load = std::make_shared<MemoryLoader>(counts, ahead),
                                  .trace = sink_trace<Sink>()});
        for (const auto& change : stream) sink.write(change);
        sink.flush();
        CHECK(sink.stats().acknowledged == last_positions(stream));
    }
    Model model(InsertKind::upsert, DeleteKind::hard);
    model.apply(stream);
    auto conn = reader();
    CHECK(table_rows(conn, qualified(table)) == model.rows());
    // Every batch was staged once and copied once: none staged ahead was left unused.
    CHECK(counts.copies >= 30);
    CHECK(counts.stages == counts.copies);
    CHECK(counts.held == 0);
    if (ahead)
        CHECK(counts.copied_ahead >= counts.copies / 2);
    else
        CHECK(counts.copied_ahead == 0);
}

TEST_CASE("staging ahead: the batch before fails for good, what was staged for the next is discarded",
          "[pg][tasks][stage_ahead]") {
    const std::string table = "tasks_stage_ahead_failed";
    drop_table(table);
    MemoryCounts counts;
    counts.copies_failing = 1;
    {
        Sink sink(test_config(), {.schema = sink_schema,
                                  .table = table,
                                  .batch_rows = 100,
                                  .bulk_load = std::make_shared<MemoryLoader>(counts, true),
                                  .trace = sink_trace<Sink>()});
        const auto stream = random_stream({.seed = 67, .events = 500, .keys = 100});
        CHECK_THROWS_WITH(
            [&] {
                for (const auto& change : stream) sink.write(change);
                sink.flush();
            }(),
            Catch::Contains("(pg_last_copy_count()), but the batch sent"));
        CHECK(sink.stats().acknowledged.empty());
    }
    CHECK(counts.copies == 1);
    CHECK(counts.stages >= 2);  // the next batch was staged while the first was in its transaction
    CHECK(counts.held == 0);
    auto conn = reader();
    CHECK(conn.exec("SELECT count(*) FROM " + qualified(table)).get(0, 0) == std::string("0"));
}
