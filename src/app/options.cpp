#include "options.hpp"

#include "../broker/config_parse.hpp"
#include "../plugins/loader.hpp"

#include <boost/program_options.hpp>

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>

namespace coromq::app {
namespace po = boost::program_options;

namespace {

po::options_description broker_options() {
    po::options_description d(
        "Broker options (also valid as `key = value` lines in the config file; '-' and '_' are "
        "interchangeable in key names)");
    // clang-format off
    d.add_options()
        ("listener", po::value<std::vector<std::string>>()->composing(),
         "where to accept clients, repeatable: mqtt://HOST:PORT, mqtts://HOST:PORT, "
         "ws://HOST:PORT[/PATH], wss://HOST:PORT[/PATH]; TLS files may follow as "
         "?certfile=F&keyfile=F&cafile=F&require_client_cert=true&cn_as_username=true "
         "(default mqtt://0.0.0.0:1883)")
        ("delivery_retry_interval", po::value<std::int64_t>(),
         "seconds before an unacknowledged QoS 1/2 message is sent again (default 20; 0 = only "
         "on reconnect)")
        ("max_inflight_messages", po::value<std::int64_t>(),
         "QoS 1/2 messages in flight per client (default 20)")
        ("queue_qos0_messages", po::value<bool>(),
         "queue QoS 0 messages for offline persistent sessions (default true)")
        ("max_msgqueue_messages", po::value<std::int64_t>(),
         "messages queued per client above those in flight; 0 = unlimited (default 20)")
        ("logging", po::value<bool>(), "log connects and disconnects (default false)")
        ("max_packet_size", po::value<std::int64_t>(),
         "largest packet accepted, in bytes (default 1048576)")
        ("connect_timeout", po::value<std::int64_t>(),
         "seconds a new connection has to send CONNECT (default 10)")
        ("threads", po::value<std::int64_t>(), "I/O threads; 0 = one per core (default 0)")
        ("max_connections", po::value<std::int64_t>(),
         "simultaneous connections; 0 = unlimited (default 0)")
        ("max_outbox_messages", po::value<std::int64_t>(),
         "QoS 0 messages waiting to be written to one client before more are dropped "
         "(default 10000)")
        ("tls_cert", po::value<std::string>(),
         "PEM certificate chain for TLS listeners that name none")
        ("tls_key", po::value<std::string>(), "PEM private key for TLS listeners that name none")
        ("tls_ca", po::value<std::string>(),
         "PEM CA certificates that client certificates must chain to")
        ("tls_require_client_cert", po::value<bool>(),
         "refuse TLS clients without a valid certificate (mutual TLS; default false) on TLS "
         "listeners whose URL has no require_client_cert=")
        ("tls_cn_as_username", po::value<bool>(),
         "use the client certificate's CN as the MQTT user name (default false) on TLS "
         "listeners whose URL has no cn_as_username=")
        ("http_server.addr", po::value<std::string>(),
         "REST API address HOST:PORT (alias --http); may equal a ws:// listener's, which then "
         "serves both (default: no REST API)")
        ("http_server.user", po::value<std::vector<std::string>>()->composing(),
         "REST API basic-auth user NAME:PASSWORD, repeatable (alias --http-user)")
        ("http_server.allow_unauthenticated", po::value<bool>(),
         "allow a REST API without users on a non-loopback address (default false)")
        ("password_file", po::value<std::string>(),
         "Mosquitto password file (as mosquitto_passwd writes it): a client with a user name "
         "must be listed with the right password; reloaded on SIGHUP")
        ("allow_anonymous", po::value<bool>(),
         "accept clients without a user name (default: true without password_file, false "
         "with one)")
        ("acl_file", po::value<std::string>(),
         "Mosquitto ACL file: which topics each client may subscribe and publish to; reloaded "
         "on SIGHUP")
        ("plugin", po::value<std::vector<std::string>>()->composing(),
         "load a hook plugin built as a shared object, repeatable, in chain order: "
         "[NAME=]PATH (NAME defaults to the file name without 'lib' and '.so'); it must "
         "export coromq_create_plugin and be built with coromq's compiler and Boost")
        ("plugin_opt", po::value<std::vector<std::string>>()->composing(),
         "an option passed to the plugin NAME, repeatable: NAME:KEY=VALUE")
        ("hook_timeout_ms", po::value<std::int64_t>(),
         "milliseconds a plugin hook may take; a hook that times out or throws counts as deny "
         "(publish: drop) (default 5000)");
    // clang-format on
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
    {"hook_timeout_ms", 1, 3'600'000},
};

/// `--plugin [NAME=]PATH` taken apart; NAME= only counts when it holds no '/'.
app::plugin_spec parse_plugin(const std::string& text) {
    app::plugin_spec spec;
    const auto eq = text.find('=');
    if (eq != std::string::npos && text.substr(0, eq).find('/') == std::string::npos) {
        spec.name = text.substr(0, eq);
        spec.path = text.substr(eq + 1);
        if (spec.name.empty()) {
            throw std::invalid_argument("key 'plugin': empty NAME in '" + text +
                                        "' (expected [NAME=]PATH)");
        }
    } else {
        spec.path = text;
        spec.name = plugins::default_plugin_name(text);
    }
    if (spec.path.empty() || spec.name.empty()) {
        throw std::invalid_argument("key 'plugin': expected [NAME=]PATH, got '" + text + "'");
    }
    return spec;
}

/// `--plugin_opt NAME:KEY=VALUE` taken apart: {NAME, KEY, VALUE}.
std::array<std::string, 3> parse_plugin_opt(const std::string& text) {
    const auto colon = text.find(':');
    const auto eq = text.find('=', colon == std::string::npos ? 0 : colon);
    if (colon == std::string::npos || colon == 0 || eq == std::string::npos || eq == colon + 1) {
        throw std::invalid_argument("key 'plugin_opt': expected NAME:KEY=VALUE, got '" + text +
                                    "'");
    }
    return {text.substr(0, colon), text.substr(colon + 1, eq - colon - 1), text.substr(eq + 1)};
}

/// Throws config_error, prefixed with `where`, for a value out of its range or form.
void check_values(const po::variables_map& vm, const std::string& where) {
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
    try {
        if (vm.count("listener")) {
            for (const auto& url : vm["listener"].as<std::vector<std::string>>()) {
                broker::listener_config::parse(url);
            }
        }
        if (vm.count("http_server.addr")) {
            broker::parse_host_port(vm["http_server.addr"].as<std::string>(),
                                    "key 'http_server.addr'");
        }
        if (vm.count("http_server.user")) {
            for (const auto& user : vm["http_server.user"].as<std::vector<std::string>>()) {
                const auto colon = user.find(':');
                if (colon == std::string::npos || colon == 0) {
                    throw std::invalid_argument("key 'http_server.user': expected NAME:PASSWORD");
                }
            }
        }
        if (vm.count("plugin")) {
            for (const auto& p : vm["plugin"].as<std::vector<std::string>>()) {
                parse_plugin(p);
            }
        }
        if (vm.count("plugin_opt")) {
            for (const auto& o : vm["plugin_opt"].as<std::vector<std::string>>()) {
                parse_plugin_opt(o);
            }
        }
    } catch (const std::invalid_argument& e) {
        const std::string text = e.what();
        throw config_error(where + (text.starts_with("key ") ? text : "key 'listener': " + text));
    }
}

/// Key names: '-' and '_' are interchangeable, and --http / --http-user are Gmqtt-style
/// aliases of http_server.addr / http_server.user.
std::string canonical_key(std::string key) {
    for (auto& c : key) {
        if (c == '-') {
            c = '_';
        }
    }
    if (key == "http") {
        return "http_server.addr";
    }
    if (key == "http_user") {
        return "http_server.user";
    }
    return key;
}

/// argv with long option names made canonical.
std::vector<std::string> canonical_args(int argc, const char* const argv[]) {
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a.starts_with("--") && a.size() > 2) {
            const auto eq = a.find('=');
            const auto name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
            a = "--" + canonical_key(name) + (eq == std::string::npos ? "" : a.substr(eq));
        }
        args.push_back(std::move(a));
    }
    return args;
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
        const auto key = canonical_key(trim(text.substr(0, eq)));
        const auto value = trim(text.substr(eq + 1));
        const std::string arg = "--" + key + "=" + value;
        try {
            po::variables_map probe;
            const std::vector<std::string> one{arg};
            po::store(po::command_line_parser(one).options(desc).run(), probe);
            po::notify(probe);
            check_values(probe, where); // throws config_error, which names the line too
        } catch (const po::error& e) {
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
void take(const po::variables_map& vm, const char* key, std::string& into) {
    if (vm.count(key)) {
        into = vm[key].as<std::string>();
    }
}

/// Keys that accumulate values; on the command line they replace the file's values.
constexpr const char* list_keys[] = {"listener", "http_server.user", "plugin", "plugin_opt"};

} // namespace

invocation parse_command_line(int argc, const char* const argv[]) {
    invocation inv;
    po::options_description general("General options");
    // clang-format off
    general.add_options()
        ("help,h", "print this help and exit")
        ("version", "print the version and exit")
        ("config,c", po::value<std::string>(),
         "configuration file (`key = value` lines, # comments)");
    // clang-format on
    auto broker = broker_options();
    po::options_description all;
    all.add(general).add(broker);

    std::ostringstream help;
    help << "Usage: coromq [--config FILE] [--KEY VALUE ...]\n\n" << all;
    inv.help_text = help.str();

    const auto args = canonical_args(argc, argv);
    po::variables_map cli;
    try {
        po::store(po::command_line_parser(args).options(all).run(), cli);
        po::notify(cli);
    } catch (const po::error& e) {
        throw config_error(std::string("command line: ") + e.what());
    }
    check_values(cli, "command line: ");
    inv.show_help = cli.count("help") != 0;
    inv.show_version = cli.count("version") != 0;

    // The command line is stored first, so its values win over the file's; a list key given
    // there (--listener, --http-user) replaces the file's values rather than adding to them.
    po::variables_map vm;
    po::store(po::command_line_parser(args).options(all).run(), vm);
    if (cli.count("config")) {
        const auto path = cli["config"].as<std::string>();
        auto parsed = parse_file(path, broker);
        po::parsed_options from_file(&broker);
        for (const auto& opt : parsed.options) {
            bool given_on_cli = vm.count(opt.string_key) != 0;
            for (const char* list_key : list_keys) {
                if (opt.string_key == list_key) {
                    given_on_cli = cli.count(list_key) != 0;
                }
            }
            if (!given_on_cli) {
                from_file.options.push_back(opt);
            }
        }
        po::store(from_file, vm);
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
    take(vm, "tls_cert", c.tls.certfile);
    take(vm, "tls_key", c.tls.keyfile);
    take(vm, "tls_ca", c.tls.cafile);
    take(vm, "tls_require_client_cert", c.tls.require_client_cert);
    take(vm, "tls_cn_as_username", c.tls.cn_as_username);

    if (vm.count("listener")) {
        c.listeners.clear();
        for (const auto& url : vm["listener"].as<std::vector<std::string>>()) {
            auto l = broker::listener_config::parse(url); // checked above
            // Listener files and switches fall back to the --tls_* defaults, one field at a
            // time; what the URL names wins, also a switch set to false.
            if (l.uses_tls()) {
                if (l.tls.certfile.empty()) {
                    l.tls.certfile = c.tls.certfile;
                }
                if (l.tls.keyfile.empty()) {
                    l.tls.keyfile = c.tls.keyfile;
                }
                if (l.tls.cafile.empty()) {
                    l.tls.cafile = c.tls.cafile;
                }
                if (!l.require_client_cert_given) {
                    l.tls.require_client_cert = c.tls.require_client_cert;
                }
                if (!l.cn_as_username_given) {
                    l.tls.cn_as_username = c.tls.cn_as_username;
                }
                if (l.tls.certfile.empty() || l.tls.keyfile.empty()) {
                    throw config_error("key 'listener': " + url +
                                       " needs a certificate and a key (certfile=/keyfile= in "
                                       "the URL, or --tls_cert and --tls_key)");
                }
            }
            c.listeners.push_back(std::move(l));
        }
    }

    if (vm.count("http_server.addr")) {
        std::tie(c.http.host, c.http.port) = broker::parse_host_port(
            vm["http_server.addr"].as<std::string>(), "key 'http_server.addr'");
    }
    if (vm.count("http_server.user")) {
        for (const auto& user : vm["http_server.user"].as<std::vector<std::string>>()) {
            const auto colon = user.find(':');
            c.http.users.emplace_back(user.substr(0, colon), user.substr(colon + 1));
        }
    }
    take(vm, "http_server.allow_unauthenticated", c.http.allow_unauthenticated);
    take(vm, "hook_timeout_ms", c.hook_timeout_ms);

    // Plugins. The files are read when the binary creates them (main.cpp), so that a bad one
    // is reported with the others as a start-up error.
    take(vm, "password_file", inv.password_file);
    take(vm, "acl_file", inv.acl_file);
    inv.allow_anonymous = inv.password_file.empty();
    take(vm, "allow_anonymous", inv.allow_anonymous);
    if (vm.count("plugin")) {
        for (const auto& text : vm["plugin"].as<std::vector<std::string>>()) {
            auto spec = parse_plugin(text); // checked above
            for (const auto& other : inv.plugins) {
                if (other.name == spec.name) {
                    throw config_error("key 'plugin': two plugins named '" + spec.name + "' (" +
                                       other.path + ", " + spec.path +
                                       "); name them with NAME=PATH");
                }
            }
            inv.plugins.push_back(std::move(spec));
        }
    }
    if (vm.count("plugin_opt")) {
        for (const auto& text : vm["plugin_opt"].as<std::vector<std::string>>()) {
            auto [name, key, value] = parse_plugin_opt(text); // checked above
            auto it = std::find_if(inv.plugins.begin(), inv.plugins.end(),
                                   [&](const plugin_spec& p) { return p.name == name; });
            if (it == inv.plugins.end()) {
                std::string known;
                for (const auto& p : inv.plugins) {
                    known += (known.empty() ? "" : ", ") + p.name;
                }
                throw config_error("key 'plugin_opt': no plugin named '" + name + "' in '" + text +
                                   "' (plugins: " + (known.empty() ? "none" : known) + ")");
            }
            it->options[key] = value; // a repeated key: the last wins
        }
    }
    if (c.http.enabled() && c.http.users.empty() && !c.http.allow_unauthenticated) {
        const bool loopback = c.http.host.starts_with("127.") || c.http.host == "::1";
        if (!loopback) {
            throw config_error("key 'http_server.addr': the REST API on " + c.http.host +
                               " needs at least one http_server.user (or set "
                               "http_server.allow_unauthenticated = true)");
        }
    }
    return inv;
}

} // namespace coromq::app
