// The OpenAPI description of the REST API: src/rest/openapi.json, embedded at build time (the
// build checks that it parses as JSON).
#pragma once

#include <string_view>

namespace coromq::rest {

/// The contents of src/rest/openapi.json.
extern const std::string_view openapi_json;

} // namespace coromq::rest
