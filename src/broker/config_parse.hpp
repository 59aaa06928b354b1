// Small parsers shared by the listener URL parser and the binary's options.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

namespace coromq::broker {

/// "HOST:PORT", "[V6]:PORT" or ":PORT" (0.0.0.0). HOST must be an address literal.
/// Throws std::invalid_argument starting with `what`.
std::pair<std::string, std::uint16_t> parse_host_port(const std::string& text,
                                                      const std::string& what);

/// true/false/1/0/yes/no/on/off. Throws std::invalid_argument starting with `what`.
bool parse_bool(const std::string& text, const std::string& what);

} // namespace coromq::broker
