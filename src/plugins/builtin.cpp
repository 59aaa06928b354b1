#include "builtin.hpp"

#include "../broker/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace coromq::plugins {

namespace asio = boost::asio;
using broker::connect_verdict;
using packet::connect_return_code;

namespace {

/// Runs `fn()` on `ex` and resumes the caller on its own executor with the result.
/// `co_await post(ex, use_awaitable)` would not do: its completion is dispatched back to the
/// awaiting coroutine's executor, so the work after it would still run on the I/O thread.
/// `fn` is moved into the spawned frame and owns what it captured.
template <class Fn>
auto run_on(asio::any_io_executor ex, Fn fn) -> asio::awaitable<decltype(fn())> {
    using result = decltype(fn());
    auto task = [fn = std::move(fn)]() mutable -> asio::awaitable<result> { co_return fn(); };
    co_return co_await asio::co_spawn(ex, std::move(task), asio::use_awaitable);
}

} // namespace

// --- password_file_plugin ---------------------------------------------------------------------

password_file_plugin::password_file_plugin(std::string path, bool allow_anonymous,
                                           asio::any_io_executor blocking, bool verbose)
    : path_(std::move(path))
    , allow_anonymous_(allow_anonymous)
    , verbose_(verbose)
    , blocking_(std::move(blocking)) {
    if (!path_.empty()) {
        db_ = std::make_shared<const password_db>(password_db::load(path_));
    }
}

broker::hook_set password_file_plugin::hooks() const {
    return broker::hook_connect | (path_.empty() ? 0u : broker::hook_reload);
}

std::shared_ptr<const password_db> password_file_plugin::current() const {
    std::lock_guard lock(mutex_);
    return db_;
}

std::size_t password_file_plugin::user_count() const {
    const auto db = current();
    return db ? db->size() : 0;
}

asio::awaitable<connect_verdict>
password_file_plugin::on_connect(const broker::client_info& client,
                                 const std::optional<std::string>& password) {
    if (!client.username) {
        if (allow_anonymous_) {
            co_return connect_verdict::pass();
        }
        if (verbose_) {
            broker::log("INFO", "password_file: refused anonymous client_id=", client.client_id);
        }
        co_return connect_verdict::deny(connect_return_code::not_authorized);
    }
    if (client.username_from_certificate) {
        // The verified client certificate authenticated the client, and its CN is the user
        // name: no password to check (Mosquitto's use_identity_as_username).
        co_return connect_verdict::pass();
    }
    auto db = current(); // this connection keeps the file it started with across a reload
    if (!db) {
        co_return connect_verdict::pass(); // no password file: any user name will do
    }
    if (!password) {
        co_return connect_verdict::deny(connect_return_code::bad_user_name_or_password);
    }
    // PBKDF2 is slow on purpose: hash on the blocking pool. The task owns copies of what it
    // reads; nothing it touches lives in this frame.
    auto check = [db, user = *client.username, secret = *password] {
        return db->verify(user, secret);
    };
    const bool ok = co_await run_on(blocking_, std::move(check));
    if (ok) {
        co_return connect_verdict::pass();
    }
    if (verbose_) {
        broker::log("INFO", "password_file: bad user name or password client_id=", client.client_id,
                    " username=", *client.username);
    }
    co_return connect_verdict::deny(connect_return_code::bad_user_name_or_password);
}

asio::awaitable<void> password_file_plugin::on_reload() {
    auto load = [path = path_]() -> std::shared_ptr<const password_db> {
        try {
            return std::make_shared<const password_db>(password_db::load(path));
        } catch (const std::exception& e) {
            broker::log("ERROR", "password_file: reload failed, keeping the old users: ", e.what());
            return nullptr;
        }
    };
    auto fresh = co_await run_on(blocking_, std::move(load));
    if (fresh) {
        const auto users = fresh->size();
        {
            std::lock_guard lock(mutex_);
            db_ = std::move(fresh);
        }
        broker::log("INFO", "password_file: reloaded ", path_, " (", users, " users)");
    }
}

// --- acl_file_plugin --------------------------------------------------------------------------

acl_file_plugin::acl_file_plugin(std::string path, asio::any_io_executor blocking, bool verbose,
                                 broker::services* services)
    : path_(std::move(path))
    , verbose_(verbose)
    , blocking_(std::move(blocking))
    , services_(services)
    , db_(std::make_shared<const acl_db>(acl_db::load(path_))) {}

broker::hook_set acl_file_plugin::hooks() const {
    return broker::hook_subscribe | broker::hook_publish | broker::hook_will_publish |
           broker::hook_reload;
}

std::shared_ptr<const acl_db> acl_file_plugin::current() const {
    std::lock_guard lock(mutex_);
    return db_;
}

asio::awaitable<broker::subscribe_verdict>
acl_file_plugin::on_subscribe(const broker::client_info& client, const packet::subscription& sub) {
    if (current()->may_subscribe(client.username, client.client_id, sub.filter)) {
        co_return broker::subscribe_verdict::pass();
    }
    if (verbose_) {
        broker::log("INFO", "acl_file: denied SUBSCRIBE client_id=", client.client_id,
                    " filter=", sub.filter);
    }
    co_return broker::subscribe_verdict::deny();
}

asio::awaitable<broker::publish_verdict>
acl_file_plugin::on_publish(const broker::client_info& client, const packet::publish& p) {
    if (current()->may_publish(client.username, client.client_id, p.topic())) {
        co_return broker::publish_verdict::pass;
    }
    if (verbose_) {
        broker::log("INFO", "acl_file: dropped PUBLISH client_id=", client.client_id,
                    " topic=", p.topic());
    }
    co_return broker::publish_verdict::drop; // acknowledged, delivered to no one
}

asio::awaitable<std::optional<packet::will>>
acl_file_plugin::on_will_publish(const broker::client_info& client, packet::will will) {
    if (current()->may_publish(client.username, client.client_id, will.message.topic())) {
        co_return std::move(will);
    }
    if (verbose_) {
        broker::log("INFO", "acl_file: dropped will client_id=", client.client_id,
                    " topic=", will.message.topic());
    }
    co_return std::nullopt;
}

asio::awaitable<void> acl_file_plugin::on_reload() {
    auto load = [path = path_]() -> std::shared_ptr<const acl_db> {
        try {
            return std::make_shared<const acl_db>(acl_db::load(path));
        } catch (const std::exception& e) {
            broker::log("ERROR", "acl_file: reload failed, keeping the old rules: ", e.what());
            return nullptr;
        }
    };
    auto fresh = co_await run_on(blocking_, std::move(load));
    if (!fresh) {
        co_return;
    }
    const auto rules = fresh->rule_count();
    {
        std::lock_guard lock(mutex_);
        db_ = fresh;
    }
    broker::log("INFO", "acl_file: reloaded ", path_, " (", rules, " rules)");
    if (services_) {
        // Subscriptions are checked when they are made; rules that take access away apply to
        // the existing ones too, as they would with Mosquitto (which checks every delivery).
        const auto revoked = co_await revoke_forbidden(std::move(fresh));
        if (revoked != 0) {
            broker::log("INFO", "acl_file: removed ", revoked,
                        " subscriptions the new rules forbid");
        }
    }
}

asio::awaitable<std::size_t> acl_file_plugin::revoke_forbidden(std::shared_ptr<const acl_db> db) {
    constexpr std::size_t page_size = 1000;
    // The user names, then every subscription, a page at a time (the router is never held for
    // long). A session or subscription made meanwhile was checked against the new rules.
    std::map<std::string, std::optional<std::string>, std::less<>> usernames;
    for (std::size_t offset = 0;; offset += page_size) {
        const auto sessions = co_await services_->list_sessions(false, offset, page_size);
        for (const auto& s : sessions.items) {
            usernames.emplace(s.client_id, s.username);
        }
        if (sessions.items.size() < page_size) {
            break;
        }
    }
    std::vector<broker::subscription_info> forbidden;
    for (std::size_t offset = 0;; offset += page_size) {
        const auto subs = co_await services_->list_subscriptions(std::nullopt, offset, page_size);
        for (const auto& sub : subs->items) {
            auto user = usernames.find(sub.client_id);
            if (user == usernames.end()) {
                // A session that came after its page was listed: look it up.
                auto lookup = services_->find_session(sub.client_id);
                const auto session = co_await std::move(lookup);
                if (!session) {
                    continue; // gone again
                }
                user = usernames.emplace(sub.client_id, session->username).first;
            }
            if (!db->may_subscribe(user->second, sub.client_id, sub.filter)) {
                forbidden.push_back(sub);
            }
        }
        if (subs->items.size() < page_size) {
            break;
        }
    }
    for (const auto& sub : forbidden) {
        if (verbose_) {
            broker::log("INFO", "acl_file: removed subscription client_id=", sub.client_id,
                        " filter=", sub.filter);
        }
        auto removal = services_->unsubscribe(sub.client_id, sub.filter);
        co_await std::move(removal);
    }
    co_return forbidden.size();
}

} // namespace coromq::plugins
