// The binary's configuration: a file of `key = value` lines and the same keys on the command
// line (the command line wins; --listener there replaces the file's listeners).
#pragma once

#include <coromq/broker/config.hpp>

#include <optional>
#include <stdexcept>
#include <string>

namespace coromq::app {

/// A configuration error; the message names the key (and FILE:LINE for a file).
struct config_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// What the command line asked for.
struct invocation {
    broker::broker_config config;
    bool show_help = false;
    bool show_version = false;
    std::string help_text;
};

/// Parses argv (and the file named by --config). Throws config_error.
invocation parse_command_line(int argc, const char* const argv[]);

} // namespace coromq::app
