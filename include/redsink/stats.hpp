#pragma once

#include <redsink/position.hpp>

#include <chrono>
#include <cstddef>
#include <vector>

namespace redsink {

// What one task did.
struct TaskStats {
    std::size_t events = 0;              // events committed (dead-lettered ones included)
    std::size_t rows_inserted = 0;       // rows inserted into the target
    std::size_t rows_deleted = 0;        // rows deleted (or flagged, with soft_delete)
    std::size_t dead_letters = 0;        // events committed to the dead-letter table instead (dead_letter)
    std::size_t batches = 0;             // batches committed
    std::size_t retries = 0;             // attempts repeated after transient failures
    std::size_t reconnects = 0;          // sessions opened again after one was lost
    std::size_t commit_checks = 0;       // exactly_once: lost COMMIT answers settled by reading the positions table
    std::chrono::nanoseconds db_time{};  // time spent writing batches, retries included

    TaskStats& operator+=(const TaskStats& other) {
        events += other.events;
        rows_inserted += other.rows_inserted;
        rows_deleted += other.rows_deleted;
        dead_letters += other.dead_letters;
        batches += other.batches;
        retries += other.retries;
        reconnects += other.reconnects;
        commit_checks += other.commit_checks;
        db_time += other.db_time;
        return *this;
    }
};

// A sink's statistics: the sum of its tasks, and where its events are. They add up:
// events_in == events + events_ignored + events_skipped + events_pending.
struct SinkStats : TaskStats {
    std::size_t events_in = 0;       // events taken by write()
    std::size_t events_ignored = 0;  // deletes the delete mode ignores: nothing to write
    std::size_t events_skipped = 0;  // exactly_once: events at or below their partition's committed or taken offset
    std::size_t events_pending = 0;  // taken, not committed yet (buffered, queued, being written, or held)
    Positions acknowledged;          // the last positions given to on_commit
    std::vector<TaskStats> tasks;    // per task; the counts above add them up
};

}  // namespace redsink
