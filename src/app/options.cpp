#include "options.hpp"

#include <boost/program_options.hpp>

#include <fstream>
#include <sstream>

namespace coromq::app {
namespace po = boost::program_options;

namespace {

po::options_description broker_options() {
    po::options_description d(
        "Broker options (also valid as `key = value` lines in the config file)");
    d.add_options()(
        "listener", po::value<std::vector<std::string>>()->composing(),
        "where to accept clients, repeatable: mqtt://HOST:PORT (default mqtt://0.0.0.0:1883)")(
        "delivery_retry_interval", po::value<std::int64_t>(),
        "seconds before an unacknowledged QoS 1/2 message is sent again (default 20; 0 = only on "
        "reconnect)")("max_inflight_messages", po::value<std::int64_t>(),
                      "QoS 1/2 messages in flight per client (default 20)")(
        "queue_qos0_messages", po::value<bool>(),
        "queue QoS 0 messages for offline persistent sessions (default true)")(
        "max_msgqueue_messages", po::value<std::int64_t>(),
        "messages queued per client above those in flight; 0 = unlimited (default 20)")(
        "logging", po::value<bool>(), "log connects and disconnects (default false)")(
        "max_packet_size", po::value<std::int64_t>(),
        "largest packet accepted, in bytes (default 1048576)")(
        "connect_timeout", po::value<std::int64_t>(),
        "seconds a new connection has to send CONNECT (default 10)")(
        "threads", po::value<std::int64_t>(), "I/O threads; 0 = one per core (default 0)")(
        "max_connections", po::value<std::int64_t>(),
        "simultaneous connections; 0 = unlimited (default 0)")(
        "max_outbox_messages", po::value<std::int64_t>(),
        "QoS 0 messages waiting to be written to one client before more are dropped (default "
        "10000)");
    return d;
}

/// Allowed ranges of the numeric keys (parsed as signed so that "-1" is an error, not 2^32-1).
struct numeric_range {
    const char* key;
    std::int64_t min;
    std::int64_t max;
};
constexpr numeric_range numeric_keys[] = {
    {"delivery_retry_interval", 0, 86'400},
    {"max_inflight_messages", 1, 65'535},
    {"max_msgqueue_messages", 0, 100'000'000},
    {"max_packet_size", 2, 268'435'460},
    {"connect_timeout", 1, 3'600},
    {"threads", 0, 1'024},
    {"max_connections", 0, 100'000'000},
    {"max_outbox_messages", 0, 100'000'000},
};

/// Throws config_error, prefixed with `where`, for a numeric key out of its range.
void check_ranges(const po::variables_map& vm, const std::string& where) {
    for (const auto& r : numeric_keys) {
        if (!vm.count(r.key)) {
            continue;
        }
        const auto v = vm[r.key].as<std::int64_t>();
        if (v < r.min || v > r.max) {
            throw config_error(where + "key '" + r.key + "': " + std::to_string(v) +
                               " is out of range [" + std::to_string(r.min) + ", " +
                               std::to_string(r.max) + "]");
        }
    }
}

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r");
    if (b == std::string::npos) {
        return {};
    }
    const auto e = s.find_last_not_of(" \t\r");
    return s.substr(b, e - b + 1);
}

/// Reads `key = value` lines; each is checked on its own so an error names its line.
po::parsed_options parse_file(const std::string& path, const po::options_description& desc) {
    std::ifstream file(path);
    if (!file) {
        throw config_error("cannot read config file '" + path + "'");
    }
    std::vector<std::string> args;
    std::string line;
    int number = 0;
    while (std::getline(file, line)) {
        ++number;
        const auto text = trim(line);
        if (text.empty() || text.front() == '#') {
            continue;
        }
        const auto eq = text.find('=');
        const std::string where = path + ":" + std::to_string(number) + ": ";
        if (eq == std::string::npos) {
            throw config_error(where + "expected `key = value`, got '" + text + "'");
        }
        const auto key = trim(text.substr(0, eq));
        const auto value = trim(text.substr(eq + 1));
        const std::string arg = "--" + key + "=" + value;
        try {
            po::variables_map probe;
            const std::vector<std::string> one{arg};
            po::store(po::command_line_parser(one).options(desc).run(), probe);
            po::notify(probe);
            check_ranges(probe, where);
            if (key == "listener") {
                broker::listener_config::parse(value);
            }
        } catch (const po::error& e) {
            throw config_error(where + "key '" + key + "': " + e.what());
        } catch (const std::invalid_argument& e) {
            throw config_error(where + "key '" + key + "': " + e.what());
        }
        args.push_back(arg);
    }
    return po::command_line_parser(args).options(desc).run();
}

void take(const po::variables_map& vm, const char* key, bool& into) {
    if (vm.count(key)) {
        into = vm[key].as<bool>();
    }
}
void take(const po::variables_map& vm, const char* key, std::uint32_t& into) {
    if (vm.count(key)) {
        into = std::uint32_t(vm[key].as<std::int64_t>()); // range-checked already
    }
}

} // namespace

invocation parse_command_line(int argc, const char* const argv[]) {
    invocation inv;
    po::options_description general("General options");
    general.add_options()("help,h", "print this help and exit")("version",
                                                                "print the version and exit")(
        "config,c", po::value<std::string>(),
        "configuration file (`key = value` lines, # comments)");
    auto broker = broker_options();
    po::options_description all;
    all.add(general).add(broker);

    std::ostringstream help;
    help << "Usage: coromq [--config FILE] [--KEY VALUE ...]\n\n" << all;
    inv.help_text = help.str();

    po::variables_map cli;
    try {
        po::store(po::parse_command_line(argc, argv, all), cli);
        po::notify(cli);
    } catch (const po::error& e) {
        throw config_error(std::string("command line: ") + e.what());
    }
    check_ranges(cli, "command line: ");
    inv.show_help = cli.count("help") != 0;
    inv.show_version = cli.count("version") != 0;

    // The command line is stored first, so its values win over the file's, and a --listener
    // given there replaces the file's listeners rather than adding to them.
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, all), vm);
    std::vector<std::string> cli_listeners;
    if (cli.count("listener")) {
        cli_listeners = cli["listener"].as<std::vector<std::string>>();
    }
    std::vector<std::string> file_listeners;
    if (cli.count("config")) {
        const auto path = cli["config"].as<std::string>();
        auto parsed = parse_file(path, broker);
        po::variables_map from_file;
        po::store(parsed, from_file);
        if (from_file.count("listener")) {
            file_listeners = from_file["listener"].as<std::vector<std::string>>();
        }
        for (const auto& opt : parsed.options) {
            if (opt.string_key == "listener") {
                continue;
            }
            if (!vm.count(opt.string_key)) {
                po::parsed_options single(&broker);
                single.options.push_back(opt);
                po::store(single, vm);
            }
        }
    }
    po::notify(vm);

    auto& c = inv.config;
    take(vm, "delivery_retry_interval", c.delivery_retry_interval);
    take(vm, "max_inflight_messages", c.max_inflight_messages);
    take(vm, "queue_qos0_messages", c.queue_qos0_messages);
    take(vm, "max_msgqueue_messages", c.max_msgqueue_messages);
    take(vm, "logging", c.logging);
    take(vm, "max_packet_size", c.max_packet_size);
    take(vm, "connect_timeout", c.connect_timeout);
    take(vm, "threads", c.threads);
    take(vm, "max_connections", c.max_connections);
    take(vm, "max_outbox_messages", c.max_outbox_messages);

    const auto& urls = !cli_listeners.empty() ? cli_listeners : file_listeners;
    if (!urls.empty()) {
        c.listeners.clear();
        for (const auto& url : urls) {
            try {
                c.listeners.push_back(broker::listener_config::parse(url));
            } catch (const std::invalid_argument& e) {
                throw config_error(std::string("key 'listener': ") + e.what());
            }
        }
    }
    return inv;
}

} // namespace coromq::app
