// The REST API's endpoints (Gmqtt's, plus DELETE /client/:id and GET /openapi.json): one
// parsed request in, one response out. Transport-free: http_session.cpp reads and writes.
#pragma once

#include "http_session.hpp"

#include <cstddef>
#include <string_view>

namespace coromq::rest {

/// Largest request header block (request line and fields) accepted; larger gets 431.
inline constexpr std::size_t max_header_bytes = 8 * 1024;
/// Largest request body accepted; larger gets 413.
inline constexpr std::size_t max_body_bytes = 64 * 1024;

/// Answers `req`: basic auth, routing, the endpoint. Anything a client sends gets an answer
/// (errors as {"code": <HTTP status>, "message": "..."}), never an exception. Runs on the
/// caller's executor and reaches the broker only through `api`. `config` has the users of
/// basic auth. The response's version, keep-alive and Content-Length are left to the caller.
asio::awaitable<response> handle_request(const request& req, broker::services& api,
                                         const broker::http_config& config);

/// {"code": <status>, "message": message} with `status`.
response error_response(http::status status, std::string_view message);

} // namespace coromq::rest
