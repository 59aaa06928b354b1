// The binary's configuration: a file of `key = value` lines and the same keys on the command
// line (the command line wins; --listener there replaces the file's listeners).
#pragma once

#include <coromq/broker/config.hpp>

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace coromq::app {

/// A configuration error; the message names the key (and FILE:LINE for a file).
struct config_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// A hook plugin built as a shared object: `--plugin [NAME=]PATH` and its
/// `--plugin_opt NAME:KEY=VALUE` options.
struct plugin_spec {
    std::string name;
    std::string path;
    std::map<std::string, std::string> options;
};

/// What the command line asked for.
struct invocation {
    broker::broker_config config;
    /// The built-in plugins: a Mosquitto password file and ACL file ("" = none).
    std::string password_file;
    bool allow_anonymous = true; ///< default: true only without a password file
    std::string acl_file;
    /// Shared-object plugins, in chain order (after the built-in ones).
    std::vector<plugin_spec> plugins;
    bool show_help = false;
    bool show_version = false;
    std::string help_text;
};

/// Parses argv (and the file named by --config). Throws config_error.
invocation parse_command_line(int argc, const char* const argv[]);

} // namespace coromq::app
