#include "worker.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/ssl.h>

#include <cstdio>
#include <stdexcept>

namespace coromq::bench {

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// TLS 1.2 or later, OpenSSL's default cipher suites (as the broker). With --cafile the
/// broker's chain must lead to one of those CAs; without it nothing is verified.
std::unique_ptr<asio::ssl::context> make_client_context(const options& o) {
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    if (o.cafile.empty()) {
        ctx->set_verify_mode(asio::ssl::verify_none);
        return ctx;
    }
    boost::system::error_code ec;
    ctx->load_verify_file(o.cafile, ec);
    if (ec) {
        throw std::runtime_error("--cafile '" + o.cafile + "': " + ec.message());
    }
    ctx->set_verify_mode(asio::ssl::verify_peer);
    return ctx;
}

} // namespace

void log_exception(std::exception_ptr e) {
    if (!e) {
        return;
    }
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        std::fprintf(stderr, "coromq-bench: %s\n", ex.what());
    } catch (...) {
        std::fprintf(stderr, "coromq-bench: unknown exception\n");
    }
}

worker::worker(const options& o, unsigned worker_id)
    : opt(o)
    , id(worker_id)
    , version(packet::protocol_version(o.mqtt_version))
    , guard_(io_.get_executor()) {
    if (uses_tls(o.transport)) {
        tls_context_ = make_client_context(o); // one per worker: nothing shared across threads
    }
}

worker::~worker() {
    if (thread_.joinable()) {
        io_.stop();
        thread_.join();
    }
    // Sockets and the coroutines waiting on them go before the io_context does.
    clients.clear();
}

void worker::start() {
    asio::co_spawn(io_, housekeeping(), log_exception);
    thread_ = std::thread([this] { io_.run(); });
}

void worker::stop(std::chrono::milliseconds grace) {
    asio::post(io_, [this] {
        closing_ = true;
        if (housekeeping_timer_) {
            housekeeping_timer_->cancel();
        }
    });
    guard_.reset();
    const auto deadline = steady::now() + grace;
    while (!io_.stopped() && steady::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    io_.stop();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void worker::note_error(const std::string& what) {
    if (first_error_.empty()) {
        first_error_ = what;
    }
}

void worker::connect_role(role which, tcp::endpoint broker, std::vector<asio::ip::address> sources,
                          double rate, unsigned concurrency) {
    asio::post(io_, [this, which, broker, sources = std::move(sources), rate, concurrency] {
        connect_list_.clear();
        for (auto& c : clients) {
            if (c->kind() == which) {
                connect_list_.push_back(c.get());
            }
        }
        connect_next_ = 0;
        connect_slot_ = now_ns();
        sources_ = sources;
        const double interval_ns = rate > 0 ? 1e9 / rate : 0;
        const auto n = std::min<std::size_t>(concurrency, connect_list_.size());
        for (std::size_t i = 0; i < n; ++i) {
            asio::co_spawn(io_,
                           connector(connect_list_, connect_next_, connect_slot_, broker, sources_,
                                     interval_ns),
                           log_exception);
        }
    });
}

asio::awaitable<void> worker::connector(std::vector<client*>& list, std::size_t& next,
                                        std::uint64_t& next_slot, tcp::endpoint broker,
                                        const std::vector<asio::ip::address>& sources,
                                        double interval_ns) {
    asio::steady_timer timer(io_);
    while (next < list.size() && !closing_) {
        client* c = list[next++];
        if (interval_ns > 0) {
            // Connections leave at the configured rate, whichever connector is free.
            const auto now = now_ns();
            const auto slot = std::max(now, next_slot);
            next_slot = slot + std::uint64_t(interval_ns);
            if (slot > now) {
                timer.expires_at(steady::time_point(std::chrono::nanoseconds(slot)));
                co_await timer.async_wait(use_tuple);
            }
        }
        const asio::ip::address* source =
            sources.empty() ? nullptr : &sources[c->index() % sources.size()];
        co_await c->connect(broker, source);
        if (c->connected() && c->kind() == role::subscriber) {
            co_await c->subscribe();
        }
    }
}

void worker::start_publishing(std::uint64_t count, double rate_per_publisher,
                              std::uint64_t start_ns) {
    asio::post(io_, [this, count, rate_per_publisher, start_ns] {
        for (auto& c : clients) {
            if (c->kind() == role::publisher) {
                asio::co_spawn(io_, c->publish_loop(count, rate_per_publisher, start_ns),
                               log_exception);
            }
        }
    });
}

void worker::stop_publishing() {
    asio::post(io_, [this] {
        publishing_stopped_ = true;
        for (auto& c : clients) {
            if (c->kind() == role::publisher) {
                c->interrupt();
            }
        }
    });
}

void worker::close_all() {
    asio::post(io_, [this] {
        closing_ = true;
        publishing_stopped_ = true;
        for (auto& c : clients) {
            c->interrupt();
            c->close();
        }
    });
}

std::future<worker_snapshot> worker::snapshot() {
    auto promise = std::make_shared<std::promise<worker_snapshot>>();
    auto result = promise->get_future();
    asio::post(io_, [this, promise] {
        worker_snapshot s;
        s.latency = latency;
        s.connect_time = connect_time;
        s.first_error = first_error_;
        for (auto& c : clients) {
            if (c->kind() == role::publisher) {
                s.sent_by_publisher.emplace_back(c->publisher_id, c->sent());
                continue;
            }
            if (c->kind() != role::subscriber) {
                continue;
            }
            if (c->expect_from == -1) {
                ++s.subscribers_expecting_all;
            } else if (c->expect_from >= 0) {
                s.subscribers_expecting_one.push_back(std::uint32_t(c->expect_from));
            }
            s.unstamped += c->unstamped();
            s.qos2_resends += c->qos2_resends();
            s.qos2_id_reuses += c->qos2_id_reuses();
            for (const auto& [publisher, check] : c->checks()) {
                const bool expected = c->expect_from == -1 || c->expect_from == -2 ||
                                      c->expect_from == std::int64_t(publisher);
                if (!expected) {
                    s.foreign += check.received();
                    continue;
                }
                s.unique_expected += check.unique();
                s.duplicates += check.duplicates();
                s.reordered += check.reordered();
                s.gaps += check.gaps();
            }
        }
        promise->set_value(std::move(s));
    });
    return result;
}

asio::awaitable<void> worker::housekeeping() {
    asio::steady_timer timer(io_);
    housekeeping_timer_ = &timer;
    while (!closing_) {
        timer.expires_after(std::chrono::seconds(1));
        co_await timer.async_wait(use_tuple);
        if (closing_) {
            break;
        }
        const auto now = now_ns();
        for (auto& c : clients) {
            c->tick(now);
        }
    }
    housekeeping_timer_ = nullptr;
}

} // namespace coromq::bench
