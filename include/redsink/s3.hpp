#pragma once

// The S3 client of the load path and Redshift's COPY from S3 (target redsink::s3, which needs
// libcurl, OpenSSL's libcrypto and zlib): see docs/s3-client.md and docs/s3-copy.md.
#include <redsink/s3/body.hpp>
#include <redsink/s3/client.hpp>
#include <redsink/s3/copy.hpp>
#include <redsink/s3/credential_chain.hpp>
#include <redsink/s3/credentials.hpp>
#include <redsink/s3/csv.hpp>
#include <redsink/s3/error.hpp>
#include <redsink/s3/options.hpp>
#include <redsink/s3/request.hpp>
#include <redsink/s3/retry.hpp>
#include <redsink/s3/xml.hpp>
