// Asio's implementation, compiled once into coromq-bench (every bench source is built with
// BOOST_ASIO_SEPARATE_COMPILATION). The bench links no broker library, only the codec.
#include <boost/asio/impl/src.hpp>
