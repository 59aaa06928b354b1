// What every connection coroutine and background task of one server shares.
#pragma once

#include "../broker/router.hpp"

#include <coromq/broker/config.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>

namespace coromq::net {

namespace asio = boost::asio;

using router_strand = asio::strand<asio::io_context::executor_type>;

struct broker_state {
    broker_state(asio::io_context& io, broker::broker_config cfg)
        : config(cfg)
        , ioc(io)
        , strand(asio::make_strand(io))
        , core(std::move(cfg)) {}

    const broker::broker_config config;
    asio::io_context& ioc;
    /// Every call into `core` happens on this strand.
    router_strand strand;
    broker::router core;
    std::atomic<std::size_t> live_connections{0};
    std::atomic<bool> stopping{false};
};

} // namespace coromq::net
