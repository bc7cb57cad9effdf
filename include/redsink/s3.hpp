#pragma once

// The S3 client of the load path (target redsink::s3, which needs libcurl and OpenSSL's libcrypto):
// see docs/s3-client.md.
#include <redsink/s3/body.hpp>
#include <redsink/s3/client.hpp>
#include <redsink/s3/error.hpp>
#include <redsink/s3/options.hpp>
#include <redsink/s3/request.hpp>
#include <redsink/s3/retry.hpp>
#include <redsink/s3/xml.hpp>
