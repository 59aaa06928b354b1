// Instantiates the connection coroutine for one transport (compiled apart, in parallel).
#include "connection_impl.hpp"

namespace coromq::net {

template asio::awaitable<void> serve_connection(tls_socket, std::shared_ptr<broker_state>,
                                                connection_info);

} // namespace coromq::net
