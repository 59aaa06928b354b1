#include "options.hpp"

#include <boost/program_options.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <stdexcept>

namespace coromq::bench {
namespace po = boost::program_options;

const char* to_string(mode m) noexcept {
    switch (m) {
    case mode::conn:
        return "conn";
    case mode::pub:
        return "pub";
    case mode::sub:
        return "sub";
    case mode::fanin:
        return "fanin";
    case mode::fanout:
        return "fanout";
    case mode::pairs:
        return "pairs";
    case mode::latency:
        return "latency";
    }
    return "?";
}

const char* to_string(transport_kind t) noexcept {
    switch (t) {
    case transport_kind::tcp:
        return "tcp";
    case transport_kind::tls:
        return "tls";
    case transport_kind::ws:
        return "ws";
    case transport_kind::wss:
        return "wss";
    }
    return "?";
}

namespace {

transport_kind parse_transport(const std::string& s) {
    for (auto t :
         {transport_kind::tcp, transport_kind::tls, transport_kind::ws, transport_kind::wss}) {
        if (s == to_string(t)) {
            return t;
        }
    }
    throw std::invalid_argument("unknown transport '" + s + "' (tcp, tls, ws, wss)");
}

mode parse_mode(const std::string& s) {
    for (auto m : {mode::conn, mode::pub, mode::sub, mode::fanin, mode::fanout, mode::pairs,
                   mode::latency}) {
        if (s == to_string(m)) {
            return m;
        }
    }
    throw std::invalid_argument("unknown mode '" + s +
                                "' (conn, pub, sub, fanin, fanout, pairs, latency)");
}

constexpr const char* usage_head = R"(coromq-bench: MQTT load generator and verifier

usage: coromq-bench MODE [options]

modes:
  conn     open --clients connections at --rate per second, hold them for --duration s
  pub      --publishers publish to TOPIC/ID (nothing subscribes: broker ingest)
  sub      --subscribers subscribe to TOPIC/# and verify what arrives (pair it with `pub`)
  fanin    --publishers (10) publish to TOPIC/PID/ID, one subscriber on TOPIC/PID/#
  fanout   one publisher to TOPIC/PID/0, --subscribers (10) subscribe to it
  pairs    --publishers (10) independent pairs: publisher I -> TOPIC/PID/I -> subscriber I
  latency  pairs at a fixed total --rate (default: 1 pair, 5000 msg/s, QoS 1)

Every payload starts with a 16-byte stamp (publisher id, sequence number, send time): the
subscribers count loss, duplicates and reordering per publisher, and end-to-end latency.
MQTT 3.1.1 (--mqtt-version 4) or 5.0, over TCP, TLS (1.2 or later), WebSocket (binary
messages, subprotocol mqtt) or WebSocket over TLS (--transport). Without --cafile the broker's
certificate is NOT verified (any certificate is accepted: fine for measuring, not for trust).
)";

} // namespace

options parse_options(int argc, char** argv) {
    options o;
    std::string mode_name;
    std::string transport_name;
    po::options_description d("options");
    // clang-format off
    d.add_options()
        ("help,h", "this help")
        ("host", po::value(&o.host)->default_value(o.host), "broker address")
        ("port", po::value(&o.port)->default_value(o.port), "broker port")
        ("transport", po::value(&transport_name)->default_value("tcp"),
         "tcp, tls, ws (WebSocket) or wss (WebSocket over TLS)")
        ("cafile", po::value(&o.cafile),
         "tls, wss: PEM CAs to verify the broker's certificate and address against "
         "(without it the certificate is not verified)")
        ("ws-path", po::value(&o.ws_path)->default_value(o.ws_path),
         "ws, wss: path of the WebSocket upgrade request")
        ("qos", po::value(&o.qos)->default_value(o.qos), "QoS of publishes and subscriptions (0, 1, 2)")
        ("inflight", po::value(&o.inflight)->default_value(o.inflight),
         "QoS 1/2 messages in flight per publisher (window)")
        ("size", po::value(&o.size)->default_value(o.size), "payload bytes (>= 16)")
        ("count", po::value(&o.count)->default_value(o.count),
         "messages per publisher (0: publish for --duration)")
        ("duration", po::value(&o.duration)->default_value(o.duration),
         "seconds of publishing; conn: seconds to hold the connections")
        ("rate", po::value(&o.rate)->default_value(o.rate),
         "messages/s over all publishers (0: as fast as the window allows); conn: connections/s")
        ("clients", po::value(&o.clients)->default_value(o.clients), "conn: connections to open")
        ("publishers", po::value(&o.publishers), "publishers (mode default)")
        ("subscribers", po::value(&o.subscribers), "subscribers (mode default)")
        ("mqtt-version", po::value(&o.mqtt_version)->default_value(o.mqtt_version),
         "4 (3.1.1) or 5 (5.0)")
        ("threads", po::value(&o.threads)->default_value(o.threads),
         "worker threads, each an io_context driving its share of the connections")
        ("keepalive", po::value(&o.keepalive)->default_value(o.keepalive),
         "keep-alive seconds sent in CONNECT (idle connections ping at half of it)")
        ("connect-rate", po::value(&o.connect_rate)->default_value(o.connect_rate),
         "connections/s while setting up the publish modes (0: unpaced)")
        ("connect-concurrency", po::value(&o.connect_concurrency)->default_value(o.connect_concurrency),
         "connection handshakes in progress at once")
        ("topic", po::value(&o.topic)->default_value(o.topic), "topic prefix")
        ("source-addresses", po::value(&o.source_addresses)->default_value(o.source_addresses),
         "bind connections to 127.1.0.1..N round robin (0: auto, one per 25,000 connections "
         "to a loopback broker)")
        ("drain-timeout", po::value(&o.drain_timeout)->default_value(o.drain_timeout),
         "after publishing, seconds without a delivery before giving up on the rest")
        ("broker-pid", po::value(&o.broker_pid)->default_value(o.broker_pid),
         "report this process's CPU time (/proc/PID/stat) over the measured phase and its RSS")
        ("id-base", po::value(&o.id_base)->default_value(o.id_base), "first publisher id")
        ("ready-file", po::value(&o.ready_file), "create this file once every client is connected")
        ("json", po::bool_switch(&o.json), "print the summary as JSON on stdout")
        ("quiet,q", po::bool_switch(&o.quiet), "no progress line");
    // clang-format on
    po::options_description hidden;
    hidden.add_options()("mode", po::value(&mode_name));
    po::positional_options_description pos;
    pos.add("mode", 1);
    po::options_description all;
    all.add(d).add(hidden);
    try {
        po::variables_map vm;
        po::store(po::command_line_parser(argc, argv).options(all).positional(pos).run(), vm);
        po::notify(vm);
        if (vm.count("help") || mode_name.empty()) {
            std::cout << usage_head << '\n' << d << '\n';
            std::exit(vm.count("help") ? 0 : 2);
        }
        o.run_mode = parse_mode(mode_name);
        o.transport = parse_transport(transport_name);
        if (!o.cafile.empty() && !uses_tls(o.transport)) {
            throw std::invalid_argument("--cafile needs --transport tls or wss");
        }
        if (o.ws_path.empty() || o.ws_path.front() != '/') {
            throw std::invalid_argument("--ws-path must start with '/'");
        }
        if (o.qos < 0 || o.qos > 2) {
            throw std::invalid_argument("--qos must be 0, 1 or 2");
        }
        if (o.mqtt_version != 4 && o.mqtt_version != 5) {
            throw std::invalid_argument("--mqtt-version must be 4 or 5");
        }
        if (o.size < 16 || o.size > 64 * 1024 * 1024) {
            throw std::invalid_argument("--size must be 16 .. 67108864 (the stamp takes 16)");
        }
        if (o.inflight < 1 || o.inflight > 65535) {
            throw std::invalid_argument("--inflight must be 1 .. 65535");
        }
        if (o.threads < 1 || o.threads > 256) {
            throw std::invalid_argument("--threads must be 1 .. 256");
        }
        if (o.connect_concurrency < 1) {
            throw std::invalid_argument("--connect-concurrency must be at least 1");
        }
        if (o.run_mode == mode::latency) {
            if (!vm.count("qos") || vm["qos"].defaulted()) {
                o.qos = 1;
            }
            if (vm["rate"].defaulted()) {
                o.rate = 5000;
            }
        }
        const bool pubs_given = vm.count("publishers") != 0;
        const bool subs_given = vm.count("subscribers") != 0;
        switch (o.run_mode) {
        case mode::conn:
            o.publishers = o.subscribers = 0;
            break;
        case mode::pub:
            o.publishers = pubs_given ? o.publishers : 10;
            o.subscribers = 0;
            break;
        case mode::sub:
            o.subscribers = subs_given ? o.subscribers : 1;
            o.publishers = 0;
            break;
        case mode::fanin:
            o.publishers = pubs_given ? o.publishers : 10;
            o.subscribers = 1;
            break;
        case mode::fanout:
            o.publishers = 1;
            o.subscribers = subs_given ? o.subscribers : 10;
            break;
        case mode::pairs:
        case mode::latency: {
            const unsigned dflt = o.run_mode == mode::pairs ? 10 : 1;
            o.publishers = pubs_given ? o.publishers : subs_given ? o.subscribers : dflt;
            o.subscribers = o.publishers;
            break;
        }
        }
    } catch (const std::exception& e) {
        std::cerr << "coromq-bench: " << e.what() << "\n(coromq-bench --help lists the options)\n";
        std::exit(2);
    }
    return o;
}

} // namespace coromq::bench
