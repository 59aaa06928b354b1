// The built-in plugins of the stock binary, written on the public hook API like any other:
// password file authentication (--password_file, --allow_anonymous) and the ACL file
// (--acl_file), both in Mosquitto's formats and both reloaded by on_reload (SIGHUP).
//
// Both only ever answer `pass` or `deny` (`drop` for publish): they veto, and a plugin later in
// the chain still gets to decide about what they let through.
#pragma once

#include "acl_file.hpp"
#include "password_file.hpp"

#include <coromq/broker/hooks.hpp>
#include <coromq/broker/services.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <mutex>
#include <string>

namespace coromq::plugins {

/// Authentication against a Mosquitto password file.
///
/// on_connect: a client without a user name passes when `allow_anonymous`, and is refused
/// with CONNACK 0x05 (not authorized) otherwise. With a file, a user name that is not in it,
/// a missing password or a wrong one is refused with 0x04 (bad user name or password); the
/// hash is checked on `blocking`, never on an I/O thread. Without a file (empty `path`) a
/// client with a user name passes (Mosquitto's behaviour with allow_anonymous false and no
/// password file).
/// on_reload: reads the file again; when it cannot, keeps the users it had and logs why.
/// Thread-safe: hooks of many connections may run at once and during a reload.
class password_file_plugin final : public broker::plugin {
public:
    /// Loads the file; throws file_error (naming FILE:LINE) when it cannot be used.
    password_file_plugin(std::string path, bool allow_anonymous,
                         boost::asio::any_io_executor blocking, bool verbose = false);

    std::string name() const override { return "password_file"; }
    broker::hook_set hooks() const override;
    boost::asio::awaitable<broker::connect_verdict>
    on_connect(const broker::client_info& client,
               const std::optional<std::string>& password) override;
    boost::asio::awaitable<void> on_reload() override;

    /// The users loaded now (0 without a file).
    std::size_t user_count() const;

private:
    std::shared_ptr<const password_db> current() const;

    const std::string path_;
    const bool allow_anonymous_;
    const bool verbose_;
    boost::asio::any_io_executor blocking_;
    mutable std::mutex mutex_; ///< guards db_ only; never held across co_await
    std::shared_ptr<const password_db> db_;
};

/// Access control from a Mosquitto ACL file (see acl_file.hpp for the rules).
///
/// on_subscribe: a filter the client may not read is refused (SUBACK 0x80, 5.0: 0x87).
/// on_publish: a topic the client may not write to is acknowledged and dropped
/// [MQTT-3.3.5-2]. on_will_publish: a will whose topic the client may not write to is dropped.
/// on_reload: reads the file again; when it cannot, keeps the old rules and logs why.
/// Thread-safe like password_file_plugin.
class acl_file_plugin final : public broker::plugin {
public:
    /// Loads the file; throws file_error (naming FILE:LINE) when it cannot be used. With
    /// `services`, a reload also removes the existing subscriptions the new rules forbid.
    acl_file_plugin(std::string path, boost::asio::any_io_executor blocking, bool verbose = false,
                    broker::services* services = nullptr);

    std::string name() const override { return "acl_file"; }
    broker::hook_set hooks() const override;
    boost::asio::awaitable<broker::subscribe_verdict>
    on_subscribe(const broker::client_info& client, const packet::subscription& sub) override;
    boost::asio::awaitable<broker::publish_verdict> on_publish(const broker::client_info& client,
                                                               const packet::publish& p) override;
    boost::asio::awaitable<std::optional<packet::will>>
    on_will_publish(const broker::client_info& client, packet::will will) override;
    boost::asio::awaitable<void> on_reload() override;

private:
    std::shared_ptr<const acl_db> current() const;
    /// Removes every subscription `db` forbids; returns how many.
    boost::asio::awaitable<std::size_t> revoke_forbidden(std::shared_ptr<const acl_db> db);

    const std::string path_;
    const bool verbose_;
    boost::asio::any_io_executor blocking_;
    broker::services* services_;
    mutable std::mutex mutex_; ///< guards db_ only
    std::shared_ptr<const acl_db> db_;
};

} // namespace coromq::plugins
