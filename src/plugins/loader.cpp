#include "loader.hpp"

#include <dlfcn.h>

#include <filesystem>
#include <system_error>

namespace coromq::plugins {

std::string default_plugin_name(const std::string& path) {
    std::string name = std::filesystem::path(path).filename().string();
    const auto so = name.find(".so");
    if (so == std::string::npos || so == 0) {
        return name;
    }
    name.erase(so); // also "libx.so.1"
    if (name.starts_with("lib") && name.size() > 3) {
        name.erase(0, 3);
    }
    return name;
}

std::shared_ptr<broker::plugin> load_shared_plugin(const std::string& path,
                                                   const broker::plugin_options& options) {
    const std::string what = "plugin '" + options.name + "' (" + path + ")";
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
        throw plugin_load_error(what + ": no such file");
    }
    // A bare file name would make dlopen search the library path instead of the directory
    // the operator meant.
    const std::string file = path.find('/') == std::string::npos ? "./" + path : path;
    void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char* why = dlerror();
        throw plugin_load_error(what + ": cannot load: " + (why ? why : "unknown error"));
    }
    dlerror(); // clear
    void* symbol = dlsym(handle, broker::create_plugin_symbol);
    if (!symbol) {
        throw plugin_load_error(what + ": no entry point `extern \"C\" " +
                                broker::create_plugin_symbol + "` (see coromq/broker/hooks.hpp)");
    }
    const auto create = reinterpret_cast<broker::create_plugin_function>(symbol);
    broker::plugin* made = nullptr;
    try {
        made = create(options);
    } catch (const std::exception& e) {
        throw plugin_load_error(what + ": " + e.what());
    } catch (...) {
        throw plugin_load_error(what + ": " + broker::create_plugin_symbol + " threw");
    }
    if (!made) {
        throw plugin_load_error(what + ": " + broker::create_plugin_symbol + " returned null");
    }
    // The handle stays open: the plugin's code must outlive the plugin, and every hook frame
    // it ever started.
    return std::shared_ptr<broker::plugin>(made);
}

} // namespace coromq::plugins
