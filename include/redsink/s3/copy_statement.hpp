#pragma once

// The text Redshift reads on the bulk load path: the COPY statement of a batch's objects, and the
// manifest that lists a batch's parts (docs/s3-copy.md).
#include <redsink/s3/compressed_file.hpp>
#include <redsink/s3/credentials.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace redsink::s3 {

namespace detail {

// Text that can go between single quotes in a statement as it is: no quote, no backslash.
[[nodiscard]] inline bool plain_literal(std::string_view text) {
    return text.find('\'') == std::string_view::npos && text.find('\\') == std::string_view::npos;
}

// `text` as a JSON string, quotes included.
[[nodiscard]] inline std::string json_string(std::string_view text) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out = "\"";
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (byte < 0x20) {
            out.append("\\u00").push_back(digits[byte >> 4]);
            out.push_back(digits[byte & 0xF]);
        } else {
            out.push_back(c);
        }
    }
    out.push_back('"');
    return out;
}

}  // namespace detail

// The manifest of a COPY that loads several objects of `bucket`: each object's URL, mandatory (a
// missing object fails the COPY instead of loading fewer rows).
[[nodiscard]] inline std::string manifest_json(std::string_view bucket, std::span<const std::string> keys) {
    std::string out = "{\"entries\":[";
    for (std::size_t i = 0; i < keys.size(); ++i) {
        out.append(i == 0 ? "" : ",").append("{\"url\":");
        out.append(detail::json_string("s3://" + std::string(bucket) + "/" + keys[i]));
        out.append(",\"mandatory\":true}");
    }
    out.append("]}");
    return out;
}

// How COPY authorizes: a role, or access keys.
struct CopyAuthorization {
    std::string iam_role{};
    Credentials keys{};
};

// What a COPY's FROM names: one object, or a manifest listing the objects.
enum class CopyFrom : bool { object, manifest };

// The COPY of one compressed CSV object (or of those a manifest lists, `from` manifest: then `key`
// is the manifest's) into `table` (quoted) and its `columns` (quoted), with the
// secret in it or, when `shown`, <redacted> in its place. The options read exactly what
// write_csv writes: the compression (ZSTD or GZIP), CSV (double quote, comma, newline), NULL as a lone NUL byte, dates
// as YYYY-MM-DD and timestamps as the encoders render them (ISO 8601 with microseconds and, for TIMESTAMPTZ, +00),
// which TIMEFORMAT 'auto' reads; decimals rounded as INSERT rounds them; statistics and compression analysis off (a
// stage is new and small each time).
[[nodiscard]] inline std::string copy_sql(std::string_view table, std::span<const std::string> columns,
                                          std::string_view bucket, std::string_view key, std::string_view region,
                                          const CopyAuthorization& authorization, bool shown,
                                          CopyFrom from = CopyFrom::object,
                                          Compression compression = Compression::zstd) {
    std::string out = "COPY ";
    out.append(table).append(" (");
    for (std::size_t i = 0; i < columns.size(); ++i) out.append(i == 0 ? "" : ", ").append(columns[i]);
    out.append(") FROM 's3://").append(bucket).append("/").append(key).append("' ");
    if (!authorization.iam_role.empty()) {
        out.append("IAM_ROLE '").append(authorization.iam_role).append("'");
    } else {
        const auto& keys = authorization.keys;
        out.append("ACCESS_KEY_ID '").append(keys.access_key_id).append("' SECRET_ACCESS_KEY '");
        out.append(shown ? "<redacted>" : keys.secret_access_key).append("'");
        if (!keys.session_token.empty())
            out.append(" SESSION_TOKEN '").append(shown ? "<redacted>" : keys.session_token).append("'");
    }
    if (from == CopyFrom::manifest) out.append(" MANIFEST");
    if (!region.empty()) out.append(" REGION '").append(region).append("'");
    out.append(" FORMAT AS CSV ").append(copy_keyword(compression));
    out.append(" NULL AS '\\0' DATEFORMAT 'YYYY-MM-DD' TIMEFORMAT 'auto' ROUNDEC STATUPDATE OFF COMPUPDATE OFF");
    return out;
}

}  // namespace redsink::s3
