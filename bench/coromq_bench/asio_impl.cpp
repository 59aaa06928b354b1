// Asio's implementation, Asio's SSL support and Beast's, compiled once into coromq-bench (every
// bench source is built with BOOST_ASIO_SEPARATE_COMPILATION and
// BOOST_BEAST_SEPARATE_COMPILATION). The bench links no broker library, only the codec.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
