#pragma once

#include <redsink/bulk_load.hpp>
#include <redsink/pq/connection.hpp>
#include <redsink/s3/body.hpp>
#include <redsink/s3/client.hpp>
#include <redsink/s3/copy_statement.hpp>
#include <redsink/s3/csv.hpp>
#include <redsink/s3/error.hpp>
#include <redsink/s3/options.hpp>
#include <redsink/s3/part_uploads.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Redshift's bulk load path: a batch is written as compressed CSV (zstd, or gzip) to S3 and loaded with COPY inside its
// transaction (docs/s3-copy.md). Give a sink the loader through SinkOptions::bulk_load:
//
//   options.bulk_load = redsink::s3::copy_loader({.client = {.bucket = "loads", .region = "eu-west-1"},
//                                                 .iam_role = "arn:aws:iam::123456789012:role/redsink-copy",
//                                                 .prefix = "redsink/orders"});
namespace redsink::s3 {

// One COPY the loader runs, as the stand-in seam (CopyOptions::run_copy) sees it.
struct CopyCommand {
    std::string_view statement{};  // as Redshift gets it: it may carry the secret; never log it
    std::string_view shown{};      // the same, each secret replaced by <redacted>: for logs
    std::string_view bucket{};
    std::string_view key{};                       // what FROM names: the batch's one object, or its manifest
    bool manifest = false;                        // `key` is a manifest listing `objects` (the statement says MANIFEST)
    std::span<const std::string> objects{};       // the compressed CSV objects the COPY loads, in the batch's order
    Compression compression = Compression::zstd;  // of every object (the statement says ZSTD or GZIP)
    std::string_view table{};                     // quoted
    std::span<const std::string> columns{};       // quoted, in the order of the files' fields
    std::uint64_t rows = 0;                       // the rows the objects hold together
};

// Runs a COPY on the session and returns pg_last_copy_count().
using CopyRunner = std::function<std::uint64_t(pq::Connection&, const CopyCommand&)>;

struct CopyOptions {
    // The bucket, region, endpoint, addressing, credentials (none: the default chain) and retries
    // of the sink's own S3 requests (docs/s3-client.md).
    ClientOptions client{};
    // COPY authorizes with this role (IAM_ROLE): the way to use, as AWS recommends; nothing secret
    // travels. Empty: with the client's current access keys (ACCESS_KEY_ID, SECRET_ACCESS_KEY,
    // SESSION_TOKEN), which then sit in the statement's text, and so in the server's statement
    // log (STL_QUERYTEXT, SVL_STATEMENTTEXT, SYS_QUERY_HISTORY), readable by superusers and for
    // as long as the log keeps it; redsink's own traces and errors show <redacted>. If keys are
    // the only way, make them short-lived session credentials (a source with an expiration).
    std::string iam_role{};
    // Where the sink's objects go: <prefix>/<identity>/<run>/t<task>-<batch>.csv.zst (or, for a
    // batch in parts, t<task>-<batch>-p<part>.csv.zst and t<task>-<batch>.manifest; .csv.gz with
    // gzip), the identity
    // being the sink's table (and source_name). Everything under <prefix>/<identity>/ is the
    // sink's: its start deletes what is there. Not empty; no quote or backslash.
    std::string prefix = "redsink";
    // Batches with at least this many rows to stage take this path; smaller ones INSERT.
    std::size_t min_rows = 10'000;
    // How the objects are compressed, and COPY's option to match (ZSTD or GZIP): zstd costs the
    // client far less CPU than gzip for smaller objects (docs/s3-copy.md, "Compression").
    Compression compression = Compression::zstd;
    // The compressor's level: zstd up to 19 (negative: its fast levels, less CPU and less
    // compression), gzip 1 to 9; 0: default_level(compression), 1 for both (docs/s3-copy.md,
    // "Compression").
    int compression_level = 0;
    // The CSV text (before compression) of one object: a batch whose CSV passes it is cut at row
    // boundaries into several objects (parts), loaded by one COPY through a manifest. Not 0. The
    // default keeps a batch within the sink's default batch_bytes (64 MiB of values, which count
    // more per value than CSV's quotes and comma) one object, as before parts existed, and makes a
    // part some 30 MB compressed: within the 1 MB to 1 GB (compressed) Redshift advises per file.
    std::uint64_t part_bytes = std::uint64_t{128} << 20;
    // How many parts of one batch upload at once, each on a thread and a connection of its own,
    // while the task writes the next part: the disk holds at most this many parts and the one being
    // written (memory: a compressor's state, about 1 MiB for zstd, each). Not 0. A batch of one
    // object uploads on the task's thread.
    std::size_t upload_concurrency = 4;
    // Each task writes, compresses and uploads the batch queued behind the one in its transaction
    // on a helper thread meanwhile, with a second session (its own S3 client and parts' uploads):
    // a batch's upload overlaps the COPY and COMMIT before it. Costs a second batch's objects in
    // the bucket and its files on disk while both are in flight. False: each batch uploads when
    // its turn comes.
    bool stage_ahead = true;
    std::filesystem::path temp_directory{};  // where the compressed file is written; empty: the system's
    // Test seam: runs the COPY instead of the session (the PostgreSQL stand-in of docs/testing.md).
    CopyRunner run_copy{};
};

namespace detail {

// The sink's identity as one part of a key: letters, digits, '.', '-' and '_' kept, anything
// else '_', then a hash of the whole identity, so that two identities never share a part.
[[nodiscard]] inline std::string key_part(std::string_view identity) {
    std::string out;
    std::uint64_t hash = 14695981039346656037ULL;
    for (const char c : identity) {
        hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
        const bool kept = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                          c == '-' || c == '_';
        out.push_back(kept ? c : '_');
    }
    static constexpr char digits[] = "0123456789abcdef";
    out.push_back('_');
    for (int shift = 28; shift >= 0; shift -= 4) out.push_back(digits[(hash >> shift) & 0xF]);
    return out;
}

[[nodiscard]] inline std::string padded(std::uint64_t number, std::size_t width) {
    auto text = std::to_string(number);
    return text.size() >= width ? text : std::string(width - text.size(), '0') + text;
}

}  // namespace detail

class CopyLoader;

// One task's uploads and COPYs, with its own S3 client signing with the credentials it shares
// with the loader and the other tasks (`credentials`; none: the client's own, from its options).
class CopySession final : public BulkLoadSession {
public:
    // `sequence`: the task's batch numbers, shared with its other session (CopyLoader::session);
    // none: the session's own.
    CopySession(std::shared_ptr<const CopyOptions> options, std::string base, std::size_t task,
                std::shared_ptr<CredentialsCache> credentials = {},
                std::shared_ptr<std::atomic<std::uint64_t>> sequence = {})
        : options_(std::move(options)),
          client_(credentials ? Client(options_->client, std::move(credentials)) : Client(options_->client)),
          base_(std::move(base)),
          task_(task),
          sequence_(sequence ? std::move(sequence) : std::make_shared<std::atomic<std::uint64_t>>(0)),
          parts_(options_->upload_concurrency, [this] { return Client(options_->client, client_.credentials()); }) {}

    // Uploads the rows as compressed CSV: one object, or, when the CSV passes part_bytes, one object per
    // part and then the manifest. Each part is uploaded (then its temporary file removed) while the
    // next is written, up to upload_concurrency at once; the manifest goes after them all.
    void stage(const BulkRows& rows) override {
        const auto base = base_ + "t" + detail::padded(task_, 3) + "-" + detail::padded(++*sequence_, 12);
        objects_.clear();
        from_.clear();
        rows_ = rows.rows();
        try {
            write_parts(rows, base);
        } catch (...) {
            parts_.abandon();  // every upload ended before the caller's discard() deletes what they stored
            throw;
        }
        if (objects_.size() > 1) {
            bytes_ += parts_.wait();
            const auto manifest = manifest_json(options_->client.bucket, objects_);
            BytesBody body(manifest);
            upload(base + ".manifest", body);
            bytes_ += manifest.size();
            from_ = base + ".manifest";
        } else {
            from_ = objects_.front();
        }
    }

    std::uint64_t copy(pq::Connection& conn, const BulkTarget& target) override {
        if (from_.empty()) throw redsink::Error(ErrorKind::other, {}, "COPY from S3 without an uploaded object");
        const auto& bucket = options_->client.bucket;
        CopyAuthorization authorization{.iam_role = options_->iam_role};
        if (authorization.iam_role.empty()) {
            // The keys current now (temporary ones are fetched again before they expire), told to
            // the session before the statement carries them: its trace and errors never show them.
            authorization.keys = client_.credentials()->get();
            const auto& keys = authorization.keys;
            if (!detail::plain_literal(keys.access_key_id) || !detail::plain_literal(keys.secret_access_key) ||
                !detail::plain_literal(keys.session_token))
                throw detail::configuration_error("the S3 credentials from " + client_.credentials()->source() +
                                                  " hold a quote or a backslash, which COPY cannot take as literals");
            conn.add_secret(keys.secret_access_key);
            if (!keys.session_token.empty()) conn.add_secret(keys.session_token);
        }
        const bool manifest = objects_.size() > 1;
        const auto from = manifest ? CopyFrom::manifest : CopyFrom::object;
        const auto compression = options_->compression;
        const auto statement = copy_sql(target.table, target.columns, bucket, from_, client_.region(), authorization,
                                        false, from, compression);
        const auto shown = copy_sql(target.table, target.columns, bucket, from_, client_.region(), authorization, true,
                                    from, compression);
        const CopyCommand command{.statement = statement,
                                  .shown = shown,
                                  .bucket = bucket,
                                  .key = from_,
                                  .manifest = manifest,
                                  .objects = objects_,
                                  .compression = compression,
                                  .table = target.table,
                                  .columns = target.columns,
                                  .rows = rows_};
        if (options_->run_copy) return options_->run_copy(conn, command);
        conn.exec(statement);
        const auto count = conn.exec("SELECT pg_last_copy_count()");
        return static_cast<std::uint64_t>(count.as<std::int64_t>(0, 0));
    }

    void discard() noexcept override {
        objects_.clear();
        from_.clear();
        if (keys_.empty()) return;
        try {
            client_.delete_objects(keys_);
        } catch (...) {
            // Left for the next start's sweep (and the bucket's lifecycle rule).
        }
        keys_.clear();
    }

    // Bytes uploaded (the compressed objects and the manifests) since the session began.
    [[nodiscard]] std::uint64_t bytes_uploaded() const noexcept { return bytes_; }

private:
    // Writes the rows as compressed CSV objects and uploads them: a batch of one object on this
    // thread, parts through parts_ (their last uploads may still run when it returns).
    void write_parts(const BulkRows& rows, const std::string& base) {
        const auto suffix = object_suffix(options_->compression);
        std::size_t next = 0;
        do {
            auto file = std::make_unique<CompressedFile>(options_->temp_directory, options_->compression,
                                                         options_->compression_level);
            next = write_csv(rows, next, options_->part_bytes, *file);
            if (objects_.empty() && next == rows.rows()) {
                // A batch of one part: one object, uploaded on this thread, under the batch's key.
                auto key = base + std::string(suffix);
                FileBody body(file->path());
                upload(key, body);
                bytes_ += file->bytes_out();
                objects_.push_back(std::move(key));
                break;
            }
            auto key = base + "-p" + detail::padded(objects_.size() + 1, 6) + std::string(suffix);
            keys_.push_back(key);  // listed before its PUT, as upload() does
            objects_.push_back(key);
            parts_.submit(std::move(key), std::move(file));
        } while (next < rows.rows());
    }

    void upload(const std::string& key, BodySource& body) {
        // Listed before the PUT: a PUT whose answer was lost may have stored the object.
        keys_.push_back(key);
        client_.put_object(key, body);
    }

    std::shared_ptr<const CopyOptions> options_;
    Client client_;
    std::string base_;
    std::size_t task_;
    std::shared_ptr<std::atomic<std::uint64_t>> sequence_;  // the task's batch numbers
    std::uint64_t rows_ = 0;
    std::uint64_t bytes_ = 0;
    PartUploads parts_;                 // a batch's parts, uploaded while the next is written
    std::vector<std::string> keys_;     // everything uploaded since the last discard(): deleted by it
    std::vector<std::string> objects_;  // the last stage()'s compressed CSV objects, in order
    std::string from_;                  // what its COPY names: its one object, or its manifest
};

// The bulk loader of SinkOptions::bulk_load for COPY from S3 (made by copy_loader).
class CopyLoader final : public BulkLoader {
public:
    explicit CopyLoader(CopyOptions options) {
        const auto refuse = [](std::string message) { throw detail::configuration_error(std::move(message)); };
        while (!options.prefix.empty() && options.prefix.back() == '/') options.prefix.pop_back();
        if (options.prefix.empty())
            refuse("CopyOptions::prefix is empty: the sink's objects need a prefix of their own");
        if (!detail::plain_literal(options.prefix) || !detail::plain_literal(options.client.bucket) ||
            !detail::plain_literal(options.iam_role))
            refuse("CopyOptions::prefix, the bucket and iam_role cannot hold a quote or a backslash");
        if (options.min_rows < 1) refuse("CopyOptions::min_rows must be at least 1");
        if (options.compression != Compression::zstd && options.compression != Compression::gzip)
            refuse("CopyOptions::compression is neither zstd nor gzip");
        if (options.compression_level != 0 && (options.compression_level < min_level(options.compression) ||
                                               options.compression_level > max_level(options.compression)))
            refuse("CopyOptions::compression_level must be " + std::to_string(min_level(options.compression)) + " to " +
                   std::to_string(max_level(options.compression)) + " for " +
                   std::string(compression_name(options.compression)) + " (0: its default)");
        if (options.upload_concurrency < 1)
            refuse("CopyOptions::upload_concurrency is 0: a batch's parts need at least one upload at a time");
        if (options.part_bytes < 1)
            refuse(
                "CopyOptions::part_bytes is 0: a part must be allowed at least one byte of CSV (each part holds "
                "at least one row)");
        options_ = std::make_shared<const CopyOptions>(std::move(options));
        // Checks the client's options and finds the credentials now; the tasks' clients share them.
        client_.emplace(options_->client);
        if (options_->iam_role.empty()) {
            const auto keys = client_->credentials()->get();
            if (!detail::plain_literal(keys.access_key_id) || !detail::plain_literal(keys.secret_access_key) ||
                !detail::plain_literal(keys.session_token))
                refuse("the S3 credentials cannot hold a quote or a backslash (COPY takes them as literals)");
        }
    }

    [[nodiscard]] std::size_t min_rows() const noexcept override { return options_->min_rows; }

    void start(std::string_view identity) override {
        root_ = options_->prefix + "/" + detail::key_part(identity) + "/";
        swept_ += client_->delete_prefix(root_);
        std::random_device random;
        std::string run;
        static constexpr char digits[] = "0123456789abcdef";
        for (int i = 0; i < 16; ++i) run.push_back(digits[random() & 0xF]);
        run_ = root_ + run + "/";
    }

    [[nodiscard]] std::unique_ptr<BulkLoadSession> session(std::size_t task) override {
        if (run_.empty()) throw redsink::Error(ErrorKind::other, {}, "CopyLoader::session before start()");
        auto& sequence = sequences_[task];
        if (!sequence) sequence = std::make_shared<std::atomic<std::uint64_t>>(0);
        return std::make_unique<CopySession>(options_, run_, task, client_->credentials(), sequence);
    }
    // A task's second session stages the batch behind the one in its transaction; the two number
    // their batches in one sequence, so their keys never collide.
    [[nodiscard]] bool stages_ahead() const noexcept override { return options_->stage_ahead; }

    // The sink's own prefix (<prefix>/<identity>/), after start().
    [[nodiscard]] const std::string& root() const noexcept { return root_; }
    // Objects the starts so far found and deleted under it.
    [[nodiscard]] std::size_t swept() const noexcept { return swept_; }

private:
    std::shared_ptr<const CopyOptions> options_;
    std::optional<Client> client_;
    std::string root_;
    std::string run_;
    std::size_t swept_ = 0;
    std::map<std::size_t, std::shared_ptr<std::atomic<std::uint64_t>>> sequences_;  // per task
};

[[nodiscard]] inline std::shared_ptr<CopyLoader> copy_loader(CopyOptions options) {
    return std::make_shared<CopyLoader>(std::move(options));
}

}  // namespace redsink::s3
