// Plugins built as shared objects: `--plugin [NAME=]PATH`.
#pragma once

#include <coromq/broker/hooks.hpp>

#include <memory>
#include <stdexcept>
#include <string>

namespace coromq::plugins {

/// A plugin that cannot be loaded; the message names the plugin and the file.
struct plugin_load_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// The name a plugin gets from its file when none is given: the file name without directory,
/// ".so" suffix and then "lib" prefix ("/x/libmy_auth.so" -> "my_auth"; "audit" -> "audit").
std::string default_plugin_name(const std::string& path);

/// dlopen()s `path` (RTLD_NOW: every symbol is resolved now, so a plugin built against other
/// headers fails here rather than later), finds `coromq_create_plugin` and calls it with
/// `options`. Throws plugin_load_error for a missing or unreadable file, a file that is not a
/// loadable shared object, a missing entry point, an entry point that throws or returns null.
/// The shared object is never unloaded. Not thread-safe (start-up only).
std::shared_ptr<broker::plugin> load_shared_plugin(const std::string& path,
                                                   const broker::plugin_options& options);

} // namespace coromq::plugins
